// SPDX-License-Identifier: MIT
// Whole-tree calls over a slow or hung remote: a walk and a stale-temporary
// sweep are made of bounded calls (a listing per directory, a stat per entry),
// each under its own deadline and many in flight, so a share whose calls add
// up to more than the deadline still walks, a link that adds latency per call
// is hidden by concurrency, and one call that hangs fails the walk within
// about the deadline. The output is exactly the single-call walk's.

#include <gtest/gtest.h>
#include <iostream>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <set>
#include <thread>

#include "integration/remote/TempDir.h"
#include "remote/CountingRemoteFs.h"
#include "remote/DeadlineRemoteFs.h"
#include "remote/FaultyRemoteFs.h"
#include "remote/PosixRemoteFs.h"
#include "remote/TreeWalk.h"
#include "remote/WorkerPool.h"

namespace hoard::remote {
namespace {

using namespace std::chrono_literals;
using testing::countTemps;
using testing::exists;
using testing::TempDir;
using testing::writeFile;

using Clock = std::chrono::steady_clock;

// A remote where every round trip costs `delay`, however it is asked: a
// single-call walk costs one per directory and one per entry, as it would on
// a network filesystem (the mount does one request per stat), so a walk of a
// big share as one call takes their sum. Every other call forwards.
class SlowRemoteFs final : public RemoteFs {
 public:
  SlowRemoteFs(std::shared_ptr<RemoteFs> inner, std::chrono::milliseconds delay)
      : inner_(std::move(inner)), delay_(delay) {}

  uint64_t roundTrips() const { return trips_.load(); }

  Result<Stat> lstat(const RelPath& p) override {
    trip(1);
    return inner_->lstat(p);
  }
  Result<std::vector<DirEntry>> listDir(const RelPath& d) override {
    trip(1);
    return inner_->listDir(d);
  }
  Result<std::vector<WalkEntry>> walk(const RelPath& d) override {
    auto w = inner_->walk(d);
    if (w) {
      size_t dirs = 1;
      for (const auto& e : *w) dirs += e.stat.meta.type == FileType::kDir;
      trip(dirs + w->size());
    }
    return w;
  }
  Result<Stat> fetchFile(const RelPath& p, int fd, const ProgressFn& f) override {
    return inner_->fetchFile(p, fd, f);
  }
  Result<std::string> readSmallFile(const RelPath& p, size_t n) override {
    return inner_->readSmallFile(p, n);
  }
  Result<OpenedFile> openRead(const RelPath& p) override { return inner_->openRead(p); }
  Result<UniqueFd> openTemp() override { return inner_->openTemp(); }
  Result<Stat> replaceFile(const RelPath& p, int fd, const Expect& e, const ReplaceOptions& o,
                           const ProgressFn& f) override {
    return inner_->replaceFile(p, fd, e, o, f);
  }
  Status mkdir(const RelPath& p, uint32_t m) override { return inner_->mkdir(p, m); }
  Status rmdir(const RelPath& p, const Expect& e) override { return inner_->rmdir(p, e); }
  Status unlink(const RelPath& p, const Expect& e) override { return inner_->unlink(p, e); }
  Status rename(const RelPath& a, const RelPath& b, const Expect& ea, const Expect& eb) override {
    return inner_->rename(a, b, ea, eb);
  }
  Status symlink(const RelPath& p, const std::string& t, const Expect& e) override {
    return inner_->symlink(p, t, e);
  }
  Status chmod(const RelPath& p, uint32_t m) override { return inner_->chmod(p, m); }
  Status setMtime(const RelPath& p, int64_t ns) override { return inner_->setMtime(p, ns); }
  Result<std::string> getXattr(const RelPath& p, const std::string& n) override {
    return inner_->getXattr(p, n);
  }
  Status setXattr(const RelPath& p, const std::string& n, const std::string& v) override {
    return inner_->setXattr(p, n, v);
  }
  Status removeXattr(const RelPath& p, const std::string& n) override {
    return inner_->removeXattr(p, n);
  }
  Result<std::vector<std::string>> listXattrs(const RelPath& p) override {
    return inner_->listXattrs(p);
  }
  Result<FsStats> statfs() override { return inner_->statfs(); }
  Status syncAll() override { return inner_->syncAll(); }
  Result<std::string> dataVersion(const RelPath& p) override { return inner_->dataVersion(p); }
  Result<uint64_t> removeStaleTemps(const RelPath& d) override {
    auto w = inner_->walk(d);
    if (w) {
      size_t dirs = 1;
      for (const auto& e : *w) dirs += e.stat.meta.type == FileType::kDir;
      trip(dirs + w->size());  // the single-call sweep stat'ed every entry
    }
    return inner_->removeStaleTemps(d);
  }
  Result<std::shared_ptr<RemoteDir>> openDir(const RelPath& d) override {
    trip(1);
    auto dir = inner_->openDir(d);
    if (!dir) return dir;
    return std::shared_ptr<RemoteDir>(std::make_shared<Dir>(*this, std::move(*dir)));
  }

