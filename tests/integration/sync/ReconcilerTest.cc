// SPDX-License-Identifier: MIT
// The reintegration pass on real folders: a cache root and a "remote" root
// (a local folder standing in for the mounted share), real SQLite, the real
// base store. Each test checks what a user would: the bytes on both sides,
// the journal's conflict records, that nothing was lost.

#include "sync/Reconciler.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "integration/sync/ReconcilerFixture.h"
#include "remote/DataVersion.h"
#include "remote/PosixRemoteFs.h"

namespace hoard::sync {
namespace {

namespace fs = std::filesystem;

TEST_F(ReconcilerTest, FirstPassPreloadsTheRemoteAndASecondPassDoesNothing) {
  seed({{"a.txt", "alpha"}, {"dir/b.txt", "beta"}, {"dir/sub/c.bin", std::string("\0\1", 2)}});
  ASSERT_EQ(symlink("dir/b.txt", (remote_root_ + "/link").c_str()), 0);
  sync();
  EXPECT_EQ(fs::read_symlink(cache_ + "/link"), "dir/b.txt");
  auto again = sync();
  EXPECT_EQ(again.pushed + again.pulled + again.agreed + again.deleted_local +
                again.deleted_remote,
            0u);
  expectConverged();
  auto base = journal_->getBase(share_, "dir/b.txt");
  ASSERT_TRUE(base && *base);
  EXPECT_EQ((*base)->hash, hashBytes("beta"));
}

TEST_F(ReconcilerTest, APassSaysHowLongEachPhaseTook) {
  seed({{"a.txt", "alpha"}});
  auto r = sync();
  std::vector<std::string> names;
  for (const auto& [name, ms] : r.phase_ms) {
    names.push_back(name);
    EXPECT_GE(ms, 0) << name;
  }
  EXPECT_EQ(names, (std::vector<std::string>{"check", "intents", "list", "renames", "plan",
                                             "apply", "hoard"}));
}

TEST_F(ReconcilerTest, LocalChangePushes) {
  seed({{"notes.txt", "v1"}});
  local("notes.txt", "v2 edited offline");
  local("new/deep/file.txt", "created offline");
  auto r = sync();
  EXPECT_EQ(remote("notes.txt"), "v2 edited offline");
  EXPECT_EQ(remote("new/deep/file.txt"), "created offline");
  EXPECT_TRUE(r.new_conflicts.empty());
  expectConverged();
}

TEST_F(ReconcilerTest, RemoteChangePulls) {
  seed({{"notes.txt", "v1"}, {"old.txt", "o"}});
  remote("notes.txt", "third party wrote this");
  remote("theirs.txt", "a new file on the server");
  fs::remove(remote_root_ + "/old.txt");
  sync();
  EXPECT_EQ(local("notes.txt"), "third party wrote this");
  EXPECT_EQ(local("theirs.txt"), "a new file on the server");
  EXPECT_FALSE(localExists("old.txt"));
  expectConverged();
}

TEST_F(ReconcilerTest, LocalDeletePushesTheDelete) {
  seed({{"a.txt", "a"}, {"d/b.txt", "b"}, {"keep.txt", "k"}, {"keep2.txt", "k"}});
  fs::remove(cache_ + "/a.txt");
  fs::remove_all(cache_ + "/d");
  sync();
  EXPECT_FALSE(remoteExists("a.txt"));
  EXPECT_FALSE(remoteExists("d"));
  expectConverged();
}

TEST_F(ReconcilerTest, BothChangedToTheSameContentIsNoConflict) {
  seed({{"same.txt", "v1"}});
  local("same.txt", "fixed the same typo");
  remote("same.txt", "fixed the same typo");
  auto r = sync();
  EXPECT_TRUE(r.new_conflicts.empty());
  EXPECT_EQ(r.agreed, 1u);
  EXPECT_TRUE(openConflicts().empty());
  auto base = journal_->getBase(share_, "same.txt");
  ASSERT_TRUE(base && *base);
  EXPECT_EQ((*base)->hash, hashBytes("fixed the same typo"));
}

TEST_F(ReconcilerTest, ContentConflictHoldsOnlyItsPath) {
  seed({{"report.txt", "base"}, {"other.txt", "o1"}});
  local("report.txt", "mine");
  remote("report.txt", "theirs");
  local("other.txt", "o2");  // unrelated work goes on
  auto r = sync();
  ASSERT_EQ(r.new_conflicts.size(), 1u);
  auto open = openConflicts();
  ASSERT_EQ(open.size(), 1u);
  EXPECT_EQ(open[0].path, "report.txt");
  EXPECT_EQ(open[0].kind, journal::ConflictKind::kContent);
  EXPECT_TRUE(open[0].local_object && open[0].remote_object && open[0].base_object);
  // Until resolved, the local version stays and the remote is untouched.
  EXPECT_EQ(local("report.txt"), "mine");
  EXPECT_EQ(remote("report.txt"), "theirs");
  EXPECT_EQ(remote("other.txt"), "o2");
  // A second pass leaves it waiting and does not record it twice.
  auto again = sync();
  EXPECT_TRUE(again.new_conflicts.empty());
  EXPECT_EQ(again.waiting, 1u);
  EXPECT_EQ(openConflicts().size(), 1u);
}

struct KindCase {
  const char* name;
  std::function<void(ReconcilerTest*)> make;
  journal::ConflictKind kind;
  const char* path;
};

TEST_F(ReconcilerTest, EveryConflictKind) {
  seed({{"content.txt", "b"}, {"md.txt", "b"}, {"dm.txt", "b"}, {"type.txt", "b"},
        {"meta.txt", "b"}, {"dd/keep.txt", "b"}, {"filler1", "f"}, {"filler2", "f"},
        {"filler3", "f"}, {"filler4", "f"}});
  // content
  local("content.txt", "L");
  remote("content.txt", "R");
  // modify-delete: local modified, remote deleted
  local("md.txt", "L");
  fs::remove(remote_root_ + "/md.txt");
  // delete-modify: local deleted, remote modified
  fs::remove(cache_ + "/dm.txt");
  remote("dm.txt", "R");
  // create-create
  local("cc.txt", "L");
  remote("cc.txt", "R");
  // type: local made it a directory, remote edited the file
  fs::remove(cache_ + "/type.txt");
  local("type.txt/inside", "x");
  remote("type.txt", "R");
  // metadata: both chmod differently
  fs::permissions(cache_ + "/meta.txt", fs::perms(0600));
  fs::permissions(remote_root_ + "/meta.txt", fs::perms(0640));
  // dir-delete: local removed a directory the remote added to
  fs::remove_all(cache_ + "/dd");
  remote("dd/added.txt", "R");

  auto r = sync();
  std::map<std::string, journal::ConflictKind> got;
  for (auto& c : openConflicts()) got[c.path] = c.kind;
  using K = journal::ConflictKind;
  std::map<std::string, journal::ConflictKind> want = {
      {"content.txt", K::kContent}, {"md.txt", K::kModifyDelete}, {"dm.txt", K::kDeleteModify},
      {"cc.txt", K::kCreateCreate}, {"type.txt", K::kType},       {"meta.txt", K::kMetadata},
      {"dd", K::kDirDelete}};
  EXPECT_EQ(got, want);
  // Nothing was lost on either side.
  EXPECT_EQ(local("content.txt"), "L");
  EXPECT_EQ(remote("content.txt"), "R");
  EXPECT_EQ(local("md.txt"), "L");
  EXPECT_EQ(remote("dm.txt"), "R");
  EXPECT_EQ(local("cc.txt"), "L");
  EXPECT_EQ(remote("cc.txt"), "R");
  EXPECT_EQ(local("type.txt/inside"), "x");
  EXPECT_EQ(remote("type.txt"), "R");
  EXPECT_EQ(remote("dd/added.txt"), "R");
  EXPECT_EQ(remote("dd/keep.txt"), "b");
}

TEST_F(ReconcilerTest, EditOnOneSideChmodOnTheOtherBothApply) {
  seed({{"script.sh", "echo 1"}});
  local("script.sh", "echo 2");
  fs::permissions(remote_root_ + "/script.sh", fs::perms(0755));
  auto r = sync();
  EXPECT_TRUE(r.new_conflicts.empty());
  EXPECT_EQ(remote("script.sh"), "echo 2");
  struct stat l, rs;
  ASSERT_EQ(stat((cache_ + "/script.sh").c_str(), &l), 0);
  ASSERT_EQ(stat((remote_root_ + "/script.sh").c_str(), &rs), 0);
  EXPECT_EQ(l.st_mode & 07777, 0755u);
  EXPECT_EQ(rs.st_mode & 07777, 0755u);
}

TEST_F(ReconcilerTest, LocalRenameReplaysAsARenameAndKeepsARemoteEdit) {
  seed({{"draft.txt", "v1"}, {"dir/a.txt", "a"}, {"x", "x"}, {"y", "y"}});
  struct stat before;
  ASSERT_EQ(stat((remote_root_ + "/draft.txt").c_str(), &before), 0);
  fs::rename(cache_ + "/draft.txt", cache_ + "/final.txt");
  fs::rename(cache_ + "/dir", cache_ + "/renamed-dir");
  logged({{ChangeOp::kRename, "draft.txt", "final.txt", 0, ""},
          {ChangeOp::kRename, "dir", "renamed-dir", 0, ""}});
  remote("draft.txt", "v2 by a colleague");  // modified on the other side
  auto r = sync();
  EXPECT_TRUE(r.new_conflicts.empty());
  EXPECT_EQ(r.renamed_remote, 2u);
  EXPECT_FALSE(remoteExists("draft.txt"));
  EXPECT_EQ(remote("final.txt"), "v2 by a colleague");
  EXPECT_EQ(local("final.txt"), "v2 by a colleague");  // both applied
  EXPECT_EQ(remote("renamed-dir/a.txt"), "a");
  struct stat after;
  ASSERT_EQ(stat((remote_root_ + "/final.txt").c_str(), &after), 0);
  EXPECT_EQ(after.st_ino, before.st_ino) << "the rename stayed a rename on the remote";
  expectConverged();
}

TEST_F(ReconcilerTest, AnEmptiedRemoteDoesNotEmptyTheCache) {
  seed({{"a", "1"}, {"b", "2"}, {"c", "3"}, {"d", "4"}, {"e/f", "5"}});
  // The share's filesystem went away, leaving the empty mountpoint.
  for (auto& e : fs::directory_iterator(remote_root_)) fs::remove_all(e.path());
  auto r = sync();
  ASSERT_TRUE(r.stopped);
  EXPECT_EQ(r.stopped->code(), ErrorCode::kAborted);
  EXPECT_NE(r.stopped->message().find("would delete 5 of 5 files in the cache"),
            std::string::npos)
      << r.stopped->message();
  EXPECT_EQ(local("a"), "1");
  EXPECT_EQ(local("e/f"), "5");
  // The user says yes: then it happens.
  ReconcileOptions yes;
  yes.confirm_mass_delete = true;
  auto confirmed = sync(yes);
  EXPECT_FALSE(confirmed.stopped);
  EXPECT_FALSE(localExists("a"));
}

TEST_F(ReconcilerTest, ResolveKeepLocal) {
  seed({{"r.txt", "base"}});
  local("r.txt", "mine");
  remote("r.txt", "theirs");
  auto r = sync();
  ASSERT_EQ(r.new_conflicts.size(), 1u);
  { auto st = reconciler_->resolve(r.new_conflicts[0], Resolution::kKeepLocal); ASSERT_TRUE(st) << st.error().toString(); }
  EXPECT_EQ(remote("r.txt"), "mine");
  EXPECT_EQ(local("r.txt"), "mine");
  EXPECT_TRUE(openConflicts().empty());
  auto c = journal_->conflict(r.new_conflicts[0]);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->resolution, "keep-local");
  auto after = sync();
  EXPECT_TRUE(after.clean());
  EXPECT_EQ(after.pushed + after.pulled, 0u);
}

TEST_F(ReconcilerTest, ResolveKeepRemote) {
  seed({{"r.txt", "base"}});
  local("r.txt", "mine");
  remote("r.txt", "theirs");
  auto r = sync();
  ASSERT_EQ(r.new_conflicts.size(), 1u);
  { auto st = reconciler_->resolve(r.new_conflicts[0], Resolution::kKeepRemote); ASSERT_TRUE(st) << st.error().toString(); }
  EXPECT_EQ(local("r.txt"), "theirs");
  EXPECT_EQ(remote("r.txt"), "theirs");
  EXPECT_TRUE(sync().clean());
}

TEST_F(ReconcilerTest, ResolveStashKeepsBothOnBothSides) {
  seed({{"paper.tex", "base"}});
  local("paper.tex", "mine");
  remote("paper.tex", "theirs");
  auto r = sync();
  ASSERT_EQ(r.new_conflicts.size(), 1u);
  { auto st = reconciler_->resolve(r.new_conflicts[0], Resolution::kStash); ASSERT_TRUE(st) << st.error().toString(); }
  EXPECT_EQ(local("paper.tex"), "theirs");
  EXPECT_EQ(remote("paper.tex"), "theirs");
  std::string stashed;
  for (auto& e : fs::directory_iterator(cache_)) {
    std::string n = e.path().filename();
    if (n.rfind("paper.conflict-laptop-", 0) == 0 && n.size() > 4 &&
        n.substr(n.size() - 4) == ".tex")
      stashed = n;
  }
  ASSERT_FALSE(stashed.empty()) << "no stashed copy beside paper.tex";
  EXPECT_EQ(local(stashed), "mine");
  EXPECT_EQ(remote(stashed), "mine");
  expectConverged();
  EXPECT_TRUE(sync().clean());
}

TEST_F(ReconcilerTest, ResolveModifyDeleteWithKeepLocalRestoresTheFile) {
  seed({{"md.txt", "base"}, {"o1", "1"}, {"o2", "2"}, {"o3", "3"}});
  local("md.txt", "still needed");
  fs::remove(remote_root_ + "/md.txt");
  auto r = sync();
  ASSERT_EQ(r.new_conflicts.size(), 1u);
  { auto st = reconciler_->resolve(r.new_conflicts[0], Resolution::kKeepLocal); ASSERT_TRUE(st) << st.error().toString(); }
  EXPECT_EQ(remote("md.txt"), "still needed");
  expectConverged();
}

TEST_F(ReconcilerTest, HostileNamesSync) {
  std::string odd = std::string("caf\xe9\nmenu") + ".txt";
  std::string longname(255, 'n');
  seed({{"plain", "p"}});
  local(odd, "odd bytes");
  remote(longname, "long name");
  sync();
  EXPECT_EQ(remote(odd), "odd bytes");
  EXPECT_EQ(local(longname), "long name");
  expectConverged();
}

TEST_F(ReconcilerTest, ACacheFileEditedDuringThePullIsNotClobbered) {
  // The CAS on the cache side: a pull decided against one version of the
  // cache file must not replace a newer one. Simulated by editing the cache
  // file after the remote edit but before the pass: that is a conflict, and
  // the user's bytes stay.
  seed({{"f.txt", "base"}});
  remote("f.txt", "theirs");
  local("f.txt", "mine, typed just now");
  auto r = sync();
  EXPECT_EQ(local("f.txt"), "mine, typed just now");
  EXPECT_EQ(r.new_conflicts.size(), 1u);
}

TEST_F(ReconcilerTest, RecoverRecognisesOurOwnWriteAfterACrash) {
  seed({{"doc.txt", "v1"}});
  // A crash after the remote got our bytes but before the base said so: the
  // remote holds v2 (ours), the base still says v1, an intent says "v2".
  local("doc.txt", "v2");
  remote("doc.txt", "v2");
  journal::Intent i;
  i.share_id = share_;
  i.op = "replace";
  i.path = "doc.txt";
  i.new_hash = hashBytes("v2");
  ASSERT_TRUE(journal_->addIntent(i));
  // Then the user edits again before hoard restarts.
  local("doc.txt", "v3");
  ASSERT_TRUE(reconciler_->recover());
  EXPECT_TRUE(journal_->intents(share_)->empty());
  auto r = sync();
  EXPECT_TRUE(r.new_conflicts.empty()) << "our own earlier write is not a conflict";
  EXPECT_EQ(remote("doc.txt"), "v3");
}

TEST_F(ReconcilerTest, PinsHoardInPriorityOrderWithinTheBudget) {
  remote("important/a.txt", std::string(1000, 'a'));
  remote("important/b.txt", std::string(1000, 'b'));
  remote("nice/c.txt", std::string(1000, 'c'));
  remote("nice/d.txt", std::string(1000, 'd'));
  remote("unpinned/e.txt", "never fetched");
  ASSERT_TRUE(journal_->pin(share_, "important", 900));
  ASSERT_TRUE(journal_->pin(share_, "nice", 100));
  ReconcileOptions o;
  o.cache_budget_bytes = 3000;  // room for three of the four pinned files
  std::vector<HoardProgress> seen;
  o.progress = [&](const HoardProgress& p) { seen.push_back(p); };
  auto r = sync(o);
  EXPECT_EQ(r.hoarded, 3u);
  EXPECT_EQ(r.hoarded_bytes, 3000u);
  EXPECT_EQ(local("important/a.txt"), std::string(1000, 'a'));
  EXPECT_EQ(local("important/b.txt"), std::string(1000, 'b'));
  EXPECT_EQ(local("nice/c.txt"), std::string(1000, 'c'));
  EXPECT_FALSE(localExists("nice/d.txt"));
  EXPECT_EQ(r.not_hoarded, (std::vector<RelPath>{"nice/d.txt"}));
  EXPECT_FALSE(localExists("unpinned/e.txt"));
  EXPECT_FALSE(localExists("unpinned"));
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen.back().files_done, 3u);
  EXPECT_EQ(seen.back().files_total, 3u);
  EXPECT_EQ(seen.back().bytes_done, 3000u);
  EXPECT_EQ(seen.back().bytes_total, 3000u);
  // The remote is untouched by what the cache does not hold.
  EXPECT_EQ(remote("nice/d.txt"), std::string(1000, 'd'));
  // With more room, the next pass fetches the rest and nothing else.
  o.cache_budget_bytes = 0;
  seen.clear();
  auto more = sync(o);
  EXPECT_EQ(more.hoarded, 1u);
  EXPECT_EQ(local("nice/d.txt"), std::string(1000, 'd'));
  EXPECT_FALSE(localExists("unpinned/e.txt"));
}

