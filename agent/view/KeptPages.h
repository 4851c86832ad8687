// SPDX-License-Identifier: MIT
#pragma once

// Whether the kernel may keep the pages it cached of a local file (one the
// cache root holds) when it is opened again through the view: only if the
// file is the one those pages came from. The engine replaces cache files
// (a pull renames a new version over, keeping the remote's mtime, perhaps
// the same size), which the kernel cannot see; a replaced file opened again
// must be read anew, never from the old version's pages. Internal to
// hoard_view.
//
// Threads: any (its own lock).

#include <sys/stat.h>

#include <cstdint>
#include <unordered_map>

#include "common/RelPath.h"
#include "common/ThreadAnnotations.h"

namespace hoard::view {

class KeptPages {
 public:
  enum class Verdict {
    kFirst,    // never opened since the mount: pages of a placeholder may be cached, drop them
    kSame,     // the same file as at its last open: keep the pages
    kChanged,  // another file or changed since: drop pages and attributes
  };
  // Records that `path` was opened as the local file `st` (fstat of the
  // descriptor opened) and says how that compares with its last open.
  Verdict opened(const RelPath& path, const struct stat& st) HOARD_EXCLUDES(mu_);

 private:
  struct Identity {
    dev_t dev = 0;
    ino_t ino = 0;
    off_t size = 0;
    int64_t mtime_ns = 0;
    int64_t ctime_ns = 0;
    bool operator==(const Identity&) const = default;
  };
  Mutex mu_;
  std::unordered_map<RelPath, Identity> seen_ HOARD_GUARDED_BY(mu_);
};

}  // namespace hoard::view
