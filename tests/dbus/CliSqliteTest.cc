// SPDX-License-Identifier: MIT
// Issue 10's scenario as a user meets it, through the real `hoard` CLI and
// hoardd on a private bus, with the real sqlite3 command on the server and a
// program (a python3 child) keeping the cache's database open in WAL mode
// with autocheckpoint off while the share goes offline and back.

#include <fcntl.h>
#include <stdlib.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "BusHarness.h"
#include "SchemaCheck.h"
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
    startDaemon();
  }
  // hoardd with its config in dir_/config (none there: no rules).
  void startDaemon() {
    daemon_.reset();
    daemon_ = std::make_unique<Daemon>(
        dir_ + "/state", dir_ + "/hoardd.log",
        std::vector<std::pair<std::string, std::string>>{{"XDG_CONFIG_HOME", dir_ + "/config"}});
    ASSERT_TRUE(daemon_->start()) << slurp(dir_ + "/hoardd.log");
  }
  // config.json holds `config`; hoardd starts again to read it.
  void withConfig(const std::string& config) {
    put(dir_ + "/config/hoard/config.json", config);
    startDaemon();
  }
  void TearDown() override {
    daemon_.reset();
    bus_.reset();
    fs::remove_all(dir_);
  }
  std::pair<int, std::string> hoard(const std::string& args) {
    auto r = runHoard(args, dir_ + "/err");
    last_err_ = slurp(dir_ + "/err");
    return r;
  }
  // The sqlite3 command, on a file of the server.
  std::string sqlite3(const std::string& file, const std::string& sql) {
    auto [rc, out] = run("/usr/bin/sqlite3 -cmd '.timeout 10000' '" + file + "' \"" + sql + "\" 2>&1");
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

// `hoard show ID --tables` and `hoard diff ID` on a database conflict: the
// rows each side inserted, updated and deleted, per table (one named with a
// space and a quote), and what the sqlite resolver would do; --json too,
// matching its schema. A text conflict has no tables.
TEST_F(CliSqliteTest, ShowTablesAndDiffPrintTheRowsEachSideChangedPerTable) {
  sqlite3(R_ + "/w.db",
          "PRAGMA journal_mode=WAL; CREATE TABLE t(id INTEGER PRIMARY KEY, side TEXT); "
          "CREATE TABLE \\\"my 'notes\\\"(k TEXT PRIMARY KEY, body BLOB); "
          "INSERT INTO t(side) VALUES ('base1'),('base2'),('base3'); "
          "INSERT INTO \\\"my 'notes\\\" VALUES ('a', x'00ff'), ('b', NULL);");
  std::ofstream(R_ + "/notes.txt") << "base\n";
  ASSERT_EQ(hoard("share add s " + R_ + " " + C_).first, 0) << last_err_;
  ASSERT_EQ(hoard("preload s").first, 0) << last_err_;
  ASSERT_EQ(hoard("offline s").first, 0) << last_err_;
  sync::runSql(C_ + "/w.db",
               "INSERT INTO t VALUES (10, 'cache'), (11, 'cache'); UPDATE t SET side = 'c1' "
               "WHERE id = 1; DELETE FROM \"my 'notes\" WHERE k = 'b';");
  std::ofstream(C_ + "/notes.txt") << "cache\n";
  sqlite3(R_ + "/w.db", "INSERT INTO t VALUES (20, 'srv'); DELETE FROM t WHERE id = 3;");
  std::ofstream(R_ + "/notes.txt") << "server\n";
  ASSERT_EQ(hoard("online s").first, 0) << last_err_;
  EXPECT_TRUE(eventually([&] { return hoard("sync s").first == 3; })) << last_err_;
  json conflicts = json::parse(hoard("conflicts s --json").second, nullptr, false);
  ASSERT_TRUE(conflicts.is_array() && conflicts.size() == 2u) << conflicts.dump();
  std::string db_id, txt_id;
  for (const json& c : conflicts)
    (c["path"] == "w.db" ? db_id : txt_id) = std::to_string(c["id"].get<uint64_t>());
  ASSERT_FALSE(db_id.empty());

  auto [rc, out] = hoard("show " + db_id + " --tables");
  EXPECT_EQ(rc, 0) << last_err_;
  EXPECT_EQ(out,
            "local, against the base:\n"
            "  table \"my 'notes\": 0 inserted, 0 updated, 1 deleted\n"
            "  table \"t\": 2 inserted, 1 updated, 0 deleted\n"
            "remote, against the base:\n"
            "  table \"t\": 1 inserted, 0 updated, 1 deleted\n"
            "the sqlite resolver would merge: clean, 4 rows from local, 2 from remote\n");
  auto [drc, dout] = hoard("diff " + db_id);
  EXPECT_EQ(drc, 0) << last_err_;
  EXPECT_EQ(dout, out);

  auto [jrc, jout] = hoard("diff " + db_id + " --json");
  EXPECT_EQ(jrc, 0) << last_err_;
  json doc = json::parse(jout, nullptr, false);
  EXPECT_EQ(bustest::schemaViolations(doc, "conflict-tables"), "") << jout;
  EXPECT_EQ(doc["remote"]["tables"][0]["table"], "t");
  EXPECT_EQ(doc["remote"]["tables"][0]["deleted"], 1);
  EXPECT_EQ(doc["local"]["tables"][1]["inserted"], 2);
  EXPECT_EQ(doc["merge"]["decision"], "merged");

  // Nothing was written anywhere by looking.
  EXPECT_EQ(onServer("SELECT group_concat(id) FROM t"), "1,2,20");
  EXPECT_EQ(hoard("show " + txt_id + " --tables").first, 1);
  EXPECT_NE(last_err_.find("is not between two SQLite databases"), std::string::npos) << last_err_;
  EXPECT_EQ(hoard("diff " + txt_id + " --json").first, 2);
}

}  // namespace
}  // namespace hoard

