// SPDX-License-Identifier: MIT
// SqliteUnit on real databases (libsqlite3) held open by a real program (a
// python3 child process), in WAL and rollback-journal modes: detection by
// header, companions folded into one unit, snapshots that see the WAL and
// never tear, versions applied into a live database under SQLite's locks.

#include "sync/SqliteUnit.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "integration/sync/SqliteChild.h"
#include "remote/PosixRemoteFs.h"

namespace hoard::sync {
namespace {

namespace fs = std::filesystem;

class SqliteUnitTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = "/tmp/hoard-sqlite-unit-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    db_ = dir_ + "/w.db";
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Runs `sql` on a connection of the test process, then closes it.
  static void sql(const std::string& path, const std::string& statements) { runSql(path, statements); }
  // The first column of the first row of `query`, as text ("<error: ...>" on failure).
  static std::string one(const std::string& path, const std::string& query) {
    sqlite3* db = nullptr;
    if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
      sqlite3_close(db);
      return "<error: open>";
    }
    sqlite3_stmt* st = nullptr;
    std::string out;
    if (sqlite3_prepare_v2(db, query.c_str(), -1, &st, nullptr) != SQLITE_OK) {
      out = std::string("<error: ") + sqlite3_errmsg(db) + ">";
    } else if (sqlite3_step(st) == SQLITE_ROW) {
      const unsigned char* t = sqlite3_column_text(st, 0);
      out = t ? reinterpret_cast<const char*>(t) : "NULL";
    } else {
      out = std::string("<error: ") + sqlite3_errmsg(db) + ">";
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return out;
  }
  static std::string bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return "<absent>";
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  static void write(const std::string& path, const std::string& b) {
    std::ofstream(path, std::ios::binary | std::ios::trunc) << b;
  }
  // Writes what `fd` holds into a file of its own, to open it with SQLite.
  std::string saveFd(int fd, const std::string& name) {
    std::string path = dir_ + "/" + name;
    std::string data;
    char buf[65536];
    for (off_t off = 0;;) {
      ssize_t n = ::pread(fd, buf, sizeof(buf), off);
      if (n <= 0) break;
      data.append(buf, static_cast<size_t>(n));
      off += n;
    }
    write(path, data);
    return path;
  }
  static bool exists(const std::string& p) {
    return fs::symlink_status(p).type() != fs::file_type::not_found;
  }

  // A WAL database with `base` rows, then a child that keeps it open with
  // autocheckpoint off and adds `more` rows: they sit only in the -wal.
  std::unique_ptr<SqliteChild> walWithRowsInWal(int base, int more) {
    sql(db_, "PRAGMA journal_mode=WAL; CREATE TABLE t(id INTEGER PRIMARY KEY, side TEXT);");
    for (int i = 0; i < base; ++i) sql(db_, "INSERT INTO t(side) VALUES ('base')");
    auto child = std::make_unique<SqliteChild>(db_);
    EXPECT_TRUE(child->running());
    EXPECT_EQ(child->exec("PRAGMA wal_autocheckpoint=0"), "ok");
    for (int i = 0; i < more; ++i)
      EXPECT_EQ(child->exec("INSERT INTO t(side) VALUES ('cache')"), "ok");
    return child;
  }

