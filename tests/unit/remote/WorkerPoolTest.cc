// SPDX-License-Identifier: MIT
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <future>
#include <stdexcept>
#include <thread>

#include "common/UniqueFd.h"
#include "remote/DeadlineRemoteFs.h"
#include "remote/FaultyRemoteFs.h"
#include "remote/WorkerPool.h"
#include "unit/remote/MemoryRemoteFs.h"

namespace hoard::remote {
namespace {

using namespace std::chrono_literals;
using testing::MemoryRemoteFs;

// A gate a task blocks on "forever": the only ways out are release() or the
// ten-minute safety limit, so a call that returns before release() can only
// have returned through its deadline.
class Gate {
 public:
  void wait() {
    std::unique_lock lock(mu_);
    ++waiting_;
    cv_.notify_all();
    cv_.wait_for(lock, 10min, [&] { return open_; });
    --waiting_;
    cv_.notify_all();
  }
  void release() {
    std::lock_guard lock(mu_);
    open_ = true;
    cv_.notify_all();
  }
  bool waitForWaiters(int n) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, 60s, [&] { return waiting_ >= n; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;  // guarded by mu_
  int waiting_ = 0;    // guarded by mu_
};

// Polls a condition with a generous overall timeout (a worker rejoining the
// pool has no event to wait on from outside).
template <class F>
bool eventually(F f) {
  for (int i = 0; i < 6000; ++i) {
    if (f()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return f();
}

WorkerPool::Options opts(size_t n) {
  WorkerPool::Options o;
  o.workers = n;
  return o;
}

TEST(WorkerPoolBatchTest, CallsFinishInAnyOrderAndAHungOneTimesOutAlone) {
  WorkerPool pool(WorkerPool::Options{4, 16, "batch"});
  std::atomic<bool> release{false};
  auto results = std::make_shared<std::vector<std::atomic<int>>>(3);
  {
    WorkerPool::Batch batch(pool);
    ASSERT_TRUE(batch.post(0, "slow one", 1000ms, [results] {
      std::this_thread::sleep_for(100ms);
      (*results)[0] = 10;
    }));
    ASSERT_TRUE(batch.post(1, "quick one", 1000ms, [results] { (*results)[1] = 11; }));
    ASSERT_TRUE(batch.post(2, "lstat 'hung'", 200ms, [&release] {
      while (!release) std::this_thread::sleep_for(5ms);
    }));
    EXPECT_EQ(batch.inFlight(), 3u);
    auto first = batch.next();
    ASSERT_TRUE(first);
    EXPECT_EQ(*first, 1u);
    EXPECT_EQ((*results)[1], 11);
    auto second = batch.next();
    ASSERT_TRUE(second);
    EXPECT_EQ(*second, 0u);
    EXPECT_EQ((*results)[0], 10);
    auto t0 = std::chrono::steady_clock::now();
    auto third = batch.next();
    ASSERT_FALSE(third);
    EXPECT_EQ(third.error().code(), ErrorCode::kTimeout);
    EXPECT_NE(third.error().message().find("lstat 'hung': no answer within 200 ms"),
              std::string::npos)
        << third.error().toString();
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 1000ms);
    EXPECT_EQ(batch.inFlight(), 0u);
    EXPECT_EQ(pool.stuckWorkers(), 1u);
    auto none = batch.next();
    ASSERT_FALSE(none);
    EXPECT_EQ(none.error().code(), ErrorCode::kInternal);
  }
  release = true;
  for (int i = 0; i < 200 && pool.stuckWorkers() > 0; ++i) std::this_thread::sleep_for(5ms);
  EXPECT_EQ(pool.stuckWorkers(), 0u);
}

TEST(WorkerPoolBatchTest, ABatchDroppedMidWayAbandonsWhatItStarted) {
  WorkerPool pool(WorkerPool::Options{1, 16, "batch"});
  std::atomic<bool> release{false};
  std::atomic<int> ran{0};
  {
    WorkerPool::Batch batch(pool);
    ASSERT_TRUE(batch.post(0, "running", 10s, [&] {
      ++ran;
      while (!release) std::this_thread::sleep_for(5ms);
    }));
    ASSERT_TRUE(batch.post(1, "queued", 10s, [&] { ++ran; }));
    for (int i = 0; i < 200 && pool.busyWorkers() == 0; ++i) std::this_thread::sleep_for(5ms);
  }  // dropped: the running call is abandoned (stuck), the queued one never runs
  EXPECT_EQ(pool.stuckWorkers(), 1u);
  EXPECT_EQ(pool.queuedCalls(), 0u);
  auto refused = WorkerPool::Batch(pool).post(2, "another", 10s, [] {});
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code(), ErrorCode::kOffline);
  release = true;
  for (int i = 0; i < 200 && pool.stuckWorkers() > 0; ++i) std::this_thread::sleep_for(5ms);
  EXPECT_EQ(pool.stuckWorkers(), 0u);
  std::this_thread::sleep_for(20ms);
  EXPECT_EQ(ran.load(), 1);
}

TEST(WorkerPoolTest, RunsTaskAndReturnsItsResult) {
  WorkerPool pool(opts(2));
  auto r = pool.run<int>("answer", 60s, [](const ProgressFn&) -> Result<int> { return 42; });
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, 42);
  auto e = pool.run<int>("fails", 60s, [](const ProgressFn&) -> Result<int> {
    return fail(ErrorCode::kNotFound, "nope");
  });
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().code(), ErrorCode::kNotFound);
}

TEST(WorkerPoolTest, HungCallTimesOutAndCostsAWorkerNotTheCaller) {
  WorkerPool pool(opts(2));
  auto gate = std::make_shared<Gate>();
  auto late = std::make_shared<std::atomic<bool>>(false);
  auto r = pool.run<int>("hang", 50ms, [gate, late](const ProgressFn&) -> Result<int> {
    gate->wait();
    late->store(true);
    return 1;
  });
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kTimeout);
  EXPECT_FALSE(late->load()) << "the caller returned while the task was still blocked";
  EXPECT_EQ(pool.stuckWorkers(), 1u);
  // The other worker still serves calls.
  auto ok = pool.run<int>("fine", 60s, [](const ProgressFn&) -> Result<int> { return 7; });
  ASSERT_TRUE(ok) << ok.error().toString();
  EXPECT_EQ(*ok, 7);

