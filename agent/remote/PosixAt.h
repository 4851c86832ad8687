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

// Stats (dirfd, name) without following; errno in *err on failure.
bool lstatAt(int dirfd, const std::string& name, struct stat* st, int* err);

// "<op> '<path>' under <side> '<root>'".
std::string describeIn(std::string_view side, const std::string& root, std::string_view op,
                       const RelPath& path);

// lstat of (dirfd, name) as a Stat: the symlink's target, the data version.
Result<Stat> statEntry(DataVersionProbe& probe, int dirfd, const std::string& name,
                       const std::string& what);

// True if `name` is one path component (not empty, ".", "..", no '/' or NUL).
bool oneComponent(const std::string& name);

}  // namespace hoard::remote::posix