 private:
  class Dir final : public RemoteDir {
   public:
    Dir(SlowRemoteFs& fs, std::shared_ptr<RemoteDir> inner) : fs_(fs), inner_(std::move(inner)) {}
    const RelPath& path() const override { return inner_->path(); }
    Result<std::vector<DirEntry>> list(bool internal) override {
      fs_.trip(1);
      return inner_->list(internal);
    }
    Result<Stat> stat(const std::string& n) override {
      fs_.trip(1);
      return inner_->stat(n);
    }
    Result<std::shared_ptr<RemoteDir>> openDir(const std::string& n) override {
      fs_.trip(1);
      auto d = inner_->openDir(n);
      if (!d) return d;
      return std::shared_ptr<RemoteDir>(std::make_shared<Dir>(fs_, std::move(*d)));
    }
    Result<bool> removeTemp(const std::string& n) override {
      fs_.trip(1);
      return inner_->removeTemp(n);
    }

   private:
    SlowRemoteFs& fs_;
    std::shared_ptr<RemoteDir> inner_;
  };

  void trip(size_t n) {
    trips_ += n;
    std::this_thread::sleep_for(delay_ * static_cast<int64_t>(n));
  }

  const std::shared_ptr<RemoteFs> inner_;
  const std::chrono::milliseconds delay_;
  std::atomic<uint64_t> trips_{0};
};

class TreeWalkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(root_.path().empty());
    posix_ = std::make_shared<PosixRemoteFs>(root_.path());
  }

  void mkdirs(const std::string& rel) { std::filesystem::create_directories(root_ / rel); }
  void put(const std::string& rel, const std::string& data = "x") {
    ASSERT_TRUE(writeFile(root_ / rel, data)) << rel;
  }

  // Names that sort between a directory and its children, a symlink to a
  // directory (never descended), a non-UTF-8 name, an empty directory,
  // hoard's own names, and `dirs` x `files` plain files.
  void makeTree(int dirs, int files) {
    mkdirs("dir/sub/deeper");
    mkdirs("dir.bak");
    mkdirs("dir 2/empty");
    put("dir-x", "sibling file");
    put("dir/a.txt");
    put("dir/sub/b.txt");
    put("dir/sub/deeper/c.txt");
    put("dir.bak/old.txt");
    put(std::string("caf\xe9.txt"), "latin-1 name");
    ASSERT_EQ(::symlink("dir", (root_ / "link").c_str()), 0);
    put(".hoard-share-id", "marker");
    put(".hoard-tmp-0001", "stale");
    put("dir/sub/.hoard-tmp-0002", "stale");
    mkdirs(".hoard-tmp-dir");  // a directory with the prefix: walked into, never removed
    put(".hoard-tmp-dir/.hoard-tmp-0003", "stale");
    for (int d = 0; d < dirs; ++d) {
      std::string dn = "bulk/d" + std::to_string(d);
      mkdirs(dn);
      for (int f = 0; f < files; ++f) put(dn + "/f" + std::to_string(f) + ".txt", "content");
    }
  }

  std::shared_ptr<DeadlineRemoteFs> deadlineOver(std::shared_ptr<RemoteFs> inner,
                                                 std::chrono::milliseconds deadline) {
    return std::make_shared<DeadlineRemoteFs>(inner, pool_,
                                              DeadlineRemoteFs::Deadlines{deadline, deadline});
  }

  TempDir root_;
  std::shared_ptr<PosixRemoteFs> posix_;
  std::shared_ptr<WorkerPool> pool_ =
      std::make_shared<WorkerPool>(WorkerPool::Options{4, 64, "walktest"});
};

