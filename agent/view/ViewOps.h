// SPDX-License-Identifier: MIT
#pragma once

// The table of FUSE operations View mounts with. Internal to hoard_view.

#define FUSE_USE_VERSION 314
#include <fuse3/fuse.h>

namespace hoard::view {

fuse_operations viewOperations();

}  // namespace hoard::view
