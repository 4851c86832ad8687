// SPDX-License-Identifier: MIT
// DirHandleCache: what PosixRemoteFs keeps of directories it resolved for
// reading, and when it lets go of them.
#include "remote/DirHandleCache.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

#include <gtest/gtest.h>

namespace hoard::remote {
namespace {

using namespace std::chrono_literals;

class DirHandleCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/hoard-dirhandles-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    for (const char* d : {"dir", "dir-x", "dir.bak"}) std::filesystem::create_directory(dir_ + "/" + d);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  UniqueFd open(const std::string& rel) {
    return UniqueFd(::open((dir_ + "/" + rel).c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  }
  static ino_t inode(int fd) {
    struct stat st;
    return ::fstat(fd, &st) == 0 ? st.st_ino : 0;
  }
  std::string dir_;
};

TEST_F(DirHandleCacheTest, GivesBackADuplicateOfTheDirectoryItWasGivenUnderItsOwnName) {
  DirHandleCache cache(10s, 8);
  UniqueFd dir = open("dir"), dirx = open("dir-x");
  cache.put("dir", dir.get());
  cache.put("dir-x", dirx.get());
  UniqueFd got = cache.get("dir");
  ASSERT_TRUE(got);
  EXPECT_NE(got.get(), dir.get()) << "a duplicate, owned by the caller";
  EXPECT_EQ(inode(got.get()), inode(dir.get()));
  EXPECT_EQ(inode(cache.get("dir-x").get()), inode(dirx.get()));
  EXPECT_FALSE(cache.get("dir.bak")) << "never resolved, never kept";
  EXPECT_FALSE(cache.get("di")) << "no prefix match";
  dir.reset();
  EXPECT_TRUE(cache.get("dir")) << "the cache holds its own descriptor";
}

TEST_F(DirHandleCacheTest, AnEntryExpiresAfterItsTimeToLive) {
  DirHandleCache cache(150ms, 8);
  UniqueFd dir = open("dir");
  cache.put("dir", dir.get());
  EXPECT_TRUE(cache.get("dir"));
  std::this_thread::sleep_for(200ms);
  EXPECT_FALSE(cache.get("dir"));
  EXPECT_EQ(cache.size(), 0u) << "an expired entry is let go, not only hidden";
}

TEST_F(DirHandleCacheTest, TheOldestGoesWhenFullAndDropAndClearLetGo) {
  DirHandleCache cache(10s, 2);
  UniqueFd a = open("dir"), b = open("dir-x"), c = open("dir.bak");
  cache.put("dir", a.get());
  cache.put("dir-x", b.get());
  cache.put("dir.bak", c.get());
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_FALSE(cache.get("dir")) << "the oldest went";
  EXPECT_TRUE(cache.get("dir-x"));
  cache.put("dir-x", c.get());  // resolved again: replaced, not duplicated
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_EQ(inode(cache.get("dir-x").get()), inode(c.get()));
  cache.drop("dir-x");
  EXPECT_FALSE(cache.get("dir-x"));
  cache.clear();
  EXPECT_EQ(cache.size(), 0u);
}

TEST_F(DirHandleCacheTest, AZeroTimeToLiveKeepsNothing) {
  DirHandleCache cache(0ms, 8);
  UniqueFd dir = open("dir");
  EXPECT_FALSE(cache.enabled());
  cache.put("dir", dir.get());
  EXPECT_FALSE(cache.get("dir"));
  EXPECT_EQ(cache.size(), 0u);
}

}  // namespace
}  // namespace hoard::remote