// Every worker of `pool` back from its call.
bool waitForIdle(const WorkerPool& pool) {
  auto until = Clock::now() + 5s;
  while (Clock::now() < until) {
    if (pool.busyWorkers() == 0 && pool.stuckWorkers() == 0) return true;
    std::this_thread::sleep_for(5ms);
  }
  return false;
}

std::vector<std::string> paths(const std::vector<WalkEntry>& w) {
  std::vector<std::string> out;
  for (const auto& e : w) out.push_back(e.path);
  return out;
}

TEST_F(TreeWalkTest, ParallelWalkGivesExactlyTheSingleCallWalk) {
  makeTree(6, 7);
  auto fs = deadlineOver(posix_, 10s);
  for (const RelPath& top : {RelPath(""), RelPath("dir"), RelPath("bulk")}) {
    auto single = posix_->walk(top);
    ASSERT_TRUE(single) << single.error().toString();
    auto parallel = fs->walk(top);
    ASSERT_TRUE(parallel) << parallel.error().toString();
    EXPECT_EQ(paths(*parallel), paths(*single)) << "top '" << top << "'";
    ASSERT_EQ(parallel->size(), single->size());
    for (size_t i = 0; i < single->size(); ++i) {
      EXPECT_EQ((*parallel)[i].stat, (*single)[i].stat) << (*single)[i].path;
    }
  }
  auto all = fs->walk("");
  ASSERT_TRUE(all);
  std::set<std::string> seen;
  for (const auto& e : *all) {
    // Parents before children, hoard's names hidden, the symlink not descended.
    std::string parent = e.path.substr(0, e.path.rfind('/') == std::string::npos
                                              ? 0
                                              : e.path.rfind('/'));
    if (!parent.empty()) {
      EXPECT_TRUE(seen.count(parent)) << e.path;
    }
    seen.insert(e.path);
    EXPECT_EQ(e.path.find(".hoard-"), std::string::npos) << e.path;
    EXPECT_NE(e.path.rfind("link/", 0), 0u) << e.path;
  }
  EXPECT_TRUE(seen.count("dir-x") && seen.count("dir.bak/old.txt") && seen.count("dir 2/empty"));
  EXPECT_TRUE(seen.count(std::string("caf\xe9.txt")));
  ASSERT_TRUE(seen.count("link"));
}

TEST_F(TreeWalkTest, AWalkWhoseCallsAddUpToMoreThanTheDeadlineSucceeds) {
  // 20 x 10 files: about 240 round trips of 20 ms (4.8 s in sequence)
  // against a deadline of 400 ms: each call is short, their sum is not.
  makeTree(20, 10);
  auto slow = std::make_shared<SlowRemoteFs>(posix_, 20ms);
  auto fs = deadlineOver(slow, 400ms);
  auto t0 = Clock::now();
  auto w = fs->walk("");
  auto took = Clock::now() - t0;
  ASSERT_TRUE(w) << w.error().toString();
  auto expected = posix_->walk("");
  ASSERT_TRUE(expected);
  EXPECT_EQ(paths(*w), paths(*expected));
  const auto sequential = 20ms * static_cast<int64_t>(slow->roundTrips());
  std::cerr << "[measure] walk of " << w->size() << " entries, " << slow->roundTrips()
            << " round trips of 20 ms: "
            << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
            << " ms (in sequence: " << sequential.count() << " ms)\n";
  EXPECT_GT(sequential, 400ms);
  // Many calls in flight: far below the sum.
  EXPECT_LT(took, sequential / 4);
}

TEST_F(TreeWalkTest, ASweepWhoseCallsAddUpToMoreThanTheDeadlineSucceeds) {
  makeTree(20, 10);
  auto slow = std::make_shared<SlowRemoteFs>(posix_, 20ms);
  auto fs = deadlineOver(slow, 400ms);
  auto removed = fs->removeStaleTemps("");
  ASSERT_TRUE(removed) << removed.error().toString();
  EXPECT_EQ(*removed, 3u);
  EXPECT_EQ(countTemps(root_.path()), 1u);  // the directory .hoard-tmp-dir stays
  EXPECT_EQ(countTemps(root_ / "dir/sub"), 0u);
  EXPECT_EQ(countTemps(root_ / ".hoard-tmp-dir"), 0u);
  EXPECT_TRUE(exists(root_ / ".hoard-share-id"));
  EXPECT_TRUE(exists(root_ / "dir/sub/b.txt"));
}

