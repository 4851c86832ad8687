// SPDX-License-Identifier: MIT
// Fault tests of the reintegration pass: the remote fails in the middle of a
// pass the way network filesystems do (ENOTCONN, a call that hangs,
// EKEYEXPIRED, ENOSPC, the share unmounted under us). Each test checks that
// the pass stops with the right reason naming the path, that nothing is lost
// (every local edit still in the cache, every remote file either its old or
// its new bytes, never truncated) and that the next pass, once the fault
// clears, converges.

#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "integration/sync/ShareFixture.h"
#include "remote/DeadlineRemoteFs.h"
#include "remote/FaultyRemoteFs.h"
#include "remote/Identity.h"
#include "remote/PosixRemoteFs.h"
#include "remote/WorkerPool.h"
#include "sync/Reconciler.h"

namespace hoard::sync {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

std::string readAll(const std::string& abs) {
  std::ifstream in(abs, std::ios::binary);
  if (!in) return "<absent>";
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void writeAll(const std::string& abs, const std::string& bytes) {
  fs::create_directories(fs::path(abs).parent_path());
  std::ofstream(abs, std::ios::binary | std::ios::trunc) << bytes;
}

// Forwards every call; runs `before` ahead of each replaceFile (the test's
// hook to pull the mount away in the middle of a pass).
class HookFs final : public remote::RemoteFs {
 public:
  explicit HookFs(std::shared_ptr<remote::RemoteFs> inner) : inner_(std::move(inner)) {}
  std::function<void(const RelPath&)> before_replace;
  std::function<void(const RelPath&)> after_replace;

  Result<remote::Stat> lstat(const RelPath& p) override { return inner_->lstat(p); }
  Result<std::vector<remote::DirEntry>> listDir(const RelPath& d) override {
    return inner_->listDir(d);
  }
  Result<std::vector<remote::WalkEntry>> walk(const RelPath& d) override { return inner_->walk(d); }
  Result<remote::Stat> fetchFile(const RelPath& p, int fd, const remote::ProgressFn& pr) override {
    return inner_->fetchFile(p, fd, pr);
  }
  Result<std::string> readSmallFile(const RelPath& p, size_t max) override {
    return inner_->readSmallFile(p, max);
  }
  Result<remote::OpenedFile> openRead(const RelPath& p) override { return inner_->openRead(p); }
  Result<UniqueFd> openTemp() override { return inner_->openTemp(); }
  Result<remote::Stat> replaceFile(const RelPath& p, int fd, const remote::Expect& e,
                                   const remote::ReplaceOptions& o,
                                   const remote::ProgressFn& pr) override {
    if (before_replace) before_replace(p);
    auto r = inner_->replaceFile(p, fd, e, o, pr);
    if (after_replace) after_replace(p);
    return r;
  }
  Status mkdir(const RelPath& p, uint32_t m) override { return inner_->mkdir(p, m); }
  Status rmdir(const RelPath& p, const remote::Expect& e) override { return inner_->rmdir(p, e); }
  Status unlink(const RelPath& p, const remote::Expect& e) override { return inner_->unlink(p, e); }
  Status rename(const RelPath& f, const RelPath& t, const remote::Expect& fe,
                const remote::Expect& te) override {
    return inner_->rename(f, t, fe, te);
  }
  Status symlink(const RelPath& p, const std::string& t, const remote::Expect& e) override {
    return inner_->symlink(p, t, e);
  }
  Status chmod(const RelPath& p, uint32_t m) override { return inner_->chmod(p, m); }
  Status setMtime(const RelPath& p, int64_t t) override { return inner_->setMtime(p, t); }
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
  Result<remote::FsStats> statfs() override { return inner_->statfs(); }
  Status syncAll() override { return inner_->syncAll(); }
  Result<std::string> dataVersion(const RelPath& p) override { return inner_->dataVersion(p); }
  Result<uint64_t> removeStaleTemps(const RelPath& d) override {
    return inner_->removeStaleTemps(d);
  }

 private:
  std::shared_ptr<remote::RemoteFs> inner_;
};

class ReconcilerFaultTest : public ShareFixture {
 protected:
  void SetUp() override {
    openShare("/tmp/hoard-fault-XXXXXX");
    if (HasFatalFailure()) return;
    local_fs_ = std::make_unique<remote::PosixRemoteFs>(cache_);
    posix_ = std::make_shared<remote::PosixRemoteFs>(remote_root_);
    faulty_ = std::make_shared<remote::FaultyRemoteFs>(posix_, 7);
    makeReconciler(*faulty_);
  }
  void TearDown() override {
    reconciler_.reset();
    deadline_.reset();
    faulty_.reset();  // releases any hang still held
    pool_.reset();
    if (bound_) ::umount2(remote_root_.c_str(), MNT_DETACH);
    if (backing_mounted_) ::umount2(backing_.c_str(), MNT_DETACH);
    ShareFixture::TearDown();
  }

  // The reconciler over `remote` (the faulty fs, or a decorator over it).
  void makeReconciler(remote::RemoteFs& remote, std::function<Status()> check = nullptr) {
    reconciler_ = std::make_unique<Reconciler>(ShareSides{*journal_, mu_, share_, *local_fs_,
                                                          remote, cache_, *store_,
                                                          store::KeepPolicy{}, "laptop", check, nullptr});
  }

  ReconcileReport pass(ReconcileOptions o = {}) {
    auto r = reconciler_->run(o);
    EXPECT_TRUE(r) << r.error().toString();
    return r ? *r : ReconcileReport{};
  }

  // 24 files agreed on both sides, then an offline session: 12 edits, 4 new
  // files (one in a new directory), 2 deletions; and 2 third-party edits.
  void prepare() {
    for (int i = 0; i < 24; ++i) {
      std::string p = (i % 3 == 0 ? "" : (i % 3 == 1 ? "a/" : "b/c/")) + std::string("f") +
                      std::to_string(i) + ".txt";
      old_[p] = "original " + p + std::string(static_cast<size_t>(i) * 37, 'o');
      writeAll(remote_root_ + "/" + p, old_[p]);
    }
    ReconcileReport seed = pass();
    ASSERT_TRUE(seed.clean()) << (seed.stopped ? seed.stopped->toString() : "not clean");
    for (auto& [p, b] : old_) ASSERT_EQ(readAll(cache_ + "/" + p), b);
    want_ = old_;
    int n = 0;
    for (auto& [p, b] : old_) {
      if (n < 12) {
        std::string m = "edited offline " + p + std::string(static_cast<size_t>(n) * 101, 'e');
        writeAll(cache_ + "/" + p, m);
        edits_[p] = m;
        want_[p] = m;
      } else if (n < 14) {
        fs::remove(cache_ + "/" + p);
        deleted_.insert(p);
        want_.erase(p);
      } else if (n < 16) {
        std::string t = "third party " + p;
        writeAll(remote_root_ + "/" + p, t);
        theirs_[p] = t;
        want_[p] = t;
      }
      ++n;
    }
    for (std::string p : {"new1.txt", "a/new2.txt", "fresh/new3.txt", "b/c/new4.txt"}) {
      std::string c = "created offline " + p;
      writeAll(cache_ + "/" + p, c);
      edits_[p] = c;
      want_[p] = c;
    }
  }

  // Nothing lost: every local edit is in the cache; every remote file holds
  // its old bytes or the bytes it should end with, never anything else.
  void expectNothingLost() {
    for (auto& [p, b] : edits_) EXPECT_EQ(readAll(cache_ + "/" + p), b) << p;
    for (auto& [p, b] : theirs_) EXPECT_EQ(readAll(remote_root_ + "/" + p), b) << p;
    for (auto& e : fs::recursive_directory_iterator(remote_root_)) {
      if (!e.is_regular_file()) continue;
      std::string rel = fs::relative(e.path(), remote_root_);
      std::string name = e.path().filename();
      if (name.rfind(".hoard-", 0) == 0) continue;
      std::string got = readAll(e.path());
      bool is_old = old_.count(rel) && old_[rel] == got;
      bool is_new = want_.count(rel) && want_[rel] == got;
      EXPECT_TRUE(is_old || is_new) << "remote " << rel << " holds " << got.size()
                                    << " bytes that are neither old nor new";
    }
  }

  // Both sides hold exactly the expected tree, and a further pass is idle.
  void expectConverged() {
    std::map<std::string, std::string> l, r;
    for (auto& e : fs::recursive_directory_iterator(cache_))
      if (e.is_regular_file()) l[fs::relative(e.path(), cache_)] = readAll(e.path());
    for (auto& e : fs::recursive_directory_iterator(remote_root_)) {
      std::string name = e.path().filename();
      if (e.is_regular_file() && name.rfind(".hoard-", 0) != 0)
        r[fs::relative(e.path(), remote_root_)] = readAll(e.path());
    }
    auto diff = [&](const std::map<std::string, std::string>& got, const char* side) {
      for (auto& [p, b] : want_) {
        auto it = got.find(p);
        if (it == got.end()) ADD_FAILURE() << side << ": " << p << " is missing";
        else if (it->second != b) ADD_FAILURE() << side << ": " << p << " holds other bytes";
      }
      for (auto& [p, b] : got)
        if (!want_.count(p)) ADD_FAILURE() << side << ": " << p << " should not be there";
    };
    diff(l, "cache");
    diff(r, "remote");
    auto conflicts = journal_->conflicts(share_, false);
    ASSERT_TRUE(conflicts);
    EXPECT_TRUE(conflicts->empty()) << conflicts->size() << " conflicts, first at "
                                    << conflicts->front().path;
    ReconcileReport idle = pass();
    EXPECT_TRUE(idle.clean());
    EXPECT_EQ(idle.pushed + idle.pulled + idle.deleted_local + idle.deleted_remote, 0u);
  }

  // The message names the file the pass was working on.
  bool namesAPath(const std::string& message) const {
    for (auto& [p, b] : edits_)
      if (message.find("'" + p + "'") != std::string::npos) return true;
    return false;
  }

  // A fault that stops the pass after `skip` replaces went through.
  void stopsAndResumes(int err, ErrorCode want, const char* reason_part) {
    prepare();
    if (HasFatalFailure()) return;
    makeReconciler(*faulty_);
    remote::FaultRule rule;
    rule.op = remote::RemoteOp::kReplaceFile;
    rule.err = err;
    rule.skip_first = 5;
    faulty_->addRule(rule);
    ReconcileOptions one_at_a_time;  // for an exact count of what went through
    one_at_a_time.transfer_threads = 1;
    one_at_a_time.remote_in_flight = 1;
    ReconcileReport r = pass(one_at_a_time);
    ASSERT_TRUE(r.stopped) << "the pass went on through " << std::strerror(err);
    EXPECT_EQ(r.stopped->code(), want) << r.stopped->toString();
    EXPECT_TRUE(namesAPath(r.stopped->message())) << r.stopped->toString();
    EXPECT_NE(r.stopped->message().find(reason_part), std::string::npos) << r.stopped->toString();
    // The new directory is made while the plan runs; the file pushes go
    // after it, and the first five went through before the fault.
    EXPECT_EQ(r.pushed, 6u) << "the new directory and the first five replaces";
    expectNothingLost();
    // The fault persists: the next pass stops again and still loses nothing.
    ReconcileReport again = pass();
    ASSERT_TRUE(again.stopped);
    EXPECT_EQ(again.stopped->code(), want);
    expectNothingLost();
    // The fault clears: work resumes and converges.
    faulty_->clearRules();
    ASSERT_TRUE(reconciler_->recover());
    ReconcileReport done = pass();
    EXPECT_TRUE(done.clean()) << (done.stopped ? done.stopped->toString() : "failures");
    expectConverged();
  }

  std::string backing_;
  bool bound_ = false, backing_mounted_ = false;
  std::unique_ptr<remote::PosixRemoteFs> local_fs_;
  std::shared_ptr<remote::PosixRemoteFs> posix_;
  std::shared_ptr<remote::FaultyRemoteFs> faulty_;
  std::shared_ptr<remote::WorkerPool> pool_;
  std::unique_ptr<remote::DeadlineRemoteFs> deadline_;
  std::unique_ptr<Reconciler> reconciler_;
  std::map<std::string, std::string> old_, want_, edits_, theirs_;
  std::set<std::string> deleted_;
};

TEST_F(ReconcilerFaultTest, RemoteDisconnectedMidPassStopsOfflineAndResumes) {
  stopsAndResumes(ENOTCONN, ErrorCode::kOffline, "injected fault in replaceFile");
}

// Base rows are committed in batches; a pass the link drops under still
// commits every file it fetched, and nothing else.
TEST_F(ReconcilerFaultTest, HoardWalkCutMidBatchKeepsEveryFetchedFileAndResumes) {
  const int kFiles = 700;
  for (int i = 0; i < kFiles; ++i) {
    std::string p = "d" + std::to_string(i % 7) + "/f" + std::to_string(i) + ".txt";
    old_[p] = "remote bytes of " + p + std::string(static_cast<size_t>(i % 50), 'x');
    writeAll(remote_root_ + "/" + p, old_[p]);
  }
  remote::FaultRule cut;
  cut.op = remote::RemoteOp::kFetchFile;
  cut.err = ENOTCONN;
  cut.skip_first = 400;  // one whole batch of 256 and part of the next
  faulty_->addRule(cut);
  ReconcileReport first = pass();
  ASSERT_TRUE(first.stopped);
  EXPECT_EQ(first.stopped->code(), ErrorCode::kOffline);
  EXPECT_EQ(first.hoarded, 400u);

  auto rows = journal_->listBase(share_);
  ASSERT_TRUE(rows) << rows.error().toString();
  size_t files_in_base = 0;
  for (const BaseEntry& e : *rows) {
    if (e.local.type != FileType::kFile) continue;
    ++files_in_base;
    EXPECT_EQ(readAll(cache_ + "/" + e.path), old_.at(e.path)) << e.path;
  }
  EXPECT_EQ(files_in_base, 400u) << "every fetched file has its base row, committed";
  size_t files_in_cache = 0;
  for (auto& entry : fs::recursive_directory_iterator(cache_))
    files_in_cache += entry.is_regular_file();
  EXPECT_EQ(files_in_cache, 400u) << "and nothing is in the cache without one";

  faulty_->clearRules();
  ReconcileReport second = pass();
  EXPECT_TRUE(second.clean()) << (second.stopped ? second.stopped->toString() : "not clean");
  EXPECT_EQ(second.hoarded, static_cast<uint64_t>(kFiles - 400));
  EXPECT_TRUE(second.new_conflicts.empty());
  for (auto& [p, b] : old_) EXPECT_EQ(readAll(cache_ + "/" + p), b) << p;
  auto intents = journal_->intents(share_);
  ASSERT_TRUE(intents);
  EXPECT_TRUE(intents->empty());
}

// While a pass's batch is uncommitted, the recorder takes events for the files
// it wrote as hoard's own. A user who saves over one in that window is not
// lost: the pass logs the edit itself, and the next pass sends it.
TEST_F(ReconcilerFaultTest, AnEditToAFileThePassJustFetchedIsLoggedAndSent) {
  writeAll(remote_root_ + "/notes.txt", "the server's notes\n");
  writeAll(remote_root_ + "/other.txt", "untouched\n");
  auto posix_cache = std::make_shared<remote::PosixRemoteFs>(cache_);
  HookFs cache_side(posix_cache);
  cache_side.after_replace = [&](const RelPath& p) {
    if (p == "notes.txt")
      writeAll(cache_ + "/notes.txt", "the server's notes\nand the user's line, saved at once\n");
  };
  auto own = std::make_shared<OwnWrites>();
  Reconciler rec(ShareSides{*journal_, mu_, share_, cache_side, *posix_, cache_, *store_,
                            store::KeepPolicy{}, "laptop", nullptr, own});
  auto first = rec.run({});
  ASSERT_TRUE(first) << first.error().toString();
  EXPECT_EQ(first->hoarded, 2u);
  EXPECT_TRUE(own->pending.empty()) << "nothing stays listed after the pass";
  auto log = journal_->changes(share_, 0);
  ASSERT_TRUE(log) << log.error().toString();
  ASSERT_EQ(log->size(), 1u);
  EXPECT_EQ((*log)[0].change.op, ChangeOp::kWrite);
  EXPECT_EQ((*log)[0].change.path, "notes.txt");

  cache_side.after_replace = nullptr;
  auto second = rec.run({});
  ASSERT_TRUE(second) << second.error().toString();
  EXPECT_TRUE(second->clean());
  EXPECT_EQ(second->pushed, 1u);
  EXPECT_EQ(readAll(remote_root_ + "/notes.txt"),
            "the server's notes\nand the user's line, saved at once\n");
  EXPECT_EQ(readAll(remote_root_ + "/other.txt"), "untouched\n");
}

// vim saves by renaming the file away and writing it anew: the cache file
// is gone at the instant the pass reads its xattrs after the push landed.
// The bytes sent are ours, so the next edit is sent, never taken for a
// third party's change (a conflict on the user's own file).
TEST_F(ReconcilerFaultTest, ACacheFileRenamedAwayJustAfterItsPushIsNotAConflictWithItself) {
  writeAll(remote_root_ + "/draft.txt", "v1\n");
  ASSERT_TRUE(pass().clean());
  writeAll(cache_ + "/draft.txt", "v2, sent\n");
  HookFs remote_side(posix_);
  remote_side.after_replace = [&](const RelPath& p) {
    if (p == "draft.txt") fs::rename(cache_ + "/draft.txt", cache_ + "/draft.txt~");
  };
  auto own = std::make_shared<OwnWrites>();
  Reconciler rec(ShareSides{*journal_, mu_, share_, *local_fs_, remote_side, cache_, *store_,
                            store::KeepPolicy{}, "laptop", nullptr, own});
  (void)rec.run({});  // the push lands; the file is gone from the cache right after
  EXPECT_EQ(readAll(remote_root_ + "/draft.txt"), "v2, sent\n");
  remote_side.after_replace = nullptr;
  writeAll(cache_ + "/draft.txt", "v3, the user's last save\n");
  fs::remove(cache_ + "/draft.txt~");
  auto second = rec.run({});
  ASSERT_TRUE(second) << second.error().toString();
  EXPECT_TRUE(second->new_conflicts.empty()) << "the pass took its own push for a server edit";
  auto open = journal_->conflicts(share_, true);
  ASSERT_TRUE(open);
  EXPECT_TRUE(open->empty());
  EXPECT_EQ(readAll(remote_root_ + "/draft.txt"), "v3, the user's last save\n");
  EXPECT_FALSE(fs::exists(remote_root_ + "/draft.txt~"));
}

// The hoard walk holds an open temporary per staged file: however far the
// fetching threads run ahead, a pass never runs out of file descriptors.
TEST_F(ReconcilerFaultTest, AHoardWalkOfManySmallFilesStaysWithinTheFileDescriptorLimit) {
  const int kFiles = 1500;
  for (int i = 0; i < kFiles; ++i)
    writeAll(remote_root_ + "/d" + std::to_string(i % 10) + "/f" + std::to_string(i), "x");
  // Installing is slow (a busy disk): the fetching threads run far ahead.
  HookFs cache_side(std::make_shared<remote::PosixRemoteFs>(cache_));
  cache_side.before_replace = [](const RelPath&) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  };
  Reconciler rec(ShareSides{*journal_, mu_, share_, cache_side, *posix_, cache_, *store_,
                            store::KeepPolicy{}, "laptop", nullptr, nullptr});
  struct rlimit before;
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &before), 0);
  struct rlimit low = before;
  low.rlim_cur = 400;
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &low), 0);
  auto r = rec.run({});
  ::setrlimit(RLIMIT_NOFILE, &before);
  ASSERT_TRUE(r) << r.error().toString();
  EXPECT_TRUE(r->clean()) << (r->stopped ? r->stopped->toString()
                                         : r->failed.empty() ? "" : r->failed[0].second.toString());
  EXPECT_EQ(r->hoarded, static_cast<uint64_t>(kFiles));
  EXPECT_EQ(readAll(cache_ + "/d7/f1497"), "x");
}

