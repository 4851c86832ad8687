// SPDX-License-Identifier: MIT
// Crash tests of the reintegration pass (design.md invariants 1 and 2): a
// child process runs recover() + run() over a share with more than a thousand
// local changes and is killed with SIGKILL at seeded random points: at a
// chosen remote/cache mutation (just before it, in the middle of a file copy,
// just after it) and at random instants measured in microseconds. After every
// kill the test checks that no file on either side is truncated or
// half-written and that no local edit is lost; the state then accumulates
// (each child continues the interrupted work) until a pass completes, and the
// final state must equal the model byte for byte with an empty change log, no
// intents, no conflicts, no temporaries and a sound journal.
//
// The seed is printed; HOARD_CRASH_SEED=<n> replays a run (the op-count kill
// points replay exactly; the timed ones land at the same delays).

#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "integration/sync/KillingFs.h"
#include "integration/sync/TreeScan.h"
#include "remote/PosixRemoteFs.h"
#include "sync/Reconciler.h"

namespace hoard::sync {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

class ReconcilerCrashTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/hoard-crash-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    cache_ = dir_ + "/cache";
    remote_root_ = dir_ + "/remote";
    fs::create_directories(cache_);
    fs::create_directories(remote_root_);
    seed_ = 20261124;
    if (const char* env = std::getenv("HOARD_CRASH_SEED")) seed_ = std::strtoull(env, nullptr, 10);
    std::cout << "[ crash seed ] HOARD_CRASH_SEED=" << seed_ << std::endl;
    RecordProperty("seed", std::to_string(seed_));
    rng_.seed(seed_);
    auto j = journal::Journal::open(dir_ + "/journal.db");
    ASSERT_TRUE(j) << j.error().toString();
    auto id = (*j)->addShare({"docs", remote_root_, cache_, {}, {}});
    ASSERT_TRUE(id) << id.error().toString();
    share_ = *id;
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Everything one process needs for a pass, opened from the folders.
  struct Session {
    std::unique_ptr<journal::Journal> journal;
    std::optional<store::BaseStore> store;
    Mutex mu;
    std::unique_ptr<remote::PosixRemoteFs> local_posix, remote_posix;
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
    s->local_posix = std::make_unique<remote::PosixRemoteFs>(cache_);
    s->remote_posix = std::make_unique<remote::PosixRemoteFs>(remote_root_);
    s->local_kill = std::make_unique<KillingFs>(*s->local_posix, s->plan, s->ops);
    s->remote_kill = std::make_unique<KillingFs>(*s->remote_posix, s->plan, s->ops);
    s->reconciler = std::make_unique<Reconciler>(
        ShareSides{*s->journal, s->mu, share_, *s->local_kill, *s->remote_kill, cache_, *s->store,
                   store::KeepPolicy{}, "laptop", nullptr, std::make_shared<OwnWrites>()});
    return s;
  }

  // The child: a whole restart (open, recover, pass). Never returns into gtest.
  [[noreturn]] void child(KillPlan plan) {
    auto s = open(plan);
    if (!s) _exit(10);
    if (!s->reconciler->recover()) _exit(11);
    auto r = s->reconciler->run();
    if (!r) _exit(12);
    if (!r->clean()) {
      // For the parent's failure message.
      std::ofstream out(dir_ + "/child-report.txt");
      if (r->stopped) out << "stopped: " << r->stopped->toString() << "\n";
      for (auto& [p, e] : r->failed) out << "failed: " << p << ": " << e.toString() << "\n";
      out << r->new_conflicts.size() << " new conflicts, " << r->waiting << " waiting\n";
      if (auto cs = s->journal->conflicts(share_, true)) {
        for (auto& c : *cs)
          out << "conflict " << journal::conflictKindName(c.kind) << " at " << c.path << ": "
              << c.detail << "\n";
      }
      out.close();
      _exit(13);
    }
    _exit(0);
  }

  // ---- the model -------------------------------------------------------------

  std::string bytes(const std::string& what, size_t size) {
    std::string b = what + "@" + std::to_string(rng_()) + "\n";
    while (b.size() < size) b += static_cast<char>('a' + rng_() % 26);
    return b;
  }
  size_t smallSize() { return 20 + rng_() % 600; }