  std::string dir_, db_;
};

TEST(SqliteUnitNames, CompanionsAreRecognisedByTheirSuffixOnTheLastComponent) {
  auto w = sqliteCompanionOf("a/w.db-wal");
  ASSERT_TRUE(w);
  EXPECT_EQ(w->db, "a/w.db");
  EXPECT_EQ(w->which, SqliteCompanion::kWal);
  auto j = sqliteCompanionOf("data-journal");
  ASSERT_TRUE(j);
  EXPECT_EQ(j->db, "data");
  EXPECT_EQ(j->which, SqliteCompanion::kJournal);
  EXPECT_EQ(sqliteCompanionOf("x/w.db-shm")->which, SqliteCompanion::kShm);
  EXPECT_FALSE(sqliteCompanionOf("a/-wal"));        // nothing before the suffix
  EXPECT_FALSE(sqliteCompanionOf("dir-wal/x.db"));  // the suffix is a directory's
  EXPECT_FALSE(sqliteCompanionOf("w.db-walx"));
  EXPECT_FALSE(sqliteCompanionOf("w.db"));
  EXPECT_EQ(sqliteCompanionPath("a/\xff.db", SqliteCompanion::kJournal), "a/\xff.db-journal");
}

TEST_F(SqliteUnitTest, ADatabaseIsKnownByItsHeaderNotItsName) {
  sql(dir_ + "/noext", "CREATE TABLE t(x)");
  write(dir_ + "/fake.db", "not a database at all, though named like one");
  write(dir_ + "/short", "SQLite for");
  write(dir_ + "/empty.sqlite", "");
  fs::create_directories(dir_ + "/dir.db");
  fs::create_symlink(dir_ + "/noext", dir_ + "/link.db");
  EXPECT_EQ(isSqliteFile(dir_ + "/noext"), true);
  EXPECT_EQ(isSqliteFile(dir_ + "/fake.db"), false);
  EXPECT_EQ(isSqliteFile(dir_ + "/short"), false);
  EXPECT_EQ(isSqliteFile(dir_ + "/empty.sqlite"), false);
  EXPECT_EQ(isSqliteFile(dir_ + "/dir.db"), false);
  EXPECT_EQ(isSqliteFile(dir_ + "/link.db"), false);  // a symlink is not followed
  EXPECT_EQ(isSqliteFile(dir_ + "/absent"), false);
}

TEST_F(SqliteUnitTest, FoldingTakesCompanionsOfDatabasesOnlyAndTheWalChangesTheUnit) {
  auto st = [](uint64_t size, int64_t mtime, std::string dv) {
    remote::Stat s;
    s.meta.type = FileType::kFile;
    s.meta.size = size;
    s.meta.mtime_ns = mtime;
    s.meta.ctime_ns = mtime;
    s.meta.inode = static_cast<uint64_t>(mtime);
    s.data_version = std::move(dv);
    return s;
  };
  SqliteStatMap listing;
  listing["w.db"] = st(8192, 1, "v-main");
  listing["w.db-wal"] = st(4096, 2, "v-wal");
  listing["w.db-shm"] = st(32768, 3, "v-shm");
  listing["notes"] = st(10, 4, "v-notes");            // not a database
  listing["notes-journal"] = st(10, 5, "v-notes-j");  // so a file of its own
  listing["lonely.db-wal"] = st(10, 6, "v-lonely");   // no main file: left alone
  listing["d/data"] = st(4096, 7, "v-data");          // a database without extension
  listing["d/data-journal"] = st(512, 8, "v-data-j");
  listing["x.db"] = st(4096, 9, "v-x");  // a database without companions: untouched
  std::vector<RelPath> asked;
  auto units = foldSqliteUnits(listing, [&](const RelPath& p) {
    asked.push_back(p);
    return p == "w.db" || p == "d/data" || p == "x.db";
  });
  EXPECT_EQ(units.size(), 2u);
  EXPECT_FALSE(listing.count("w.db-wal"));
  EXPECT_FALSE(listing.count("w.db-shm"));
  EXPECT_FALSE(listing.count("d/data-journal"));
  EXPECT_TRUE(listing.count("notes-journal"));
  EXPECT_TRUE(listing.count("lonely.db-wal"));
  // Asked once per candidate, never for files without companions.
  EXPECT_EQ(asked, (std::vector<RelPath>{"d/data", "notes", "w.db"}));
  ASSERT_TRUE(units.count("w.db"));
  EXPECT_EQ(units["w.db"].main.data_version, "v-main");
  EXPECT_EQ(units["w.db"].wal->data_version, "v-wal");
  EXPECT_EQ(units["w.db"].shm->data_version, "v-shm");
  EXPECT_NE(listing["w.db"].data_version, "v-main");
  EXPECT_NE(listing["w.db"].meta, units["w.db"].main.meta);
  EXPECT_EQ(listing["w.db"].meta.mtime_ns, 1);  // the main's, for pushes
  EXPECT_EQ(listing["x.db"].data_version, "v-x");

  // Only the -wal moved (the main's mtime unchanged): the unit changed.
  SqliteParts p = units["w.db"];
  FileMeta before = sqliteUnitMeta(p.main.meta, p);
  std::string vbefore = sqliteUnitVersion(p.main.data_version, p);
  p.wal->meta.size += 4120;
  EXPECT_NE(sqliteUnitMeta(p.main.meta, p), before);
  EXPECT_NE(sqliteUnitVersion(p.main.data_version, p), vbefore);
  p = units["w.db"];
  p.wal->meta.mtime_ns += 1;  // a restarted WAL: same size, rewritten
  EXPECT_NE(sqliteUnitMeta(p.main.meta, p), before);
  EXPECT_NE(sqliteUnitVersion(p.main.data_version, p), vbefore);
  // What moves without content: the -shm (a reader's read marks), the
  // -wal's ctime alone (SQLite as root chowns it on open).
  p = units["w.db"];
  p.shm->meta.mtime_ns += 5;
  p.shm->data_version = "v-shm-2";
  p.wal->meta.ctime_ns += 7;
  p.wal->data_version = "v-wal-ctime-moved";
  EXPECT_EQ(sqliteUnitMeta(p.main.meta, p), before);
  EXPECT_EQ(sqliteUnitVersion(p.main.data_version, p), vbefore);
  // An empty -wal (a program opened the database) is no content: the unit
  // is its main file, as without a -wal.
  p.wal->meta.size = 0;
  EXPECT_EQ(sqliteUnitMeta(p.main.meta, p), p.main.meta);
  EXPECT_EQ(sqliteUnitVersion("v-main", p), "v-main");
  EXPECT_TRUE(p.live());
  EXPECT_FALSE(p.carriesContent());
  p.wal.reset();
  EXPECT_EQ(sqliteUnitMeta(p.main.meta, p), p.main.meta);
  EXPECT_FALSE(p.live());
}

TEST_F(SqliteUnitTest, ASnapshotOfAClosedWalDatabaseLeavesNothingBeside) {
  sql(db_, "PRAGMA journal_mode=WAL; CREATE TABLE t(x); INSERT INTO t VALUES (1),(2);");
  ASSERT_FALSE(exists(db_ + "-wal"));
  auto before = sqliteUnitMetaAt(db_);
  auto snap = snapshotSqliteToFd(db_, dir_);
  ASSERT_TRUE(snap) << snap.error().toString();
  EXPECT_FALSE(exists(db_ + "-wal"));
  EXPECT_FALSE(exists(db_ + "-shm"));
  EXPECT_EQ(sqliteUnitMetaAt(db_).value(), before.value());
  EXPECT_EQ(one(saveFd(snap->get(), "s.db"), "SELECT count(*) FROM t"), "2");
}

TEST_F(SqliteUnitTest, CompanionsOfADeletedDatabaseAreRecognisedByTheirMagic) {
  auto child = walWithRowsInWal(1, 3);
  const std::string wal = bytes(db_ + "-wal"), shm = bytes(db_ + "-shm");
  EXPECT_TRUE(hasSqliteCompanionMagic(SqliteCompanion::kWal, wal));
  EXPECT_TRUE(hasSqliteCompanionMagic(SqliteCompanion::kShm, shm));
  EXPECT_FALSE(hasSqliteCompanionMagic(SqliteCompanion::kWal, shm));
  EXPECT_FALSE(hasSqliteCompanionMagic(SqliteCompanion::kJournal, "my journal, day 1"));
  EXPECT_FALSE(hasSqliteCompanionMagic(SqliteCompanion::kShm, ""));
  EXPECT_TRUE(hasSqliteCompanionMagic(SqliteCompanion::kJournal,
                                      std::string("\xd9\xd5\x05\xf9\x20\xa1\x63\xd7\0\0", 10)));

  remote::Stat f;
  f.meta.type = FileType::kFile;
  SqliteStatMap listing{{"gone.db-wal", f}, {"gone.db-shm", f}, {"diary-journal", f}};
  auto units = foldSqliteUnits(
      listing, [](const RelPath&) { return true; },
      [&](const RelPath& p, SqliteCompanion c) {
        if (p == "diary-journal") return hasSqliteCompanionMagic(c, "dear diary");
        return hasSqliteCompanionMagic(c, c == SqliteCompanion::kWal ? wal : shm);
      });
  EXPECT_TRUE(units.empty());
  EXPECT_EQ(listing.size(), 1u);
  EXPECT_TRUE(listing.count("diary-journal"));
}

TEST_F(SqliteUnitTest, RowsOnlyInTheWalChangeTheUnitThoughTheMainFileDidNot) {
  sql(db_, "PRAGMA journal_mode=WAL; CREATE TABLE t(id INTEGER PRIMARY KEY, side TEXT);");
  SqliteChild child(db_);
  ASSERT_EQ(child.exec("PRAGMA wal_autocheckpoint=0"), "ok");
  ASSERT_EQ(child.exec("INSERT INTO t(side) VALUES ('one')"), "ok");
  struct stat main_before;
  ASSERT_EQ(::stat(db_.c_str(), &main_before), 0);
  auto before = sqliteUnitMetaAt(db_);
  ASSERT_TRUE(before) << before.error().toString();
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ASSERT_EQ(child.exec("INSERT INTO t(side) VALUES ('two')"), "ok");
  struct stat main_after;
  ASSERT_EQ(::stat(db_.c_str(), &main_after), 0);
  ASSERT_EQ(FileMeta::fromStat(main_before), FileMeta::fromStat(main_after))
      << "the test needs the main file untouched";
  auto after = sqliteUnitMetaAt(db_);
  ASSERT_TRUE(after);
  EXPECT_NE(*before, *after);
  // A read by the program (it writes the -shm) changes nothing.
  ASSERT_EQ(child.value("SELECT count(*) FROM t"), "2");
  EXPECT_EQ(sqliteUnitMetaAt(db_).value(), *after);
}

TEST_F(SqliteUnitTest, ASnapshotOfAnOpenWalDatabaseHasTheRowsOfTheWalAndTouchesNothing) {
  auto child = walWithRowsInWal(2, 50);
  ASSERT_TRUE(exists(db_ + "-wal"));
  // The raw main file alone has none of the program's rows: copying it is
  // what lost them.
  write(dir_ + "/raw.db", bytes(db_));
  EXPECT_EQ(one(dir_ + "/raw.db", "SELECT count(*) FROM t"), "2");
  const std::string main = bytes(db_), wal = bytes(db_ + "-wal");

  auto snap = snapshotSqliteToFd(db_, dir_);
  ASSERT_TRUE(snap) << snap.error().toString();
  EXPECT_EQ(bytes(db_), main);
  EXPECT_EQ(bytes(db_ + "-wal"), wal);
  for (const auto& e : fs::directory_iterator(dir_))  // the temporary is gone
    EXPECT_EQ(e.path().filename().string().rfind(".hoard-tmp-", 0), std::string::npos)
        << e.path();
  std::string copy = saveFd(snap->get(), "snap.db");
  EXPECT_EQ(one(copy, "SELECT count(*) FROM t"), "52");
  EXPECT_EQ(one(copy, "SELECT count(*) FROM t WHERE side='cache'"), "50");
  EXPECT_EQ(one(copy, "PRAGMA integrity_check"), "ok");
  EXPECT_FALSE(exists(copy + "-wal") && fs::file_size(copy + "-wal") > 0);
  // The program's connection is unharmed.
  EXPECT_EQ(child->exec("INSERT INTO t(side) VALUES ('after')"), "ok");
  EXPECT_EQ(child->value("SELECT count(*) FROM t"), "53");
}

TEST_F(SqliteUnitTest, ASnapshotLeavesOutAWritersUncommittedTransaction) {
  auto child = walWithRowsInWal(1, 3);
  ASSERT_EQ(child->exec("BEGIN IMMEDIATE"), "ok");
  for (int i = 0; i < 20; ++i) ASSERT_EQ(child->exec("INSERT INTO t(side) VALUES ('open')"), "ok");
  auto snap = snapshotSqliteToFd(db_, dir_);
  ASSERT_TRUE(snap) << snap.error().toString();
  std::string copy = saveFd(snap->get(), "snap.db");
  EXPECT_EQ(one(copy, "SELECT count(*) FROM t"), "4");
  ASSERT_EQ(child->exec("COMMIT"), "ok");
  auto snap2 = snapshotSqliteToFd(db_, dir_);
  ASSERT_TRUE(snap2);
  EXPECT_EQ(one(saveFd(snap2->get(), "snap2.db"), "SELECT count(*) FROM t"), "24");
}

TEST_F(SqliteUnitTest, RollbackJournalModeWithAnOpenWriteTransactionSnapshotsTheCommittedState) {
  sql(db_, "PRAGMA journal_mode=DELETE; CREATE TABLE t(id INTEGER PRIMARY KEY, side TEXT);"
           "INSERT INTO t(side) VALUES ('a'),('b');");
  SqliteChild child(db_);
  ASSERT_EQ(child.exec("BEGIN IMMEDIATE"), "ok");  // RESERVED: readers may still read
  ASSERT_EQ(child.exec("INSERT INTO t(side) VALUES ('uncommitted')"), "ok");
  auto snap = snapshotSqliteToFd(db_, dir_);
  ASSERT_TRUE(snap) << snap.error().toString();
  std::string copy = saveFd(snap->get(), "snap.db");
  EXPECT_EQ(one(copy, "SELECT count(*) FROM t"), "2");
  EXPECT_EQ(one(copy, "PRAGMA integrity_check"), "ok");
  EXPECT_EQ(child.exec("COMMIT"), "ok");
  EXPECT_EQ(child.value("SELECT count(*) FROM t"), "3");
}

TEST_F(SqliteUnitTest, AWriterHoldingTheExclusiveLockMakesASnapshotBusyNotTorn) {
  sql(db_, "PRAGMA journal_mode=DELETE; CREATE TABLE t(id INTEGER PRIMARY KEY, side TEXT);");
  SqliteChild child(db_);
  ASSERT_EQ(child.exec("BEGIN EXCLUSIVE"), "ok");
  ASSERT_EQ(child.exec("INSERT INTO t(side) VALUES ('x')"), "ok");
  SqliteOptions quick;
  quick.busy_timeout_ms = 200;
  auto snap = snapshotSqliteToFd(db_, dir_, quick);
  ASSERT_FALSE(snap);
  EXPECT_EQ(snap.error().code(), ErrorCode::kBusy) << snap.error().toString();
  ASSERT_EQ(child.exec("COMMIT"), "ok");
  auto again = snapshotSqliteToFd(db_, dir_, quick);
  ASSERT_TRUE(again) << again.error().toString();
  EXPECT_EQ(one(saveFd(again->get(), "s.db"), "SELECT count(*) FROM t"), "1");
}

TEST_F(SqliteUnitTest, AHotJournalIsRolledBackInAPrivateCopyNeverInPlace) {
  sql(db_, "PRAGMA journal_mode=DELETE; CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);"
           "INSERT INTO t(v) VALUES ('committed');");
  {
    SqliteChild child(db_);
    ASSERT_EQ(child.exec("PRAGMA cache_size=1"), "ok");  // spill pages into the file early
    ASSERT_EQ(child.exec("BEGIN"), "ok");
    for (int i = 0; i < 200; ++i)
      ASSERT_EQ(child.exec("INSERT INTO t(v) VALUES (hex(randomblob(500)))"), "ok");
    child.crash();  // mid-transaction: the -journal is hot
  }
  ASSERT_TRUE(exists(db_ + "-journal"));
  // Hot indeed: a read-only connection may not read past it.
  ASSERT_EQ(one(db_, "SELECT count(*) FROM t").rfind("<error", 0), 0u);
  const std::string main = bytes(db_), journal = bytes(db_ + "-journal");
  auto snap = snapshotSqliteToFd(db_, dir_);
  ASSERT_TRUE(snap) << snap.error().toString();
  EXPECT_EQ(bytes(db_), main);
  EXPECT_EQ(bytes(db_ + "-journal"), journal);
  std::string copy = saveFd(snap->get(), "snap.db");
  EXPECT_EQ(one(copy, "SELECT count(*) FROM t"), "1");
  EXPECT_EQ(one(copy, "PRAGMA integrity_check"), "ok");
}

TEST_F(SqliteUnitTest, SnapshotHashesSeeContentNotCheckpointsOrBookkeeping) {
  auto child = walWithRowsInWal(1, 10);
  auto a = snapshotSqliteToFd(db_, dir_);
  ASSERT_TRUE(a);
  ASSERT_EQ(child->exec("PRAGMA wal_checkpoint(TRUNCATE)"), "ok");
  auto b = snapshotSqliteToFd(db_, dir_);
  ASSERT_TRUE(b);
  auto ha = hashSqliteSnapshot(a->get(), "a");
  auto hb = hashSqliteSnapshot(b->get(), "b");
  ASSERT_TRUE(ha && hb);
  EXPECT_EQ(*ha, *hb);
  // Applied into another database, the same content hashes alike.
  sql(dir_ + "/other.db", "PRAGMA journal_mode=DELETE; CREATE TABLE u(x); INSERT INTO u VALUES (1);");
  ASSERT_TRUE(applySqliteFd(a->get(), dir_, dir_ + "/other.db"));
  auto c = snapshotSqliteToFd(dir_ + "/other.db", dir_);
  ASSERT_TRUE(c);
  EXPECT_EQ(hashSqliteSnapshot(c->get(), "c").value(), *ha);
  ASSERT_EQ(child->exec("UPDATE t SET side='changed' WHERE id=1"), "ok");
  auto d = snapshotSqliteToFd(db_, dir_);
  ASSERT_TRUE(d);
  EXPECT_NE(hashSqliteSnapshot(d->get(), "d").value(), *ha);
  write(dir_ + "/nodb", "hello");
  UniqueFd nodb(::open((dir_ + "/nodb").c_str(), O_RDONLY));
  EXPECT_EQ(hashSqliteSnapshot(nodb.get(), "nodb").error().code(), ErrorCode::kCorrupt);
}

TEST_F(SqliteUnitTest, NotADatabaseIsCorrupt) {
  write(db_, std::string(4096, 'x'));
  auto snap = snapshotSqliteToFd(db_, dir_);
  ASSERT_FALSE(snap);
  EXPECT_EQ(snap.error().code(), ErrorCode::kCorrupt) << snap.error().toString();
}

TEST_F(SqliteUnitTest, CopiesOfAServersOpenDatabaseAndItsWalSnapshotWithEveryCommittedRow) {
  auto child = walWithRowsInWal(2, 7);
  UniqueFd main(::open(db_.c_str(), O_RDONLY));
  UniqueFd wal(::open((db_ + "-wal").c_str(), O_RDONLY));
  ASSERT_TRUE(main && wal);
  fs::create_directories(dir_ + "/stage");
  auto snap = snapshotSqliteCopies(main.get(), wal.get(), -1, dir_ + "/stage");
  ASSERT_TRUE(snap) << snap.error().toString();
  EXPECT_TRUE(fs::is_empty(dir_ + "/stage"));  // private files removed
  std::string copy = saveFd(snap->get(), "snap.db");
  EXPECT_EQ(one(copy, "SELECT count(*) FROM t"), "9");
  EXPECT_EQ(one(copy, "PRAGMA integrity_check"), "ok");
  // The main file alone: only the checkpointed rows.
  auto alone = snapshotSqliteCopies(main.get(), -1, -1, dir_ + "/stage");
  ASSERT_TRUE(alone);
  EXPECT_EQ(one(saveFd(alone->get(), "alone.db"), "SELECT count(*) FROM t"), "2");
  // Not a database.
  write(dir_ + "/junk", std::string(1024, 'j'));
  UniqueFd junk(::open((dir_ + "/junk").c_str(), O_RDONLY));
  auto bad = snapshotSqliteCopies(junk.get(), -1, -1, dir_ + "/stage");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), ErrorCode::kCorrupt);
}

