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

Result<RepoMerge> mergeRepos(const std::string& local_dir, const std::string& remote_dir,
                             const std::string& share) {
  gitrepo::MergeState m;
  m.local.dir = local_dir;
  m.remote.dir = remote_dir;
  m.remote.is_remote = true;
  m.share = share;
  for (gitrepo::Side* s : {&m.local, &m.remote})
    if (Status st = gitrepo::listFiles(*s); !st) return tl::unexpected(st.error());
  for (auto phase : {gitrepo::unionObjects, gitrepo::mergeRefs, gitrepo::mergeReflogs,
                     gitrepo::followHead})
    if (Status st = phase(m); !st) return tl::unexpected(st.error());
  // Objects before what names them, on each side (GitRepoOrder.h).
  std::stable_sort(m.out.writes.begin(), m.out.writes.end(),
                   [](const TreeWrite& a, const TreeWrite& b) {
                     return gitRank(a.path) < gitRank(b.path);
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
  auto merged = mergeRepos(c.local.tree, c.remote.tree, c.share);
  if (!merged) return tl::unexpected(merged.error());
  Decision d;
  d.kind = DecisionKind::kMerged;
  d.reason = merged->summary();
  d.writes = std::move(merged->writes);
  return d;
}

}  // namespace hoard::resolvers
