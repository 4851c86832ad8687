// SPDX-License-Identifier: MIT
// Issue 10's scenario as a user meets it, through the real `hoard` CLI and
// hoardd on a private bus, with the real sqlite3 command on the server and a
// program (a python3 child) keeping the cache's database open in WAL mode
// with autocheckpoint off while the share goes offline and back.

#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <memory>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "BusHarness.h"
#include "integration/sync/SqliteChild.h"

namespace hoard {
namespace {

namespace fs = std::filesystem;
using namespace hoard::bustest;
using nlohmann::json;

class CliSqliteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/hoard-cli-sqlite-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    R_ = dir_ + "/server";
    C_ = dir_ + "/cache";
    fs::create_directories(R_);
    bus_ = std::make_unique<PrivateBus>();
    ASSERT_TRUE(bus_->ok());
    daemon_ = std::make_unique<Daemon>(dir_ + "/state", dir_ + "/hoardd.log");
    ASSERT_TRUE(daemon_->start()) << slurp(dir_ + "/hoardd.log");
  }
  void TearDown() override {
    daemon_.reset();
    bus_.reset();
    fs::remove_all(dir_);
  }
  std::pair<int, std::string> hoard(const std::string& args) {
    auto r = run(std::string(HOARD_CLI_PATH) + " " + args + " 2>" + dir_ + "/err");
    last_err_ = slurp(dir_ + "/err");
    return r;
  }
  // The sqlite3 command, on a file of the server.
  std::string sqlite3(const std::string& file, const std::string& sql) {
    auto [rc, out] = run("/usr/bin/sqlite3 '" + file + "' \"" + sql + "\" 2>&1");
    EXPECT_EQ(rc, 0) << out;
    while (!out.empty() && out.back() == '\n') out.pop_back();
    return out;
  }
  // The same on a copy (looking at the server must not put files there).
  std::string onServer(const std::string& sql) {
    std::string copy = dir_ + "/look-" + std::to_string(++looks_) + ".db";
    fs::copy_file(R_ + "/w.db", copy);
    return sqlite3(copy, sql);
  }
  void noCompanionsOnTheServer() {
    for (const char* s : {"-wal", "-shm", "-journal"})
      EXPECT_FALSE(fs::exists(R_ + "/w.db" + s)) << "w.db" << s << " on the server";
  }

  std::string dir_, R_, C_, last_err_;
  int looks_ = 0;
  std::unique_ptr<PrivateBus> bus_;
  std::unique_ptr<Daemon> daemon_;
};

TEST_F(CliSqliteTest, RowsOnBothSidesOfAnOpenDatabaseAreAConflictNotALoss) {
  sqlite3(R_ + "/w.db",
          "PRAGMA journal_mode=WAL; CREATE TABLE t(id INTEGER PRIMARY KEY, side TEXT); "
          "INSERT INTO t(side) VALUES ('base1'),('base2');");
  ASSERT_EQ(hoard("share add s " + R_ + " " + C_).first, 0) << last_err_;
  ASSERT_EQ(hoard("preload s").first, 0) << last_err_;
  ASSERT_TRUE(fs::exists(C_ + "/w.db"));
  ASSERT_EQ(hoard("offline s").first, 0) << last_err_;

  sync::SqliteChild app(C_ + "/w.db");
  ASSERT_EQ(app.exec("PRAGMA wal_autocheckpoint=0"), "ok");
  for (int i = 0; i < 50; ++i) ASSERT_EQ(app.exec("INSERT INTO t(side) VALUES ('cache')"), "ok");
  sqlite3(R_ + "/w.db", "INSERT INTO t(side) VALUES ('srv1'),('srv2');");

  ASSERT_EQ(hoard("online s").first, 0) << last_err_;
  EXPECT_TRUE(eventually([&] { return hoard("sync s").first == 3; }))
      << "sync must say a conflict remains: " << last_err_ << slurp(dir_ + "/hoardd.log");
  auto [rc, out] = hoard("conflicts s --json");
  EXPECT_EQ(rc, 3);
  json conflicts = json::parse(out, nullptr, false);
  ASSERT_TRUE(conflicts.is_array()) << out;
  ASSERT_EQ(conflicts.size(), 1u) << out;
  EXPECT_EQ(conflicts[0]["path"], "w.db");
  EXPECT_EQ(conflicts[0]["kind"], "content");

  // Nothing lost, nothing torn, the program unharmed.
  EXPECT_EQ(app.value("SELECT count(*) FROM t"), "52");
  EXPECT_EQ(app.exec("INSERT INTO t(side) VALUES ('still')"), "ok");
  EXPECT_EQ(app.value("PRAGMA integrity_check"), "ok");
  EXPECT_EQ(onServer("SELECT group_concat(side) FROM t"), "base1,base2,srv1,srv2");
  EXPECT_EQ(onServer("PRAGMA integrity_check"), "ok");
  noCompanionsOnTheServer();

  // keep-remote: the server's version goes into the open database. The
  // program wrote a row after the conflict was shown ('still'): the first
  // try refuses, naming the cache, and refreshes the conflict; decided again
  // on what is there now, it applies.
  uint64_t id = conflicts[0]["id"].get<uint64_t>();
  EXPECT_NE(hoard("resolve " + std::to_string(id) + " --with keep-remote").first, 0);
  EXPECT_NE(last_err_.find("changed in the cache"), std::string::npos) << last_err_;
  EXPECT_EQ(app.value("SELECT count(*) FROM t"), "53");
  ASSERT_EQ(hoard("resolve " + std::to_string(id) + " --with keep-remote").first, 0) << last_err_;
  EXPECT_EQ(app.value("SELECT group_concat(side) FROM t"), "base1,base2,srv1,srv2");
  EXPECT_EQ(app.value("PRAGMA integrity_check"), "ok");
  noCompanionsOnTheServer();
}

TEST_F(CliSqliteTest, OneSideChangedTravelsWholeWithTheDatabaseOpen) {
  sqlite3(R_ + "/w.db",
          "PRAGMA journal_mode=WAL; CREATE TABLE t(id INTEGER PRIMARY KEY, side TEXT); "
          "INSERT INTO t(side) VALUES ('base1'),('base2');");
  ASSERT_EQ(hoard("share add s " + R_ + " " + C_).first, 0) << last_err_;
  ASSERT_EQ(hoard("preload s").first, 0) << last_err_;
  sync::SqliteChild app(C_ + "/w.db");
  ASSERT_EQ(app.exec("PRAGMA wal_autocheckpoint=0"), "ok");
  // Only the cache: every row reaches the server, in a valid database.
  for (int i = 0; i < 50; ++i) ASSERT_EQ(app.exec("INSERT INTO t(side) VALUES ('cache')"), "ok");
  EXPECT_TRUE(eventually([&] {
    hoard("sync s");
    return onServer("SELECT count(*) FROM t") == "52";
  })) << last_err_ << slurp(dir_ + "/hoardd.log");
  EXPECT_EQ(onServer("PRAGMA integrity_check"), "ok");
  noCompanionsOnTheServer();
  // Only the server: the open connection sees the new rows.
  sqlite3(R_ + "/w.db", "INSERT INTO t(side) VALUES ('srv1'),('srv2');");
  EXPECT_TRUE(eventually([&] {
    hoard("sync s");
    return app.value("SELECT count(*) FROM t") == "54";
  })) << last_err_ << slurp(dir_ + "/hoardd.log");
  EXPECT_EQ(app.value("PRAGMA integrity_check"), "ok");
  EXPECT_EQ(hoard("conflicts s").first, 0) << "no conflict: " << last_err_;
}

}  // namespace
}  // namespace hoard
