// SPDX-License-Identifier: MIT
// The share state machine on a real journal (SQLite in a temporary folder):
// what a user would find in journal.db after a disconnection, a user
// override and a restart, and the runner thread writing back real change-log
// records alongside another thread that records them.

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <mutex>
#include <set>
#include <span>
#include <thread>

#include "journal/Journal.h"
#include "remote/FaultyRemoteFs.h"
#include "remote/Identity.h"
#include "remote/PosixRemoteFs.h"
#include "remote/WorkerPool.h"
#include "sync/ShareStateMachine.h"
#include "sync/ShareStateStore.h"

namespace hoard::sync {
namespace {

namespace fs = std::filesystem;
using journal::ShareState;
using std::chrono::milliseconds;
using std::chrono::seconds;

class ShareStateJournalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/hoard-sharestate-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    openJournal();
    journal::ShareSpec spec;
    spec.name = "docs";
    spec.cache_root = dir_ + "/cache";
    spec.remote_root = dir_ + "/remote";
    auto id = journal_->addShare(spec);
    ASSERT_TRUE(id) << id.error().toString();
    share_ = *id;
    store_ = std::make_unique<JournalShareStateStore>(*journal_, journal_mu_, share_);
  }
  void TearDown() override {
    machine_.reset();
    store_.reset();
    journal_.reset();
    fs::remove_all(dir_);
  }

  void openJournal() {
    auto j = journal::Journal::open(dir_ + "/journal.db");
    ASSERT_TRUE(j) << j.error().toString();
    journal_ = std::move(*j);
  }

  void make(Clock& clock, ShareStateHooks hooks = {}, ShareStateOptions options = {}) {
    if (!hooks.reintegrate) {
      hooks.reintegrate = [this](const PassRequest&) -> Result<PassOutcome> {
        ++passes_;
        return PassOutcome::done();
      };
    }
    auto m = ShareStateMachine::create(*store_, probe_, clock, std::move(hooks), options);
    ASSERT_TRUE(m) << m.error().toString();
    machine_ = std::move(*m);
  }

  journal::ShareRecord record() {
    MutexLock lock(journal_mu_);
    auto r = journal_->share(share_);
    EXPECT_TRUE(r) << r.error().toString();
    return r ? *r : journal::ShareRecord{};
  }
  std::vector<journal::SnapshotInfo> snapshots() {
    MutexLock lock(journal_mu_);
    auto r = journal_->snapshots(share_);
    EXPECT_TRUE(r) << r.error().toString();
    return r ? *r : std::vector<journal::SnapshotInfo>{};
  }
  static BaseEntry entry(const std::string& path, uint64_t size) {
    BaseEntry e;
    e.path = path;
    e.local.type = FileType::kFile;
    e.local.size = size;
    e.local.mode = 0644;
    e.local.mtime_ns = 1'700'000'000'000'000'000;
    e.data_version = "v" + std::to_string(size);
    return e;
  }

  std::string dir_;
  std::unique_ptr<journal::Journal> journal_;
  Mutex journal_mu_;
  int64_t share_ = 0;
  std::unique_ptr<JournalShareStateStore> store_;
  remote::FakeConnectivityProbe probe_;
  std::unique_ptr<ShareStateMachine> machine_;
  int passes_ = 0;
};

TEST_F(ShareStateJournalTest, DisconnectionStoresStateAndOneSnapshotOfTheBase) {
  const std::vector<BaseEntry> base = {entry("a.txt", 3), entry("dir\nwith newline/\xff.bin", 7)};
  ASSERT_TRUE(journal_->putBase(share_, base));
  FakeClock clock;
  make(clock);
  probe_.setReachable();
  machine_->tick();
  EXPECT_EQ(record().state, ShareState::kOnline);
  EXPECT_TRUE(snapshots().empty());

  probe_.setOffline("remote root: statvfs: Transport endpoint is not connected");
  clock.advance(seconds(30));
  machine_->tick();
  EXPECT_EQ(record().state, ShareState::kOffline);
  auto snaps = snapshots();
  ASSERT_EQ(snaps.size(), 1u);
  EXPECT_EQ(snaps[0].label, "pre-disconnection 2026-01-02T03:04:35Z");
  auto entries = journal_->snapshotEntries(snaps[0].id);
  ASSERT_TRUE(entries) << entries.error().toString();
  std::vector<BaseEntry> want = base;
  std::sort(want.begin(), want.end(),
            [](const BaseEntry& x, const BaseEntry& y) { return x.path < y.path; });
  EXPECT_EQ(*entries, want);

  for (int i = 0; i < 3; ++i) {
    clock.advance(seconds(10));
    machine_->tick();
  }
  EXPECT_EQ(snapshots().size(), 1u);

  probe_.setReachable();
  clock.advance(seconds(10));
  machine_->tick();
  EXPECT_EQ(record().state, ShareState::kOnline);
  EXPECT_EQ(passes_, 2);
}

