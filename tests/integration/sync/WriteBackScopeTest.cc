// SPDX-License-Identifier: MIT
// A write-back pass looks at what the change log names, not at the share: in
// a share of 2,000 files in 40 directories, a save costs a few stats on the
// remote and no listing of it, while the invariants of a full pass hold for
// the paths it looks at (a file the server changed meanwhile is a conflict,
// renames stay renames, deletions and directories go across). The engine
// runs for real (inotify, SQLite, folders); the remote calls are counted by
// the share's CountingRemoteFs (ShareEngine::remoteCalls).

#include <stdlib.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "sync/ShareEngine.h"

namespace hoard::sync {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using remote::RemoteOp;

bool eventually(const std::function<bool()>& cond, std::chrono::seconds limit = 60s) {
  auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    if (cond()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return cond();
}

constexpr int kDirs = 40, kFilesPerDir = 50;  // 2,000 files

std::string fileName(int d, int f) {
  char buf[32];
  snprintf(buf, sizeof buf, "d%02d/f%04d.txt", d, f);
  return buf;
}

class WriteBackScopeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/hoard-writeback-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    remote_root_ = dir_ + "/server";
    cache_ = dir_ + "/cache";
    for (int d = 0; d < kDirs; ++d)
      for (int f = 0; f < kFilesPerDir; ++f)
        put(remote_root_ + "/" + fileName(d, f), "file " + fileName(d, f) + "\n");
    // Neighbours that sort around a directory name: "d03", "d03-x", "d03.bak".
    put(remote_root_ + "/d03-x/keep.txt", "beside d03\n");
    put(remote_root_ + "/d03.bak", "a file named like the directory\n");
    auto j = journal::Journal::open(dir_ + "/journal.db");
    ASSERT_TRUE(j) << j.error().toString();
    journal_ = std::move(*j);
    auto s = store::BaseStore::open(dir_ + "/store");
    ASSERT_TRUE(s);
    store_ = std::make_unique<store::BaseStore>(std::move(*s));
    auto id = createShare(*journal_, mu_, "docs", remote_root_, cache_, *pool_);
    ASSERT_TRUE(id) << id.error().toString();
    share_ = *id;
    startEngine();
  }
  void TearDown() override {
    engine_.reset();
    fs::remove_all(dir_);
  }
  void startEngine() {
    ShareEngineOptions o;
    o.state.probe_interval_offline = 100ms;
    o.state.probe_interval_online = 200ms;
    // Each test's changes are one burst, well inside the quiet period even
    // on a loaded machine under ASan: a pass that starts in the middle of
    // one (a file still being written) retries it, and the pass after a
    // retry is a full one (ShareEngine::full_pass_due_), which would be
    // counted here as a write-back pass listing everything.
    o.state.write_back_quiet = 400ms;
    o.state.write_back_max_delay = 3s;
    // No poll while a test watches a write-back pass (the start's pass is
    // the one full pass); PollBringsRemoteChangesElsewhere asks for one.
    o.state.poll_interval = 1h;
    o.state.retry_initial = 100ms;
    o.state.paused_retry = 200ms;
    o.deadlines.metadata = 5s;
    o.deadlines.transfer_idle = 10s;
    ShareEngineHooks h;
    h.onConflictDetected = [this](int64_t id) {
      MutexLock lock(hooks_mu_);
      conflicts_.push_back(id);
    };
    h.onPassFinished = [this](const ReconcileReport&) { ++passes_; };
    auto e = ShareEngine::start(*journal_, mu_, share_, *store_, pool_, "laptop", h, o);
    ASSERT_TRUE(e) << e.error().toString();
    engine_ = std::move(*e);
    // The start's pass: everything preloaded, ONLINE.
    ASSERT_TRUE(eventually([&] {
      return engine_->status().state == journal::ShareState::kOnline && passes_ >= 1 &&
             get(cache_ + "/" + fileName(kDirs - 1, kFilesPerDir - 1)) != "<absent>";
    })) << engine_->status().reason;
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
  size_t conflicts() {
    MutexLock lock(hooks_mu_);
    return conflicts_.size();
  }
  // Listings of the remote: a walk, a directory's listing, a directory
  // opened for a walk (DeadlineRemoteFs walks through openDir).
  static uint64_t listings(const remote::RemoteCallCounts& c) {
    return c.of(RemoteOp::kWalk) + c.of(RemoteOp::kListDir) + c.of(RemoteOp::kOpenDir);
  }
  // Waits for the passes that `done` needs and for the engine to be idle
  // again (no write-back due), then says what the remote was asked since
  // `before`.
  remote::RemoteCallCounts callsUntil(const remote::RemoteCallCounts& before, int passes_before,
                                      const std::function<bool()>& done) {
    EXPECT_TRUE(eventually([&] { return passes_ > passes_before && done(); }));
    std::this_thread::sleep_for(400ms);  // past the quiet period: no pass left to come
    return engine_->remoteCalls() - before;
  }

  std::string dir_, remote_root_, cache_;
  std::unique_ptr<journal::Journal> journal_;
  std::unique_ptr<store::BaseStore> store_;
  Mutex mu_;
  int64_t share_ = 0;
  std::shared_ptr<remote::WorkerPool> pool_ =
      std::make_shared<remote::WorkerPool>(remote::WorkerPool::Options{4, 64, "test-remote"});
  std::unique_ptr<ShareEngine> engine_;
  Mutex hooks_mu_;
  std::vector<int64_t> conflicts_ HOARD_GUARDED_BY(hooks_mu_);
  std::atomic<int> passes_{0};
};

TEST_F(WriteBackScopeTest, ASaveInALargeShareListsNothingOnTheRemote) {
  const std::string f = fileName(7, 13);
  auto before = engine_->remoteCalls();
  int passes = passes_;
  put(cache_ + "/" + f, "saved by the user\n");
  auto calls = callsUntil(before, passes,
                          [&] { return get(remote_root_ + "/" + f) == "saved by the user\n"; });
  EXPECT_EQ(get(remote_root_ + "/" + f), "saved by the user\n");
  EXPECT_EQ(get(cache_ + "/" + f), "saved by the user\n");
  // A full pass walks all 41 directories; this one looks at the file and d07.
  EXPECT_EQ(listings(calls), 0u) << calls.summary();
  EXPECT_LE(calls.of(RemoteOp::kLstat), 20u) << calls.summary();
  EXPECT_EQ(calls.of(RemoteOp::kReplaceFile), 1u) << calls.summary();
  EXPECT_EQ(conflicts(), 0u);
}

TEST_F(WriteBackScopeTest, AServerEditOfTheSavedFileIsStillAConflict) {
  const std::string f = fileName(7, 13);
  auto before = engine_->remoteCalls();
  int passes = passes_;
  // A colleague changes the file on the server (no poll comes), then the
  // user saves it: compare-and-swap finds the remote moved on since the base.
  put(remote_root_ + "/" + f, "the colleague's edit, longer than the original\n");
  put(cache_ + "/" + f, "the user's save\n");
  auto calls = callsUntil(before, passes, [&] { return conflicts() == 1; });
  EXPECT_EQ(conflicts(), 1u);
  EXPECT_EQ(get(remote_root_ + "/" + f), "the colleague's edit, longer than the original\n");
  EXPECT_EQ(get(cache_ + "/" + f), "the user's save\n");
  EXPECT_EQ(calls.of(RemoteOp::kReplaceFile), 0u) << calls.summary();
  EXPECT_EQ(listings(calls), 0u) << "found by the write-back pass: " << calls.summary();
}

TEST_F(WriteBackScopeTest, RenamesDeletionsAndNewDirectoriesGoAcrossWithTheirSubtrees) {
  auto before = engine_->remoteCalls();
  int passes = passes_;
  ino_t renamed = 0;
  {
    struct stat st {};
    ASSERT_EQ(::stat((remote_root_ + "/d03/f0000.txt").c_str(), &st), 0);
    renamed = st.st_ino;
  }
  fs::rename(cache_ + "/d03", cache_ + "/d03-renamed");
  fs::remove(cache_ + "/" + fileName(4, 1));
  fs::remove_all(cache_ + "/d05");
  put(cache_ + "/new/deep/n.txt", "new\n");
  auto calls = callsUntil(before, passes, [&] {
    return fs::exists(remote_root_ + "/d03-renamed/f0049.txt") &&
           !fs::exists(remote_root_ + "/d05") && get(remote_root_ + "/new/deep/n.txt") == "new\n" &&
           !fs::exists(remote_root_ + "/" + fileName(4, 1));
  });
  EXPECT_FALSE(fs::exists(remote_root_ + "/d03"));
  EXPECT_EQ(get(remote_root_ + "/d03-renamed/f0007.txt"), "file d03/f0007.txt\n");
  struct stat st {};
  ASSERT_EQ(::stat((remote_root_ + "/d03-renamed/f0000.txt").c_str(), &st), 0);
  EXPECT_EQ(st.st_ino, renamed) << "replayed as a rename, not copied";
  EXPECT_EQ(get(remote_root_ + "/d03-x/keep.txt"), "beside d03\n");
  EXPECT_EQ(get(remote_root_ + "/d03.bak"), "a file named like the directory\n");
  EXPECT_EQ(get(cache_ + "/d03-x/keep.txt"), "beside d03\n");
  EXPECT_EQ(get(remote_root_ + "/" + fileName(4, 2)), "file " + fileName(4, 2) + "\n");
  EXPECT_EQ(conflicts(), 0u);
  // The subtrees it moved or deleted, not the other 37 directories.
  EXPECT_LE(listings(calls), 12u) << calls.summary();
}

TEST_F(WriteBackScopeTest, APollStillBringsRemoteChangesElsewhere) {
  // A write-back pass does not see a server edit of another file...
  auto before = engine_->remoteCalls();
  int passes = passes_;
  put(remote_root_ + "/" + fileName(20, 2), "edited on the server\n");
  put(cache_ + "/" + fileName(7, 13), "saved\n");
  callsUntil(before, passes, [&] { return get(remote_root_ + "/" + fileName(7, 13)) == "saved\n"; });
  EXPECT_EQ(get(cache_ + "/" + fileName(20, 2)), "file " + fileName(20, 2) + "\n");
  // ...the next full pass does.
  engine_->syncNow();
  EXPECT_TRUE(
      eventually([&] { return get(cache_ + "/" + fileName(20, 2)) == "edited on the server\n"; }));
}

}  // namespace
}  // namespace hoard::sync