TEST_F(SqliteUnitTest, ADatabaseOpenOnTheServerIsFetchedWithItsWalThroughRemoteFs) {
  auto child = walWithRowsInWal(2, 11);
  remote::PosixRemoteFs fs(dir_);
  fs::create_directories(dir_ + "/stage");
  auto got = snapshotSqliteFrom(fs, "w.db", dir_ + "/stage");
  ASSERT_TRUE(got) << got.error().toString();
  EXPECT_TRUE(got->parts.wal.has_value());
  EXPECT_TRUE(got->parts.shm.has_value());
  EXPECT_FALSE(got->parts.journal.has_value());
  EXPECT_EQ(got->parts.main.data_version, fs.lstat("w.db")->data_version);
  std::string copy = saveFd(got->snapshot.get(), "snap.db");
  EXPECT_EQ(one(copy, "SELECT count(*) FROM t"), "13");
  EXPECT_EQ(one(copy, "PRAGMA integrity_check"), "ok");
  EXPECT_TRUE(fs::is_empty(dir_ + "/stage"));
  EXPECT_EQ(child->exec("INSERT INTO t(side) VALUES ('still fine')"), "ok");
  // Closed (checkpointed, -wal gone): the main file alone is the database.
  child.reset();
  ASSERT_FALSE(exists(db_ + "-wal"));
  auto closed = snapshotSqliteFrom(fs, "w.db", dir_ + "/stage");
  ASSERT_TRUE(closed) << closed.error().toString();
  EXPECT_FALSE(closed->parts.live());
  EXPECT_EQ(one(saveFd(closed->snapshot.get(), "snap2.db"), "SELECT count(*) FROM t"), "14");
  auto absent = snapshotSqliteFrom(fs, "nothing.db", dir_ + "/stage");
  ASSERT_FALSE(absent);
  EXPECT_EQ(absent.error().code(), ErrorCode::kNotFound);
}

