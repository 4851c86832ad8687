// SPDX-License-Identifier: MIT
#pragma once

// One share's connectivity state (design.md, "The states of a share"):
//
//   OFFLINE --probe reachable, no user override--> REINTEGRATING --pass done--> ONLINE
//   ONLINE / REINTEGRATING --probe fails, pass says offline, auth expired,
//                            user override--> OFFLINE (snapshot taken on entry)
//
// The machine decides *when* to probe and *when* to run a reintegration
// pass; the pass itself (replay the change log, pull remote changes) is the
// `reintegrate` hook, so this class knows nothing of the reconciler.
//
// Timing (all on the injected Clock's steady time; defaults in Options):
//  - probes every `probe_interval_offline` while OFFLINE, every
//    `probe_interval_online` otherwise, and at once on probeNow();
//  - on entering REINTEGRATING a pass runs at once; when it is done the
//    share is ONLINE;
//  - while ONLINE, localChangeNoted() schedules a write-back pass once the
//    changes settle: `write_back_quiet` after the last noted change, but no
//    later than `write_back_max_delay` after the first one not yet synced;
//    remote changes are pulled by a pass every `poll_interval` (counted from
//    the end of the last pass) and at once on syncNow().
//
// Pass results:
//  - done: REINTEGRATING -> ONLINE; any pause reason is cleared.
//  - offline (or a pass error with code kOffline): OFFLINE with the reason,
//    and the snapshot.
//  - auth-expired (or a pass error kAuthExpired / kPermission): as offline,
//    plus onAuthenticationRequired.
//  - paused: the state is KEPT (REINTEGRATING stays REINTEGRATING, ONLINE
//    stays ONLINE) with the reason in status().reason, because the remote is
//    there and nothing is lost: the change log keeps growing durably. No
//    automatic pass runs (no write-back, no poll) until `paused_retry` has
//    passed, then one is tried again; syncNow() tries at once.
//  - needs-user (e.g. a mass delete waiting for confirmation): as paused,
//    but no automatic pass runs at all until syncNow().
//  - any other pass error is transient: the state is kept, the reason shows
//    the error, a probe runs at once (the probe is the authority on
//    connectivity) and the pass is retried with exponential backoff
//    (`retry_initial` doubling up to `retry_max`); syncNow() retries at once.
//
// Auth expiry: a probe or pass that reports auth-expired takes the share
// OFFLINE (with the snapshot if it was not offline already) and calls
// onAuthenticationRequired once per episode; the episode ends with the next
// pass that is done (not with a reachable probe: the probe may not touch
// what the credentials guard). After a pass was refused, a reachable probe
// reintegrates again only once `paused_retry` has passed or credentialsRenewed()
// was called, so an expired key does not make the share flap every probe.
//
// Session hints (NetworkManager, logind; optional): networkLost() takes the
// share OFFLINE on the next tick (at once: the runner is woken and a running
// pass asked to stop) without waiting for a probe to time out; the probes
// go on at the offline interval and the next reachable one brings it back.
// prepareForSleep() holds every automatic probe and pass but one: a pass at
// once if the share is not OFFLINE and has changes to send; readyForSleep()
// says when no pass runs or is due, pauseForSleep() asks a running pass to
// stop at its next restartable step; resumed() lifts the hold, probes at once
// and runs again at once a pass the sleep stopped.
//
// User override: setUserOffline(true) is stored at once and the next tick
// takes the share OFFLINE (snapshot too, if it was not offline); while it is
// set no probe runs and nothing brings the share back. setUserOffline(false)
// lifts it and asks for a probe at once.
//
// The snapshot is taken exactly once per disconnection: on the transition
// into OFFLINE from ONLINE or REINTEGRATING, in the same journal transaction
// that records OFFLINE. Failed probes while already OFFLINE take none. If
// the journal fails, the share is OFFLINE in memory anyway (nothing touches
// the remote), the error shows in status().journal_error, the snapshot is
// retried on every tick, and the share does not leave OFFLINE until it is
// stored.
//
// Startup: the machine starts in the stored state and probes at once. From a
// stored ONLINE it also runs a pass at once (to pull what changed while the
// daemon was down); from REINTEGRATING the interrupted pass runs again; if
// the probe fails the share goes OFFLINE with a snapshot. A stored OFFLINE
// takes no new snapshot: the one from its disconnection still stands.
//
// Threads: tick() does all the work (probe, pass, journal, hooks) on the
// thread that calls it, one call at a time (concurrent calls are serialised).
// It blocks for at most one probe (bounded by the probe's own deadline:
// IdentityChecker::Options::deadline) plus one pass (the reconciler's remote
// calls carry their own deadlines). The daemon does not call tick() itself:
// start() runs it on a dedicated thread that sleeps until the next deadline
// and wakes early on probeNow(), syncNow(), localChangeNoted(),
// setUserOffline() and wake(). Every other method may be called from any
// thread, never blocks on a probe or a pass, and may be called from the hooks.
// Hooks run on the tick thread with no lock of this class held; they must
// not call tick() or stop(), and must not throw.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <thread>
#include <utility>

