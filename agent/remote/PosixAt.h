// SPDX-License-Identifier: MIT
#pragma once

// Helpers PosixRemoteFs's files share (PosixRemoteFs.cc for single paths,
// PosixRemoteWalk.cc for listings and walks): *at() calls on an open
// directory, never following a symlink, and the messages that name the side
// and root. Internal to hoard_remote.

#include <fcntl.h>
#include <sys/stat.h>

#include <string>
#include <string_view>
#include <vector>

#include "common/Error.h"
#include "common/RelPath.h"
#include "remote/DataVersion.h"
#include "remote/RemoteFs.h"

namespace hoard::remote::posix {

// Directory fds are opened O_PATH for resolution, O_RDONLY to read entries.
constexpr int kDirPath = O_PATH | O_DIRECTORY | O_CLOEXEC;
constexpr int kDirRead = O_RDONLY | O_DIRECTORY | O_CLOEXEC;

// Splits a validated RelPath into components.
std::vector<std::string> components(const RelPath& p);

// kOutsideRoot for `what`: a directory component is a symlink or leads out.
Error outsideRoot(std::string what, int err);

// How fresh a stat's attributes must be.
//  kSync: as stat(2) gives them. On FUSE with attr_timeout=0 that is a
//    GETATTR round trip after the path lookup's own.
//  kFromLookup: those the path lookup just brought (statx with
//    AT_STATX_DONT_SYNC). On FUSE a lookup of a name whose entry expired asks
//    the server and refreshes the attributes, so they are as fresh as the
//    mount's entry_timeout allows, for one round trip instead of two. Only
//    PosixRemoteFs on a FUSE root asks for it, and never for a
//    compare-and-swap's look.
enum class Freshness : uint8_t { kSync, kFromLookup };

// Stats (dirfd, name) without following; errno in *err on failure.
bool lstatAt(int dirfd, const std::string& name, struct stat* st, int* err,
             Freshness freshness = Freshness::kSync);
// Stats the open `fd` (kFromLookup: the attributes its open's lookup brought).
bool fstatFd(int fd, struct stat* st, int* err, Freshness freshness);

// "<op> '<path>' under <side> '<root>'".
std::string describeIn(std::string_view side, const std::string& root, std::string_view op,
                       const RelPath& path);

// lstat of (dirfd, name) as a Stat: the symlink's target, the data version.
Result<Stat> statEntry(DataVersionProbe& probe, int dirfd, const std::string& name,
                       const std::string& what, Freshness freshness = Freshness::kSync);

// True if `name` is one path component (not empty, ".", "..", no '/' or NUL).
bool oneComponent(const std::string& name);

}  // namespace hoard::remote::posix
