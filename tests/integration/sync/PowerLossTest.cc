// SPDX-License-Identifier: MIT
// Power loss, after leveldb's fault_injection_test (issue 9): a child
// process runs what a restart runs (recover, a pass that preloads new remote
// files, reintegrates local changes and pulls third-party edits, then the
// resolution of two conflicts) with the cache side behind PowerLossFs, and
// dies by SIGKILL at a chosen mutation (before it, mid-copy, after it) or at
// a random instant. Then the power goes: every cache-side change not yet
// synced is taken back (PowerLossFs::cutPower). The remote is another
// machine and keeps what it got; the journal keeps exactly its committed
// transactions (SQLite in WAL mode with synchronous=FULL syncs the WAL at
// every commit, and a kill drops the uncommitted ones at the next open).
//
// After every cut: no file on either side is torn (each holds its old or a
// new content), every local edit is still in the cache, and the journal
// never claims more than the disks hold (a base row's content is in the
// cache, unless the user changed that path or the cache already holds what
// the remote holds). The rounds go on from the
// state the cut left until a child completes, the power is cut once more,
// and a final pass must give the model's tree on both sides with nothing
// left over. Epoch 1 cuts right after every mutation in turn (the chosen
// points); later epochs at seeded random points. HOARD_CRASH_SEED=<n>
// replays a run.

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "common/Hash.h"
#include "integration/sync/KillingFs.h"
#include "integration/sync/PowerLossFs.h"
#include "integration/sync/TreeScan.h"
#include "remote/PosixRemoteFs.h"
#include "sync/Reconciler.h"

