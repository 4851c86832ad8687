// SPDX-License-Identifier: MIT
// PosixRemoteFs's files opened in place: a file read where it lies (openRead)
// and an unnamed temporary beneath the root (openTemp).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "remote/PosixRemoteFs.h"
#include "remote/FdUtil.h"

namespace hoard::remote {

Result<OpenedFile> PosixRemoteFs::openRead(const RelPath& path) {
  auto f = openRegularFile(path, "open");
  if (!f) return tl::unexpected(f.error());
  OpenedFile out;
  out.st.meta = FileMeta::fromStat(f->st);
  out.fd = std::move(f->fd);
  return out;
}

Result<UniqueFd> PosixRemoteFs::openTemp() {
  auto root = openRoot("create a temporary file");
  if (!root) return tl::unexpected(root.error());
  UniqueFd fd(::openat(root->get(), ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600));
  if (fd) return fd;
  if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)
    return failErrno(errno, describe("create a temporary file", ""));
  // No O_TMPFILE on this filesystem: a named temporary, unlinked at once.
  for (int attempt = 0; attempt < 8; ++attempt) {
    std::string name = std::string(kTempPrefix) + "anon-" + detail::randomHex(8);
    fd.reset(::openat(root->get(), name.c_str(), O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                      0600));
    if (fd) {
      ::unlinkat(root->get(), name.c_str(), 0);
      return fd;
    }
    if (errno != EEXIST) break;
  }
  return failErrno(errno, describe("create a temporary file", ""));
}

}  // namespace hoard::remote
