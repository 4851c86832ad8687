// SPDX-License-Identifier: MIT
#pragma once

// One local operation, as the tracker observes it and the change log keeps it.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/RelPath.h"

namespace hoard {

// Stored in the journal as these integers: never renumber.
enum class ChangeOp : uint8_t {
  kCreate = 1,   // a new regular file at `path` (its content is whatever the cache holds)
  kWrite = 2,    // the content of the file at `path` changed
  kMkdir = 3,    // a new directory at `path`
  kRename = 4,   // `path` was renamed to `to`
  kUnlink = 5,   // the file or symlink at `path` was removed
  kRmdir = 6,    // the directory at `path` was removed
  kChmod = 7,    // the permission bits of `path` changed to `mode`
  kSymlink = 8,  // a new symlink at `path` pointing at `target`
  kXattr = 9,    // the extended attributes of `path` changed
};

std::string_view changeOpName(ChangeOp op);  // "create", "write", ...
std::optional<ChangeOp> changeOpFromName(std::string_view name);

struct Change {
  ChangeOp op = ChangeOp::kWrite;
  RelPath path;
  RelPath to;            // kRename only: the new path
  uint32_t mode = 0;     // kChmod, kCreate, kMkdir: permission bits (0 if unknown)
  std::string target;    // kSymlink only: the link's target bytes

  bool operator==(const Change&) const = default;
};

// A Change as stored in the change log: `seq` orders it within its journal.
struct LoggedChange {
  int64_t seq = 0;
  int64_t share_id = 0;
  Change change;
  int64_t logged_at_ns = 0;  // wall-clock time the change was made durable
};

}  // namespace hoard
