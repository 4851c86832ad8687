// SPDX-License-Identifier: MIT
// The share state machine with every boundary faked: a FakeClock moved by
// hand, a FakeConnectivityProbe, a scripted reintegration hook and an
// in-memory state store. Assertions are on what happened (transitions,
// snapshots, passes and their order), never on elapsed real time.

#include <gtest/gtest.h>

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

#include "sync/ShareStateMachine.h"

namespace hoard::sync {
namespace {

using journal::ShareState;
using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(ClockTest, FakeClockMovesOnlyWhenTold) {
  FakeClock clock;
  const auto s0 = clock.steadyNow();
  const auto w0 = clock.wallNow();
  EXPECT_EQ(clock.steadyNow(), s0);
  clock.advance(milliseconds(1500));
  EXPECT_EQ(clock.steadyNow() - s0, milliseconds(1500));
  EXPECT_EQ(clock.wallNow() - w0, milliseconds(1500));
  clock.advance(milliseconds(-5000));  // the steady clock never goes back
  EXPECT_EQ(clock.steadyNow() - s0, milliseconds(1500));
  clock.setWall(Clock::WallTime(seconds(0)));
  EXPECT_EQ(formatUtc(clock.wallNow()), "1970-01-01T00:00:00Z");
  EXPECT_EQ(clock.steadyNow() - s0, milliseconds(1500));
}

TEST(ClockTest, FormatUtc) {
  EXPECT_EQ(formatUtc(Clock::WallTime(seconds(1767323045))), "2026-01-02T03:04:05Z");
  EXPECT_EQ(formatUtc(Clock::WallTime(seconds(951782400))), "2000-02-29T00:00:00Z");
}

TEST(ClockTest, SystemClockAdvances) {
  SystemClock& c = SystemClock::instance();
  const auto a = c.steadyNow();
  EXPECT_GE(c.steadyNow(), a);
  EXPECT_GT(c.wallNow().time_since_epoch().count(), 0);
}

class ShareStateMachineTest : public ::testing::Test {
 protected:
  ShareStateOptions defaultOptions() {
    ShareStateOptions o;
    o.probe_interval_offline = seconds(10);
    o.probe_interval_online = seconds(30);
    o.write_back_quiet = milliseconds(300);
    o.write_back_max_delay = milliseconds(1000);
    o.poll_interval = seconds(3600);  // out of the way unless a test wants it
    o.retry_initial = seconds(1);
    o.retry_max = seconds(8);
    o.paused_retry = seconds(20);
    return o;
  }

  void make(PersistedShareState initial = {}, std::optional<ShareStateOptions> options = {}) {
    store_ = std::make_unique<MemoryShareStateStore>(initial);
    ShareStateHooks hooks;
    hooks.reintegrate = [this](const PassRequest& req) -> Result<PassOutcome> {
      std::unique_lock lock(mu_);
      passes_.push_back(req.kind);
      if (block_pass_) {
        pass_entered_ = true;
        cv_.notify_all();
        lock.unlock();
        // Holds the pass until the machine asks it to stop.
        for (int i = 0; i < 60000 && !req.stop.stop_requested(); ++i) {
          std::this_thread::sleep_for(milliseconds(1));
        }
        lock.lock();
        saw_stop_ = req.stop.stop_requested();
        return PassOutcome::paused("stopped on request");
      }
      if (during_pass_) {
        lock.unlock();
        during_pass_();
        lock.lock();
      }
      if (script_.empty()) return PassOutcome::done();
      Result<PassOutcome> r = std::move(script_.front());
      script_.pop_front();
      return r;
    };
    hooks.onStateChanged = [this](ShareState s, const std::string& reason) {
      // A hook may read the machine's status (no lock of it is held).
      if (raw_) (void)raw_->status();
      std::lock_guard lock(mu_);
      changes_.emplace_back(s, reason);
      cv_.notify_all();
    };
    hooks.onAuthenticationRequired = [this](const std::string& message) {
      std::lock_guard lock(mu_);
      auths_.push_back(message);
    };
    auto m = ShareStateMachine::create(*store_, probe_, clock_, std::move(hooks),
                                       options.value_or(defaultOptions()));
    ASSERT_TRUE(m) << m.error().toString();
    machine_ = std::move(*m);
    raw_ = machine_.get();
  }

  // From a fresh OFFLINE share to ONLINE: one probe, one reintegration pass.
  void bringOnline() {
    make();
    probe_.setReachable();
    machine_->tick();
    ASSERT_EQ(machine_->status().state, ShareState::kOnline);
    clearLogs();
  }

  void script(Result<PassOutcome> r) {
    std::lock_guard lock(mu_);
    script_.push_back(std::move(r));
  }
  std::vector<PassKind> passes() {
    std::lock_guard lock(mu_);
    return passes_;
  }
  std::vector<std::pair<ShareState, std::string>> changes() {
    std::lock_guard lock(mu_);
    return changes_;
  }
  std::vector<ShareState> states() {
    std::vector<ShareState> out;
    for (const auto& c : changes()) {
      if (out.empty() || out.back() != c.first) out.push_back(c.first);
    }
    return out;
  }
  std::vector<std::string> auths() {
    std::lock_guard lock(mu_);
    return auths_;
  }
  void clearLogs() {
    std::lock_guard lock(mu_);
    passes_.clear();
    changes_.clear();
    auths_.clear();
  }
  void advanceAndTick(milliseconds d) {
    clock_.advance(d);
    machine_->tick();
  }
  ShareState state() { return machine_->status().state; }
  size_t snapshots() { return store_->snapshotLabels().size(); }

