// SPDX-License-Identifier: MIT
#include <gtest/gtest.h>
#include <sys/mount.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include "integration/remote/TempDir.h"
#include "remote/FaultyRemoteFs.h"
#include "remote/Identity.h"
#include "remote/PosixRemoteFs.h"
#include "remote/RemoteFs.h"

namespace hoard::remote {
namespace {

using namespace std::chrono_literals;
using testing::exists;
using testing::readFile;
using testing::TempDir;
using testing::writeFile;

// Mounts made by a test, unmounted (innermost first) when it ends.
class Mounts {
 public:
  ~Mounts() {
    while (!points_.empty()) unmount(std::string(points_.back()));
  }
  // 0 on success, else errno.
  int tmpfs(const std::string& dir) {
    return track(dir, ::mount("tmpfs", dir.c_str(), "tmpfs", 0, "size=4m"));
  }
  int bind(const std::string& src, const std::string& dir) {
    return track(dir, ::mount(src.c_str(), dir.c_str(), nullptr, MS_BIND, nullptr));
  }
  // Unmounts the topmost mount at `dir` (takes a copy: `dir` may name an element of points_).
  bool unmount(std::string dir) {
    for (auto it = points_.rbegin(); it != points_.rend(); ++it) {
      if (*it == dir) {
        points_.erase(std::next(it).base());
        break;
      }
    }
    if (::umount2(dir.c_str(), 0) == 0) return true;
    return ::umount2(dir.c_str(), MNT_DETACH) == 0;
  }

 private:
  int track(const std::string& dir, int rc) {
    if (rc != 0) return errno;
    points_.push_back(dir);
    return 0;
  }
  std::vector<std::string> points_;
};

#define MOUNT_OR_SKIP(expr)                                                                  \
  do {                                                                                       \
    int mount_err_ = (expr);                                                                 \
    if (mount_err_ == EPERM) {                                                               \
      GTEST_SKIP() << "SKIPPED: mount(2) refused with EPERM (not privileged to mount here)"; \
    }                                                                                        \
    ASSERT_EQ(mount_err_, 0) << #expr << ": " << std::strerror(mount_err_);                  \
  } while (0)

class IdentityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(base_.path().empty());
    root_ = base_ / "share";
    ASSERT_EQ(::mkdir(root_.c_str(), 0755), 0);
  }
  IdentityChecker::Options options() const {
    IdentityChecker::Options o;
    o.deadline = 60s;
    return o;
  }
  Result<RemoteIdentity> establish() {
    return IdentityChecker::establish(root_, *pool_, options());
  }
  ProbeResult probe(const RemoteIdentity& id) {
    IdentityChecker checker(root_, id, pool_, options());
    return checker.probe();
  }

  TempDir base_;
  std::string root_;
  std::shared_ptr<WorkerPool> pool_ =
      std::make_shared<WorkerPool>(WorkerPool::Options{2, 16, "idtest"});
  Mounts mounts_;  // declared last: unmounted before the temp dir is removed
};

TEST_F(IdentityTest, EstablishWritesMarkerAndTheSameDirectoryIsReachable) {
  auto id = establish();
  ASSERT_TRUE(id) << id.error().toString();
  EXPECT_EQ(id->marker_id.size(), 32u);
  EXPECT_EQ(readFile(root_ + "/.hoard-share-id"), id->marker_id + "\n");
  EXPECT_EQ(testing::countTemps(root_), 0u);
  EXPECT_FALSE(id->fsid.empty());
  EXPECT_FALSE(id->fstype.empty());
  EXPECT_EQ(id->mount_point.front(), '/');

  ProbeResult r = probe(*id);
  EXPECT_EQ(r.state, Reachability::kReachable) << r.reason;
  EXPECT_TRUE(r.reason.empty());

  // A second establish (another laptop, or a re-created share) keeps the id.
  auto again = establish();
  ASSERT_TRUE(again);
  EXPECT_EQ(again->marker_id, id->marker_id);
  EXPECT_EQ(*again, *id);
}

TEST_F(IdentityTest, MissingOrForeignMarkerIsOffline) {
  auto id = establish();
  ASSERT_TRUE(id);
  ASSERT_TRUE(writeFile(root_ + "/.hoard-share-id", "someoneelse\n"));
  ProbeResult foreign = probe(*id);
  EXPECT_EQ(foreign.state, Reachability::kOffline);
  EXPECT_NE(foreign.reason.find("someoneelse"), std::string::npos) << foreign.reason;

  ASSERT_EQ(::unlink((root_ + "/.hoard-share-id").c_str()), 0);
  ProbeResult missing = probe(*id);
  EXPECT_EQ(missing.state, Reachability::kOffline);
  EXPECT_NE(missing.reason.find("no share marker"), std::string::npos) << missing.reason;

  ASSERT_TRUE(writeFile(root_ + "/.hoard-share-id", "bad id with spaces\n"));
  ProbeResult garbled = probe(*id);
  EXPECT_EQ(garbled.state, Reachability::kOffline);
  auto refused = establish();
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code(), ErrorCode::kCorrupt);
}

