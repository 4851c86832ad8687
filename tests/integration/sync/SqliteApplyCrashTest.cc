// SPDX-License-Identifier: MIT
// Issue 10: hoard killed while it applies a merged database. The conflict's
// three versions are merged row by row by the real sqlite resolver; a child
// applies the result through KillingFs and is SIGKILLed before and after each
// of its mutating calls; the next start's recover() must leave the conflict
// open with both databases as detected, or resolved with the merged rows on
// both sides (a crash after the remote took the result is finished, never
// dropped), and no intent behind.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "SqliteMerge.h"
#include "integration/sync/KillingCommit.h"
#include "integration/sync/KillingFs.h"
#include "integration/sync/ReconcilerFixture.h"
#include "integration/sync/SqliteChild.h"

namespace hoard::sync {
namespace {

namespace fs = std::filesystem;

constexpr const char* kLocalRows = "1 base1,2 base2,10 cache";
constexpr const char* kRemoteRows = "1 base1,2 base2,20 server";
constexpr const char* kMergedRows = "1 base1,2 base2,10 cache,20 server";

class SqliteApplyCrashTest : public ReconcilerTest {
 protected:
  std::string cacheDb() const { return cache_ + "/notes.db"; }
  std::string remoteDb() const { return remote_root_ + "/notes.db"; }

  // A content conflict on a WAL database: row 10 added in the cache, row 20
  // on the server.
  journal::ConflictRecord dbConflict() {
    runSql(remoteDb(),
           "PRAGMA journal_mode=WAL; CREATE TABLE t(id INTEGER PRIMARY KEY, side TEXT);"
           "INSERT INTO t VALUES (1, 'base1'), (2, 'base2');");
    sync();
    runSql(cacheDb(), "INSERT INTO t VALUES (10, 'cache');");
    runSql(remoteDb(), "INSERT INTO t VALUES (20, 'server');");
    sync();
    auto open = openConflicts();
    EXPECT_EQ(open.size(), 1u);
    return open.empty() ? journal::ConflictRecord{} : open[0];
  }

  // What the sqlite resolver makes of the conflict's kept versions.
  UniqueFd merge(const journal::ConflictRecord& c) {
    resolvers::ConflictView v;
    v.kind = ConflictKind::kContent;
    std::vector<UniqueFd> keep;
    for (auto [object, version] :
         {std::pair{c.base_object, &v.base}, std::pair{c.local_object, &v.local},
          std::pair{c.remote_object, &v.remote}}) {
      EXPECT_TRUE(object);
      if (!object) continue;
      auto fd = store_->open(*object);
      EXPECT_TRUE(fd);
      if (!fd) continue;
      version->type = FileType::kFile;
      version->fd = fd->get();
      keep.push_back(std::move(*fd));
    }
    UniqueFd out(::memfd_create("merged", MFD_CLOEXEC));
    v.output_fd = out.get();
    resolvers::SqliteMerge resolver;
    auto d = resolver.resolve(v, nlohmann::json::object());
    EXPECT_TRUE(d && d->kind == resolvers::DecisionKind::kMerged)
        << (d ? d->reason : d.error().toString());
    return out;
  }