  FakeClock clock_;
  remote::FakeConnectivityProbe probe_;
  std::unique_ptr<MemoryShareStateStore> store_;
  std::unique_ptr<ShareStateMachine> machine_;
  ShareStateMachine* raw_ = nullptr;  // for hooks, which may run while machine_ is being reset

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Result<PassOutcome>> script_;
  std::vector<PassKind> passes_;
  std::vector<std::pair<ShareState, std::string>> changes_;
  std::vector<std::string> auths_;
  std::function<void()> during_pass_;
  bool block_pass_ = false;
  bool pass_entered_ = false;
  bool saw_stop_ = false;
};

TEST_F(ShareStateMachineTest, CreateNeedsTheReintegrateHook) {
  MemoryShareStateStore store;
  auto m = ShareStateMachine::create(store, probe_, clock_, ShareStateHooks{});
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().code(), ErrorCode::kInvalidArgument);
}

TEST_F(ShareStateMachineTest, CreateRefusesIntervalsThatWouldSpinOrContradict) {
  MemoryShareStateStore store;
  auto attempt = [&](auto change) {
    ShareStateOptions o = defaultOptions();
    change(o);
    ShareStateHooks hooks;
    hooks.reintegrate = [](const PassRequest&) -> Result<PassOutcome> {
      return PassOutcome::done();
    };
    return ShareStateMachine::create(store, probe_, clock_, std::move(hooks), o);
  };
  EXPECT_TRUE(attempt([](ShareStateOptions&) {}));
  auto zero_probe = attempt([](ShareStateOptions& o) { o.probe_interval_offline = {}; });
  ASSERT_FALSE(zero_probe);
  EXPECT_EQ(zero_probe.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_FALSE(attempt([](ShareStateOptions& o) { o.poll_interval = milliseconds(-1); }));
  EXPECT_FALSE(attempt([](ShareStateOptions& o) { o.write_back_max_delay = milliseconds(100); }));
  EXPECT_FALSE(attempt([](ShareStateOptions& o) { o.retry_max = milliseconds(10); }));
}

TEST_F(ShareStateMachineTest, CreateReportsTheStoresError) {
  MemoryShareStateStore store;
  store.failWith(Error(ErrorCode::kNotFound, "share 7 not found"));
  ShareStateHooks hooks;
  hooks.reintegrate = [](const PassRequest&) -> Result<PassOutcome> { return PassOutcome::done(); };
  auto m = ShareStateMachine::create(store, probe_, clock_, std::move(hooks));
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().code(), ErrorCode::kNotFound);
}

TEST_F(ShareStateMachineTest, OfflineToReintegratingToOnline) {
  make();
  EXPECT_EQ(state(), ShareState::kOffline);
  probe_.setReachable();
  machine_->tick();
  EXPECT_EQ(state(), ShareState::kOnline);
  EXPECT_EQ(states(), (std::vector{ShareState::kReintegrating, ShareState::kOnline}));
  EXPECT_EQ(passes(), std::vector{PassKind::kReintegrate});
  EXPECT_EQ(probe_.probes(), 1u);
  EXPECT_EQ(store_->persisted().state, ShareState::kOnline);
  // It started OFFLINE: its disconnection's snapshot was taken back then.
  EXPECT_EQ(snapshots(), 0u);
  ShareStatus s = machine_->status();
  EXPECT_EQ(s.reason, "");
  ASSERT_TRUE(s.last_probe);
  EXPECT_EQ(s.last_probe->result, remote::Reachability::kReachable);
  ASSERT_TRUE(s.last_pass);
  EXPECT_TRUE(s.last_pass->ok);
  EXPECT_EQ(s.last_pass->outcome, PassOutcome::Kind::kDone);
  EXPECT_EQ(s.passes, 1u);
}

TEST_F(ShareStateMachineTest, UnreachableAtStartStaysOfflineWithTheProbesReason) {
  make();
  probe_.setOffline("remote root '/r': statvfs: Transport endpoint is not connected");
  machine_->tick();
  EXPECT_EQ(state(), ShareState::kOffline);
  EXPECT_EQ(machine_->status().reason,
            "remote root '/r': statvfs: Transport endpoint is not connected");
  EXPECT_TRUE(passes().empty());
  EXPECT_EQ(snapshots(), 0u);
}

TEST_F(ShareStateMachineTest, ProbesOnTheOfflineAndOnlineIntervals) {
  make();
  probe_.setOffline("down");
  machine_->tick();
  EXPECT_EQ(probe_.probes(), 1u);
  advanceAndTick(milliseconds(9999));
  EXPECT_EQ(probe_.probes(), 1u);
  advanceAndTick(milliseconds(1));
  EXPECT_EQ(probe_.probes(), 2u);
  ASSERT_TRUE(machine_->nextDue());
  EXPECT_EQ(*machine_->nextDue() - clock_.steadyNow(), seconds(10));

  probe_.setReachable();
  advanceAndTick(seconds(10));
  EXPECT_EQ(state(), ShareState::kOnline);
  EXPECT_EQ(probe_.probes(), 3u);
  advanceAndTick(seconds(29));
  EXPECT_EQ(probe_.probes(), 3u);
  advanceAndTick(seconds(1));
  EXPECT_EQ(probe_.probes(), 4u);
}

TEST_F(ShareStateMachineTest, ProbeNowProbesBeforeTheInterval) {
  make();
  probe_.setOffline("down");
  machine_->tick();
  probe_.setReachable();
  machine_->tick();  // not due yet
  EXPECT_EQ(state(), ShareState::kOffline);
  machine_->probeNow();
  ASSERT_TRUE(machine_->nextDue());
  EXPECT_EQ(*machine_->nextDue(), clock_.steadyNow());
  machine_->tick();
  EXPECT_EQ(state(), ShareState::kOnline);
  EXPECT_EQ(probe_.probes(), 2u);
}

TEST_F(ShareStateMachineTest, SnapshotExactlyOncePerDisconnection) {
  bringOnline();
  probe_.setOffline("link down");
  advanceAndTick(seconds(30));
  EXPECT_EQ(state(), ShareState::kOffline);
  EXPECT_EQ(machine_->status().reason, "link down");
  ASSERT_EQ(snapshots(), 1u);
  // FakeClock starts at 2026-01-02T03:04:05Z; 30 s have passed.
  EXPECT_EQ(store_->snapshotLabels()[0], "pre-disconnection 2026-01-02T03:04:35Z");
  EXPECT_EQ(store_->persisted().state, ShareState::kOffline);

  for (int i = 0; i < 5; ++i) advanceAndTick(seconds(10));
  EXPECT_EQ(probe_.probes(), 7u);
  EXPECT_EQ(snapshots(), 1u);  // failed probes while offline take none

  probe_.setReachable();
  advanceAndTick(seconds(10));
  EXPECT_EQ(state(), ShareState::kOnline);
  EXPECT_EQ(snapshots(), 1u);

  probe_.setOffline("link down again");
  advanceAndTick(seconds(30));
  EXPECT_EQ(state(), ShareState::kOffline);
  ASSERT_EQ(snapshots(), 2u);
  EXPECT_EQ(store_->snapshotLabels()[1], "pre-disconnection 2026-01-02T03:06:05Z");
  EXPECT_EQ(machine_->status().snapshots, 2u);
  EXPECT_EQ(states(), (std::vector{ShareState::kOffline, ShareState::kReintegrating,
                                   ShareState::kOnline, ShareState::kOffline}));
}

TEST_F(ShareStateMachineTest, ProbeFailureWhileReintegratingGoesOfflineWithSnapshot) {
  make();
  probe_.setReachable();
  script(PassOutcome::paused("remote full: ENOSPC"));
  machine_->tick();
  EXPECT_EQ(state(), ShareState::kReintegrating);  // a pause keeps the state
  EXPECT_TRUE(machine_->status().paused);
  EXPECT_EQ(machine_->status().reason, "remote full: ENOSPC");
  probe_.setOffline("gone");
  advanceAndTick(seconds(30));  // the probe comes before the paused retry
  EXPECT_EQ(state(), ShareState::kOffline);
  EXPECT_EQ(machine_->status().reason, "gone");
  EXPECT_FALSE(machine_->status().paused);
  EXPECT_EQ(snapshots(), 1u);
  EXPECT_EQ(passes().size(), 1u);
}

TEST_F(ShareStateMachineTest, PassReportingOfflineGoesOfflineWithSnapshot) {
  make();
  probe_.setReachable();
  script(PassOutcome::offline("remote root '/r' vanished mid-pass"));
  machine_->tick();
  EXPECT_EQ(state(), ShareState::kOffline);
  EXPECT_EQ(machine_->status().reason, "remote root '/r' vanished mid-pass");
  EXPECT_EQ(snapshots(), 1u);
  EXPECT_EQ(states(), (std::vector{ShareState::kReintegrating, ShareState::kOffline}));
  // The next probe finds it back: a new reintegration.
  advanceAndTick(seconds(10));
  EXPECT_EQ(state(), ShareState::kOnline);
  EXPECT_EQ(passes(), (std::vector{PassKind::kReintegrate, PassKind::kReintegrate}));
  EXPECT_EQ(snapshots(), 1u);
}

TEST_F(ShareStateMachineTest, PassErrorOfflineFromOnlineGoesOfflineWithSnapshot) {
  bringOnline();
  script(tl::unexpected(Error(ErrorCode::kOffline, "remote 'a/b': ENOTCONN")));
  machine_->syncNow();
  machine_->tick();
  EXPECT_EQ(passes(), std::vector{PassKind::kOnDemand});
  EXPECT_EQ(state(), ShareState::kOffline);
  EXPECT_NE(machine_->status().reason.find("ENOTCONN"), std::string::npos);
  EXPECT_EQ(snapshots(), 1u);
  ASSERT_TRUE(machine_->status().last_pass);
  EXPECT_FALSE(machine_->status().last_pass->ok);
}

TEST_F(ShareStateMachineTest, UserOverrideForcesOfflineAndNoProbeBringsItBack) {
  bringOnline();
  ASSERT_TRUE(machine_->setUserOffline(true));
  EXPECT_TRUE(store_->persisted().user_offline);  // stored at once
  EXPECT_TRUE(machine_->status().user_offline);
  machine_->tick();
  EXPECT_EQ(state(), ShareState::kOffline);
  EXPECT_EQ(machine_->status().reason, "set offline by the user");
  EXPECT_EQ(snapshots(), 1u);
  const uint64_t probes = probe_.probes();

  machine_->probeNow();
  machine_->syncNow();
  machine_->localChangeNoted();
  for (int i = 0; i < 10; ++i) advanceAndTick(seconds(60));
  EXPECT_EQ(state(), ShareState::kOffline);
  EXPECT_EQ(probe_.probes(), probes);  // nothing touches the remote
  EXPECT_TRUE(passes().empty());
  EXPECT_FALSE(machine_->nextDue());
  EXPECT_EQ(snapshots(), 1u);

  ASSERT_TRUE(machine_->setUserOffline(false));
  EXPECT_FALSE(store_->persisted().user_offline);
  ASSERT_TRUE(machine_->nextDue());
  EXPECT_EQ(*machine_->nextDue(), clock_.steadyNow());  // probes at once
  machine_->tick();
  EXPECT_EQ(probe_.probes(), probes + 1);
  EXPECT_EQ(state(), ShareState::kOnline);
  EXPECT_EQ(passes(), std::vector{PassKind::kReintegrate});
}

TEST_F(ShareStateMachineTest, UserOverrideWhileOfflineTakesNoSecondSnapshot) {
  bringOnline();
  probe_.setOffline("down");
  advanceAndTick(seconds(30));
  EXPECT_EQ(snapshots(), 1u);
  ASSERT_TRUE(machine_->setUserOffline(true));
  machine_->tick();
  EXPECT_EQ(state(), ShareState::kOffline);
  EXPECT_EQ(machine_->status().reason, "set offline by the user");
  EXPECT_EQ(snapshots(), 1u);
  // Lifted while the remote is still away: a probe, and OFFLINE for its reason.
  ASSERT_TRUE(machine_->setUserOffline(false));
  machine_->tick();
  EXPECT_EQ(state(), ShareState::kOffline);
  EXPECT_EQ(machine_->status().reason, "down");
  EXPECT_EQ(snapshots(), 1u);
}

TEST_F(ShareStateMachineTest, StoredOverrideHoldsAcrossRestart) {
  make(PersistedShareState{ShareState::kOffline, true});
  for (int i = 0; i < 3; ++i) advanceAndTick(seconds(60));
  EXPECT_EQ(probe_.probes(), 0u);
  EXPECT_EQ(state(), ShareState::kOffline);
  EXPECT_TRUE(machine_->status().user_offline);
  EXPECT_EQ(snapshots(), 0u);
}

TEST_F(ShareStateMachineTest, OverrideFailingToStoreChangesNothing) {
  bringOnline();
  store_->failWith(Error(ErrorCode::kIo, "journal.db: disk I/O error"));
  auto st = machine_->setUserOffline(true);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code(), ErrorCode::kIo);
  store_->failWith(std::nullopt);
  machine_->tick();
  EXPECT_EQ(state(), ShareState::kOnline);
  EXPECT_FALSE(machine_->status().user_offline);
}

