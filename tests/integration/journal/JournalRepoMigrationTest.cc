// SPDX-License-Identifier: MIT
// Migration 0007 rebuilds the conflicts table to take the kind 'repo' (a
// git repository changed on both sides). A journal made with 0001..0005,
// holding open and resolved conflicts, their resolutions' history and the
// objects they count, migrates with every row, every count and every
// trigger and index as before.

#include <gtest/gtest.h>

#include "JournalTestUtil.h"
#include "journal/Journal.h"

namespace hoard::journal {
namespace {

using namespace hoard::journal::testing;  // NOLINT

std::string hexOf(const ContentHash& h) {
  static const char* d = "0123456789abcdef";
  std::string out;
  for (unsigned char c : h.bytes) {
    out += d[c >> 4];
    out += d[c & 15];
  }
  return out;
}

TEST(JournalRepoMigrationTest, AJournalAt0005KeepsItsConflictsHistoryAndCounts) {
  TempDir dir;
  const std::string path = dir.file("old.db");
  {
    sqlite3* created = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &created), SQLITE_OK);
    sqlite3_close(created);
  }
  const ContentHash mine = hashOf("mine"), theirs = hashOf("theirs");
  {
    RawDb raw(path);
    raw.exec("PRAGMA foreign_keys=ON");
    raw.exec("BEGIN");
    for (const char* f : {"0001_initial.sql", "0002_intents.sql", "0003_retention.sql",
                          "0004_conflict_refresh.sql", "0005_resolutions.sql"})
      raw.exec(readBytes(std::string(HOARD_JOURNAL_SCHEMA_DIR) + "/" + f));
    raw.exec("PRAGMA user_version = 5");
    raw.exec(
        "INSERT INTO shares (id, name, remote_root, cache_root, state, created_at_ns) VALUES "
        "(1, 'docs', x'2f72', x'2f63', 'online', 1)");
    raw.exec("INSERT INTO conflicts (id, share_id, path, kind, state, resolution, local_object, "
             "remote_object, created_at_ns, resolved_at_ns) VALUES "
             "(1, 1, x'61', 'content', 'resolved', 'keep-local', x'" + hexOf(mine) + "', x'" +
             hexOf(theirs) + "', 5, 7), (2, 1, x'62', 'type', 'open', NULL, NULL, x'" +
             hexOf(theirs) + "', 6, NULL)");
    raw.exec("INSERT INTO resolutions (conflict_id, share_id, path, decision, local_before, "
             "resolved_at_ns) VALUES (1, 1, x'61', 'keep-local', x'" + hexOf(mine) + "', 7)");
    raw.exec("COMMIT");
    EXPECT_EQ(raw.scalar("SELECT refcount FROM objects WHERE id = x'" + hexOf(mine) + "'"), "2");
    EXPECT_EQ(raw.scalar("SELECT refcount FROM objects WHERE id = x'" + hexOf(theirs) + "'"), "2");
  }
  auto j = openOk(path);
  ASSERT_TRUE(j);
  EXPECT_EQ(*j->schemaVersion(), Journal::knownSchemaVersion());
  auto all = j->conflicts(1, false);
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 2u);
  auto history = j->resolutions(1);
  ASSERT_TRUE(history) << history.error().toString();
  ASSERT_EQ(history->size(), 1u) << "the rebuilt table took no history with it";
  EXPECT_EQ((*history)[0].conflict_id, 1);
  for (const ContentHash& h : {mine, theirs}) {
    auto o = j->object(h);
    ASSERT_TRUE(o && o->has_value());
    EXPECT_EQ((*o)->refcount, 2) << "counts as before the migration";
  }
  // The new kind is taken, the triggers count its objects, the one-open
  // index still holds.
  ConflictRecord c;
  c.share_id = 1;
  c.path = "proj/.git";
  c.kind = ConflictKind::kRepo;
  c.local_object = mine;
  auto id = j->addConflict(c);
  ASSERT_TRUE(id) << id.error().toString();
  EXPECT_EQ((*j->conflict(*id)).kind, ConflictKind::kRepo);
  EXPECT_EQ((*j->object(mine))->refcount, 3);
  EXPECT_FALSE(j->addConflict(c)) << "a path has at most one open conflict";
  RawDb raw(path);
  EXPECT_EQ(raw.scalar("PRAGMA foreign_keys"), "0");  // a fresh connection's default
  EXPECT_EQ(raw.scalar("SELECT count(*) FROM pragma_foreign_key_check"), "0");
  j.reset();
  auto again = openOk(path);
  ASSERT_TRUE(again);
  EXPECT_FALSE(again->addConflict([] {
    ConflictRecord bad;
    bad.share_id = 99;  // no such share: foreign keys are on again after migrating
    bad.path = "x";
    return bad;
  }()));
}

}  // namespace
}  // namespace hoard::journal
