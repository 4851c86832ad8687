// SPDX-License-Identifier: MIT
#pragma once

// A conflict's detail: what each side (and the base) held at the path when
// the conflict was detected, and for a rename-rename the other paths it
// holds. One typed value with one codec; the journal stores its JSON text in
// ConflictRecord::detail. Paths are bytes, so they travel hex-encoded beside
// a display form.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/FileMeta.h"
#include "common/Hash.h"
#include "common/RelPath.h"

namespace hoard::sync {

// One side of a conflicting path as it was seen.
struct SideSeen {
  FileType type = FileType::kNone;  // kNone: absent on that side
  uint64_t size = 0;
  uint32_t mode = 0;
  int64_t mtime_ns = 0;
  int64_t ctime_ns = 0;
  uint64_t inode = 0;
  std::string data_version;          // the side's data version (opaque bytes)
  std::optional<ContentHash> hash;   // content hash when known
  std::string symlink_target;
  // Directories: a digest of every entry beneath (path, type, data version),
  // so a change anywhere in the subtree is seen.
  std::string subtree_digest;
  // The state was recorded with its data version (conflicts recorded before
  // hoard kept it have none, and are refreshed before they can be resolved).
  bool recorded = false;

  bool exists() const { return type != FileType::kNone; }
  bool operator==(const SideSeen&) const = default;
};

// What a side did beneath a directory at the heart of a dir-delete conflict.
struct SubtreeChange {
  RelPath path;
  std::string what;  // "added", "modified"
  bool operator==(const SubtreeChange&) const = default;
};

struct ConflictDetail {
  SideSeen local;
  SideSeen remote;
  SideSeen base;
  // rename-rename: the cache renamed `from` to the conflict's path, the
  // remote renamed it to `remote_to`.
  std::optional<RelPath> from;
  std::optional<RelPath> remote_to;
  // dir-delete: what the side that kept the directory changed beneath it.
  std::vector<SubtreeChange> local_beneath;
  std::vector<SubtreeChange> remote_beneath;
  // Why a resolver deferred, for `hoard conflicts` (empty: none said).
  std::string note;
  // The cache holds a merge with conflict markers (git-merge with
  // on_conflict=markers, ApplyMarkers.cc): `local` is that merge, and a
  // keep-local takes whatever the cache holds by then, unless it still
  // holds markers.
  bool merging = false;

  bool operator==(const ConflictDetail&) const = default;
};

// JSON text of `d` (stable keys; paths as "x" and "x_hex").
std::string encodeDetail(const ConflictDetail& d);
// Parses what encodeDetail wrote, and the older hand-written forms. Unknown
// or malformed text gives an empty detail (every side kNone), never an error:
// the detail is informative, the journal row is what counts.
ConflictDetail decodeDetail(std::string_view json);

std::string toHex(std::string_view bytes);
std::string fromHex(std::string_view hex);

}  // namespace hoard::sync
