// SPDX-License-Identifier: MIT
#pragma once

// What `share add` refuses before anything is stored or written: a share
// name that cannot be shown or typed, and roots that overlap. Two roots
// overlap when one is the other or lies inside it, decided after resolving
// symlinks (realpath) and bind mounts (a bind mount of a directory shows the
// same st_dev and st_ino as the directory, so each path's ancestors are
// compared by device and inode with the other root). A cache inside its
// remote is copied into the remote again by every pass; two shares on the
// same or nested directories write one remote's files into another.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/Error.h"
#include "common/RelPath.h"

namespace hoard::sync {

inline constexpr size_t kMaxShareNameBytes = 64;

// kInvalidArgument, naming the problem, for a name that is empty, holds '/',
// a control character (bytes < 0x20 and 0x7f) or is over 64 bytes.
Status validateShareName(const std::string& name);

struct DevIno {
  uint64_t dev = 0;
  uint64_t ino = 0;
  bool operator==(const DevIno&) const = default;
};

// Where a root lies: its path with symlinks resolved (the part that exists
// resolved by realpath, the rest appended lexically), its own device and
// inode if it exists, and those of each existing ancestor up to "/".
struct RootPlace {
  std::string given;
  std::string resolved;
  std::optional<DevIno> self;
  std::vector<DevIno> ancestors;  // parent first, "/" last
  bool isFilesystemRoot() const;
};

// Observes `path` (absolute). Blocking: it stats the path and each of its
// ancestors, so a hung mount blocks the caller; run it on a pool worker.
// Never fails: a path that does not exist (yet) gets no `self`, and one that
// cannot be resolved at all is placed lexically.
RootPlace observeRoot(const std::string& path);

// `path` lexically normalised ("/a/./b/" -> "/a/b"), symlinks untouched.
std::string normalPath(const std::string& path);

// A path placed from its text alone (when observing it failed or timed out).
RootPlace lexicalRoot(const std::string& path);

enum class Overlap : uint8_t { kNone, kSame, kInside, kContains };

// How `a` relates to `b`: kSame (one directory), kInside (a lies under b),
// kContains (b lies under a), or kNone.
Overlap overlap(const RootPlace& a, const RootPlace& b);

// "is the same directory as", "is inside", "contains".
std::string_view overlapWords(Overlap o);

}  // namespace hoard::sync
