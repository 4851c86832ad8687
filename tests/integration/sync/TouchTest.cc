// SPDX-License-Identifier: MIT
// A touch is a change: the modification time of a cache file whose bytes did
// not change reaches the remote (issue 9, point 16), as `touch -d` would set
// it, and a second pass finds nothing left to do.

#include <sys/stat.h>
#include <sys/time.h>

#include <gtest/gtest.h>

#include "integration/sync/ReconcilerFixture.h"

namespace hoard::sync {
namespace {

int64_t mtimeNs(const std::string& abs) {
  struct stat st {};
  EXPECT_EQ(::lstat(abs.c_str(), &st), 0) << abs;
  return int64_t{st.st_mtim.tv_sec} * 1000000000 + st.st_mtim.tv_nsec;
}

void setMtime(const std::string& abs, time_t sec) {
  struct timespec ts[2] = {{sec, 0}, {sec, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, abs.c_str(), ts, AT_SYMLINK_NOFOLLOW), 0) << abs;
}

TEST_F(ReconcilerTest, ATouchOfCacheFilesReachesTheRemote) {
  seed({{"a.txt", "a"}, {"dir/b.txt", "b"}, {"dir-x/c.txt", "c"}});
  const time_t when = 1500000000;  // 2017-07-14, as `touch -d` would set it
  for (const char* p : {"a.txt", "dir/b.txt", "dir-x/c.txt"}) setMtime(cache_ + "/" + p, when);
  logged({{ChangeOp::kWrite, "a.txt", "", 0, ""}});
  auto r = sync();
  EXPECT_EQ(r.times, 3u);
  EXPECT_EQ(r.pushed, 0u);  // the bytes did not travel
  for (const char* p : {"a.txt", "dir/b.txt", "dir-x/c.txt"}) {
    EXPECT_EQ(mtimeNs(remote_root_ + "/" + p), int64_t{when} * 1000000000) << p;
    EXPECT_EQ(mtimeNs(cache_ + "/" + p), int64_t{when} * 1000000000) << p;
  }
  EXPECT_EQ(remote("a.txt"), "a");
  auto again = sync();
  EXPECT_EQ(again.times + again.pushed + again.pulled + again.agreed, 0u);
  EXPECT_TRUE(again.clean());
  auto log = journal_->changes(share_, 0);
  ASSERT_TRUE(log);
  EXPECT_TRUE(log->empty());
}

TEST_F(ReconcilerTest, ATouchOnTheRemoteReachesTheCache) {
  seed({{"a.txt", "a"}});
  setMtime(remote_root_ + "/a.txt", 1400000000);
  sync();
  EXPECT_EQ(mtimeNs(cache_ + "/a.txt"), int64_t{1400000000} * 1000000000);
  EXPECT_EQ(local("a.txt"), "a");
}

TEST_F(ReconcilerTest, ATouchHereAndAnEditThereKeepsTheEdit) {
  seed({{"a.txt", "a"}});
  setMtime(cache_ + "/a.txt", 1500000000);
  remote("a.txt", "edited by a colleague");
  auto r = sync();
  EXPECT_TRUE(r.new_conflicts.empty());
  EXPECT_EQ(local("a.txt"), "edited by a colleague");
  EXPECT_EQ(remote("a.txt"), "edited by a colleague");
}

}  // namespace
}  // namespace hoard::sync
