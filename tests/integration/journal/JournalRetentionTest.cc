// SPDX-License-Identifier: MIT
// Retention in the journal (issue 9, point 7): a snapshot lives until the
// changes of its disconnection are reintegrated, resolved conflicts until a
// bound the caller gives, and journals made before migration 0003 migrate.

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>

#include "JournalTestUtil.h"
#include "journal/Journal.h"

namespace hoard::journal {
namespace {

using namespace hoard::journal::testing;  // NOLINT

int64_t refcount(Journal& j, const ContentHash& id) {
  auto o = j.object(id);
  EXPECT_TRUE(o);
  return o && o->has_value() ? (*o)->refcount : -1;
}

Change writeOf(const std::string& p) { return Change{ChangeOp::kWrite, p, {}, 0, {}}; }
Change createOf(const std::string& p) { return Change{ChangeOp::kCreate, p, {}, 0644, {}}; }

class JournalRetentionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    j_ = openOk(dir_.file("j.db"));
    ASSERT_TRUE(j_);
    auto s = j_->addShare(shareSpec("docs"));
    ASSERT_TRUE(s);
    share_ = *s;
    ASSERT_TRUE(j_->setShareState(share_, ShareState::kOnline));
  }
  // What JournalShareStateStore::enterOffline does: snapshot, then OFFLINE.
  int64_t goOffline() {
    int64_t id = 0;
    EXPECT_TRUE(j_->inTransaction([&]() -> Status {
      auto snap = j_->takeSnapshot(share_, "pre-disconnection");
      if (!snap) return tl::unexpected(snap.error());
      id = *snap;
      return j_->setShareState(share_, ShareState::kOffline);
    }));
    return id;
  }
  // A pass that reintegrated everything logged so far.
  void reintegrateAll() {
    auto frozen = j_->freezeChanges(share_);
    ASSERT_TRUE(frozen);
    ASSERT_TRUE(j_->dropChangesThrough(share_, *frozen));
  }
  std::vector<int64_t> dropReintegrated() {
    auto d = j_->dropReintegratedSnapshots(share_);
    EXPECT_TRUE(d) << d.error().toString();
    return d ? *d : std::vector<int64_t>{};
  }

  TempDir dir_;
  std::unique_ptr<Journal> j_;
  int64_t share_ = 0;
};

TEST_F(JournalRetentionTest, ASnapshotGoesOnceTheChangesOfItsDisconnectionAreReintegrated) {
  ContentHash v1 = hashOf("v1"), v2 = hashOf("v2");
  ASSERT_TRUE(j_->putBase(share_, fileEntry("f", 2, v1)));
  int64_t snap = goOffline();
  EXPECT_EQ(refcount(*j_, v1), 2) << "the snapshot holds the pre-disconnection version";
  auto offline_seq = j_->recordChanges(share_, std::vector<Change>{writeOf("f")});
  ASSERT_TRUE(offline_seq);

  EXPECT_TRUE(dropReintegrated().empty()) << "still offline: the disconnection goes on";
  ASSERT_TRUE(j_->setShareState(share_, ShareState::kReintegrating));
  auto info = j_->snapshots(share_);
  ASSERT_TRUE(info);
  ASSERT_EQ(info->size(), 1u);
  ASSERT_TRUE((*info)[0].ended_through_seq.has_value());
  EXPECT_EQ(*(*info)[0].ended_through_seq, *offline_seq) << "the disconnection ends at its last change";
  EXPECT_TRUE(dropReintegrated().empty()) << "the offline write is not reintegrated yet";

  // The pass pushes f (new base) and drops the replayed records.
  ASSERT_TRUE(j_->putBase(share_, fileEntry("f", 2, v2)));
  reintegrateAll();
  // A change made after the share came back does not hold the snapshot.
  ASSERT_TRUE(j_->recordChanges(share_, std::vector<Change>{writeOf("later")}));
  EXPECT_EQ(dropReintegrated(), std::vector<int64_t>{snap});
  EXPECT_TRUE(j_->snapshots(share_)->empty());
  EXPECT_EQ(refcount(*j_, v1), 0) << "its objects' refcounts fall";
  EXPECT_EQ(refcount(*j_, v2), 1);
  auto unref = j_->unreferencedObjects();
  ASSERT_TRUE(unref);
  ASSERT_EQ(unref->size(), 1u);
  EXPECT_EQ((*unref)[0].id, v1);
}

TEST_F(JournalRetentionTest, AChangeCoalescedIntoARecordFromBeforeTheSnapshotStillHoldsIt) {
  // `create g` is logged online and not yet replayed; the share goes offline;
  // the offline write of g is absorbed into that older record (rule 1), whose
  // seq is at or below the snapshot's through_seq. It must still count.
  ASSERT_TRUE(j_->recordChanges(share_, std::vector<Change>{createOf("g")}));
  int64_t snap = goOffline();
  auto before = j_->changeCount(share_);
  ASSERT_TRUE(j_->recordChanges(share_, std::vector<Change>{writeOf("g")}));
  EXPECT_EQ(*j_->changeCount(share_), *before) << "the write was coalesced";
  ASSERT_TRUE(j_->setShareState(share_, ShareState::kOnline));
  EXPECT_TRUE(dropReintegrated().empty());
  reintegrateAll();
  EXPECT_EQ(dropReintegrated(), std::vector<int64_t>{snap});
}

