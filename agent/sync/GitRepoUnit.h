// SPDX-License-Identifier: MIT
#pragma once

// Git repositories inside a share are units (design.md, "Resolvers"): a
// directory holding a file `HEAD` and directories `objects/` and `refs/` (a
// `.git` directory or a bare repository). A pass treats one that changed on
// both sides as one conflict of kind `repo` on the directory (Plan.cc), and
// carries one that changed on one side only in an order git tolerates when
// the pass is cut at any point (resolvers/GitRepoOrder.h); files the other
// side deleted (git gc, pack-refs) go last.
//
// Pure functions over the pass's listings; internal to agent/sync.

#include <map>
#include <vector>

#include "GitRepoOrder.h"
#include "common/RelPath.h"
#include "remote/RemoteFs.h"

namespace hoard::sync {

using GitStatMap = std::map<RelPath, remote::Stat, PathLess>;

// The repositories either listing holds, outermost only (a submodule's
// repository under .git/modules/ is part of its parent's), in path order.
std::vector<RelPath> findGitRepos(const GitStatMap& local, const GitStatMap& remote);

// The repository of `repos` that `p` is (or lies beneath), or null.
const RelPath* gitRepoOf(const std::vector<RelPath>& repos, const RelPath& p);

// The order in which `p` reaches the other side (resolvers/GitRepoOrder.h):
// lower first. Paths outside any repository, and a repository's directory
// itself, rank with the objects.
resolvers::GitRank gitRankIn(const std::vector<RelPath>& repos, const RelPath& p);

// "objects/pack/pack-1.idx" for `p` inside `repo` (the path within it).
RelPath insideRepo(const RelPath& repo, const RelPath& p);

}  // namespace hoard::sync