TEST_F(ReconcilerTest, AHoardWalkCutShortResumesWhereItStopped) {
  for (int i = 0; i < 6; ++i) remote("f" + std::to_string(i), std::string(100, 'x'));
  ReconcileOptions o;
  o.cache_budget_bytes = 300;  // stands in for a drop after three files
  auto first = sync(o);
  EXPECT_EQ(first.hoarded, 3u);
  o.cache_budget_bytes = 0;
  auto second = sync(o);
  EXPECT_EQ(second.hoarded, 3u) << "only what was missing is fetched";
  expectConverged();
}

TEST_F(ReconcilerTest, EvictDropsCleanUnpinnedDataAndRefusesDirtyOrPinned) {
  seed({{"keep/a.txt", "a"}, {"old/b.txt", "b"}, {"old/c.txt", "c"}, {"dirty/d.txt", "d"}});
  ASSERT_TRUE(journal_->pin(share_, "keep", 500));
  auto pinned = reconciler_->evict("keep");
  ASSERT_FALSE(pinned);
  EXPECT_EQ(pinned.error().code(), ErrorCode::kBusy);
  EXPECT_NE(pinned.error().message().find("is pinned"), std::string::npos);

  local("dirty/d.txt", "edited, not yet synced");
  auto dirty = reconciler_->evict("dirty");
  ASSERT_FALSE(dirty);
  EXPECT_EQ(dirty.error().code(), ErrorCode::kBusy);
  EXPECT_NE(dirty.error().message().find("dirty/d.txt"), std::string::npos)
      << dirty.error().message();
  EXPECT_EQ(local("dirty/d.txt"), "edited, not yet synced");

  auto freed = reconciler_->evict("old");
  ASSERT_TRUE(freed) << freed.error().toString();
  EXPECT_EQ(*freed, 2u);
  EXPECT_FALSE(localExists("old"));
  EXPECT_EQ(remote("old/b.txt"), "b") << "evicting never touches the remote";
  // The next pass neither deletes it remotely nor fetches it back.
  auto r = sync();
  EXPECT_EQ(remote("old/c.txt"), "c");
  EXPECT_FALSE(localExists("old/b.txt"));
  EXPECT_EQ(remote("dirty/d.txt"), "edited, not yet synced");
}

