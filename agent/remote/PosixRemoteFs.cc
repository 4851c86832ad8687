// SPDX-License-Identifier: MIT
#include "remote/PosixRemoteFs.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <functional>
#include <mutex>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include "remote/FdUtil.h"
#include "remote/PosixAt.h"

namespace hoard::remote {

using namespace posix;  // NOLINT: this file's own helpers

bool isInternalName(std::string_view name, bool at_root) {
  if (name.substr(0, kTempPrefix.size()) == kTempPrefix) return true;
  return at_root && name == kMarkerName;
}

namespace {

int renameNoReplace(int dirfd_from, const char* from, int dirfd_to, const char* to) {
  return static_cast<int>(
      ::syscall(SYS_renameat2, dirfd_from, from, dirfd_to, to, RENAME_NOREPLACE));
}

// futimens(2) arguments that set the mtime to `ns` and leave the atime.
void mtimeOnly(int64_t ns, struct timespec ts[2]) {
  ts[0].tv_sec = 0;
  ts[0].tv_nsec = UTIME_OMIT;
  ts[1].tv_sec = ns / 1000000000;
  ts[1].tv_nsec = ns % 1000000000;
  if (ts[1].tv_nsec < 0) {
    ts[1].tv_nsec += 1000000000;
    ts[1].tv_sec -= 1;
  }
}

// Directories kept for reads at most (DirHandleCache): a pass fetches from
// many directories at once, 32 calls in flight.
constexpr size_t kDirHandles = 256;

// FUSE_SUPER_MAGIC (linux/magic.h): f_type of every FUSE filesystem.
constexpr long kFuseMagic = 0x65735546;

bool noReplaceUnsupported(int err) { return err == EINVAL || err == ENOSYS || err == EOPNOTSUPP; }

// Best-effort fsync of a directory so a rename in it is durable; many network
// filesystems make it a no-op or refuse it, neither of which is an error here.
void syncDir(int dir_path_fd) {
  int fd = ::openat(dir_path_fd, ".", kDirRead);
  if (fd < 0) return;
  (void)::fsync(fd);
  ::close(fd);
}

}  // namespace

PosixRemoteFs::PosixRemoteFs(std::string root, Options options)
    : root_(std::move(root)),
      side_(options.side.empty() ? std::string("remote root") : std::move(options.side)),
      probe_(options.probe ? std::move(options.probe) : std::make_shared<PosixDataVersionProbe>()),
      resolve_(options.resolve),
      stat_from_lookup_(options.stat_from_lookup),
      dir_handles_(options.dir_handle_ttl, kDirHandles) {}

std::string PosixRemoteFs::describe(std::string_view op, const RelPath& path) const {
  return describeIn(side_, root_, op, path);
}

namespace {
// The device the open root sits on, from cached attributes: st_dev comes
// from the superblock, so no request goes to a network server for it.
Result<uint64_t> rootDevice(int fd, const std::string& side) {
  struct statx sx;
  if (::statx(fd, "", AT_EMPTY_PATH | AT_STATX_DONT_SYNC, STATX_TYPE, &sx) != 0)
    return failErrno(errno, "statx " + side);
  return (static_cast<uint64_t>(sx.stx_dev_major) << 32) | sx.stx_dev_minor;
}
}  // namespace

Result<UniqueFd> PosixRemoteFs::openRoot(std::string_view op) const {
  int fd = ::open(root_.c_str(), kDirPath);
  if (fd < 0) {
    return failErrno(errno, std::string(op) + ": open " + side_ + " '" + displayPath(root_) + "'");
  }
  UniqueFd root(fd);
  if (uint64_t pinned = pinned_dev_.load(); pinned != 0) {
    auto dev = rootDevice(root.get(), side_);
    if (!dev) return tl::unexpected(dev.error().withContext(std::string(op)));
    if (*dev != pinned)
      return fail(ErrorCode::kOffline, std::string(op) + ": " + side_ + " '" + displayPath(root_) +
                                           "' is no longer on the share's filesystem "
                                           "(unmounted?); nothing was read or written there");
  }
  return root;
}

Status PosixRemoteFs::pinRoot() {
  pinned_dev_.store(0);
  dir_handles_.clear();
  auto root = openRoot("pin root");
  if (!root) return tl::unexpected(root.error());
  auto dev = rootDevice(root->get(), side_);
  if (!dev) return tl::unexpected(dev.error());
  if (fuse_checked_dev_.load() != *dev) {
    // Once per mount: statfs is a round trip on FUSE.
    struct statfs sf;
    if (::fstatfs(root->get(), &sf) != 0)
      return failErrno(errno, "pin root: statfs " + side_ + " '" + displayPath(root_) + "'");
    fuse_root_.store(sf.f_type == kFuseMagic);
    fuse_checked_dev_.store(*dev);
  }
  pinned_dev_.store(*dev);
  return {};
}

Result<UniqueFd> PosixRemoteFs::openDirComponentwise(int root_fd, const RelPath& rel, int flags,
                                                     std::string_view op) const {
  UniqueFd cur(::openat(root_fd, ".", kDirPath));
  if (!cur) return failErrno(errno, describe(op, rel));
  for (const std::string& comp : components(rel)) {
    // O_PATH|O_NOFOLLOW opens a symlink itself rather than failing, so the
    // fstat below sees exactly what the component is and nothing is followed.
    UniqueFd next(::openat(cur.get(), comp.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
    if (!next) return failErrno(errno, describe(op, rel));
    struct stat st;
    if (::fstat(next.get(), &st) != 0) return failErrno(errno, describe(op, rel));
    if (S_ISLNK(st.st_mode)) return tl::unexpected(outsideRoot(describe(op, rel), ELOOP));
    if (!S_ISDIR(st.st_mode)) return failErrno(ENOTDIR, describe(op, rel));
    cur = std::move(next);
  }
  if ((flags & O_PATH) != 0) return cur;
  UniqueFd out(::openat(cur.get(), ".", flags | O_DIRECTORY | O_CLOEXEC));
  if (!out) return failErrno(errno, describe(op, rel));
  return out;
}

Result<UniqueFd> PosixRemoteFs::openDirBeneath(int root_fd, const RelPath& rel, int flags,
                                               std::string_view op) const {
  if (rel.empty()) {
    UniqueFd fd(::openat(root_fd, ".", flags | O_DIRECTORY | O_CLOEXEC));
    if (!fd) return failErrno(errno, describe(op, rel));
    return fd;
  }
  if (resolve_ == Resolve::kComponentwise || openat2_missing_.load(std::memory_order_relaxed)) {
    return openDirComponentwise(root_fd, rel, flags, op);
  }
  struct open_how how;
  std::memset(&how, 0, sizeof how);
  // No O_NOFOLLOW: with O_PATH it would open a final symlink as itself (then
  // fail ENOTDIR); RESOLVE_NO_SYMLINKS already refuses every symlink, the
  // final one included, with ELOOP.
  how.flags = static_cast<uint64_t>(flags | O_DIRECTORY | O_CLOEXEC);
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  for (int attempt = 0;; ++attempt) {
    long fd = ::syscall(SYS_openat2, root_fd, rel.c_str(), &how, sizeof how);
    if (fd >= 0) return UniqueFd(static_cast<int>(fd));
    int err = errno;
    // EAGAIN: a concurrent rename raced the lookup; the kernel asks for a retry.
    if ((err == EAGAIN || err == EINTR) && attempt < 16) continue;
    if (err == ENOSYS) {
      if (resolve_ == Resolve::kOpenat2) {
        return fail(ErrorCode::kUnsupported, describe(op, rel) + ": openat2 is not available", err);
      }
      openat2_missing_.store(true, std::memory_order_relaxed);
      return openDirComponentwise(root_fd, rel, flags, op);
    }
    if (err == ELOOP || err == EXDEV) return tl::unexpected(outsideRoot(describe(op, rel), err));
    return failErrno(err, describe(op, rel));
  }
}

Result<PosixRemoteFs::Parent> PosixRemoteFs::openParent(const RelPath& path,
                                                        std::string_view op) const {
  if (auto ok = validateRelPath(path); !ok) {
    return tl::unexpected(ok.error().withContext(describe(op, path)));
  }
  auto root = openRoot(op);
  if (!root) return tl::unexpected(root.error());
  Parent p;
  if (path.empty()) {
    auto dir = openDirBeneath(root->get(), path, kDirPath, op);
    if (!dir) return tl::unexpected(dir.error());
    p.dir = std::move(*dir);
    p.name = ".";
    return p;
  }
  auto dir = openDirBeneath(root->get(), RelPath(parentOf(path)), kDirPath, op);
  if (!dir) return tl::unexpected(dir.error());
  p.dir = std::move(*dir);
  p.name = std::string(baseName(path));
  return p;
}

Result<PosixRemoteFs::Parent> PosixRemoteFs::openParentForRead(const RelPath& path,
                                                               std::string_view op,
                                                               bool* reused) const {
  *reused = false;
  if (path.empty() || !fuse_root_.load() || !dir_handles_.enabled()) return openParent(path, op);
  if (auto ok = validateRelPath(path); !ok) {
    return tl::unexpected(ok.error().withContext(describe(op, path)));
  }
  // The root is opened all the same: it checks the mount is still the
  // pinned one, from cached attributes.
  auto root = openRoot(op);
  if (!root) return tl::unexpected(root.error());
  const RelPath dir(parentOf(path));
  Parent p;
  p.name = std::string(baseName(path));
  if (dir.empty()) {
    auto fd = openDirBeneath(root->get(), dir, kDirPath, op);
    if (!fd) return tl::unexpected(fd.error());
    p.dir = std::move(*fd);
    return p;
  }
  if (UniqueFd kept = dir_handles_.get(dir)) {
    p.dir = std::move(kept);
    *reused = true;
    return p;
  }
  auto fd = openDirBeneath(root->get(), dir, kDirPath, op);
  if (!fd) return tl::unexpected(fd.error());
  dir_handles_.put(dir, fd->get());
  p.dir = std::move(*fd);
  return p;
}

Result<Stat> PosixRemoteFs::statAt(int dirfd, const std::string& name, const RelPath& path,
                                   std::string_view op) const {
  return statEntry(*probe_, dirfd, name, describe(op, path),
                   observeFromLookup() ? Freshness::kFromLookup : Freshness::kSync);
}

Status PosixRemoteFs::checkExpect(int dirfd, const std::string& name, const Expect& expect,
                                  const RelPath& path, std::string_view op) const {
  if (expect.kind == Expect::Kind::kAnything) return {};
  struct stat st;
  int err = 0;
  if (!lstatAt(dirfd, name, &st, &err)) {
    if (err != ENOENT) return failErrno(err, describe(op, path));
    if (expect.kind == Expect::Kind::kAbsent) return {};
    return fail(ErrorCode::kConflict,
                describe(op, path) + ": expected the base version but the path is gone", ENOENT);
  }
  if (expect.kind == Expect::Kind::kAbsent) {
    return fail(ErrorCode::kConflict,
                describe(op, path) + ": expected nothing there but a " +
                    std::string(fileTypeName(fileTypeFromMode(st.st_mode))) + " exists",
                EEXIST);
  }
  auto v = probe_->version(dirfd, name, st);
  if (!v) return tl::unexpected(v.error().withContext(describe(op, path)));
  if (*v != expect.data_version) {
    return fail(ErrorCode::kConflict,
                describe(op, path) + ": changed since the base (data version differs)");
  }
  return {};
}

Result<Stat> PosixRemoteFs::lstat(const RelPath& path) {
  bool reused = false;
  auto p = openParentForRead(path, "lstat", &reused);
  if (!p) return tl::unexpected(p.error());
  auto st = statAt(p->dir.get(), p->name, path, "lstat");
  if (st || !reused) return st;
  // The kept directory may be stale (replaced, the mount reconnected): ask
  // again through a fresh resolution before believing the answer.
  dir_handles_.drop(RelPath(parentOf(path)));
  p = openParentForRead(path, "lstat", &reused);
  if (!p) return tl::unexpected(p.error());
  return statAt(p->dir.get(), p->name, path, "lstat");
}

Result<PosixRemoteFs::OpenFile> PosixRemoteFs::openRegularFile(const RelPath& path,
                                                               std::string_view op) const {
  bool reused = false;
  auto p = openParentForRead(path, op, &reused);
  if (!p) return tl::unexpected(p.error());
  // O_NONBLOCK: a FIFO planted on the remote must not block the open.
  constexpr int kOpen = O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK | O_CLOEXEC;
  UniqueFd in(::openat(p->dir.get(), p->name.c_str(), kOpen));
  if (!in && reused) {
    // As in lstat(): a kept directory's failure is checked afresh.
    dir_handles_.drop(RelPath(parentOf(path)));
    p = openParentForRead(path, op, &reused);
    if (!p) return tl::unexpected(p.error());
    in.reset(::openat(p->dir.get(), p->name.c_str(), kOpen));
  }
  if (!in) {
    int err = errno;
    if (err == ELOOP) {
      return fail(ErrorCode::kInvalidArgument,
                  describe(op, path) + ": is a symlink (not followed)", err);
    }
    return failErrno(err, describe(op, path));
  }
  OpenFile f{std::move(*p), std::move(in), {}};
  // The open's lookup brought the attributes (on FUSE); the caller's own
  // stat after reading asks the server in any case.
  int err = 0;
  if (!fstatFd(f.fd.get(), &f.st, &err,
               observeFromLookup() ? Freshness::kFromLookup : Freshness::kSync))
    return failErrno(err, describe(op, path));
  if (!S_ISREG(f.st.st_mode)) {
    return fail(ErrorCode::kInvalidArgument, describe(op, path) + ": not a regular file");
  }
  return f;
}

Result<Stat> PosixRemoteFs::fetchFile(const RelPath& path, int out_fd, const ProgressFn& progress) {
  auto f = openRegularFile(path, "fetch");
  if (!f) return tl::unexpected(f.error());
  UniqueFd& in = f->fd;
  const struct stat before = f->st;
  auto copied = detail::copyFd(in.get(), out_fd, progress, describe("fetch", path),
                               static_cast<uint64_t>(before.st_size));
  if (!copied) return tl::unexpected(copied.error());
  struct stat after;
  if (::fstat(in.get(), &after) != 0) return failErrno(errno, describe("fetch", path));
  if (FileMeta::fromStat(before) != FileMeta::fromStat(after) ||
      *copied != static_cast<uint64_t>(before.st_size)) {
    return fail(ErrorCode::kBusy, describe("fetch", path) + ": changed while being read");
  }
  Stat out;
  out.meta = FileMeta::fromStat(before);
  auto v = probe_->version(f->parent.dir.get(), f->parent.name, before);
  if (!v) return tl::unexpected(v.error().withContext(describe("fetch", path)));
  out.data_version = std::move(*v);
  return out;
}

Result<std::string> PosixRemoteFs::readSmallFile(const RelPath& path, size_t max_bytes) {
  auto f = openRegularFile(path, "read");
  if (!f) return tl::unexpected(f.error());
  UniqueFd& in = f->fd;
  std::string out;
  char buf[8192];
  for (;;) {
    ssize_t n = ::pread(in.get(), buf, sizeof buf, static_cast<off_t>(out.size()));
    if (n < 0) {
      if (errno == EINTR) continue;
      return failErrno(errno, describe("read", path));
    }
    if (n == 0) return out;
    if (out.size() + static_cast<size_t>(n) > max_bytes) {
      return fail(ErrorCode::kInvalidArgument,
                  describe("read", path) + ": larger than " + std::to_string(max_bytes) + " bytes");
    }
    out.append(buf, static_cast<size_t>(n));
  }
}

Result<Stat> PosixRemoteFs::linkNewFile(const RelPath& path, int tmp_fd,
                                        const ReplaceOptions& options) {
  if (path.empty()) {
    return fail(ErrorCode::kInvalidArgument, describe("create", path) + ": the root is a dir");
  }
  auto copy = [&] { return replaceFile(path, tmp_fd, Expect::absent(), options, nullptr); };
  auto p = openParent(path, "create");
  if (!p) return tl::unexpected(p.error());
  const int dir = p->dir.get();
  if (::fchmod(tmp_fd, options.mode & 07777) != 0) return copy();
  if (options.mtime_ns) {
    struct timespec ts[2];
    mtimeOnly(*options.mtime_ns, ts);
    if (::futimens(tmp_fd, ts) != 0) return copy();
  }
  // An O_TMPFILE file is linked through its /proc/self/fd entry (linkat
  // with AT_EMPTY_PATH would need CAP_DAC_READ_SEARCH).
  const std::string proc = "/proc/self/fd/" + std::to_string(tmp_fd);
  if (::linkat(AT_FDCWD, proc.c_str(), dir, p->name.c_str(), AT_SYMLINK_FOLLOW) != 0) {
    if (errno == EEXIST) {
      return fail(ErrorCode::kConflict,
                  describe("create", path) + ": expected nothing there but it was created",
                  EEXIST);
    }
    return copy();  // not an O_TMPFILE, another filesystem, no /proc: copy it
  }
  if (options.sync_dir) syncDir(dir);
  struct stat st;
  if (::fstat(tmp_fd, &st) != 0) return failErrno(errno, describe("create (stat result)", path));
  Stat result;
  result.meta = FileMeta::fromStat(st);
  auto v = probe_->version(dir, p->name, st);
  if (!v) return tl::unexpected(v.error().withContext(describe("create", path)));
  result.data_version = std::move(*v);
  return result;
}

Result<Stat> PosixRemoteFs::replaceFile(const RelPath& path, int src_fd, const Expect& expect,
                                        const ReplaceOptions& options, const ProgressFn& progress) {
  if (path.empty()) {
    return fail(ErrorCode::kInvalidArgument, describe("replace", path) + ": the root is a dir");
  }
  auto p = openParent(path, "replace");
  if (!p) return tl::unexpected(p.error());
  const int dir = p->dir.get();
  // Fail before moving any data if the remote has already moved on.
  if (auto ok = checkExpect(dir, p->name, expect, path, "replace"); !ok)
    return tl::unexpected(ok.error());

  std::string tmp;
  UniqueFd out;
  for (int attempt = 0; attempt < 8 && !out; ++attempt) {
    tmp = std::string(kTempPrefix) + detail::randomHex(8);
    out.reset(
        ::openat(dir, tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!out && errno != EEXIST)
      return failErrno(errno, describe("replace (create temporary)", path));
  }
  if (!out) return failErrno(EEXIST, describe("replace (create temporary)", path));

  // Until the rename succeeds, every exit removes the temporary.
  bool renamed = false;
  struct TmpGuard {
    int dir;
    const std::string& name;
    const bool& done;
    ~TmpGuard() {
      if (!done) ::unlinkat(dir, name.c_str(), 0);
    }
  } guard{dir, tmp, renamed};

  auto copied = detail::copyFd(src_fd, out.get(), progress, describe("replace", path));
  if (!copied) return tl::unexpected(copied.error());
  if (::fchmod(out.get(), options.mode & 07777) != 0) {
    return failErrno(errno, describe("replace (chmod temporary)", path));
  }
  if (options.mtime_ns) {
    struct timespec ts[2];
    mtimeOnly(*options.mtime_ns, ts);
    if (::futimens(out.get(), ts) != 0) {
      return failErrno(errno, describe("replace (set mtime of temporary)", path));
    }
  }
  if (::fsync(out.get()) != 0) return failErrno(errno, describe("replace (fsync temporary)", path));

  if (auto ok = checkExpect(dir, p->name, expect, path, "replace"); !ok)
    return tl::unexpected(ok.error());
  bool placed = false;
  if (expect.kind == Expect::Kind::kAbsent) {
    if (renameNoReplace(dir, tmp.c_str(), dir, p->name.c_str()) == 0) {
      placed = true;
    } else if (errno == EEXIST) {
      return fail(ErrorCode::kConflict,
                  describe("replace", path) + ": expected nothing there but it was created",
                  EEXIST);
    } else if (!noReplaceUnsupported(errno)) {
      return failErrno(errno, describe("replace (rename into place)", path));
    }
  }
  if (!placed && ::renameat(dir, tmp.c_str(), dir, p->name.c_str()) != 0) {
    int err = errno;
    if (err == EISDIR || err == ENOTEMPTY || err == EEXIST) {
      return fail(ErrorCode::kConflict, describe("replace", path) + ": a directory is there", err);
    }
    return failErrno(err, describe("replace (rename into place)", path));
  }
  renamed = true;
  if (options.sync_dir) syncDir(dir);
  struct stat st;
  if (::fstat(out.get(), &st) != 0)
    return failErrno(errno, describe("replace (stat result)", path));
  Stat result;
  result.meta = FileMeta::fromStat(st);
  auto v = probe_->version(dir, p->name, st);
  if (!v) return tl::unexpected(v.error().withContext(describe("replace", path)));
  result.data_version = std::move(*v);
  return result;
}

Status PosixRemoteFs::mkdir(const RelPath& path, uint32_t mode) {
  if (path.empty()) return fail(ErrorCode::kExists, describe("mkdir", path) + ": is the root");
  auto p = openParent(path, "mkdir");
  if (!p) return tl::unexpected(p.error());
  if (::mkdirat(p->dir.get(), p->name.c_str(), mode & 07777) != 0) {
    return failErrno(errno, describe("mkdir", path));
  }
  return {};
}

Status PosixRemoteFs::rmdir(const RelPath& path, const Expect& expect) {
  if (path.empty())
    return fail(ErrorCode::kInvalidArgument, describe("rmdir", path) + ": is the root");
  auto p = openParent(path, "rmdir");
  if (!p) return tl::unexpected(p.error());
  struct stat st;
  int err = 0;
  if (!lstatAt(p->dir.get(), p->name, &st, &err)) {
    if (err == ENOENT && expect.kind == Expect::Kind::kVersion) {
      return fail(ErrorCode::kConflict, describe("rmdir", path) + ": already gone", err);
    }
    return failErrno(err, describe("rmdir", path));
  }
  if (!S_ISDIR(st.st_mode)) {
    return fail(ErrorCode::kConflict, describe("rmdir", path) + ": not a directory any more");
  }
  if (auto ok = checkExpect(p->dir.get(), p->name, expect, path, "rmdir"); !ok) return ok;
  if (::unlinkat(p->dir.get(), p->name.c_str(), AT_REMOVEDIR) != 0) {
    err = errno;
    if (err == ENOTEMPTY || err == EEXIST) {
      return fail(ErrorCode::kConflict, describe("rmdir", path) + ": directory is not empty", err);
    }
    return failErrno(err, describe("rmdir", path));
  }
  return {};
}

Status PosixRemoteFs::unlink(const RelPath& path, const Expect& expect) {
  if (path.empty())
    return fail(ErrorCode::kInvalidArgument, describe("unlink", path) + ": is the root");
  auto p = openParent(path, "unlink");
  if (!p) return tl::unexpected(p.error());
  struct stat st;
  int err = 0;
  if (!lstatAt(p->dir.get(), p->name, &st, &err)) {
    if (err == ENOENT && expect.kind == Expect::Kind::kVersion) {
      return fail(ErrorCode::kConflict, describe("unlink", path) + ": already gone", err);
    }
    return failErrno(err, describe("unlink", path));
  }
  if (S_ISDIR(st.st_mode)) {
    return fail(ErrorCode::kInvalidArgument, describe("unlink", path) + ": is a directory", EISDIR);
  }
  if (auto ok = checkExpect(p->dir.get(), p->name, expect, path, "unlink"); !ok) return ok;
  if (::unlinkat(p->dir.get(), p->name.c_str(), 0) != 0) {
    return failErrno(errno, describe("unlink", path));
  }
  return {};
}

Status PosixRemoteFs::rename(const RelPath& from, const RelPath& to, const Expect& from_expect,
                             const Expect& to_expect) {
  if (from.empty() || to.empty()) {
    return fail(ErrorCode::kInvalidArgument, describe("rename", from) + ": cannot rename the root");
  }
  if (isUnder(to, from)) {
    return fail(ErrorCode::kInvalidArgument,
                describe("rename", from) + ": cannot move into itself ('" + displayPath(to) + "')");
  }
  auto pf = openParent(from, "rename");
  if (!pf) return tl::unexpected(pf.error());
  auto pt = openParent(to, "rename");
  if (!pt) return tl::unexpected(pt.error());
  struct stat st;
  int err = 0;
  if (!lstatAt(pf->dir.get(), pf->name, &st, &err)) {
    if (err == ENOENT && from_expect.kind == Expect::Kind::kVersion) {
      return fail(ErrorCode::kConflict, describe("rename", from) + ": source is gone", err);
    }
    return failErrno(err, describe("rename", from));
  }
  if (auto ok = checkExpect(pf->dir.get(), pf->name, from_expect, from, "rename (source)"); !ok) {
    return ok;
  }
  if (auto ok = checkExpect(pt->dir.get(), pt->name, to_expect, to, "rename (destination)"); !ok) {
    return ok;
  }
  if (to_expect.kind == Expect::Kind::kAbsent) {
    if (renameNoReplace(pf->dir.get(), pf->name.c_str(), pt->dir.get(), pt->name.c_str()) == 0) {
      return {};
    }
    err = errno;
    if (err == EEXIST) {
      return fail(ErrorCode::kConflict,
                  describe("rename", from) + ": destination '" + displayPath(to) + "' appeared",
                  err);
    }
    if (!noReplaceUnsupported(err)) return failErrno(err, describe("rename", from));
  }
  if (::renameat(pf->dir.get(), pf->name.c_str(), pt->dir.get(), pt->name.c_str()) != 0) {
    err = errno;
    if (err == ENOTEMPTY || err == EEXIST || err == EISDIR || err == ENOTDIR) {
      return fail(
          ErrorCode::kConflict,
          describe("rename", from) + ": destination '" + displayPath(to) + "' is in the way", err);
    }
    return failErrno(err, describe("rename", from));
  }
  syncDir(pt->dir.get());
  return {};
}

Status PosixRemoteFs::symlink(const RelPath& path, const std::string& target,
                              const Expect& expect) {
  if (path.empty())
    return fail(ErrorCode::kInvalidArgument, describe("symlink", path) + ": is the root");
  if (target.empty() || target.find('\0') != std::string::npos) {
    return fail(ErrorCode::kInvalidArgument,
                describe("symlink", path) + ": target is empty or contains NUL");
  }
  auto p = openParent(path, "symlink");
  if (!p) return tl::unexpected(p.error());
  const int dir = p->dir.get();
  if (auto ok = checkExpect(dir, p->name, expect, path, "symlink"); !ok) return ok;
  if (expect.kind == Expect::Kind::kAbsent) {
    if (::symlinkat(target.c_str(), dir, p->name.c_str()) != 0) {
      int err = errno;
      if (err == EEXIST) {
        return fail(ErrorCode::kConflict, describe("symlink", path) + ": something appeared there",
                    err);
      }
      return failErrno(err, describe("symlink", path));
    }
    return {};
  }
  std::string tmp;
  bool created = false;
  for (int attempt = 0; attempt < 8 && !created; ++attempt) {
    tmp = std::string(kTempPrefix) + detail::randomHex(8);
    if (::symlinkat(target.c_str(), dir, tmp.c_str()) == 0) {
      created = true;
    } else if (errno != EEXIST) {
      return failErrno(errno, describe("symlink (create temporary)", path));
    }
  }
  if (!created) return failErrno(EEXIST, describe("symlink (create temporary)", path));
  auto cleanup = [&] { ::unlinkat(dir, tmp.c_str(), 0); };
  if (auto ok = checkExpect(dir, p->name, expect, path, "symlink"); !ok) {
    cleanup();
    return ok;
  }
  if (::renameat(dir, tmp.c_str(), dir, p->name.c_str()) != 0) {
    int err = errno;
    cleanup();
    if (err == EISDIR || err == ENOTEMPTY || err == EEXIST) {
      return fail(ErrorCode::kConflict, describe("symlink", path) + ": a directory is there", err);
    }
    return failErrno(err, describe("symlink", path));
  }
  syncDir(dir);
  return {};
}

Status PosixRemoteFs::chmod(const RelPath& path, uint32_t mode) {
  auto p = openParent(path, "chmod");
  if (!p) return tl::unexpected(p.error());
  // An O_PATH|O_NOFOLLOW fd pins the inode; chmod through its /proc link acts
  // on exactly that inode, so a symlink swapped in meanwhile is never followed.
  UniqueFd fd(::openat(p->dir.get(), p->name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) return failErrno(errno, describe("chmod", path));
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return failErrno(errno, describe("chmod", path));
  if (S_ISLNK(st.st_mode)) {
    return fail(ErrorCode::kInvalidArgument, describe("chmod", path) + ": is a symlink");
  }
  if (::chmod(detail::fdProcPath(fd.get()).c_str(), mode & 07777) != 0) {
    return failErrno(errno, describe("chmod", path));
  }
  return {};
}

Status PosixRemoteFs::setMtime(const RelPath& path, int64_t mtime_ns) {
  auto p = openParent(path, "set mtime");
  if (!p) return tl::unexpected(p.error());
  struct timespec ts[2];
  mtimeOnly(mtime_ns, ts);
  if (::utimensat(p->dir.get(), p->name.c_str(), ts, AT_SYMLINK_NOFOLLOW) != 0) {
    return failErrno(errno, describe("set mtime", path));
  }
  return {};
}

Result<std::string> PosixRemoteFs::getXattr(const RelPath& path, const std::string& name) {
  auto p = openParent(path, "getxattr");
  if (!p) return tl::unexpected(p.error());
  const std::string proc = detail::entryProcPath(p->dir.get(), p->name);
  for (int attempt = 0; attempt < 8; ++attempt) {
    ssize_t need = ::lgetxattr(proc.c_str(), name.c_str(), nullptr, 0);
    if (need < 0) break;
    std::string buf(static_cast<size_t>(need), '\0');
    ssize_t n = ::lgetxattr(proc.c_str(), name.c_str(), buf.data(), buf.size());
    if (n >= 0) {
      buf.resize(static_cast<size_t>(n));
      return buf;
    }
    if (errno != ERANGE) break;
  }
  int err = errno;
  if (err == ENODATA) {
    return fail(ErrorCode::kNotFound, describe("getxattr " + name, path) + ": no such attribute",
                err);
  }
  return failErrno(err, describe("getxattr " + name, path));
}

Status PosixRemoteFs::setXattr(const RelPath& path, const std::string& name,
                               const std::string& value) {
  auto p = openParent(path, "setxattr");
  if (!p) return tl::unexpected(p.error());
  const std::string proc = detail::entryProcPath(p->dir.get(), p->name);
  if (::lsetxattr(proc.c_str(), name.c_str(), value.data(), value.size(), 0) != 0) {
    return failErrno(errno, describe("setxattr " + name, path));
  }
  return {};
}

Status PosixRemoteFs::removeXattr(const RelPath& path, const std::string& name) {
  auto p = openParent(path, "removexattr");
  if (!p) return tl::unexpected(p.error());
  const std::string proc = detail::entryProcPath(p->dir.get(), p->name);
  if (::lremovexattr(proc.c_str(), name.c_str()) != 0) {
    int err = errno;
    if (err == ENODATA) {
      return fail(ErrorCode::kNotFound,
                  describe("removexattr " + name, path) + ": no such attribute", err);
    }
    return failErrno(err, describe("removexattr " + name, path));
  }
  return {};
}

Result<std::vector<std::string>> PosixRemoteFs::listXattrs(const RelPath& path) {
  auto p = openParent(path, "listxattr");
  if (!p) return tl::unexpected(p.error());
  const std::string proc = detail::entryProcPath(p->dir.get(), p->name);
  for (int attempt = 0; attempt < 8; ++attempt) {
    ssize_t need = ::llistxattr(proc.c_str(), nullptr, 0);
    if (need < 0) break;
    std::string buf(static_cast<size_t>(need), '\0');
    ssize_t n = ::llistxattr(proc.c_str(), buf.data(), buf.size());
    if (n < 0) {
      if (errno == ERANGE) continue;
      break;
    }
    std::vector<std::string> names;
    size_t start = 0;
    while (start < static_cast<size_t>(n)) {
      size_t end = buf.find('\0', start);
      if (end == std::string::npos || end > static_cast<size_t>(n)) end = static_cast<size_t>(n);
      if (end > start) names.emplace_back(buf.substr(start, end - start));
      start = end + 1;
    }
    std::sort(names.begin(), names.end());
    return names;
  }
  return failErrno(errno, describe("listxattr", path));
}

Result<FsStats> PosixRemoteFs::statfs() {
  struct statvfs sv;
  if (::statvfs(root_.c_str(), &sv) != 0) {
    return failErrno(errno, "statvfs of " + side_ + " '" + displayPath(root_) + "'");
  }
  FsStats s;
  s.block_size = sv.f_frsize ? sv.f_frsize : sv.f_bsize;
  s.total_bytes = static_cast<uint64_t>(sv.f_blocks) * s.block_size;
  s.free_bytes = static_cast<uint64_t>(sv.f_bfree) * s.block_size;
  s.avail_bytes = static_cast<uint64_t>(sv.f_bavail) * s.block_size;
  s.total_files = sv.f_files;
  s.free_files = sv.f_ffree;
  return s;
}

Status PosixRemoteFs::syncAll() {
  // syncfs needs a descriptor that can be read, not the O_PATH openRoot gives.
  UniqueFd root(::open(root_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root || ::syncfs(root.get()) != 0)
    return failErrno(errno, "sync " + side_ + " '" + displayPath(root_) + "'");
  return {};
}

Result<std::string> PosixRemoteFs::dataVersion(const RelPath& path) {
  auto p = openParent(path, "data version");
  if (!p) return tl::unexpected(p.error());
  struct stat st;
  int err = 0;
  if (!lstatAt(p->dir.get(), p->name, &st, &err)) {
    return failErrno(err, describe("data version", path));
  }
  auto v = probe_->version(p->dir.get(), p->name, st);
  if (!v) return tl::unexpected(v.error().withContext(describe("data version", path)));
  return v;
}

}  // namespace hoard::remote
