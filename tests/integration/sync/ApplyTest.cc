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

#include <gtest/gtest.h>

#include "integration/sync/KillingFs.h"
#include "integration/sync/ReconcilerFixture.h"
#include "sync/ConflictDetail.h"

namespace hoard::sync {
namespace {

namespace fs = std::filesystem;

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
  ASSERT_TRUE(reconciler_->resolve(c.id, Resolution::kKeepLocal));
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
  ASSERT_TRUE(reconciler_->resolve(c.id, Resolution::kKeepLocal));
  EXPECT_EQ(remote("doc.txt"), "L");
}

TEST_F(ApplyTest, AMergedResultReachesBothSidesAndBecomesTheBase) {
  auto c = contentConflict();
  UniqueFd merged = bytesFd("L and R, merged");
  ASSERT_TRUE(reconciler_->apply(c.id, ConflictDecision{Resolution::kMerged, merged.get(),
                                                        "git-merge (rule 1)"}));
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
  ASSERT_TRUE(reconciler_->resolve(c.id, Resolution::kStash));
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
  ASSERT_TRUE(reconciler_->resolve(c.id, Resolution::kKeepLocal));
  EXPECT_EQ(remote("doc.txt"), "L");
}

// A child applies the decision through KillingFs and is killed at its n-th
// mutating call; the parent then recovers and checks the invariant.
class ApplyCrashTest : public ApplyTest {
 protected:
  // True if the child was killed (false: it finished on its own).
  bool killDuringApply(int64_t id, ConflictDecision decision, const std::string& merged,
                       KillPlan plan) {
    std::fflush(nullptr);
    pid_t pid = ::fork();
    if (pid == 0) {
      uint64_t counter = 0;
      KillingFs l(*local_fs_, plan, counter), r(*remote_fs_, plan, counter);
      Reconciler rec(ShareSides{*journal_, mu_, share_, l, r, cache_, *store_,
                                store::KeepPolicy{}, "laptop", nullptr, nullptr});
      UniqueFd fd;
      if (decision.kind == Resolution::kMerged) {
        fd = bytesFd(merged);
        decision.merged_fd = fd.get();
      }
      _exit(rec.apply(id, decision) ? 0 : 3);
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
};

TEST_F(ApplyCrashTest, KilledAtEveryStepTheConflictIsOpenAsDetectedOrResolvedAndEqual) {
  struct Case {
    Resolution kind;
    std::string result;  // at doc.txt afterwards
  };
  size_t kills = 0;
  for (const Case& k : {Case{Resolution::kKeepLocal, "L"}, Case{Resolution::kKeepRemote, "R"},
                        Case{Resolution::kStash, "R"}, Case{Resolution::kMerged, "M"}}) {
    for (uint64_t at = 1;; ++at) {
      bool finished = false;
      for (auto when : {KillPlan::When::kBefore, KillPlan::When::kAfter}) {
        TearDown();
        SetUp();
        auto c = contentConflict();
        ASSERT_TRUE(c.open);
        bool killed = killDuringApply(c.id, ConflictDecision{k.kind, -1, {}}, "M",
                                      KillPlan{at, when});
        kills += killed;
        // The next start: the journal is reopened and recover() runs.
        journal_.reset();
        auto j = journal::Journal::open(dir_ + "/journal.db");
        ASSERT_TRUE(j) << j.error().toString();
        journal_ = std::move(*j);
        reconciler_ = std::make_unique<Reconciler>(ShareSides{
            *journal_, mu_, share_, *local_fs_, *remote_fs_, cache_, *store_,
            store::KeepPolicy{}, "laptop", nullptr, nullptr});
        ASSERT_TRUE(reconciler_->recover());
        auto now = reread(c.id);
        SCOPED_TRACE(std::string(resolutionName(k.kind)) + " killed at op " +
                     std::to_string(at) + (when == KillPlan::When::kBefore ? " before" : " after"));
        if (now.open) {
          EXPECT_EQ(local("doc.txt"), "L");
          EXPECT_EQ(remote("doc.txt"), "R");
        } else {
          EXPECT_EQ(local("doc.txt"), k.result);
          EXPECT_EQ(remote("doc.txt"), k.result);
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
}

}  // namespace
}  // namespace hoard::sync
