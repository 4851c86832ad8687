// SPDX-License-Identifier: MIT
#pragma once

// Extended attributes travel with a file's content between the cache and the
// remote. Only the "user." namespace is carried: the others (security.,
// trusted., system.) are the filesystem's or the administrator's, differ
// between filesystems and need privileges.

#include "common/Error.h"
#include "remote/RemoteFs.h"

namespace hoard::sync {

// Makes the user.* xattrs of `to`:`path` equal to those of `from`:`path`
// (sets what differs, removes what `from` lacks). Returns whether `to` was
// changed (its ctime, and so its data version, moved). A side without xattr
// support (kUnsupported) is not an error: there is nothing to carry.
Result<bool> copyUserXattrs(remote::RemoteFs& from, remote::RemoteFs& to, const RelPath& path);

}  // namespace hoard::sync