  // Seeds 10 x 8 x 10 files, agreed by a first pass.
  void seedShare() {
    for (int i = 0; i < 10; ++i)
      for (int j = 0; j < 8; ++j)
        for (int k = 0; k < 10; ++k) {
          std::string p = "d" + std::to_string(i) + "/s" + std::to_string(j) + "/f" +
                          std::to_string(k) + ".txt";
          cur_[p] = bytes(p, smallSize());
          // Both sides already hold it (as after a preload): the first pass
          // only records the base.
          writeAll(remote_root_ + "/" + p, cur_[p]);
          writeAll(cache_ + "/" + p, cur_[p]);
        }
    auto s = open();
    ASSERT_TRUE(s);
    auto r = s->reconciler->run();
    ASSERT_TRUE(r) << r.error().toString();
    ASSERT_TRUE(r->clean());
    ASSERT_EQ(scan(cache_).files, cur_);
  }

  // One user's offline session on top of the agreed state `cur_`, plus a few
  // third-party edits on the remote. Fills the allowed contents of every path
  // during the crash rounds and the expected end state. Returns the number of
  // local changes made.
  size_t makeChanges(int epoch) {
    allowed_remote_.clear();
    allowed_local_.clear();
    final_ = cur_;
    std::vector<Change> log;
    const std::string tag = "e" + std::to_string(epoch);

    // Leaf directories whose files are all still there.
    std::map<std::string, std::vector<std::string>> leaves;
    for (auto& [p, b] : cur_) leaves[fs::path(p).parent_path()].push_back(p);
    std::vector<std::string> leaf_names;
    for (auto& [d, v] : leaves)
      if (d.find('/') != std::string::npos) leaf_names.push_back(d);
    std::shuffle(leaf_names.begin(), leaf_names.end(), rng_);
    std::set<std::string> used;
    size_t changes = 0;

    // Two whole directories renamed, two removed.
    for (int n = 0; n < 2; ++n) {
      const std::string& from = leaf_names[static_cast<size_t>(n)];
      std::string to = from + "-moved-" + tag;
      fs::rename(cache_ + "/" + from, cache_ + "/" + to);
      log.push_back({ChangeOp::kRename, from, to, 0, ""});
      for (const std::string& p : leaves[from]) {
        std::string q = to + p.substr(from.size());
        allowed_remote_[p] = {cur_[p]};
        allowed_remote_[q] = {cur_[p]};
        allowed_local_[q] = {cur_[p]};
        final_.erase(p);
        final_[q] = cur_[p];
        used.insert(p);
      }
      ++changes;
    }
    for (int n = 2; n < 4; ++n) {
      const std::string& d = leaf_names[static_cast<size_t>(n)];
      fs::remove_all(cache_ + "/" + d);
      for (const std::string& p : leaves[d]) {
        log.push_back({ChangeOp::kUnlink, p, "", 0, ""});
        allowed_remote_[p] = {cur_[p]};
        final_.erase(p);
        used.insert(p);
        ++changes;
      }
      log.push_back({ChangeOp::kRmdir, d, "", 0, ""});
    }

    std::vector<std::string> files;
    for (auto& [p, b] : cur_)
      if (!used.count(p)) files.push_back(p);
    std::shuffle(files.begin(), files.end(), rng_);
    size_t at = 0;
    auto take = [&](size_t n) {
      std::vector<std::string> out(files.begin() + static_cast<long>(at),
                                   files.begin() + static_cast<long>(at + n));
      at += n;
      return out;
    };
    // Third-party edits on the remote (pulled into the cache).
    for (const std::string& p : take(20)) {
      std::string t = bytes("third party " + p, smallSize());
      writeAll(remote_root_ + "/" + p, t);
      allowed_remote_[p] = {t};
      allowed_local_[p] = {cur_[p], t};
      final_[p] = t;
    }
    // Local edits; a few large enough that a copy takes several chunks.
    size_t large = 0;
    for (const std::string& p : take(500)) {
      std::string m = bytes("edit " + tag + " " + p, large < 4 ? (1u << 20) + 4097 : smallSize());
      ++large;
      writeAll(cache_ + "/" + p, m);
      log.push_back({ChangeOp::kWrite, p, "", 0, ""});
      allowed_remote_[p] = {cur_[p], m};
      allowed_local_[p] = {m};
      final_[p] = m;
      ++changes;
    }
    // Single-file deletes.
    for (const std::string& p : take(80)) {
      fs::remove(cache_ + "/" + p);
      log.push_back({ChangeOp::kUnlink, p, "", 0, ""});
      allowed_remote_[p] = {cur_[p]};
      final_.erase(p);
      ++changes;
    }
    // Renames: most pure, some then edited (both must apply).
    size_t n = 0;
    for (const std::string& p : take(100)) {
      std::string q = fs::path(p).parent_path() / ("r-" + tag + "-" + std::string(fs::path(p).filename()));
      fs::rename(cache_ + "/" + p, cache_ + "/" + q);
      log.push_back({ChangeOp::kRename, p, q, 0, ""});
      allowed_remote_[p] = {cur_[p]};
      final_.erase(p);
      if (n++ % 5 == 0) {
        std::string m = bytes("renamed and edited " + q, smallSize());
        writeAll(cache_ + "/" + q, m);
        log.push_back({ChangeOp::kWrite, q, "", 0, ""});
        allowed_remote_[q] = {cur_[p], m};
        allowed_local_[q] = {m};
        final_[q] = m;
      } else {
        allowed_remote_[q] = {cur_[p]};
        allowed_local_[q] = {cur_[p]};
        final_[q] = cur_[p];
      }
      ++changes;
    }
    // New files: half in new directories, half beside existing ones.
    for (size_t k = 0; k < 300; ++k) {
      std::string p;
      if (k % 2 == 0) {
        std::string d = "new-" + tag + "/n" + std::to_string(k % 12);
        p = d + "/c" + std::to_string(k) + ".txt";
        if (!fs::exists(cache_ + "/" + d)) {
          log.push_back({ChangeOp::kMkdir, "new-" + tag, "", 0755, ""});
          log.push_back({ChangeOp::kMkdir, d, "", 0755, ""});
        }
      } else {
        p = std::string(fs::path(files[k % files.size()]).parent_path()) + "/c-" + tag + "-" +
            std::to_string(k) + ".txt";
      }
      std::string c = bytes("created " + p, smallSize());
      writeAll(cache_ + "/" + p, c);
      log.push_back({ChangeOp::kCreate, p, "", 0644, ""});
      allowed_remote_[p] = {c};
      allowed_local_[p] = {c};
      final_[p] = c;
      ++changes;
    }
    // Everything else stays as it was on both sides.
    for (auto& [p, b] : cur_) {
      if (!allowed_remote_.count(p)) allowed_remote_[p] = {b};
      if (!allowed_local_.count(p) && final_.count(p)) allowed_local_[p] = {b};
    }
    auto j = journal::Journal::open(dir_ + "/journal.db");
    EXPECT_TRUE(j);
    if (j) {
      EXPECT_TRUE((*j)->recordChanges(share_, log));
    }
    return changes;
  }

