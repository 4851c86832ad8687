// SPDX-License-Identifier: MIT
// The reconciler with its cache side in memory: every read, hash and staging
// temporary of the cache goes through the cache's RemoteFs, so a pass works
// with both sides in memory, and faults can be injected on the cache side
// (an unreadable cache file, a cache disk that is full) like on the remote.

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "integration/sync/ShareFixture.h"
#include "remote/FaultyRemoteFs.h"
#include "sync/Reconciler.h"
#include "unit/remote/MemoryRemoteFs.h"

namespace hoard::sync {
namespace {

using remote::FaultRule;
using remote::RemoteOp;
using remote::testing::MemoryRemoteFs;

class MemoryCacheTest : public ShareFixture {
 protected:
  void SetUp() override {
    openShare("/tmp/hoard-memcache-XXXXXX");
    if (HasFatalFailure()) return;
    cache_mem_ = std::make_shared<MemoryRemoteFs>();
    cache_fs_ = std::make_shared<remote::FaultyRemoteFs>(cache_mem_, 3);
    reconciler_ = std::make_unique<Reconciler>(ShareSides{*journal_, mu_, share_, *cache_fs_,
                                                          remote_, cache_, *store_,
                                                          store::KeepPolicy{}, "laptop",
                                                          nullptr, nullptr});
  }

  ReconcileReport pass() {
    auto r = reconciler_->run({});
    EXPECT_TRUE(r) << r.error().toString();
    return r ? *r : ReconcileReport{};
  }

  // Names that sort between a directory and its children ("dir" < "dir-x" <
  // "dir.bak" < "dir/"), agreed on both sides by a first pass.
  void seed() {
    remote_.putFile("a.txt", "a, as agreed");
    ASSERT_TRUE(remote_.mkdir("dir", 0755));
    remote_.putFile("dir/b.txt", "b, as agreed");
    ASSERT_TRUE(remote_.mkdir("dir-x", 0755));
    remote_.putFile("dir-x/c.txt", "c, as agreed");
    remote_.putFile("dir.bak", "a backup");
    ReconcileReport first = pass();
    ASSERT_TRUE(first.clean()) << first.failed.size();
    ASSERT_EQ(cache_mem_->content("dir-x/c.txt"), "c, as agreed");
    ASSERT_EQ(cache_mem_->content("dir.bak"), "a backup");
  }

