// SPDX-License-Identifier: MIT
// A pass over many files keeps many remote calls in flight: preload, pulls,
// pushes and the hashes of files changed on both sides are fetched at once
// (ReconcileOptions::remote_in_flight), not one after the other, each call
// still under its deadline. The remote is a real folder behind the daemon's
// stack (DeadlineRemoteFs over a counting and a delaying decorator): every
// fetch and replace takes 60 ms, as over a slow link, and CountingRemoteFs
// says how many ran at once and how many were made. Also: the calls a pass
// no longer makes (the remote's xattrs of a file it has just written, a
// remote without xattrs asked once per file).

#include <sys/xattr.h>

#include <chrono>
#include <memory>
#include <string>

#include "integration/sync/ReconcilerFixture.h"
#include "remote/CountingRemoteFs.h"
#include "remote/DeadlineRemoteFs.h"
#include "remote/FaultyRemoteFs.h"
#include "remote/WorkerPool.h"

namespace hoard::sync {
namespace {

using namespace std::chrono_literals;
using remote::RemoteOp;

constexpr int kFiles = 48;
// At least this many calls of one kind at once: a pass that makes them one
// (or four) at a time cannot reach it.
constexpr uint64_t kConcurrent = 12;

class ParallelPassTest : public ReconcilerTest {
 protected:
  void SetUp() override {
    ReconcilerTest::SetUp();
    if (HasFatalFailure()) return;
    faulty_ = std::make_shared<remote::FaultyRemoteFs>(
        std::make_shared<remote::PosixRemoteFs>(remote_root_));
    counting_ = std::make_shared<remote::CountingRemoteFs>(faulty_);
    pool_ = std::make_shared<remote::WorkerPool>(
        remote::WorkerPool::Options{32, 1024, "paralleltest"});
    deadline_ = std::make_unique<remote::DeadlineRemoteFs>(counting_, pool_,
                                                           remote::DeadlineRemoteFs::Deadlines{});
    reconciler_ = std::make_unique<Reconciler>(ShareSides{
        *journal_, mu_, share_, *local_fs_, *deadline_, cache_, *store_, store::KeepPolicy{},
        "laptop", nullptr, nullptr});
  }
  void slowLink() {
    for (RemoteOp op : {RemoteOp::kFetchFile, RemoteOp::kReplaceFile}) {
      remote::FaultRule r;
      r.op = op;
      r.delay = 60ms;
      faulty_->addRule(r);
    }
  }
  // Names that sort around each other ('dir', 'dir-x', 'dir.bak'), bytes
  // without a final newline, one non-UTF-8 name.
  static std::string name(int i) {
    static const char* kDirs[] = {"dir", "dir-x", "dir.bak", "dir 2"};
    std::string leaf = i == 7 ? std::string("caf\xe9-") + std::to_string(i) : "f" + std::to_string(i);
    return std::string(kDirs[i % 4]) + "/" + leaf + ".txt";
  }
  static std::string bytes(int i, const std::string& tag) {
    return tag + " " + std::to_string(i) + "\r\nno final newline";
  }
  remote::RemoteCallCounts measure(ReconcileReport& report) {
    auto before = counting_->counts();
    counting_->resetPeak();
    report = sync();
    EXPECT_FALSE(report.stopped) << report.stopped->toString();
    return counting_->counts() - before;
  }
  void seedAll() {
    std::map<std::string, std::string> files;
    for (int i = 0; i < kFiles; ++i) files[name(i)] = bytes(i, "base");
    seed(files);
  }

