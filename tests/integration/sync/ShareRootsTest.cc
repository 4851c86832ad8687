// SPDX-License-Identifier: MIT
// `share add` refuses overlapping roots and unusable names before anything
// is stored or written: real temporary folders, a symlink to a root and a
// real bind mount (root only; skipped where mount(2) is refused).

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "sync/ShareRoots.h"
#include "sync/ShareSetup.h"

namespace hoard::sync {
namespace {

namespace fs = std::filesystem;

class ShareRootsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/hoard-roots-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    d_ = tmpl;
    auto j = journal::Journal::open(d_ + "/journal.db");
    ASSERT_TRUE(j) << j.error().toString();
    journal_ = std::move(*j);
  }
  void TearDown() override {
    for (auto it = mounts_.rbegin(); it != mounts_.rend(); ++it)
      if (::umount2(it->c_str(), 0) != 0) ::umount2(it->c_str(), MNT_DETACH);
    fs::remove_all(d_);
  }
  // A remote directory holding one file, as a share's server would.
  std::string remote(const std::string& rel) {
    std::string p = d_ + "/" + rel;
    fs::create_directories(p);
    std::ofstream(p + "/file.txt") << "on the server\n";
    return p;
  }
  std::string dir(const std::string& rel) {
    fs::create_directories(d_ + "/" + rel);
    return d_ + "/" + rel;
  }
  Result<int64_t> add(const std::string& name, const std::string& r, const std::string& c) {
    return createShare(*journal_, mu_, name, r, c, pool_);
  }
  size_t shareCount() {
    auto all = journal_->shares();
    return all ? all->size() : 999;
  }
  // Refused with kInvalidArgument, the message holding every one of `words`,
  // and nothing stored: no new row, no marker at `fresh_remote`, no
  // `absent_cache` created.
  void expectRefused(const Result<int64_t>& r, std::vector<std::string> words,
                     const std::string& fresh_remote = "", const std::string& absent_cache = "",
                     size_t shares_before = 0) {
    ASSERT_FALSE(r) << "accepted";
    EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument) << r.error().toString();
    for (const std::string& w : words)
      EXPECT_NE(r.error().message().find(w), std::string::npos)
          << "'" << w << "' not in: " << r.error().message();
    EXPECT_EQ(shareCount(), shares_before);
    if (!fresh_remote.empty()) {
      EXPECT_FALSE(fs::exists(fresh_remote + "/.hoard-share-id")) << "marker written";
    }
    if (!absent_cache.empty()) {
      EXPECT_FALSE(fs::exists(fs::symlink_status(absent_cache))) << "cache created";
    }
  }
  // mount --bind src dst; false (and the test skips) where mount(2) is refused.
  bool bind(const std::string& src, const std::string& dst) {
    fs::create_directories(dst);
    if (::mount(src.c_str(), dst.c_str(), nullptr, MS_BIND, nullptr) != 0) return false;
    mounts_.push_back(dst);
    return true;
  }

  std::string d_;
  std::unique_ptr<journal::Journal> journal_;
  Mutex mu_;
  remote::WorkerPool pool_{remote::WorkerPool::Options{2, 16, "test-roots"}};
  std::vector<std::string> mounts_;
};

TEST_F(ShareRootsTest, CacheInsideItsRemoteIsRefused) {
  std::string r = remote("server");
  expectRefused(add("work", r, r + "/cache"),
                {"cache root '" + r + "/cache'", "is inside", "remote root '" + r + "'"}, r,
                r + "/cache");
}

TEST_F(ShareRootsTest, RemoteInsideItsCacheIsRefused) {
  std::string c = dir("cache");
  std::string r = remote("cache/server");
  expectRefused(add("work", r, c),
                {"cache root '" + c + "'", "contains", "remote root '" + r + "'"}, r);
}

TEST_F(ShareRootsTest, RemoteEqualToCacheIsRefusedAlsoThroughASymlinkAndATrailingSlash) {
  std::string r = remote("server");
  expectRefused(add("work", r, r), {"is the same directory as"}, r);
  expectRefused(add("work", r, r + "/"), {"is the same directory as"}, r);
  fs::create_symlink(r, d_ + "/link");
  expectRefused(add("work", r, d_ + "/link"),
                {"cache root '" + d_ + "/link' (" + r + ")", "same directory", "remote root '" + r},
                r);
  expectRefused(add("work", r, d_ + "/link/sub"), {"is inside"}, r, d_ + "/link/sub");
}

TEST_F(ShareRootsTest, TheFilesystemRootIsRefusedAsEitherRoot) {
  std::string r = remote("server");
  expectRefused(add("work", "/", d_ + "/cache"), {"remote root '/'", "filesystem root"}, "",
                d_ + "/cache");
  EXPECT_FALSE(fs::exists("/.hoard-share-id"));
  expectRefused(add("work", r, "/"), {"cache root '/'", "filesystem root"}, r);
  fs::create_symlink("/", d_ + "/slash");
  expectRefused(add("work", d_ + "/slash", d_ + "/cache"), {"filesystem root"}, "", d_ + "/cache");
  expectRefused(add("work", "/tmp/..", d_ + "/cache"), {"filesystem root"}, "", d_ + "/cache");
}

