// SPDX-License-Identifier: MIT
// One unreadable remote subdirectory (issue 9, point 11): it is a failed
// path of the pass, named with its error (permission, not "authentication
// required"), nothing beneath it is taken for deleted on either side, and
// the rest of the share syncs. The tests run as root, whom mode 000 does not
// stop, so the refusal comes from the fault injector (EACCES on opening the
// directory, as a server answers), under the daemon's own remote stack.

#include <unistd.h>

#include <filesystem>

#include <gtest/gtest.h>

#include "integration/sync/FaultyShareFixture.h"

namespace hoard::sync {
namespace {

namespace fs = std::filesystem;

class UnreadableDirTest : public FaultyShareFixture {
 protected:
  void SetUp() override { openFaultyShare("/tmp/hoard-unreadable-XXXXXX", "unread"); }
  ReconcileReport run() {
    auto r = reconciler_->run();
    EXPECT_TRUE(r) << r.error().toString();
    return r ? *r : ReconcileReport{};
  }
  void refuse(const std::string& glob) {
    remote::FaultRule no;
    no.op = remote::RemoteOp::kOpenDir;
    no.path_glob = glob;
    no.err = EACCES;
    rule_ = faulty_->addRule(no);
  }

  int rule_ = 0;
};

TEST_F(UnreadableDirTest, IsAFailedPathWhileTheRestOfTheShareSyncs) {
  // Siblings that sort around it: `secret-x.txt`, `secret.bak/`.
  put(remote_root_ + "/secret/plan.txt", "plan v1\n");
  put(remote_root_ + "/secret/deep/x.bin", std::string("\xff\xfe\0\n", 4));
  put(remote_root_ + "/secret-x.txt", "x v1");
  put(remote_root_ + "/secret.bak/c.txt", "c v1\r\n");
  put(remote_root_ + "/docs/a.txt", "a v1\n");
  ReconcileReport first = run();
  ASSERT_TRUE(first.clean());
  ASSERT_EQ(get(cache_ + "/secret/plan.txt"), "plan v1\n");

  // The server starts refusing secret/; meanwhile work goes on on both sides.
  refuse("secret");
  put(remote_root_ + "/docs/a.txt", "a v2 from a colleague\n");
  put(remote_root_ + "/secret-x.txt", "x v2");
  put(cache_ + "/docs/mine.txt", "my new file\n");
  put(cache_ + "/secret/plan.txt", "plan v2, mine\n");  // beneath it: waits

  ReconcileReport r = run();
  EXPECT_FALSE(r.stopped) << "the share is not paused: " << r.stopped->toString();
  ASSERT_EQ(r.failed.size(), 1u);
  EXPECT_EQ(r.failed[0].first, "secret");
  EXPECT_EQ(r.failed[0].second.code(), ErrorCode::kPermission) << r.failed[0].second.toString();
  EXPECT_EQ(errorCodeName(r.failed[0].second.code()), "PermissionDenied");
  EXPECT_NE(r.failed[0].second.toString().find("secret"), std::string::npos)
      << r.failed[0].second.toString();
  EXPECT_EQ(r.waiting, 0u) << "not a conflict";
  // The rest synced both ways.
  EXPECT_EQ(get(cache_ + "/docs/a.txt"), "a v2 from a colleague\n");
  EXPECT_EQ(get(cache_ + "/secret-x.txt"), "x v2");
  EXPECT_EQ(get(remote_root_ + "/docs/mine.txt"), "my new file\n");
  // Nothing beneath it was taken for deleted, or overwritten.
  EXPECT_EQ(get(cache_ + "/secret/plan.txt"), "plan v2, mine\n");
  EXPECT_EQ(get(cache_ + "/secret/deep/x.bin"), std::string("\xff\xfe\0\n", 4));
  EXPECT_EQ(get(remote_root_ + "/secret/plan.txt"), "plan v1\n");
  EXPECT_EQ(get(cache_ + "/secret.bak/c.txt"), "c v1\r\n");
  auto base = journal_->listBase(share_);
  ASSERT_TRUE(base);
  bool deep_in_base = false;
  for (const auto& e : *base) deep_in_base |= e.path == "secret/deep/x.bin";
  EXPECT_TRUE(deep_in_base) << "its base rows are kept";

  // Readable again: the waiting edit goes through and nothing fails.
  faulty_->removeRule(rule_);
  ReconcileReport again = run();
  EXPECT_TRUE(again.clean()) << (again.failed.empty() ? "" : again.failed[0].second.toString());
  EXPECT_EQ(get(remote_root_ + "/secret/plan.txt"), "plan v2, mine\n");
  EXPECT_EQ(get(remote_root_ + "/secret/deep/x.bin"), std::string("\xff\xfe\0\n", 4));
}

// The same through the single-call walk of a plain PosixRemoteFs, with a
// real mode 000 directory where the kernel enforces it (not for root).
TEST_F(UnreadableDirTest, AMode000DirectoryIsUnlistedByThePosixWalk) {
  if (::geteuid() == 0) GTEST_SKIP() << "mode 000 does not stop root";
  put(remote_root_ + "/locked/f.txt", "f");
  put(remote_root_ + "/open.txt", "o");
  fs::permissions(remote_root_ + "/locked", fs::perms::none);
  remote::PosixRemoteFs posix(remote_root_);
  auto w = posix.walk("");
  fs::permissions(remote_root_ + "/locked", fs::perms::owner_all);
  ASSERT_TRUE(w) << w.error().toString();
  bool locked_unlisted = false;
  for (const auto& e : *w)
    if (e.path == "locked") locked_unlisted = e.unlisted.has_value();
  EXPECT_TRUE(locked_unlisted);
}

}  // namespace
}  // namespace hoard::sync