TEST_F(IdentityTest, DifferentTmpfsMountedOverTheRootIsOffline) {
  ASSERT_TRUE(writeFile(root_ + "/data", "precious"));
  auto id = establish();
  ASSERT_TRUE(id);
  MOUNT_OR_SKIP(mounts_.tmpfs(root_));
  ProbeResult r = probe(*id);
  EXPECT_EQ(r.state, Reachability::kOffline);
  EXPECT_NE(r.reason.find("tmpfs"), std::string::npos) << r.reason;
  EXPECT_NE(r.reason.find("not mounted (or a different filesystem is)"), std::string::npos)
      << r.reason;
  ASSERT_TRUE(mounts_.unmount(root_));
  ProbeResult back = probe(*id);
  EXPECT_EQ(back.state, Reachability::kReachable) << back.reason;
  EXPECT_EQ(readFile(root_ + "/data"), "precious");
}

TEST_F(IdentityTest, BindMountOverTheRootIsOfflineEvenWithACopiedMarker) {
  auto id = establish();
  ASSERT_TRUE(id);
  const std::string other = base_ / "other";
  ASSERT_EQ(::mkdir(other.c_str(), 0755), 0);
  // Same filesystem, same marker bytes: only the mount tells them apart.
  ASSERT_TRUE(writeFile(other + "/.hoard-share-id", id->marker_id + "\n"));
  MOUNT_OR_SKIP(mounts_.bind(other, root_));
  ProbeResult r = probe(*id);
  EXPECT_EQ(r.state, Reachability::kOffline);
  EXPECT_NE(r.reason.find("mounted at '" + root_ + "'"), std::string::npos) << r.reason;
}

TEST_F(IdentityTest, UnmountedShareIsOfflineNeverEmpty) {
  MOUNT_OR_SKIP(mounts_.tmpfs(root_));
  ASSERT_TRUE(writeFile(root_ + "/report.txt", "work"));
  auto id = establish();
  ASSERT_TRUE(id) << id.error().toString();
  EXPECT_EQ(id->fstype, "tmpfs");
  EXPECT_EQ(id->mount_point, root_);
  ASSERT_EQ(probe(*id).state, Reachability::kReachable);

  // The share goes away and leaves the empty mountpoint behind.
  ASSERT_TRUE(mounts_.unmount(root_));
  EXPECT_FALSE(exists(root_ + "/report.txt"));
  ProbeResult r = probe(*id);
  EXPECT_EQ(r.state, Reachability::kOffline) << "an empty mountpoint must not read as empty";
  EXPECT_NE(r.reason.find("share was recorded on tmpfs"), std::string::npos) << r.reason;

  // A fresh tmpfs at the same place, even with the marker copied in, is a
  // different filesystem.
  MOUNT_OR_SKIP(mounts_.tmpfs(root_));
  ASSERT_TRUE(writeFile(root_ + "/.hoard-share-id", id->marker_id + "\n"));
  ProbeResult other = probe(*id);
  EXPECT_EQ(other.state, Reachability::kOffline);
  EXPECT_NE(other.reason.find("different filesystem"), std::string::npos) << other.reason;
}

TEST_F(IdentityTest, RootGoneIsOffline) {
  auto id = establish();
  ASSERT_TRUE(id);
  ASSERT_EQ(::unlink((root_ + "/.hoard-share-id").c_str()), 0);
  ASSERT_EQ(::rmdir(root_.c_str()), 0);
  ProbeResult r = probe(*id);
  EXPECT_EQ(r.state, Reachability::kOffline);
  EXPECT_NE(r.reason.find("statvfs"), std::string::npos) << r.reason;
  ASSERT_TRUE(r.error.has_value());
  EXPECT_EQ(r.error->code(), ErrorCode::kNotFound);
}

TEST_F(IdentityTest, ProbeNeverBlocksWhenEveryWorkerIsStuck) {
  auto id = establish();
  ASSERT_TRUE(id);
  auto pool = std::make_shared<WorkerPool>(WorkerPool::Options{1, 4, "stuck"});
  struct Gate {
    std::mutex mu;
    std::condition_variable cv;
    bool open = false;
  };
  auto gate = std::make_shared<Gate>();
  auto hung = pool->run<int>("hung mount", 20ms, [gate](const ProgressFn&) -> Result<int> {
    std::unique_lock lock(gate->mu);
    gate->cv.wait_for(lock, 10min, [&] { return gate->open; });
    return 0;
  });
  ASSERT_FALSE(hung);
  IdentityChecker::Options o = options();
  o.deadline = 10min;  // only the fail-fast path can answer
  IdentityChecker checker(root_, *id, pool, o);
  ProbeResult r = checker.probe();
  EXPECT_EQ(r.state, Reachability::kOffline);
  EXPECT_NE(r.reason.find("all 1 remote workers are blocked on a hung mount"), std::string::npos)
      << r.reason;
  {
    std::lock_guard lock(gate->mu);
    gate->open = true;
    gate->cv.notify_all();
  }
  for (int i = 0; i < 6000 && pool->stuckWorkers() > 0; ++i) std::this_thread::sleep_for(10ms);
  ProbeResult back = checker.probe();
  EXPECT_EQ(back.state, Reachability::kReachable) << back.reason;
}