TEST_F(ReconcilerFaultTest, ExpiredCredentialsMidPassPauseAndResume) {
  stopsAndResumes(EKEYEXPIRED, ErrorCode::kAuthExpired, "injected fault in replaceFile");
}

TEST_F(ReconcilerFaultTest, FullRemoteMidPassPausesAndResumes) {
  stopsAndResumes(ENOSPC, ErrorCode::kNoSpace, "injected fault in replaceFile");
}

TEST_F(ReconcilerFaultTest, HangingRemoteCallTimesOutAndResumes) {
  prepare();
  if (HasFatalFailure()) return;
  pool_ = std::make_shared<remote::WorkerPool>(remote::WorkerPool::Options{2, 16, "faulttest"});
  remote::DeadlineRemoteFs::Deadlines d;
  d.metadata = 20s;  // generous: only the hung call may time out
  d.transfer_idle = 3000ms;
  deadline_ = std::make_unique<remote::DeadlineRemoteFs>(faulty_, pool_, d);
  makeReconciler(*deadline_);
  remote::FaultRule rule;
  rule.op = remote::RemoteOp::kReplaceFile;
  rule.hang = true;
  rule.skip_first = 3;
  rule.max_fires = 1;
  faulty_->addRule(rule);
  ReconcileReport r = pass();
  ASSERT_TRUE(r.stopped) << "the pass did not notice the hung call";
  EXPECT_EQ(r.stopped->code(), ErrorCode::kTimeout) << r.stopped->toString();
  EXPECT_TRUE(namesAPath(r.stopped->message())) << r.stopped->toString();
  EXPECT_EQ(faulty_->hangingCalls(), 1u) << "the hung call costs a worker, not the pass";
  expectNothingLost();

  // The mount comes back: the abandoned call goes through late (as a hung
  // mount's would); the next pass must take that in its stride.
  faulty_->releaseHangs();
  for (auto until = std::chrono::steady_clock::now() + 30s;
       pool_->busyWorkers() > 0 && std::chrono::steady_clock::now() < until;)
    std::this_thread::sleep_for(5ms);
  ASSERT_EQ(pool_->busyWorkers(), 0u);
  expectNothingLost();
  ASSERT_TRUE(reconciler_->recover());
  ReconcileReport done = pass();
  EXPECT_TRUE(done.clean()) << (done.stopped ? done.stopped->toString() : "failures");
  expectConverged();
}