// A version applied into a WAL database a program holds open: the program's
// connection stays valid and sees the new rows; it can go on writing.
TEST_F(SqliteUnitTest, ApplyingIntoAnOpenWalDatabaseKeepsTheProgramsConnection) {
  auto child = walWithRowsInWal(2, 5);
  // The new version: the old rows and two of the server's.
  std::string next = dir_ + "/next.db";
  sql(next, "PRAGMA journal_mode=WAL; CREATE TABLE t(id INTEGER PRIMARY KEY, side TEXT);"
            "INSERT INTO t(side) VALUES ('base'),('base'),('srv1'),('srv2');");
  struct stat before;
  ASSERT_EQ(::stat(db_.c_str(), &before), 0);
  Status done = applySqlite(next, db_);
  ASSERT_TRUE(done) << done.error().toString();
  struct stat after;
  ASSERT_EQ(::stat(db_.c_str(), &after), 0);
  EXPECT_EQ(before.st_ino, after.st_ino);  // the same file, never replaced by rename
  EXPECT_EQ(child->value("SELECT count(*) FROM t"), "4");
  EXPECT_EQ(child->value("SELECT group_concat(side) FROM t WHERE id>2"), "srv1,srv2");
  EXPECT_EQ(child->exec("INSERT INTO t(side) VALUES ('later')"), "ok");
  EXPECT_EQ(child->value("PRAGMA integrity_check"), "ok");
  EXPECT_EQ(child->value("PRAGMA journal_mode"), "wal");
  child.reset();  // closed: checkpointed
  EXPECT_EQ(one(db_, "SELECT count(*) FROM t"), "5");
  EXPECT_EQ(one(db_, "PRAGMA integrity_check"), "ok");
}