TEST_F(ShareStateMachineTest, OverrideStopsARunningPass) {
  bringOnline();
  block_pass_ = true;
  machine_->syncNow();
  std::thread ticker([this] { machine_->tick(); });
  {
    std::unique_lock lock(mu_);
    ASSERT_TRUE(cv_.wait_for(lock, seconds(60), [this] { return pass_entered_; }));
  }
  ASSERT_TRUE(machine_->setUserOffline(true));
  ticker.join();
  EXPECT_TRUE(saw_stop_);
  EXPECT_EQ(state(), ShareState::kOffline);
  EXPECT_EQ(machine_->status().reason, "set offline by the user");
  EXPECT_EQ(snapshots(), 1u);
}

TEST_F(ShareStateMachineTest, AuthExpiredReportedOncePerEpisode) {
  bringOnline();
  probe_.set(remote::ProbeResult{remote::Reachability::kAuthExpired,
                                 "remote root '/r': statvfs: Key has expired", std::nullopt});
  advanceAndTick(seconds(30));
  EXPECT_EQ(state(), ShareState::kOffline);
  EXPECT_EQ(machine_->status().reason, "remote root '/r': statvfs: Key has expired");
  EXPECT_TRUE(machine_->status().auth_required);
  EXPECT_EQ(auths(), std::vector<std::string>{"remote root '/r': statvfs: Key has expired"});
  EXPECT_EQ(snapshots(), 1u);
  for (int i = 0; i < 4; ++i) advanceAndTick(seconds(10));
  EXPECT_EQ(auths().size(), 1u);  // same episode
  EXPECT_EQ(snapshots(), 1u);

  probe_.setReachable();  // the user renewed the ticket
  advanceAndTick(seconds(10));
  EXPECT_EQ(state(), ShareState::kOnline);
  EXPECT_FALSE(machine_->status().auth_required);

  // A new episode, this time found by a pass.
  script(tl::unexpected(Error(ErrorCode::kAuthExpired, "remote 'x': open: Key has expired")));
  machine_->syncNow();
  machine_->tick();
  EXPECT_EQ(state(), ShareState::kOffline);
  ASSERT_EQ(auths().size(), 2u);
  EXPECT_NE(auths()[1].find("Key has expired"), std::string::npos);
  EXPECT_EQ(snapshots(), 2u);
}