#include "common/Clock.h"
#include "common/Error.h"
#include "common/ThreadAnnotations.h"
#include "journal/Records.h"
#include "remote/Identity.h"
#include "sync/ShareStateStore.h"

namespace hoard::sync {

// Why a pass runs.
enum class PassKind {
  kReintegrate,  // REINTEGRATING: replay after a reconnect (or after a restart)
  kWriteBack,    // ONLINE: local changes settled
  kPoll,         // ONLINE: the polling interval for remote changes came round
  kOnDemand,     // syncNow()
  kRetry,        // ONLINE: retry after a transient error or a pause
};
std::string_view passKindName(PassKind k);  // "reintegrate", "write-back", "poll", ...

struct PassRequest {
  PassKind kind = PassKind::kReintegrate;
  // Requested when the pass should stop early: the user forced OFFLINE or
  // the machine is stopping. A pass should stop at its next restartable
  // step and return paused (or offline); ignoring it only delays the stop.
  std::stop_token stop;
};

// What one reintegration pass says about itself. Open conflicts are not a
// pause: they hold only their paths, so a pass that leaves some is kDone.
struct PassOutcome {
  enum class Kind {
    kDone,         // everything that could be reintegrated was
    kOffline,      // the remote went away mid-pass
    kAuthExpired,  // credentials need renewing
    kPaused,       // stopped for a reason that may clear by itself (e.g. ENOSPC)
    kNeedsUser,    // stopped until the user acts (e.g. a mass delete to confirm)
  };
  Kind kind = Kind::kDone;
  std::string reason;  // empty for kDone; otherwise names the share/path and the problem