TEST_F(TreeWalkTest, OneHungCallFailsTheWalkWithinAboutTheDeadline) {
  makeTree(4, 4);
  auto faulty = std::make_shared<FaultyRemoteFs>(posix_);
  FaultRule hang;
  hang.op = RemoteOp::kLstat;
  hang.path_glob = "dir/sub/b.txt";
  hang.hang = true;
  faulty->addRule(hang);
  auto fs = deadlineOver(faulty, 300ms);
  auto t0 = Clock::now();
  auto w = fs->walk("");
  auto took = Clock::now() - t0;
  ASSERT_FALSE(w);
  EXPECT_EQ(w.error().code(), ErrorCode::kTimeout) << w.error().toString();
  EXPECT_NE(w.error().message().find("dir/sub/b.txt"), std::string::npos) << w.error().toString();
  EXPECT_NE(w.error().message().find("the mount looks hung"), std::string::npos);
  EXPECT_LT(took, 1500ms);
  EXPECT_GE(took, 250ms);
  faulty->releaseHangs();
}

TEST_F(TreeWalkTest, AMountWhereEveryCallHangsFailsAtOnceOnceTheWorkersAreStuck) {
  makeTree(2, 4);
  for (int i = 0; i < 20; ++i) put("top" + std::to_string(i) + ".txt");
  auto faulty = std::make_shared<FaultyRemoteFs>(posix_);
  FaultRule hang;
  hang.op = RemoteOp::kLstat;
  hang.hang = true;
  faulty->addRule(hang);
  auto walk_pool = std::make_shared<WorkerPool>(WorkerPool::Options{8, 64, "walktest-w"});
  DeadlineRemoteFs fs(faulty, pool_, DeadlineRemoteFs::Deadlines{300ms, 300ms}, walk_pool);
  auto first = fs.walk("");
  ASSERT_FALSE(first);
  EXPECT_EQ(first.error().code(), ErrorCode::kTimeout) << first.error().toString();
  EXPECT_EQ(walk_pool->stuckWorkers(), 8u) << "busy " << walk_pool->busyWorkers() << " queued "
                                          << walk_pool->queuedCalls() << " hanging "
                                          << faulty->hangingCalls();
  auto t0 = Clock::now();
  auto second = fs.removeStaleTemps("");
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code(), ErrorCode::kOffline) << second.error().toString();
  EXPECT_LT(Clock::now() - t0, 100ms);
  faulty->releaseHangs();
  ASSERT_TRUE(waitForIdle(*walk_pool));
  auto third = fs.walk("");
  EXPECT_FALSE(third);  // the rule still hangs every stat
  faulty->clearRules();
  ASSERT_TRUE(waitForIdle(*walk_pool));
  auto fourth = fs.walk("");
  ASSERT_TRUE(fourth) << fourth.error().toString();
}

TEST_F(TreeWalkTest, AWalkMakesOneListingPerDirectoryAndOneStatPerEntry) {
  makeTree(5, 6);
  auto faulty = std::make_shared<FaultyRemoteFs>(posix_);
  auto fs = deadlineOver(faulty, 10s);
  auto w = fs->walk("");
  ASSERT_TRUE(w) << w.error().toString();
  uint64_t dirs = 1;
  for (const auto& e : *w) dirs += e.stat.meta.type == FileType::kDir;
  // The prefixed directory is hidden from the walk and not descended.
  EXPECT_EQ(faulty->calls(RemoteOp::kLstat), w->size());
  EXPECT_EQ(faulty->calls(RemoteOp::kListDir), dirs);
  EXPECT_EQ(faulty->calls(RemoteOp::kOpenDir), dirs);
  EXPECT_EQ(faulty->calls(RemoteOp::kWalk), 0u);

  // The sweep lists every directory (hoard's own too) and stats nothing: the
  // listing's types say which entries are directories.
  FaultyRemoteFs counting(posix_);
  auto sweep = parallelRemoveStaleTemps(std::shared_ptr<RemoteFs>(&counting, [](RemoteFs*) {}),
                                        *pool_, "", TreeWalkOptions{});
  ASSERT_TRUE(sweep) << sweep.error().toString();
  EXPECT_EQ(*sweep, 3u);
  EXPECT_EQ(counting.calls(RemoteOp::kLstat), 0u);
  EXPECT_EQ(counting.calls(RemoteOp::kListDir), dirs + 1);  // + .hoard-tmp-dir
  EXPECT_EQ(counting.calls(RemoteOp::kRemoveTemp), 3u);
}

