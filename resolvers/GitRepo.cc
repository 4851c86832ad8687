// SPDX-License-Identifier: MIT
// The git-repo resolver (GitRepo.h) as a short sequence of phases sharing
// one MergeState (GitRepoState.h): list each side's files, union the
// objects, merge the refs (and HEAD), merge the reflogs, let the rest follow
// the kept HEAD; then the writes are put in git's order.

#include "GitRepo.h"

#include <git2.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>

#include "GitRepoOrder.h"
#include "GitRepoState.h"

namespace hoard::resolvers {

namespace fs = std::filesystem;

std::string RepoMerge::summary() const {
  std::string s = "merged the repository: " + std::to_string(objects_to_remote) +
                  " object files to the remote, " + std::to_string(objects_to_local) +
                  " to the cache";
  if (!fast_forwarded.empty()) {
    s += "; fast-forwarded";
    for (size_t i = 0; i < fast_forwarded.size(); ++i)
      s += (i ? ", " : " ") + fast_forwarded[i].ref +
           (fast_forwarded[i].to_remote_value ? " to the remote's" : " to the cache's");
  }
  if (!diverged.empty()) {
    s += "; diverged (the cache's kept, the remote's beside it):";
    for (size_t i = 0; i < diverged.size(); ++i)
      s += (i ? ", " : " ") + diverged[i].ref + " -> " + diverged[i].kept_as;
  }
  for (const auto* list : {&deleted, &kept}) {
    if (list->empty()) continue;
    s += list == &deleted ? "; deleted (unchanged on the other side):"
                          : "; kept (deleted on one side, moved on the other):";
    for (size_t i = 0; i < list->size(); ++i)
      s += (i ? ", " : " ") + (*list)[i].ref +
           ((*list)[i].in_cache ? " (deleted in the cache)" : " (deleted on the remote)");
  }
  s += head_from_remote ? "; HEAD and the index follow the remote"
                        : "; HEAD and the index follow the cache";
  return s;
}

std::optional<std::string> repoBusy(const std::string& dir) {
  if (dir.empty()) return std::nullopt;
  struct Marker {
    const char* name;
    const char* doing;
  };
  static constexpr Marker kMarkers[] = {
      {"rebase-merge", "a rebase"},       {"rebase-apply", "a rebase or git am"},
      {"MERGE_HEAD", "a merge"},          {"CHERRY_PICK_HEAD", "a cherry-pick"},
      {"REVERT_HEAD", "a revert"},
  };
  std::error_code ec;
  for (const Marker& mk : kMarkers)
    if (fs::exists(fs::path(dir) / mk.name, ec))
      return std::string("is in the middle of ") + mk.doing + " (" + mk.name + " exists)";
  fs::recursive_directory_iterator it(dir, fs::directory_options::none, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.size() > 5 && name.compare(name.size() - 5, 5, ".lock") == 0)
      return "holds the lock file " + fs::relative(it->path(), dir, ec).generic_string() +
             " (a git command is running, or one crashed)";
  }
  return std::nullopt;
}

namespace {

// The order of a merge's writes on each side: git's (GitRepoOrder.h), an
// object before anything that names it, with two changes that make a merge
// cut anywhere (a crash, the link dropping) come out the same when it is
// run again. The files that follow the kept HEAD (the index, ORIG_HEAD,
// config, ...) go before the refs: once a ref has moved, the next merge no
// longer sees the fast-forward that chose whose HEAD is kept, so what
// follows it must already be in place. And packed-refs, which one side's
// file replaces on the other, goes after the loose refs that keep the
// values it drops: replaced first, it would leave a ref only the other side
// had nowhere, and its commits unreachable. For the same reason the refs
// that keep the remote's diverged values (refs/remotes/hoard/...) go before
// the refs they were diverged from take the cache's value. HEAD itself is
// written last.
int mergeRank(std::string_view p) {
  switch (gitRank(p)) {
    case kGitObjects: return 0;
    case kGitPackIndex: return 1;
    case kGitHead: return p == "HEAD" ? 7 : 2;
    case kGitRefs:
      if (p == "packed-refs") return 5;
      return p.substr(0, 19) == "refs/remotes/hoard/" ? 3 : 4;
    case kGitLogs: return 6;
    case kGitRanks: break;
  }
  return 7;
}

}  // namespace