TEST_F(ShareStateMachineTest, AuthExpiredWhileAlreadyOfflineStillAsksOnce) {
  make();
  probe_.set(remote::ProbeResult{remote::Reachability::kAuthExpired, "expired", std::nullopt});
  machine_->tick();
  advanceAndTick(seconds(10));
  EXPECT_EQ(auths(), std::vector<std::string>{"expired"});
  EXPECT_EQ(snapshots(), 0u);
}

TEST_F(ShareStateMachineTest, PassSayingAuthExpiredGoesOffline) {
  make();
  probe_.setReachable();
  script(PassOutcome::authExpired("kerberos ticket expired"));
  machine_->tick();
  EXPECT_EQ(state(), ShareState::kOffline);
  EXPECT_EQ(auths(), std::vector<std::string>{"kerberos ticket expired"});
  EXPECT_EQ(snapshots(), 1u);
}

TEST_F(ShareStateMachineTest, ARefusedPassWaitsForTheRenewalNotForEveryProbe) {
  bringOnline();
  script(tl::unexpected(Error(ErrorCode::kAuthExpired, "remote 'docs/a': Key has expired")));
  machine_->syncNow();
  machine_->tick();
  ASSERT_EQ(state(), ShareState::kOffline);
  EXPECT_EQ(shareStateLabel(machine_->status()), "auth-required");
  // The probe does not touch what the key guards: reachable, yet no new pass.
  advanceAndTick(seconds(10));
  EXPECT_EQ(state(), ShareState::kOffline);
  EXPECT_EQ(passes().size(), 1u);
  // After the hold one pass tries again; refused again, it is the same episode.
  script(tl::unexpected(Error(ErrorCode::kAuthExpired, "remote 'docs/a': Key has expired")));
  advanceAndTick(seconds(20));
  EXPECT_EQ(passes().size(), 2u);
  EXPECT_EQ(state(), ShareState::kOffline);
  EXPECT_EQ(auths().size(), 1u);
  // The user renewed: a probe and a pass at once, the episode is over.
  machine_->credentialsRenewed();
  machine_->tick();
  EXPECT_EQ(passes().size(), 3u);
  EXPECT_EQ(state(), ShareState::kOnline);
  EXPECT_FALSE(machine_->status().auth_required);
  EXPECT_EQ(shareStateLabel(machine_->status()), "online");
  EXPECT_EQ(auths().size(), 1u);
}

