// SPDX-License-Identifier: MIT
#pragma once

// Extended attributes travel with a file's content between the cache and the
// remote. Only the "user." namespace is carried: the others (security.,
// trusted., system.) are the filesystem's or the administrator's, differ
// between filesystems and need privileges.

#include <map>
#include <string>

#include "common/Error.h"
#include "remote/RemoteFs.h"

namespace hoard::sync {

// Makes the user.* xattrs of `to`:`path` equal to those of `from`:`path`
// (sets what differs, removes what `from` lacks). Returns whether `to` was
// changed (its ctime, and so its data version, moved). A side without xattr
// support (kUnsupported) is not an error: there is nothing to carry.
Result<bool> copyUserXattrs(remote::RemoteFs& from, remote::RemoteFs& to, const RelPath& path);

// The user.* xattrs of one path, by name.
using UserXattrs = std::map<std::string, std::string>;

// Makes the user.* xattrs of `to`:`path` exactly `want` (sets what differs,
// removes what `want` lacks). Returns whether `to` was changed; a side
// without xattr support is not an error.
Result<bool> makeUserXattrs(remote::RemoteFs& to, const RelPath& path, const UserXattrs& want);

// The user.* xattrs of `fs`:`path`; kUnsupported where `fs` has none.
Result<UserXattrs> readUserXattrs(remote::RemoteFs& fs, const RelPath& path);

// Gives `to`:`path`, a file hoard has just created (a temporary renamed or
// linked into place: it has no user.* xattrs yet), the xattrs `want`, without
// listing what it has. Returns whether `to` was changed; a side without
// xattr support is not an error.
Result<bool> setUserXattrs(remote::RemoteFs& to, const RelPath& path, const UserXattrs& want);

}  // namespace hoard::sync
