// SPDX-License-Identifier: MIT
// The remote layer with the link really cut: a silent drop (blackhole route in
// sshd's network namespace), a hung sftp server (SIGSTOP) and a killed sshd.
// What is asserted is the outcome a user relies on (the call returns, the
// probe says OFFLINE, the server's bytes are whole), never how fast: elapsed
// times are only printed.

#include <gtest/gtest.h>
#include <sys/statfs.h>

#include <atomic>
#include <chrono>
#include <iostream>
#include <memory>
#include <string>

#include "common/UniqueFd.h"
#include "e2e/SshfsFixture.h"
#include "remote/DeadlineRemoteFs.h"
#include "remote/Identity.h"
#include "remote/PosixRemoteFs.h"
#include "remote/WorkerPool.h"

namespace hoard::e2e {
namespace {

using remote::DeadlineRemoteFs;
using remote::Expect;
using remote::IdentityChecker;
using remote::PosixRemoteFs;
using remote::Reachability;
using Clock = std::chrono::steady_clock;

double secondsSince(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// What a remote call may answer while the link is gone: the pool's deadline
// (kTimeout), or sshfs itself giving up once ServerAlive declared the
// connection dead (EIO -> kIo, ENOTCONN -> kOffline). Never success, never
// kNotFound (which would read as "deleted").
bool isLinkFailure(ErrorCode c) {
  return c == ErrorCode::kTimeout || c == ErrorCode::kOffline || c == ErrorCode::kIo;
}

class SshfsLinkCutTest : public SshfsTest {
 protected:
  void SetUp() override {
    SshfsTest::SetUp();
    if (HasFatalFailure()) return;
    auto id = IdentityChecker::establish(mountPath(), *probe_pool_, probeOptions());
    ASSERT_TRUE(id) << id.error().toString();
    checker_ = std::make_unique<IdentityChecker>(mountPath(), *id, probe_pool_, probeOptions());
  }
  void TearDown() override {
    // Abandoned calls return once the link is back; wait for them so none
    // outlives the test (and the mount) in a worker.
    SshfsTest::TearDown();
    EXPECT_TRUE(waitFor([&] { return pool_->stuckWorkers() == 0; }, 60s))
        << pool_->stuckWorkers() << " workers still stuck after the link came back";
    EXPECT_TRUE(waitFor([&] { return probe_pool_->stuckWorkers() == 0; }, 60s));
  }
  static IdentityChecker::Options probeOptions() {
    IdentityChecker::Options o;
    o.deadline = 2s;
    return o;
  }

  void replaceInterrupted(bool hang);

  std::shared_ptr<remote::WorkerPool> pool_ =
      std::make_shared<remote::WorkerPool>(remote::WorkerPool::Options{4, 64, "e2e-remote"});
  std::shared_ptr<remote::WorkerPool> probe_pool_ =
      std::make_shared<remote::WorkerPool>(remote::WorkerPool::Options{2, 16, "e2e-probe"});
  std::shared_ptr<PosixRemoteFs> posix_ = std::make_shared<PosixRemoteFs>(mountPath());
  DeadlineRemoteFs fs_{posix_, pool_, DeadlineRemoteFs::Deadlines{2000ms, 2000ms}};
  std::unique_ptr<IdentityChecker> checker_;
};

TEST_F(SshfsLinkCutTest, SilentCutReturnsWithinDeadlineAndRecovers) {
  ASSERT_TRUE(writeFileBytes(serverPath("before.txt"), "written before the cut"));
  ASSERT_EQ(checker_->probe().state, Reachability::kReachable);

  ASSERT_TRUE(harness().cutLink());
  const auto cut_at = Clock::now();

  // A path the mount has never looked up: no cache can answer for it.
  auto st = fs_.lstat("made-while-cut.txt");
  ASSERT_FALSE(st) << "lstat succeeded through a cut link";
  EXPECT_TRUE(isLinkFailure(st.error().code())) << st.error().toString();
  std::cout << "[measure] first lstat after the cut returned " << errorCodeName(st.error().code())
            << " after " << secondsSince(cut_at) << " s\n";

  auto probe = checker_->probe();
  EXPECT_EQ(probe.state, Reachability::kOffline) << probe.reason;
  std::cout << "[measure] probe offline after " << secondsSince(cut_at) << " s: " << probe.reason
            << "\n";

  // How long until sshfs itself notices (ServerAlive) and fails a call rather
  // than the deadline cutting it off. Measured on a pool with a long deadline.
  auto slow_pool =
      std::make_shared<remote::WorkerPool>(remote::WorkerPool::Options{1, 4, "e2e-raw"});
  std::string mp = mountPath();
  auto raw =
      slow_pool->run<bool>("raw statfs", 120s, [mp](const remote::ProgressFn&) -> Result<bool> {
        struct statfs sf;
        if (::statfs(mp.c_str(), &sf) != 0) return failErrno(errno, "statfs " + mp);
        return true;
      });
  if (harness().cutMode() == SshfsHarness::CutMode::kBlackholeRoute) {
    EXPECT_FALSE(raw) << "statfs through a blackholed link succeeded";
  }
  std::cout << "[measure] raw statfs through the cut link "
            << (raw ? std::string("succeeded") : raw.error().toString()) << " after "
            << secondsSince(cut_at) << " s\n";

  // Third-party edits on the server while we are cut off.
  ASSERT_TRUE(writeFileBytes(serverPath("made-while-cut.txt"), "their new file"));
  ASSERT_TRUE(writeFileBytes(serverPath("before.txt"), "their change while we were away"));

  UniqueFd mine(memfdWith("my edit"));
  auto push = fs_.replaceFile("mine.txt", mine.get(), Expect::absent(), {}, {});
  ASSERT_FALSE(push) << "a replace went through a cut link";
  EXPECT_TRUE(isLinkFailure(push.error().code())) << push.error().toString();
  EXPECT_FALSE(pathExists(serverPath("mine.txt")));

  ASSERT_TRUE(harness().restoreLink());
  const auto restored_at = Clock::now();
  ASSERT_TRUE(harness().waitUntilReachable()) << harness().logs();
  std::cout << "[measure] reachable again " << secondsSince(restored_at)
            << " s after the link was restored\n";
  EXPECT_TRUE(
      waitFor([&] { return checker_->probe().state == Reachability::kReachable; }, 60s, 200ms));

  auto again = fs_.lstat("made-while-cut.txt");
  ASSERT_TRUE(again) << again.error().toString();
  EXPECT_EQ(again->meta.size, std::string("their new file").size());
  UniqueFd out(memfdWith(""));
  auto fetched = fs_.fetchFile("before.txt", out.get(), {});
  ASSERT_TRUE(fetched) << fetched.error().toString();
  EXPECT_EQ(readFd(out.get()), "their change while we were away");

  // The abandoned replace may still land once the link is back (its worker
  // was only waiting): the engine must re-check, not assume it did nothing.
  // Either way the file is absent or whole, and restarting the step works.
  ASSERT_TRUE(waitFor([&] { return pool_->stuckWorkers() == 0; }, 60s));
  std::string landed = readFileBytes(serverPath("mine.txt"));
  EXPECT_TRUE(landed == "<missing>" || landed == "my edit") << landed;
  std::cout << "[measure] the abandoned replace "
            << (landed == "my edit" ? "landed" : "did not land") << " after the link came back\n";
  auto now = fs_.lstat("mine.txt");
  Expect expect = now ? Expect::version(now->data_version) : Expect::absent();
  auto retry = fs_.replaceFile("mine.txt", mine.get(), expect, {}, {});
  ASSERT_TRUE(retry) << retry.error().toString();
  EXPECT_EQ(readFileBytes(serverPath("mine.txt")), "my edit");
  EXPECT_EQ(countTemps(serverPath()), 0u);
  EXPECT_EQ(readFileBytes(serverPath("made-while-cut.txt")), "their new file");
}

TEST_F(SshfsLinkCutTest, HungServerCostsAWorkerNotTheCaller) {
  ASSERT_TRUE(harness().hangServer());
  // sshfs keeps the connection (keepalives are answered) and waits for the
  // sftp server for as long as it takes: only the deadline can return this.
  auto st = fs_.lstat("asked-while-hung.txt");
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code(), ErrorCode::kTimeout) << st.error().toString();
  EXPECT_GE(pool_->stuckWorkers(), 1u);

  auto probe = checker_->probe();
  EXPECT_EQ(probe.state, Reachability::kOffline) << probe.reason;

  UniqueFd mine(memfdWith("pushed while hung"));
  auto push = fs_.replaceFile("hung.txt", mine.get(), Expect::absent(), {}, {});
  ASSERT_FALSE(push);
  EXPECT_TRUE(push.error().code() == ErrorCode::kTimeout ||
              push.error().code() == ErrorCode::kOffline)
      << push.error().toString();
  // Nothing was renamed into place while the server was stopped.
  EXPECT_FALSE(pathExists(serverPath("hung.txt")));

  ASSERT_TRUE(harness().resumeServer());
  ASSERT_TRUE(harness().waitUntilReachable()) << harness().logs();
  EXPECT_TRUE(waitFor([&] { return pool_->stuckWorkers() == 0; }, 60s))
      << "workers never came back from the hung calls";
  EXPECT_EQ(checker_->probe().state, Reachability::kReachable);

  // The abandoned replace may have finished on its worker once the server
  // resumed; either way the file is whole, and a retry under the right
  // expectation succeeds.
  std::string now = readFileBytes(serverPath("hung.txt"));
  EXPECT_TRUE(now == "<missing>" || now == "pushed while hung") << now;
  auto retry = fs_.replaceFile("hung.txt", mine.get(), Expect::anything(), {}, {});
  ASSERT_TRUE(retry) << retry.error().toString();
  EXPECT_EQ(readFileBytes(serverPath("hung.txt")), "pushed while hung");
}

// A large replace with the link cut in the middle of the transfer (from its
// progress callback): the server file is the old one or the new one, whole,
// at every moment; at worst a `.hoard-tmp-*` is left beside it.
void SshfsLinkCutTest::replaceInterrupted(bool hang) {
  SshfsHarness& h = harness();
  DeadlineRemoteFs& fs = fs_;
  remote::WorkerPool& pool = *pool_;
  const std::string old_bytes(300000, 'o');
  std::string new_bytes;
  new_bytes.reserve(48u << 20);
  for (size_t i = 0; new_bytes.size() < (48u << 20); ++i) {
    new_bytes += "line " + std::to_string(i) + " of the new version\n";
  }
  ASSERT_TRUE(writeFileBytes(h.serverPath("big.dat"), old_bytes));
  auto base = fs.lstat("big.dat");
  ASSERT_TRUE(base) << base.error().toString();

  UniqueFd src(memfdWith(new_bytes));
  ASSERT_TRUE(src);
  bool cut = false;
  uint64_t cut_at_bytes = 0;
  auto progress = [&](uint64_t done) {
    if (!cut && done >= (2u << 20)) {
      cut = true;
      cut_at_bytes = done;
      auto st = hang ? h.hangServer() : h.cutLink();
      EXPECT_TRUE(st) << st.error().toString();
    }
    return true;
  };
  auto r = fs.replaceFile("big.dat", src.get(), Expect::version(base->data_version), {}, progress);
  ASSERT_TRUE(cut) << "the transfer finished before it reported 2 MiB of progress";
  std::cout << "[measure] cut at " << cut_at_bytes << " of " << new_bytes.size()
            << " bytes; replace " << (r ? std::string("completed") : r.error().toString()) << "\n";
  if (r) {
    EXPECT_EQ(readFileBytes(h.serverPath("big.dat")), new_bytes);
  } else {
    EXPECT_TRUE(isLinkFailure(r.error().code())) << r.error().toString();
  }
  auto whole = [&] {
    std::string now = readFileBytes(h.serverPath("big.dat"));
    return now == old_bytes || now == new_bytes;
  };
  EXPECT_TRUE(whole()) << "server file is neither version while the link is cut";
  EXPECT_LE(countTemps(h.serverPath()), 1u);

  ASSERT_TRUE(hang ? h.resumeServer() : h.restoreLink());
  ASSERT_TRUE(h.waitUntilReachable()) << h.logs();
  EXPECT_TRUE(waitFor([&] { return pool.stuckWorkers() == 0; }, 60s));
  EXPECT_TRUE(whole()) << "server file is neither version after the link came back";
  EXPECT_LE(countTemps(h.serverPath()), 1u);

  // Restart the step, as the engine would: under the version now on the server.
  auto current = fs.lstat("big.dat");
  ASSERT_TRUE(current) << current.error().toString();
  auto retry = fs.replaceFile("big.dat", src.get(), Expect::version(current->data_version), {}, {});
  ASSERT_TRUE(retry) << retry.error().toString();
  EXPECT_EQ(readFileBytes(h.serverPath("big.dat")), new_bytes);
  auto removed = fs.removeStaleTemps("");
  ASSERT_TRUE(removed) << removed.error().toString();
  EXPECT_EQ(countTemps(h.serverPath()), 0u);
}

TEST_F(SshfsLinkCutTest, ReplaceInterruptedBySilentCutNeverTruncates) {
  replaceInterrupted(/*hang=*/false);
}

TEST_F(SshfsLinkCutTest, ReplaceInterruptedByHungServerNeverTruncates) {
  replaceInterrupted(/*hang=*/true);
}

TEST_F(SshfsLinkCutTest, KilledServerIsOfflineThenSshfsReconnects) {
  ASSERT_TRUE(writeFileBytes(serverPath("survivor.txt"), "on the server"));
  ASSERT_TRUE(harness().killServer());
  auto st = fs_.lstat("never-seen.txt");
  ASSERT_FALSE(st);
  EXPECT_TRUE(isLinkFailure(st.error().code())) << st.error().toString();
  EXPECT_EQ(checker_->probe().state, Reachability::kOffline);
  // The mount stays (reconnect): nothing looks deleted.
  EXPECT_TRUE(harness().isMounted());

  ASSERT_TRUE(harness().startServer()) << harness().logs();
  ASSERT_TRUE(harness().waitUntilReachable()) << harness().logs();
  EXPECT_TRUE(
      waitFor([&] { return checker_->probe().state == Reachability::kReachable; }, 60s, 200ms));
  UniqueFd out(memfdWith(""));
  auto fetched = fs_.fetchFile("survivor.txt", out.get(), {});
  ASSERT_TRUE(fetched) << fetched.error().toString();
  EXPECT_EQ(readFd(out.get()), "on the server");
}

}  // namespace
}  // namespace hoard::e2e