TEST_F(ReconcilerTest, UserXattrsTravelWithTheContent) {
  seed({{"tagged.txt", "v1"}, {"theirs.txt", "t1"}});
  local("tagged.txt", "v2");
  ASSERT_EQ(setxattr((cache_ + "/tagged.txt").c_str(), "user.hoard-test", "blue", 4, 0), 0)
      << "the test filesystem must support user xattrs";
  remote("theirs.txt", "t2");
  ASSERT_EQ(setxattr((remote_root_ + "/theirs.txt").c_str(), "user.origin", "server", 6, 0), 0);
  auto r = sync();
  EXPECT_TRUE(r.new_conflicts.empty());
  char buf[32] = {};
  ASSERT_EQ(getxattr((remote_root_ + "/tagged.txt").c_str(), "user.hoard-test", buf, sizeof buf),
            4);
  EXPECT_EQ(std::string(buf, 4), "blue");
  ASSERT_EQ(getxattr((cache_ + "/theirs.txt").c_str(), "user.origin", buf, sizeof buf), 6);
  EXPECT_EQ(std::string(buf, 6), "server");
  // Carrying them is not itself a change the next pass has to undo.
  auto again = sync();
  EXPECT_EQ(again.pushed + again.pulled + again.agreed, 0u);
}

TEST_F(ReconcilerTest, RenameRenameIsAConflictThatHoldsAllThreeNames) {
  seed({{"draft.txt", "the draft"}, {"x", "x"}, {"y", "y"}, {"z", "z"}});
  fs::rename(cache_ + "/draft.txt", cache_ + "/mine.txt");
  logged({{ChangeOp::kRename, "draft.txt", "mine.txt", 0, ""}});
  fs::rename(remote_root_ + "/draft.txt", remote_root_ + "/theirs.txt");
  struct stat before;
  ASSERT_EQ(stat((remote_root_ + "/theirs.txt").c_str(), &before), 0);
  auto r = sync();
  ASSERT_EQ(r.new_conflicts.size(), 1u);
  auto open = openConflicts();
  ASSERT_EQ(open.size(), 1u);
  EXPECT_EQ(open[0].kind, journal::ConflictKind::kRenameRename);
  EXPECT_EQ(open[0].path, "mine.txt");
  // Held: neither name crosses over while it waits.
  auto again = sync();
  EXPECT_TRUE(again.new_conflicts.empty());
  EXPECT_FALSE(remoteExists("mine.txt"));
  EXPECT_FALSE(localExists("theirs.txt"));
  // keep-local: the remote takes our name, as a rename.
  { auto st = reconciler_->resolve(open[0].id, Resolution::kKeepLocal); ASSERT_TRUE(st) << st.error().toString(); }
  EXPECT_EQ(remote("mine.txt"), "the draft");
  EXPECT_FALSE(remoteExists("theirs.txt"));
  struct stat after;
  ASSERT_EQ(stat((remote_root_ + "/mine.txt").c_str(), &after), 0);
  EXPECT_EQ(after.st_ino, before.st_ino);
  expectConverged();
  EXPECT_TRUE(sync().clean());
}

