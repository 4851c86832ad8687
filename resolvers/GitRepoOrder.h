// SPDX-License-Identifier: MIT
#pragma once

// The parts of a git repository directory, as a path inside it names them,
// and the order in which they may reach another copy of the repository so
// that it passes `git fsck --full` at every step: an object before anything
// that names it, a pack before its index, objects before the refs that point
// at them, refs before their reflogs, and HEAD, the index and the rest last.
// Shared by the engine (the order of a pass's transfers) and the git-repo
// resolver (the order of its writes).

#include <string_view>

namespace hoard::resolvers {

enum GitRank : int {
  kGitObjects = 0,  // loose objects, packs (*.pack, *.keep, ...)
  kGitPackIndex,    // objects/pack/*.idx, *.rev, *.bitmap: a pack is used once its index is there
  kGitRefs,         // refs/**, packed-refs
  kGitLogs,         // logs/** (reflogs)
  kGitHead,         // HEAD, index, ORIG_HEAD, config, objects/info/*, multi-pack-index, the rest
  kGitRanks
};

// `inside`: a path relative to the repository directory ("objects/ab/cd..").
GitRank gitRank(std::string_view inside);

// True for the files whose name is their content's id: loose objects and
// the files of a pack. Never overwritten, only added where missing.
bool isImmutableGitFile(std::string_view inside);

}  // namespace hoard::resolvers