  // After a kill: every file on each side holds one of its allowed contents
  // (never a truncated or half-written one), and every local edit is there.
  void checkAfterKill(size_t round) {
    Tree r = scan(remote_root_);
    for (auto& [p, b] : r.files) {
      auto it = allowed_remote_.find(p);
      ASSERT_TRUE(it != allowed_remote_.end()) << "round " << round << ": unexpected remote " << p;
      ASSERT_TRUE(it->second.count(b))
          << "round " << round << ": remote " << p << " holds " << b.size()
          << " bytes that are neither its old nor its new content";
    }
    Tree l = scan(cache_);
    for (auto& [p, b] : l.files) {
      auto it = allowed_local_.find(p);
      ASSERT_TRUE(it != allowed_local_.end()) << "round " << round << ": unexpected cache " << p;
      ASSERT_TRUE(it->second.count(b))
          << "round " << round << ": cache " << p << " holds " << b.size()
          << " bytes that are neither its old nor its new content";
    }
    for (auto& [p, allowed] : allowed_local_)
      ASSERT_TRUE(l.files.count(p)) << "round " << round << ": lost from the cache: " << p;
  }

  // Forks a child pass; kills it at `plan` and/or after `delay`. True if it
  // died by SIGKILL, false if it finished its pass.
  // `*self` says whether the child reached its own kill point (else the timer got it).
  bool round(KillPlan plan, std::optional<std::chrono::microseconds> delay,
             std::chrono::microseconds* took, bool* self) {
    std::cout.flush();
    std::fflush(nullptr);
    int fds[2];
    EXPECT_EQ(::pipe(fds), 0);
    auto start = Clock::now();
    pid_t pid = ::fork();
    if (pid == 0) {
      ::close(fds[0]);
      g_report_fd = fds[1];
      child(plan);
    }
    ::close(fds[1]);
    EXPECT_GT(pid, 0);
    if (delay) {
      std::this_thread::sleep_for(*delay);
      ::kill(pid, SIGKILL);  // a zombie not yet reaped is still ours: no pid reuse
    }
    int status = 0;
    EXPECT_EQ(::waitpid(pid, &status, 0), pid);
    *took = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start);
    char when = 0;
    *self = ::read(fds[0], &when, 1) == 1;
    ::close(fds[0]);
    if (WIFSIGNALED(status)) {
      EXPECT_EQ(WTERMSIG(status), SIGKILL);
      return true;
    }
    EXPECT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0) << "the child's pass failed or was not clean:\n"
                                      << readAll(dir_ + "/child-report.txt");
    return false;
  }

  // Final pass in this process; then everything must equal the model.
  void converge(int epoch) {
    auto s = open();
    ASSERT_TRUE(s);
    auto rec = s->reconciler->recover();
    ASSERT_TRUE(rec) << rec.error().toString();
    auto r = s->reconciler->run();
    ASSERT_TRUE(r) << r.error().toString();
    EXPECT_FALSE(r->stopped) << r->stopped->toString();
    for (auto& [p, e] : r->failed) ADD_FAILURE() << "failed: " << p << ": " << e.toString();
    EXPECT_TRUE(r->new_conflicts.empty());
    auto conflicts = s->journal->conflicts(share_, false);
    ASSERT_TRUE(conflicts);
    for (auto& c : *conflicts)
      ADD_FAILURE() << "epoch " << epoch << ": conflict recorded at " << c.path << " ("
                    << c.detail << ")";

    Tree r_tree = scan(remote_root_);
    Tree l_tree = scan(cache_);
    EXPECT_TRUE(r_tree.temps.empty()) << r_tree.temps.size() << " temporaries on the remote, e.g. "
                                      << r_tree.temps.front();
    EXPECT_TRUE(l_tree.temps.empty()) << l_tree.temps.size() << " temporaries in the cache, e.g. "
                                      << l_tree.temps.front();
    // Byte for byte: the edits, creations, deletions, renames and pulls.
    size_t wrong = 0;
    for (auto& [p, b] : final_) {
      auto it = r_tree.files.find(p);
      if (it == r_tree.files.end() || it->second != b) {
        if (++wrong < 10) ADD_FAILURE() << "remote " << p << " is not the expected content";
      }
    }
    for (auto& [p, b] : r_tree.files)
      if (!final_.count(p) && ++wrong < 10) ADD_FAILURE() << "remote " << p << " should be gone";
    EXPECT_EQ(wrong, 0u);
    EXPECT_TRUE(l_tree.files == final_) << "the cache differs from the expected tree";
    EXPECT_EQ(l_tree.dirs, r_tree.dirs);

    auto count = s->journal->changeCount(share_);
    ASSERT_TRUE(count);
    EXPECT_EQ(*count, 0) << "reintegrated records left in the change log";
    auto intents = s->journal->intents(share_);
    ASSERT_TRUE(intents);
    EXPECT_TRUE(intents->empty()) << intents->size() << " intents left";

    // Idempotent: another pass finds nothing to do.
    auto again = s->reconciler->run();
    ASSERT_TRUE(again);
    EXPECT_TRUE(again->clean());
    EXPECT_EQ(again->pushed + again->pulled + again->deleted_local + again->deleted_remote +
                  again->renamed_remote + again->agreed,
              0u);
    s.reset();
    EXPECT_EQ(integrityCheck(), "ok");
    cur_ = final_;
  }

  std::string integrityCheck() {
    sqlite3* db = nullptr;
    std::string path = dir_ + "/journal.db";
    if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
      sqlite3_close(db);
      return "cannot open " + path;
    }
    sqlite3_stmt* st = nullptr;
    std::string out;
    if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, nullptr) == SQLITE_OK) {
      while (sqlite3_step(st) == SQLITE_ROW) {
        const unsigned char* text = sqlite3_column_text(st, 0);
        if (!out.empty()) out += "; ";
        out += text == nullptr ? "" : reinterpret_cast<const char*>(text);
      }
    } else {
      out = sqlite3_errmsg(db);
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return out;
  }

  std::string dir_, cache_, remote_root_;
  int64_t share_ = 0;
  uint64_t seed_ = 0;
  std::mt19937_64 rng_;
  std::map<std::string, std::string> cur_;    // the agreed tree before an epoch
  std::map<std::string, std::string> final_;  // the tree both sides must end with
  std::map<std::string, std::set<std::string>> allowed_remote_, allowed_local_;
};

