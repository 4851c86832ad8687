// SPDX-License-Identifier: MIT
// Issue 12: hoard killed (SIGKILL) while it carries or merges a git
// repository. A child process does what hoardd does after a start (open
// the journal, recover(), a pass, and for an open repo conflict the
// resolver chain's steps: copies, the git-repo resolver, the engine's
// apply), with both roots wrapped in KillingFs; it is killed at chosen
// points (before, in the middle of and after each mutating call, one more
// each round, so every point of the sequence is hit), at random ones, at
// random instants, and at the journal's commits (KillingCommit.h). After
// every kill both repositories pass `git fsck --full` and neither has lost
// a commit it had; the state accumulates until a child runs to the end, and
// then both .git directories are equal, fsck-clean, and hold the union of
// both sides' commits.
//
// The seed is printed; HOARD_CRASH_SEED=<n> replays a run.

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <optional>
#include <random>
#include <thread>

#include "integration/sync/GitRepoFixture.h"
#include "integration/sync/KillingCommit.h"
#include "integration/sync/KillingFs.h"
#include "sync/OwnWrites.h"

namespace hoard::sync {
namespace {

using Clock = std::chrono::steady_clock;

// How a child is to die: at a mutating call (KillPlan), at a journal commit,
// or after a delay (the parent's timer); any of them may be unset.
struct Cut {
  KillPlan plan;
  uint64_t commit = 0;
  std::optional<std::chrono::microseconds> delay;
  std::string describe() const {
    std::string s;
    if (plan.at_op) {
      static const char* kWhen[] = {"before", "in the middle of", "after"};
      s += std::string(kWhen[static_cast<int>(plan.when)]) + " mutation " +
           std::to_string(plan.at_op);
    }
    if (commit) s += (s.empty() ? "" : ", ") + std::string("at journal commit ") + std::to_string(commit);
    if (delay) s += (s.empty() ? "" : ", ") + std::to_string(delay->count()) + " us in";
    return s.empty() ? "never" : s;
  }
};

class GitRepoCrashTest : public GitRepoFixture {
 protected:
  void SetUp() override {
    GitRepoFixture::SetUp();
    seed_ = 20261201;
    if (const char* env = std::getenv("HOARD_CRASH_SEED")) seed_ = std::strtoull(env, nullptr, 10);
    std::cout << "[ crash seed ] HOARD_CRASH_SEED=" << seed_ << std::endl;
    rng_.seed(seed_);
  }

  // The child: what hoardd does after a start, until no repo conflict is
  // open. Never returns into gtest. Exit 0: it ran to the end.
  [[noreturn]] void child(const Cut& cut) {
    if (cut.commit) killAtJournalCommit(cut.commit);
    auto j = journal::Journal::open(dir_ + "/journal.db");  // a connection with the hook
    if (!j) _exit(10);
    uint64_t ops = 0;
    KillingFs l(*local_fs_, cut.plan, ops), r(*remote_fs_, cut.plan, ops);
    Reconciler rec(ShareSides{**j, mu_, share_, l, r, cache_, *store_, store::KeepPolicy{},
                              "laptop", nullptr, std::make_shared<OwnWrites>()});
    if (!rec.recover()) _exit(11);
    // `git gc` deletes most loose objects of this small share: the mass-delete
    // guard stops such a pass and asks; the user confirms, as here.
    ReconcileOptions confirmed;
    confirmed.confirm_mass_delete = true;
    auto pass = rec.run(confirmed);
    if (!pass || pass->stopped || !pass->failed.empty()) {
      std::ofstream out(dir_ + "/child-report.txt");  // for the parent's message
      if (!pass) out << "pass: " << pass.error().toString() << "\n";
      if (pass && pass->stopped) out << "stopped: " << pass->stopped->toString() << "\n";
      if (pass)
        for (auto& [p, e] : pass->failed) out << "failed: " << p << ": " << e.toString() << "\n";
      out.close();
      _exit(12);
    }
    for (int round = 0; round < 4; ++round) {
      auto open = (*j)->conflicts(share_, true);
      if (!open) _exit(13);
      if (open->empty()) _exit(0);
      const journal::ConflictRecord& c = open->front();
      if (c.kind != ConflictKind::kRepo) _exit(14);
      auto m = mergeRepoWith(**j, l, r, rec, c, true);
      if (!m) _exit(15);
      if (m->decision.kind != resolvers::DecisionKind::kMerged) _exit(16);
      // A side that changed since detection (an earlier cut's writes)
      // refreshed the conflict: merge it again.
      if (!m->applied && m->applied.error().code() != ErrorCode::kConflict) _exit(17);
    }
    _exit(18);
  }

