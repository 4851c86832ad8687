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
//            shows both and no commit of either side ends unreachable; a
//            ref one side deleted (`git branch -D`) that the other left as
//            the base had it is deleted there too (with its reflog), one
//            the other side moved since is kept on both and reported;
//   reflogs  both sides' entries: the cache's, then the remote's it lacks;
//   the rest (HEAD, the index, ORIG_HEAD, FETCH_HEAD, config, ...) follows
//            the side whose HEAD is kept (the remote's where HEAD's branch
//            fast-forwarded to it, else the cache's); a file only the other
//            side has is copied as it is.
// Nothing else is deleted on either side. A repository in the middle of a
// rebase, merge, cherry-pick or revert, or holding a `*.lock` file, on
// either side, is deferred with that reason; so is one holding symlinks
// (repoSymlinks).

#include <optional>
#include <string>
#include <vector>

#include "Resolver.h"

namespace hoard::resolvers {

// What merging two copies of a repository does.
struct RepoMerge {
  std::vector<TreeWrite> writes;  // in git's order (GitRepoOrder.h; mergeRank in GitRepo.cc)
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
  struct Deleted {
    std::string ref;
    bool in_cache = false;  // deleted in the cache (else on the remote)
  };
  // Deleted on one side, unchanged on the other since the base: deleted there too.
  std::vector<Deleted> deleted;
  // Deleted on one side but moved on the other: kept on both.
  std::vector<Deleted> kept;
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

// Why the repository copies cannot be merged for the symlinks they hold,
// or nullopt. A symlink among the parts git reads as the repository
// (objects/, refs/, logs/, HEAD, packed-refs, index: git-new-workdir shares
// another repository's that way) would lead git, and a merge, out of the
// repository; one elsewhere (hooks/, info/) that both sides hold alike is
// left as it is, and one that differs or only one side has defers: hoard
// writes no symlinks into a repository it merges. Symlinks are rare inside
// .git; a repository changed on one side only carries them as symlinks.
std::optional<std::string> repoSymlinks(const std::string& local_dir,
                                        const std::string& remote_dir);

// Merges the copies in `local_dir` and `remote_dir` (either may be empty:
// that side holds no repository). `share` names the refs that keep the
// remote's diverged values. `base_dir` holds the base's refs (packed-refs,
// refs/**), "" where they are unknown. Errors: kCorrupt naming the side and
// libgit2's words where a copy is no repository libgit2 can read; kIo
// reading a file.
Result<RepoMerge> mergeRepos(const std::string& local_dir, const std::string& remote_dir,
                             const std::string& share, const std::string& base_dir = "");

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
