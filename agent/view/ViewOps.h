// SPDX-License-Identifier: MIT
#pragma once

// The table of FUSE operations View mounts with. Internal to hoard_view.

#define FUSE_USE_VERSION 314
#include <fcntl.h>
#include <fuse3/fuse.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "common/RelPath.h"
#include "view/ViewCore.h"

namespace hoard::view {

fuse_operations viewOperations();

// The calls that change the share (ViewWrite.cc), into `ops`.
void addWriteOperations(fuse_operations& ops);
// Extended attributes (ViewXattr.cc), into `ops`.
void addXattrOperations(fuse_operations& ops);
// open() of `path` to write (O_WRONLY, O_RDWR) or truncate (O_TRUNC).
int openForWrite(const char* path, struct fuse_file_info* fi);

// The view of the request at hand.
inline ViewCore& requestCore() {
  return *static_cast<ViewCore*>(fuse_get_context()->private_data);
}
// "/a/b" (the kernel's form) -> "a/b"; "/" -> "".
inline RelPath requestPath(const char* path) {
  return RelPath(path[0] == '/' ? path + 1 : path);
}

// Runs fn(dirfd, name) on the directory holding `p` in the cache root (no
// symlink followed on the way): its result if that is >= 0, else -errno.
template <class F>
auto atLocalParent(const RelPath& p, F fn) {
  int dir = requestCore().openLocal(RelPath(parentOf(p)), O_PATH | O_DIRECTORY);
  using R = decltype(fn(dir, ""));
  if (dir < 0) return static_cast<R>(dir);
  R r = fn(dir, std::string(baseName(p)).c_str());
  int err = errno;
  ::close(dir);
  return r < 0 ? static_cast<R>(-err) : r;
}

// True if the cache root holds `p` (hydrated, kept, or made in the view).
inline bool isLocal(const RelPath& p) {
  struct stat st {};
  return requestCore().localStat(p, &st);
}

}  // namespace hoard::view