  // Forks a child that dies at `cut`; true if it was killed, false if it
  // ran to the end (a child failing otherwise fails the test).
  bool round(const Cut& cut, std::chrono::microseconds* took) {
    std::fflush(nullptr);
    auto start = Clock::now();
    pid_t pid = ::fork();
    if (pid == 0) child(cut);
    EXPECT_GT(pid, 0);
    if (cut.delay) {
      std::this_thread::sleep_for(*cut.delay);
      ::kill(pid, SIGKILL);  // not yet reaped: still ours, no pid reuse
    }
    int status = 0;
    EXPECT_EQ(::waitpid(pid, &status, 0), pid);
    *took = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start);
    if (WIFSIGNALED(status)) {
      EXPECT_EQ(WTERMSIG(status), SIGKILL);
      return true;
    }
    EXPECT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0) << "the child failed (" << cut.describe() << "): "
                                      << get(dir_ + "/child-report.txt");
    return false;
  }

  // The parent's journal and reconciler reopened after a child's work.
  void reopen() {
    reconciler_.reset();
    journal_.reset();
    auto j = journal::Journal::open(dir_ + "/journal.db");
    ASSERT_TRUE(j) << j.error().toString();
    journal_ = std::move(*j);
    reconciler_ = std::make_unique<Reconciler>(
        ShareSides{*journal_, mu_, share_, *local_fs_, *remote_fs_, cache_, *store_,
                   store::KeepPolicy{}, "laptop", nullptr, nullptr});
  }

  std::set<std::string> commitsOf(const std::string& repo) {
    return lines(gitOk(repo, "rev-list --all"));
  }
  // What must hold after any cut: both repositories fsck-clean, and each
  // still reaches every commit it reached before the work began.
  void checkAfterCut(const std::string& what) {
    for (const auto& [repo, had] : {std::pair{lrepo(), &local_had_}, std::pair{rrepo(), &remote_had_}}) {
      GitRun f = git(repo, "fsck --full --no-progress");
      ASSERT_EQ(f.rc, 0) << what << ": fsck in " << repo << ":\n" << f.out;
      std::set<std::string> now = commitsOf(repo);
      for (const std::string& c : *had)
        ASSERT_TRUE(now.count(c)) << what << ": " << repo << " lost commit " << c;
    }
  }
  std::set<std::string> divergedCommits();
  void rememberCommits() {
    local_had_ = commitsOf(lrepo());
    remote_had_ = commitsOf(rrepo());
  }

  // Rounds of cuts until a child runs to the end: `chosen` kills at the
  // first mutating call after recover()'s two (its sweeps of stale
  // temporaries) each round, cycling before, mid-copy and after, so every
  // point of the sequence is cut three ways; otherwise each round picks a
  // random mutating call, a random journal commit or a random instant.
  // Returns the number of kills.
  size_t cutUntilDone(bool chosen) {
    size_t kills = 0;
    std::chrono::microseconds last{0};
    for (int n = 0;; ++n) {
      if (n >= 400) {
        ADD_FAILURE() << "no progress across restarts";
        break;
      }
      Cut cut;
      if (chosen) {
        cut.plan = {3, static_cast<KillPlan::When>(n % 3)};
      } else {
        switch (rng_() % 3) {
          case 0:
            cut.commit = 1 + rng_() % 8;
            break;
          case 1:
            cut.plan = {1 + rng_() % 12, static_cast<KillPlan::When>(rng_() % 3)};
            break;
          default:
            cut.delay = std::chrono::microseconds(
                rng_() % static_cast<uint64_t>(std::max<int64_t>(last.count(), 20000) + 1));
        }
      }
      std::chrono::microseconds took{0};
      bool killed = round(cut, &took);
      if (HasFailure()) break;
      reopen();
      checkAfterCut("after a kill " + cut.describe() + " (round " + std::to_string(n) + ")");
      if (HasFailure() || !killed) break;
      ++kills;
      last = took;
    }
    return kills;
  }

  // The end: nothing open, the same sound repositories holding the union.
  void expectDone(const std::set<std::string>& all) {
    EXPECT_TRUE(openConflicts().empty());
    expectSameSoundRepos();
    for (const std::string& repo : {lrepo(), rrepo()}) {
      std::set<std::string> now = commitsOf(repo);
      for (const std::string& c : all) EXPECT_TRUE(now.count(c)) << repo << " lacks " << c;
    }
    expectQuietNextPass();
  }