TEST_F(TreeWalkTest, TheCountingDecoratorCountsWhatReachesTheMount) {
  makeTree(3, 4);
  auto counting = std::make_shared<CountingRemoteFs>(posix_);
  auto fs = deadlineOver(counting, 10s);
  auto before = counting->counts();
  auto w = fs->walk("");
  ASSERT_TRUE(w) << w.error().toString();
  auto walk = counting->counts() - before;
  uint64_t dirs = 1;
  for (const auto& e : *w) dirs += e.stat.meta.type == FileType::kDir;
  EXPECT_EQ(walk.of(RemoteOp::kLstat), w->size());
  EXPECT_EQ(walk.of(RemoteOp::kListDir), dirs);
  EXPECT_EQ(walk.metadata(), w->size() + 2 * dirs);
  EXPECT_EQ(walk.summary(), "lstat " + std::to_string(w->size()) + ", listDir " +
                                std::to_string(dirs) + ", openDir " + std::to_string(dirs));
  std::cerr << "[measure] walk of " << w->size() << " entries in " << dirs
            << " directories: " << walk.summary() << "\n";
  ASSERT_TRUE(fs->lstat("dir/a.txt"));
  EXPECT_EQ((counting->counts() - before).of(RemoteOp::kLstat), w->size() + 1);
}

TEST_F(TreeWalkTest, ADirectorySwappedForASymlinkMidWalkIsNotDescended) {
  makeTree(0, 0);
  auto faulty = std::make_shared<FaultyRemoteFs>(posix_);
  // dir/sub has been stat'ed as a directory; hold its opening until it has
  // become a symlink to "/".
  FaultRule hold;
  hold.op = RemoteOp::kOpenDir;
  hold.path_glob = "dir/sub";
  hold.hang = true;
  faulty->addRule(hold);
  auto fs = deadlineOver(faulty, 10s);
  std::thread swapper([&] {
    ASSERT_TRUE(faulty->waitForHanging(1, 5s));
    std::filesystem::remove_all(root_ / "dir/sub");
    ASSERT_EQ(::symlink("/", (root_ / "dir/sub").c_str()), 0);
    faulty->releaseHangs();
  });
  auto w = fs->walk("");
  swapper.join();
  ASSERT_TRUE(w) << w.error().toString();
  bool saw_sub = false;
  for (const auto& e : *w) {
    EXPECT_NE(e.path.rfind("dir/sub/", 0), 0u) << e.path;
    saw_sub = saw_sub || e.path == "dir/sub";
  }
  EXPECT_TRUE(saw_sub);
  EXPECT_TRUE(exists(root_ / "dir/a.txt"));
}