TEST_F(SqliteUnitTest, ApplyingIntoAnOpenRollbackDatabaseKeepsTheProgramsConnection) {
  sql(db_, "PRAGMA journal_mode=DELETE; CREATE TABLE t(id INTEGER PRIMARY KEY, side TEXT);"
           "INSERT INTO t(side) VALUES ('old');");
  SqliteChild child(db_);
  ASSERT_EQ(child.value("SELECT count(*) FROM t"), "1");
  std::string next = dir_ + "/next.db";
  sql(next, "CREATE TABLE t(id INTEGER PRIMARY KEY, side TEXT);"
            "INSERT INTO t(side) VALUES ('old'),('new1'),('new2');");
  Status done = applySqlite(next, db_);
  ASSERT_TRUE(done) << done.error().toString();
  EXPECT_EQ(child.value("SELECT count(*) FROM t"), "3");
  EXPECT_EQ(child.exec("INSERT INTO t(side) VALUES ('mine')"), "ok");
  EXPECT_EQ(child.value("PRAGMA integrity_check"), "ok");
  EXPECT_EQ(child.value("PRAGMA journal_mode"), "delete");
}

TEST_F(SqliteUnitTest, ApplyingWaitsForTheProgramsWriteTransactionThenIsBusy) {
  auto child = walWithRowsInWal(1, 1);
  ASSERT_EQ(child->exec("BEGIN IMMEDIATE"), "ok");
  ASSERT_EQ(child->exec("INSERT INTO t(side) VALUES ('pending')"), "ok");
  std::string next = dir_ + "/next.db";
  sql(next, "CREATE TABLE t(id INTEGER PRIMARY KEY, side TEXT); INSERT INTO t(side) VALUES ('n');");
  SqliteOptions quick;
  quick.busy_timeout_ms = 200;
  Status done = applySqlite(next, db_, std::nullopt, quick);
  ASSERT_FALSE(done);
  EXPECT_EQ(done.error().code(), ErrorCode::kBusy) << done.error().toString();
  ASSERT_EQ(child->exec("COMMIT"), "ok");
  EXPECT_EQ(child->value("SELECT count(*) FROM t"), "3");  // the program's work is intact
  ASSERT_TRUE(applySqlite(next, db_, std::nullopt, quick));
  EXPECT_EQ(child->value("SELECT group_concat(side) FROM t"), "n");
}