TEST_F(ReconcilerFaultTest, LateWriteOfAHungCallIsNotAConflictWithTheNextEdit) {
  // A replace that timed out may still land afterwards; if the user edits
  // the file again meanwhile, the remote holding our own earlier bytes is
  // not a third party's change: the new edit is pushed, no conflict.
  prepare();
  if (HasFatalFailure()) return;
  pool_ = std::make_shared<remote::WorkerPool>(remote::WorkerPool::Options{2, 16, "faulttest"});
  remote::DeadlineRemoteFs::Deadlines d;
  d.metadata = 20s;
  d.transfer_idle = 3000ms;
  deadline_ = std::make_unique<remote::DeadlineRemoteFs>(faulty_, pool_, d);
  makeReconciler(*deadline_);
  remote::FaultRule rule;
  rule.op = remote::RemoteOp::kReplaceFile;
  rule.path_glob = "a/f1.txt";
  rule.hang = true;
  rule.max_fires = 1;
  faulty_->addRule(rule);
  ASSERT_TRUE(edits_.count("a/f1.txt"));
  ReconcileReport r = pass();
  ASSERT_TRUE(r.stopped);
  EXPECT_EQ(r.stopped->code(), ErrorCode::kTimeout);
  faulty_->releaseHangs();
  for (auto until = std::chrono::steady_clock::now() + 30s;
       pool_->busyWorkers() > 0 && std::chrono::steady_clock::now() < until;)
    std::this_thread::sleep_for(5ms);
  ASSERT_EQ(readAll(remote_root_ + "/a/f1.txt"), edits_["a/f1.txt"]) << "the late write landed";
  // The user goes on editing before the next pass.
  std::string again = "edited again after the hang";
  writeAll(cache_ + "/a/f1.txt", again);
  edits_["a/f1.txt"] = again;
  want_["a/f1.txt"] = again;
  ReconcileReport done = pass();
  EXPECT_TRUE(done.new_conflicts.empty()) << "our own late write was taken for a third party's";
  EXPECT_TRUE(done.clean()) << (done.stopped ? done.stopped->toString() : "not clean");
  expectConverged();
}

