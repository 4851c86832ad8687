// SPDX-License-Identifier: MIT
// Offline means offline, at once, also in the middle of one big file (issue
// 9, point 5): a stop requested while a long copy runs cuts that copy within
// a chunk; its temporary is gone, nothing half-written reaches the other
// side, nothing counts as a failure, and the next pass does it whole.

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "integration/sync/ShareFixture.h"
#include "remote/DeadlineRemoteFs.h"
#include "remote/FaultyRemoteFs.h"
#include "remote/PosixRemoteFs.h"
#include "remote/WorkerPool.h"
#include "sync/Reconciler.h"

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
class StopMidTransferTest : public ShareFixture {
 protected:
  void SetUp() override {
    openShare("/tmp/hoard-stopmid-XXXXXX");
    if (HasFatalFailure()) return;
    local_fs_ = std::make_unique<remote::PosixRemoteFs>(cache_);
    faulty_ = std::make_shared<remote::FaultyRemoteFs>(
        std::make_shared<remote::PosixRemoteFs>(remote_root_));
    pool_ = std::make_shared<remote::WorkerPool>(remote::WorkerPool::Options{4, 256, "stopmid"});
    remote_fs_ = std::make_unique<remote::DeadlineRemoteFs>(faulty_, pool_,
                                                            remote::DeadlineRemoteFs::Deadlines{});
    reconciler_ = std::make_unique<Reconciler>(ShareSides{
        *journal_, mu_, share_, *local_fs_, *remote_fs_, cache_, *store_, store::KeepPolicy{},
        "laptop", nullptr, nullptr});
  }
  static void put(const std::string& abs, const std::string& bytes) {
    fs::create_directories(fs::path(abs).parent_path());
    std::ofstream(abs, std::ios::binary | std::ios::trunc) << bytes;
  }
  static std::string get(const std::string& abs) {
    std::ifstream in(abs, std::ios::binary);
    if (!in) return "<absent>";
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  static size_t temporariesIn(const std::string& root) {
    size_t n = 0;
    for (auto& e : fs::recursive_directory_iterator(root))
      n += e.path().filename().string().rfind(".hoard-tmp-", 0) == 0;
    return n;
  }
  void slowTransfers(remote::RemoteOp op) {
    remote::FaultRule slow;
    slow.op = op;
    slow.path_glob = "big.bin";
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

  std::unique_ptr<remote::PosixRemoteFs> local_fs_;
  std::shared_ptr<remote::FaultyRemoteFs> faulty_;
  std::shared_ptr<remote::WorkerPool> pool_;
  std::unique_ptr<remote::DeadlineRemoteFs> remote_fs_;
  std::unique_ptr<Reconciler> reconciler_;
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

}  // namespace
}  // namespace hoard::sync
