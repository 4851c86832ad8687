// SPDX-License-Identifier: MIT
#include "remote/PosixAt.h"

#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>

namespace hoard::remote::posix {

std::vector<std::string> components(const RelPath& p) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < p.size()) {
    size_t slash = p.find('/', start);
    if (slash == std::string::npos) slash = p.size();
    out.emplace_back(p.substr(start, slash - start));
    start = slash + 1;
  }
  return out;
}

Error outsideRoot(std::string what, int err) {
  return Error(ErrorCode::kOutsideRoot,
               std::move(what) +
                   ": a directory component is a symlink or leads outside the root "
                   "(symlinks are never followed)",
               err);
}

namespace {

void statFromStatx(const struct statx& sx, struct stat* st) {
  *st = {};
  st->st_dev = makedev(sx.stx_dev_major, sx.stx_dev_minor);
  st->st_ino = sx.stx_ino;
  st->st_mode = sx.stx_mode;
  st->st_nlink = sx.stx_nlink;
  st->st_uid = sx.stx_uid;
  st->st_gid = sx.stx_gid;
  st->st_rdev = makedev(sx.stx_rdev_major, sx.stx_rdev_minor);
  st->st_size = static_cast<off_t>(sx.stx_size);
  st->st_blksize = sx.stx_blksize;
  st->st_blocks = static_cast<blkcnt_t>(sx.stx_blocks);
  st->st_atim = {sx.stx_atime.tv_sec, sx.stx_atime.tv_nsec};
  st->st_mtim = {sx.stx_mtime.tv_sec, sx.stx_mtime.tv_nsec};
  st->st_ctim = {sx.stx_ctime.tv_sec, sx.stx_ctime.tv_nsec};
}

bool statxInto(int dirfd, const char* name, int flags, struct stat* st, int* err) {
  struct statx sx;
  if (::statx(dirfd, name, flags | AT_STATX_DONT_SYNC, STATX_BASIC_STATS, &sx) != 0) {
    *err = errno;
    return false;
  }
  statFromStatx(sx, st);
  return true;
}

}  // namespace

bool lstatAt(int dirfd, const std::string& name, struct stat* st, int* err, Freshness freshness) {
  if (freshness == Freshness::kFromLookup)
    return statxInto(dirfd, name.c_str(), AT_SYMLINK_NOFOLLOW, st, err);
  if (::fstatat(dirfd, name.c_str(), st, AT_SYMLINK_NOFOLLOW) == 0) return true;
  *err = errno;
  return false;
}

bool fstatFd(int fd, struct stat* st, int* err, Freshness freshness) {
  if (freshness == Freshness::kFromLookup) return statxInto(fd, "", AT_EMPTY_PATH, st, err);
  if (::fstat(fd, st) == 0) return true;
  *err = errno;
  return false;
}

namespace {

Result<std::string> readLinkAt(int dirfd, const std::string& name, size_t hint,
                               const std::string& what) {
  size_t cap = std::max<size_t>(hint + 1, 64);
  for (int attempt = 0; attempt < 16; ++attempt) {
    std::string buf(cap, '\0');
    ssize_t n = ::readlinkat(dirfd, name.c_str(), buf.data(), buf.size());
    if (n < 0) return failErrno(errno, "readlink " + what);
    if (static_cast<size_t>(n) < buf.size()) {
      buf.resize(static_cast<size_t>(n));
      return buf;
    }
    cap *= 2;
  }
  return fail(ErrorCode::kBusy, "readlink " + what + ": target keeps growing");
}

}  // namespace

std::string describeIn(std::string_view side, const std::string& root, std::string_view op,
                       const RelPath& path) {
  std::string s(op);
  s += " '";
  s += displayPath(path);
  s += "' under ";
  s += side;
  s += " '";
  s += displayPath(root);
  s += "'";
  return s;
}

Result<Stat> statEntry(DataVersionProbe& probe, int dirfd, const std::string& name,
                       const std::string& what, Freshness freshness) {
  struct stat st;
  int err = 0;
  if (!lstatAt(dirfd, name, &st, &err, freshness)) return failErrno(err, what);
  Stat out;
  out.meta = FileMeta::fromStat(st);
  if (S_ISLNK(st.st_mode)) {
    auto target = readLinkAt(dirfd, name, static_cast<size_t>(st.st_size), what);
    if (!target) return tl::unexpected(target.error());
    out.symlink_target = std::move(*target);
  }
  auto v = probe.version(dirfd, name, st);
  if (!v) return tl::unexpected(v.error().withContext(what));
  out.data_version = std::move(*v);
  return out;
}

bool oneComponent(const std::string& name) {
  return !name.empty() && name != "." && name != ".." && name.find('/') == std::string::npos &&
         name.find('\0') == std::string::npos;
}

}  // namespace hoard::remote::posix