  std::shared_ptr<remote::FaultyRemoteFs> faulty_;
  std::shared_ptr<remote::CountingRemoteFs> counting_;
  std::shared_ptr<remote::WorkerPool> pool_;
  std::unique_ptr<remote::DeadlineRemoteFs> deadline_;
};

TEST_F(ParallelPassTest, PreloadFetchesManyFilesAtOnce) {
  for (int i = 0; i < kFiles; ++i) remote(name(i), bytes(i, "server"));
  slowLink();
  ReconcileReport r;
  auto c = measure(r);
  EXPECT_EQ(r.hoarded, static_cast<size_t>(kFiles));
  EXPECT_EQ(c.of(RemoteOp::kFetchFile), static_cast<uint64_t>(kFiles)) << c.summary();
  EXPECT_GE(c.peakOf(RemoteOp::kFetchFile), kConcurrent) << c.summary();
  for (int i = 0; i < kFiles; ++i) EXPECT_EQ(local(name(i)), bytes(i, "server")) << name(i);
  expectConverged();
}

TEST_F(ParallelPassTest, RemoteEditsArePulledManyAtOnce) {
  seedAll();
  if (HasFatalFailure()) return;
  for (int i = 0; i < kFiles; ++i) remote(name(i), bytes(i, "colleague"));
  slowLink();
  ReconcileReport r;
  auto c = measure(r);
  EXPECT_EQ(r.pulled, static_cast<size_t>(kFiles));
  EXPECT_EQ(c.of(RemoteOp::kFetchFile), static_cast<uint64_t>(kFiles)) << c.summary();
  EXPECT_GE(c.peakOf(RemoteOp::kFetchFile), kConcurrent) << c.summary();
  for (int i = 0; i < kFiles; ++i) EXPECT_EQ(local(name(i)), bytes(i, "colleague")) << name(i);
  expectConverged();
}

TEST_F(ParallelPassTest, LocalEditsArePushedManyAtOnceWithoutAskingForTheNewFilesXattrs) {
  seedAll();
  if (HasFatalFailure()) return;
  for (int i = 0; i < kFiles; ++i) local(name(i), bytes(i, "mine"));
  slowLink();
  ReconcileReport r;
  auto c = measure(r);
  EXPECT_EQ(r.pushed, static_cast<size_t>(kFiles));
  EXPECT_EQ(c.of(RemoteOp::kReplaceFile), static_cast<uint64_t>(kFiles)) << c.summary();
  EXPECT_GE(c.peakOf(RemoteOp::kReplaceFile), kConcurrent) << c.summary();
  // The replaced file is hoard's own fresh temporary: nothing to list there.
  EXPECT_EQ(c.of(RemoteOp::kListXattrs), 0u) << c.summary();
  for (int i = 0; i < kFiles; ++i) EXPECT_EQ(remote(name(i)), bytes(i, "mine")) << name(i);
  expectConverged();
}

TEST_F(ParallelPassTest, BothSidesEditedAlikeAreHashedAtOnceAndReadOnce) {
  seedAll();
  if (HasFatalFailure()) return;
  for (int i = 0; i < kFiles; ++i) {
    local(name(i), bytes(i, "same"));
    remote(name(i), bytes(i, "same"));
  }
  slowLink();
  ReconcileReport r;
  auto c = measure(r);
  EXPECT_EQ(r.agreed, static_cast<size_t>(kFiles));
  EXPECT_TRUE(openConflicts().empty());
  // Each remote file read once (ahead of the plan), all at about once.
  EXPECT_EQ(c.of(RemoteOp::kFetchFile), static_cast<uint64_t>(kFiles)) << c.summary();
  EXPECT_GE(c.peakOf(RemoteOp::kFetchFile), kConcurrent) << c.summary();
  EXPECT_EQ(c.of(RemoteOp::kReplaceFile), 0u) << c.summary();
  expectConverged();
}

TEST_F(ParallelPassTest, BothSidesEditedDifferentlyAreConflictsWithBothVersionsKept) {
  seedAll();
  if (HasFatalFailure()) return;
  for (int i = 0; i < kFiles; ++i) {
    local(name(i), bytes(i, "mine"));
    remote(name(i), bytes(i, "theirs"));
  }
  slowLink();
  ReconcileReport r;
  auto c = measure(r);
  EXPECT_EQ(r.new_conflicts.size(), static_cast<size_t>(kFiles));
  EXPECT_GE(c.peakOf(RemoteOp::kFetchFile), kConcurrent) << c.summary();
  EXPECT_EQ(c.of(RemoteOp::kReplaceFile), 0u) << c.summary();
  for (int i = 0; i < kFiles; ++i) {
    EXPECT_EQ(local(name(i)), bytes(i, "mine")) << name(i);
    EXPECT_EQ(remote(name(i)), bytes(i, "theirs")) << name(i);
  }
}

// A pass with nothing to do costs one listing per directory and one stat
// per entry, nothing more: no fetch, no identity probe through the share's
// filesystem calls, no xattrs.
TEST_F(ParallelPassTest, ANoChangePassListsEachDirectoryAndStatsEachEntryOnce) {
  seedAll();
  if (HasFatalFailure()) return;
  ReconcileReport r;
  auto c = measure(r);
  EXPECT_TRUE(r.clean());
  const uint64_t dirs = 4, entries = kFiles + dirs;
  std::cerr << "[measure] no-change pass over " << entries << " entries: " << c.summary() << "\n";
  EXPECT_EQ(c.of(RemoteOp::kListDir), dirs + 1) << c.summary();  // and the root
  EXPECT_EQ(c.of(RemoteOp::kLstat), entries) << c.summary();
  EXPECT_EQ(c.of(RemoteOp::kFetchFile), 0u) << c.summary();
  EXPECT_EQ(c.of(RemoteOp::kListXattrs), 0u) << c.summary();
  EXPECT_LE(c.total(), 2 * (dirs + 1) + entries + 2) << c.summary();
}

TEST_F(ParallelPassTest, ARemoteWithoutXattrsIsAskedOncePerPass) {
  for (int i = 0; i < kFiles; ++i) remote(name(i), bytes(i, "server"));
  remote::FaultRule no_xattrs;
  no_xattrs.op = RemoteOp::kListXattrs;
  no_xattrs.err = EOPNOTSUPP;  // sshfs, many NFS exports
  faulty_->addRule(no_xattrs);
  ReconcileReport r;
  auto c = measure(r);
  EXPECT_EQ(r.hoarded, static_cast<size_t>(kFiles));
  // Up to one per fetch already running when the first answer came.
  EXPECT_LE(c.of(RemoteOp::kListXattrs), 32u) << c.summary();
  EXPECT_LT(c.of(RemoteOp::kListXattrs), static_cast<uint64_t>(kFiles)) << c.summary();
  expectConverged();
}

TEST_F(ParallelPassTest, UserXattrsStillTravelBothWays) {
  remote("dir/a.txt", "server");
  if (::lsetxattr((remote_root_ + "/dir/a.txt").c_str(), "user.colour", "red", 3, 0) != 0)
    GTEST_SKIP() << "no user xattrs on " << remote_root_;
  sync();
  char buf[16] = {};
  ASSERT_EQ(::lgetxattr((cache_ + "/dir/a.txt").c_str(), "user.colour", buf, sizeof buf), 3);
  EXPECT_EQ(std::string(buf, 3), "red");
  local("dir-x/b.txt", "mine");
  ASSERT_EQ(::lsetxattr((cache_ + "/dir-x/b.txt").c_str(), "user.tag", "blue", 4, 0), 0);
  sync();
  char out[16] = {};
  ASSERT_EQ(::lgetxattr((remote_root_ + "/dir-x/b.txt").c_str(), "user.tag", out, sizeof out), 4);
  EXPECT_EQ(std::string(out, 4), "blue");
  expectConverged();
}

TEST_F(ParallelPassTest, AnAttributeAloneSetOrRemovedInTheCacheReachesTheRemote) {
  remote("dir/a.txt", "server");
  remote("dir-x/b.txt", "other");
  if (::lsetxattr((remote_root_ + "/dir-x/b.txt").c_str(), "user.keep", "1", 1, 0) != 0)
    GTEST_SKIP() << "no user xattrs on " << remote_root_;
  sync();
  // setfattr alone: bytes, mode and mtime as they were, only the inode's ctime moved.
  ASSERT_EQ(::lsetxattr((cache_ + "/dir/a.txt").c_str(), "user.tag", "blue", 4, 0), 0);
  ASSERT_EQ(::lremovexattr((cache_ + "/dir-x/b.txt").c_str(), "user.keep"), 0);
  sync();
  char out[16] = {};
  ASSERT_EQ(::lgetxattr((remote_root_ + "/dir/a.txt").c_str(), "user.tag", out, sizeof out), 4);
  EXPECT_EQ(std::string(out, 4), "blue");
  EXPECT_LT(::lgetxattr((remote_root_ + "/dir-x/b.txt").c_str(), "user.keep", out, sizeof out), 0);
  EXPECT_EQ(errno, ENODATA) << "the removal reached the remote";
  expectConverged();
  // The next pass finds nothing to do.
  sync();
  EXPECT_EQ(::lgetxattr((remote_root_ + "/dir/a.txt").c_str(), "user.tag", out, sizeof out), 4);
  expectConverged();
}

}  // namespace
}  // namespace hoard::sync
