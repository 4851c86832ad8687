// SPDX-License-Identifier: MIT
// Issue 10, "a database is one unit", through the reconciler on real folders:
// a SQLite database held open in the cache by a program (a python3 child) in
// WAL mode with autocheckpoint off, or in rollback-journal mode, while
// passes push, pull or find a conflict. What a user checks: no row lost on
// either side, both databases pass PRAGMA integrity_check, the program's
// connection still works, and no -wal or -shm of hoard's making on the server.

#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include <gtest/gtest.h>

#include "integration/sync/ShareFixture.h"
#include "integration/sync/SqliteChild.h"
#include "remote/PosixRemoteFs.h"
#include "sync/Reconciler.h"
#include "sync/SqliteUnit.h"

namespace hoard::sync {
namespace {

namespace fs = std::filesystem;

class ReconcilerSqliteTest : public ShareFixture {
 protected:
  void SetUp() override {
    openShare("/tmp/hoard-reconcile-sqlite-XXXXXX");
    if (HasFatalFailure()) return;
    local_fs_ = std::make_unique<remote::PosixRemoteFs>(cache_);
    remote_fs_ = std::make_unique<remote::PosixRemoteFs>(remote_root_);
    reconciler_ = std::make_unique<Reconciler>(ShareSides{
        *journal_, mu_, share_, *local_fs_, *remote_fs_, cache_, *store_, store::KeepPolicy{},
        "laptop", nullptr, nullptr});
    R_ = remote_root_ + "/w.db";
    C_ = cache_ + "/w.db";
  }