TEST_F(JournalRetentionTest, AnOpenConflictHoldsTheSnapshotAndEveryDisconnectionEndsItsOwn) {
  int64_t first = goOffline();
  ASSERT_TRUE(j_->setShareState(share_, ShareState::kReintegrating));
  int64_t second = goOffline();  // the link dropped again mid-reintegration
  ConflictRecord c;
  c.share_id = share_;
  c.path = "f";
  auto cid = j_->addConflict(c);
  ASSERT_TRUE(cid);
  reintegrateAll();
  EXPECT_TRUE(dropReintegrated().empty()) << "an open conflict holds them, and one is offline";
  ASSERT_TRUE(j_->resolveConflict(*cid, "keep-local"));
  EXPECT_EQ(dropReintegrated(), std::vector<int64_t>{first}) << "the second is still offline";
  ASSERT_TRUE(j_->setShareState(share_, ShareState::kOnline));
  EXPECT_EQ(dropReintegrated(), std::vector<int64_t>{second});
}

TEST_F(JournalRetentionTest, ResolvedConflictsGoAfterTheBoundWithTheirObjects) {
  ContentHash base = hashOf("base"), mine = hashOf("mine"), theirs = hashOf("theirs");
  ConflictRecord c;
  c.share_id = share_;
  c.path = "f";
  c.base_object = base;
  c.local_object = mine;
  c.remote_object = theirs;
  auto resolved = j_->addConflict(c);
  ASSERT_TRUE(resolved);
  ASSERT_TRUE(j_->resolveConflict(*resolved, "keep-local"));
  c.path = "g";
  auto open = j_->addConflict(c);
  ASSERT_TRUE(open);
  EXPECT_EQ(refcount(*j_, mine), 2);

  auto resolved_at = j_->conflict(*resolved)->resolved_at_ns;
  auto kept = j_->purgeResolvedConflictsBefore(share_, resolved_at);
  ASSERT_TRUE(kept);
  EXPECT_EQ(*kept, 0) << "resolved exactly at the bound: still retained";
  EXPECT_EQ(refcount(*j_, mine), 2);

  auto gone = j_->purgeResolvedConflictsBefore(share_, resolved_at + 1);
  ASSERT_TRUE(gone);
  EXPECT_EQ(*gone, 1);
  EXPECT_FALSE(j_->conflict(*resolved));
  EXPECT_TRUE(j_->conflict(*open)) << "open conflicts are never dropped";
  for (const ContentHash& id : {base, mine, theirs}) EXPECT_EQ(refcount(*j_, id), 1);
  auto none = j_->purgeResolvedConflictsBefore(share_, INT64_MAX);
  ASSERT_TRUE(none);
  EXPECT_EQ(*none, 0);
}

TEST(JournalRetentionMigrationTest, AJournalMadeWith0001And0002Migrates) {
  TempDir dir;
  std::string path = dir.file("old.db");
  {
    sqlite3* created = nullptr;  // RawDb opens existing files only
    ASSERT_EQ(sqlite3_open(path.c_str(), &created), SQLITE_OK);
    sqlite3_close(created);
  }
  {
    // The journal as hoard wrote it before 0003: the first two files only.
    RawDb raw(path);
    raw.exec("BEGIN");
    raw.exec(readBytes(std::string(HOARD_JOURNAL_SCHEMA_DIR) + "/0001_initial.sql"));
    raw.exec("PRAGMA user_version = 1");
    raw.exec(readBytes(std::string(HOARD_JOURNAL_SCHEMA_DIR) + "/0002_intents.sql"));
    raw.exec("PRAGMA user_version = 2");
    raw.exec(
        "INSERT INTO shares (id, name, remote_root, cache_root, state, created_at_ns) VALUES "
        "(1, 'back', x'2f72', x'2f63', 'online', 1), (2, 'away', x'2f72', x'2f64', 'offline', 1)");
    raw.exec("INSERT INTO change_log (share_id, op, path, logged_at_ns) VALUES "
             "(1, 2, x'61', 1), (2, 2, x'62', 1), (2, 2, x'63', 1)");
    raw.exec("INSERT INTO snapshots (id, share_id, taken_at_ns, through_seq) VALUES "
             "(1, 1, 1, 0), (2, 2, 1, 0), (3, 1, 2, 1), (4, 2, 2, 2)");
    raw.exec("INSERT INTO conflicts (share_id, path, kind, state, resolution, created_at_ns, "
             "resolved_at_ns) VALUES (1, x'61', 'content', 'resolved', 'keep-local', 5, 7)");
    raw.exec("COMMIT");
  }
  auto j = openOk(path);
  ASSERT_TRUE(j);
  EXPECT_EQ(*j->schemaVersion(), Journal::knownSchemaVersion());
  EXPECT_GE(Journal::knownSchemaVersion(), 3);
  auto back = j->snapshots(1);
  ASSERT_TRUE(back);
  ASSERT_EQ(back->size(), 2u);
  for (const SnapshotInfo& s : *back) {
    EXPECT_EQ(s.ended_through_seq, std::optional<int64_t>(3)) << "share back is online: ended";
  }
  auto away = j->snapshots(2);
  ASSERT_TRUE(away);
  ASSERT_EQ(away->size(), 2u);
  EXPECT_EQ((*away)[0].ended_through_seq, std::optional<int64_t>(3)) << "an older disconnection";
  EXPECT_FALSE((*away)[1].ended_through_seq.has_value()) << "the current disconnection goes on";
  // The migrated rows follow the new rules.
  EXPECT_TRUE(j->dropReintegratedSnapshots(1)->empty()) << "share 1 still logs seq 1";
  ASSERT_TRUE(j->freezeChanges(1));
  ASSERT_TRUE(j->dropChangesThrough(1, 1));
  EXPECT_EQ(*j->dropReintegratedSnapshots(1), (std::vector<int64_t>{1, 3}));
  EXPECT_TRUE(j->dropReintegratedSnapshots(2)->empty());
  EXPECT_EQ(*j->purgeResolvedConflictsBefore(1, 8), 1);
}

}  // namespace
}  // namespace hoard::journal