  // Diverged on both sides: commits on main each, a branch fast-forwarded
  // in the cache, a tag each, a branch only the server has, and `git gc` on
  // both (each side's refs packed, so one packed-refs file replaces the
  // other's while the refs only it held become loose files).
  void diverge() {
    seedRepo();
    gitOk(rrepo(), "branch topic");
    sync();
    ASSERT_TRUE(openConflicts().empty());
    for (int i = 0; i < 2; ++i)
      commit(lrepo(), "l" + std::to_string(i) + ".txt", "cache " + std::to_string(i) + "\n",
             "cache " + std::to_string(i));
    gitOk(lrepo(), "branch -f topic main");
    gitOk(lrepo(), "tag cache-v1");
    gitOk(lrepo(), "gc -q --prune=now");
    commit(rrepo(), "r0.txt", "server 0\n", "server 0");
    gitOk(rrepo(), "switch -q -c feature");
    commit(rrepo(), "f.txt", "feature\n", "feature work");
    gitOk(rrepo(), "switch -q main");
    gitOk(rrepo(), "tag -a server-v1 -m 'server v1'");
    gitOk(rrepo(), "gc -q --prune=now");
    commit(rrepo(), "r1.txt", "server 1\n", "server 1");  // loose beside the pack
    ReconcileReport r = sync();
    ASSERT_FALSE(r.stopped);
    theRepoConflict();
  }

  uint64_t seed_ = 0;
  std::mt19937_64 rng_;
  std::set<std::string> local_had_, remote_had_;
};

// (a) one side's commits and `git gc`, carried file by file under kills.
TEST_F(GitRepoCrashTest, KilledWhileCarryingCommitsAndAGcLeavesBothSoundAndConverges) {
  seedRepo();
  for (bool chosen : {true, false}) {
    SCOPED_TRACE(chosen ? "chosen cuts" : "random cuts");
    for (int i = 0; i < 3; ++i)
      commit(lrepo(), "f" + std::to_string(i) + ".txt", std::to_string(chosen) + " " +
                                                           std::to_string(i) + "\n",
             "cache " + std::to_string(i));
    gitOk(lrepo(), "tag -a v" + std::to_string(chosen) + " -m tag");
    rememberCommits();
    const std::set<std::string> all = local_had_;
    size_t kills = cutUntilDone(chosen);
    std::cout << "[ crash ] " << kills << " kills pushing commits (" << (chosen ? "chosen" : "random")
              << ")" << std::endl;
    if (chosen) {
      EXPECT_GT(kills, 20u);  // every object, ref, log and the index: cut 3 ways
    }
    expectDone(all);
    gitOk(lrepo(), "gc -q --prune=now");
    kills = cutUntilDone(chosen);
    std::cout << "[ crash ] " << kills << " kills pushing a gc" << std::endl;
    expectDone(all);
    // The other way: the server's commits and gc pulled into the cache.
    commit(rrepo(), "s" + std::to_string(chosen) + ".txt", "server\n", "server commit");
    gitOk(rrepo(), "gc -q --prune=now");
    rememberCommits();
    const std::set<std::string> pulled = remote_had_;
    kills = cutUntilDone(chosen);
    std::cout << "[ crash ] " << kills << " kills pulling commits and a gc" << std::endl;
    expectDone(pulled);
    if (HasFailure()) return;
  }
}

// Both sides' repositories diverged; every commit either side holds.
std::set<std::string> GitRepoCrashTest::divergedCommits() {
  diverge();
  if (HasFatalFailure()) return {};
  rememberCommits();
  std::set<std::string> all = local_had_;
  all.insert(remote_had_.begin(), remote_had_.end());
  return all;
}

// (b) the git-repo merge of a diverged repository under kills, cut at each
// of its writes in turn.
TEST_F(GitRepoCrashTest, KilledAtEveryWriteOfARepositoryMergeLosesNoCommit) {
  std::set<std::string> all = divergedCommits();
  if (HasFatalFailure()) return;
  size_t kills = cutUntilDone(true);
  std::cout << "[ crash ] " << kills << " kills merging (chosen)" << std::endl;
  EXPECT_GT(kills, 15u);
  expectDone(all);
}

TEST_F(GitRepoCrashTest, KilledAtRandomPointsAndCommitsOfARepositoryMergeLosesNoCommit) {
  std::set<std::string> all = divergedCommits();
  if (HasFatalFailure()) return;
  size_t kills = cutUntilDone(false);
  std::cout << "[ crash ] " << kills << " kills merging (random, journal commits)" << std::endl;
  EXPECT_GT(kills, 0u);
  expectDone(all);
}

}  // namespace
}  // namespace hoard::sync