  gate->release();
  EXPECT_TRUE(eventually([&] { return pool.stuckWorkers() == 0 && pool.busyWorkers() == 0; }));
  EXPECT_TRUE(late->load());
}

TEST(WorkerPoolTest, AllWorkersStuckFailsFastThenRecovers) {
  WorkerPool pool(opts(2));
  auto gate = std::make_shared<Gate>();
  for (int i = 0; i < 2; ++i) {
    auto r = pool.run<int>("hang", 50ms, [gate](const ProgressFn&) -> Result<int> {
      gate->wait();
      return 0;
    });
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code(), ErrorCode::kTimeout);
  }
  ASSERT_EQ(pool.stuckWorkers(), 2u);

  auto ran = std::make_shared<std::atomic<bool>>(false);
  // A deadline of ten minutes: only the fast-fail path can return now.
  auto r = pool.run<int>("probe", 10min, [ran](const ProgressFn&) -> Result<int> {
    ran->store(true);
    return 0;
  });
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kOffline);
  EXPECT_NE(r.error().message().find("all 2 remote workers are blocked on a hung mount"),
            std::string::npos)
      << r.error().message();
  EXPECT_FALSE(ran->load());

  gate->release();
  ASSERT_TRUE(eventually([&] { return pool.stuckWorkers() == 0; }));
  auto again = pool.run<int>("probe", 60s, [](const ProgressFn&) -> Result<int> { return 5; });
  ASSERT_TRUE(again) << again.error().toString();
  EXPECT_EQ(*again, 5);
}

