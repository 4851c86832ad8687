// SPDX-License-Identifier: MIT
#pragma once

// What a resolver returns for one conflict (design.md, "Resolvers"). The
// engine applies it (sync::Reconciler::apply); a resolver only decides.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/ConflictKind.h"
#include "common/RelPath.h"

namespace hoard::resolvers {

enum class DecisionKind {
  kKeepLocal,   // the cache's version wins on both sides
  kKeepRemote,  // the remote's version wins on both sides
  kStash,       // both kept: the loser beside the winner under a stash name
  kMerged,      // the resolver wrote a result to ConflictView::output_fd (a repo
                // conflict: Decision::writes, GitRepo.h)
  // The resolver wrote a merge that still holds conflict markers to
  // output_fd: the cache gets it, the remote stays as it is, and the
  // conflict stays open, marked "merging", until the user saves a version
  // without markers and keeps it (hoard resolve ID --with keep-local).
  kMarkers,
  kDelete,      // deleted on both sides (only where one side deleted it)
  kDefer,       // no decision: the conflict stays open for a person
};

// "keep-local", "keep-remote", "stash", "merged", "markers", "delete", "defer".
std::string_view decisionKindName(DecisionKind k);
std::optional<DecisionKind> decisionKindFromName(std::string_view name);

// Whether `d` has a meaning for a conflict of kind `k`: merged and markers need a file
// on both sides (content, create-create; merged also a repository, repo); delete needs a side that deleted
// (modify-delete, delete-modify, dir-delete); defer and the keeps always do.
bool decisionAllowed(DecisionKind d, ConflictKind k);

// One file a repository merge (kMerged of a repo conflict, GitRepo.h) puts
// on one side. The engine applies a decision's writes in order, each
// compare-and-swap: a create-only write where the side holds nothing at the
// path (objects are never overwritten), a replace against the file the side
// held when the copies were made, or a removal of that file (a branch
// deleted on the other side: its ref and its reflog).
struct TreeWrite {
  enum class From { kLocal, kRemote, kBytes };
  bool to_remote = false;    // the side written (else the cache)
  RelPath path;              // inside the repository directory
  From from = From::kBytes;  // a copy of that side's file (Version::tree), or `bytes`
  std::string bytes;
  bool create_only = false;
  bool remove = false;       // removes the file instead (from and bytes unused)
  uint32_t mode = 0644;      // permission bits of the file written
};

struct Decision {
  DecisionKind kind = DecisionKind::kDefer;
  // Why, in words a user reads in `hoard resolve --dry-run` and, for a
  // deferral, in the conflict's detail: "2 of 5 hunks conflict", "binary
  // content", "no base version was kept".
  std::string reason;
  // A merge: the hunks left conflicting (0 for a clean merge).
  int conflicting_hunks = 0;
  // A repository merge: what each side is given, in git's order (objects,
  // pack indexes, refs, reflogs, HEAD and the rest).
  std::vector<TreeWrite> writes = {};

  static Decision defer(std::string why) { return {DecisionKind::kDefer, std::move(why), 0}; }
};

}  // namespace hoard::resolvers
