// SPDX-License-Identifier: MIT
#pragma once

// Small descriptor helpers shared by the POSIX pieces of the remote layer.
// Internal to hoard_remote; not part of its interface.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/Error.h"
#include "remote/RemoteFs.h"

namespace hoard::remote::detail {

// "/proc/self/fd/<dirfd>/<name>": names one entry of an open directory as a
// path, so l*xattr calls can act on it without following a final symlink and
// without resolving anything from the root again.
std::string entryProcPath(int dirfd, std::string_view name);

// "/proc/self/fd/<fd>": the inode the fd holds (O_PATH fds included).
std::string fdProcPath(int fd);

// Copies everything from `in_fd` (from offset 0, by pread or copy_file_range
// with an explicit offset, so the fd's offset is untouched) to `out_fd` (at its
// current offset). Tries copy_file_range first and falls back to read/write
// where the kernel refuses it (EXDEV, EINVAL, ENOSYS, EOPNOTSUPP). Returns the
// number of bytes copied. `what` names the transfer in error messages.
// `expected` (the size a stat just gave) ends the copy once that much is
// copied, without the read that would find the end: on a network mount that
// read is one more round trip. The caller's stat after the copy tells
// whether the file grew meanwhile.
Result<uint64_t> copyFd(int in_fd, int out_fd, const ProgressFn& progress, std::string_view what,
                        std::optional<uint64_t> expected = std::nullopt);

// A random hex string of `bytes` random bytes (getrandom).
std::string randomHex(size_t bytes);

}  // namespace hoard::remote::detail
