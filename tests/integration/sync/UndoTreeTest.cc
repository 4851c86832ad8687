// SPDX-License-Identifier: MIT
// Issue 11: the undo of decisions on folders (dir-delete in both directions,
// a file against a folder), on real folders. Both sides get back every entry
// they held beneath the path before the resolution, with its bytes, mode and
// user.* xattrs, the stash copy goes from both sides and the conflict opens
// again; siblings named d-x and d.bak are never touched. A side changed
// since, or a version the store no longer holds, refuses the undo before
// anything is touched. Killed at every step of an undo, the next start
// (recover()) finishes it or leaves the resolution standing: never half.

#include <sys/wait.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <filesystem>
#include <cstring>
#include <fstream>
#include <functional>
#include <sstream>

#include <gtest/gtest.h>

#include "integration/sync/KillingFs.h"
#include "integration/sync/ReconcilerFixture.h"

namespace hoard::sync {
namespace {

namespace fs = std::filesystem;

#define ASSERT_OK(expr)                         \
  do {                                          \
    Status ok_ = (expr);                        \
    ASSERT_TRUE(ok_) << ok_.error().toString(); \
  } while (0)

// Every entry beneath a root: its bytes (or <dir>, or the link's target),
// its mode and its user.* xattrs, as one line each.
using Tree = std::map<std::string, std::string>;

std::string xattrsOf(const std::string& abs) {
  char names[4096];
  ssize_t n = ::llistxattr(abs.c_str(), names, sizeof names);
  std::string out;
  for (ssize_t i = 0; i < n; i += std::strlen(names + i) + 1) {
    std::string name(names + i);
    if (name.rfind("user.", 0) != 0) continue;
    char v[4096];
    ssize_t m = ::lgetxattr(abs.c_str(), name.c_str(), v, sizeof v);
    out += " " + name + "=" + std::string(v, m > 0 ? m : 0);
  }
  return out;
}

std::string bytesOf(const std::string& abs) {
  std::ifstream in(abs, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Tree treeOf(const std::string& root) {
  Tree t;
  for (auto& e : fs::recursive_directory_iterator(root)) {
    std::string rel = fs::relative(e.path(), root);
    if (rel.rfind(".hoard", 0) == 0) continue;
    auto st = fs::symlink_status(e.path());
    std::string what = fs::is_symlink(st) ? "-> " + fs::read_symlink(e.path()).string()
                       : fs::is_directory(st)
                           ? "<dir>"
                           : bytesOf(e.path().string());
    char mode[16];
    std::snprintf(mode, sizeof mode, " %04o", static_cast<unsigned>(st.permissions()));
    t[rel] = what + (fs::is_symlink(st) ? "" : mode + xattrsOf(e.path()));
  }
  return t;
}

class UndoTreeTest : public ReconcilerTest {
 protected:
  void SetUp() override {
    ReconcilerTest::SetUp();
    if (HasFatalFailure()) return;
    std::string probe = remote_root_ + "/.probe";
    put(probe, "");
    xattrs_ = ::setxattr(probe.c_str(), "user.probe", "1", 1, 0) == 0;
    fs::remove(probe);
  }
  // Sets user.* xattr `name` on the cache's and the remote's `rel` (where
  // the filesystem keeps them).
  void tag(const std::string& abs, const std::string& name, const std::string& v) {
    if (!xattrs_) return;
    ASSERT_EQ(::setxattr(abs.c_str(), name.c_str(), v.data(), v.size(), 0), 0) << abs;
  }
  // The folder d with siblings d-x/ and d.bak; the cache deletes d (or, with
  // `remote_deletes`, the remote does) while the other side adds to it and
  // changes a mode and an xattr beneath it.
  journal::ConflictRecord dirDelete(bool remote_deletes) {
    seed({{"d/old.txt", "old\n"}, {"d/sub/deep.txt", "deep\n"}, {"d-x/a.txt", "sibling\n"},
          {"d.bak", "sibling file\n"}});
    const std::string& keeper = remote_deletes ? cache_ : remote_root_;
    const std::string& deleter = remote_deletes ? remote_root_ : cache_;
    fs::remove_all(deleter + "/d");
    put(keeper + "/d/new.txt", "new\n");
    fs::permissions(keeper + "/d/old.txt", fs::perms(0600));
    tag(keeper + "/d/new.txt", "user.note", "added by the colleague");
    sync();
    auto open = openConflicts();
    EXPECT_EQ(open.size(), 1u);
    if (open.empty()) return {};
    EXPECT_EQ(open[0].kind, journal::ConflictKind::kDirDelete);
    return open[0];
  }
  // The cache made `t` a folder, the remote edited the file.
  journal::ConflictRecord typeConflict() {
    seed({{"t", "base\n"}, {"t-x", "sibling\n"}, {"t.bak/in", "sibling dir\n"}});
    fs::remove(cache_ + "/t");
    local("t/inside.txt", "mine\n");
    fs::permissions(cache_ + "/t/inside.txt", fs::perms(0640));
    remote("t", "theirs\n");
    fs::permissions(remote_root_ + "/t", fs::perms(0755));
    tag(remote_root_ + "/t", "user.note", "the colleague's");
    sync();
    auto open = openConflicts();
    EXPECT_EQ(open.size(), 1u);
    if (open.empty()) return {};
    EXPECT_EQ(open[0].kind, journal::ConflictKind::kType);
    return open[0];
  }
  bool isOpen(int64_t id) {
    auto c = journal_->conflict(id);
    return c && c->open;
  }
  bool noIntents() {
    auto i = journal_->intents(share_);
    return i && i->empty();
  }
  // A child undoes through KillingFs and is killed at its n-th mutating
  // call; true if it was killed.
  bool killDuringUndo(int64_t id, KillPlan plan) {
    std::fflush(nullptr);
    pid_t pid = ::fork();
    if (pid == 0) {
      uint64_t counter = 0;
      KillingFs l(*local_fs_, plan, counter), r(*remote_fs_, plan, counter);
      Reconciler rec(ShareSides{*journal_, mu_, share_, l, r, cache_, *store_,
                                store::KeepPolicy{}, "laptop", nullptr, nullptr});
      _exit(rec.undo(id) ? 0 : 3);
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

  bool xattrs_ = false;
};

TEST_F(UndoTreeTest, EveryDecisionOnAFolderIsUndoneOnBothSides) {
  struct Case {
    bool remote_deletes;
    Resolution kind;
  };
  for (const Case& k : {Case{false, Resolution::kKeepRemote}, Case{false, Resolution::kKeepLocal},
                        Case{false, Resolution::kDelete}, Case{false, Resolution::kStash},
                        Case{true, Resolution::kKeepLocal}, Case{true, Resolution::kKeepRemote},
                        Case{true, Resolution::kDelete}}) {
    TearDown();
    SetUp();
    SCOPED_TRACE(std::string(resolutionName(k.kind)) +
                 (k.remote_deletes ? ", the remote deleted d" : ", the cache deleted d"));
    auto c = dirDelete(k.remote_deletes);
    const Tree cache_before = treeOf(cache_), remote_before = treeOf(remote_root_);
    ASSERT_OK(reconciler_->resolve(c.id, k.kind));
    ASSERT_FALSE(isOpen(c.id));
    expectConverged();
    ASSERT_OK(reconciler_->undo(c.id));
    EXPECT_EQ(treeOf(cache_), cache_before);
    EXPECT_EQ(treeOf(remote_root_), remote_before);
    EXPECT_TRUE(isOpen(c.id));
    EXPECT_TRUE(noIntents());
    // The open conflict holds d: a pass changes nothing.
    sync();
    EXPECT_EQ(treeOf(cache_), cache_before);
    EXPECT_EQ(treeOf(remote_root_), remote_before);
    // Decided again, on what is there: it applies at once.
    ASSERT_OK(reconciler_->resolve(c.id, k.kind));
    expectConverged();
    EXPECT_TRUE(sync().clean());
  }
}

TEST_F(UndoTreeTest, AFileAgainstAFolderIsUndoneWhicheverWon) {
  for (Resolution kind : {Resolution::kKeepLocal, Resolution::kKeepRemote, Resolution::kStash}) {
    TearDown();
    SetUp();
    SCOPED_TRACE(resolutionName(kind));
    auto c = typeConflict();
    const Tree cache_before = treeOf(cache_), remote_before = treeOf(remote_root_);
    ASSERT_OK(reconciler_->resolve(c.id, kind));
    ASSERT_OK(reconciler_->undo(c.id));
    EXPECT_EQ(treeOf(cache_), cache_before);
    EXPECT_EQ(treeOf(remote_root_), remote_before);
    EXPECT_TRUE(isOpen(c.id));
    ASSERT_OK(reconciler_->resolve(c.id, kind));
    expectConverged();
  }
}

TEST_F(UndoTreeTest, AnEntryChangedSinceTheResolutionRefusesItAndNothingIsTouched) {
  auto c = dirDelete(false);
  ASSERT_OK(reconciler_->resolve(c.id, Resolution::kKeepRemote));
  local("d/sub/later.txt", "written after the resolution\n");
  const Tree cache_now = treeOf(cache_), remote_now = treeOf(remote_root_);
  auto done = reconciler_->undo(c.id);
  ASSERT_FALSE(done);
  EXPECT_EQ(done.error().code(), ErrorCode::kConflict);
  EXPECT_NE(done.error().message().find("d/sub/later.txt changed in the cache since resolution"),
            std::string::npos)
      << done.error().toString();
  EXPECT_EQ(treeOf(cache_), cache_now);
  EXPECT_EQ(treeOf(remote_root_), remote_now);
  EXPECT_FALSE(isOpen(c.id));
  EXPECT_TRUE(noIntents());
}

TEST_F(UndoTreeTest, AVersionTheStoreNoLongerHoldsRefusesItUpFront) {
  auto c = dirDelete(false);
  ASSERT_OK(reconciler_->resolve(c.id, Resolution::kKeepLocal));  // the remote's d moves aside
  auto gone = store_->remove(hashBytes("deep\n"));
  ASSERT_TRUE(gone && *gone);
  const Tree cache_now = treeOf(cache_), remote_now = treeOf(remote_root_);
  auto done = reconciler_->undo(c.id);
  ASSERT_FALSE(done);
  EXPECT_EQ(done.error().code(), ErrorCode::kUnsupported);
  EXPECT_NE(done.error().message().find("d/sub/deep.txt as it was before is no longer kept"),
            std::string::npos)
      << done.error().toString();
  EXPECT_EQ(treeOf(cache_), cache_now);
  EXPECT_EQ(treeOf(remote_root_), remote_now);
  EXPECT_FALSE(isOpen(c.id));
}

TEST_F(UndoTreeTest, TheHistoryKeepsTheFolderTreesThroughStoreCollection) {
  auto c = dirDelete(false);
  ASSERT_OK(reconciler_->resolve(c.id, Resolution::kKeepLocal));
  auto kept = journal_->object(hashBytes("new\n"));
  ASSERT_TRUE(kept && *kept);
  EXPECT_GE((*kept)->refcount, 1);
  EXPECT_TRUE(sync().clean());  // retention and store collection run
  ASSERT_OK(reconciler_->undo(c.id));
  EXPECT_EQ(remote("d/new.txt"), "new\n");
  EXPECT_EQ(remote("d/sub/deep.txt"), "deep\n");
  EXPECT_FALSE(localExists("d"));
}

// Killed at every mutating step of the undo of a dir-delete decided for
// the colleague's folder, and of a stash of a file against a folder: after
// the restart either the resolution stands (both sides as it left them; it
// can be undone then) or the conflict is open with both sides as before.
TEST_F(UndoTreeTest, KilledAtEveryStepOfAFolderUndoRecoverFinishesItOrItStands) {
  size_t kills = 0, finished_by_recover = 0;
  for (int which = 0; which < 2; ++which) {
    for (uint64_t at = 1;; ++at) {
      bool finished = false;
      for (auto when : {KillPlan::When::kBefore, KillPlan::When::kAfter}) {
        TearDown();
        SetUp();
        auto c = which == 0 ? dirDelete(false) : typeConflict();
        const Tree cache_before = treeOf(cache_), remote_before = treeOf(remote_root_);
        ASSERT_OK(reconciler_->resolve(c.id, which == 0 ? Resolution::kKeepRemote
                                                        : Resolution::kStash));
        const Tree cache_after = treeOf(cache_), remote_after = treeOf(remote_root_);
        bool killed = killDuringUndo(c.id, KillPlan{at, when});
        kills += killed;
        restart();
        if (HasFatalFailure()) return;
        SCOPED_TRACE(std::string(which == 0 ? "dir-delete" : "type") + " undo killed at op " +
                     std::to_string(at) + (when == KillPlan::When::kBefore ? " before" : " after"));
        if (isOpen(c.id)) {
          EXPECT_EQ(treeOf(cache_), cache_before);
          EXPECT_EQ(treeOf(remote_root_), remote_before);
          finished_by_recover += killed;
        } else {
          EXPECT_EQ(treeOf(cache_), cache_after);
          EXPECT_EQ(treeOf(remote_root_), remote_after);
          ASSERT_OK(reconciler_->undo(c.id));
          EXPECT_EQ(treeOf(cache_), cache_before);
          EXPECT_EQ(treeOf(remote_root_), remote_before);
        }
        EXPECT_TRUE(noIntents());
        sync();
        EXPECT_EQ(treeOf(cache_), cache_before);
        EXPECT_EQ(treeOf(remote_root_), remote_before);
        if (!killed) finished = true;
      }
      if (finished) break;
      ASSERT_LT(at, 60u) << "undo never finished";
    }
  }
  EXPECT_GE(kills, 8u);
  EXPECT_GE(finished_by_recover, 4u);  // cut after it began: recover() finished it
}

}  // namespace
}  // namespace hoard::sync