  MemoryRemoteFs remote_;
  std::shared_ptr<MemoryRemoteFs> cache_mem_;
  std::shared_ptr<remote::FaultyRemoteFs> cache_fs_;
  std::unique_ptr<Reconciler> reconciler_;
};

TEST_F(MemoryCacheTest, APassWithBothSidesInMemoryCarriesEditsBothWaysAndFindsTheConflict) {
  seed();
  if (HasFatalFailure()) return;
  cache_mem_->putFile("a.txt", "a, edited offline");
  cache_mem_->putFile("dir/new.txt", "new offline");
  remote_.putFile("dir/b.txt", "b, edited by a colleague");
  ASSERT_TRUE(remote_.unlink("dir.bak", remote::Expect::anything()));
  cache_mem_->putFile("dir-x/c.txt", "c, mine");
  remote_.putFile("dir-x/c.txt", "c, theirs");

  ReconcileReport r = pass();
  EXPECT_FALSE(r.stopped);
  EXPECT_TRUE(r.failed.empty()) << r.failed[0].second.toString();
  EXPECT_EQ(remote_.content("a.txt"), "a, edited offline");
  EXPECT_EQ(remote_.content("dir/new.txt"), "new offline");
  EXPECT_EQ(cache_mem_->content("dir/b.txt"), "b, edited by a colleague");
  EXPECT_FALSE(cache_mem_->exists("dir.bak"));
  // Both edited c.txt differently (known only by hashing the cache's copy):
  // a conflict; each side keeps its own until it is resolved.
  ASSERT_EQ(r.new_conflicts.size(), 1u);
  EXPECT_EQ(cache_mem_->content("dir-x/c.txt"), "c, mine");
  EXPECT_EQ(remote_.content("dir-x/c.txt"), "c, theirs");

  auto st = reconciler_->resolve(r.new_conflicts[0], Resolution::kKeepLocal);
  ASSERT_TRUE(st) << st.error().toString();
  EXPECT_EQ(remote_.content("dir-x/c.txt"), "c, mine");
  EXPECT_TRUE(pass().clean());
}

TEST_F(MemoryCacheTest, BothSidesEditedAlikeIsAgreedByHashingTheCacheCopy) {
  seed();
  if (HasFatalFailure()) return;
  cache_mem_->putFile("dir/b.txt", "the same fix");
  remote_.putFile("dir/b.txt", "the same fix");
  ReconcileReport r = pass();
  EXPECT_TRUE(r.clean());
  EXPECT_EQ(r.agreed, 1u);
  EXPECT_GE(cache_fs_->calls(RemoteOp::kOpenRead), 1u);  // the cache copy was read in place
}

TEST_F(MemoryCacheTest, AnUnreadableCacheFileFailsThatPathAloneAndIsSentLater) {
  seed();
  if (HasFatalFailure()) return;
  cache_mem_->putFile("dir-x/c.txt", "c, mine");
  remote_.putFile("dir-x/c.txt", "c, mine too?");
  cache_mem_->putFile("a.txt", "a, edited offline");
  FaultRule eio;
  eio.op = RemoteOp::kOpenRead;
  eio.path_glob = "dir-x/c.txt";
  eio.err = EIO;
  int rule = cache_fs_->addRule(eio);

  ReconcileReport r = pass();
  EXPECT_FALSE(r.stopped);
  ASSERT_EQ(r.failed.size(), 1u);
  EXPECT_EQ(r.failed[0].first, "dir-x/c.txt");
  EXPECT_EQ(r.failed[0].second.code(), ErrorCode::kIo) << r.failed[0].second.toString();
  EXPECT_NE(r.failed[0].second.message().find("in the cache"), std::string::npos)
      << r.failed[0].second.toString();
  EXPECT_TRUE(r.new_conflicts.empty());
  EXPECT_EQ(remote_.content("a.txt"), "a, edited offline");  // the rest went on
  EXPECT_EQ(cache_mem_->content("dir-x/c.txt"), "c, mine");   // nothing of it was touched
  EXPECT_EQ(remote_.content("dir-x/c.txt"), "c, mine too?");

  cache_fs_->removeRule(rule);
  ReconcileReport again = pass();
  EXPECT_TRUE(again.failed.empty());
  EXPECT_EQ(again.new_conflicts.size(), 1u);  // now it can be told apart
}

TEST_F(MemoryCacheTest, AFullCacheDiskStopsThePassAndLosesNothing) {
  seed();
  if (HasFatalFailure()) return;
  remote_.putFile("dir/b.txt", "b, edited by a colleague");
  cache_mem_->putFile("a.txt", "a, edited offline");
  FaultRule full;
  full.op = RemoteOp::kOpenTemp;
  full.err = ENOSPC;
  int rule = cache_fs_->addRule(full);

  auto r = reconciler_->run({});
  ASSERT_TRUE(r) << r.error().toString();
  ASSERT_TRUE(r->stopped);
  EXPECT_EQ(r->stopped->code(), ErrorCode::kNoSpace) << r->stopped->toString();
  EXPECT_EQ(cache_mem_->content("dir/b.txt"), "b, as agreed");
  EXPECT_EQ(cache_mem_->content("a.txt"), "a, edited offline");

  cache_fs_->removeRule(rule);
  ReconcileReport again = pass();
  EXPECT_TRUE(again.clean());
  EXPECT_EQ(cache_mem_->content("dir/b.txt"), "b, edited by a colleague");
  EXPECT_EQ(remote_.content("a.txt"), "a, edited offline");
}

}  // namespace
}  // namespace hoard::sync
