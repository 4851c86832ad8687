// SPDX-License-Identifier: MIT
// Real git repositories on both sides of a real share, for the git-repo
// tests (GitRepoTest, GitRepoCrashTest): the `git` command with a fixed
// identity, a seeded repository, the resolver chain's steps for a repo
// conflict (copies, the git-repo resolver, the engine's apply) and what a
// user checks afterwards (fsck, equal .git directories, the same commits).
#pragma once

#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <iostream>
#include <set>

#include "GitRepo.h"
#include "integration/sync/ReconcilerFixture.h"
#include "sync/RepoCopies.h"
#include "sync/RepoDecision.h"

namespace hoard::sync {

namespace fs = std::filesystem;

struct GitRun {
  int rc = -1;
  std::string out;
};

// `git -C dir ARGS` with a fixed identity and no user or system config.
inline GitRun git(const std::string& dir, const std::string& args) {
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

inline std::string gitOk(const std::string& dir, const std::string& args) {
  GitRun r = git(dir, args);
  EXPECT_EQ(r.rc, 0) << "git " << args << " in " << dir << ":\n" << r.out;
  while (!r.out.empty() && r.out.back() == '\n') r.out.pop_back();
  return r.out;
}

inline std::set<std::string> lines(const std::string& text) {
  std::set<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);)
    if (!l.empty()) out.insert(l);
  return out;
}

// Every regular file beneath `root` (relative path -> bytes).
inline std::map<std::string, std::string> filesOf(const std::string& root) {
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

class GitRepoFixture : public ReconcilerTest {
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
    auto m = mergeRepoWith(*journal_, *local_fs_, *remote_fs_, *reconciler_, c, apply);
    EXPECT_TRUE(m) << m.error().toString();
    if (!m) return {};
    EXPECT_TRUE(m->applied) << m->applied.error().toString();
    return m->decision;
  }

  struct RepoMerge {
    resolvers::Decision decision;
    Status applied;  // the engine's apply (ok when not asked or not merged)
  };
  // mergeRepo over the given journal connection, sides and reconciler, with
  // errors returned rather than reported (a forked child uses it too).
  Result<RepoMerge> mergeRepoWith(journal::Journal& j, remote::RemoteFs& l, remote::RemoteFs& r,
                                  Reconciler& rec, const journal::ConflictRecord& c, bool apply) {
    auto entries = j.listBaseUnder(share_, c.path);
    if (!entries) return tl::unexpected(entries.error());
    RepoBase base{std::move(*entries), &*store_};
    auto copies = RepoCopies::make(l, r, c.path, &base);
    if (!copies) return tl::unexpected(copies.error());
    resolvers::ConflictView v;
    v.id = c.id;
    v.share = "docs";
    v.path = c.path;
    v.kind = c.kind;
    v.local.tree = (*copies)->local();
    v.remote.tree = (*copies)->remote();
    v.base.tree = (*copies)->base();
    resolvers::GitRepo resolver;
    auto d = resolver.resolve(v, nlohmann::json::object());
    if (!d) return tl::unexpected(d.error());
    RepoMerge out{*d, {}};
    if (apply && d->kind == resolvers::DecisionKind::kMerged) {
      ConflictDecision cd;
      cd.kind = Resolution::kMerged;
      cd.resolver = "git-repo";
      cd.label = "merged by git-repo: " + d->reason;
      carryRepoWrites(*d, **copies, cd);
      out.applied = rec.apply(c.id, cd);
    }
    return out;
  }

  // What a user checks after the sync: fsck clean on both sides, both
  // .git directories byte for byte equal, the same commits reachable.
  void expectSameSoundRepos() {
    for (const std::string& dir : {lrepo(), rrepo()}) {
      GitRun f = git(dir, "fsck --full --no-progress");
      EXPECT_EQ(f.rc, 0) << "fsck in " << dir << ":\n" << f.out;
    }
    EXPECT_EQ(filesOf(lrepo() + "/.git"), filesOf(rrepo() + "/.git"));
    EXPECT_EQ(lines(gitOk(lrepo(), "rev-list --all")), lines(gitOk(rrepo(), "rev-list --all")));
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

}  // namespace hoard::sync
