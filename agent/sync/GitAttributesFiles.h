// SPDX-License-Identifier: MIT
#pragma once

// The daemon's half of `.gitattributes` for git-merge: the files that bear
// on a path, read from the cache root, made into the resolver's lookup.

#include "GitAttributes.h"
#include "common/Error.h"
#include "remote/RemoteFs.h"

namespace hoard::sync {

// Largest .gitattributes file read; a bigger one is an error naming it.
inline constexpr size_t kMaxGitAttributesBytes = 1 << 20;

// Reads ".gitattributes", "a/.gitattributes", ... for `path` from `cache`
// (the cache root's RemoteFs: beneath the root, never through a symlink);
// an absent file is skipped. Errors: the file system's, naming the file
// (kInvalidArgument for one over kMaxGitAttributesBytes). Any thread that
// may use `cache`.
Result<resolvers::GitAttributes> readGitAttributes(remote::RemoteFs& cache, const RelPath& path);

}  // namespace hoard::sync
