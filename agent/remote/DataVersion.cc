// SPDX-License-Identifier: MIT
#include "remote/DataVersion.h"

#include <sys/xattr.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "common/FileMeta.h"
#include "common/RelPath.h"
#include "remote/FdUtil.h"

namespace hoard::remote {

std::string PosixDataVersionProbe::fromStat(const struct stat& st) {
  FileMeta m = FileMeta::fromStat(st);
  std::string v = "posix:";
  v += std::to_string(m.ctime_ns);
  v += ':';
  v += std::to_string(m.mtime_ns);
  v += ':';
  v += std::to_string(static_cast<uint64_t>(st.st_size));
  v += ':';
  v += std::to_string(m.inode);
  v += ':';
  v += fileTypeName(m.type);
  return v;
}

Result<std::string> PosixDataVersionProbe::version(int, const std::string&, const struct stat& st) {
  return fromStat(st);
}

Result<std::string> XattrDataVersionProbe::version(int dirfd, const std::string& name,
                                                   const struct stat& st) {
  auto fallback = [&](int err) -> Result<std::string> {
    if (fallback_to_posix_) return PosixDataVersionProbe::fromStat(st);
    return fail(ErrorCode::kNotFound,
                "data version attribute " + attr_name_ + " of " + displayPath(name) + ": " +
                    (err == ENODATA ? std::string("absent") : std::string(std::strerror(err))),
                err);
  };
  if (S_ISLNK(st.st_mode)) return fallback(ENOTSUP);
  const std::string p = detail::entryProcPath(dirfd, name);
  std::vector<char> buf(256);
  for (int attempt = 0; attempt < 8; ++attempt) {
    ssize_t n = ::lgetxattr(p.c_str(), attr_name_.c_str(), buf.data(), buf.size());
    if (n >= 0) return "xattr:" + std::string(buf.data(), static_cast<size_t>(n));
    int err = errno;
    if (err == ERANGE) {
      ssize_t need = ::lgetxattr(p.c_str(), attr_name_.c_str(), nullptr, 0);
      if (need < 0) continue;
      buf.resize(static_cast<size_t>(need) + 1);
      continue;
    }
    if (err == ENODATA || err == ENOTSUP || err == EPERM) return fallback(err);
    return failErrno(err, "read data version attribute " + attr_name_ + " of " + displayPath(name));
  }
  return fail(ErrorCode::kBusy,
              "data version attribute of " + displayPath(name) + " keeps changing size");
}

}  // namespace hoard::remote