TEST_F(ShareStateJournalTest, UserOverrideSurvivesARestart) {
  FakeClock clock;
  make(clock);
  probe_.setReachable();
  machine_->tick();
  ASSERT_TRUE(machine_->setUserOffline(true));
  EXPECT_TRUE(record().user_offline);
  machine_->tick();
  EXPECT_EQ(record().state, ShareState::kOffline);
  EXPECT_EQ(snapshots().size(), 1u);
  const uint64_t probes = probe_.probes();

  // The daemon restarts: journal reopened, a new machine from what it holds.
  machine_.reset();
  store_.reset();
  journal_.reset();
  openJournal();
  store_ = std::make_unique<JournalShareStateStore>(*journal_, journal_mu_, share_);
  make(clock);
  EXPECT_TRUE(machine_->status().user_offline);
  EXPECT_EQ(machine_->status().state, ShareState::kOffline);
  for (int i = 0; i < 3; ++i) {
    clock.advance(seconds(60));
    machine_->tick();
  }
  EXPECT_EQ(probe_.probes(), probes);
  EXPECT_EQ(snapshots().size(), 1u);

  ASSERT_TRUE(machine_->setUserOffline(false));
  machine_->tick();
  EXPECT_FALSE(record().user_offline);
  EXPECT_EQ(record().state, ShareState::kOnline);
}

TEST_F(ShareStateJournalTest, CreateForARemovedShareFails) {
  ASSERT_TRUE(journal_->removeShare(share_));
  FakeClock clock;
  ShareStateHooks hooks;
  hooks.reintegrate = [](const PassRequest&) -> Result<PassOutcome> { return PassOutcome::done(); };
  auto m = ShareStateMachine::create(*store_, probe_, clock, std::move(hooks));
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().code(), ErrorCode::kNotFound);
}

TEST_F(ShareStateJournalTest, PendingCountsComeFromTheJournal) {
  std::vector<Change> changes(3);
  changes[0] = Change{ChangeOp::kCreate, "new.txt", "", 0644, ""};
  changes[1] = Change{ChangeOp::kMkdir, "d", "", 0755, ""};
  changes[2] = Change{ChangeOp::kWrite, "old.txt", "", 0, ""};
  ASSERT_TRUE(journal_->recordChanges(share_, changes));
  journal::ConflictRecord c;
  c.share_id = share_;
  c.path = "clash.txt";
  c.kind = journal::ConflictKind::kContent;
  ASSERT_TRUE(journal_->addConflict(c));
  FakeClock clock;
  make(clock);
  probe_.setOffline("down");
  machine_->tick();
  auto s = machine_->status();
  ASSERT_TRUE(s.pending);
  EXPECT_EQ(s.pending->changes, 3);
  EXPECT_EQ(s.pending->open_conflicts, 1);
}

// The runner with the real clock: another thread records changes (as the
// tracker does through LocalRecorder) and notes them; the debounced
// write-back passes replay them (here: freeze and drop, as a reconciler does
// once a record is on the remote) until the log is empty. Waits on a
// condition with a generous timeout; asserts nothing about elapsed time.
TEST_F(ShareStateJournalTest, RunnerWritesBackChangesRecordedByAnotherThread) {
  std::mutex seen_mu;
  std::set<RelPath> replayed;
  ShareStateHooks hooks;
  hooks.reintegrate = [&](const PassRequest&) -> Result<PassOutcome> {
    MutexLock lock(journal_mu_);
    auto through = journal_->freezeChanges(share_);
    if (!through) return tl::unexpected(through.error());
    auto log = journal_->changes(share_, 0);
    if (!log) return tl::unexpected(log.error());
    {
      std::lock_guard seen(seen_mu);
      for (const LoggedChange& lc : *log) {
        if (lc.seq <= *through) replayed.insert(lc.change.path);
      }
    }
    if (auto st = journal_->dropChangesThrough(share_, *through); !st) {
      return tl::unexpected(st.error());
    }
    return PassOutcome::done();
  };
  ShareStateOptions options;
  options.write_back_quiet = milliseconds(20);
  options.write_back_max_delay = milliseconds(100);
  make(SystemClock::instance(), std::move(hooks), options);
  probe_.setReachable();
  machine_->start();

  constexpr int kFiles = 200;
  std::thread writer([&] {
    for (int i = 0; i < kFiles; ++i) {
      Change ch{ChangeOp::kCreate, "f" + std::to_string(i), "", 0644, ""};
      {
        MutexLock lock(journal_mu_);
        ASSERT_TRUE(journal_->recordChanges(share_, std::span<const Change>(&ch, 1)));
      }
      machine_->localChangeNoted();
      if (i % 20 == 0) std::this_thread::sleep_for(milliseconds(5));
    }
  });
  writer.join();

  const auto give_up = std::chrono::steady_clock::now() + seconds(60);
  for (;;) {
    int64_t left = 0;
    {
      MutexLock lock(journal_mu_);
      auto n = journal_->changeCount(share_);
      ASSERT_TRUE(n) << n.error().toString();
      left = *n;
    }
    if (left == 0 && !machine_->status().local_changes_pending) break;
    ASSERT_LT(std::chrono::steady_clock::now(), give_up) << left << " changes never written back";
    std::this_thread::sleep_for(milliseconds(10));
  }
  machine_->stop();
  {
    std::lock_guard seen(seen_mu);
    EXPECT_EQ(replayed.size(), static_cast<size_t>(kFiles));
  }
  auto s = machine_->status();
  EXPECT_EQ(s.state, ShareState::kOnline);
  EXPECT_GE(s.passes, 2u);  // the reintegration, then at least one write-back
  EXPECT_EQ(record().state, ShareState::kOnline);
}

}  // namespace
}  // namespace hoard::sync

