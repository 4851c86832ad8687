// SPDX-License-Identifier: MIT
// A pass of an on-demand share (ShareSides::record_listing) stores the whole
// remote listing, pinned or not, for the FUSE view to show offline.

#include "integration/sync/ReconcilerFixture.h"

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

}  // namespace
}  // namespace hoard::sync
