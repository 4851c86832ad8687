// SPDX-License-Identifier: MIT
#pragma once

// /proc/self/mountinfo, parsed (see proc(5)). Used to tell which mount a
// share's remote root is on, so an unmounted share (an empty mountpoint on
// the parent filesystem) or a different filesystem is recognised as such.

#include <string>
#include <string_view>
#include <vector>

#include "common/Error.h"

namespace hoard::remote {

struct MountEntry {
  int mount_id = 0;
  int parent_id = 0;
  std::string device;       // "major:minor"
  std::string root;         // the mount's root within its filesystem (unescaped)
  std::string mount_point;  // unescaped: may hold spaces, tabs, newlines, backslashes
  std::string mount_options;
  std::vector<std::string> optional_fields;  // "shared:1", "master:2", ...
  std::string fstype;
  std::string source;  // unescaped; "none" and the like kept verbatim
  std::string super_options;

  bool operator==(const MountEntry&) const = default;
};

// Decodes the kernel's octal escapes (\040 space, \011 tab, \012 newline,
// \134 backslash, any \ooo); a backslash not followed by three octal digits
// is kept as is.
std::string unescapeMountField(std::string_view field);

// Parses the whole text. kCorrupt naming the line number for a malformed line.
Result<std::vector<MountEntry>> parseMountinfo(std::string_view text);

// Reads and parses `path` (normally /proc/self/mountinfo).
Result<std::vector<MountEntry>> readMountinfo(const std::string& path);

// The mount that holds the absolute, canonical path `path`: the entry whose
// mount point is the longest component-wise prefix of it ("/a/b" holds
// "/a/b/c", not "/a/bc"); among mounts stacked on the same point, the last
// listed (the one on top). Null if none (only if "/" is missing).
const MountEntry* findMountFor(const std::vector<MountEntry>& mounts, std::string_view path);

}  // namespace hoard::remote
