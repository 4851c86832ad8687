// SPDX-License-Identifier: MIT
// Nothing grows forever (issue 9, point 7), with a real journal and a real
// base store in temporary folders and a clock the test moves: snapshots go
// once their disconnection is reintegrated, resolved conflicts and their
// versions after the retention period, and the store returns to what the
// base needs.

#include "sync/Retention.h"

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>

#include <gtest/gtest.h>

#include "integration/sync/ShareFixture.h"
#include "remote/PosixRemoteFs.h"
#include "sync/Reconciler.h"

namespace hoard::sync {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

class RetentionTest : public ShareFixture {
 protected:
  void SetUp() override {
    openShare("/tmp/hoard-retention-XXXXXX");
    if (HasFatalFailure()) return;
    fs::create_directories(dir_ + "/src");
    ASSERT_TRUE(journal_->setShareState(share_, journal::ShareState::kOnline));
  }
  // Stores `bytes` in the base store; returns the object id and size.
  store::PutResult keep(const std::string& bytes) {
    std::string file = dir_ + "/src/f";
    std::ofstream(file, std::ios::binary | std::ios::trunc) << bytes;
    int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
    EXPECT_GE(fd, 0);
    auto r = store_->put(fd, "f");
    ::close(fd);
    EXPECT_TRUE(r) << r.error().toString();
    return r ? *r : store::PutResult{};
  }
  BaseEntry fileEntry(const std::string& path, const store::PutResult& obj) {
    BaseEntry e;
    e.path = path;
    e.local.type = FileType::kFile;
    e.local.size = obj.size;
    e.local.mode = 0644;
    e.hash = obj.hash;
    e.object = obj.hash;
    return e;
  }
  // JournalShareStateStore::enterOffline's two steps.
  void goOffline() {
    ASSERT_TRUE(journal_->inTransaction([&]() -> Status {
      auto snap = journal_->takeSnapshot(share_, "pre-disconnection");
      if (!snap) return tl::unexpected(snap.error());
      return journal_->setShareState(share_, journal::ShareState::kOffline);
    }));
  }
  RetentionReport retain(bool clean = true, RetentionOptions o = {}) {
    auto r = applyRetention(*journal_, *store_, share_, clean, clock_, o);
    EXPECT_TRUE(r) << r.error().toString();
    return r ? *r : RetentionReport{};
  }
  std::set<ContentHash> stored() {
    auto ids = store_->list();
    EXPECT_TRUE(ids);
    return ids ? std::set<ContentHash>(ids->begin(), ids->end()) : std::set<ContentHash>{};
  }
  size_t snapshots() { return journal_->snapshots(share_)->size(); }
  size_t conflicts() { return journal_->conflicts(share_, false)->size(); }

