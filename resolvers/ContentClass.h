// SPDX-License-Identifier: MIT
#pragma once

// The MIME-ish class a rule can match on ("class": "text"), decided from the
// path and the first bytes of the versions, as git and file(1) would:
//   git     the path lies inside a `.git` directory
//   sqlite  a version starts with the SQLite header "SQLite format 3\0"
//   binary  a version holds a NUL byte in its first 8000 bytes (git's test)
//   text    anything else with bytes (an empty file is text)
//   none    no version has bytes to look at (directories, symlinks)

#include <optional>
#include <string_view>

#include "Conflict.h"

namespace hoard::resolvers {

enum class ContentClass { kText, kBinary, kSqlite, kGit, kNone };

std::string_view contentClassName(ContentClass c);  // "text", "binary", "sqlite", "git", "none"
std::optional<ContentClass> contentClassFromName(std::string_view name);

ContentClass classify(const ConflictView& c);

// Whether the first 8000 bytes readable from `fd` (with pread, from offset 0)
// hold a NUL. -1 is not binary.
bool looksBinary(int fd);

}  // namespace hoard::resolvers