TEST(WorkerPoolTest, QueuedCallTimesOutWithoutEverRunning) {
  WorkerPool pool(opts(1));
  auto gate = std::make_shared<Gate>();
  // Occupies the only worker with a call whose caller keeps waiting.
  auto busy = std::async(std::launch::async, [&] {
    return pool.run<int>("long", 10min, [gate](const ProgressFn&) -> Result<int> {
      gate->wait();
      return 1;
    });
  });
  ASSERT_TRUE(gate->waitForWaiters(1));
  auto ran = std::make_shared<std::atomic<bool>>(false);
  auto r = pool.run<int>("queued", 50ms, [ran](const ProgressFn&) -> Result<int> {
    ran->store(true);
    return 2;
  });
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kTimeout);
  EXPECT_NE(r.error().message().find("no remote worker free"), std::string::npos);
  gate->release();
  auto first = busy.get();
  ASSERT_TRUE(first);
  EXPECT_EQ(*first, 1);
  // The worker skipped the abandoned call; a new one runs normally.
  auto next = pool.run<int>("next", 60s, [](const ProgressFn&) -> Result<int> { return 3; });
  ASSERT_TRUE(next);
  EXPECT_EQ(*next, 3);
  EXPECT_FALSE(ran->load());
}

TEST(WorkerPoolTest, FullQueueIsBusy) {
  WorkerPool::Options o = opts(1);
  o.max_queued = 1;
  WorkerPool pool(o);
  auto gate = std::make_shared<Gate>();
  auto hang = [gate](const ProgressFn&) -> Result<int> {
    gate->wait();
    return 1;
  };
  auto a = std::async(std::launch::async, [&] { return pool.run<int>("a", 10min, hang); });
  ASSERT_TRUE(gate->waitForWaiters(1));
  auto b = std::async(std::launch::async, [&] { return pool.run<int>("b", 10min, hang); });
  ASSERT_TRUE(eventually([&] { return pool.queuedCalls() == 1; }));
  // The queue is full: a ten-minute deadline, yet the answer comes at once.
  auto c = pool.run<int>("c", 10min, hang);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code(), ErrorCode::kBusy) << c.error().toString();
  gate->release();
  EXPECT_TRUE(a.get());
  EXPECT_TRUE(b.get());
}

TEST(WorkerPoolTest, ProgressReachesTheCallerOnItsOwnThread) {
  WorkerPool pool(opts(1));
  std::vector<uint64_t> seen;
  std::vector<std::thread::id> threads;
  auto r = pool.run<int>(
      "copy", 60s,
      [](const ProgressFn& p) -> Result<int> {
        p(10);
        p(20);
        return 0;
      },
      [&](uint64_t bytes) {
        seen.push_back(bytes);
        threads.push_back(std::this_thread::get_id());
        return true;
      });
  ASSERT_TRUE(r);
  ASSERT_FALSE(seen.empty());
  EXPECT_EQ(seen.back(), 20u);
  for (auto id : threads) EXPECT_EQ(id, std::this_thread::get_id());
}

// The decorator stack the engine uses, over the in-memory fs.
class DeadlineRemoteFsTest : public ::testing::Test {
 protected:
  std::shared_ptr<MemoryRemoteFs> mem_ = std::make_shared<MemoryRemoteFs>();
  std::shared_ptr<FaultyRemoteFs> faulty_ = std::make_shared<FaultyRemoteFs>(mem_);
  std::shared_ptr<WorkerPool> pool_ = std::make_shared<WorkerPool>(opts(2));
  DeadlineRemoteFs fs_{faulty_, pool_, {50ms, 50ms}};

  void TearDown() override {
    faulty_->clearRules();
    eventually([&] { return pool_->busyWorkers() == 0; });
  }
};

