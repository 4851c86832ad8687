// SPDX-License-Identifier: MIT
// SqliteSides on a real cache folder and a real "remote" folder (PosixRemoteFs
// over each), with a python3 child holding the database open on either side.

#include "sync/SqliteSides.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "integration/sync/SqliteChild.h"
#include "remote/PosixRemoteFs.h"

namespace hoard::sync {
namespace {

namespace fs = std::filesystem;

class SqliteSidesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = "/tmp/hoard-sqlite-sides-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    cache_ = dir_ + "/cache";
    remote_root_ = dir_ + "/remote";
    fs::create_directories(cache_);
    fs::create_directories(remote_root_);
    local_fs_ = std::make_unique<remote::PosixRemoteFs>(cache_);
    remote_fs_ = std::make_unique<remote::PosixRemoteFs>(remote_root_);
    sides_ = std::make_unique<SqliteSides>(*local_fs_, *remote_fs_, cache_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  static void sql(const std::string& path, const std::string& statements) { runSql(path, statements); }
  // Opens a copy (so the original gets no -wal/-shm from the test).
  std::string one(const std::string& path, const std::string& query) {
    std::string copy = dir_ + "/look-" + std::to_string(++looks_) + ".db";
    fs::copy_file(path, copy);
    sqlite3* db = nullptr;
    sqlite3_open_v2(copy.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
    sqlite3_stmt* st = nullptr;
    std::string out = "<error>";
    if (sqlite3_prepare_v2(db, query.c_str(), -1, &st, nullptr) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
      out = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    sqlite3_close(db);
    return out;
  }
  static bool exists(const std::string& p) {
    return fs::symlink_status(p).type() != fs::file_type::not_found;
  }
  static std::string bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  std::unique_ptr<SqliteChild> openWal(const std::string& path, int base, int more) {
    sql(path, "PRAGMA journal_mode=WAL; CREATE TABLE t(id INTEGER PRIMARY KEY, side TEXT);");
    for (int i = 0; i < base; ++i) sql(path, "INSERT INTO t(side) VALUES ('base')");
    auto child = std::make_unique<SqliteChild>(path);
    EXPECT_EQ(child->exec("PRAGMA wal_autocheckpoint=0"), "ok");
    for (int i = 0; i < more; ++i) EXPECT_EQ(child->exec("INSERT INTO t(side) VALUES ('x')"), "ok");
    return child;
  }
  SqliteStatMap walk(remote::RemoteFs& f) {
    SqliteStatMap m;
    auto w = f.walk("");
    EXPECT_TRUE(w);
    if (w)
      for (auto& e : *w) m.emplace(e.path, e.stat);
    return m;
  }

  std::string dir_, cache_, remote_root_;
  int looks_ = 0;
  std::unique_ptr<remote::PosixRemoteFs> local_fs_, remote_fs_;
  std::unique_ptr<SqliteSides> sides_;
};

TEST_F(SqliteSidesTest, BothListingsShowADatabaseAsOneEntryThatMovesWithItsWal) {
  auto child = openWal(cache_ + "/w.db", 2, 3);
  sql(remote_root_ + "/w.db", "PRAGMA journal_mode=WAL; CREATE TABLE t(x);");
  auto server = std::make_unique<SqliteChild>(remote_root_ + "/w.db");
  ASSERT_EQ(server->exec("PRAGMA wal_autocheckpoint=0"), "ok");
  ASSERT_EQ(server->exec("INSERT INTO t VALUES (1)"), "ok");
  std::ofstream(cache_ + "/notes-journal") << "a diary, not a journal of notes";
  std::ofstream(cache_ + "/notes") << "plain";
  SqliteStatMap local = walk(*local_fs_), remote = walk(*remote_fs_);
  ASSERT_TRUE(local.count("w.db-wal") && remote.count("w.db-wal"));
  sides_->foldLocal(local);
  sides_->foldRemote(remote);
  EXPECT_EQ(local.size(), 3u);  // w.db, notes, notes-journal
  EXPECT_TRUE(local.count("notes-journal"));
  EXPECT_EQ(remote.size(), 1u);
  ASSERT_NE(sides_->localParts("w.db"), nullptr);
  ASSERT_NE(sides_->remoteParts("w.db"), nullptr);
  EXPECT_TRUE(sides_->remoteParts("w.db")->live());
  auto fresh = sides_->lstatUnit(*local_fs_, "w.db", true);
  ASSERT_TRUE(fresh);
  EXPECT_EQ(fresh->meta, local["w.db"].meta);
  EXPECT_EQ(fresh->data_version, local["w.db"].data_version);
  ASSERT_EQ(child->exec("INSERT INTO t(side) VALUES ('more')"), "ok");
  EXPECT_NE(sides_->lstatUnit(*local_fs_, "w.db", true)->meta, local["w.db"].meta);
}

TEST_F(SqliteSidesTest, APushSendsEveryRowOfTheOpenCacheDatabaseAndNoCompanion) {
  auto child = openWal(cache_ + "/w.db", 2, 50);
  auto snap = sides_->snapshotLocal("w.db");
  ASSERT_TRUE(snap) << snap.error().toString();
  EXPECT_TRUE(snap->live);
  remote::ReplaceOptions ro;
  ro.mode = 0644;
  auto sent = sides_->push("w.db", snap->fd.get(), remote::Expect::absent(), ro);
  ASSERT_TRUE(sent) << sent.error().toString();
  EXPECT_FALSE(exists(remote_root_ + "/w.db-wal"));
  EXPECT_FALSE(exists(remote_root_ + "/w.db-shm"));
  EXPECT_EQ(one(remote_root_ + "/w.db", "SELECT count(*) FROM t"), "52");
  EXPECT_EQ(one(remote_root_ + "/w.db", "PRAGMA integrity_check"), "ok");
  EXPECT_EQ(sent->data_version, remote_fs_->lstat("w.db")->data_version);
  // Sent again over what it sent, with the version it returned.
  ASSERT_EQ(child->exec("INSERT INTO t(side) VALUES ('53')"), "ok");
  auto snap2 = sides_->snapshotLocal("w.db");
  ASSERT_TRUE(snap2);
  EXPECT_NE(snap2->hash, snap->hash);
  auto stale = sides_->push("w.db", snap2->fd.get(), remote::Expect::version("not it"), ro);
  ASSERT_FALSE(stale);
  EXPECT_EQ(stale.error().code(), ErrorCode::kConflict);
  ASSERT_TRUE(sides_->push("w.db", snap2->fd.get(), remote::Expect::version(sent->data_version), ro));
  EXPECT_EQ(one(remote_root_ + "/w.db", "SELECT count(*) FROM t"), "53");
}

TEST_F(SqliteSidesTest, APushWaitsWhileAProgramOnTheServerHasTheDatabaseOpen) {
  auto server = openWal(remote_root_ + "/w.db", 1, 2);
  sql(cache_ + "/w.db", "CREATE TABLE t(id INTEGER PRIMARY KEY, side TEXT);");
  auto before = remote_fs_->lstat("w.db");
  auto wal = bytes(remote_root_ + "/w.db-wal");
  auto snap = sides_->snapshotLocal("w.db");
  ASSERT_TRUE(snap);
  auto sent = sides_->push("w.db", snap->fd.get(), remote::Expect::anything(), {});
  ASSERT_FALSE(sent);
  EXPECT_EQ(sent.error().code(), ErrorCode::kBusy) << sent.error().toString();
  EXPECT_EQ(remote_fs_->lstat("w.db")->data_version, before->data_version);
  EXPECT_EQ(bytes(remote_root_ + "/w.db-wal"), wal);
  EXPECT_EQ(server->value("SELECT count(*) FROM t"), "3");
}

TEST_F(SqliteSidesTest, APersistedOrTruncatedJournalOnTheServerDoesNotHoldAPushBack) {
  for (const char* mode : {"PERSIST", "TRUNCATE"}) {
    SCOPED_TRACE(mode);
    std::string name = std::string(mode) + ".db";
    sql(remote_root_ + "/" + name, std::string("PRAGMA journal_mode=") + mode +
                                       "; CREATE TABLE t(x); INSERT INTO t VALUES (1);");
    ASSERT_TRUE(exists(remote_root_ + "/" + name + "-journal"));  // left behind by design
    sql(cache_ + "/" + name, "CREATE TABLE t(x); INSERT INTO t VALUES (2);");
    auto snap = sides_->snapshotLocal(name);
    ASSERT_TRUE(snap);
    auto sent = sides_->push(name, snap->fd.get(), remote::Expect::anything(), {});
    ASSERT_TRUE(sent) << sent.error().toString();
    EXPECT_EQ(one(remote_root_ + "/" + name, "SELECT x FROM t"), "2");
  }
  // A journal that holds a transaction does.
  sql(remote_root_ + "/hot.db", "PRAGMA journal_mode=DELETE; CREATE TABLE t(x);");
  {
    SqliteChild writer(remote_root_ + "/hot.db");
    ASSERT_EQ(writer.exec("PRAGMA cache_size=1"), "ok");
    ASSERT_EQ(writer.exec("BEGIN"), "ok");
    for (int i = 0; i < 100; ++i)
      ASSERT_EQ(writer.exec("INSERT INTO t VALUES (hex(randomblob(400)))"), "ok");
    writer.crash();
  }
  ASSERT_TRUE(exists(remote_root_ + "/hot.db-journal"));
  sql(cache_ + "/hot.db", "CREATE TABLE t(x);");
  auto snap = sides_->snapshotLocal("hot.db");
  ASSERT_TRUE(snap);
  auto refused = sides_->push("hot.db", snap->fd.get(), remote::Expect::anything(), {});
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code(), ErrorCode::kBusy);
}

TEST_F(SqliteSidesTest, APullIntoTheOpenCacheDatabaseGoesThroughSqlite) {
  auto child = openWal(cache_ + "/w.db", 2, 0);
  sql(remote_root_ + "/w.db", "PRAGMA journal_mode=WAL; CREATE TABLE t(id INTEGER PRIMARY KEY, side TEXT);"
                              "INSERT INTO t(side) VALUES ('base'),('base'),('srv1'),('srv2');");
  SqliteStatMap local = walk(*local_fs_);
  sides_->foldLocal(local);
  struct stat st_before;
  ASSERT_EQ(::stat((cache_ + "/w.db").c_str(), &st_before), 0);
  auto snap = sides_->snapshotRemote("w.db");
  ASSERT_TRUE(snap) << snap.error().toString();
  remote::ReplaceOptions ro;
  ro.mode = 0600;
  auto installed = sides_->install("w.db", snap->fd.get(), &local.at("w.db"), ro);
  ASSERT_TRUE(installed) << installed.error().toString();
  struct stat st_after;
  ASSERT_EQ(::stat((cache_ + "/w.db").c_str(), &st_after), 0);
  EXPECT_EQ(st_before.st_ino, st_after.st_ino);
  EXPECT_EQ(st_after.st_mode & 07777, 0600u);
  EXPECT_EQ(child->value("SELECT group_concat(side) FROM t"), "base,base,srv1,srv2");
  EXPECT_EQ(installed->meta.inode, st_after.st_ino);
  // The snapshot of what is now in the cache hashes as what was pulled (the
  // base of both sides).
  auto back = sides_->snapshotLocal("w.db");
  ASSERT_TRUE(back);
  EXPECT_EQ(back->hash, snap->hash);
  EXPECT_EQ(child->exec("INSERT INTO t(side) VALUES ('mine')"), "ok");
  EXPECT_EQ(child->value("PRAGMA integrity_check"), "ok");
}

TEST_F(SqliteSidesTest, APullOfANewDatabaseLinksItAndWaitsForAnOrphanedWal) {
  sql(remote_root_ + "/n.db", "CREATE TABLE t(x); INSERT INTO t VALUES (7);");
  auto snap = sides_->snapshotRemote("n.db");
  ASSERT_TRUE(snap);
  auto installed = sides_->install("n.db", snap->fd.get(), nullptr, {});
  ASSERT_TRUE(installed) << installed.error().toString();
  EXPECT_EQ(one(cache_ + "/n.db", "SELECT x FROM t"), "7");
  // A deleted database's -wal still there (a program has it open).
  std::ofstream(cache_ + "/o.db-wal") << std::string("\x37\x7f\x06\x82", 4) << "frames";
  auto snap2 = sides_->snapshotRemote("n.db");
  ASSERT_TRUE(snap2);
  auto refused = sides_->install("o.db", snap2->fd.get(), nullptr, {});
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code(), ErrorCode::kBusy);
  EXPECT_FALSE(exists(cache_ + "/o.db"));
  // The cache holding a file the pass did not see is not overwritten.
  std::ofstream(cache_ + "/p.db") << "typed meanwhile";
  auto clash = sides_->install("p.db", snap2->fd.get(), nullptr, {});
  ASSERT_FALSE(clash);
  EXPECT_EQ(clash.error().code(), ErrorCode::kConflict);
  EXPECT_EQ(bytes(cache_ + "/p.db"), "typed meanwhile");
}

}  // namespace
}  // namespace hoard::sync
