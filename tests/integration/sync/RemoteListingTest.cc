// SPDX-License-Identifier: MIT
// A pass of an on-demand share (ShareSides::record_listing) stores the whole
// remote listing, pinned or not, for the FUSE view to show offline.

#include <sys/xattr.h>

#include "integration/sync/ReconcilerFixture.h"
#include "remote/FaultyRemoteFs.h"

namespace hoard::sync {
namespace {

class RemoteListingTest : public ReconcilerTest {
 protected:
  void SetUp() override {
    ReconcilerTest::SetUp();
    if (HasFatalFailure()) return;
    reconciler_ = std::make_unique<Reconciler>(ShareSides{
        *journal_, mu_, share_, *local_fs_, *remote_fs_, cache_, *store_, store::KeepPolicy{},
        "laptop", nullptr, nullptr, nullptr, /*record_listing=*/true});
  }
  std::map<std::string, uint64_t> listed() {
    std::map<std::string, uint64_t> out;
    auto l = journal_->remoteListing(share_);
    EXPECT_TRUE(l) << l.error().toString();
    if (l)
      for (auto& e : *l) out[e.path] = e.meta.type == FileType::kDir ? 0 : e.meta.size + 1;
    return out;
  }
};

TEST_F(RemoteListingTest, APassStoresEveryRemoteEntryPinnedOrNot) {
  ASSERT_TRUE(journal_->pin(share_, "dir", 500));
  remote("dir/a.txt", "alpha");
  remote("dir-x/a.txt", "dash!!");
  remote("dir.bak/a.txt", "backup!");
  remote("db.sqlite-wal", "w");
  sync();
  EXPECT_EQ(listed(), (std::map<std::string, uint64_t>{{"db.sqlite-wal", 2},
                                                       {"dir", 0},
                                                       {"dir-x", 0},
                                                       {"dir-x/a.txt", 7},
                                                       {"dir.bak", 0},
                                                       {"dir.bak/a.txt", 8},
                                                       {"dir/a.txt", 6}}));
  // The next pass replaces it: a file gone from the remote leaves the listing.
  ASSERT_EQ(::unlink((remote_root_ + "/dir.bak/a.txt").c_str()), 0);
  sync();
  EXPECT_EQ(listed().count("dir.bak/a.txt"), 0u);
  EXPECT_EQ(listed().count("dir.bak"), 1u);
}

TEST_F(RemoteListingTest, UserXattrsAreListedAndReadAgainOnlyWhereTheCtimeMoved) {
  remote("dir/a.txt", "alpha");
  remote("dir-x/a.txt", "dash");
  remote("dir.bak/a.txt", "backup");
  const std::string a = remote_root_ + "/dir/a.txt";
  ASSERT_EQ(::setxattr(a.c_str(), "user.note", "first", 5, 0), 0) << strerror(errno);
  ASSERT_EQ(::setxattr(a.c_str(), "user.bin", "\xff\0\n", 3, 0), 0);
  ASSERT_EQ(::setxattr((remote_root_ + "/dir").c_str(), "user.dir", "d", 1, 0), 0);
  // The pass's remote counts its calls.
  auto faulty = std::make_shared<remote::FaultyRemoteFs>(
      std::make_shared<remote::PosixRemoteFs>(remote_root_));
  reconciler_ = std::make_unique<Reconciler>(ShareSides{
      *journal_, mu_, share_, *local_fs_, *faulty, cache_, *store_, store::KeepPolicy{},
      "laptop", nullptr, nullptr, nullptr, /*record_listing=*/true});
  auto xattrsOf = [&](const std::string& path) {
    auto l = journal_->remoteListing(share_);
    EXPECT_TRUE(l);
    for (auto& e : *l)
      if (e.path == path) return e.xattrs;
    return std::optional<std::map<std::string, std::string>>();
  };
  sync();
  using X = std::map<std::string, std::string>;
  EXPECT_EQ(xattrsOf("dir/a.txt"), (X{{"user.bin", std::string("\xff\0\n", 3)}, {"user.note", "first"}}));
  EXPECT_EQ(xattrsOf("dir"), (X{{"user.dir", "d"}}));
  EXPECT_EQ(xattrsOf("dir.bak/a.txt"), X{});
  // Nothing changed: the next pass asks the remote for no attribute.
  uint64_t lists = faulty->calls(remote::RemoteOp::kListXattrs);
  EXPECT_GE(lists, 6u);
  sync();
  EXPECT_EQ(faulty->calls(remote::RemoteOp::kListXattrs), lists);
  // One changed (its ctime moves): only it is read again, by the listing
  // and by the engine carrying the change into the cache (once each), not
  // the other five entries.
  ASSERT_EQ(::setxattr(a.c_str(), "user.note", "second", 6, 0), 0);
  ASSERT_EQ(::removexattr(a.c_str(), "user.bin"), 0);
  sync();
  EXPECT_GE(faulty->calls(remote::RemoteOp::kListXattrs), lists + 1);
  EXPECT_LE(faulty->calls(remote::RemoteOp::kListXattrs), lists + 2);
  EXPECT_EQ(xattrsOf("dir/a.txt"), (X{{"user.note", "second"}}));
  EXPECT_EQ(xattrsOf("dir"), (X{{"user.dir", "d"}}));
}

}  // namespace
}  // namespace hoard::sync