TEST_F(DeadlineRemoteFsTest, ForwardsCalls) {
  mem_->putFile("a", "abc");
  DeadlineRemoteFs slow{faulty_, pool_, {60s, 60s}};
  auto st = slow.lstat("a");
  ASSERT_TRUE(st) << st.error().toString();
  EXPECT_EQ(st->meta.size, 3u);
  ASSERT_TRUE(slow.mkdir("d", 0755));
  EXPECT_TRUE(mem_->exists("d"));
  auto bad = slow.unlink("a", Expect::version("mem:999"));
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), ErrorCode::kConflict);
}

TEST_F(DeadlineRemoteFsTest, HangingMountTimesOutThenFailsFastThenRecovers) {
  mem_->putFile("a", "abc");
  FaultRule hang;
  hang.hang = true;
  faulty_->addRule(hang);
  for (int i = 0; i < 2; ++i) {
    auto st = fs_.lstat("a");
    ASSERT_FALSE(st);
    EXPECT_EQ(st.error().code(), ErrorCode::kTimeout) << st.error().toString();
  }
  EXPECT_EQ(faulty_->hangingCalls(), 2u);
  auto fast = fs_.statfs();
  ASSERT_FALSE(fast);
  EXPECT_EQ(fast.error().code(), ErrorCode::kOffline) << fast.error().toString();
  EXPECT_EQ(faulty_->calls(RemoteOp::kStatfs), 0u) << "no worker was free to even try";

  faulty_->clearRules();
  ASSERT_TRUE(eventually([&] { return pool_->stuckWorkers() == 0; }));
  DeadlineRemoteFs slow{faulty_, pool_, {60s, 60s}};
  auto st = slow.lstat("a");
  ASSERT_TRUE(st) << st.error().toString();
}

TEST_F(DeadlineRemoteFsTest, FetchAndReplaceCarryDataAndProgress) {
  DeadlineRemoteFs slow{faulty_, pool_, {60s, 60s}};
  UniqueFd src(::memfd_create("src", MFD_CLOEXEC));
  ASSERT_TRUE(src);
  ASSERT_EQ(::write(src.get(), "payload", 7), 7);
  uint64_t last = 0;
  auto st = slow.replaceFile("f", src.get(), Expect::absent(), ReplaceOptions{},
                             [&](uint64_t b) { last = b; return true; });
  ASSERT_TRUE(st) << st.error().toString();
  EXPECT_EQ(mem_->content("f"), "payload");
  EXPECT_EQ(last, 7u);

  UniqueFd out(::memfd_create("out", MFD_CLOEXEC));
  ASSERT_TRUE(out);
  auto got = slow.fetchFile("f", out.get(), {});
  ASSERT_TRUE(got) << got.error().toString();
  EXPECT_EQ(got->data_version, st->data_version);
  char buf[16] = {};
  ASSERT_EQ(::pread(out.get(), buf, sizeof buf, 0), 7);
  EXPECT_EQ(std::string(buf, 7), "payload");
}

}  // namespace
}  // namespace hoard::remote

namespace hoard::remote {
namespace {

TEST(WorkerPoolExceptionTest, ThrowingTaskBecomesInternalErrorAndPoolSurvives) {
  WorkerPool pool(WorkerPool::Options{1, 4, "throw"});
  auto r = pool.run<int>("throws", std::chrono::seconds(60), [](const ProgressFn&) -> Result<int> {
    throw std::runtime_error("boom");
  });
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kInternal);
  EXPECT_NE(r.error().message().find("boom"), std::string::npos);
  auto ok = pool.run<int>("after", std::chrono::seconds(60),
                          [](const ProgressFn&) -> Result<int> { return 1; });
  ASSERT_TRUE(ok);
  EXPECT_EQ(*ok, 1);
}

}  // namespace
}  // namespace hoard::remote