namespace hoard::sync {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

class PowerLossTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/hoard-powerloss-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    cache_ = dir_ + "/cache";
    remote_root_ = dir_ + "/remote";
    log_ = dir_ + "/unsynced";
    for (const auto& d : {cache_, remote_root_, log_}) fs::create_directories(d);
    seed_ = 20261201;
    if (const char* env = std::getenv("HOARD_CRASH_SEED")) seed_ = std::strtoull(env, nullptr, 10);
    std::cout << "[ power ] HOARD_CRASH_SEED=" << seed_ << std::endl;
    rng_.seed(seed_);
    auto j = journal::Journal::open(dir_ + "/journal.db");
    ASSERT_TRUE(j) << j.error().toString();
    auto id = (*j)->addShare({"docs", remote_root_, cache_, {}, {}});
    ASSERT_TRUE(id) << id.error().toString();
    share_ = *id;
  }
  void TearDown() override { fs::remove_all(dir_); }

  // One process's share: the cache behind PowerLossFs, both sides behind
  // KillingFs (one count of mutations across both).
  struct Session {
    std::unique_ptr<journal::Journal> journal;
    std::optional<store::BaseStore> store;
    Mutex mu;
    std::unique_ptr<remote::PosixRemoteFs> local_posix, remote_posix;
    std::unique_ptr<PowerLossFs> power;
    std::unique_ptr<KillingFs> local_kill, remote_kill;
    KillPlan plan;
    uint64_t ops = 0;
    std::unique_ptr<Reconciler> reconciler;
  };
  std::unique_ptr<Session> open(KillPlan plan = {}) {
    auto s = std::make_unique<Session>();
    auto j = journal::Journal::open(dir_ + "/journal.db");
    if (!j) return nullptr;
    s->journal = std::move(*j);
    auto st = store::BaseStore::open(dir_ + "/store");
    if (!st) return nullptr;
    s->store.emplace(std::move(*st));
    s->plan = plan;
    remote::PosixRemoteFs::Options cache_side;
    cache_side.side = "cache root";
    s->local_posix = std::make_unique<remote::PosixRemoteFs>(cache_, cache_side);
    s->remote_posix = std::make_unique<remote::PosixRemoteFs>(remote_root_);
    s->power = std::make_unique<PowerLossFs>(*s->local_posix, log_);
    s->local_kill = std::make_unique<KillingFs>(*s->power, s->plan, s->ops);
    s->remote_kill = std::make_unique<KillingFs>(*s->remote_posix, s->plan, s->ops);
    s->reconciler = std::make_unique<Reconciler>(
        ShareSides{*s->journal, s->mu, share_, *s->local_kill, *s->remote_kill, cache_, *s->store,
                   store::KeepPolicy{}, "laptop", nullptr, std::make_shared<OwnWrites>()});
    return s;
  }

  // The child: open, recover, a pass, then the two conflicts decided
  // (keep-local and keep-remote). Never returns into gtest.
  [[noreturn]] void child(KillPlan plan) {
    auto s = open(plan);
    if (!s) _exit(10);
    if (!s->reconciler->recover()) _exit(11);
    auto r = s->reconciler->run();
    if (!r) _exit(12);
    auto open_conflicts = s->journal->conflicts(share_, true);
    if (!open_conflicts) _exit(13);
    for (const auto& c : *open_conflicts) {
      auto d = decisions_.find(c.path);
      if (d == decisions_.end()) _exit(14);
      ConflictDecision decision;
      decision.kind = d->second;
      if (!s->reconciler->apply(c.id, decision)) _exit(15);
    }
    auto left = s->journal->conflicts(share_, true);
    if (!r->stopped && r->failed.empty() && left && left->empty()) _exit(0);
    _exit(16);
  }

  // Forks a child; kills it at `plan` and/or after `delay`. True if it died.
  bool round(KillPlan plan, std::optional<std::chrono::microseconds> delay,
             std::chrono::microseconds* took) {
    std::fflush(nullptr);
    auto start = Clock::now();
    pid_t pid = ::fork();
    if (pid == 0) child(plan);
    EXPECT_GT(pid, 0);
    if (delay) {
      std::this_thread::sleep_for(*delay);
      ::kill(pid, SIGKILL);  // a zombie not yet reaped is still ours: no pid reuse
    }
    int status = 0;
    EXPECT_EQ(::waitpid(pid, &status, 0), pid);
    *took = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start);
    if (WIFSIGNALED(status)) {
      EXPECT_EQ(WTERMSIG(status), SIGKILL);
      return true;
    }
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
        << "the child's restart failed, exit " << WEXITSTATUS(status);
    return false;
  }

  // The power goes: what the cache had not synced is taken back.
  size_t cutPower() {
    remote::PosixRemoteFs cache(cache_);
    auto undone = PowerLossFs::cutPower(cache, log_);
    EXPECT_TRUE(undone) << undone.error().toString();
    return undone ? *undone : 0;
  }

  // ---- the model -----------------------------------------------------------

  std::string bytes(const std::string& what) {
    std::string b = what + "@" + std::to_string(rng_()) + "\n";
    size_t size = rng_() % 8 == 0 ? (1u << 20) + 77 : 20 + rng_() % 400;
    while (b.size() < size) b += static_cast<char>('a' + rng_() % 26);
    return b;
  }
  void both(const std::string& p, const std::string& b) {
    writeAll(cache_ + "/" + p, b);
    writeAll(remote_root_ + "/" + p, b);
    cur_[p] = b;
  }

  // 60 files agreed by a first pass, with siblings that sort around their
  // directories (`dir`, `dir-x`, `dir.bak`).
  void seedShare() {
    for (const std::string d : {"dir", "dir-x", "dir.bak", "docs"})
      for (int j = 0; j < 3; ++j)
        for (int k = 0; k < 5; ++k) {
          std::string p = d + "/s" + std::to_string(j) + "/f" + std::to_string(k) + ".txt";
          both(p, bytes(p));
        }
    auto s = open();
    ASSERT_TRUE(s);
    auto r = s->reconciler->run();
    ASSERT_TRUE(r) << r.error().toString();
    ASSERT_TRUE(r->clean());
    ASSERT_TRUE(s->local_posix->syncAll());
    fs::remove_all(log_);
    fs::create_directories(log_);
  }

  void allow(std::map<std::string, std::set<std::string>>& side, const std::string& p,
             std::initializer_list<std::string> contents) {
    side[p].insert(contents.begin(), contents.end());
  }

  // Offline work on top of `cur_`: local edits, creations (one new directory),
  // deletions and renames (a file and a directory); third-party edits and a
  // new remote directory (preloaded); two paths edited on both sides.
  void makeChanges(int epoch) {
    allowed_local_.clear();
    allowed_remote_.clear();
    local_changed_.clear();
    decisions_.clear();
    final_ = cur_;
    const std::string tag = "e" + std::to_string(epoch);
    std::vector<Change> log;
    std::vector<std::string> files;
    for (auto& [p, b] : cur_) files.push_back(p);
    std::shuffle(files.begin(), files.end(), rng_);
    size_t at = 0;
    auto take = [&](size_t n) {
      std::vector<std::string> out(files.begin() + static_cast<long>(at),
                                   files.begin() + static_cast<long>(at + n));
      at += n;
      return out;
    };
    // A whole directory renamed locally (its files taken out of the pool).
    std::string from = "dir/s" + std::to_string(epoch % 3), to = from + "-" + tag;
    if (fs::exists(cache_ + "/" + from)) {
      fs::rename(cache_ + "/" + from, cache_ + "/" + to);
      log.push_back({ChangeOp::kRename, from, to, 0, ""});
      local_changed_.insert(from);
      for (auto it = files.begin(); it != files.end();) {
        if (it->rfind(from + "/", 0) != 0) {
          ++it;
          continue;
        }
        std::string q = to + it->substr(from.size());
        allow(allowed_remote_, *it, {cur_[*it]});
        allow(allowed_remote_, q, {cur_[*it]});
        allow(allowed_local_, q, {cur_[*it]});
        local_changed_.insert(*it);
        local_changed_.insert(q);
        final_.erase(*it);
        final_[q] = cur_[*it];
        it = files.erase(it);
      }
    }
    for (const std::string& p : take(12)) {  // local edits
      std::string m = bytes("edit " + tag + " " + p);
      writeAll(cache_ + "/" + p, m);
      log.push_back({ChangeOp::kWrite, p, "", 0, ""});
      allow(allowed_local_, p, {m});
      allow(allowed_remote_, p, {cur_[p], m});
      local_changed_.insert(p);
      final_[p] = m;
    }
    for (const std::string& p : take(10)) {  // third-party edits, pulled
      std::string t = bytes("third party " + tag + " " + p);
      writeAll(remote_root_ + "/" + p, t);
      allow(allowed_remote_, p, {t});
      allow(allowed_local_, p, {cur_[p], t});
      final_[p] = t;
    }
    for (const std::string& p : take(4)) {  // local deletions
      fs::remove(cache_ + "/" + p);
      log.push_back({ChangeOp::kUnlink, p, "", 0, ""});
      allow(allowed_remote_, p, {cur_[p]});
      local_changed_.insert(p);
      final_.erase(p);
    }
    for (const std::string& p : take(4)) {  // local renames
      std::string q = std::string(fs::path(p).parent_path()) + "/r-" + tag + "-" +
                      std::string(fs::path(p).filename());
      fs::rename(cache_ + "/" + p, cache_ + "/" + q);
      log.push_back({ChangeOp::kRename, p, q, 0, ""});
      allow(allowed_remote_, p, {cur_[p]});
      allow(allowed_remote_, q, {cur_[p]});
      allow(allowed_local_, q, {cur_[p]});
      local_changed_.insert(p);
      local_changed_.insert(q);
      final_.erase(p);
      final_[q] = cur_[p];
    }
    const std::vector<std::string> conflicted = take(2);  // edited on both sides
    for (size_t i = 0; i < conflicted.size(); ++i) {
      const std::string& p = conflicted[i];
      std::string m = bytes("mine " + tag + " " + p), t = bytes("theirs " + tag + " " + p);
      writeAll(cache_ + "/" + p, m);
      writeAll(remote_root_ + "/" + p, t);
      log.push_back({ChangeOp::kWrite, p, "", 0, ""});
      local_changed_.insert(p);
      const bool keep_local = i == 0;
      decisions_[p] = keep_local ? Resolution::kKeepLocal : Resolution::kKeepRemote;
      allow(allowed_local_, p, {m});
      if (!keep_local) allow(allowed_local_, p, {t});
      allow(allowed_remote_, p, {t});
      if (keep_local) allow(allowed_remote_, p, {m});
      final_[p] = keep_local ? m : t;
    }
    for (int k = 0; k < 6; ++k) {  // local creations, half in a new directory
      std::string p = (k % 2 ? "new-" + tag + "/c" : "docs/c-" + tag + "-") + std::to_string(k);
      std::string c = bytes("created " + p);
      writeAll(cache_ + "/" + p, c);
      if (k == 1) log.push_back({ChangeOp::kMkdir, "new-" + tag, "", 0755, ""});
      log.push_back({ChangeOp::kCreate, p, "", 0644, ""});
      allow(allowed_local_, p, {c});
      allow(allowed_remote_, p, {c});
      local_changed_.insert(p);
      final_[p] = c;
    }
    for (int k = 0; k < 6; ++k) {  // a new remote directory: preloaded
      std::string p = "theirs-" + tag + "/sub/n" + std::to_string(k);
      std::string n = bytes("new remote " + p);
      writeAll(remote_root_ + "/" + p, n);
      allow(allowed_remote_, p, {n});
      allow(allowed_local_, p, {n});
      final_[p] = n;
    }
    for (auto& [p, b] : cur_) {
      if (!allowed_remote_.count(p)) allow(allowed_remote_, p, {b});
      if (!allowed_local_.count(p) && final_.count(p)) allow(allowed_local_, p, {b});
    }
    // The user's own writes are on disk before hoard sees them: a power cut
    // takes back only what hoard did.
    ::sync();
    auto j = journal::Journal::open(dir_ + "/journal.db");
    ASSERT_TRUE(j);
    ASSERT_TRUE((*j)->recordChanges(share_, log));
  }

  // After a cut: nothing torn on either side, no local edit lost, and the
  // base claims nothing the cache does not hold (the cache may be ahead of
  // the base only where it equals the remote).
  void checkAfterCut(size_t round) {
    Tree r = scan(remote_root_);
    for (auto& [p, b] : r.files) {
      auto it = allowed_remote_.find(p);
      ASSERT_TRUE(it != allowed_remote_.end()) << "round " << round << ": unexpected remote " << p;
      ASSERT_TRUE(it->second.count(b))
          << "round " << round << ": remote " << p << " holds " << b.size()
          << " bytes that are none of its versions";
    }
    Tree l = scan(cache_);
    for (auto& [p, b] : l.files) {
      auto it = allowed_local_.find(p);
      ASSERT_TRUE(it != allowed_local_.end()) << "round " << round << ": unexpected cache " << p;
      ASSERT_TRUE(it->second.count(b)) << "round " << round << ": cache " << p << " holds "
                                       << b.size() << " bytes that are none of its versions";
    }
    for (auto& [p, allowed] : allowed_local_) {
      if (!local_changed_.count(p)) continue;
      ASSERT_TRUE(l.files.count(p)) << "round " << round << ": a local edit is lost: " << p;
    }
    auto j = journal::Journal::open(dir_ + "/journal.db");
    ASSERT_TRUE(j);
    auto base = (*j)->listBase(share_);
    ASSERT_TRUE(base) << base.error().toString();
    for (const BaseEntry& e : *base) {
      if (e.local.type != FileType::kFile || !e.hash || local_changed_.count(e.path)) continue;
      auto it = l.files.find(e.path);
      ASSERT_TRUE(it != l.files.end())
          << "round " << round << ": the base has " << e.path << " but the cache lost it";
      // A cache newer than the base is safe when it holds what the remote
      // holds (the pull is durable, its base row was not committed yet); a
      // base newer than the cache is what a lost sync would leave.
      auto on_remote = r.files.find(e.path);
      if (on_remote != r.files.end() && on_remote->second == it->second) continue;
      EXPECT_TRUE(hashBytes(it->second) == *e.hash)
          << "round " << round << ": the base records content of " << e.path
          << " that the cache does not hold after the power cut (cache: "
          << it->second.substr(0, it->second.find('@')) << ", "
          << allowed_local_[e.path].size() << " allowed, base size " << e.local.size << ")";
    }
  }

  // A last pass in this process: both sides are the model, nothing left over.
  void converge(int epoch) {
    auto s = open();
    ASSERT_TRUE(s);
    ASSERT_TRUE(s->reconciler->recover());
    auto r = s->reconciler->run();
    ASSERT_TRUE(r) << r.error().toString();
    EXPECT_TRUE(r->clean()) << "epoch " << epoch << ": the pass after the cuts was not clean";
    Tree rt = scan(remote_root_), lt = scan(cache_);
    EXPECT_TRUE(rt.temps.empty()) << rt.temps.size() << " temporaries on the remote";
    EXPECT_TRUE(lt.temps.empty()) << lt.temps.size() << " temporaries in the cache";
    size_t wrong = 0;
    for (auto& [p, b] : final_) {
      auto in_r = rt.files.find(p), in_l = lt.files.find(p);
      if ((in_r == rt.files.end() || in_r->second != b || in_l == lt.files.end() ||
           in_l->second != b) &&
          ++wrong < 10)
        ADD_FAILURE() << "epoch " << epoch << ": " << p << " is not the expected content ("
                      << (in_r == rt.files.end() ? "absent" : "differs") << " on the remote, "
                      << (in_l == lt.files.end() ? "absent" : "differs") << " in the cache)";
    }
    for (auto& [p, b] : rt.files)
      if (!final_.count(p) && ++wrong < 10) ADD_FAILURE() << "remote " << p << " should be gone";
    for (auto& [p, b] : lt.files)
      if (!final_.count(p) && ++wrong < 10) ADD_FAILURE() << "cache " << p << " should be gone";
    EXPECT_EQ(wrong, 0u);
    auto count = s->journal->changeCount(share_);
    ASSERT_TRUE(count);
    EXPECT_EQ(*count, 0) << "records left in the change log";
    auto intents = s->journal->intents(share_);
    ASSERT_TRUE(intents);
    EXPECT_TRUE(intents->empty()) << intents->size() << " intents left";
    auto open_conflicts = s->journal->conflicts(share_, true);
    ASSERT_TRUE(open_conflicts);
    EXPECT_TRUE(open_conflicts->empty()) << open_conflicts->size() << " conflicts still open";
    ASSERT_TRUE(s->local_posix->syncAll());
    fs::remove_all(log_);
    fs::create_directories(log_);
    cur_ = final_;
  }

  std::string dir_, cache_, remote_root_, log_;
  int64_t share_ = 0;
  uint64_t seed_ = 0;
  std::mt19937_64 rng_;
  std::map<std::string, std::string> cur_, final_;
  std::map<std::string, std::set<std::string>> allowed_local_, allowed_remote_;
  std::set<std::string> local_changed_;
  std::map<std::string, Resolution> decisions_;
};

