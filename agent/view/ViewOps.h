// SPDX-License-Identifier: MIT
#pragma once

// The table of FUSE operations View mounts with. Internal to hoard_view.

#define FUSE_USE_VERSION 314
#include <fuse3/fuse.h>

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

}  // namespace hoard::view