TEST_F(ReconcilerTest, BothRenamedAlikeIsNoConflict) {
  seed({{"draft.txt", "the draft"}, {"x", "x"}, {"y", "y"}, {"z", "z"}});
  fs::rename(cache_ + "/draft.txt", cache_ + "/final.txt");
  logged({{ChangeOp::kRename, "draft.txt", "final.txt", 0, ""}});
  fs::rename(remote_root_ + "/draft.txt", remote_root_ + "/final.txt");
  auto r = sync();
  EXPECT_TRUE(r.new_conflicts.empty());
  expectConverged();
  EXPECT_TRUE(sync().clean());
}

TEST_F(ReconcilerTest, ARemoteSymlinkPointingOutsideNeverLeadsAWriteOutside) {
  std::string outside = dir_ + "/outside";
  fs::create_directories(outside);
  seed({{"a.txt", "a"}});
  ASSERT_EQ(symlink(outside.c_str(), (remote_root_ + "/evil").c_str()), 0);
  sync();
  EXPECT_EQ(fs::read_symlink(cache_ + "/evil"), outside) << "replicated as a symlink";
  // Whatever arrives "through" it stays out of reach: writing into the cache
  // through the link is refused.
  remote::PosixRemoteFs cache_fs(cache_);
  auto tmp = ::open(dir_.c_str(), O_TMPFILE | O_RDWR, 0600);
  ASSERT_GE(tmp, 0);
  ASSERT_EQ(::write(tmp, "x", 1), 1);
  auto written = cache_fs.replaceFile("evil/planted", tmp, remote::Expect::absent(), {}, nullptr);
  ::close(tmp);
  ASSERT_FALSE(written);
  EXPECT_EQ(written.error().code(), ErrorCode::kOutsideRoot);
  EXPECT_TRUE(fs::is_empty(outside));
}