TEST_F(ShareStateMachineTest, NetworkLostGoesOfflineAtOnceAndAProbeBringsItBack) {
  bringOnline();
  machine_->networkLost("NetworkManager: connectivity none");
  machine_->tick();  // no time passed: no probe was due
  EXPECT_EQ(state(), ShareState::kOffline);
  EXPECT_EQ(machine_->status().reason, "NetworkManager: connectivity none");
  EXPECT_EQ(snapshots(), 1u);
  EXPECT_EQ(shareStateLabel(machine_->status()), "offline");
  advanceAndTick(seconds(10));  // the offline probe still decides
  EXPECT_EQ(state(), ShareState::kOnline);
}

TEST_F(ShareStateMachineTest, SleepSendsPendingChangesThenHoldsEverythingUntilResumed) {
  bringOnline();
  machine_->localChangeNoted();
  machine_->prepareForSleep();
  EXPECT_FALSE(machine_->readyForSleep()) << "a pass is due for the pending changes";
  machine_->tick();  // at once, not after the quiet period
  EXPECT_EQ(passes(), std::vector{PassKind::kOnDemand});
  EXPECT_TRUE(machine_->readyForSleep());
  const uint64_t probes = machine_->status().probes;
  for (int i = 0; i < 10; ++i) advanceAndTick(seconds(60));
  EXPECT_EQ(passes().size(), 1u) << "asleep: no poll, no write-back";
  EXPECT_EQ(machine_->status().probes, probes) << "asleep: no probe";
  machine_->resumed();
  machine_->tick();
  EXPECT_EQ(machine_->status().probes, probes + 1) << "resume probes at once";
}

TEST_F(ShareStateMachineTest, AWalkPausedForSleepGoesOnAtOnceAfterResume) {
  bringOnline();
  block_pass_ = true;
  machine_->syncNow();
  std::thread runner([this] { machine_->tick(); });
  {
    std::unique_lock lock(mu_);
    ASSERT_TRUE(cv_.wait_for(lock, seconds(60), [this] { return pass_entered_; }));
  }
  machine_->prepareForSleep();
  EXPECT_FALSE(machine_->readyForSleep()) << "a pass (the walk) runs";
  machine_->pauseForSleep();
  runner.join();
  EXPECT_TRUE(saw_stop_);
  EXPECT_TRUE(machine_->readyForSleep());
  {
    std::lock_guard lock(mu_);
    block_pass_ = false;
  }
  machine_->resumed();
  machine_->tick();  // no time passed: not after paused_retry (20 s)
  EXPECT_EQ(passes().size(), 2u);
  EXPECT_EQ(state(), ShareState::kOnline);
  EXPECT_FALSE(machine_->status().paused);
}

TEST_F(ShareStateMachineTest, BurstOfLocalChangesIsOneWriteBackAfterTheyQuiet) {
  bringOnline();
  for (int i = 0; i < 5; ++i) {
    machine_->localChangeNoted();
    advanceAndTick(milliseconds(50));
  }
  EXPECT_TRUE(passes().empty());
  EXPECT_TRUE(machine_->status().local_changes_pending);
  // 300 ms after the last change (noted at +200 ms; now +250 ms).
  advanceAndTick(milliseconds(249));
  EXPECT_TRUE(passes().empty());
  advanceAndTick(milliseconds(1));
  EXPECT_EQ(passes(), std::vector{PassKind::kWriteBack});
  EXPECT_FALSE(machine_->status().local_changes_pending);
  for (int i = 0; i < 20; ++i) advanceAndTick(milliseconds(100));
  EXPECT_EQ(passes().size(), 1u);
}

TEST_F(ShareStateMachineTest, SteadyStreamStillWritesBackWithinTheMaxDelay) {
  bringOnline();
  // A change every 100 ms: never 300 ms of quiet.
  machine_->localChangeNoted();
  for (int i = 1; i < 10; ++i) {
    advanceAndTick(milliseconds(100));
    machine_->localChangeNoted();
  }
  EXPECT_TRUE(passes().empty());      // +900 ms
  advanceAndTick(milliseconds(100));  // +1000 ms after the first
  EXPECT_EQ(passes(), std::vector{PassKind::kWriteBack});
  // Changes keep coming: the next pass 1 s after the first of them.
  for (int i = 0; i < 10; ++i) {
    machine_->localChangeNoted();
    advanceAndTick(milliseconds(100));
  }
  EXPECT_EQ(passes(), (std::vector{PassKind::kWriteBack, PassKind::kWriteBack}));
}