TEST_F(ShareRootsTest, RootsOverlappingAnotherSharesRootsAreRefusedNamingThatShare) {
  std::string r1 = remote("a/server");
  std::string c1 = d_ + "/a/cache";
  ASSERT_TRUE(add("alpha", r1, c1));
  std::string r2 = remote("b/server");
  // Same cache, nested cache, cache holding the other's cache.
  expectRefused(add("beta", r2, c1),
                {"cache root '" + c1 + "'",
                 "is the same directory as the cache root '" + c1 + "' of share \"alpha\""},
                r2, "", 1);
  expectRefused(add("beta", r2, c1 + "/nested"), {"is inside the cache root", "\"alpha\""}, r2,
                c1 + "/nested", 1);
  // Same remote, nested remote, a remote containing the other's remote.
  expectRefused(add("beta", r1, d_ + "/b/cache"),
                {"remote root '" + r1 + "' is the same directory as the remote root", "\"alpha\""},
                "", d_ + "/b/cache", 1);
  std::string nested = remote("a/server/sub");
  expectRefused(add("beta", nested, d_ + "/b/cache"), {"is inside the remote root", "\"alpha\""},
                nested, d_ + "/b/cache", 1);
  expectRefused(add("beta", d_ + "/a", d_ + "/b/cache"), {"contains the remote root", "\"alpha\""},
                d_ + "/a", d_ + "/b/cache", 1);
  // Across roles: my cache in their remote, my remote in their cache.
  expectRefused(add("beta", r2, r1 + "/mycache"),
                {"cache root", "is inside the remote root '" + r1 + "' of share \"alpha\""}, r2,
                r1 + "/mycache", 1);
  std::string in_cache = remote("a/cache/stuff");
  expectRefused(add("beta", in_cache, d_ + "/b/cache"),
                {"is inside the cache root '" + c1 + "' of share \"alpha\""}, in_cache,
                d_ + "/b/cache", 1);
  // Through a symlink to alpha's remote.
  fs::create_symlink(r1, d_ + "/to-alpha");
  expectRefused(add("beta", r2, d_ + "/to-alpha/c"), {"(" + r1 + "/c)", "inside the remote root"},
                r2, "", 1);
  EXPECT_FALSE(fs::exists(r1 + "/c"));
}

TEST_F(ShareRootsTest, SiblingsThatSortBetweenADirectoryAndItsChildrenDoNotOverlap) {
  std::string r1 = remote("x/dir");
  ASSERT_TRUE(add("alpha", r1, d_ + "/y/dir"));
  int n = 0;
  for (const char* sib : {"dir-x", "dir.bak", "dir 2", "di"}) {
    std::string name = "s" + std::to_string(n++);
    auto id = add(name, remote(std::string("x/") + sib), d_ + "/y/" + sib);
    EXPECT_TRUE(id) << sib << ": " << id.error().toString();
  }
  EXPECT_EQ(shareCount(), 5u);
}

TEST_F(ShareRootsTest, ABindMountOfARootIsTheSameDirectory) {
  std::string r = remote("server");
  if (!bind(r, d_ + "/mnt")) GTEST_SKIP() << "SKIPPED: mount --bind refused (not root?)";
  // The bind mount's path shares nothing with the remote's path: only device
  // and inode tell them apart.
  expectRefused(add("work", r, d_ + "/mnt/cache"),
                {"cache root '" + d_ + "/mnt/cache'", "is inside", "remote root '" + r + "'"}, r,
                d_ + "/mnt/cache");
  expectRefused(add("work", d_ + "/mnt", r + "/../server"), {"is the same directory as"}, r);
  std::string c = d_ + "/cache";
  ASSERT_TRUE(add("alpha", r, c));
  expectRefused(add("beta", d_ + "/mnt", d_ + "/other"),
                {"remote root '" + d_ + "/mnt'", "same directory as the remote root '" + r + "'",
                 "\"alpha\""},
                "", d_ + "/other", 1);
  // A bind mount of alpha's cache used as beta's remote.
  if (!bind(c, d_ + "/cmnt")) GTEST_SKIP();
  expectRefused(add("beta", d_ + "/cmnt", d_ + "/other"),
                {"same directory as the cache root '" + c + "'", "\"alpha\""}, "", d_ + "/other",
                1);
}

TEST_F(ShareRootsTest, UnusableNamesAreRefusedBeforeAnythingIsWritten) {
  std::string r = remote("server");
  std::string c = d_ + "/cache";
  expectRefused(add("", r, c), {"needs a name"}, r, c);
  expectRefused(add("a/b", r, c), {"holds '/'"}, r, c);
  expectRefused(add("tab\there", r, c), {"control character"}, r, c);
  expectRefused(add("new\nline", r, c), {"control character"}, r, c);
  expectRefused(add(std::string("del\x7f"), r, c), {"control character"}, r, c);
  expectRefused(add(std::string(65, 'n'), r, c), {"65 bytes", "at most 64"}, r, c);
  auto ok = add(std::string(64, 'n'), r, c);
  EXPECT_TRUE(ok) << ok.error().toString();
  EXPECT_TRUE(fs::exists(r + "/.hoard-share-id"));
}

TEST(ShareRootsPlace, OverlapOfPlacesByText) {
  EXPECT_EQ(overlap(lexicalRoot("/a/b"), lexicalRoot("/a/b/")), Overlap::kSame);
  EXPECT_EQ(overlap(lexicalRoot("/a/b/c"), lexicalRoot("/a/b")), Overlap::kInside);
  EXPECT_EQ(overlap(lexicalRoot("/a"), lexicalRoot("/a/b")), Overlap::kContains);
  EXPECT_EQ(overlap(lexicalRoot("/a/b-x"), lexicalRoot("/a/b")), Overlap::kNone);
  EXPECT_EQ(overlap(lexicalRoot("/a/b"), lexicalRoot("/a/b-x")), Overlap::kNone);
  EXPECT_EQ(overlap(lexicalRoot("/a/x/../b/c"), lexicalRoot("/a/b")), Overlap::kInside);
}

}  // namespace
}  // namespace hoard::sync