// The remote root is a real mount: a tmpfs (the "server") bind-mounted at the
// remote root, so the share can be unmounted and mounted back with its data.
class ReconcilerUnmountTest : public ReconcilerFaultTest {
 protected:
  void SetUp() override {
    ReconcilerFaultTest::SetUp();
    if (HasFatalFailure()) return;
    backing_ = dir_ + "/server";
    fs::create_directories(backing_);
    ASSERT_EQ(::mount("tmpfs", backing_.c_str(), "tmpfs", 0, "size=16m"), 0)
        << "mount tmpfs: " << std::strerror(errno);
    backing_mounted_ = true;
    mountShare();
    if (HasFatalFailure()) return;
    id_pool_ = std::make_shared<remote::WorkerPool>(remote::WorkerPool::Options{1, 4, "idcheck"});
    remote::IdentityChecker::Options o;
    o.deadline = 20s;
    auto id = remote::IdentityChecker::establish(remote_root_, *id_pool_, o);
    ASSERT_TRUE(id) << id.error().toString();
    checker_ = std::make_unique<remote::IdentityChecker>(remote_root_, *id, id_pool_, o);
  }
  void TearDown() override {
    checker_.reset();
    id_pool_.reset();
    ReconcilerFaultTest::TearDown();
  }
  void mountShare() {
    ASSERT_EQ(::mount(backing_.c_str(), remote_root_.c_str(), nullptr, MS_BIND, nullptr), 0)
        << "bind mount: " << std::strerror(errno);
    bound_ = true;
  }
  void unmountShare() {
    ASSERT_EQ(::umount2(remote_root_.c_str(), 0), 0) << std::strerror(errno);
    bound_ = false;
  }
  std::function<Status()> check() {
    return [this]() -> Status {
      remote::ProbeResult r = checker_->probe();
      if (r.state == remote::Reachability::kReachable) return {};
      return fail(r.state == remote::Reachability::kAuthExpired ? ErrorCode::kAuthExpired
                                                                 : ErrorCode::kOffline,
                  r.reason);
    };
  }