TEST_F(ShareStateMachineTest, ChangeNotedDuringAPassGetsAnotherPass) {
  bringOnline();
  // The tracker notes a change while the pass runs (after it froze the
  // change log): it must get a pass of its own.
  during_pass_ = [this] { machine_->localChangeNoted(); };
  machine_->localChangeNoted();
  advanceAndTick(milliseconds(300));
  ASSERT_EQ(passes().size(), 1u);
  during_pass_ = nullptr;
  EXPECT_TRUE(machine_->status().local_changes_pending);
  advanceAndTick(milliseconds(299));
  EXPECT_EQ(passes().size(), 1u);
  advanceAndTick(milliseconds(1));
  EXPECT_EQ(passes(), (std::vector{PassKind::kWriteBack, PassKind::kWriteBack}));
  advanceAndTick(seconds(5));
  EXPECT_EQ(passes().size(), 2u);
}

TEST_F(ShareStateMachineTest, LocalChangesWhileOfflineWaitForTheReconnect) {
  bringOnline();
  probe_.setOffline("down");
  advanceAndTick(seconds(30));
  machine_->localChangeNoted();
  for (int i = 0; i < 5; ++i) advanceAndTick(seconds(1));
  EXPECT_TRUE(passes().empty());
  EXPECT_TRUE(machine_->status().local_changes_pending);
  probe_.setReachable();
  advanceAndTick(seconds(5));
  EXPECT_EQ(passes(), std::vector{PassKind::kReintegrate});  // one pass covers them
  advanceAndTick(seconds(2));
  EXPECT_EQ(passes().size(), 1u);
}

TEST_F(ShareStateMachineTest, PollsOnTheIntervalAndOnDemand) {
  ShareStateOptions o = defaultOptions();
  o.poll_interval = seconds(5);
  o.probe_interval_online = seconds(3600);
  make({}, o);
  probe_.setReachable();
  machine_->tick();
  clearLogs();
  advanceAndTick(milliseconds(4999));
  EXPECT_TRUE(passes().empty());
  advanceAndTick(milliseconds(1));
  EXPECT_EQ(passes(), std::vector{PassKind::kPoll});
  advanceAndTick(seconds(2));
  machine_->syncNow();
  machine_->tick();
  EXPECT_EQ(passes(), (std::vector{PassKind::kPoll, PassKind::kOnDemand}));
  // The on-demand pass restarted the interval.
  advanceAndTick(milliseconds(4999));
  EXPECT_EQ(passes().size(), 2u);
  advanceAndTick(milliseconds(1));
  EXPECT_EQ(passes(), (std::vector{PassKind::kPoll, PassKind::kOnDemand, PassKind::kPoll}));
}

TEST_F(ShareStateMachineTest, TransientErrorKeepsStateProbesAndRetriesWithBackoff) {
  bringOnline();
  const uint64_t probes = probe_.probes();
  script(tl::unexpected(Error(ErrorCode::kIo, "remote 'doc.txt': write: Input/output error")));
  script(tl::unexpected(Error(ErrorCode::kIo, "remote 'doc.txt': write: Input/output error")));
  machine_->localChangeNoted();
  advanceAndTick(milliseconds(300));
  EXPECT_EQ(state(), ShareState::kOnline);
  ShareStatus s = machine_->status();
  EXPECT_NE(s.reason.find("Input/output error"), std::string::npos);
  EXPECT_EQ(s.consecutive_failures, 1u);
  // The probe asked for by the failure runs on the next tick.
  machine_->tick();
  EXPECT_EQ(probe_.probes(), probes + 1);
  EXPECT_EQ(passes().size(), 1u);
  // Backoff 1 s, then 2 s; new local changes do not jump the queue.
  machine_->localChangeNoted();
  advanceAndTick(milliseconds(999));
  EXPECT_EQ(passes().size(), 1u);
  advanceAndTick(milliseconds(1));
  EXPECT_EQ(passes(), (std::vector{PassKind::kWriteBack, PassKind::kRetry}));
  EXPECT_EQ(machine_->status().consecutive_failures, 2u);
  advanceAndTick(milliseconds(1999));
  EXPECT_EQ(passes().size(), 2u);
  advanceAndTick(milliseconds(1));
  EXPECT_EQ(passes().size(), 3u);
  s = machine_->status();
  EXPECT_EQ(s.state, ShareState::kOnline);
  EXPECT_EQ(s.reason, "");
  EXPECT_EQ(s.consecutive_failures, 0u);
  EXPECT_EQ(snapshots(), 0u);
}

TEST_F(ShareStateMachineTest, BackoffIsCappedAndSyncNowRetriesAtOnce) {
  bringOnline();
  for (int i = 0; i < 6; ++i) script(tl::unexpected(Error(ErrorCode::kTimeout, "remote slow")));
  machine_->syncNow();
  machine_->tick();  // fails: retry in 1 s
  std::vector<milliseconds> gaps;
  for (int i = 0; i < 5; ++i) {
    const size_t before = passes().size();
    milliseconds waited(0);
    while (passes().size() == before && waited < seconds(100)) {
      advanceAndTick(milliseconds(500));
      waited += milliseconds(500);
    }
    gaps.push_back(waited);
  }
  // Doubling, capped at retry_max (8 s).
  EXPECT_EQ(gaps, (std::vector<milliseconds>{seconds(1), seconds(2), seconds(4), seconds(8),
                                             seconds(8)}));
  EXPECT_EQ(machine_->status().consecutive_failures, 6u);
  // syncNow skips the wait.
  machine_->syncNow();
  machine_->tick();
  EXPECT_EQ(passes().size(), 7u);
  EXPECT_EQ(state(), ShareState::kOnline);
  EXPECT_EQ(machine_->status().consecutive_failures, 0u);
  EXPECT_EQ(machine_->status().reason, "");
}

