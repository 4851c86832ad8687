// SPDX-License-Identifier: MIT
#pragma once

// The remote's data version: an opaque byte string that changes whenever a
// path's data (or type) changes, so equal versions mean "unchanged since the
// base". Pluggable, because only some filesystems have a true one.

#include <sys/stat.h>

#include <memory>
#include <string>

#include "common/Error.h"

namespace hoard::remote {

class DataVersionProbe {
 public:
  virtual ~DataVersionProbe() = default;

  // The version of the entry `name` in the directory `dirfd` (an fd the caller
  // owns and keeps open for the call; O_PATH is enough), whose lstat result is
  // `st`. Never follows a symlink. Called from any thread, concurrently.
  virtual Result<std::string> version(int dirfd, const std::string& name,
                                      const struct stat& st) = 0;
};

// The POSIX default: (ctime_ns, mtime_ns, size, inode, file type) as bytes. Any
// write changes mtime and ctime; a replace-by-rename changes the inode; a
// rewrite that restores mtime still moves ctime.
class PosixDataVersionProbe final : public DataVersionProbe {
 public:
  Result<std::string> version(int dirfd, const std::string& name, const struct stat& st) override;

  // The same value, straight from a stat (no I/O).
  static std::string fromStat(const struct stat& st);
};

// For filesystems that keep a true data version in an extended attribute
// (a server-maintained change counter, or one a hook keeps). Reads xattr
// `attr_name` of the entry; the version is that value. Where the attribute is
// missing (or the entry cannot carry one, e.g. a symlink), falls back to the
// POSIX version if `fallback_to_posix`, else kNotFound. The two kinds of value
// are tagged so they never compare equal to each other.
class XattrDataVersionProbe final : public DataVersionProbe {
 public:
  explicit XattrDataVersionProbe(std::string attr_name, bool fallback_to_posix = true)
      : attr_name_(std::move(attr_name)), fallback_to_posix_(fallback_to_posix) {}

  Result<std::string> version(int dirfd, const std::string& name, const struct stat& st) override;

 private:
  const std::string attr_name_;
  const bool fallback_to_posix_;
};

}  // namespace hoard::remote