namespace {

// Every symlink beneath `dir` (path inside -> target).
std::map<std::string, std::string> symlinksIn(const std::string& dir) {
  std::map<std::string, std::string> out;
  if (dir.empty()) return out;
  std::error_code ec;
  fs::recursive_directory_iterator it(dir, fs::directory_options::none, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    if (!it->is_symlink(ec)) continue;
    std::error_code rl;
    out[fs::relative(it->path(), dir, ec).generic_string()] = fs::read_symlink(it->path(), rl).string();
  }
  return out;
}

// The parts git reads as the repository itself: a symlink there leads git
// out of the repository (git-new-workdir shares another one's this way).
bool isRepositoryData(const std::string& p) {
  for (const char* dir : {"objects", "refs", "logs"})
    if (p == dir || p.rfind(std::string(dir) + "/", 0) == 0) return true;
  for (const char* file : {"HEAD", "packed-refs", "index", "commondir", "shallow"})
    if (p == file) return true;
  return false;
}

}  // namespace

std::optional<std::string> repoSymlinks(const std::string& local_dir,
                                        const std::string& remote_dir) {
  const auto l = symlinksIn(local_dir), r = symlinksIn(remote_dir);
  for (const auto* side : {&l, &r}) {
    const auto& other = side == &l ? r : l;
    const char* name = side == &l ? "the cache's" : "the remote's";
    const char* other_name = side == &l ? "the remote's" : "the cache's";
    for (const auto& [p, target] : *side) {
      const std::string link = p + " -> " + target;
      if (isRepositoryData(p))
        return std::string(name) + " repository holds the symlink " + link +
               ", which leads git to files outside it; hoard does not merge through "
               "symlinks: replace it by what it points to on both sides, then sync again";
      auto o = other.find(p);
      if (o == other.end() || o->second != target)
        return std::string(name) + " repository holds the symlink " + link + ", which " +
               other_name + " " +
               (o == other.end() ? std::string("does not have")
                                 : "has pointing at " + o->second) +
               "; hoard merges no symlinks inside a repository: make it the same on both "
               "sides, then sync again";
    }
  }
  return std::nullopt;
}

Result<RepoMerge> mergeRepos(const std::string& local_dir, const std::string& remote_dir,
                             const std::string& share, const std::string& base_dir) {
  gitrepo::MergeState m;
  m.base_dir = base_dir;
  m.local.dir = local_dir;
  m.remote.dir = remote_dir;
  m.remote.is_remote = true;
  m.share = share;
  for (gitrepo::Side* s : {&m.local, &m.remote})
    if (Status st = gitrepo::listFiles(*s); !st) return tl::unexpected(st.error());
  for (auto phase : {gitrepo::unionObjects, gitrepo::mergeRefs, gitrepo::mergeReflogs,
                     gitrepo::followHead})
    if (Status st = phase(m); !st) return tl::unexpected(st.error());
  std::stable_sort(m.out.writes.begin(), m.out.writes.end(),
                   [](const TreeWrite& a, const TreeWrite& b) {
                     return mergeRank(a.path) < mergeRank(b.path);
                   });
  return std::move(m.out);
}

GitRepo::GitRepo() { git_libgit2_init(); }
GitRepo::~GitRepo() { git_libgit2_shutdown(); }

Result<Decision> GitRepo::resolve(const ConflictView& c, const nlohmann::json&) {
  if (c.kind != ConflictKind::kRepo)
    return Decision::defer("git-repo merges git repositories (repo conflicts) only");
  if (c.local.tree.empty() && c.remote.tree.empty())
    return Decision::defer("no copy of either side's repository to read");
  for (const Version* v : {&c.local, &c.remote}) {
    if (auto busy = repoBusy(v->tree))
      return Decision::defer(std::string(v == &c.local ? "the cache's" : "the remote's") +
                             " repository " + *busy + ": finish it, then sync again");
  }
  if (auto links = repoSymlinks(c.local.tree, c.remote.tree)) return Decision::defer(*links);
  auto merged = mergeRepos(c.local.tree, c.remote.tree, c.share, c.base.tree);
  if (!merged) return tl::unexpected(merged.error());
  Decision d;
  d.kind = DecisionKind::kMerged;
  d.reason = merged->summary();
  d.writes = std::move(merged->writes);
  return d;
}

}  // namespace hoard::resolvers