TEST_F(ReconcilerCrashTest, KilledAtRandomPointsLosesNothingAndConverges) {
  auto t_seed = Clock::now();
  seedShare();
  if (HasFatalFailure()) return;
  std::cout << "[ crash ] seeded " << cur_.size() << " files in "
            << std::chrono::duration<double>(Clock::now() - t_seed).count() << " s" << std::endl;
#if defined(__SANITIZE_ADDRESS__)
  // Under ASan each round is about four times slower: 40 kills keep the test
  // well inside ctest's 600 s there (the normal build does 100).
  constexpr size_t kKillsWanted = 40;
#else
  constexpr size_t kKillsWanted = 100;
#endif
  constexpr size_t kMaxRounds = 1000;
  size_t kills = 0, rounds = 0, timed_kills = 0;
  std::map<KillPlan::When, size_t> by_when;
  std::chrono::microseconds last{0};
  Clock::duration check_time{0};
  auto t0 = Clock::now();
  for (int epoch = 1; kills < kKillsWanted; ++epoch) {
    auto t_make = Clock::now();
    size_t changes = makeChanges(epoch);
    std::cout << "[ crash ] epoch " << epoch << ": made the changes in "
              << std::chrono::duration<double>(Clock::now() - t_make).count() << " s" << std::endl;
    ASSERT_GE(changes, 1000u);
    checkAfterKill(0);
    if (HasFatalFailure()) return;
    // Kill rounds until a child finishes the pass by itself.
    for (;;) {
      ASSERT_LT(++rounds, kMaxRounds) << "the pass makes no progress across restarts";
      KillPlan plan;
      plan.at_op = 1 + rng_() % 28;
      plan.when = static_cast<KillPlan::When>(rng_() % 3);
      std::optional<std::chrono::microseconds> delay;
      if (rng_() % 2 == 0 && last.count() > 0)
        delay = std::chrono::microseconds(rng_() % static_cast<uint64_t>(last.count() + 1));
      std::chrono::microseconds took{0};
      bool self = false;
      bool killed = round(plan, delay, &took, &self);
      if (HasFailure()) return;
      if (!killed) break;
      ++kills;
      if (self) ++by_when[plan.when]; else ++timed_kills;
      if (std::getenv("HOARD_CRASH_VERBOSE"))
        std::cout << "round " << rounds << ": op " << plan.at_op << "/" << int(plan.when)
                  << (self ? " self" : " timed") << " " << took.count() << " us" << std::endl;
      last = took;
      auto c0 = Clock::now();
      checkAfterKill(rounds);
      check_time += Clock::now() - c0;
      if (HasFatalFailure()) return;
    }
    auto t_conv = Clock::now();
    converge(epoch);
    if (HasFailure()) return;
    std::cout << "[ crash ] final pass and checks "
              << std::chrono::duration<double>(Clock::now() - t_conv).count() << " s" << std::endl;
    std::cout << "[ crash ] epoch " << epoch << ": " << changes << " changes, " << kills
              << " kills so far in " << rounds << " rounds" << std::endl;
  }
  auto secs = std::chrono::duration<double>(Clock::now() - t0).count();
  std::cout << "[ crash ] " << kills << " kills (" << timed_kills << " timed, "
            << by_when[KillPlan::When::kBefore] << " before a mutation, "
            << by_when[KillPlan::When::kMidCopy] << " mid-copy, "
            << by_when[KillPlan::When::kAfter] << " after one) in " << rounds << " rounds, "
            << secs << " s (checks " << std::chrono::duration<double>(check_time).count()
            << " s)" << std::endl;
  EXPECT_GE(kills, kKillsWanted);
}

}  // namespace
}  // namespace hoard::sync
