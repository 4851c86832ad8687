// SPDX-License-Identifier: MIT
#pragma once

// The kinds of conflict (design.md, "Three-way decisions"). Shared by the
// journal (which stores them), the engine (which detects them) and the
// resolvers (whose rules match on them), so it lives below all three.

#include <optional>
#include <string_view>

namespace hoard {

enum class ConflictKind {
  kContent,       // both sides changed the file's bytes
  kModifyDelete,  // changed in the cache, deleted on the remote
  kDeleteModify,  // deleted in the cache, changed on the remote
  kCreateCreate,  // created on both sides with different content
  kType,          // one side holds another type (file, dir, symlink)
  kMetadata,      // only mode/times/xattrs differ, on both sides
  kDirDelete,     // a directory deleted on one side, changed beneath on the other
  kRenameRename,  // renamed to different names on the two sides
  // A git repository directory (HEAD, objects/, refs/) changed on both
  // sides: one conflict for the whole directory, merged as a repository
  // (resolvers/GitRepo.h), never file by file.
  kRepo,
};

// "content", "modify-delete", "delete-modify", "create-create", "type",
// "metadata", "dir-delete", "rename-rename", "repo" (design.md's names).
std::string_view conflictKindName(ConflictKind k);
std::optional<ConflictKind> conflictKindFromName(std::string_view name);

}  // namespace hoard
