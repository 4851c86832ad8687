// SPDX-License-Identifier: MIT
#pragma once

// What a resolver sees of a conflict: its description and its three
// versions as read-only file descriptors, never the journal, the engine or
// a path it could write to (design.md, "Layers"). The caller (hoardd) owns
// every descriptor and keeps it open while the resolver runs.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "common/ConflictKind.h"
#include "common/FileMeta.h"
#include "common/Hash.h"
#include "common/RelPath.h"

namespace hoard::resolvers {

// One version of the conflicting path as it was when the conflict was
// detected.
struct Version {
  FileType type = FileType::kNone;  // kNone: absent (deleted, or never existed)
  uint64_t size = 0;
  uint32_t mode = 0;
  int64_t mtime_ns = 0;
  std::optional<ContentHash> hash;
  std::string symlink_target;
  // The bytes, read-only, read from offset 0 with pread; -1 where there are
  // none to read (absent, a directory, or a base the store did not keep).
  int fd = -1;
  // A repo conflict (its path a git repository directory): a directory
  // holding a copy of this side's repository as it was when the resolver
  // was called, made for it and removed after it; writing there changes
  // nothing. Empty for every other kind, and where the side has none.
  // The base's (ConflictView::base) holds only its refs (`packed-refs`,
  // `refs/**`), and is empty where they were not all kept: a merge then
  // cannot tell a deleted branch from a new one.
  std::string tree;

  bool exists() const { return type != FileType::kNone; }
};

// How one side's version differs from the base.
enum class SideChange {
  kNone,      // same as the base
  kMetadata,  // same bytes, other mode or times
  kContent,   // other bytes
  kCreated,   // no base, present now
  kDeleted,   // in the base, absent now
  kType,      // another type than the base's
};
std::string_view sideChangeName(SideChange c);  // "none", "metadata", "content", ...
std::optional<SideChange> sideChangeFromName(std::string_view name);
SideChange sideChange(const Version& base, const Version& side);

// Another path of the same share, as each side holds it now: what a rule that
// follows a related file (`*.o` follows `$stem.c`) decides from.
struct Related {
  std::optional<FileMeta> local;
  std::optional<FileMeta> remote;
  // When that path had a conflict that was resolved: which side was kept
  // ("keep-local", "keep-remote", ...); empty otherwise.
  std::string resolution;
};

struct ConflictView {
  int64_t id = 0;
  std::string share;
  RelPath path;
  ConflictKind kind = ConflictKind::kContent;
  Version base, local, remote;
  // A writable, empty file for a merged result (a memfd); -1 in a dry run,
  // where a merging resolver only reports what it would do.
  int output_fd = -1;
  // Looks up another path of the share; unset where nothing can be looked up.
  std::function<std::optional<Related>(const RelPath&)> related;
  // `.gitattributes` lookups for a path: the value of `attr` ("merge",
  // "binary", "text", "eol") for this path, as git would resolve it from the
  // share's .gitattributes files; unset where not available.
  std::function<std::optional<std::string>(const std::string& attr)> git_attr;
};

}  // namespace hoard::resolvers
