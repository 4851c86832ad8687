// SPDX-License-Identifier: MIT
// The share identity check on a real sshfs mount: an unmounted share leaves an
// empty directory behind, and the probe must call that OFFLINE, never "empty".

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "e2e/SshfsFixture.h"
#include "remote/Identity.h"
#include "remote/PosixRemoteFs.h"
#include "remote/WorkerPool.h"

namespace hoard::e2e {
namespace {

using remote::IdentityChecker;
using remote::Reachability;
using remote::reachabilityName;

class SshfsIdentityTest : public SshfsTest {
 protected:
  std::shared_ptr<remote::WorkerPool> pool_ =
      std::make_shared<remote::WorkerPool>(remote::WorkerPool::Options{1, 16, "e2e-identity"});
  IdentityChecker::Options options() const {
    IdentityChecker::Options o;
    o.deadline = 5s;
    return o;
  }
};

TEST_F(SshfsIdentityTest, UnmountedShareIsOfflineNeverEmpty) {
  auto id = IdentityChecker::establish(mountPath(), *pool_, options());
  ASSERT_TRUE(id) << id.error().toString();
  EXPECT_EQ(id->fstype, "fuse.sshfs");
  EXPECT_EQ(id->mount_point, mountPath());
  EXPECT_EQ(id->mount_source.substr(id->mount_source.find(':') + 1), harness().exportPath());
  // The marker went through sshfs to the server.
  EXPECT_EQ(readFileBytes(serverPath(std::string(remote::kMarkerName))), id->marker_id + "\n");

  IdentityChecker checker(mountPath(), *id, pool_, options());
  auto up = checker.probe();
  EXPECT_EQ(up.state, Reachability::kReachable) << up.reason;

  ASSERT_TRUE(writeFileBytes(serverPath("kept.txt"), "still here"));
  ASSERT_TRUE(harness().unmount()) << harness().logs();
  ASSERT_FALSE(harness().isMounted());
  // What a naive scan would see: an empty directory.
  EXPECT_TRUE(listNames(mountPath()).empty());
  remote::PosixRemoteFs naive(mountPath());
  auto naive_list = naive.listDir("");
  ASSERT_TRUE(naive_list);
  EXPECT_TRUE(naive_list->empty());

  auto down = checker.probe();
  EXPECT_EQ(down.state, Reachability::kOffline) << reachabilityName(down.state);
  EXPECT_NE(down.reason.find(mountPath()), std::string::npos) << down.reason;
  // The probe wrote nothing into the bare mountpoint, and the server lost nothing.
  EXPECT_TRUE(listNames(mountPath()).empty());
  EXPECT_EQ(readFileBytes(serverPath("kept.txt")), "still here");

  // establish() on the bare mountpoint would record a different filesystem,
  // and a checker holding the real identity still refuses it.
  auto other = IdentityChecker::establish(mountPath(), *pool_, options());
  ASSERT_TRUE(other) << other.error().toString();
  EXPECT_NE(other->fstype, "fuse.sshfs");
  EXPECT_NE(*other, *id);
  EXPECT_EQ(checker.probe().state, Reachability::kOffline);
  ASSERT_TRUE(::unlink((mountPath() + "/" + std::string(remote::kMarkerName)).c_str()) == 0);

  ASSERT_TRUE(harness().mount()) << harness().logs();
  ASSERT_TRUE(harness().waitUntilReachable()) << harness().logs();
  auto again = checker.probe();
  EXPECT_EQ(again.state, Reachability::kReachable) << again.reason;
  auto after = IdentityChecker::establish(mountPath(), *pool_, options());
  ASSERT_TRUE(after) << after.error().toString();
  EXPECT_EQ(after->marker_id, id->marker_id) << "a remount must keep the share's marker";
}

TEST_F(SshfsIdentityTest, ServerWithAnotherShareIsOffline) {
  auto id = IdentityChecker::establish(mountPath(), *pool_, options());
  ASSERT_TRUE(id) << id.error().toString();
  IdentityChecker checker(mountPath(), *id, pool_, options());
  ASSERT_EQ(checker.probe().state, Reachability::kReachable);
  // Someone replaces the export's marker (another share now lives there).
  ASSERT_TRUE(writeFileBytes(serverPath(std::string(remote::kMarkerName)), "another-share-id\n"));
  EXPECT_TRUE(waitFor([&] { return checker.probe().state == Reachability::kOffline; }, 60s, 200ms))
      << "the probe kept trusting a marker the server no longer holds";
  auto r = checker.probe();
  EXPECT_NE(r.reason.find("another-share-id"), std::string::npos) << r.reason;
}

}  // namespace
}  // namespace hoard::e2e
