// SPDX-License-Identifier: MIT
// Reconciler::apply, the one primitive every decision goes through (issue 9,
// points 2 and 3): a resolution applies only against what each side held when
// the conflict was detected; a merged result reaches both sides and becomes
// the base; a crash at any step leaves the conflict open with both sides as
// detected, or resolved with both sides equal.

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <functional>

#include <gtest/gtest.h>

#include "integration/sync/KillingFs.h"
#include "integration/sync/ReconcilerFixture.h"
#include "sync/ConflictDetail.h"

namespace hoard::sync {
namespace {

namespace fs = std::filesystem;

#define ASSERT_OK(expr)                                 \
  do {                                                  \
    Status ok_ = (expr);                                \
    ASSERT_TRUE(ok_) << ok_.error().toString();         \
  } while (0)

class ApplyTest : public ReconcilerTest {
 protected:
  // A content conflict at `p`: "L" in the cache, "R" on the remote.
  journal::ConflictRecord contentConflict(const std::string& p = "doc.txt") {
    seed({{p, "base"}, {"dir-x.txt", "sibling"}});
    local(p, "L");
    remote(p, "R");
    sync();
    auto open = openConflicts();
    EXPECT_EQ(open.size(), 1u);
    return open.empty() ? journal::ConflictRecord{} : open[0];
  }
  journal::ConflictRecord reread(int64_t id) {
    auto c = journal_->conflict(id);
    EXPECT_TRUE(c);
    return c ? *c : journal::ConflictRecord{};
  }
  // Names beside doc.txt in `root` that are stash copies.
  static std::vector<std::string> stashes(const std::string& root) {
    std::vector<std::string> out;
    for (auto& e : fs::directory_iterator(root))
      if (e.path().filename().string().rfind("doc.conflict-", 0) == 0)
        out.push_back(e.path().filename());
    return out;
  }
  UniqueFd bytesFd(const std::string& bytes) {
    UniqueFd fd(::memfd_create("merged", MFD_CLOEXEC));
    EXPECT_TRUE(fd);
    EXPECT_EQ(::write(fd.get(), bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
    return fd;
  }
};

TEST_F(ApplyTest, KeepLocalRefusesToOverwriteAColleaguesLaterEdit) {
  auto c = contentConflict();
  // The user looked at "R"; meanwhile the colleague saved again.
  remote("doc.txt", "R2, saved again by the colleague");
  auto done = reconciler_->resolve(c.id, Resolution::kKeepLocal);
  ASSERT_FALSE(done);
  EXPECT_EQ(done.error().code(), ErrorCode::kConflict);
  EXPECT_NE(done.error().message().find("doc.txt"), std::string::npos);
  EXPECT_NE(done.error().message().find("on the remote"), std::string::npos);
  // Nothing was changed, the conflict stays open and now shows R2.
  EXPECT_EQ(remote("doc.txt"), "R2, saved again by the colleague");
  EXPECT_EQ(local("doc.txt"), "L");
  auto fresh = reread(c.id);
  EXPECT_TRUE(fresh.open);
  EXPECT_EQ(decodeDetail(fresh.detail).remote.hash, hashBytes("R2, saved again by the colleague"));
  EXPECT_EQ(fresh.remote_object, hashBytes("R2, saved again by the colleague"));
  // Decided again on what is there now: it applies.
  ASSERT_OK(reconciler_->resolve(c.id, Resolution::kKeepLocal));
  EXPECT_EQ(remote("doc.txt"), "L");
  EXPECT_FALSE(reread(c.id).open);
  expectConverged();
}

TEST_F(ApplyTest, KeepRemoteRefusesToDropAnEditMadeInTheCacheSince) {
  auto c = contentConflict();
  local("doc.txt", "L2, the user kept typing");
  auto done = reconciler_->resolve(c.id, Resolution::kKeepRemote);
  ASSERT_FALSE(done);
  EXPECT_EQ(done.error().code(), ErrorCode::kConflict);
  EXPECT_NE(done.error().message().find("in the cache"), std::string::npos);
  EXPECT_EQ(local("doc.txt"), "L2, the user kept typing");
  EXPECT_EQ(remote("doc.txt"), "R");
  EXPECT_TRUE(reread(c.id).open);
}

TEST_F(ApplyTest, ATouchSinceDetectionIsNotADrift) {
  auto c = contentConflict();
  struct timespec ts[2] = {{1500000000, 0}, {1500000000, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, (remote_root_ + "/doc.txt").c_str(), ts, 0), 0);
  ASSERT_OK(reconciler_->resolve(c.id, Resolution::kKeepLocal));
  EXPECT_EQ(remote("doc.txt"), "L");
}

TEST_F(ApplyTest, AMergedResultReachesBothSidesAndBecomesTheBase) {
  auto c = contentConflict();
  UniqueFd merged = bytesFd("L and R, merged");
  ASSERT_OK(reconciler_->apply(c.id, ConflictDecision{Resolution::kMerged, merged.get(),
                                                        "git-merge (rule 1)", "git-merge", "1"}));
  EXPECT_EQ(local("doc.txt"), "L and R, merged");
  EXPECT_EQ(remote("doc.txt"), "L and R, merged");
  auto closed = reread(c.id);
  EXPECT_FALSE(closed.open);
  EXPECT_EQ(closed.resolution, "git-merge (rule 1)");
  auto base = journal_->getBase(share_, "doc.txt");
  ASSERT_TRUE(base && *base);
  EXPECT_EQ((*base)->hash, hashBytes("L and R, merged"));
  auto again = sync();
  EXPECT_TRUE(again.clean());
  EXPECT_EQ(again.pushed + again.pulled, 0u);
  expectConverged();
}

TEST_F(ApplyTest, StashKeepsTheRemoteAtTheNameAndTheCachesBytesBesideIt) {
  auto c = contentConflict();
  ASSERT_OK(reconciler_->resolve(c.id, Resolution::kStash));
  EXPECT_EQ(local("doc.txt"), "R");
  EXPECT_EQ(remote("doc.txt"), "R");
  std::string stash;
  for (auto& e : fs::directory_iterator(cache_))
    if (e.path().filename().string().rfind("doc.conflict-", 0) == 0) stash = e.path().filename();
  ASSERT_FALSE(stash.empty());
  EXPECT_EQ(local(stash), "L");
  EXPECT_EQ(remote(stash), "L");
  EXPECT_EQ(local("dir-x.txt"), "sibling");
  expectConverged();
  EXPECT_TRUE(sync().clean());
}

TEST_F(ApplyTest, AConflictRecordedByAnOlderHoardIsRefreshedBeforeItIsApplied) {
  auto c = contentConflict();
  // The detail an older hoard wrote: no data versions.
  ASSERT_TRUE(journal_->refreshConflict(
      c.id, R"({"local":{"type":"file","size":1},"remote":{"type":"file","size":1}})",
      c.local_object, c.remote_object));
  auto done = reconciler_->resolve(c.id, Resolution::kKeepLocal);
  ASSERT_FALSE(done);
  EXPECT_EQ(done.error().code(), ErrorCode::kConflict);
  EXPECT_EQ(remote("doc.txt"), "R");
  ASSERT_OK(reconciler_->resolve(c.id, Resolution::kKeepLocal));
  EXPECT_EQ(remote("doc.txt"), "L");
}

// A child applies the decision through KillingFs and is killed at its n-th
// mutating call; the parent then recovers and checks the invariant.
class ApplyCrashTest : public ApplyTest {
 protected:
  // True if the child was killed (false: it finished on its own).
  bool killDuringApply(int64_t id, ConflictDecision decision, const std::string& merged,
                       KillPlan plan) {
    return killDuring(
        [&](Reconciler& rec) {
          UniqueFd fd;
          if (decision.kind == Resolution::kMerged) {
            fd = bytesFd(merged);
            decision.merged_fd = fd.get();
          }
          return rec.apply(id, decision);
        },
        plan);
  }
  // A child runs `step` on both roots wrapped in KillingFs.
  bool killDuring(const std::function<Status(Reconciler&)>& step, KillPlan plan) {
    std::fflush(nullptr);
    pid_t pid = ::fork();
    if (pid == 0) {
      uint64_t counter = 0;
      KillingFs l(*local_fs_, plan, counter), r(*remote_fs_, plan, counter);
      Reconciler rec(ShareSides{*journal_, mu_, share_, l, r, cache_, *store_,
                                store::KeepPolicy{}, "laptop", nullptr, nullptr});
      _exit(step(rec) ? 0 : 3);
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
  // The next start: the journal is reopened and recover() runs.
  void restart() {
    journal_.reset();
    auto j = journal::Journal::open(dir_ + "/journal.db");
    ASSERT_TRUE(j) << j.error().toString();
    journal_ = std::move(*j);
    reconciler_ = std::make_unique<Reconciler>(ShareSides{
        *journal_, mu_, share_, *local_fs_, *remote_fs_, cache_, *store_, store::KeepPolicy{},
        "laptop", nullptr, nullptr});
    ASSERT_OK(reconciler_->recover());
  }
};

TEST_F(ApplyCrashTest, KilledAtEveryStepTheConflictIsOpenAsDetectedOrResolvedAndEqual) {
  struct Case {
    Resolution kind;
    std::string result;  // at doc.txt afterwards
  };
  size_t kills = 0, finished_by_recover = 0;
  for (const Case& k : {Case{Resolution::kKeepLocal, "L"}, Case{Resolution::kKeepRemote, "R"},
                        Case{Resolution::kStash, "R"}, Case{Resolution::kMerged, "M"}}) {
    for (uint64_t at = 1;; ++at) {
      bool finished = false;
      for (auto when : {KillPlan::When::kBefore, KillPlan::When::kAfter}) {
        TearDown();
        SetUp();
        auto c = contentConflict();
        ASSERT_TRUE(c.open);
        // Decided by a rule: finished by recover() or not, the history names
        // the resolver and the rule (issue 11: recover() used to leave them empty).
        const std::string label =
            std::string(resolutionName(k.kind)) + " by crash-resolver via rule 2 \"crash\"";
        bool killed = killDuringApply(
            c.id, ConflictDecision{k.kind, -1, label, "crash-resolver", "2 \"crash\""}, "M",
            KillPlan{at, when});
        kills += killed;
        restart();
        if (HasFatalFailure()) return;
        auto now = reread(c.id);
        SCOPED_TRACE(std::string(resolutionName(k.kind)) + " killed at op " +
                     std::to_string(at) + (when == KillPlan::When::kBefore ? " before" : " after"));
        if (now.open) {
          EXPECT_EQ(local("doc.txt"), "L");
          EXPECT_EQ(remote("doc.txt"), "R");
        } else {
          EXPECT_EQ(local("doc.txt"), k.result);
          EXPECT_EQ(remote("doc.txt"), k.result);
          // Finished by recover() or not, the resolution is in the history.
          auto h = journal_->resolutions(share_);
          ASSERT_TRUE(h);
          ASSERT_EQ(h->size(), 1u);
          EXPECT_EQ((*h)[0].decision, resolutionName(k.kind));
          EXPECT_EQ((*h)[0].result_object, hashBytes(k.result));
          EXPECT_EQ((*h)[0].resolver, "crash-resolver");
          EXPECT_EQ((*h)[0].rule, "2 \"crash\"");
          EXPECT_EQ((*h)[0].label, label);
          EXPECT_EQ(now.resolution, label);
          finished_by_recover += killed;
        }
        auto intents = journal_->intents(share_);
        ASSERT_TRUE(intents);
        EXPECT_TRUE(intents->empty());
        // Whatever the state, a further sync loses nothing and settles.
        auto r = sync();
        EXPECT_FALSE(r.stopped);
        if (!killed) finished = true;
      }
      if (finished) break;
      ASSERT_LT(at, 20u) << "apply never finished";
    }
  }
  EXPECT_GE(kills, 8u);
  // Each decision was killed at least once after the remote took its result:
  // recover() finished those, and the checks above saw who decided.
  EXPECT_GE(finished_by_recover, 4u);
}

// Undo through the same intent machinery: killed at every step of the undo
// of a stash and of a keep-local, the next start leaves the conflict either
// resolved with both sides as the resolution left them, or open again with
// both sides as detected (no stash copy anywhere); never in between.
TEST_F(ApplyCrashTest, KilledAtEveryStepOfAnUndoNothingIsLostAndItIsAllOrNothing) {
  size_t kills = 0;
  for (const auto& [kind, result] : {std::pair{Resolution::kStash, "R"},
                                     std::pair{Resolution::kKeepLocal, "L"}}) {
    for (uint64_t at = 1;; ++at) {
      bool finished = false;
      for (auto when : {KillPlan::When::kBefore, KillPlan::When::kAfter}) {
        TearDown();
        SetUp();
        auto c = contentConflict();
        ASSERT_OK(reconciler_->resolve(c.id, kind));
        bool killed = killDuring([&](Reconciler& rec) { return rec.undo(c.id); },
                                 KillPlan{at, when});
        kills += killed;
        restart();
        if (HasFatalFailure()) return;
        SCOPED_TRACE(std::string("undo of ") + std::string(resolutionName(kind)) +
                     " killed at op " + std::to_string(at) +
                     (when == KillPlan::When::kBefore ? " before" : " after"));
        auto now = reread(c.id);
        if (now.open) {
          EXPECT_EQ(local("doc.txt"), "L");
          EXPECT_EQ(remote("doc.txt"), "R");
          EXPECT_TRUE(stashes(cache_).empty());
          EXPECT_TRUE(stashes(remote_root_).empty());
        } else {
          EXPECT_EQ(local("doc.txt"), result);
          EXPECT_EQ(remote("doc.txt"), result);
          EXPECT_EQ(stashes(cache_).size(), kind == Resolution::kStash ? 1u : 0u);
          EXPECT_EQ(stashes(remote_root_).size(), kind == Resolution::kStash ? 1u : 0u);
          // Not undone: it can be undone now, and then it is.
          ASSERT_OK(reconciler_->undo(c.id));
          EXPECT_EQ(local("doc.txt"), "L");
          EXPECT_EQ(remote("doc.txt"), "R");
        }
        auto intents = journal_->intents(share_);
        ASSERT_TRUE(intents);
        EXPECT_TRUE(intents->empty());
        // The conflict is open and holds its path: a pass changes nothing.
        sync();
        EXPECT_EQ(local("doc.txt"), "L");
        EXPECT_EQ(remote("doc.txt"), "R");
        EXPECT_TRUE(reread(c.id).open);
        if (!killed) finished = true;
      }
      if (finished) break;
      ASSERT_LT(at, 20u) << "undo never finished";
    }
  }
  EXPECT_GE(kills, 6u);
}

TEST_F(ApplyTest, UndoOfAStashRemovesTheCopyOnBothSidesAndReopens) {
  auto c = contentConflict();
  ConflictDecision d{Resolution::kStash, -1, "stash (rule 3)", "stash", "3"};
  ASSERT_OK(reconciler_->apply(c.id, d));
  ASSERT_EQ(stashes(cache_).size(), 1u);
  ASSERT_OK(reconciler_->undo(c.id));
  EXPECT_EQ(local("doc.txt"), "L");
  EXPECT_EQ(remote("doc.txt"), "R");
  EXPECT_TRUE(stashes(cache_).empty());
  EXPECT_TRUE(stashes(remote_root_).empty());
  auto again = reread(c.id);
  EXPECT_TRUE(again.open);
  EXPECT_EQ(again.local_object, c.local_object);
  EXPECT_EQ(again.remote_object, c.remote_object);
  auto h = journal_->resolutions(share_);
  ASSERT_TRUE(h);
  ASSERT_EQ(h->size(), 1u);
  EXPECT_NE((*h)[0].undone_at_ns, 0);
  EXPECT_EQ((*h)[0].label, "stash (rule 3)");
  EXPECT_EQ((*h)[0].rule, "3");
  EXPECT_EQ((*h)[0].stash_object, hashBytes("L"));
  EXPECT_EQ((*h)[0].result_object, hashBytes("R"));
  // A second undo has nothing to take back; deciding again works.
  auto twice = reconciler_->undo(c.id);
  ASSERT_FALSE(twice);
  EXPECT_EQ(twice.error().code(), ErrorCode::kNotFound);
  ASSERT_OK(reconciler_->resolve(c.id, Resolution::kKeepLocal));
  EXPECT_EQ(remote("doc.txt"), "L");
  EXPECT_TRUE(sync().clean());
  expectConverged();
}

// A symlink whose target each side changed: keep-local makes the remote's
// link point where the cache's does, and undo puts each side's target back
// (the history records the result's target, not an empty one).
TEST_F(ApplyTest, UndoOfAKeepLocalOnASymlinkPutsEachSidesTargetBack) {
  seed({{"dir-x.txt", "sibling"}});
  ASSERT_EQ(::symlink("dir-x.txt", (cache_ + "/link").c_str()), 0);
  ASSERT_TRUE(sync().clean());
  ASSERT_EQ(fs::read_symlink(remote_root_ + "/link"), "dir-x.txt");
  fs::remove(cache_ + "/link");
  ASSERT_EQ(::symlink("mine/target", (cache_ + "/link").c_str()), 0);
  fs::remove(remote_root_ + "/link");
  ASSERT_EQ(::symlink("theirs/target", (remote_root_ + "/link").c_str()), 0);
  sync();
  auto open = openConflicts();
  ASSERT_EQ(open.size(), 1u);
  ASSERT_OK(reconciler_->resolve(open[0].id, Resolution::kKeepLocal));
  EXPECT_EQ(fs::read_symlink(remote_root_ + "/link"), "mine/target");
  ASSERT_OK(reconciler_->undo(open[0].id));
  EXPECT_EQ(fs::read_symlink(cache_ + "/link"), "mine/target");
  EXPECT_EQ(fs::read_symlink(remote_root_ + "/link"), "theirs/target");
  EXPECT_TRUE(reread(open[0].id).open);
}

TEST_F(ApplyTest, UndoRefusesWhenASideChangedSinceTheResolution) {
  auto c = contentConflict();
  ASSERT_OK(reconciler_->resolve(c.id, Resolution::kKeepRemote));
  local("doc.txt", "the user typed on after the resolution");
  auto done = reconciler_->undo(c.id);
  ASSERT_FALSE(done);
  EXPECT_EQ(done.error().code(), ErrorCode::kConflict);
  EXPECT_NE(done.error().message().find("doc.txt changed in the cache since resolution"),
            std::string::npos)
      << done.error().toString();
  EXPECT_EQ(local("doc.txt"), "the user typed on after the resolution");
  EXPECT_EQ(remote("doc.txt"), "R");
  EXPECT_FALSE(reread(c.id).open);
  auto intents = journal_->intents(share_);
  ASSERT_TRUE(intents);
  EXPECT_TRUE(intents->empty());
}

// The versions a resolution names stay in the store through retention's
// collection for as long as the row, so an undo still finds them.
TEST_F(ApplyTest, TheHistoryKeepsItsVersionsThroughStoreCollection) {
  auto c = contentConflict();
  ASSERT_OK(reconciler_->resolve(c.id, Resolution::kKeepRemote));
  auto kept = journal_->object(hashBytes("L"));
  ASSERT_TRUE(kept && *kept);
  EXPECT_GE((*kept)->refcount, 2);  // the conflict's local version and the history's
  auto r = sync();  // the pass ends with retention and store collection
  EXPECT_TRUE(r.clean());
  ASSERT_OK(reconciler_->undo(c.id));
  EXPECT_EQ(local("doc.txt"), "L");
  EXPECT_EQ(remote("doc.txt"), "R");
}

}  // namespace
}  // namespace hoard::sync
