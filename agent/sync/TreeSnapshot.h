// SPDX-License-Identifier: MIT
#pragma once

// What each side held beneath the paths of a decision on a folder (or
// between two renames): every entry with its type, mode, user.* xattrs, a
// file's bytes as a store object and a link's target. The history keeps one
// taken before the decision and one after it (ResolutionRecord::before_tree,
// after_tree), so `hoard undo` can put both sides back (UndoTree.cc).
// Internal to agent/sync.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sync/PassState.h"

namespace hoard::sync {

struct TreeEntry {
  RelPath path;
  FileType type = FileType::kNone;
  uint32_t mode = 0;
  std::string data_version;             // as listed: an entry untouched since is this one
  std::optional<ContentHash> hash;      // a file's content (a database's snapshot hash)
  std::optional<ContentHash> object;    // a file's bytes in the store (taken with keep)
  std::string link;                     // a symlink's target
  std::optional<UserXattrs> xattrs;     // none: the side keeps no xattrs (or not read)
  bool operator==(const TreeEntry&) const = default;
};

struct TreeSides {
  std::vector<RelPath> roots;         // the paths the snapshot covers, and all beneath
  std::vector<TreeEntry> local;       // parents first
  std::vector<TreeEntry> remote;
  bool operator==(const TreeSides&) const = default;
};

// JSON text of `t` (paths, targets and xattr values hex-encoded).
std::string encodeTrees(const TreeSides& t);
// What encodeTrees wrote; nullopt for "" or text it did not write.
std::optional<TreeSides> decodeTrees(std::string_view text);

// How much a snapshot takes of each entry.
enum class TreeTake : uint8_t {
  kCompare,  // what an undo compares against: type, mode, data version, target
  kXattrs,   // ... and the user.* xattrs of files and folders
  kKeep,     // ... and every file's bytes kept in the store (entry.object, hash)
};

// Both sides as they are now at and beneath `roots`, listed afresh.
// Errors: the sides' (a listing, an xattr read or a copy that failed).
Result<TreeSides> snapshotTrees(PassState& pass, const std::vector<RelPath>& roots,
                                TreeTake take);

// The store objects `t` names (each once).
std::vector<ContentHash> treeObjects(const TreeSides& t);

}  // namespace hoard::sync
