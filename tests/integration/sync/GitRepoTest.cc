// SPDX-License-Identifier: MIT
// A git repository inside a share is one unit (design.md, "Resolvers"):
// repositories made by the real `git` command on both sides of a real
// share, reconciled by the real engine, merged by the git-repo resolver and
// applied by Reconciler::apply, then checked as a user would: `git fsck
// --full` on both sides, every commit of either side reachable on both
// (`git rev-list --all`), both .git directories equal byte for byte, and
// the merge's report naming every diverged ref. Plus the order of a
// one-sided change: a pass cut after every single write (the remote going
// away) leaves the receiving side's repository fsck-clean each time.

#include <iostream>

#include "integration/sync/GitRepoFixture.h"
#include "remote/FaultyRemoteFs.h"

namespace hoard::sync {
namespace {

class GitRepoTest : public GitRepoFixture {};

TEST_F(GitRepoTest, CommitsOnTheSameBranchOnBothSidesAreOneConflictMergedAsARepository) {
  seedRepo();
  const std::string mine = commit(lrepo(), "a.txt", "alpha, edited in the cache\n", "cache edit");
  const std::string theirs = commit(rrepo(), "b.txt", "beta, edited on the server\n", "server edit");
  ReconcileReport r = sync();
  ASSERT_FALSE(r.stopped);
  // One conflict for all of .git, none per file inside it; the working
  // tree's files are ordinary ones (each changed on one side: carried).
  journal::ConflictRecord c = theRepoConflict();
  EXPECT_EQ(local("proj/b.txt"), "beta, edited on the server\n");
  EXPECT_EQ(remote("proj/a.txt"), "alpha, edited in the cache\n");

  resolvers::Decision d = mergeRepo(c);
  ASSERT_EQ(d.kind, resolvers::DecisionKind::kMerged) << d.reason;
  // The report names the diverged branch and where the remote's went.
  EXPECT_NE(d.reason.find("refs/heads/main -> refs/remotes/hoard/docs/main"), std::string::npos)
      << d.reason;
  EXPECT_TRUE(openConflicts().empty());
  expectSameSoundRepos();
  // The cache's main stays; the remote's is kept beside it on both sides.
  for (const std::string& dir : {lrepo(), rrepo()}) {
    EXPECT_EQ(gitOk(dir, "rev-parse main"), mine) << dir;
    EXPECT_EQ(gitOk(dir, "rev-parse refs/remotes/hoard/docs/main"), theirs) << dir;
    std::set<std::string> all = lines(gitOk(dir, "rev-list --all"));
    EXPECT_TRUE(all.count(mine) && all.count(theirs)) << dir;
    EXPECT_NE(gitOk(dir, "branch -a").find("remotes/hoard/docs/main"), std::string::npos);
  }
  // The history keeps the report.
  auto done = journal_->conflicts(share_, false);
  ASSERT_TRUE(done);
  bool found = false;
  for (auto& rc : *done)
    if (rc.id == c.id) found = rc.resolution.find("refs/heads/main") != std::string::npos;
  EXPECT_TRUE(found);
  expectQuietNextPass();
}

TEST_F(GitRepoTest, CommitsOnDifferentBranchesAreBothKeptAndAFastForwardIsTaken) {
  seedRepo();
  // A branch both sides have (made on the server, carried by a pass)...
  gitOk(rrepo(), "branch topic HEAD~1");
  sync();
  ASSERT_TRUE(openConflicts().empty());
  const std::string seed_main = gitOk(lrepo(), "rev-parse main");
  // ...that the cache moves forward (a fast-forward for the merge), while
  // the cache goes on on main and the server makes a branch of its own.
  gitOk(lrepo(), "branch -f topic main");
  const std::string mine = commit(lrepo(), "a.txt", "alpha 2\n", "main moves on");
  gitOk(rrepo(), "switch -q -c feature");
  const std::string feature = commit(rrepo(), "c.txt", "gamma\n", "feature work");
  gitOk(rrepo(), "switch -q main");
  sync();
  journal::ConflictRecord c = theRepoConflict();
  resolvers::Decision d = mergeRepo(c);
  ASSERT_EQ(d.kind, resolvers::DecisionKind::kMerged) << d.reason;
  EXPECT_EQ(d.reason.find("diverged"), std::string::npos) << d.reason;
  EXPECT_NE(d.reason.find("refs/heads/topic to the cache's"), std::string::npos)
      << d.reason;
  expectSameSoundRepos();
  for (const std::string& dir : {lrepo(), rrepo()}) {
    EXPECT_EQ(gitOk(dir, "rev-parse main"), mine) << dir;
    EXPECT_EQ(gitOk(dir, "rev-parse feature"), feature) << dir;
    EXPECT_EQ(gitOk(dir, "rev-parse topic"), seed_main) << dir;
    EXPECT_EQ(gitOk(dir, "symbolic-ref HEAD"), "refs/heads/main");
  }
  expectQuietNextPass();
}

TEST_F(GitRepoTest, FastForwardToTheRemoteMovesHeadAndTheIndexWithIt) {
  seedRepo();
  gitOk(lrepo(), "branch side");  // a change in the cache that moves no commit
  const std::string theirs = commit(rrepo(), "a.txt", "alpha from the server\n", "server only");
  sync();
  journal::ConflictRecord c = theRepoConflict();
  resolvers::Decision d = mergeRepo(c);
  ASSERT_EQ(d.kind, resolvers::DecisionKind::kMerged) << d.reason;
  EXPECT_NE(d.reason.find("refs/heads/main to the remote's"), std::string::npos) << d.reason;
  EXPECT_NE(d.reason.find("follow the remote"), std::string::npos) << d.reason;
  expectSameSoundRepos();
  EXPECT_EQ(gitOk(lrepo(), "rev-parse main"), theirs);
  expectQuietNextPass();
  // The index is the remote's, which matches the working tree pulled with it.
  EXPECT_EQ(gitOk(lrepo(), "--no-optional-locks status --porcelain"), "");
}

TEST_F(GitRepoTest, ATagOnEachSideKeepsBothAndADivergedTagIsKeptBeside) {
  seedRepo();
  const std::string mine = commit(lrepo(), "a.txt", "alpha L\n", "cache release");
  gitOk(lrepo(), "tag v1");
  gitOk(lrepo(), "tag cache-only");
  const std::string theirs = commit(rrepo(), "b.txt", "beta R\n", "server release");
  gitOk(rrepo(), "tag -a v1 -m 'server v1'");
  gitOk(rrepo(), "tag -a server-only -m 'only here'");
  sync();
  journal::ConflictRecord c = theRepoConflict();
  resolvers::Decision d = mergeRepo(c);
  ASSERT_EQ(d.kind, resolvers::DecisionKind::kMerged) << d.reason;
  // Every diverged ref by name: the branch and the tag.
  EXPECT_NE(d.reason.find("refs/heads/main -> refs/remotes/hoard/docs/main"), std::string::npos)
      << d.reason;
  EXPECT_NE(d.reason.find("refs/tags/v1 -> refs/remotes/hoard/docs/tags/v1"), std::string::npos)
      << d.reason;
  expectSameSoundRepos();
  for (const std::string& dir : {lrepo(), rrepo()}) {
    EXPECT_EQ(gitOk(dir, "rev-parse v1^{commit}"), mine) << dir;
    EXPECT_EQ(gitOk(dir, "rev-parse refs/remotes/hoard/docs/tags/v1^{commit}"), theirs) << dir;
    EXPECT_EQ(gitOk(dir, "rev-parse cache-only"), mine) << dir;
    EXPECT_EQ(gitOk(dir, "rev-parse server-only^{commit}"), theirs) << dir;
  }
  expectQuietNextPass();
}

// Issue 12: `git branch -D` on one side. A branch the other side left as
// the base had it stays deleted (ref and reflog, loose or packed); one the
// other side moved meanwhile is kept on both, and the report says so.
TEST_F(GitRepoTest, ABranchDeletedOnOneSideStaysDeletedUnlessTheOtherMovedIt) {
  seedRepo();
  for (const char* b : {"dir", "dir-x", "dir.bak", "keep", "loose"})
    gitOk(rrepo(), std::string("branch ") + b);
  gitOk(rrepo(), "pack-refs --all");  // packed on both sides after the pass
  gitOk(rrepo(), "branch -f loose");  // and one loose ref beside them
  sync();
  ASSERT_TRUE(openConflicts().empty());
  ASSERT_TRUE(fs::exists(lrepo() + "/.git/packed-refs"));
  // The cache deletes dir (left as it was on the server), dir-x (which the
  // server moves on) and loose (a loose ref, left on the server).
  for (const char* b : {"dir", "dir-x", "loose"}) gitOk(lrepo(), std::string("branch -D ") + b);
  const std::string mine = commit(lrepo(), "a.txt", "alpha L\n", "cache");
  // The server deletes dir.bak (left in the cache) and moves dir-x on.
  gitOk(rrepo(), "branch -D dir.bak");
  gitOk(rrepo(), "switch -q dir-x");
  const std::string moved = commit(rrepo(), "x.txt", "x\n", "dir-x moves on");
  gitOk(rrepo(), "switch -q main");
  commit(rrepo(), "b.txt", "beta R\n", "server");
  sync();
  journal::ConflictRecord c = theRepoConflict();
  resolvers::Decision d = mergeRepo(c);
  ASSERT_EQ(d.kind, resolvers::DecisionKind::kMerged) << d.reason;
  EXPECT_NE(d.reason.find("deleted (unchanged on the other side): refs/heads/dir (deleted in the "
                          "cache), refs/heads/dir.bak (deleted on the remote), refs/heads/loose "
                          "(deleted in the cache)"),
            std::string::npos)
      << d.reason;
  EXPECT_NE(d.reason.find("kept (deleted on one side, moved on the other): refs/heads/dir-x "
                          "(deleted in the cache)"),
            std::string::npos)
      << d.reason;
  expectSameSoundRepos();
  for (const std::string& dir : {lrepo(), rrepo()}) {
    EXPECT_EQ(gitOk(dir, "for-each-ref '--format=%(refname)' refs/heads"),
              "refs/heads/dir-x\nrefs/heads/keep\nrefs/heads/main")
        << dir;
    EXPECT_EQ(gitOk(dir, "rev-parse dir-x"), moved) << dir;
    EXPECT_EQ(gitOk(dir, "rev-parse main"), mine) << dir;
    for (const char* gone : {"dir", "dir.bak", "loose"})
      EXPECT_FALSE(fs::exists(dir + "/.git/logs/refs/heads/" + std::string(gone))) << dir << gone;
  }
  expectQuietNextPass();
  // A branch made again later under a deleted one's name is new, not deleted again.
  gitOk(rrepo(), "branch dir");
  commit(lrepo(), "a.txt", "alpha L2\n", "cache again");
  commit(rrepo(), "b.txt", "beta R2\n", "server again");
  sync();
  d = mergeRepo(theRepoConflict());
  ASSERT_EQ(d.kind, resolvers::DecisionKind::kMerged) << d.reason;
  EXPECT_EQ(d.reason.find("deleted"), std::string::npos) << d.reason;
  expectSameSoundRepos();
  EXPECT_EQ(gitOk(lrepo(), "rev-parse dir"), gitOk(rrepo(), "rev-parse dir"));
}

// Symlinks inside .git (rare: a linked hook, git-new-workdir). One that
// differs between the sides defers the merge naming it; one both hold alike
// outside the repository's data is left as it is; one among refs/,
// objects/, logs/ defers (it would lead git out of the repository).
TEST_F(GitRepoTest, SymlinksInsideGitDeferTheMergeUnlessBothSidesHoldTheSame) {
  seedRepo();
  fs::create_symlink("../../tools/pre-commit", rrepo() + "/.git/hooks/pre-commit");
  sync();  // one side changed: carried as a symlink
  ASSERT_TRUE(openConflicts().empty());
  ASSERT_TRUE(fs::is_symlink(lrepo() + "/.git/hooks/pre-commit"));
  EXPECT_EQ(fs::read_symlink(lrepo() + "/.git/hooks/pre-commit"), "../../tools/pre-commit");
  // Held alike: the merge leaves it.
  commit(lrepo(), "a.txt", "alpha L\n", "cache");
  commit(rrepo(), "b.txt", "beta R\n", "server");
  sync();
  resolvers::Decision d = mergeRepo(theRepoConflict());
  ASSERT_EQ(d.kind, resolvers::DecisionKind::kMerged) << d.reason;
  expectSameSoundRepos();
  EXPECT_EQ(fs::read_symlink(rrepo() + "/.git/hooks/pre-commit"), "../../tools/pre-commit");
  // Pointing elsewhere on one side: deferred, naming it.
  fs::remove(lrepo() + "/.git/hooks/pre-commit");
  fs::create_symlink("/usr/share/hooks/pre-commit", lrepo() + "/.git/hooks/pre-commit");
  commit(lrepo(), "a.txt", "alpha L2\n", "cache 2");
  commit(rrepo(), "b.txt", "beta R2\n", "server 2");
  sync();
  d = mergeRepo(theRepoConflict());
  EXPECT_EQ(d.kind, resolvers::DecisionKind::kDefer);
  EXPECT_NE(d.reason.find("the cache's repository holds the symlink hooks/pre-commit -> "
                          "/usr/share/hooks/pre-commit, which the remote's has pointing at "
                          "../../tools/pre-commit"),
            std::string::npos)
      << d.reason;
  // Among the refs: deferred even where both sides hold it alike.
  fs::remove(lrepo() + "/.git/hooks/pre-commit");
  fs::create_symlink("../../tools/pre-commit", lrepo() + "/.git/hooks/pre-commit");
  fs::create_symlink("/elsewhere/.git/refs/heads/main", lrepo() + "/.git/refs/heads/shared");
  fs::create_symlink("/elsewhere/.git/refs/heads/main", rrepo() + "/.git/refs/heads/shared");
  sync();
  d = mergeRepo(theRepoConflict());
  EXPECT_EQ(d.kind, resolvers::DecisionKind::kDefer);
  EXPECT_NE(d.reason.find("holds the symlink refs/heads/shared -> /elsewhere/.git/refs/heads/main, "
                          "which leads git to files outside it"),
            std::string::npos)
      << d.reason;
  EXPECT_EQ(openConflicts().size(), 1u);
}

TEST_F(GitRepoTest, GcOnOneSideAndCommitsOnTheOtherLoseNoObject) {
  seedRepo();
  for (int i = 0; i < 3; ++i)
    commit(lrepo(), "a.txt", "alpha " + std::to_string(i) + "\n", "cache " + std::to_string(i));
  gitOk(lrepo(), "gc -q --prune=now");  // loose objects packed, refs packed
  ASSERT_TRUE(fs::exists(lrepo() + "/.git/packed-refs"));
  const std::string theirs = commit(rrepo(), "b.txt", "beta R\n", "server commit");
  sync();
  journal::ConflictRecord c = theRepoConflict();
  resolvers::Decision d = mergeRepo(c);
  ASSERT_EQ(d.kind, resolvers::DecisionKind::kMerged) << d.reason;
  expectSameSoundRepos();
  // The cache got the server's loose objects beside its pack; the server got the pack.
  bool pack_on_remote = false;
  for (auto& e : fs::directory_iterator(rrepo() + "/.git/objects/pack"))
    pack_on_remote = pack_on_remote || e.path().extension() == ".pack";
  EXPECT_TRUE(pack_on_remote);
  EXPECT_EQ(gitOk(lrepo(), "rev-parse refs/remotes/hoard/docs/main"), theirs);
  expectQuietNextPass();
}

TEST_F(GitRepoTest, GcOnOneSideOnlyIsCarriedAsIsAndBothStaySound) {
  seedRepo();
  commit(lrepo(), "a.txt", "alpha 2\n", "cache commit");
  gitOk(lrepo(), "gc -q --prune=now");
  ReconcileReport r = sync();
  EXPECT_FALSE(r.stopped);
  EXPECT_TRUE(openConflicts().empty());  // one side changed: no conflict
  expectSameSoundRepos();
  expectConverged();
}

TEST_F(GitRepoTest, ARebaseInProgressOnOneSideDefersWithThatReason) {
  seedRepo();
  // On the server: two branches editing the same line, a rebase stopped on it.
  gitOk(rrepo(), "switch -q -c topic");
  commit(rrepo(), "a.txt", "alpha from topic\n", "topic edit");
  gitOk(rrepo(), "switch -q main");
  commit(rrepo(), "a.txt", "alpha from main\n", "main edit");
  GitRun rebased = git(rrepo(), "rebase main topic");
  ASSERT_NE(rebased.rc, 0) << rebased.out;
  ASSERT_TRUE(fs::exists(rrepo() + "/.git/rebase-merge"));
  commit(lrepo(), "b.txt", "beta L\n", "cache commit");
  sync();
  journal::ConflictRecord c = theRepoConflict();
  resolvers::Decision d = mergeRepo(c);
  EXPECT_EQ(d.kind, resolvers::DecisionKind::kDefer);
  EXPECT_NE(d.reason.find("the remote's repository is in the middle of a rebase"),
            std::string::npos)
      << d.reason;
  EXPECT_EQ(openConflicts().size(), 1u);  // nothing applied
}

TEST_F(GitRepoTest, ALockFileOnOneSideDefersNamingIt) {
  seedRepo();
  commit(lrepo(), "a.txt", "alpha L\n", "cache");
  commit(rrepo(), "b.txt", "beta R\n", "server");
  put(lrepo() + "/.git/index.lock", "");
  sync();
  journal::ConflictRecord c = theRepoConflict();
  resolvers::Decision d = mergeRepo(c);
  EXPECT_EQ(d.kind, resolvers::DecisionKind::kDefer);
  EXPECT_NE(d.reason.find("the cache's repository holds the lock file index.lock"),
            std::string::npos)
      << d.reason;
}

TEST_F(GitRepoTest, ASideThatChangedAfterDetectionRefreshesInsteadOfMerging) {
  seedRepo();
  commit(lrepo(), "a.txt", "alpha L\n", "cache");
  commit(rrepo(), "b.txt", "beta R\n", "server");
  sync();
  journal::ConflictRecord c = theRepoConflict();
  commit(rrepo(), "b.txt", "beta R2\n", "server again");
  auto copies = RepoCopies::make(*local_fs_, *remote_fs_, c.path);
  ASSERT_TRUE(copies);
  resolvers::ConflictView v;
  v.kind = c.kind;
  v.share = "docs";
  v.local.tree = (*copies)->local();
  v.remote.tree = (*copies)->remote();
  resolvers::GitRepo resolver;
  auto d = resolver.resolve(v, nlohmann::json::object());
  ASSERT_TRUE(d);
  ConflictDecision cd;
  cd.kind = Resolution::kMerged;
  carryRepoWrites(*d, **copies, cd);
  Status st = reconciler_->apply(c.id, cd);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code(), ErrorCode::kConflict) << st.error().toString();
  EXPECT_NE(st.error().message().find("changed on the remote"), std::string::npos);
  EXPECT_EQ(openConflicts().size(), 1u);
}

// The order of a one-sided change: every pass is cut after its first file
// write (the link dropping), and after each cut the receiving side's
// repository passes `git fsck --full` and every ref it has resolves.
class GitRepoOrderTest : public GitRepoTest {
 protected:
  void SetUp() override {
    GitRepoTest::SetUp();
    if (HasFatalFailure()) return;
    faulty_remote_ = std::make_shared<remote::FaultyRemoteFs>(
        std::make_shared<remote::PosixRemoteFs>(remote_root_));
    faulty_local_ = std::make_shared<remote::FaultyRemoteFs>(
        std::make_shared<remote::PosixRemoteFs>(cache_));
    reconciler_ = std::make_unique<Reconciler>(
        ShareSides{*journal_, mu_, share_, *faulty_local_, *faulty_remote_, cache_, *store_,
                   store::KeepPolicy{}, "laptop", nullptr, nullptr});
  }
  // Passes cut after one write each until one runs through; the number of cut passes.
  int syncCutting(remote::FaultyRemoteFs& fs, remote::RemoteOp op, const std::string& receiver) {
    int cuts = 0;
    for (int pass = 0; pass < 200; ++pass) {
      fs.clearRules();
      remote::FaultRule rule;
      rule.op = op;
      rule.err = ENOTCONN;
      rule.skip_first = 1;
      fs.addRule(rule);
      auto r = reconciler_->run({});
      EXPECT_TRUE(r) << r.error().toString();
      if (!r) break;
      GitRun f = git(receiver, "fsck --full --no-progress");
      EXPECT_EQ(f.rc, 0) << "after cut " << cuts << ", fsck in " << receiver << ":\n" << f.out;
      if (f.rc != 0) break;
      if (!r->stopped) break;
      ++cuts;
    }
    fs.clearRules();
    std::cout << "[ cuts ] " << cuts << " passes cut, each fsck-clean on " << receiver << std::endl;
    return cuts;
  }
  std::shared_ptr<remote::FaultyRemoteFs> faulty_remote_, faulty_local_;
};

TEST_F(GitRepoOrderTest, PushesOfCommitsAndAGcCutAtEveryWriteLeaveTheRemoteSound) {
  seedRepo();
  for (int i = 0; i < 3; ++i)
    commit(lrepo(), "f" + std::to_string(i) + ".txt", "file " + std::to_string(i) + "\n",
           "cache " + std::to_string(i));
  gitOk(lrepo(), "tag -a v2 -m two");
  int cuts = syncCutting(*faulty_remote_, remote::RemoteOp::kReplaceFile, rrepo());
  EXPECT_GT(cuts, 10);  // each object, ref, log and the index took a pass of its own
  expectSameSoundRepos();
  // Then a gc in the cache: a pack arrives before its index, the refs after
  // both, and the loose objects go last.
  gitOk(lrepo(), "gc -q --prune=now");
  syncCutting(*faulty_remote_, remote::RemoteOp::kReplaceFile, rrepo());
  expectSameSoundRepos();
  expectConverged();
}

TEST_F(GitRepoOrderTest, PullsCutAtEveryFetchLeaveTheCacheSound) {
  seedRepo();
  for (int i = 0; i < 3; ++i)
    commit(rrepo(), "f" + std::to_string(i) + ".txt", "file " + std::to_string(i) + "\n",
           "server " + std::to_string(i));
  gitOk(rrepo(), "gc -q --prune=now");
  int cuts = syncCutting(*faulty_remote_, remote::RemoteOp::kFetchFile, lrepo());
  EXPECT_GT(cuts, 3);
  expectSameSoundRepos();
  expectConverged();
}

}  // namespace
}  // namespace hoard::sync