TEST_F(TreeWalkTest, ADirectoryHandleNeverFollowsASymlinkAndRemovesOnlyTemporaries) {
  makeTree(0, 0);
  auto dir = posix_->openDir("");
  ASSERT_TRUE(dir) << dir.error().toString();
  auto link = (*dir)->openDir("link");
  ASSERT_FALSE(link);
  EXPECT_EQ(link.error().code(), ErrorCode::kOutsideRoot) << link.error().toString();
  auto file = (*dir)->openDir("dir-x");
  ASSERT_FALSE(file);
  EXPECT_EQ(file.error().code(), ErrorCode::kNotFound) << file.error().toString();
  auto up = (*dir)->openDir("..");
  ASSERT_FALSE(up);
  EXPECT_EQ(up.error().code(), ErrorCode::kInvalidArgument);
  auto st = (*dir)->stat("link");
  ASSERT_TRUE(st) << st.error().toString();
  EXPECT_EQ(st->symlink_target, "dir");
  auto not_temp = (*dir)->removeTemp("dir-x");
  ASSERT_FALSE(not_temp);
  EXPECT_EQ(not_temp.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_TRUE(exists(root_ / "dir-x"));
  auto temp_dir = (*dir)->removeTemp(".hoard-tmp-dir");
  ASSERT_FALSE(temp_dir);
  EXPECT_TRUE(exists(root_ / ".hoard-tmp-dir"));
  auto removed = (*dir)->removeTemp(".hoard-tmp-0001");
  ASSERT_TRUE(removed) << removed.error().toString();
  EXPECT_TRUE(*removed);
  auto again = (*dir)->removeTemp(".hoard-tmp-0001");
  ASSERT_TRUE(again);
  EXPECT_FALSE(*again);
  auto hidden = (*dir)->list(false);
  ASSERT_TRUE(hidden);
  for (const auto& e : *hidden) EXPECT_EQ(e.name.rfind(".hoard-", 0), std::string::npos) << e.name;
  auto all = (*dir)->list(true);
  ASSERT_TRUE(all);
  EXPECT_EQ(all->size(), hidden->size() + 2);  // the marker and .hoard-tmp-dir
}

TEST_F(TreeWalkTest, AFilesystemWithoutDirectoryHandlesIsWalkedAsOneCall) {
  makeTree(2, 2);
  // The sync tests' decorators forward only the single calls: openDir is
  // kUnsupported there and the walk is what it always was.
  struct NoDirs final : public RemoteFs {
    explicit NoDirs(std::shared_ptr<RemoteFs> in) : in_(std::move(in)) {}
    Result<Stat> lstat(const RelPath& p) override { return in_->lstat(p); }
    Result<std::vector<DirEntry>> listDir(const RelPath& d) override { return in_->listDir(d); }
    Result<std::vector<WalkEntry>> walk(const RelPath& d) override {
      ++walks;
      return in_->walk(d);
    }
    Result<Stat> fetchFile(const RelPath& p, int fd, const ProgressFn& f) override {
      return in_->fetchFile(p, fd, f);
    }
    Result<std::string> readSmallFile(const RelPath& p, size_t n) override {
      return in_->readSmallFile(p, n);
    }
    Result<OpenedFile> openRead(const RelPath& p) override { return in_->openRead(p); }
    Result<UniqueFd> openTemp() override { return in_->openTemp(); }
    Result<Stat> replaceFile(const RelPath& p, int fd, const Expect& e, const ReplaceOptions& o,
                             const ProgressFn& f) override {
      return in_->replaceFile(p, fd, e, o, f);
    }
    Status mkdir(const RelPath& p, uint32_t m) override { return in_->mkdir(p, m); }
    Status rmdir(const RelPath& p, const Expect& e) override { return in_->rmdir(p, e); }
    Status unlink(const RelPath& p, const Expect& e) override { return in_->unlink(p, e); }
    Status rename(const RelPath& a, const RelPath& b, const Expect& x, const Expect& y) override {
      return in_->rename(a, b, x, y);
    }
    Status symlink(const RelPath& p, const std::string& t, const Expect& e) override {
      return in_->symlink(p, t, e);
    }
    Status chmod(const RelPath& p, uint32_t m) override { return in_->chmod(p, m); }
    Status setMtime(const RelPath& p, int64_t ns) override { return in_->setMtime(p, ns); }
    Result<std::string> getXattr(const RelPath& p, const std::string& n) override {
      return in_->getXattr(p, n);
    }
    Status setXattr(const RelPath& p, const std::string& n, const std::string& v) override {
      return in_->setXattr(p, n, v);
    }
    Status removeXattr(const RelPath& p, const std::string& n) override {
      return in_->removeXattr(p, n);
    }
    Result<std::vector<std::string>> listXattrs(const RelPath& p) override {
      return in_->listXattrs(p);
    }
    Result<FsStats> statfs() override { return in_->statfs(); }
    Status syncAll() override { return in_->syncAll(); }
    Result<std::string> dataVersion(const RelPath& p) override { return in_->dataVersion(p); }
    Result<uint64_t> removeStaleTemps(const RelPath& d) override {
      ++sweeps;
      return in_->removeStaleTemps(d);
    }
    std::shared_ptr<RemoteFs> in_;
    std::atomic<int> walks{0}, sweeps{0};
  };
  auto plain = std::make_shared<NoDirs>(posix_);
  auto fs = deadlineOver(plain, 10s);
  auto w = fs->walk("");
  ASSERT_TRUE(w) << w.error().toString();
  EXPECT_EQ(paths(*w), paths(*posix_->walk("")));
  auto removed = fs->removeStaleTemps("");
  ASSERT_TRUE(removed);
  EXPECT_EQ(*removed, 3u);
  EXPECT_EQ(plain->walks.load(), 1);
  EXPECT_EQ(plain->sweeps.load(), 1);
}

}  // namespace
}  // namespace hoard::remote
