// SPDX-License-Identifier: MIT
// Offline means offline, at once, also in the middle of one big file (issue
// 9, point 5): a stop requested while a long copy runs cuts that copy within
// a chunk; its temporary is gone, nothing half-written reaches the other
// side, nothing counts as a failure, and the next pass does it whole.

#include <atomic>
#include <chrono>
#include <filesystem>
#include <future>
#include <thread>

#include <gtest/gtest.h>

#include "integration/sync/FaultyShareFixture.h"
#include "integration/sync/SqliteChild.h"

namespace hoard::sync {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr size_t kBigBytes = 24u << 20;       // 24 chunks of 1 MiB
constexpr auto kPerChunk = 100ms;             // a whole copy takes 2.4 s or more
constexpr auto kStopAfter = 400ms;            // well inside the copy

std::string bigBytes(char salt) {
  std::string out(kBigBytes, '\0');
  for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<char>((i * 131 + salt) & 0xff);
  return out;
}

// The daemon's stack on the remote side: deadlines and a worker pool over a
// fault injector over the real folder.
class StopMidTransferTest : public FaultyShareFixture {
 protected:
  void SetUp() override { openFaultyShare("/tmp/hoard-stopmid-XXXXXX", "stopmid"); }
  static size_t temporariesIn(const std::string& root) {
    size_t n = 0;
    for (auto& e : fs::recursive_directory_iterator(root))
      n += e.path().filename().string().rfind(".hoard-tmp-", 0) == 0;
    return n;
  }
  void slowTransfers(remote::RemoteOp op, const std::string& glob = "big.bin") {
    remote::FaultRule slow;
    slow.op = op;
    slow.path_glob = glob;
    slow.chunk_delay = kPerChunk;
    slow_rule_ = faulty_->addRule(slow);
  }

  // Runs a pass, sets its stop token kStopAfter in, and returns the report
  // with how long the pass took to end once told to stop.
  std::pair<ReconcileReport, std::chrono::milliseconds> runAndStop() {
    auto stop = std::make_shared<std::atomic<bool>>(false);
    ReconcileOptions o;
    o.stop = stop;
    auto pass = std::async(std::launch::async, [&] { return reconciler_->run(o); });
    std::this_thread::sleep_for(kStopAfter);
    const auto told = std::chrono::steady_clock::now();
    stop->store(true);
    auto r = pass.get();
    auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - told);
    EXPECT_TRUE(r) << r.error().toString();
    return {r ? *r : ReconcileReport{}, took};
  }
  ReconcileReport syncWhole() {
    faulty_->removeRule(slow_rule_);
    auto r = reconciler_->run();
    EXPECT_TRUE(r) << r.error().toString();
    if (!r) return {};
    EXPECT_TRUE(r->clean()) << (r->stopped ? r->stopped->toString() : "failures");
    return *r;
  }
  bool baseHas(const RelPath& p) {
    auto b = journal_->listBase(share_);
    EXPECT_TRUE(b);
    if (!b) return false;
    for (const auto& e : *b)
      if (e.path == p) return true;
    return false;
  }

  int slow_rule_ = 0;
};

TEST_F(StopMidTransferTest, AStopCutsALongFetchAndTheNextPassFetchesItWhole) {
  const std::string big = bigBytes('r');
  put(remote_root_ + "/big.bin", big);
  slowTransfers(remote::RemoteOp::kFetchFile);

  auto [r, took] = runAndStop();
  ASSERT_TRUE(r.stopped);
  EXPECT_EQ(r.stopped->code(), ErrorCode::kAborted) << r.stopped->toString();
  EXPECT_TRUE(r.failed.empty()) << r.failed.front().second.toString();
  // Cut within a chunk or two, not at the end of the file's 2.4 s.
  EXPECT_LT(took, 1000ms);
  EXPECT_FALSE(fs::exists(fs::symlink_status(cache_ + "/big.bin"))) << "half a file installed";
  EXPECT_FALSE(baseHas("big.bin"));
  EXPECT_EQ(temporariesIn(cache_), 0u);
  EXPECT_EQ(get(remote_root_ + "/big.bin"), big);

  ReconcileReport again = syncWhole();
  EXPECT_EQ(again.hoarded, 1u);
  EXPECT_TRUE(get(cache_ + "/big.bin") == big) << "the next pass fetched it whole";
}