TEST_F(SqliteUnitTest, ApplyingChecksTheUnitStillIsWhatTheCallerSaw) {
  auto child = walWithRowsInWal(1, 1);
  auto seen = sqliteUnitMetaAt(db_);
  ASSERT_TRUE(seen);
  ASSERT_EQ(child->exec("INSERT INTO t(side) VALUES ('meanwhile')"), "ok");  // only the -wal moves
  std::string next = dir_ + "/next.db";
  sql(next, "CREATE TABLE t(id INTEGER PRIMARY KEY, side TEXT);");
  Status done = applySqlite(next, db_, *seen);
  ASSERT_FALSE(done);
  EXPECT_EQ(done.error().code(), ErrorCode::kConflict);
  EXPECT_EQ(child->value("SELECT count(*) FROM t"), "3");
  ASSERT_TRUE(applySqlite(next, db_, sqliteUnitMetaAt(db_).value()));
  EXPECT_EQ(child->value("SELECT count(*) FROM t"), "0");
}

TEST_F(SqliteUnitTest, AnOpenWalDatabaseWithAnotherPageSizeWaitsUntilClosed) {
  sql(db_, "PRAGMA page_size=4096; PRAGMA journal_mode=WAL; CREATE TABLE t(x);");
  SqliteChild child(db_);
  ASSERT_EQ(child.value("SELECT count(*) FROM t"), "0");
  std::string next = dir_ + "/next.db";
  sql(next, "PRAGMA page_size=1024; CREATE TABLE t(x); INSERT INTO t VALUES (1);");
  Status done = applySqlite(next, db_);
  ASSERT_FALSE(done);
  EXPECT_EQ(done.error().code(), ErrorCode::kUnsupported) << done.error().toString();
  EXPECT_EQ(child.value("SELECT count(*) FROM t"), "0");
  EXPECT_EQ(child.value("PRAGMA integrity_check"), "ok");
}

TEST_F(SqliteUnitTest, ApplyingRefusesAFileThatIsNoLongerADatabase) {
  write(db_, "the user replaced the database by a text file");
  std::string next = dir_ + "/next.db";
  sql(next, "CREATE TABLE t(x);");
  Status done = applySqlite(next, db_);
  ASSERT_FALSE(done);
  EXPECT_EQ(done.error().code(), ErrorCode::kConflict);
  EXPECT_EQ(bytes(db_), "the user replaced the database by a text file");
  Status absent = applySqlite(next, dir_ + "/absent.db");
  ASSERT_FALSE(absent);
  EXPECT_EQ(absent.error().code(), ErrorCode::kNotFound);
  EXPECT_FALSE(exists(dir_ + "/absent.db"));
}

}  // namespace
}  // namespace hoard::sync