  // "id side" of every row, on a private copy (looking adds nothing there).
  std::string rows(const std::string& db) {
    std::string copy = dir_ + "/look.db";
    fs::remove(copy);
    fs::copy_file(db, copy);
    for (const char* s : {"-wal", "-journal"})
      if (fs::exists(db + s)) fs::copy_file(db + s, copy + s, fs::copy_options::overwrite_existing);
    sqlite3* h = nullptr;
    sqlite3_open(copy.c_str(), &h);
    sqlite3_stmt* st = nullptr;
    std::string out = "<error>";
    if (sqlite3_prepare_v2(h,
                           "SELECT group_concat(id || ' ' || side) FROM (SELECT * FROM t "
                           "ORDER BY id)",
                           -1, &st, nullptr) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
      out = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    sqlite3_stmt* ic = nullptr;
    if (sqlite3_prepare_v2(h, "PRAGMA integrity_check", -1, &ic, nullptr) != SQLITE_OK ||
        sqlite3_step(ic) != SQLITE_ROW ||
        std::string(reinterpret_cast<const char*>(sqlite3_column_text(ic, 0))) != "ok")
      out += " <integrity_check failed>";
    sqlite3_finalize(ic);
    sqlite3_close(h);
    for (const char* s : {"", "-wal", "-shm", "-journal"}) fs::remove(copy + s);
    return out;
  }

  // True if the child was killed (false: it finished on its own).
  bool killDuringApply(int64_t id, int merged_fd, KillPlan plan) {
    std::fflush(nullptr);
    pid_t pid = ::fork();
    if (pid == 0) {
      uint64_t counter = 0;
      KillingFs l(*local_fs_, plan, counter), r(*remote_fs_, plan, counter);
      Reconciler rec(ShareSides{*journal_, mu_, share_, l, r, cache_, *store_, store::KeepPolicy{},
                                "laptop", nullptr, nullptr});
      _exit(rec.apply(id, ConflictDecision{Resolution::kMerged, merged_fd, {}, "sqlite", {}}) ? 0 : 3);
    }
    int status = 0;
    EXPECT_EQ(::waitpid(pid, &status, 0), pid);
    if (WIFEXITED(status)) {
      EXPECT_EQ(WEXITSTATUS(status), 0);
      return false;
    }
    EXPECT_TRUE(WIFSIGNALED(status));
    return true;
  }

  // A child applies `decision` to conflict `id`, both roots wrapped in
  // KillingFs (killed at `plan`) and, with `commit` > 0, killed at that
  // commit of its own journal connection, after writing what the cache's
  // database holds at that instant to dir_/at-kill. True if it was killed.
  bool killDuring(int64_t id, const ConflictDecision& decision, KillPlan plan, uint64_t commit) {
    fs::remove(dir_ + "/at-kill");
    std::fflush(nullptr);
    pid_t pid = ::fork();
    if (pid == 0) {
      if (commit > 0)
        killAtJournalCommit(commit, [&] { std::ofstream(dir_ + "/at-kill") << rows(cacheDb()); });
      auto j = journal::Journal::open(dir_ + "/journal.db");  // a connection with the hook
      if (!j) _exit(4);
      uint64_t counter = 0;
      KillingFs l(*local_fs_, plan, counter), r(*remote_fs_, plan, counter);
      Reconciler rec(ShareSides{**j, mu_, share_, l, r, cache_, *store_, store::KeepPolicy{},
                                "laptop", nullptr, nullptr});
      _exit(rec.apply(id, decision) ? 0 : 3);
    }
    int status = 0;
    EXPECT_EQ(::waitpid(pid, &status, 0), pid);
    if (WIFEXITED(status)) {
      EXPECT_EQ(WEXITSTATUS(status), 0);
      return false;
    }
    EXPECT_TRUE(WIFSIGNALED(status));
    return true;
  }
  // The stash copies of notes.db in `root`.
  static std::vector<std::string> stashes(const std::string& root) {
    std::vector<std::string> out;
    for (auto& e : fs::directory_iterator(root))
      if (e.path().filename().string().rfind("notes.conflict-", 0) == 0 &&
          e.path().extension() == ".db")
        out.push_back(e.path().string());
    return out;
  }
  // What every restart must find, whatever the kill point: no intent, no
  // companion on the server, and a pass that settles.
  void expectSettled(bool open) {
    auto intents = journal_->intents(share_);
    ASSERT_TRUE(intents);
    EXPECT_TRUE(intents->empty());
    std::vector<std::string> dbs = stashes(remote_root_);
    dbs.push_back(remoteDb());
    for (const std::string& db : dbs)
      for (const char* s : {"-wal", "-shm", "-journal"})
        EXPECT_FALSE(fs::exists(db + s)) << db << s << " on the server";
    ReconcileReport r = sync();
    EXPECT_FALSE(r.stopped);
    if (!open) {
      EXPECT_EQ(r.pushed + r.pulled, 0u);
    }
    EXPECT_EQ(openConflicts().size(), open ? 1u : 0u);
  }

  // The next start: the journal reopened, recover() run.
  void restart() {
    journal_.reset();
    auto j = journal::Journal::open(dir_ + "/journal.db");
    ASSERT_TRUE(j) << j.error().toString();
    journal_ = std::move(*j);
    reconciler_ = std::make_unique<Reconciler>(
        ShareSides{*journal_, mu_, share_, *local_fs_, *remote_fs_, cache_, *store_,
                   store::KeepPolicy{}, "laptop", nullptr, nullptr});
    Status ok = reconciler_->recover();
    ASSERT_TRUE(ok) << ok.error().toString();
  }
};

TEST_F(SqliteApplyCrashTest, KilledWhileApplyingAMergedDatabaseRecoverFinishesOrLeavesItOpen) {
  size_t kills = 0, finished_by_recover = 0;
  for (uint64_t at = 1;; ++at) {
    bool finished = false;
    for (auto when : {KillPlan::When::kBefore, KillPlan::When::kAfter}) {
      TearDown();
      SetUp();
      auto c = dbConflict();
      ASSERT_TRUE(c.open);
      ASSERT_EQ(rows(cacheDb()), kLocalRows);
      UniqueFd merged = merge(c);
      bool killed = killDuringApply(c.id, merged.get(), KillPlan{at, when});
      kills += killed;
      restart();
      SCOPED_TRACE("killed at op " + std::to_string(at) +
                   (when == KillPlan::When::kBefore ? " before" : " after"));
      auto now = journal_->conflict(c.id);
      ASSERT_TRUE(now);
      // The remote holds the merged rows exactly when the conflict is resolved.
      if (now->open) {
        EXPECT_EQ(rows(cacheDb()), kLocalRows);
        EXPECT_EQ(rows(remoteDb()), kRemoteRows);
      } else {
        EXPECT_EQ(now->resolution, "merged");
        EXPECT_EQ(rows(cacheDb()), kMergedRows);
        EXPECT_EQ(rows(remoteDb()), kMergedRows);
        finished_by_recover += killed;
      }
      auto intents = journal_->intents(share_);
      ASSERT_TRUE(intents);
      EXPECT_TRUE(intents->empty());
      for (const char* s : {"-wal", "-shm", "-journal"})
        EXPECT_FALSE(fs::exists(remoteDb() + s)) << "notes.db" << s << " on the server";
      // A resolved database is the new base on both sides: nothing moves.
      ReconcileReport r = sync();
      EXPECT_FALSE(r.stopped);
      if (!now->open) {
        EXPECT_EQ(r.pushed + r.pulled, 0u);
      }
      EXPECT_EQ(openConflicts().size(), now->open ? 1u : 0u);
      if (!killed) finished = true;
    }
    if (finished) break;
    ASSERT_LT(at, 20u) << "apply never finished";
  }
  EXPECT_GE(kills, 2u);
  // Killed after the remote took the result (and before the cache did):
  // recover() completed the apply instead of dropping it.
  EXPECT_GE(finished_by_recover, 1u);
}

// Issue 10: killed between the cache-side install of a merged database
// (through SQLite, beyond KillingFs's reach) and the journal's commit: at
// every commit of the apply in turn. At the last one the cache already holds
// the merged rows; after restart both sides hold them in valid databases and
// the history says who decided, or (killed earlier) both are as detected.
TEST_F(SqliteApplyCrashTest, KilledAtEachJournalCommitOfAMergedDatabaseApply) {
  size_t after_install = 0;
  for (uint64_t commit = 1;; ++commit) {
    TearDown();
    SetUp();
    auto c = dbConflict();
    ASSERT_TRUE(c.open);
    UniqueFd merged = merge(c);
    ConflictDecision d{Resolution::kMerged, merged.get(), "sqlite via rule 1", "sqlite", "1"};
    bool killed = killDuring(c.id, d, KillPlan{}, commit);
    restart();
    SCOPED_TRACE("killed at commit " + std::to_string(commit));
    const std::string at_kill = killed ? get(dir_ + "/at-kill") : std::string();
    auto now = journal_->conflict(c.id);
    ASSERT_TRUE(now);
    if (now->open) {
      EXPECT_NE(at_kill, kMergedRows) << "the cache held the result, the remote first: finish it";
      EXPECT_EQ(rows(cacheDb()), kLocalRows);
      EXPECT_EQ(rows(remoteDb()), kRemoteRows);
    } else {
      EXPECT_EQ(rows(cacheDb()), kMergedRows);
      EXPECT_EQ(rows(remoteDb()), kMergedRows);
      auto h = journal_->resolutions(share_);
      ASSERT_TRUE(h);
      ASSERT_EQ(h->size(), 1u);
      EXPECT_EQ((*h)[0].decision, "merged");
      EXPECT_EQ((*h)[0].resolver, "sqlite");
      EXPECT_EQ((*h)[0].rule, "1");
      EXPECT_EQ(now->resolution, "sqlite via rule 1");
    }
    if (at_kill == kMergedRows) ++after_install;
    expectSettled(now->open);
    if (!killed) break;
    ASSERT_LT(commit, 20u) << "apply never finished";
  }
  EXPECT_GE(after_install, 1u) << "no kill fell between the cache's install and the commit";
}

// Issue 10: keep both of a database conflict (the cache's database moves to a
// conflict name on both sides, the server's takes the name), killed before
// and after every mutating call and at every journal commit. After restart
// each name holds one side's rows whole (never a mix), in a valid database;
// the cache's rows are never lost; the journal agrees with the files.
TEST_F(SqliteApplyCrashTest, KilledAtEveryStepOfStashingADatabaseNothingIsLostOrMixed) {
  struct Point {
    KillPlan plan;
    uint64_t commit;
  };
  std::vector<Point> points;
  for (uint64_t at = 1; at <= 12; ++at)
    for (auto when : {KillPlan::When::kBefore, KillPlan::When::kAfter})
      points.push_back({KillPlan{at, when}, 0});
  for (uint64_t commit = 1; commit <= 6; ++commit) points.push_back({KillPlan{}, commit});
  size_t kills = 0, resolved_after_kill = 0;
  for (const Point& p : points) {
    TearDown();
    SetUp();
    auto c = dbConflict();
    ASSERT_TRUE(c.open);
    ConflictDecision d{Resolution::kStash, -1, "stash", "stash", ""};
    bool killed = killDuring(c.id, d, p.plan, p.commit);
    kills += killed;
    restart();
    SCOPED_TRACE(p.commit ? "killed at commit " + std::to_string(p.commit)
                          : "killed at op " + std::to_string(p.plan.at_op) +
                                (p.plan.when == KillPlan::When::kBefore ? " before" : " after"));
    auto now = journal_->conflict(c.id);
    ASSERT_TRUE(now);
    const auto cache_stash = stashes(cache_), remote_stash = stashes(remote_root_);
    if (now->open) {
      EXPECT_EQ(rows(cacheDb()), kLocalRows);
      EXPECT_EQ(rows(remoteDb()), kRemoteRows);
      EXPECT_TRUE(cache_stash.empty());
      EXPECT_TRUE(remote_stash.empty());
    } else {
      resolved_after_kill += killed;
      EXPECT_EQ(rows(cacheDb()), kRemoteRows);
      EXPECT_EQ(rows(remoteDb()), kRemoteRows);
      ASSERT_EQ(cache_stash.size(), 1u);
      ASSERT_EQ(remote_stash.size(), 1u);
      EXPECT_EQ(fs::path(cache_stash[0]).filename(), fs::path(remote_stash[0]).filename());
      EXPECT_EQ(rows(cache_stash[0]), kLocalRows);
      EXPECT_EQ(rows(remote_stash[0]), kLocalRows);
      auto h = journal_->resolutions(share_);
      ASSERT_TRUE(h);
      ASSERT_EQ(h->size(), 1u);
      EXPECT_EQ((*h)[0].decision, "stash");
      EXPECT_EQ(fs::path(cache_stash[0]).filename(), (*h)[0].stash_path);
    }
    // A stash copy the server got before the crash is the cache's rows whole.
    for (const auto& s : remote_stash) EXPECT_EQ(rows(s), kLocalRows) << s;
    expectSettled(now->open);
  }
  EXPECT_GE(kills, 6u);
  // Once its intent is recorded, a stash is always finished by recover().
  EXPECT_GE(resolved_after_kill, 3u);
}

}  // namespace
}  // namespace hoard::sync
