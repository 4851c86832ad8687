// SPDX-License-Identifier: MIT
#include "sync/ShareStateMachine.h"

#include <pthread.h>

#include <algorithm>
#include <utility>

namespace hoard::sync {

namespace {

using journal::ShareState;

constexpr std::string_view kUserOfflineReason = "set offline by the user";
constexpr std::string_view kFirstProbeReason = "waiting for the first connectivity probe";

}  // namespace

std::string_view passKindName(PassKind k) {
  switch (k) {
    case PassKind::kReintegrate:
      return "reintegrate";
    case PassKind::kWriteBack:
      return "write-back";
    case PassKind::kPoll:
      return "poll";
    case PassKind::kOnDemand:
      return "on-demand";
    case PassKind::kRetry:
      return "retry";
  }
  return "unknown";
}

std::string_view passOutcomeName(PassOutcome::Kind k) {
  switch (k) {
    case PassOutcome::Kind::kDone:
      return "done";
    case PassOutcome::Kind::kOffline:
      return "offline";
    case PassOutcome::Kind::kAuthExpired:
      return "auth-expired";
    case PassOutcome::Kind::kPaused:
      return "paused";
    case PassOutcome::Kind::kNeedsUser:
      return "needs-user";
  }
  return "unknown";
}

Result<std::unique_ptr<ShareStateMachine>> ShareStateMachine::create(
    ShareStateStore& store, remote::ConnectivityProbe& probe, Clock& clock, ShareStateHooks hooks,
    ShareStateOptions options) {
  if (!hooks.reintegrate) {
    return fail(ErrorCode::kInvalidArgument,
                "share state machine: the reintegrate hook is required");
  }
  // A zero interval would make the runner spin; a cap below the quiet time
  // would make the quiet time meaningless.
  const std::chrono::milliseconds zero(0);
  if (options.probe_interval_offline <= zero || options.probe_interval_online <= zero ||
      options.poll_interval <= zero || options.retry_initial <= zero ||
      options.paused_retry <= zero || options.write_back_quiet < zero ||
      options.write_back_max_delay < options.write_back_quiet ||
      options.retry_max < options.retry_initial) {
    return fail(ErrorCode::kInvalidArgument,
                "share state machine: intervals must be positive, write_back_max_delay >= "
                "write_back_quiet and retry_max >= retry_initial");
  }
  auto initial = store.load();
  if (!initial) return tl::unexpected(initial.error().withContext("share state machine"));
  return std::unique_ptr<ShareStateMachine>(
      new ShareStateMachine(store, probe, clock, std::move(hooks), std::move(options), *initial));
}

ShareStateMachine::ShareStateMachine(ShareStateStore& store, remote::ConnectivityProbe& probe,
                                     Clock& clock, ShareStateHooks hooks, ShareStateOptions options,
                                     PersistedShareState initial)
    : store_(store),
      probe_(probe),
      clock_(clock),
      hooks_(std::move(hooks)),
      options_(std::move(options)),
      state_(initial.state),
      user_offline_(initial.user_offline),
      stored_state_(initial.state) {
  const Clock::SteadyTime now = clock_.steadyNow();
  next_probe_at_ = now;
  last_change_at_ = now;
  if (state_ == ShareState::kOnline) next_poll_at_ = now;  // pull what changed while we were down
  if (user_offline_) {
    reason_ = kUserOfflineReason;
  } else if (state_ == ShareState::kOffline) {
    reason_ = kFirstProbeReason;
  }
  announced_ = Announcement{state_, reason_};
}

std::string shareStateLabel(const ShareStatus& s) {
  if (s.state == ShareState::kOffline && s.auth_required && !s.user_offline) return "auth-required";
  return std::string(journal::shareStateName(s.state));
}

ShareStateMachine::~ShareStateMachine() { stop(); }

// --- scheduling --------------------------------------------------------------

std::optional<std::pair<Clock::SteadyTime, PassKind>> ShareStateMachine::nextPassLocked(
    Clock::SteadyTime now) const {
  if (user_offline_ || state_ == ShareState::kOffline || snapshot_pending_) return std::nullopt;
  const bool reintegrating = state_ == ShareState::kReintegrating;
  if (sync_requested_)
    return std::pair{now, reintegrating ? PassKind::kReintegrate : PassKind::kOnDemand};
  if (sleeping_) return std::nullopt;  // only the pass prepareForSleep asked for
  if (waiting_for_user_) return std::nullopt;
  if (held_until_) {
    return std::pair{*held_until_, reintegrating ? PassKind::kReintegrate : PassKind::kRetry};
  }
  if (reintegrating) return std::pair{now, PassKind::kReintegrate};
  std::optional<std::pair<Clock::SteadyTime, PassKind>> best;
  if (first_change_at_) {
    // Settled: quiet for a while, but never later than the cap after the
    // first change, so a steady stream of writes still gets synced.
    best = std::pair{std::min(last_change_at_ + options_.write_back_quiet,
                              *first_change_at_ + options_.write_back_max_delay),
                     PassKind::kWriteBack};
  }
  if (next_poll_at_ && (!best || *next_poll_at_ < best->first)) {
    best = std::pair{*next_poll_at_, PassKind::kPoll};
  }
  return best;
}

std::optional<Clock::SteadyTime> ShareStateMachine::nextDueLocked(Clock::SteadyTime now) const {
  std::optional<Clock::SteadyTime> due;
  auto consider = [&due](Clock::SteadyTime t) {
    if (!due || t < *due) due = t;
  };
  if (!user_offline_ && !sleeping_) consider(probe_requested_ ? now : next_probe_at_);
  if (network_lost_) consider(now);
  if (auto pass = nextPassLocked(now)) consider(pass->first);
  // Journal writes that failed are retried on a tick; make sure one comes.
  if (snapshot_pending_ || stored_state_ != state_) consider(now + options_.retry_initial);
  return due;
}

std::optional<Clock::SteadyTime> ShareStateMachine::nextDue() const {
  MutexLock lock(mu_);
  return nextDueLocked(clock_.steadyNow());
}

// --- transitions -------------------------------------------------------------

void ShareStateMachine::setStateLocked(ShareState state, std::string reason) {
  state_ = state;
  reason_ = std::move(reason);
}

void ShareStateMachine::goOfflineLocked(std::string reason) {
  if (reason.empty()) reason = "the remote is not reachable";
  if (state_ != ShareState::kOffline) {
    // A new disconnection: the base as it stands now is the snapshot. The
    // label keeps the first attempt's time if storing it has to be retried.
    snapshot_pending_ = "pre-disconnection " + formatUtc(clock_.wallNow());
  }
  setStateLocked(ShareState::kOffline, std::move(reason));
  sync_requested_ = false;
  held_until_.reset();
  paused_ = false;
  waiting_for_user_ = false;
  failures_ = 0;
  backoff_ = std::chrono::milliseconds(0);
  next_poll_at_.reset();
  // Offline probes come more often than online ones: a pass that found the
  // remote gone must not leave the next probe on the online schedule.
  next_probe_at_ = std::min(next_probe_at_, clock_.steadyNow() + options_.probe_interval_offline);
}

void ShareStateMachine::applyOverrideLocked() {
  if (network_lost_) {
    if (!user_offline_ && state_ != ShareState::kOffline) goOfflineLocked(*network_lost_);
    network_lost_.reset();
  }
  if (!user_offline_) return;
  if (state_ != ShareState::kOffline) {
    goOfflineLocked(std::string(kUserOfflineReason));
  } else {
    reason_ = kUserOfflineReason;
  }
}

void ShareStateMachine::noteAuthExpiredLocked(const std::string& reason) {
  if (auth_episode_) return;
  auth_episode_ = true;
  auth_message_pending_ = reason;
}

// --- side effects (mu_ not held) --------------------------------------------

void ShareStateMachine::flushStore() {
  for (;;) {
    std::optional<std::string> label;
    ShareState state = ShareState::kOffline;
    {
      MutexLock lock(mu_);
      if (snapshot_pending_) {
        label = snapshot_pending_;
      } else if (stored_state_ != state_) {
        state = state_;
      } else {
        return;
      }
    }
    // state_ and snapshot_pending_ change only on the tick thread (this one),
    // so what was read above still holds after the journal call.
    if (label) {
      auto id = store_.enterOffline(*label);
      MutexLock lock(mu_);
      if (!id) {
        journal_error_ = id.error().toString();
        return;
      }
      snapshot_pending_.reset();
      stored_state_ = ShareState::kOffline;
      ++snapshots_;
      journal_error_.reset();
    } else {
      auto st = store_.setState(state);
      MutexLock lock(mu_);
      if (!st) {
        journal_error_ = st.error().toString();
        return;
      }
      stored_state_ = state;
      journal_error_.reset();
    }
  }
}

void ShareStateMachine::announce() {
  std::optional<Announcement> change;
  std::optional<std::string> auth;
  {
    MutexLock lock(mu_);
    if (!announced_ || announced_->state != state_ || announced_->reason != reason_) {
      announced_ = Announcement{state_, reason_};
      change = announced_;
    }
    auth = std::exchange(auth_message_pending_, std::nullopt);
  }
  if (change && hooks_.onStateChanged) hooks_.onStateChanged(change->state, change->reason);
  if (auth && hooks_.onAuthenticationRequired) hooks_.onAuthenticationRequired(*auth);
}

void ShareStateMachine::runProbe() {
  remote::ProbeResult r = probe_.probe();
  MutexLock lock(mu_);
  const Clock::SteadyTime now = clock_.steadyNow();
  ++probes_;
  probe_requested_ = false;
  last_probe_ = ShareStatus::Probe{clock_.wallNow(), r.state, r.reason};
  // An override that arrived while the probe ran wins over its result.
  if (!user_offline_) {
    switch (r.state) {
      case remote::Reachability::kReachable:
        if (state_ == ShareState::kOffline) {
          if (auth_episode_ && auth_hold_until_ && now < *auth_hold_until_) {
            // The remote answers the probe but refused the last pass: wait
            // for the user's renewal (or the hold) before trying again.
          } else if (snapshot_pending_) {
            // Leaving OFFLINE before the snapshot is stored would lose the
            // record of what the base was at the disconnection.
            reason_ = "remote reachable, but the pre-disconnection snapshot is not stored yet: " +
                      journal_error_.value_or("journal error");
          } else {
            setStateLocked(ShareState::kReintegrating, "remote reachable again: reintegrating");
            sync_requested_ = false;
            held_until_.reset();
            paused_ = false;
            waiting_for_user_ = false;
            failures_ = 0;
            backoff_ = std::chrono::milliseconds(0);
          }
        }
        break;
      case remote::Reachability::kOffline:
        goOfflineLocked(r.reason);
        break;
      case remote::Reachability::kAuthExpired:
        goOfflineLocked(r.reason.empty() ? "credentials for the remote have expired" : r.reason);
        noteAuthExpiredLocked(reason_);
        break;
    }
  } else {
    applyOverrideLocked();
  }
  next_probe_at_ = now + (state_ == ShareState::kOffline ? options_.probe_interval_offline
                                                         : options_.probe_interval_online);
}

void ShareStateMachine::runPass(PassKind kind) {
  std::stop_token token;
  {
    MutexLock lock(mu_);
    // Changes noted from now on are not covered by this pass's freeze of the
    // change log; they schedule the next write-back.
    first_change_at_.reset();
    sync_requested_ = false;
    pass_stop_.emplace();
    token = pass_stop_->get_token();
    if (stopping_ || user_offline_ || network_lost_) pass_stop_->request_stop();
  }
  Result<PassOutcome> result = hooks_.reintegrate(PassRequest{kind, token});
  applyPassResult(kind, result);
}

void ShareStateMachine::applyPassResult(PassKind kind, const Result<PassOutcome>& result) {
  MutexLock lock(mu_);
  const Clock::SteadyTime now = clock_.steadyNow();
  pass_stop_.reset();
  ++passes_;
  counts_dirty_ = true;
  // Every pass pulls as well as pushes, so the poll interval restarts here.
  next_poll_at_ = now + options_.poll_interval;

  ShareStatus::Pass record;
  record.at = clock_.wallNow();
  record.kind = kind;
  record.ok = result.has_value();
  if (result) {
    record.outcome = result->kind;
    record.detail = result->reason;
  } else {
    record.detail = result.error().toString();
  }
  last_pass_ = record;

  if (!result) {
    const Error& e = result.error();
    switch (e.code()) {
      case ErrorCode::kOffline:
        goOfflineLocked("reintegration pass: " + e.toString());
        return;
      case ErrorCode::kAuthExpired:
      case ErrorCode::kPermission:
        goOfflineLocked("reintegration pass: " + e.toString());
        noteAuthExpiredLocked(reason_);
        auth_hold_until_ = now + options_.paused_retry;
        return;
      default:
        break;
    }
    // Transient: keep the state, let a probe say whether the remote is
    // still there, and retry with backoff.
    ++failures_;
    backoff_ = failures_ == 1 ? options_.retry_initial : std::min(backoff_ * 2, options_.retry_max);
    held_until_ = now + backoff_;
    probe_requested_ = true;
    reason_ = "reintegration pass failed: " + e.toString();
    return;
  }

  const PassOutcome& out = *result;
  switch (out.kind) {
    case PassOutcome::Kind::kDone:
      auth_episode_ = false;  // the credentials work again
      auth_hold_until_.reset();
      failures_ = 0;
      backoff_ = std::chrono::milliseconds(0);
      held_until_.reset();
      paused_ = false;
      waiting_for_user_ = false;
      setStateLocked(ShareState::kOnline, "");
      break;
    case PassOutcome::Kind::kOffline:
      goOfflineLocked(out.reason.empty() ? "the remote went away during a reintegration pass"
                                         : out.reason);
      break;
    case PassOutcome::Kind::kAuthExpired:
      goOfflineLocked(out.reason.empty() ? "credentials for the remote have expired" : out.reason);
      noteAuthExpiredLocked(reason_);
      auth_hold_until_ = now + options_.paused_retry;
      break;
    case PassOutcome::Kind::kPaused:
      failures_ = 0;
      backoff_ = std::chrono::milliseconds(0);
      paused_ = true;
      waiting_for_user_ = false;
      held_until_ = now + options_.paused_retry;
      reason_ = out.reason.empty() ? "reintegration paused" : out.reason;
      break;
    case PassOutcome::Kind::kNeedsUser:
      failures_ = 0;
      backoff_ = std::chrono::milliseconds(0);
      paused_ = true;
      waiting_for_user_ = true;
      held_until_.reset();
      reason_ = out.reason.empty() ? "reintegration waits for the user" : out.reason;
      break;
  }
}

void ShareStateMachine::refreshCounts() {
  {
    MutexLock lock(mu_);
    if (!counts_dirty_) return;
    counts_dirty_ = false;
  }
  auto counts = store_.pendingCounts();
  MutexLock lock(mu_);
  if (counts) {
    counts_ = *counts;
  } else {
    journal_error_ = counts.error().toString();
  }
}

// --- tick and runner ----------------------------------------------------------

void ShareStateMachine::tick() {
  MutexLock tick_lock(tick_mu_);
  {
    MutexLock lock(mu_);
    applyOverrideLocked();
  }
  flushStore();
  announce();

  bool probe_due = false;
  {
    MutexLock lock(mu_);
    probe_due = !user_offline_ && !sleeping_ &&
                (probe_requested_ || clock_.steadyNow() >= next_probe_at_);
  }
  if (probe_due) {
    runProbe();
    {
      MutexLock lock(mu_);
      applyOverrideLocked();  // a network loss noted during the probe wins
    }
    flushStore();
    announce();
  }

  std::optional<PassKind> pass;
  {
    MutexLock lock(mu_);
    const Clock::SteadyTime now = clock_.steadyNow();
    if (auto next = nextPassLocked(now); next && next->first <= now) pass = next->second;
  }
  if (pass) {
    runPass(*pass);
    {
      MutexLock lock(mu_);
      applyOverrideLocked();
    }
    flushStore();
    announce();
  }
  refreshCounts();
}

void ShareStateMachine::runLoop() {
  for (;;) {
    tick();
    MutexLock lock(mu_);
    if (stopping_) return;
    if (!wake_) {
      const Clock::SteadyTime now = clock_.steadyNow();
      if (auto due = nextDueLocked(now); !due) {
        while (!wake_ && !stopping_) cv_.wait(mu_);
      } else if (*due > now) {
        // Steady time from the injected clock, waited for in real time: with
        // a FakeClock the wait ends early only through wake() and friends.
        const auto until = std::chrono::steady_clock::now() + (*due - now);
        while (!wake_ && !stopping_ && cv_.waitUntil(mu_, until)) {
        }
      }
    }
    wake_ = false;
    if (stopping_) return;
  }
}

void ShareStateMachine::start() {
  MutexLock run_lock(run_mu_);
  if (runner_.joinable()) return;
  {
    MutexLock lock(mu_);
    stopping_ = false;
  }
  runner_ = std::thread([this] {
    std::string name = options_.thread_name.substr(0, 15);
    pthread_setname_np(pthread_self(), name.c_str());
    runLoop();
  });
}

void ShareStateMachine::stop() {
  MutexLock run_lock(run_mu_);
  if (!runner_.joinable()) return;
  {
    MutexLock lock(mu_);
    stopping_ = true;
    if (pass_stop_) pass_stop_->request_stop();
  }
  cv_.notifyAll();
  runner_.join();
}

// --- events -----------------------------------------------------------------

void ShareStateMachine::wake() {
  {
    MutexLock lock(mu_);
    wake_ = true;
  }
  cv_.notifyAll();
}

void ShareStateMachine::credentialsRenewed() {
  {
    MutexLock lock(mu_);
    auth_hold_until_.reset();
    probe_requested_ = true;
    wake_ = true;
  }
  cv_.notifyAll();
}

void ShareStateMachine::networkLost(std::string why) {
  {
    MutexLock lock(mu_);
    if (user_offline_ || state_ == ShareState::kOffline) return;
    network_lost_ = std::move(why);
    if (pass_stop_) pass_stop_->request_stop();
    wake_ = true;
  }
  cv_.notifyAll();
}

void ShareStateMachine::prepareForSleep() {
  {
    MutexLock lock(mu_);
    sleeping_ = true;
    const bool unsent = first_change_at_ || (counts_ && counts_->changes > 0);
    if (!user_offline_ && state_ != ShareState::kOffline && unsent) sync_requested_ = true;
    wake_ = true;
  }
  cv_.notifyAll();
}

bool ShareStateMachine::readyForSleep() const {
  MutexLock lock(mu_);
  return !pass_stop_ && !sync_requested_;
}

void ShareStateMachine::pauseForSleep() {
  MutexLock lock(mu_);
  sync_requested_ = false;
  if (pass_stop_) {
    pass_stop_->request_stop();
    paused_for_sleep_ = true;
  }
}

void ShareStateMachine::resumed() {
  {
    MutexLock lock(mu_);
    sleeping_ = false;
    probe_requested_ = true;
    if (std::exchange(paused_for_sleep_, false) && state_ != ShareState::kOffline) {
      // The pass the sleep stopped (a hoard walk) goes on at once, not
      // after the pause or backoff its early stop earned.
      held_until_.reset();
      paused_ = false;
      sync_requested_ = true;
    }
    wake_ = true;
  }
  cv_.notifyAll();
}

void ShareStateMachine::probeNow() {
  {
    MutexLock lock(mu_);
    probe_requested_ = true;
    wake_ = true;
  }
  cv_.notifyAll();
}

void ShareStateMachine::syncNow() {
  {
    MutexLock lock(mu_);
    if (user_offline_) return;
    if (state_ == ShareState::kOffline) {
      probe_requested_ = true;
    } else {
      sync_requested_ = true;
    }
    wake_ = true;
  }
  cv_.notifyAll();
}

void ShareStateMachine::localChangeNoted() {
  {
    MutexLock lock(mu_);
    const Clock::SteadyTime now = clock_.steadyNow();
    if (!first_change_at_) first_change_at_ = now;
    last_change_at_ = now;
    counts_dirty_ = true;
    wake_ = true;
  }
  cv_.notifyAll();
}

Status ShareStateMachine::setUserOffline(bool user_offline) {
  MutexLock user_lock(user_mu_);
  if (auto st = store_.setUserOffline(user_offline); !st) {
    return tl::unexpected(st.error().withContext("share state machine: storing the override"));
  }
  {
    MutexLock lock(mu_);
    user_offline_ = user_offline;
    if (user_offline) {
      if (pass_stop_) pass_stop_->request_stop();
    } else {
      probe_requested_ = true;
    }
    wake_ = true;
  }
  cv_.notifyAll();
  return {};
}

ShareStatus ShareStateMachine::status() const {
  MutexLock lock(mu_);
  ShareStatus s;
  s.state = state_;
  s.user_offline = user_offline_;
  s.reason = reason_;
  s.paused = paused_;
  s.waiting_for_user = waiting_for_user_;
  s.auth_required = auth_episode_;
  s.local_changes_pending = first_change_at_.has_value();
  s.consecutive_failures = failures_;
  s.last_probe = last_probe_;
  s.last_pass = last_pass_;
  s.pending = counts_;
  s.journal_error = journal_error_;
  s.probes = probes_;
  s.passes = passes_;
  s.snapshots = snapshots_;
  return s;
}

}  // namespace hoard::sync