TEST_F(PowerLossTest, CutsAtEveryMutationAndAtRandomLoseNothingAndConverge) {
  seedShare();
  if (HasFatalFailure()) return;
  constexpr int kEpochs = 3;
  constexpr size_t kMaxRounds = 600;
  size_t rounds = 0, cuts = 0, undone = 0, cuts_that_undid = 0;
  std::chrono::microseconds last{0};
  for (int epoch = 1; epoch <= kEpochs; ++epoch) {
    makeChanges(epoch);
    if (HasFatalFailure()) return;
    for (uint64_t op = 1;; ++op) {
      ASSERT_LT(++rounds, kMaxRounds) << "no progress across power cuts";
      KillPlan plan;
      std::optional<std::chrono::microseconds> delay;
      if (epoch == 1) {  // the chosen points: just after each mutation in turn
        plan.at_op = op;
        plan.when = KillPlan::When::kAfter;
      } else {
        plan.at_op = 1 + rng_() % 60;
        plan.when = static_cast<KillPlan::When>(rng_() % 3);
        if (rng_() % 3 == 0 && last.count() > 0)
          delay = std::chrono::microseconds(rng_() % static_cast<uint64_t>(last.count() + 1));
      }
      std::chrono::microseconds took{0};
      const bool killed = round(plan, delay, &took);
      if (HasFailure()) return;
      last = took;
      size_t n = cutPower();
      ++cuts;
      undone += n;
      cuts_that_undid += n > 0;
      checkAfterCut(rounds);
      if (HasFatalFailure()) return;
      if (!killed) break;
    }
    converge(epoch);
    if (HasFailure()) return;
  }
  std::cout << "[ power ] " << cuts << " power cuts in " << rounds << " rounds, " << undone
            << " unsynced cache changes taken back by " << cuts_that_undid << " of them"
            << std::endl;
  // The test bites only if some cuts found unsynced changes to take back.
  EXPECT_GT(cuts_that_undid, 0u);
}

}  // namespace
}  // namespace hoard::sync
