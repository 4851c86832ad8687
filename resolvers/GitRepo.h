// SPDX-License-Identifier: MIT
#pragma once

// git-repo: a git repository inside a share merged as a repository, never
// file by file (design.md, "Resolvers"). It reads each side's copy of the
// repository directory (Version::tree of a repo conflict) and answers a
// merge as a list of file writes per side (Decision::writes) that leaves
// both sides with the same repository:
//   objects  every loose object and pack file either side lacks is copied to
//            it; a file either side has is never overwritten;
//   refs     equal stays; if one side's commit descends from the other's,
//            both take it (fast-forward); if they diverged, the cache's
//            value stays and the remote's is kept beside it under
//            refs/remotes/hoard/<share>/<branch> (tags under
//            refs/remotes/hoard/<share>/tags/<tag>), so `git log --all`
//            shows both and no commit of either side ends unreachable;
//   reflogs  both sides' entries: the cache's, then the remote's it lacks;
//   the rest (HEAD, the index, ORIG_HEAD, FETCH_HEAD, config, ...) follows
//            the side whose HEAD is kept (the remote's where HEAD's branch
//            fast-forwarded to it, else the cache's); a file only the other
//            side has is copied as it is.
// Nothing is deleted on either side. A repository in the middle of a
// rebase, merge, cherry-pick or revert, or holding a `*.lock` file, on
// either side, is deferred with that reason.

#include <optional>
#include <string>
#include <vector>

#include "Resolver.h"

namespace hoard::resolvers {

// What merging two copies of a repository does.
struct RepoMerge {
  std::vector<TreeWrite> writes;  // in git's order (GitRepoOrder.h)
  size_t objects_to_local = 0;    // loose object and pack files copied into the cache
  size_t objects_to_remote = 0;
  struct Moved {
    std::string ref;
    bool to_remote_value = false;  // the cache moved to the remote's commit (else the remote moved)
  };
  std::vector<Moved> fast_forwarded;
  struct Diverged {
    std::string ref;      // refs/heads/main: keeps the cache's value on both sides
    std::string kept_as;  // refs/remotes/hoard/<share>/main: holds the remote's
  };
  std::vector<Diverged> diverged;
  bool head_from_remote = false;  // HEAD, the index, ... follow the remote's side

  // "merged the repository: 3 object files to the remote, 1 to the cache;
  // fast-forwarded refs/heads/dev to the remote's; diverged: refs/heads/main
  // (the remote's is refs/remotes/hoard/docs/main)".
  std::string summary() const;
};

// Why the repository copy in `dir` cannot be merged now, in a user's words
// ("is in the middle of a rebase (rebase-merge/ exists)", "holds the lock
// file index.lock (a git command is running, or crashed)"), or nullopt.
std::optional<std::string> repoBusy(const std::string& dir);

// Merges the copies in `local_dir` and `remote_dir` (either may be empty:
// that side holds no repository). `share` names the refs that keep the
// remote's diverged values. Errors: kCorrupt naming the side and libgit2's
// words where a copy is no repository libgit2 can read; kIo reading a file.
Result<RepoMerge> mergeRepos(const std::string& local_dir, const std::string& remote_dir,
                             const std::string& share);

class GitRepo final : public Resolver {
 public:
  GitRepo();
  ~GitRepo() override;
  std::string_view name() const override { return "git-repo"; }
  std::string_view summary() const override {
    return "a git repository merged as a repository: objects unioned, refs fast-forwarded or "
           "kept side by side";
  }
  // kMerged with the writes and the summary as its reason; kDefer for a
  // conflict that is no repo conflict, a repository busy on a side, or no
  // copies to read.
  Result<Decision> resolve(const ConflictView& c, const nlohmann::json& options) override;
};

}  // namespace hoard::resolvers