TEST_F(ShareStateMachineTest, PausedKeepsStateAndRetriesAfterThePauseInterval) {
  bringOnline();
  script(PassOutcome::paused("remote is full (ENOSPC) at 'big.iso'"));
  machine_->syncNow();
  machine_->tick();
  ShareStatus s = machine_->status();
  EXPECT_EQ(s.state, ShareState::kOnline);
  EXPECT_TRUE(s.paused);
  EXPECT_FALSE(s.waiting_for_user);
  EXPECT_EQ(s.reason, "remote is full (ENOSPC) at 'big.iso'");
  ASSERT_FALSE(changes().empty());
  EXPECT_EQ(changes().back(),
            std::pair(ShareState::kOnline, std::string("remote is full (ENOSPC) at 'big.iso'")));
  machine_->localChangeNoted();
  advanceAndTick(seconds(19));
  EXPECT_EQ(passes().size(), 1u);
  advanceAndTick(seconds(1));
  EXPECT_EQ(passes(), (std::vector{PassKind::kOnDemand, PassKind::kRetry}));
  s = machine_->status();
  EXPECT_FALSE(s.paused);
  EXPECT_EQ(s.reason, "");
  EXPECT_EQ(changes().back(), std::pair(ShareState::kOnline, std::string()));
}

TEST_F(ShareStateMachineTest, NeedsUserWaitsForSyncNow) {
  make();
  probe_.setReachable();
  script(PassOutcome::needsUser("would delete 812 of 1000 remote files; confirm"));
  machine_->tick();
  EXPECT_EQ(state(), ShareState::kReintegrating);
  EXPECT_TRUE(machine_->status().waiting_for_user);
  machine_->localChangeNoted();
  for (int i = 0; i < 10; ++i) advanceAndTick(seconds(60));
  EXPECT_EQ(passes().size(), 1u);
  EXPECT_EQ(state(), ShareState::kReintegrating);
  machine_->syncNow();
  machine_->tick();
  EXPECT_EQ(passes(), (std::vector{PassKind::kReintegrate, PassKind::kReintegrate}));
  EXPECT_EQ(state(), ShareState::kOnline);
  EXPECT_FALSE(machine_->status().waiting_for_user);
}

TEST_F(ShareStateMachineTest, SyncNowWhileOfflineProbes) {
  make();
  probe_.setOffline("down");
  machine_->tick();
  probe_.setReachable();
  machine_->syncNow();
  machine_->tick();
  EXPECT_EQ(probe_.probes(), 2u);
  EXPECT_EQ(state(), ShareState::kOnline);
}

TEST_F(ShareStateMachineTest, RestartFromStoredOnlinePullsAtOnce) {
  make(PersistedShareState{ShareState::kOnline, false});
  probe_.setReachable();
  machine_->tick();
  EXPECT_EQ(probe_.probes(), 1u);
  EXPECT_EQ(passes(), std::vector{PassKind::kPoll});
  EXPECT_EQ(state(), ShareState::kOnline);
}

TEST_F(ShareStateMachineTest, RestartFromStoredOnlineWithRemoteGoneTakesSnapshot) {
  make(PersistedShareState{ShareState::kOnline, false});
  probe_.setOffline("not mounted");
  machine_->tick();
  EXPECT_EQ(state(), ShareState::kOffline);
  EXPECT_EQ(snapshots(), 1u);
  EXPECT_TRUE(passes().empty());
}

TEST_F(ShareStateMachineTest, RestartMidReintegrationRunsThePassAgain) {
  make(PersistedShareState{ShareState::kReintegrating, false});
  probe_.setReachable();
  machine_->tick();
  EXPECT_EQ(passes(), std::vector{PassKind::kReintegrate});
  EXPECT_EQ(state(), ShareState::kOnline);
  EXPECT_EQ(store_->persisted().state, ShareState::kOnline);
}

TEST_F(ShareStateMachineTest, JournalFailureKeepsOfflineUntilTheSnapshotIsStored) {
  bringOnline();
  store_->failWith(Error(ErrorCode::kIo, "journal.db: disk I/O error"));
  probe_.setOffline("down");
  advanceAndTick(seconds(30));
  EXPECT_EQ(state(), ShareState::kOffline);  // nothing touches the remote regardless
  EXPECT_EQ(snapshots(), 0u);
  ASSERT_TRUE(machine_->status().journal_error);
  EXPECT_NE(machine_->status().journal_error->find("disk I/O error"), std::string::npos);
  EXPECT_EQ(store_->persisted().state, ShareState::kOnline);

  // The remote is back but the snapshot is not stored: no reintegration yet.
  probe_.setReachable();
  advanceAndTick(seconds(10));
  EXPECT_EQ(state(), ShareState::kOffline);
  EXPECT_TRUE(passes().empty());

  store_->failWith(std::nullopt);
  advanceAndTick(seconds(5));  // the store is retried on every tick
  ASSERT_EQ(snapshots(), 1u);
  // Labelled with the time of the disconnection, not of the retry.
  EXPECT_EQ(store_->snapshotLabels()[0], "pre-disconnection 2026-01-02T03:04:35Z");
  EXPECT_FALSE(machine_->status().journal_error);
  advanceAndTick(seconds(10));
  EXPECT_EQ(state(), ShareState::kOnline);
  EXPECT_EQ(passes(), std::vector{PassKind::kReintegrate});
}

TEST_F(ShareStateMachineTest, StatusCarriesPendingCounts) {
  make();
  store_->setPendingCounts(PendingCounts{42, 3});
  probe_.setOffline("down");
  machine_->tick();
  ASSERT_TRUE(machine_->status().pending);
  EXPECT_EQ(machine_->status().pending->changes, 42);
  EXPECT_EQ(machine_->status().pending->open_conflicts, 3);
  store_->setPendingCounts(PendingCounts{43, 3});
  machine_->localChangeNoted();
  machine_->tick();
  EXPECT_EQ(machine_->status().pending->changes, 43);
}

