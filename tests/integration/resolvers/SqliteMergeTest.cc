// SPDX-License-Identifier: MIT
// The sqlite resolver on real databases: three versions made with
// libsqlite3, merged row by row, the result read back with SQLite.

#include <gtest/gtest.h>

#include "Resolver.h"
#include "SqliteMerge.h"
#include "SqliteVersions.h"

namespace hoard::resolvers {
namespace {

using nlohmann::json;

constexpr const char* kNotes =
    "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);"
    "INSERT INTO t VALUES (1,'one'),(2,'two'),(3,'three'),(4,'four'),(5,'five');";

class SqliteMergeTest : public ::testing::Test {
 protected:
  Decision merge(const json& options = json::object(), bool dry_run = false) {
    ConflictView v = db.view(dry_run);
    auto d = resolver.resolve(v, options);
    EXPECT_TRUE(d) << d.error().toString();
    return d ? *d : Decision{};
  }
  std::string rows(const std::string& sql = "SELECT id, v FROM t ORDER BY id") {
    return query(db.result(), sql);
  }

  SqliteVersions db;
  SqliteMerge resolver;
};

TEST_F(SqliteMergeTest, DisjointInsertsUpdatesAndDeletesMergeClean) {
  db.base(kNotes);
  db.local(
      "UPDATE t SET v='ONE' WHERE id=1; DELETE FROM t WHERE id=2; INSERT INTO t VALUES (10,'l');");
  db.remote(
      "UPDATE t SET v='THREE' WHERE id=3; DELETE FROM t WHERE id=4; INSERT INTO t VALUES "
      "(20,'r');");
  std::string local_before = fileBytes(db.path("local.db"));
  std::string remote_before = fileBytes(db.path("remote.db"));
  Decision d = merge();
  EXPECT_EQ(d.kind, DecisionKind::kMerged);
  EXPECT_EQ(d.reason, "clean, 3 rows from local, 3 from remote");
  EXPECT_EQ(rows(), "1|ONE;3|THREE;5|five;10|l;20|r");
  EXPECT_EQ(rows("PRAGMA integrity_check"), "ok");
  // The versions are read, never written.
  EXPECT_EQ(fileBytes(db.path("local.db")), local_before);
  EXPECT_EQ(fileBytes(db.path("remote.db")), remote_before);
}

TEST_F(SqliteMergeTest, RowsChangedAlikeOnBothSidesAreNoConflict) {
  db.base(kNotes);
  db.local("UPDATE t SET v='same' WHERE id=1; DELETE FROM t WHERE id=2;");
  db.remote("UPDATE t SET v='same' WHERE id=1; DELETE FROM t WHERE id=2;");
  Decision d = merge();
  EXPECT_EQ(d.kind, DecisionKind::kMerged);
  EXPECT_EQ(d.reason, "clean, 0 rows from local, 0 from remote");
  EXPECT_EQ(rows(), "1|same;3|three;4|four;5|five");
}

TEST_F(SqliteMergeTest, TheSameRowUpdatedDifferentlyDefersByDefault) {
  db.base(kNotes);
  db.local("UPDATE t SET v='mine' WHERE id=2; UPDATE t SET v='L5' WHERE id=5;");
  db.remote("UPDATE t SET v='theirs' WHERE id=2;");
  Decision d = merge();
  EXPECT_EQ(d.kind, DecisionKind::kDefer);
  EXPECT_EQ(d.reason, "1 row conflicts in table \"t\" (id=2)");
  EXPECT_EQ(d.conflicting_hunks, 1);
  Decision dd = merge(json{{"on_row_conflict", "defer"}});
  EXPECT_EQ(dd.kind, DecisionKind::kDefer);
}

TEST_F(SqliteMergeTest, TheSameRowUpdatedDifferentlyFollowsTheOption) {
  // Different columns of one row are still one conflicting row.
  db.base(std::string(kNotes) + "ALTER TABLE t ADD COLUMN w TEXT;");
  db.local("UPDATE t SET v='mine' WHERE id=2; UPDATE t SET v='L5' WHERE id=5;");
  db.remote("UPDATE t SET w='theirs' WHERE id=2; INSERT INTO t VALUES (9,'r',NULL);");
  Decision l = merge(json{{"on_row_conflict", "local"}});
  EXPECT_EQ(l.kind, DecisionKind::kMerged);
  EXPECT_EQ(l.reason,
            "merged, 2 rows from local, 1 from remote; 1 row conflicts in table \"t\" (id=2), "
            "taken from local");
  EXPECT_EQ(rows("SELECT id, v, w FROM t ORDER BY id"),
            "1|one|NULL;2|mine|NULL;3|three|NULL;4|four|NULL;5|L5|NULL;9|r|NULL");
  Decision r = merge(json{{"on_row_conflict", "remote"}});
  EXPECT_EQ(r.kind, DecisionKind::kMerged);
  EXPECT_EQ(rows("SELECT id, v, w FROM t ORDER BY id"),
            "1|one|NULL;2|two|theirs;3|three|NULL;4|four|NULL;5|L5|NULL;9|r|NULL");
}

TEST_F(SqliteMergeTest, AnUpdateAgainstADeleteIsAConflictingRow) {
  db.base(kNotes);
  db.local("UPDATE t SET v='kept' WHERE id=3;");
  db.remote("DELETE FROM t WHERE id=3;");
  EXPECT_EQ(merge().reason, "1 row conflicts in table \"t\" (id=3)");
  merge(json{{"on_row_conflict", "local"}});
  EXPECT_EQ(rows(), "1|one;2|two;3|kept;4|four;5|five");
  merge(json{{"on_row_conflict", "remote"}});
  EXPECT_EQ(rows(), "1|one;2|two;4|four;5|five");
}

// The commonest case (issue 10): both sides added rows to a table keyed by
// INTEGER PRIMARY KEY and SQLite gave both the same next keys.
TEST_F(SqliteMergeTest, RowsBothSidesInsertedUnderTheSameIntegerKeyAreRenumbered) {
  db.base(kNotes);
  db.local("INSERT INTO t(v) VALUES ('laptop1'), ('laptop2');");
  db.remote("INSERT INTO t(v) VALUES ('server1');");
  Decision d = merge();
  EXPECT_EQ(d.kind, DecisionKind::kMerged);
  EXPECT_EQ(d.reason,
            "clean, 2 rows from local, 1 from remote; inserted on both sides, the local row "
            "renumbered: \"t\" id 6 -> 8");
  // The remote's row keeps its key; the local's row 7 did not collide.
  EXPECT_EQ(rows("SELECT id, v FROM t WHERE id > 5 ORDER BY id"), "6|server1;7|laptop2;8|laptop1");
}

TEST_F(SqliteMergeTest, ManyRenumberedRowsAreSummedUpInTheReason) {
  db.base(kNotes);
  db.local(
      "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 8) "
      "INSERT INTO t(v) SELECT 'laptop' || i FROM n;");
  db.remote(
      "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 8) "
      "INSERT INTO t(v) SELECT 'server' || i FROM n;");
  Decision d = merge();
  EXPECT_EQ(d.reason,
            "clean, 8 rows from local, 8 from remote; inserted on both sides, the local rows "
            "renumbered: \"t\" id 6 -> 14, \"t\" id 7 -> 15, \"t\" id 8 -> 16, \"t\" id 9 -> 17, "
            "\"t\" id 10 -> 18 and 3 more");
  EXPECT_EQ(rows("SELECT count(*), count(DISTINCT v), max(id) FROM t"), "21|21|21");
  EXPECT_EQ(rows("SELECT v FROM t WHERE id IN (13, 14, 21) ORDER BY id"),
            "server8;laptop1;laptop8");
}

TEST_F(SqliteMergeTest, AnIntegerKeyAForeignKeyReferencesIsNotRenumbered) {
  db.base(
      "CREATE TABLE p(id INTEGER PRIMARY KEY, name TEXT);"
      "CREATE TABLE c(id INTEGER PRIMARY KEY, p INTEGER REFERENCES p(id));");
  db.local("INSERT INTO p VALUES (1, 'mine'); INSERT INTO c VALUES (1, 1);");
  db.remote("INSERT INTO p VALUES (1, 'theirs');");
  Decision d = merge();
  EXPECT_EQ(d.kind, DecisionKind::kDefer);
  EXPECT_EQ(d.reason, "1 row conflicts in table \"p\" (id=1)");
}

TEST_F(SqliteMergeTest, BothInsertingTheSameTextKeyDifferentlyIsAConflictingRow) {
  db.base("CREATE TABLE kv(k TEXT PRIMARY KEY, v TEXT);");
  db.local("INSERT INTO kv VALUES ('colour', 'red');");
  db.remote("INSERT INTO kv VALUES ('colour', 'blue');");
  EXPECT_EQ(merge().reason, "1 row conflicts in table \"kv\" (k='colour')");
  merge(json{{"on_row_conflict", "remote"}});
  EXPECT_EQ(rows("SELECT v FROM kv"), "blue");
}

TEST_F(SqliteMergeTest, ADryRunReportsWithoutWriting) {
  db.base(kNotes);
  db.local("INSERT INTO t VALUES (6,'l');");
  db.remote("INSERT INTO t VALUES (7,'r'); UPDATE t SET v='x' WHERE id=1;");
  Decision d = merge(json::object(), /*dry_run=*/true);
  EXPECT_EQ(d.kind, DecisionKind::kMerged);
  EXPECT_EQ(d.reason, "clean, 1 row from local, 2 from remote");
  db.local("UPDATE t SET v='y' WHERE id=1;");
  Decision c = merge(json::object(), /*dry_run=*/true);
  EXPECT_EQ(c.kind, DecisionKind::kDefer);
  EXPECT_EQ(c.reason, "1 row conflicts in table \"t\" (id=1)");
}

TEST_F(SqliteMergeTest, ASchemaChangeOnEitherSideDefers) {
  db.base(kNotes);
  db.local("ALTER TABLE t ADD COLUMN extra INTEGER;");
  Decision d = merge();
  EXPECT_EQ(d.kind, DecisionKind::kDefer);
  EXPECT_EQ(d.reason, "the schema changed: table \"t\" was changed on the local side");
}

TEST_F(SqliteMergeTest, ANewTableOnTheRemoteDefers) {
  db.base(kNotes);
  db.remote("CREATE TABLE extra(id INTEGER PRIMARY KEY);");
  EXPECT_EQ(merge().reason, "the schema changed: table \"extra\" was added on the remote side");
}

TEST_F(SqliteMergeTest, AMissingBaseDefers) {
  db.base(kNotes);
  ConflictView v = db.view(false, /*with_base=*/false);
  auto d = resolver.resolve(v, json::object());
  ASSERT_TRUE(d);
  EXPECT_EQ(d->kind, DecisionKind::kDefer);
  EXPECT_EQ(d->reason, "no base version of the database was kept");
}

TEST_F(SqliteMergeTest, ACorruptFileWithASqliteHeaderDefers) {
  db.base(kNotes);
  std::string bytes = fileBytes(db.path("local.db"));
  for (size_t i = 100; i < bytes.size(); ++i) bytes[i] = char(0xA5);
  std::ofstream(db.path("local.db"), std::ios::binary | std::ios::trunc) << bytes;
  Decision d = merge();
  EXPECT_EQ(d.kind, DecisionKind::kDefer);
  EXPECT_EQ(d.reason.rfind("the local version is not a valid database", 0), 0u) << d.reason;
}

TEST_F(SqliteMergeTest, AFileThatIsNoDatabaseDefers) {
  db.base(kNotes);
  std::ofstream(db.path("remote.db"), std::ios::trunc) << "id,v\r\n1,one";
  EXPECT_EQ(merge().reason, "the remote version is not a SQLite database");
}

TEST_F(SqliteMergeTest, ATableWithoutPrimaryKeyChangedOnBothSidesDefers) {
  db.base("CREATE TABLE log(line TEXT); INSERT INTO log VALUES ('a'),('b');");
  db.local("INSERT INTO log VALUES ('l');");
  db.remote("INSERT INTO log VALUES ('r');");
  Decision d = merge();
  EXPECT_EQ(d.kind, DecisionKind::kDefer);
  EXPECT_EQ(d.reason,
            "table \"log\" has no primary key and changed on both sides: its rows cannot be "
            "matched");
}

TEST_F(SqliteMergeTest, ATableWithoutPrimaryKeyChangedOnOneSideIsTakenWhole) {
  db.base(std::string(kNotes) + "CREATE TABLE log(line TEXT); INSERT INTO log VALUES ('a'),('b');");
  db.local("DELETE FROM log WHERE line='a'; INSERT INTO log VALUES ('l');");
  db.remote("INSERT INTO t VALUES (8,'r');");
  Decision d = merge();
  EXPECT_EQ(d.kind, DecisionKind::kMerged);
  EXPECT_EQ(d.reason,
            "clean, 0 rows from local, 1 from remote; table \"log\" (no primary key) "
            "taken from local");
  EXPECT_EQ(rows("SELECT line FROM log ORDER BY rowid"), "b;l");
  EXPECT_EQ(rows("SELECT count(*) FROM t"), "6");
}

TEST_F(SqliteMergeTest, ADatabaseInWalModeStaysInWalMode) {
  db.base(std::string("PRAGMA journal_mode=WAL;") + kNotes);
  db.local("INSERT INTO t VALUES (6,'l');");
  db.remote("PRAGMA journal_mode=DELETE; INSERT INTO t VALUES (7,'r');");
  merge();
  std::string result = db.result();
  EXPECT_EQ(fileBytes(result)[18], 2) << "the local's journal mode is WAL";
  EXPECT_EQ(query(result, "PRAGMA journal_mode"), "wal");
  EXPECT_EQ(query(result, "SELECT id FROM t ORDER BY id"), "1;2;3;4;5;6;7");
  EXPECT_EQ(query(result, "PRAGMA integrity_check"), "ok");
}

TEST_F(SqliteMergeTest, ALocalInRollbackModeGivesARollbackResult) {
  db.base(std::string("PRAGMA journal_mode=WAL;") + kNotes);
  db.local("PRAGMA journal_mode=DELETE; INSERT INTO t VALUES (6,'l');");
  merge();
  std::string result = db.result();
  EXPECT_EQ(fileBytes(result)[18], 1);
  EXPECT_EQ(query(result, "SELECT count(*) FROM t"), "6");
}

TEST_F(SqliteMergeTest, BlobsNullsAndNonUtf8KeysKeepTheirBytes) {
  db.base(
      "CREATE TABLE b(k BLOB PRIMARY KEY, v) WITHOUT ROWID;"
      "INSERT INTO b VALUES (x'00ff00', NULL), (x'6e6f', x'0d0a00');");
  db.local("INSERT INTO b VALUES (x'ff', x'00'); UPDATE b SET v = NULL WHERE k = x'6e6f';");
  db.remote(
      "INSERT INTO b VALUES (x'c3', zeroblob(70000)); UPDATE b SET v = x'01' WHERE k = x'00ff00';");
  Decision d = merge();
  EXPECT_EQ(d.kind, DecisionKind::kMerged) << d.reason;
  EXPECT_EQ(rows("SELECT hex(k), hex(v), typeof(v) FROM b WHERE length(v) < 10 "
                 "OR v IS NULL ORDER BY k"),
            "00FF00|01|blob;6E6F||null;FF|00|blob");
  EXPECT_EQ(rows("SELECT length(v) FROM b WHERE k = x'c3'"), "70000");
}

TEST_F(SqliteMergeTest, ConflictingBlobKeysAreNamedInHex) {
  db.base(
      "CREATE TABLE b(k BLOB PRIMARY KEY, v) WITHOUT ROWID; INSERT INTO b VALUES (x'00ff', 1);");
  db.local("UPDATE b SET v = 2;");
  db.remote("UPDATE b SET v = 3;");
  EXPECT_EQ(merge().reason, "1 row conflicts in table \"b\" (k=x'00ff')");
}

TEST_F(SqliteMergeTest, TablesAndColumnsNamedWithSpacesAndQuotes) {
  db.base(
      "CREATE TABLE \"my \"\"odd\"\" table\"(\"the key\" TEXT PRIMARY KEY, \"it's\" TEXT);"
      "INSERT INTO \"my \"\"odd\"\" table\" VALUES ('a b', 'x'), ('c', 'y');");
  db.local("UPDATE \"my \"\"odd\"\" table\" SET \"it's\" = 'L' WHERE \"the key\" = 'a b';");
  db.remote("INSERT INTO \"my \"\"odd\"\" table\" VALUES ('d''e', 'R');");
  Decision d = merge();
  EXPECT_EQ(d.kind, DecisionKind::kMerged) << d.reason;
  EXPECT_EQ(rows("SELECT * FROM \"my \"\"odd\"\" table\" ORDER BY 1"), "a b|L;c|y;d'e|R");
  db.remote("UPDATE \"my \"\"odd\"\" table\" SET \"it's\" = 'R' WHERE \"the key\" = 'a b';");
  EXPECT_EQ(merge().reason, "1 row conflicts in table \"my \"\"odd\"\" table\" (the key='a b')");
  merge(json{{"on_row_conflict", "remote"}});
  EXPECT_EQ(rows("SELECT \"it's\" FROM \"my \"\"odd\"\" table\" WHERE \"the key\" = 'a b'"), "R");
}

TEST_F(SqliteMergeTest, AMergeThatBreaksAUniqueConstraintDefers) {
  db.base("CREATE TABLE u(id INTEGER PRIMARY KEY, email TEXT UNIQUE);");
  db.local("INSERT INTO u VALUES (1, 'a@x');");
  db.remote("INSERT INTO u VALUES (2, 'a@x');");
  Decision d = merge();
  EXPECT_EQ(d.kind, DecisionKind::kDefer);
  EXPECT_EQ(d.reason, "the merge breaks a UNIQUE, NOT NULL or CHECK constraint of table \"u\"");
}

TEST_F(SqliteMergeTest, AMergeThatBreaksAForeignKeyDefers) {
  db.base(
      "CREATE TABLE p(id INTEGER PRIMARY KEY);"
      "CREATE TABLE c(id INTEGER PRIMARY KEY, p INTEGER REFERENCES p(id));"
      "INSERT INTO p VALUES (1), (2);");
  db.local("INSERT INTO c VALUES (10, 2);");
  db.remote("DELETE FROM p WHERE id = 2;");
  Decision d = merge();
  EXPECT_EQ(d.kind, DecisionKind::kDefer);
  EXPECT_EQ(d.reason, "the merge breaks a FOREIGN KEY of table \"c\"");
}

TEST_F(SqliteMergeTest, TriggersOfTheSidesAreNotRunAgain) {
  db.base(
      "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);"
      "CREATE TABLE audit(id INTEGER PRIMARY KEY, what TEXT);"
      "CREATE TRIGGER t_ins AFTER INSERT ON t BEGIN INSERT INTO audit(what) VALUES "
      "('insert ' || new.v); END;");
  db.local("INSERT INTO t VALUES (1, 'l');");
  db.remote("INSERT INTO t VALUES (2, 'r');");
  // Both sides' triggers made audit row 1: renumbered, and not run again
  // (which would have made four audit rows).
  Decision d = merge();
  EXPECT_EQ(d.kind, DecisionKind::kMerged) << d.reason;
  EXPECT_EQ(rows("SELECT id, what FROM audit ORDER BY id"), "1|insert r;2|insert l");
  EXPECT_EQ(rows("SELECT id FROM t ORDER BY id"), "1;2");
}

TEST_F(SqliteMergeTest, AutoincrementCountersKeepTheLargerSide) {
  db.base(
      "CREATE TABLE a(id INTEGER PRIMARY KEY AUTOINCREMENT, v TEXT);"
      "INSERT INTO a(v) VALUES ('x');");
  db.local("INSERT INTO a VALUES (50, 'l'); DELETE FROM a WHERE id = 50;");
  db.remote("INSERT INTO a VALUES (7, 'r');");
  EXPECT_EQ(merge().kind, DecisionKind::kMerged);
  EXPECT_EQ(rows("SELECT seq FROM sqlite_sequence WHERE name = 'a'"), "50");
  EXPECT_EQ(rows("SELECT id FROM a ORDER BY id"), "1;7");
}

TEST(SqliteMergeOptions, AreCheckedNamingTheKey) {
  SqliteMerge r;
  EXPECT_TRUE(r.checkOptions(json::object()));
  EXPECT_TRUE(r.checkOptions(json{{"on_row_conflict", "local"}}));
  auto bad = r.checkOptions(json{{"on_row_conflict", "mine"}});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(bad.error().message(), "/on_row_conflict: expected \"defer\", \"local\" or \"remote\"");
  auto unknown = r.checkOptions(json{{"on_conflict", "local"}});
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().message(),
            "/on_conflict: unknown option of resolver \"sqlite\" (it takes on_row_conflict)");
  EXPECT_FALSE(r.checkOptions(json::array()));
}

TEST(SqliteMergeRegistry, IsABuiltin) {
  Registry reg;
  registerBuiltins(reg);
  auto r = reg.find("sqlite");
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->name(), "sqlite");
}

}  // namespace
}  // namespace hoard::resolvers