TEST_F(IdentityTest, ExpiredCredentialsAreAuthExpired) {
  auto id = establish();
  ASSERT_TRUE(id);
  auto faulty = std::make_shared<FaultyRemoteFs>(std::make_shared<PosixRemoteFs>(root_));
  IdentityChecker::Options o = options();
  o.fs = faulty;
  IdentityChecker checker(root_, *id, pool_, o);
  ASSERT_EQ(checker.probe().state, Reachability::kReachable);

  FaultRule keys;
  keys.op = RemoteOp::kStatfs;
  keys.err = EKEYEXPIRED;
  int rule = faulty->addRule(keys);
  ProbeResult expired = checker.probe();
  EXPECT_EQ(expired.state, Reachability::kAuthExpired) << expired.reason;
  EXPECT_NE(expired.reason.find(root_), std::string::npos) << expired.reason;
  faulty->removeRule(rule);

  FaultRule denied;
  denied.op = RemoteOp::kReadSmallFile;
  denied.err = EACCES;
  faulty->addRule(denied);
  EXPECT_EQ(checker.probe().state, Reachability::kAuthExpired);
  faulty->clearRules();
  EXPECT_EQ(checker.probe().state, Reachability::kReachable);
}

TEST_F(IdentityTest, HungMountIsOfflineByDeadlineThenRecovers) {
  auto id = establish();
  ASSERT_TRUE(id);
  auto faulty = std::make_shared<FaultyRemoteFs>(std::make_shared<PosixRemoteFs>(root_));
  IdentityChecker::Options o = options();
  o.fs = faulty;
  o.deadline = 50ms;
  IdentityChecker checker(root_, *id, pool_, o);
  FaultRule hang;
  hang.op = RemoteOp::kStatfs;
  hang.hang = true;  // until released: only the deadline can end the probe
  faulty->addRule(hang);
  ProbeResult r = checker.probe();
  EXPECT_EQ(r.state, Reachability::kOffline);
  EXPECT_NE(r.reason.find("the mount looks hung"), std::string::npos) << r.reason;
  ASSERT_TRUE(r.error.has_value());
  EXPECT_EQ(r.error->code(), ErrorCode::kTimeout);
  EXPECT_EQ(faulty->hangingCalls(), 1u);

  faulty->clearRules();
  for (int i = 0; i < 6000 && pool_->stuckWorkers() > 0; ++i) std::this_thread::sleep_for(10ms);
  ASSERT_EQ(pool_->stuckWorkers(), 0u);
  IdentityChecker::Options patient = options();
  patient.fs = faulty;
  IdentityChecker again(root_, *id, pool_, patient);
  ProbeResult back = again.probe();
  EXPECT_EQ(back.state, Reachability::kReachable) << back.reason;
}

TEST_F(IdentityTest, EstablishOnAHungMountTimesOutAndWritesNothing) {
  auto faulty = std::make_shared<FaultyRemoteFs>(std::make_shared<PosixRemoteFs>(root_));
  FaultRule hang;
  hang.op = RemoteOp::kStatfs;
  hang.hang = true;
  hang.err_after_hang = ENOTCONN;
  faulty->addRule(hang);
  IdentityChecker::Options o = options();
  o.fs = faulty;
  o.deadline = 50ms;
  auto id = IdentityChecker::establish(root_, *pool_, o);
  ASSERT_FALSE(id);
  EXPECT_EQ(id.error().code(), ErrorCode::kTimeout);
  faulty->clearRules();
  for (int i = 0; i < 6000 && pool_->stuckWorkers() > 0; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_FALSE(exists(root_ + "/.hoard-share-id"));
}

TEST_F(IdentityTest, MountPointWithSpacesNewlinesAndBackslashes) {
  // The kernel escapes these in mountinfo (\040, \012, \134); the identity
  // must still find the mount and match it.
  root_ = base_ / "odd share\nname\\x";
  ASSERT_EQ(::mkdir(root_.c_str(), 0755), 0);
  MOUNT_OR_SKIP(mounts_.tmpfs(root_));
  auto id = establish();
  ASSERT_TRUE(id) << id.error().toString();
  EXPECT_EQ(id->mount_point, root_);
  EXPECT_EQ(id->fstype, "tmpfs");
  EXPECT_EQ(probe(*id).state, Reachability::kReachable);
  ASSERT_TRUE(mounts_.unmount(root_));
  EXPECT_EQ(probe(*id).state, Reachability::kOffline);
}

}  // namespace
}  // namespace hoard::remote