TEST_F(ShareStateMachineTest, NamesAreStable) {
  EXPECT_EQ(passKindName(PassKind::kWriteBack), "write-back");
  EXPECT_EQ(passKindName(PassKind::kReintegrate), "reintegrate");
  EXPECT_EQ(passKindName(PassKind::kOnDemand), "on-demand");
  EXPECT_EQ(passOutcomeName(PassOutcome::Kind::kNeedsUser), "needs-user");
  EXPECT_EQ(passOutcomeName(PassOutcome::Kind::kAuthExpired), "auth-expired");
}

// A probe that blocks until released, as a slow mount does until the real
// probe's deadline: nothing but tick() may wait for it.
class GatedProbe final : public remote::ConnectivityProbe {
 public:
  remote::ProbeResult probe() override {
    std::unique_lock lock(mu_);
    inside_ = true;
    cv_.notify_all();
    cv_.wait_for(lock, std::chrono::minutes(1), [this] { return open_; });
    inside_ = false;
    return {remote::Reachability::kReachable, {}, std::nullopt};
  }
  bool waitInside() {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, std::chrono::minutes(1), [this] { return inside_; });
  }
  void open() {
    std::lock_guard lock(mu_);
    open_ = true;
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool inside_ = false;
  bool open_ = false;
};

TEST_F(ShareStateMachineTest, CallersNeverWaitForAProbeAndTheOverrideWinsOverIt) {
  MemoryShareStateStore store;
  GatedProbe gated;
  ShareStateHooks hooks;
  int passes = 0;
  hooks.reintegrate = [&passes](const PassRequest&) -> Result<PassOutcome> {
    ++passes;
    return PassOutcome::done();
  };
  auto m = ShareStateMachine::create(store, gated, clock_, std::move(hooks));
  ASSERT_TRUE(m) << m.error().toString();
  ShareStateMachine& machine = **m;
  std::thread ticker([&machine] { machine.tick(); });
  ASSERT_TRUE(gated.waitInside());
  // The probe hangs; every other entry point still answers.
  EXPECT_EQ(machine.status().state, ShareState::kOffline);
  machine.probeNow();
  machine.syncNow();
  machine.localChangeNoted();
  EXPECT_FALSE(machine.nextDue() == std::nullopt);
  ASSERT_TRUE(machine.setUserOffline(true));
  EXPECT_TRUE(store.persisted().user_offline);
  gated.open();
  ticker.join();
  // The probe said reachable, but the user asked for OFFLINE meanwhile.
  EXPECT_EQ(machine.status().state, ShareState::kOffline);
  EXPECT_EQ(machine.status().reason, "set offline by the user");
  EXPECT_EQ(passes, 0);
}

// --- the runner thread ---------------------------------------------------------

TEST_F(ShareStateMachineTest, RunnerWakesOnEventsAndStopsCleanly) {
  make();
  probe_.setOffline("down");
  machine_->start();
  machine_->start();  // no-op
  auto waitFor = [this](auto pred) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, seconds(60), [&] { return pred(changes_); });
  };
  // Fake time never moves here: after its first tick, only events wake it.
  ASSERT_TRUE(waitFor([](const std::vector<std::pair<ShareState, std::string>>& c) {
    return !c.empty() && c.back() == std::pair(ShareState::kOffline, std::string("down"));
  }));
  probe_.setReachable();
  machine_->probeNow();
  ASSERT_TRUE(waitFor([](const std::vector<std::pair<ShareState, std::string>>& c) {
    return !c.empty() && c.back().first == ShareState::kOnline;
  }));
  EXPECT_EQ(passes(), std::vector{PassKind::kReintegrate});

  ASSERT_TRUE(machine_->setUserOffline(true));
  ASSERT_TRUE(waitFor([](const std::vector<std::pair<ShareState, std::string>>& c) {
    return !c.empty() && c.back().first == ShareState::kOffline;
  }));
  EXPECT_EQ(snapshots(), 1u);
  machine_->stop();
  machine_->stop();  // no-op
  // Stopped: events no longer do anything.
  const uint64_t probes = probe_.probes();
  ASSERT_TRUE(machine_->setUserOffline(false));
  EXPECT_EQ(probe_.probes(), probes);
  EXPECT_EQ(state(), ShareState::kOffline);
}

TEST_F(ShareStateMachineTest, StopInterruptsARunningPass) {
  bringOnline();
  block_pass_ = true;
  machine_->start();
  machine_->syncNow();
  {
    std::unique_lock lock(mu_);
    ASSERT_TRUE(cv_.wait_for(lock, seconds(60), [this] { return pass_entered_; }));
  }
  machine_->stop();
  EXPECT_TRUE(saw_stop_);
  EXPECT_EQ(passes().size(), 1u);
}

TEST_F(ShareStateMachineTest, DestroyingARunningMachineJoinsItsThread) {
  make();
  probe_.setOffline("down");
  machine_->start();
  machine_->probeNow();
  for (int i = 0; i < 60000 && probe_.probes() == 0; ++i) {
    std::this_thread::sleep_for(milliseconds(1));
  }
  ASSERT_GE(probe_.probes(), 1u);
  machine_.reset();  // must not hang or leave a thread touching freed memory
  raw_ = nullptr;
  const uint64_t probes = probe_.probes();
  EXPECT_LE(probes, 2u);  // the first tick and at most one more for probeNow
  EXPECT_EQ(store_->persisted().state, ShareState::kOffline);
}

}  // namespace
}  // namespace hoard::sync