  std::shared_ptr<remote::WorkerPool> id_pool_;
  std::unique_ptr<remote::IdentityChecker> checker_;
};

TEST_F(ReconcilerUnmountTest, UnmountedShareIsOfflineAndTheCacheKeepsEverything) {
  makeReconciler(*faulty_, check());
  prepare();
  if (HasFatalFailure()) return;
  unmountShare();
  ReconcileReport r = pass();
  ASSERT_TRUE(r.stopped) << "an empty mountpoint was taken for the share";
  EXPECT_EQ(r.stopped->code(), ErrorCode::kOffline) << r.stopped->toString();
  EXPECT_NE(r.stopped->message().find(remote_root_), std::string::npos) << r.stopped->toString();
  EXPECT_EQ(r.deleted_local + r.pushed + r.pulled, 0u);
  for (auto& [p, b] : want_)
    if (!theirs_.count(p)) {
      EXPECT_EQ(readAll(cache_ + "/" + p), b) << p;
    }
  EXPECT_TRUE(fs::is_empty(remote_root_)) << "nothing was written into the bare mountpoint";
  mountShare();
  expectNothingLost();
  ReconcileReport done = pass();
  EXPECT_TRUE(done.clean()) << (done.stopped ? done.stopped->toString() : "not clean");
  expectConverged();
}