  static PassOutcome done() { return {}; }
  static PassOutcome offline(std::string r) { return {Kind::kOffline, std::move(r)}; }
  static PassOutcome authExpired(std::string r) { return {Kind::kAuthExpired, std::move(r)}; }
  static PassOutcome paused(std::string r) { return {Kind::kPaused, std::move(r)}; }
  static PassOutcome needsUser(std::string r) { return {Kind::kNeedsUser, std::move(r)}; }
};
std::string_view passOutcomeName(PassOutcome::Kind k);  // "done", "offline", "auth-expired", ...

struct ShareStateHooks {
  // Runs one reintegration pass (required). A returned Error is a failed
  // pass (see the header comment for how its code is read).
  std::function<Result<PassOutcome>(const PassRequest&)> reintegrate;
  // Called after the state or its reason changed (optional).
  std::function<void(journal::ShareState state, const std::string& reason)> onStateChanged;
  // Called once per auth-expired episode with the reason (optional).
  std::function<void(const std::string& message)> onAuthenticationRequired;
};

struct ShareStateOptions {
  std::chrono::milliseconds probe_interval_offline{10'000};
  std::chrono::milliseconds probe_interval_online{30'000};  // ONLINE and REINTEGRATING
  std::chrono::milliseconds write_back_quiet{300};
  std::chrono::milliseconds write_back_max_delay{1'000};
  std::chrono::milliseconds poll_interval{30'000};
  std::chrono::milliseconds retry_initial{1'000};
  std::chrono::milliseconds retry_max{60'000};
  std::chrono::milliseconds paused_retry{30'000};
  std::string thread_name = "hoard-share";  // the runner thread (cut to 15 bytes)
};

// A snapshot for GetStatus.
struct ShareStatus {
  struct Probe {
    Clock::WallTime at;
    remote::Reachability result = remote::Reachability::kOffline;
    std::string reason;
  };
  struct Pass {
    Clock::WallTime at;  // when it ended
    PassKind kind = PassKind::kReintegrate;
    bool ok = false;                                       // false: the hook returned an Error
    PassOutcome::Kind outcome = PassOutcome::Kind::kDone;  // meaningful when ok
    std::string detail;  // the outcome's reason or the error's text
  };

  journal::ShareState state = journal::ShareState::kOffline;
  bool user_offline = false;
  // Why the share is in this state: the probe's or the pass's reason while
  // OFFLINE, the pause or the last pass error while ONLINE/REINTEGRATING;
  // empty when all is well.
  std::string reason;
  bool paused = false;                 // a pass said paused or needs-user
  bool waiting_for_user = false;       // needs-user: only syncNow() resumes
  bool auth_required = false;          // inside an auth-expired episode
  bool local_changes_pending = false;  // noted but no pass has started since
  uint32_t consecutive_failures = 0;   // failed passes since the last good one
  std::optional<Probe> last_probe;
  std::optional<Pass> last_pass;
  std::optional<PendingCounts> pending;      // as of the last refresh by tick()
  std::optional<std::string> journal_error;  // the last failure to store state
  uint64_t probes = 0;
  uint64_t passes = 0;
  uint64_t snapshots = 0;  // pre-disconnection snapshots taken by this machine
};

// The state as clients see it: journal::shareStateName, but "auth-required"
// while OFFLINE because the remote refused the credentials.
std::string shareStateLabel(const ShareStatus& s);

class ShareStateMachine {
 public:
  // Loads the stored state and override from `store`. `store`, `probe` and
  // `clock` must outlive the machine. Errors: the store's (e.g. kNotFound
  // for a removed share); kInvalidArgument if hooks.reintegrate is empty, an
  // interval is not positive, write_back_max_delay < write_back_quiet or
  // retry_max < retry_initial.
  static Result<std::unique_ptr<ShareStateMachine>> create(ShareStateStore& store,
                                                           remote::ConnectivityProbe& probe,
                                                           Clock& clock, ShareStateHooks hooks,
                                                           ShareStateOptions options = {});

  // Stops the runner if it is running.
  ~ShareStateMachine();
  ShareStateMachine(const ShareStateMachine&) = delete;
  ShareStateMachine& operator=(const ShareStateMachine&) = delete;

  // Does whatever is due now: applies the user override, retries storing
  // state, runs a probe if one is due and then a pass if one is due, and
  // refreshes the pending counts. See the header comment for how long it may
  // block. Tests call it directly with a FakeClock; the daemon uses start().
  void tick();

  // The steady time at which tick() next has something to do, or nullopt if
  // nothing is scheduled (only an event can make work: e.g. user override).
  std::optional<Clock::SteadyTime> nextDue() const;

  // Runs tick() on a dedicated thread until stop(). No-op if running.
  void start();
  // Asks a running pass to stop (PassRequest::stop), wakes the runner and
  // joins it; waits for a tick in progress (at most one probe and one pass).
  // No-op if not running. Not from a hook.
  void stop();

  // Requests a probe on the next tick and wakes the runner. For hints such
  // as NetworkManager's connectivity changes.
  void probeNow();
  // ONLINE or REINTEGRATING: runs a pass on the next tick, lifting a pause,
  // a needs-user wait and a retry backoff. OFFLINE without the user's
  // override: asks for a probe at once instead (a reachable remote then
  // leads to a pass). With the override: does nothing.
  void syncNow();
  // The tracker recorded changes in the change log: schedules a debounced
  // write-back pass (while ONLINE; otherwise the next reconnect covers them).
  void localChangeNoted();
  // Stores the user's override at once (returns the store's error, and then
  // nothing changed) and wakes the runner, whose next tick acts on it:
  // true -> OFFLINE (snapshot if it was not offline), and any running pass
  // is asked to stop; false -> lifted, with a probe at once.
  Status setUserOffline(bool user_offline);
  // Re-evaluates deadlines now (e.g. after a FakeClock moved).
  void wake();

  // The user renewed the credentials (hoard auth, Renew): lifts the wait
  // after a refused pass and probes at once. Any thread.
  void credentialsRenewed();
  // A session hint that the network is gone (`why` becomes the reason):
  // OFFLINE on the next tick, which runs at once. No-op under the user's
  // override. Any thread.
  void networkLost(std::string why);
  // The machine is about to sleep / woke up (see the header comment).
  void prepareForSleep();
  bool readyForSleep() const;  // no pass runs and none is due for the sleep
  void pauseForSleep();
  void resumed();

  ShareStatus status() const;

 private:
  ShareStateMachine(ShareStateStore& store, remote::ConnectivityProbe& probe, Clock& clock,
                    ShareStateHooks hooks, ShareStateOptions options, PersistedShareState initial);

  struct Announcement {
    journal::ShareState state;
    std::string reason;
  };

  std::optional<std::pair<Clock::SteadyTime, PassKind>> nextPassLocked(Clock::SteadyTime now) const
      HOARD_REQUIRES(mu_);
  std::optional<Clock::SteadyTime> nextDueLocked(Clock::SteadyTime now) const HOARD_REQUIRES(mu_);
  void applyOverrideLocked() HOARD_REQUIRES(mu_);
  // Moves to OFFLINE (snapshot if coming from ONLINE/REINTEGRATING) with
  // `reason`; journal work happens after unlocking, in flushStore().
  void goOfflineLocked(std::string reason) HOARD_REQUIRES(mu_);
  void setStateLocked(journal::ShareState state, std::string reason) HOARD_REQUIRES(mu_);
  void noteAuthExpiredLocked(const std::string& reason) HOARD_REQUIRES(mu_);
  // Journal work and hooks, run with mu_ NOT held, in this order.
  void flushStore() HOARD_EXCLUDES(mu_);
  void announce() HOARD_EXCLUDES(mu_);
  void runProbe() HOARD_EXCLUDES(mu_);
  void runPass(PassKind kind) HOARD_EXCLUDES(mu_);
  void applyPassResult(PassKind kind, const Result<PassOutcome>& result) HOARD_EXCLUDES(mu_);
  void refreshCounts() HOARD_EXCLUDES(mu_);
  void runLoop() HOARD_EXCLUDES(mu_);

  ShareStateStore& store_;
  remote::ConnectivityProbe& probe_;
  Clock& clock_;
  const ShareStateHooks hooks_;
  const ShareStateOptions options_;

  Mutex tick_mu_;  // serialises tick()
  Mutex user_mu_;  // serialises setUserOffline()

  mutable Mutex mu_;
  CondVar cv_;  // runner waits here; signalled on events and stop
  journal::ShareState state_ HOARD_GUARDED_BY(mu_);
  std::string reason_ HOARD_GUARDED_BY(mu_);
  bool user_offline_ HOARD_GUARDED_BY(mu_);
  // The state as last stored; differs from state_ while a store is pending.
  std::optional<journal::ShareState> stored_state_ HOARD_GUARDED_BY(mu_);
  std::optional<std::string> snapshot_pending_ HOARD_GUARDED_BY(mu_);  // label
  std::optional<std::string> journal_error_ HOARD_GUARDED_BY(mu_);
  std::optional<Announcement> announced_ HOARD_GUARDED_BY(mu_);
  std::optional<std::string> auth_message_pending_ HOARD_GUARDED_BY(mu_);
  bool auth_episode_ HOARD_GUARDED_BY(mu_) = false;
  // After a refused pass: no reintegration before this (credentialsRenewed lifts it).
  std::optional<Clock::SteadyTime> auth_hold_until_ HOARD_GUARDED_BY(mu_);
  std::optional<std::string> network_lost_ HOARD_GUARDED_BY(mu_);  // pending hint
  bool sleeping_ HOARD_GUARDED_BY(mu_) = false;
  bool paused_for_sleep_ HOARD_GUARDED_BY(mu_) = false;  // a pass was stopped for the sleep
  bool probe_requested_ HOARD_GUARDED_BY(mu_) = true;
  Clock::SteadyTime next_probe_at_ HOARD_GUARDED_BY(mu_);
  bool sync_requested_ HOARD_GUARDED_BY(mu_) = false;
  std::optional<Clock::SteadyTime> first_change_at_ HOARD_GUARDED_BY(mu_);
  Clock::SteadyTime last_change_at_ HOARD_GUARDED_BY(mu_);
  std::optional<Clock::SteadyTime> next_poll_at_ HOARD_GUARDED_BY(mu_);
  std::optional<Clock::SteadyTime> held_until_ HOARD_GUARDED_BY(mu_);  // backoff or pause
  bool paused_ HOARD_GUARDED_BY(mu_) = false;
  bool waiting_for_user_ HOARD_GUARDED_BY(mu_) = false;
  uint32_t failures_ HOARD_GUARDED_BY(mu_) = 0;
  std::chrono::milliseconds backoff_ HOARD_GUARDED_BY(mu_){0};
  bool counts_dirty_ HOARD_GUARDED_BY(mu_) = true;
  std::optional<PendingCounts> counts_ HOARD_GUARDED_BY(mu_);
  std::optional<ShareStatus::Probe> last_probe_ HOARD_GUARDED_BY(mu_);
  std::optional<ShareStatus::Pass> last_pass_ HOARD_GUARDED_BY(mu_);
  uint64_t probes_ HOARD_GUARDED_BY(mu_) = 0;
  uint64_t passes_ HOARD_GUARDED_BY(mu_) = 0;
  uint64_t snapshots_ HOARD_GUARDED_BY(mu_) = 0;
  std::optional<std::stop_source> pass_stop_ HOARD_GUARDED_BY(mu_);  // the running pass's
  bool wake_ HOARD_GUARDED_BY(mu_) = false;
  bool stopping_ HOARD_GUARDED_BY(mu_) = false;
  std::thread runner_ HOARD_GUARDED_BY(run_mu_);  // started and joined under run_mu_
  Mutex run_mu_;
};

}  // namespace hoard::sync
