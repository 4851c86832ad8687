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

#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <iostream>
#include <set>

#include "GitRepo.h"
#include "integration/sync/ReconcilerFixture.h"
#include "remote/FaultyRemoteFs.h"
#include "sync/RepoCopies.h"
#include "sync/RepoDecision.h"

namespace hoard::sync {
namespace {

namespace fs = std::filesystem;

struct GitRun {
  int rc = -1;
  std::string out;
};

// `git -C dir ARGS` with a fixed identity and no user or system config.
GitRun git(const std::string& dir, const std::string& args) {
  std::string cmd = "GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null git -C '" + dir +
                    "' -c user.name=Tester -c user.email=tester@example.org "
                    "-c commit.gpgsign=false -c init.defaultBranch=main -c gc.auto=0 " +
                    args + " 2>&1";
  GitRun r;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  int st = ::pclose(p);
  r.rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

std::string gitOk(const std::string& dir, const std::string& args) {
  GitRun r = git(dir, args);
  EXPECT_EQ(r.rc, 0) << "git " << args << " in " << dir << ":\n" << r.out;
  while (!r.out.empty() && r.out.back() == '\n') r.out.pop_back();
  return r.out;
}

std::set<std::string> lines(const std::string& text) {
  std::set<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);)
    if (!l.empty()) out.insert(l);
  return out;
}

// Every regular file beneath `root` (relative path -> bytes).
std::map<std::string, std::string> filesOf(const std::string& root) {
  std::map<std::string, std::string> out;
  for (auto& e : fs::recursive_directory_iterator(root)) {
    if (!e.is_regular_file()) continue;
    std::ifstream in(e.path(), std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    out[fs::relative(e.path(), root)] = ss.str();
  }
  return out;
}

class GitRepoTest : public ReconcilerTest {
 protected:
  std::string lrepo() const { return cache_ + "/proj"; }
  std::string rrepo() const { return remote_root_ + "/proj"; }

  // A repository with two commits on main, made on the remote and
  // hoarded into the cache by a first pass.
  void seedRepo() {
    fs::create_directories(rrepo());
    gitOk(rrepo(), "init -q");
    remote("proj/a.txt", "alpha\n");
    gitOk(rrepo(), "add a.txt");
    gitOk(rrepo(), "commit -q -m first");
    remote("proj/b.txt", "beta\n");
    gitOk(rrepo(), "add b.txt");
    gitOk(rrepo(), "commit -q -m second");
    ReconcileReport r = sync();
    ASSERT_FALSE(r.stopped) << r.stopped->toString();
    ASSERT_TRUE(openConflicts().empty());
    ASSERT_EQ(gitOk(lrepo(), "rev-parse main"), gitOk(rrepo(), "rev-parse main"));
  }
  // A commit of `file` with `bytes` in repository `dir`; its id.
  std::string commit(const std::string& dir, const std::string& file, const std::string& bytes,
                     const std::string& message) {
    put(dir + "/" + file, bytes);
    gitOk(dir, "add '" + file + "'");
    gitOk(dir, "commit -q -m '" + message + "'");
    return gitOk(dir, "rev-parse HEAD");
  }

  // The one open conflict, which must be the repository's.
  journal::ConflictRecord theRepoConflict() {
    auto open = openConflicts();
    EXPECT_EQ(open.size(), 1u);
    for (auto& c : open) EXPECT_EQ(c.kind, ConflictKind::kRepo) << c.path;
    if (open.empty()) return {};
    EXPECT_EQ(open[0].path, "proj/.git");
    return open[0];
  }

  // What hoardd's resolver chain does for a repo conflict: copies, the
  // git-repo resolver, the engine's apply. Returns the decision.
  resolvers::Decision mergeRepo(const journal::ConflictRecord& c, bool apply = true) {
    auto copies = RepoCopies::make(*local_fs_, *remote_fs_, c.path);
    EXPECT_TRUE(copies) << copies.error().toString();
    if (!copies) return {};
    resolvers::ConflictView v;
    v.id = c.id;
    v.share = "docs";
    v.path = c.path;
    v.kind = c.kind;
    v.local.tree = (*copies)->local();
    v.remote.tree = (*copies)->remote();
    resolvers::GitRepo resolver;
    auto d = resolver.resolve(v, nlohmann::json::object());
    EXPECT_TRUE(d) << d.error().toString();
    if (!d) return {};
    if (apply && d->kind == resolvers::DecisionKind::kMerged) {
      ConflictDecision cd;
      cd.kind = Resolution::kMerged;
      cd.resolver = "git-repo";
      cd.label = "merged by git-repo: " + d->reason;
      carryRepoWrites(*d, **copies, cd);
      Status st = reconciler_->apply(c.id, cd);
      EXPECT_TRUE(st) << st.error().toString();
    }
    return *d;
  }

  // What a user checks after the sync: fsck clean on both sides, both
  // .git directories byte for byte equal, the same commits reachable.
  void expectSameSoundRepos() {
    for (const std::string& dir : {lrepo(), rrepo()}) {
      GitRun f = git(dir, "fsck --full --no-progress");
      EXPECT_EQ(f.rc, 0) << "fsck in " << dir << ":\n" << f.out;
    }
    EXPECT_EQ(filesOf(lrepo() + "/.git"), filesOf(rrepo() + "/.git"));
    EXPECT_EQ(gitOk(lrepo(), "rev-list --all"), gitOk(rrepo(), "rev-list --all"));
  }

  // After the merge the next pass finds nothing to do inside the repository.
  void expectQuietNextPass() {
    ReconcileReport r = sync();
    EXPECT_FALSE(r.stopped);
    EXPECT_TRUE(openConflicts().empty());
    EXPECT_EQ(r.pushed, 0u);
    EXPECT_EQ(r.pulled, 0u);
  }
};

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