TEST_F(StopMidTransferTest, AStopCutsALongPushLeavingTheRemoteAsItWas) {
  put(remote_root_ + "/big.bin", "the old version\n");
  put(remote_root_ + "/big.bin-x", "a sibling");
  ASSERT_TRUE(syncWhole().stopped == std::nullopt);
  const std::string big = bigBytes('l');
  put(cache_ + "/big.bin", big);
  slowTransfers(remote::RemoteOp::kReplaceFile);

  auto [r, took] = runAndStop();
  ASSERT_TRUE(r.stopped);
  EXPECT_EQ(r.stopped->code(), ErrorCode::kAborted) << r.stopped->toString();
  EXPECT_TRUE(r.failed.empty()) << r.failed.front().second.toString();
  EXPECT_LT(took, 1000ms);
  // Nothing half-written on the remote: the old bytes, no temporary left.
  EXPECT_EQ(get(remote_root_ + "/big.bin"), "the old version\n");
  EXPECT_EQ(temporariesIn(remote_root_), 0u);
  auto intents = journal_->intents(share_);
  ASSERT_TRUE(intents);
  EXPECT_TRUE(intents->empty()) << "the cut replace is not left as in flight";

  ReconcileReport again = syncWhole();
  EXPECT_EQ(again.pushed, 1u);
  EXPECT_TRUE(get(remote_root_ + "/big.bin") == big) << "the next pass sent it whole";
  EXPECT_EQ(get(remote_root_ + "/big.bin-x"), "a sibling");
  EXPECT_EQ(temporariesIn(remote_root_), 0u);
}

// A database is sent as a snapshot through SqliteSides::push: a stop while
// its bytes travel cuts that copy too, leaving the server's database whole
// and as it was, and both sides' databases readable.
TEST_F(StopMidTransferTest, AStopCutsALongDatabasePushLeavingBothDatabasesWhole) {
  const std::string cdb = cache_ + "/big.db", rdb = remote_root_ + "/big.db";
  runSql(cdb, "CREATE TABLE t(id INTEGER PRIMARY KEY, b BLOB); INSERT INTO t(b) VALUES ('v1');");
  put(remote_root_ + "/big.db-x", "a sibling");
  ASSERT_TRUE(syncWhole().stopped == std::nullopt);
  const std::string old_remote = get(rdb);
  ASSERT_NE(old_remote, "<absent>");
  // 24 MiB of rows: 24 chunks of the slowed copy.
  runSql(cdb,
         "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 384) "
         "INSERT INTO t(b) SELECT randomblob(65536) FROM n;");
  ASSERT_GT(fs::file_size(cdb), kBigBytes);
  slowTransfers(remote::RemoteOp::kReplaceFile, "big.db");

  auto [r, took] = runAndStop();
  ASSERT_TRUE(r.stopped);
  EXPECT_EQ(r.stopped->code(), ErrorCode::kAborted) << r.stopped->toString();
  EXPECT_TRUE(r.failed.empty()) << r.failed.front().second.toString();
  EXPECT_LT(took, 1000ms);
  EXPECT_TRUE(get(rdb) == old_remote) << "the server's database was touched";
  EXPECT_EQ(temporariesIn(remote_root_), 0u);
  EXPECT_FALSE(fs::exists(rdb + "-wal")) << "a -wal of hoard's making on the server";
  auto intents = journal_->intents(share_);
  ASSERT_TRUE(intents);
  EXPECT_TRUE(intents->empty()) << "the cut push is not left as in flight";
  auto count = [](const std::string& db) {
    sqlite3* h = nullptr;
    std::string out = "<error>";
    if (sqlite3_open_v2(db.c_str(), &h, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
      sqlite3_stmt* st = nullptr;
      if (sqlite3_prepare_v2(h, "SELECT (SELECT count(*) FROM t) || ' ' || "
                                "(SELECT integrity_check FROM pragma_integrity_check)",
                             -1, &st, nullptr) == SQLITE_OK &&
          sqlite3_step(st) == SQLITE_ROW)
        out = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
      sqlite3_finalize(st);
    }
    sqlite3_close(h);
    return out;
  };
  // Looked at on a copy, so the look leaves nothing on the server.
  fs::copy_file(rdb, dir_ + "/look.db");
  EXPECT_EQ(count(dir_ + "/look.db"), "1 ok");
  EXPECT_EQ(count(cdb), "385 ok");

  ReconcileReport again = syncWhole();
  EXPECT_EQ(again.pushed, 1u);
  fs::copy_file(rdb, dir_ + "/look2.db");
  EXPECT_EQ(count(dir_ + "/look2.db"), "385 ok") << "the next pass sent it whole";
  EXPECT_EQ(get(remote_root_ + "/big.db-x"), "a sibling");
  EXPECT_EQ(temporariesIn(remote_root_), 0u);
}

}  // namespace
}  // namespace hoard::sync
