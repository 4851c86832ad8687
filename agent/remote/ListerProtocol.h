// SPDX-License-Identifier: MIT
#pragma once

// What hoard-lister (lister/) sends back over its one ssh channel: the tree
// beneath a share's root as the server sees it, next to the data, so a pass
// learns what changed without a round trip per directory and per file.
//
// The stream is text, one record a line, paths as hex (names are bytes and
// may hold newlines):
//   hoard-lister 1 MARKER             MARKER: hex of the root's .hoard-share-id, "-" if none
//   e TYPE MODE SIZE MTIME CTIME INO DEV PATH
//                                     one entry: TYPE f|d|l|o, MODE octal
//                                     permission bits, times in ns, PATH hex
//   u ERRNO PATH                      a directory that could not be listed:
//                                     unknown beneath, never empty
//   end COUNT                         the last line: COUNT e and u records
// Entries come parents before children; hoard's own names (`.hoard-tmp-*`,
// the marker at the root) are left out by the lister. A stream without its
// end line, or whose count differs, is truncated and is never taken as the
// tree: an absent remote is not an empty remote.

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/Error.h"
#include "common/FileMeta.h"
#include "common/RelPath.h"

namespace hoard::remote {

inline constexpr int kListerProtocol = 1;

struct ListerEntry {
  RelPath path;
  FileMeta meta;                     // as lstat on the server says
  uint64_t dev = 0;                  // st_dev on the server
  std::optional<int> unlisted_errno;  // set: a directory that could not be listed

  bool operator==(const ListerEntry&) const = default;
};

// True for the names the lister leaves out: hoard's temporaries anywhere,
// the marker at the root (as RemoteFs hides them).
bool listerSkips(std::string_view name, bool at_root);

// The writer's lines (each ends in '\n').
std::string listerHeader(std::string_view marker_bytes, bool has_marker);
std::string listerEntryLine(const ListerEntry& e);
std::string listerEndLine(uint64_t count);

// Reads a stream fed in chunks of any size. Errors (kCorrupt) name the line
// and what is wrong with it.
class ListerParser {
 public:
  Status feed(std::string_view chunk);
  // The stream's end line was read and its count matched.
  bool complete() const { return complete_; }
  // After the header: the marker's bytes (nullopt: the root had none).
  const std::optional<std::string>& marker() const { return marker_; }
  bool sawHeader() const { return header_; }
  std::vector<ListerEntry>& entries() { return entries_; }

 private:
  Status line(std::string_view l);
  std::string partial_;
  bool header_ = false, complete_ = false;
  uint64_t line_no_ = 0;
  std::optional<std::string> marker_;
  std::vector<ListerEntry> entries_;
};

}  // namespace hoard::remote
