// SPDX-License-Identifier: MIT
#pragma once

// What hoard knows about one file without reading its bytes.

#include <sys/stat.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/Hash.h"
#include "common/RelPath.h"

namespace hoard {

enum class FileType : uint8_t { kNone = 0, kFile = 1, kDir = 2, kSymlink = 3, kOther = 4 };

std::string_view fileTypeName(FileType t);  // "none", "file", "dir", "symlink", "other"
FileType fileTypeFromMode(mode_t mode);

struct FileMeta {
  FileType type = FileType::kNone;
  uint64_t size = 0;
  uint32_t mode = 0;  // permission bits only (07777)
  int64_t mtime_ns = 0;
  int64_t ctime_ns = 0;
  uint64_t inode = 0;

  bool operator==(const FileMeta&) const = default;

  static FileMeta fromStat(const struct stat& st);
};

// The metadata comparison that decides "changed" before any hash is read:
// type, size, mode, mtime_ns, ctime_ns and inode. ctime catches a rewrite that
// restored the mtime; inode catches a replace-by-rename.
inline bool sameMetadata(const FileMeta& a, const FileMeta& b) { return a == b; }

// One row of a share's base: the state both sides last agreed on for a path.
struct BaseEntry {
  RelPath path;
  FileMeta local;                      // the cache file as hoard last saw it
  std::string data_version;            // the remote's data version (opaque bytes)
  std::optional<ContentHash> hash;     // content hash (files and symlink targets)
  std::optional<ContentHash> object;   // id of the base content kept in the store, if kept
  std::string symlink_target;          // for symlinks

  bool operator==(const BaseEntry&) const = default;
};

}  // namespace hoard