TEST_F(ReconcilerUnmountTest, WithoutTheIdentityCheckTheMassDeleteGuardStillHolds) {
  makeReconciler(*faulty_);  // no check_remote
  prepare();
  if (HasFatalFailure()) return;
  unmountShare();
  ReconcileReport r = pass();
  ASSERT_TRUE(r.stopped) << "the cache was emptied to match an unmounted share";
  EXPECT_EQ(r.stopped->code(), ErrorCode::kAborted) << r.stopped->toString();
  EXPECT_NE(r.stopped->message().find("files in the cache because they are gone from the remote"),
            std::string::npos)
      << r.stopped->toString();
  for (auto& [p, b] : want_)
    if (!theirs_.count(p)) {
      EXPECT_EQ(readAll(cache_ + "/" + p), b) << p;
    }
  for (auto& [p, b] : old_)
    if (!edits_.count(p) && !deleted_.count(p) && !theirs_.count(p)) {
      EXPECT_EQ(readAll(cache_ + "/" + p), b) << p;
    }
  mountShare();
  ReconcileReport done = pass();
  EXPECT_TRUE(done.clean()) << (done.stopped ? done.stopped->toString() : "not clean");
  expectConverged();
}

TEST_F(ReconcilerUnmountTest, ShareUnmountedMidPassLosesNothingAndResumes) {
  HookFs hook(faulty_);
  makeReconciler(hook, check());
  prepare();
  if (HasFatalFailure()) return;
  int replaces = 0;
  hook.before_replace = [&](const RelPath&) {
    if (++replaces == 4) unmountShare();
  };
  ReconcileOptions one_at_a_time;  // nothing else in flight on the mount it unmounts
  one_at_a_time.transfer_threads = 1;
  one_at_a_time.remote_in_flight = 1;
  ReconcileReport r = pass(one_at_a_time);
  hook.before_replace = nullptr;
  ASSERT_FALSE(bound_);
  // The first path that fails after the mount went makes the pass look
  // again: the share is gone, so it stops instead of writing into the bare
  // mountpoint (and recording that as synced).
  ASSERT_TRUE(r.stopped) << "the pass went on after the share was unmounted";
  EXPECT_EQ(r.stopped->code(), ErrorCode::kOffline) << r.stopped->toString();
  EXPECT_NE(r.stopped->message().find(remote_root_), std::string::npos) << r.stopped->toString();
  EXPECT_EQ(r.pushed, 4u) << "the new directory (made as the plan runs), then three replaces";
  EXPECT_TRUE(fs::is_empty(remote_root_)) << "the pass wrote into the bare mountpoint";
  for (auto& [p, b] : edits_) EXPECT_EQ(readAll(cache_ + "/" + p), b) << p;
  ReconcileReport offline = pass();
  ASSERT_TRUE(offline.stopped);
  EXPECT_EQ(offline.stopped->code(), ErrorCode::kOffline) << offline.stopped->toString();
  for (auto& [p, b] : edits_) EXPECT_EQ(readAll(cache_ + "/" + p), b) << p;
  // The share comes back.
  mountShare();
  expectNothingLost();
  ASSERT_TRUE(reconciler_->recover());
  ReconcileReport done = pass();
  EXPECT_TRUE(done.clean()) << (done.stopped ? done.stopped->toString() : "not clean");
  expectConverged();
}

}  // namespace
}  // namespace hoard::sync