namespace hoard {
namespace {

// The real `sqlite3` program holding a database open, as an application
// does: it reads statements from a pipe this test writes, one line at a
// time; its output and errors go to a file.
class SqliteShell {
 public:
  SqliteShell(const std::string& db, const std::string& log) : log_(log) {
    ::signal(SIGPIPE, SIG_IGN);  // a shell that ended early fails send(), not the test binary
    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0) return;
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(p[0], 0);
      int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      ::dup2(out, 1);
      ::dup2(out, 2);
      ::execl("/usr/bin/sqlite3", "sqlite3", "-batch", "-bail", db.c_str(), nullptr);
      _exit(127);
    }
    ::close(p[0]);
    to_ = p[1];
  }
  ~SqliteShell() { quit(); }
  void send(const std::string& sql) {
    std::string line = sql + "\n";
    ASSERT_EQ(::write(to_, line.data(), line.size()), static_cast<ssize_t>(line.size()));
  }
  // Ends it (.quit); its exit status.
  int quit() {
    if (pid_ <= 0) return -1;
    send(".quit");
    ::close(to_);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  std::string output() const { return slurp(log_); }

 private:
  std::string log_;
  pid_t pid_ = -1;
  int to_ = -1;
};

constexpr const char* kRows = "SELECT group_concat(id || ' ' || side) FROM (SELECT * FROM t ORDER BY id)";
constexpr const char* kSqliteRule =
    R"({"rules": [{"name": "databases", "class": "sqlite", "resolver": "sqlite"}]})";

// Issue 10, the data-loss scenario decided by a rule: a `sqlite3` process
// keeps the cache's WAL database open (autocheckpoint off) through the
// reconnect while both sides changed different rows, and both inserted a row
// under the same INTEGER PRIMARY KEY. The rule's sqlite resolver merges row by
// row: every row of both sides on both sides (the server's new row keeps its
// key, the cache's is renumbered after it), valid databases, the program's
// connection unharmed, the history naming the rule and the resolver.
TEST_F(CliSqliteTest, ARuleMergesRowsEditedOnBothSidesOfADatabaseHeldOpen) {
  withConfig(kSqliteRule);
  sqlite3(R_ + "/w.db",
          "PRAGMA journal_mode=WAL; CREATE TABLE t(id INTEGER PRIMARY KEY, side TEXT); "
          "INSERT INTO t(side) VALUES ('base1'),('base2');");
  ASSERT_EQ(hoard("share add s " + R_ + " " + C_).first, 0) << last_err_;
  ASSERT_EQ(hoard("preload s").first, 0) << last_err_;
  ASSERT_EQ(hoard("offline s").first, 0) << last_err_;

  SqliteShell app(C_ + "/w.db", dir_ + "/app.log");
  // Like any program sharing a database, it waits for a lock rather than fail
  // (another sqlite3 closing last checkpoints under an exclusive lock).
  app.send(".timeout 10000");
  app.send("PRAGMA wal_autocheckpoint=0;");
  app.send("UPDATE t SET side = 'cache1' WHERE id = 1;");
  app.send("INSERT INTO t(side) VALUES ('cache-new');");
  ASSERT_TRUE(eventually([&] { return sqlite3(C_ + "/w.db", "SELECT count(*) FROM t") == "3"; }))
      << app.output();
  ASSERT_TRUE(fs::exists(C_ + "/w.db-wal"));
  sqlite3(R_ + "/w.db", "UPDATE t SET side = 'srv2' WHERE id = 2; INSERT INTO t(side) VALUES ('srv-new');");

  ASSERT_EQ(hoard("online s").first, 0) << last_err_;
  json history;
  EXPECT_TRUE(eventually([&] {
    hoard("sync s");
    history = json::parse(hoard("conflicts s --resolved --json").second, nullptr, false);
    return history.is_array() && history.size() == 1u && hoard("conflicts s").first == 0;
  })) << history.dump() << last_err_ << slurp(dir_ + "/hoardd.log");
  ASSERT_EQ(history.size(), 1u);
  EXPECT_EQ(history[0]["path"], "w.db");
  EXPECT_EQ(history[0]["decision"], "merged");
  EXPECT_EQ(history[0]["resolver"], "sqlite");
  EXPECT_NE(history[0]["rule"].get<std::string>().find("databases"), std::string::npos)
      << history[0].dump();

  const std::string merged = "1 cache1,2 srv2,3 srv-new,4 cache-new";
  EXPECT_EQ(onServer(kRows), merged);
  EXPECT_EQ(onServer("PRAGMA integrity_check"), "ok");
  noCompanionsOnTheServer();
  EXPECT_EQ(sqlite3(C_ + "/w.db", kRows), merged);
  EXPECT_EQ(sqlite3(C_ + "/w.db", "PRAGMA integrity_check"), "ok");

  // The program's connection sees the merge and goes on writing; its row
  // travels like any other.
  app.send("INSERT INTO t(side) VALUES ('after');");
  EXPECT_TRUE(eventually([&] { return sqlite3(C_ + "/w.db", kRows) == merged + ",5 after"; }))
      << app.output();
  EXPECT_EQ(app.quit(), 0) << app.output();
  EXPECT_EQ(app.output(), "0\n") << "the program saw no error (0 is its PRAGMA's answer)";
  EXPECT_TRUE(eventually([&] {
    hoard("sync s");
    return onServer(kRows) == merged + ",5 after";
  })) << last_err_ << slurp(dir_ + "/hoardd.log");
  EXPECT_EQ(onServer("PRAGMA integrity_check"), "ok");
  noCompanionsOnTheServer();
}

// The same row changed differently on both sides: the rule's sqlite resolver
// defers (its default on_row_conflict), the conflict stays open with the
// reason shown in `hoard conflicts`, and neither side is touched. The rule
// given on_row_conflict "remote" and reloaded merges, taking the server's row.
TEST_F(CliSqliteTest, TheSameRowEditedOnBothSidesStaysOpenWithTheReason) {
  withConfig(kSqliteRule);
  sqlite3(R_ + "/w.db",
          "PRAGMA journal_mode=WAL; CREATE TABLE t(id INTEGER PRIMARY KEY, side TEXT); "
          "INSERT INTO t(side) VALUES ('base1'),('base2');");
  ASSERT_EQ(hoard("share add s " + R_ + " " + C_).first, 0) << last_err_;
  ASSERT_EQ(hoard("preload s").first, 0) << last_err_;
  ASSERT_EQ(hoard("offline s").first, 0) << last_err_;
  sqlite3(C_ + "/w.db", "UPDATE t SET side = 'mine' WHERE id = 1; INSERT INTO t VALUES (7, 'c7');");
  sqlite3(R_ + "/w.db", "UPDATE t SET side = 'theirs' WHERE id = 1;");
  ASSERT_EQ(hoard("online s").first, 0) << last_err_;
  EXPECT_TRUE(eventually([&] { return hoard("sync s").first == 3; })) << last_err_;
  json open = json::parse(hoard("conflicts s --json").second, nullptr, false);
  ASSERT_TRUE(open.is_array() && open.size() == 1u) << open.dump();
  const std::string id = std::to_string(open[0]["id"].get<uint64_t>());
  // The chain ran on it (it logs what the rule's resolver said) and left it open.
  EXPECT_TRUE(eventually([&] {
    return slurp(dir_ + "/hoardd.log").find("conflict #" + id + " at w.db") != std::string::npos;
  })) << slurp(dir_ + "/hoardd.log");
  EXPECT_EQ(hoard("conflicts s --resolved --json").second.find("w.db"), std::string::npos);
  open = json::parse(hoard("conflicts s --json").second, nullptr, false);
  ASSERT_EQ(open.size(), 1u);
  EXPECT_EQ(open[0]["resolver"], "sqlite");
  EXPECT_EQ(open[0]["would"], "defer");
  const std::string reason = open[0]["reason"];
  EXPECT_NE(reason.find("\"t\""), std::string::npos) << reason;
  auto [rc, text] = hoard("conflicts s");
  EXPECT_EQ(rc, 3);
  EXPECT_NE(text.find(reason), std::string::npos) << text;
  EXPECT_EQ(sqlite3(C_ + "/w.db", kRows), "1 mine,2 base2,7 c7");
  EXPECT_EQ(onServer(kRows), "1 theirs,2 base2");

  put(dir_ + "/config/hoard/config.json",
      R"({"rules": [{"name": "databases", "class": "sqlite", "resolver": "sqlite",
                     "options": {"on_row_conflict": "remote"}}]})");
  ASSERT_EQ(hoard("rules reload").first, 0) << last_err_;
  EXPECT_TRUE(eventually([&] { return hoard("conflicts s").first == 0; }))
      << slurp(dir_ + "/hoardd.log");
  EXPECT_EQ(onServer(kRows), "1 theirs,2 base2,7 c7");
  EXPECT_EQ(sqlite3(C_ + "/w.db", kRows), "1 theirs,2 base2,7 c7");
  EXPECT_EQ(onServer("PRAGMA integrity_check"), "ok");
  noCompanionsOnTheServer();
}

}  // namespace
}  // namespace hoard