  ReconcileReport sync() {
    auto r = reconciler_->run();
    EXPECT_TRUE(r) << r.error().toString();
    if (!r) return {};
    for (auto& [p, e] : r->failed) ADD_FAILURE() << "failed: " << p << ": " << e.toString();
    if (r->stopped) ADD_FAILURE() << "stopped: " << r->stopped->toString();
    noCompanionsOnTheServer();
    return *r;
  }
  // What `sqlite3 FILE "..."` does: open, run, close (a WAL database is
  // checkpointed and its -wal removed on close).
  static void sqlite3Cli(const std::string& path, const std::string& statements) { runSql(path, statements); }
  // A query on a private copy of the server's file (so looking adds nothing there).
  std::string onServer(const std::string& query) {
    std::string copy = dir_ + "/look-" + std::to_string(++looks_) + ".db";
    fs::copy_file(R_, copy);
    sqlite3* db = nullptr;
    sqlite3_open_v2(copy.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
    sqlite3_stmt* st = nullptr;
    std::string out = "<error>";
    if (sqlite3_prepare_v2(db, query.c_str(), -1, &st, nullptr) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
      out = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
    else
      out = std::string("<error: ") + sqlite3_errmsg(db) + ">";
    sqlite3_finalize(st);
    sqlite3_close(db);
    return out;
  }
  void noCompanionsOnTheServer() {
    for (const char* s : {"-wal", "-shm", "-journal"})
      EXPECT_FALSE(fs::exists(R_ + s)) << "hoard put w.db" << s << " on the server";
    auto base = journal_->listBase(share_);
    ASSERT_TRUE(base);
    for (const BaseEntry& e : *base)
      EXPECT_EQ(e.path.find("w.db-"), std::string::npos) << "a companion in the base: " << e.path;
  }
  std::vector<journal::ConflictRecord> openConflicts() {
    auto c = journal_->conflicts(share_, true);
    EXPECT_TRUE(c);
    return c ? *c : std::vector<journal::ConflictRecord>{};
  }
  // The start: the server's WAL database with two rows, preloaded.
  void seed(const char* mode = "WAL") {
    sqlite3Cli(R_, std::string("PRAGMA journal_mode=") + mode +
                       "; CREATE TABLE t(id INTEGER PRIMARY KEY, side TEXT);"
                       "INSERT INTO t(side) VALUES ('base1'),('base2');");
    ReconcileReport r = sync();
    ASSERT_EQ(r.hoarded + r.pulled, 1u);
    ASSERT_TRUE(fs::exists(C_));
  }
  // A program that keeps the cache's database open (autocheckpoint off).
  std::unique_ptr<SqliteChild> openInCache() {
    auto child = std::make_unique<SqliteChild>(C_);
    EXPECT_TRUE(child->running());
    EXPECT_EQ(child->exec("PRAGMA wal_autocheckpoint=0"), "ok");
    return child;
  }
  static void insert(SqliteChild& c, const std::string& side, int n) {
    for (int i = 0; i < n; ++i)
      ASSERT_EQ(c.exec("INSERT INTO t(side) VALUES ('" + side + "')"), "ok");
  }

  std::unique_ptr<remote::PosixRemoteFs> local_fs_, remote_fs_;
  std::unique_ptr<Reconciler> reconciler_;
  std::string R_, C_;
  int looks_ = 0;
};

// The scenario: rows on both sides are a content conflict, never a
// silent overwrite, and nothing is torn.
TEST_F(ReconcilerSqliteTest, RowsInsertedOnBothSidesAreAConflictAndNoRowIsLost) {
  seed();
  auto app = openInCache();
  insert(*app, "cache", 50);
  ASSERT_TRUE(fs::exists(C_ + "-wal"));
  struct stat before;
  ASSERT_EQ(::stat(C_.c_str(), &before), 0);
  sqlite3Cli(R_, "INSERT INTO t(side) VALUES ('srv1'),('srv2');");

  ReconcileReport r = sync();
  ASSERT_EQ(r.new_conflicts.size(), 1u);
  auto open = openConflicts();
  ASSERT_EQ(open.size(), 1u);
  EXPECT_EQ(open[0].path, "w.db");
  EXPECT_EQ(open[0].kind, journal::ConflictKind::kContent);
  EXPECT_EQ(r.pushed + r.pulled, 0u);
  // The cache's database is the program's, untouched and whole.
  struct stat after;
  ASSERT_EQ(::stat(C_.c_str(), &after), 0);
  EXPECT_EQ(before.st_ino, after.st_ino);
  EXPECT_EQ(app->value("SELECT count(*) FROM t"), "52");
  EXPECT_EQ(app->exec("INSERT INTO t(side) VALUES ('still working')"), "ok");
  EXPECT_EQ(app->value("PRAGMA integrity_check"), "ok");
  // The server's rows are there.
  EXPECT_EQ(onServer("SELECT group_concat(side) FROM t"), "base1,base2,srv1,srv2");
  EXPECT_EQ(onServer("PRAGMA integrity_check"), "ok");
  // The conflict keeps both versions as whole databases.
  ASSERT_TRUE(open[0].local_object && open[0].remote_object);
  auto lo = store_->open(*open[0].local_object);
  ASSERT_TRUE(lo);
  auto is = isSqliteFd(lo->get());
  EXPECT_TRUE(is && *is);
  // Later passes hold the path: still nothing moves.
  insert(*app, "more", 3);
  ReconcileReport again = sync();
  EXPECT_EQ(again.pushed + again.pulled, 0u);
  EXPECT_EQ(onServer("SELECT count(*) FROM t"), "4");
  EXPECT_EQ(app->value("SELECT count(*) FROM t"), "56");
}

// Only the cache changed, and only in its -wal (the main file's mtime did
// not move): the server gets every row in a valid database.
TEST_F(ReconcilerSqliteTest, RowsOnlyInTheCachesWalArePushedAsAWholeDatabase) {
  seed();
  auto app = openInCache();
  struct stat main_before;
  ASSERT_EQ(::stat(C_.c_str(), &main_before), 0);
  insert(*app, "cache", 50);
  struct stat main_after;
  ASSERT_EQ(::stat(C_.c_str(), &main_after), 0);
  ASSERT_EQ(main_before.st_mtim.tv_nsec, main_after.st_mtim.tv_nsec);
  ASSERT_EQ(main_before.st_size, main_after.st_size);

  ReconcileReport r = sync();
  EXPECT_EQ(r.pushed, 1u);
  EXPECT_TRUE(r.new_conflicts.empty());
  EXPECT_EQ(onServer("SELECT count(*) FROM t"), "52");
  EXPECT_EQ(onServer("SELECT count(*) FROM t WHERE side='cache'"), "50");
  EXPECT_EQ(onServer("PRAGMA integrity_check"), "ok");
  EXPECT_EQ(app->exec("INSERT INTO t(side) VALUES ('after')"), "ok");
  // Nothing more to do until the program writes again; then it goes again.
  ReconcileReport quiet = sync();
  EXPECT_EQ(quiet.pushed + quiet.pulled, 1u) << "the row written after the pass";
  EXPECT_EQ(onServer("SELECT count(*) FROM t"), "53");
  ReconcileReport still = sync();
  EXPECT_EQ(still.pushed + still.pulled, 0u);
  EXPECT_TRUE(openConflicts().empty());
}

// Only the server changed: the program's open connection sees the new rows
// after the pull; the file is the same file, never replaced under it.
TEST_F(ReconcilerSqliteTest, TheServersRowsArriveInTheOpenCacheDatabaseThroughSqlite) {
  seed();
  auto app = openInCache();
  ASSERT_EQ(app->value("SELECT count(*) FROM t"), "2");
  struct stat before;
  ASSERT_EQ(::stat(C_.c_str(), &before), 0);
  sqlite3Cli(R_, "INSERT INTO t(side) VALUES ('srv1'),('srv2');");

  ReconcileReport r = sync();
  EXPECT_EQ(r.pulled, 1u);
  EXPECT_TRUE(r.new_conflicts.empty());
  struct stat after;
  ASSERT_EQ(::stat(C_.c_str(), &after), 0);
  EXPECT_EQ(before.st_ino, after.st_ino);
  EXPECT_EQ(app->value("SELECT group_concat(side) FROM t"), "base1,base2,srv1,srv2");
  EXPECT_EQ(app->value("PRAGMA integrity_check"), "ok");
  // The pull is no local change: nothing goes back, nothing is pulled again.
  ReconcileReport again = sync();
  EXPECT_EQ(again.pushed + again.pulled, 0u);
  // And the program's next row travels as usual.
  insert(*app, "cache", 1);
  ReconcileReport push = sync();
  EXPECT_EQ(push.pushed, 1u);
  EXPECT_EQ(onServer("SELECT count(*) FROM t"), "5");
}

TEST_F(ReconcilerSqliteTest, RollbackJournalModeTravelsBothWaysUnderAnOpenConnection) {
  seed("DELETE");
  auto app = openInCache();
  ASSERT_EQ(app->value("PRAGMA journal_mode"), "delete");
  insert(*app, "cache", 5);
  ReconcileReport up = sync();
  EXPECT_EQ(up.pushed, 1u);
  EXPECT_EQ(onServer("SELECT count(*) FROM t"), "7");
  sqlite3Cli(R_, "INSERT INTO t(side) VALUES ('srv');");
  ReconcileReport down = sync();
  EXPECT_EQ(down.pulled, 1u);
  EXPECT_EQ(app->value("SELECT count(*) FROM t"), "8");
  EXPECT_EQ(app->value("PRAGMA integrity_check"), "ok");
  EXPECT_EQ(app->exec("INSERT INTO t(side) VALUES ('later')"), "ok");
  EXPECT_TRUE(openConflicts().empty());
}

// A program on the server holding the database open (its -wal there): the
// push waits rather than replace the main file under that -wal.
TEST_F(ReconcilerSqliteTest, APushWaitsWhileTheServersProgramHasTheDatabaseOpen) {
  seed();
  SqliteChild server(R_);
  ASSERT_EQ(server.exec("PRAGMA wal_autocheckpoint=0"), "ok");
  ASSERT_EQ(server.value("SELECT count(*) FROM t"), "2");  // its -wal and -shm now exist
  auto app = openInCache();
  insert(*app, "cache", 3);
  auto r = reconciler_->run();
  ASSERT_TRUE(r);
  ASSERT_EQ(r->failed.size(), 1u);
  EXPECT_EQ(r->failed[0].first, "w.db");
  EXPECT_EQ(r->failed[0].second.code(), ErrorCode::kBusy) << r->failed[0].second.toString();
  EXPECT_EQ(server.value("SELECT count(*) FROM t"), "2");
  EXPECT_EQ(server.value("PRAGMA integrity_check"), "ok");
}

TEST_F(ReconcilerSqliteTest, KeepRemoteAppliesTheServersVersionIntoTheOpenDatabase) {
  seed();
  auto app = openInCache();
  insert(*app, "cache", 4);
  sqlite3Cli(R_, "INSERT INTO t(side) VALUES ('srv1');");
  ReconcileReport r = sync();
  ASSERT_EQ(r.new_conflicts.size(), 1u);
  Status done = reconciler_->resolve(r.new_conflicts[0], Resolution::kKeepRemote);
  ASSERT_TRUE(done) << done.error().toString();
  EXPECT_EQ(app->value("SELECT group_concat(side) FROM t"), "base1,base2,srv1");
  EXPECT_EQ(app->value("PRAGMA integrity_check"), "ok");
  ReconcileReport again = sync();
  EXPECT_EQ(again.pushed + again.pulled, 0u);
  EXPECT_TRUE(openConflicts().empty());
}

TEST_F(ReconcilerSqliteTest, KeepLocalSendsTheCachesWholeDatabase) {
  seed();
  auto app = openInCache();
  insert(*app, "cache", 4);
  sqlite3Cli(R_, "INSERT INTO t(side) VALUES ('srv1');");
  ReconcileReport r = sync();
  ASSERT_EQ(r.new_conflicts.size(), 1u);
  Status done = reconciler_->resolve(r.new_conflicts[0], Resolution::kKeepLocal);
  ASSERT_TRUE(done) << done.error().toString();
  noCompanionsOnTheServer();
  EXPECT_EQ(onServer("SELECT count(*) FROM t WHERE side='cache'"), "4");
  EXPECT_EQ(onServer("PRAGMA integrity_check"), "ok");
  ReconcileReport again = sync();
  EXPECT_EQ(again.pushed + again.pulled, 0u);
}

// The server's program keeps its database open with rows only in its -wal:
// they are read through SQLite on the way into the cache, and the -wal and
// -shm are never fetched as files.
TEST_F(ReconcilerSqliteTest, AServerDatabaseOpenWithRowsInItsWalIsFetchedWhole) {
  sqlite3Cli(R_, "PRAGMA journal_mode=WAL; CREATE TABLE t(id INTEGER PRIMARY KEY, side TEXT);"
                 "INSERT INTO t(side) VALUES ('base1');");
  SqliteChild server(R_);
  ASSERT_EQ(server.exec("PRAGMA wal_autocheckpoint=0"), "ok");
  for (int i = 0; i < 9; ++i) ASSERT_EQ(server.exec("INSERT INTO t(side) VALUES ('srv')"), "ok");
  ASSERT_TRUE(fs::exists(R_ + "-wal"));
  auto r = reconciler_->run();
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->failed.empty());
  EXPECT_EQ(r->hoarded, 1u);
  EXPECT_FALSE(fs::exists(C_ + "-wal"));
  EXPECT_FALSE(fs::exists(C_ + "-shm"));
  {
    SqliteChild app(C_);
    EXPECT_EQ(app.value("SELECT count(*) FROM t"), "10");
    EXPECT_EQ(app.value("PRAGMA integrity_check"), "ok");
  }
  // More rows, still only in the server's -wal (its main file unchanged):
  // the next pass sees the change and brings them.
  struct stat main_before, main_after;
  ASSERT_EQ(::stat(R_.c_str(), &main_before), 0);
  ASSERT_EQ(server.exec("INSERT INTO t(side) VALUES ('srv-late')"), "ok");
  ASSERT_EQ(::stat(R_.c_str(), &main_after), 0);
  ASSERT_EQ(main_before.st_mtim.tv_nsec, main_after.st_mtim.tv_nsec);
  auto app = openInCache();
  ASSERT_EQ(app->value("SELECT count(*) FROM t"), "10");
  auto again = reconciler_->run();
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->failed.empty());
  EXPECT_EQ(again->pulled, 1u);
  EXPECT_EQ(app->value("SELECT count(*) FROM t"), "11");
  auto base = journal_->listBase(share_);
  ASSERT_TRUE(base);
  EXPECT_EQ(base->size(), 1u);
  EXPECT_EQ(server.value("PRAGMA integrity_check"), "ok");
}

TEST_F(ReconcilerSqliteTest, StashWaitsWhileTheDatabaseIsOpenInTheCache) {
  seed();
  auto app = openInCache();
  insert(*app, "cache", 2);
  sqlite3Cli(R_, "INSERT INTO t(side) VALUES ('srv1');");
  ReconcileReport r = sync();
  ASSERT_EQ(r.new_conflicts.size(), 1u);
  Status done = reconciler_->resolve(r.new_conflicts[0], Resolution::kStash);
  ASSERT_FALSE(done);
  EXPECT_EQ(done.error().code(), ErrorCode::kBusy) << done.error().toString();
  EXPECT_TRUE(fs::exists(C_));
  EXPECT_EQ(app->value("SELECT count(*) FROM t"), "4");
  EXPECT_EQ(openConflicts().size(), 1u);
}

TEST_F(ReconcilerSqliteTest, AnOpenDatabaseIsNotEvicted) {
  seed();
  ASSERT_TRUE(journal_->pin(share_, "other", 500));
  auto app = openInCache();
  ASSERT_EQ(app->value("SELECT count(*) FROM t"), "2");  // open: its -wal exists
  auto evicted = reconciler_->evict("w.db");
  ASSERT_FALSE(evicted);
  EXPECT_EQ(evicted.error().code(), ErrorCode::kBusy) << evicted.error().toString();
  EXPECT_TRUE(fs::exists(C_));
  app.reset();  // closed: now it may go
  auto gone = reconciler_->evict("w.db");
  ASSERT_TRUE(gone) << gone.error().toString();
  EXPECT_FALSE(fs::exists(C_));
}

}  // namespace
}  // namespace hoard::sync