namespace hoard::sync {
namespace {

// The real probe (IdentityChecker on a real directory, through a
// fault-injecting RemoteFs) driving the machine: a hung mount ends in OFFLINE
// by the probe's deadline, expired credentials ask for authentication once,
// and the share comes back when the faults clear.
TEST_F(ShareStateJournalTest, RealProbeHungMountAndExpiredCredentials) {
  const std::string root = dir_ + "/remote";
  ASSERT_TRUE(fs::create_directories(root));
  auto pool = std::make_shared<remote::WorkerPool>(remote::WorkerPool::Options{2, 16, "sstest"});
  auto faulty =
      std::make_shared<remote::FaultyRemoteFs>(std::make_shared<remote::PosixRemoteFs>(root));
  remote::IdentityChecker::Options o;
  o.deadline = milliseconds(100);
  o.fs = faulty;
  remote::IdentityChecker::Options establish_options;
  establish_options.deadline = seconds(60);
  auto id = remote::IdentityChecker::establish(root, *pool, establish_options);
  ASSERT_TRUE(id) << id.error().toString();
  remote::IdentityChecker checker(root, *id, pool, o);

  std::vector<std::string> auth_messages;
  ShareStateHooks hooks;
  hooks.reintegrate = [this](const PassRequest&) -> Result<PassOutcome> {
    ++passes_;
    return PassOutcome::done();
  };
  hooks.onAuthenticationRequired = [&](const std::string& m) { auth_messages.push_back(m); };
  FakeClock clock;
  auto m = ShareStateMachine::create(*store_, checker, clock, std::move(hooks));
  ASSERT_TRUE(m) << m.error().toString();
  machine_ = std::move(*m);
  machine_->tick();
  ASSERT_EQ(record().state, ShareState::kOnline) << machine_->status().reason;

  remote::FaultRule hang;
  hang.op = remote::RemoteOp::kStatfs;
  hang.hang = true;
  int hang_rule = faulty->addRule(hang);
  machine_->probeNow();
  machine_->tick();  // returns by the probe's deadline
  EXPECT_EQ(record().state, ShareState::kOffline);
  EXPECT_NE(machine_->status().reason.find("hung"), std::string::npos) << machine_->status().reason;
  EXPECT_EQ(snapshots().size(), 1u);
  faulty->removeRule(hang_rule);
  for (int i = 0; i < 6000 && pool->stuckWorkers() > 0; ++i) {
    std::this_thread::sleep_for(milliseconds(10));
  }
  ASSERT_EQ(pool->stuckWorkers(), 0u);

  remote::FaultRule keys;
  keys.op = remote::RemoteOp::kStatfs;
  keys.err = EKEYEXPIRED;
  int keys_rule = faulty->addRule(keys);
  for (int i = 0; i < 3; ++i) {
    clock.advance(seconds(10));
    machine_->tick();
  }
  EXPECT_EQ(record().state, ShareState::kOffline);
  ASSERT_EQ(auth_messages.size(), 1u);
  EXPECT_NE(auth_messages[0].find(root), std::string::npos) << auth_messages[0];
  EXPECT_EQ(snapshots().size(), 1u);  // still the same disconnection

  faulty->removeRule(keys_rule);
  clock.advance(seconds(10));
  machine_->tick();
  EXPECT_EQ(record().state, ShareState::kOnline);
  EXPECT_EQ(passes_, 2);
  EXPECT_EQ(auth_messages.size(), 1u);
  machine_.reset();  // it refers to `checker`, which goes first
}

}  // namespace
}  // namespace hoard::sync