// What sshfs offers: mtime in whole seconds, no ctime, made-up inodes. Only
// the size and the second are left to tell a change by.
class CoarseProbe final : public remote::DataVersionProbe {
 public:
  Result<std::string> version(int, const std::string&, const struct stat& st) override {
    return "coarse:" + std::to_string(st.st_mtim.tv_sec) + ":" + std::to_string(st.st_size);
  }
};

TEST_F(ReconcilerTest, ASameSecondSameSizeRemoteEditOnCoarseTimestampsIsNotOverwritten) {
  remote::PosixRemoteFs::Options o;
  o.probe = std::make_shared<CoarseProbe>();
  remote::PosixRemoteFs coarse_remote(remote_root_, o);
  Reconciler rec(ShareSides{*journal_, mu_, share_, *local_fs_, coarse_remote, cache_, *store_,
                            store::KeepPolicy{}, "laptop", nullptr, nullptr});
  remote("report.txt", "version A");
  // Whole-second timestamps, as sshfs reports them.
  struct timespec t[2] = {{1700000000, 0}, {1700000000, 0}};
  ASSERT_EQ(utimensat(AT_FDCWD, (remote_root_ + "/report.txt").c_str(), t, 0), 0);
  auto first = rec.run();
  ASSERT_TRUE(first && !first->stopped);
  ASSERT_EQ(local("report.txt"), "version A");
  // A colleague rewrites it, same size, within the same second.
  remote("report.txt", "version B");
  ASSERT_EQ(utimensat(AT_FDCWD, (remote_root_ + "/report.txt").c_str(), t, 0), 0);
  local("report.txt", "my edit!!");
  auto r = rec.run();
  ASSERT_TRUE(r) << r.error().toString();
  EXPECT_EQ(remote("report.txt"), "version B") << "the colleague's edit survives";
  EXPECT_EQ(local("report.txt"), "my edit!!");
  ASSERT_EQ(r->new_conflicts.size(), 1u);
  EXPECT_EQ(openConflicts()[0].kind, journal::ConflictKind::kContent);
}

}  // namespace
}  // namespace hoard::sync