  // Starts at the real time: the store stamps objects with the filesystem's clock.
  FakeClock clock_{std::chrono::system_clock::now()};
};

TEST_F(RetentionTest, AfterOfflineEpisodesAndOldResolutionsTheStoreHoldsWhatTheBaseNeeds) {
  store::PutResult current = keep("version 0 of notes.txt\n");
  ASSERT_TRUE(journal_->putBase(share_, fileEntry("notes.txt", current)));
  const store::StoreUsage before_anything = storeSize(*store_);
  EXPECT_EQ(before_anything.objects, 1u);

  constexpr int kEpisodes = 4;
  for (int i = 1; i <= kEpisodes; ++i) {
    goOffline();
    ASSERT_TRUE(journal_->recordChanges(
        share_, std::vector<Change>{Change{ChangeOp::kWrite, "notes.txt", {}, 0, {}}}));
    // Back: the pass pushes the edit, records a conflict elsewhere, and it is resolved.
    ASSERT_TRUE(journal_->setShareState(share_, journal::ShareState::kReintegrating));
    auto frozen = journal_->freezeChanges(share_);
    ASSERT_TRUE(frozen);
    current = keep("version " + std::to_string(i) + " of notes.txt\n");
    ASSERT_TRUE(journal_->putBase(share_, fileEntry("notes.txt", current)));
    ASSERT_TRUE(journal_->dropChangesThrough(share_, *frozen));
    journal::ConflictRecord c;
    c.share_id = share_;
    c.path = "conflicted-" + std::to_string(i) + ".txt";
    c.base_object = keep("base " + std::to_string(i)).hash;
    c.local_object = keep("mine " + std::to_string(i)).hash;
    c.remote_object = keep("theirs " + std::to_string(i)).hash;
    auto cid = journal_->addConflict(c);
    ASSERT_TRUE(cid);
    ASSERT_TRUE(journal_->resolveConflict(*cid, "keep-local"));
    ASSERT_TRUE(journal_->setShareState(share_, journal::ShareState::kOnline));

    RetentionReport r = retain();
    EXPECT_EQ(r.snapshots_dropped, 1) << "episode " << i;
    EXPECT_EQ(r.conflicts_dropped, 0) << "resolved today: retained";
    clock_.advance(24h);
  }
  EXPECT_EQ(snapshots(), 0u);
  EXPECT_EQ(conflicts(), static_cast<size_t>(kEpisodes));
  auto retained = journal_->conflicts(share_, false);
  ASSERT_TRUE(retained);
  for (const auto& c : *retained)
    EXPECT_TRUE(store_->contains(*c.local_object)) << "a retained conflict keeps its versions";

  // A crash between a put and its row left a file the journal does not know.
  store::PutResult orphan = keep("put, then the daemon died before the row");
  EXPECT_FALSE(journal_->object(orphan.hash)->has_value());

  // The retention period passes for every resolution.
  clock_.advance(31 * 24h);
  RetentionReport r = retain();
  EXPECT_EQ(r.conflicts_dropped, kEpisodes);
  EXPECT_EQ(r.unknown_removed, 1u);
  EXPECT_GT(r.objects_removed, 0u);
  EXPECT_EQ(conflicts(), 0u);
  EXPECT_EQ(stored(), std::set<ContentHash>{current.hash}) << "only what the base needs";
  store::StoreUsage after = storeSize(*store_);
  EXPECT_EQ(after.objects, 1u);
  EXPECT_EQ(after.bytes, current.size);
  EXPECT_TRUE(journal_->unreferencedObjects()->empty()) << "their rows are forgotten too";

  // What the store counts is what is on disk.
  auto reopened = store::BaseStore::open(dir_ + "/store");
  ASSERT_TRUE(reopened);
  EXPECT_EQ(reopened->usage().objects, after.objects);
  EXPECT_EQ(reopened->usage().bytes, after.bytes);
}

TEST_F(RetentionTest, TheRetentionPeriodIsAParameterAndObjectsPutRecentlyAreKept) {
  journal::ConflictRecord c;
  c.share_id = share_;
  c.path = "a.txt";
  c.local_object = keep("mine").hash;
  auto cid = journal_->addConflict(c);
  ASSERT_TRUE(cid);
  ASSERT_TRUE(journal_->resolveConflict(*cid, "keep-remote"));
  clock_.advance(48h);
  RetentionOptions three_days;
  three_days.resolved_retention = 72h;
  EXPECT_EQ(retain(true, three_days).conflicts_dropped, 0);
  RetentionOptions one_day;
  one_day.resolved_retention = 24h;
  one_day.put_grace = 72h;  // the object was put 48 h ago: still within its grace
  RetentionReport r = retain(true, one_day);
  EXPECT_EQ(r.conflicts_dropped, 1);
  EXPECT_EQ(r.objects_removed, 0u);
  EXPECT_TRUE(store_->contains(*c.local_object));
  one_day.put_grace = 24h;
  r = retain(true, one_day);
  EXPECT_EQ(r.objects_removed, 1u);
  EXPECT_FALSE(store_->contains(*c.local_object));
  EXPECT_FALSE(journal_->object(*c.local_object)->has_value());
}

TEST_F(RetentionTest, APassThatFailedSomewhereKeepsTheSnapshot) {
  goOffline();
  ASSERT_TRUE(journal_->setShareState(share_, journal::ShareState::kReintegrating));
  EXPECT_EQ(retain(/*clean=*/false).snapshots_dropped, 0);
  EXPECT_EQ(snapshots(), 1u);
  EXPECT_EQ(retain(/*clean=*/true).snapshots_dropped, 1);
}

// The engine's part: a real pass ends by applying retention.
TEST_F(RetentionTest, AReintegrationPassDropsTheSnapshotOfItsDisconnection) {
  remote::PosixRemoteFs local_fs(cache_), remote_fs(remote_root_);
  Reconciler reconciler(ShareSides{*journal_, mu_, share_, local_fs, remote_fs, cache_, *store_,
                                   store::KeepPolicy{}, "laptop", nullptr, nullptr});
  std::ofstream(remote_root_ + "/notes.txt") << "from the server\n";
  auto first = reconciler.run();
  ASSERT_TRUE(first && !first->stopped);
  goOffline();
  EXPECT_EQ(snapshots(), 1u);
  std::ofstream(cache_ + "/notes.txt", std::ios::trunc) << "edited offline\n";
  ASSERT_TRUE(journal_->recordChanges(
      share_, std::vector<Change>{Change{ChangeOp::kWrite, "notes.txt", {}, 0, {}}}));
  ASSERT_TRUE(journal_->setShareState(share_, journal::ShareState::kReintegrating));
  auto pass = reconciler.run();
  ASSERT_TRUE(pass) << pass.error().toString();
  ASSERT_TRUE(pass->clean());
  std::ifstream in(remote_root_ + "/notes.txt");
  std::string got((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(got, "edited offline\n");
  EXPECT_EQ(snapshots(), 0u) << "reintegrated: the snapshot is gone";
}

}  // namespace
}  // namespace hoard::sync

namespace hoard::sync {
namespace {

TEST_F(RetentionTest, TheUnknownFileSweepRunsAtMostOncePerInterval) {
  RetentionOptions o;
  o.put_grace = 0s;
  o.sweep_interval = 1h;
  EXPECT_EQ(retain(true, o).unknown_removed, 0u);  // claims the interval
  store::PutResult orphan = keep("no row will ever name this");
  clock_.advance(10min);
  EXPECT_EQ(retain(true, o).unknown_removed, 0u) << "swept 10 minutes ago";
  EXPECT_TRUE(store_->contains(orphan.hash));
  clock_.advance(1h);
  EXPECT_EQ(retain(true, o).unknown_removed, 1u);
  EXPECT_FALSE(store_->contains(orphan.hash));
}

}  // namespace
}  // namespace hoard::sync
