// SPDX-License-Identifier: MIT
// The calls that change an on-demand share through its view. Each is made
// in the cache root and then reported for the engine's change log
// (ViewChanges.cc); a placeholder is hydrated first (ViewCore::localize:
// the engine's own write, not reported), and the directories leading to a
// new name are made there as they are listed (reported as made).

#define FUSE_USE_VERSION 314
#include <fcntl.h>
#include <fuse3/fuse.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "remote/RemoteFs.h"
#include "view/ViewOps.h"

namespace hoard::view {

namespace {

ViewCore& core() { return requestCore(); }

bool visible(const RelPath& p) { return isLocal(p) || core().tree.find(p).has_value(); }

// 0 if the view may change `p`: not the root, not one of hoard's own names.
int changeable(const RelPath& p) {
  if (!core().opts.hydrate) return -EROFS;
  if (p.empty()) return -EBUSY;
  if (remote::isInternalName(baseName(p), parentOf(p).empty())) return -EPERM;
  return 0;
}

// A new name in the cache root, its listed parents made first.
int prepareNew(const RelPath& p) {
  if (int r = changeable(p)) return r;
  if (visible(p)) return -EEXIST;
  return core().makeParents(p);
}

int keepOpen(const RelPath& p, int fd, struct fuse_file_info* fi) {
  auto h = std::make_unique<OpenFile>();
  h->fd = UniqueFd(fd);
  h->path = p;
  fi->fh = core().addOpen(std::move(h));
  return 0;
}

int opCreate(const char* path, mode_t mode, struct fuse_file_info* fi) {
  RelPath p = requestPath(path);
  if (int r = changeable(p)) return r;
  if (!isLocal(p) && core().tree.find(p)) {
    if (fi->flags & O_EXCL) return -EEXIST;
    return openForWrite(path, fi);  // a placeholder of that name
  }
  if (int r = core().makeParents(p)) return r;
  int flags = (fi->flags & (O_ACCMODE | O_APPEND | O_TRUNC | O_EXCL)) | O_CREAT | O_NOFOLLOW |
              O_CLOEXEC;
  int fd = atLocalParent(p, [&](int dir, const char* name) { return ::openat(dir, name, flags, mode); });
  if (fd < 0) return fd;
  core().reportCreated(p);  // O_CREAT of a file there already is also its kernel's "create"
  return keepOpen(p, fd, fi);
}

int opWrite(const char*, const char* buf, size_t size, off_t off, struct fuse_file_info* fi) {
  auto* h = reinterpret_cast<OpenFile*>(fi->fh);
  if (!h->fd) return -EBADF;
  ssize_t n = ::pwrite(h->fd.get(), buf, size, off);
  if (n < 0) return -errno;
  core().reportWritten(*h);
  return static_cast<int>(n);
}

int opTruncate(const char* path, off_t size, struct fuse_file_info* fi) {
  if (fi != nullptr && fi->fh != 0) {
    auto* h = reinterpret_cast<OpenFile*>(fi->fh);
    if (h->fd) {
      if (::ftruncate(h->fd.get(), size) != 0) return -errno;
      core().reportWritten(h->path);
      return 0;
    }
  }
  RelPath p = requestPath(path);
  if (int r = changeable(p)) return r;
  if (int r = core().localize(p)) return r;
  int fd = core().openLocal(p, O_WRONLY);
  if (fd < 0) return fd;
  int r = ::ftruncate(fd, size) == 0 ? 0 : -errno;
  ::close(fd);
  if (r == 0) core().reportWritten(p);
  return r;
}

int opUnlink(const char* path) {
  RelPath p = requestPath(path);
  if (int r = changeable(p)) return r;
  const bool listed = core().tree.find(p).has_value();
  // A placeholder is hydrated first: the engine then sees the deletion of
  // the remote's version (without a base it would see nothing to do).
  if (int r = core().localize(p)) return r;
  int r = atLocalParent(p, [](int dir, const char* name) { return ::unlinkat(dir, name, 0); });
  if (r < 0) return r;
  core().reportDeleted(p, false);
  if (listed) core().tree.hide(p);
  return 0;
}

int opRmdir(const char* path) {
  RelPath p = requestPath(path);
  if (int r = changeable(p)) return r;
  auto listed_children = core().tree.children(p);
  if (listed_children && !listed_children->empty()) return -ENOTEMPTY;
  const bool listed = core().tree.find(p).has_value();
  if (int r = core().localize(p)) return r;
  int r = atLocalParent(p, [](int dir, const char* name) { return ::unlinkat(dir, name, AT_REMOVEDIR); });
  if (r < 0) return r;
  core().reportDeleted(p, true);
  if (listed) core().tree.hide(p);
  return 0;
}

int opMkdir(const char* path, mode_t mode) {
  RelPath p = requestPath(path);
  if (int r = prepareNew(p)) return r;
  int r = atLocalParent(p, [&](int dir, const char* name) { return ::mkdirat(dir, name, mode); });
  if (r < 0) return r;
  core().reportCreated(p);
  return 0;
}

int opSymlink(const char* target, const char* path) {
  RelPath p = requestPath(path);
  if (int r = prepareNew(p)) return r;
  int r = atLocalParent(p, [&](int dir, const char* name) { return ::symlinkat(target, dir, name); });
  if (r < 0) return r;
  core().reportCreated(p);
  return 0;
}

int opRename(const char* from, const char* to, unsigned int flags) {
  RelPath f = requestPath(from), t = requestPath(to);
  if (int r = changeable(f)) return r;
  if (int r = changeable(t)) return r;
  if (!visible(f)) return -ENOENT;
  if ((flags & RENAME_NOREPLACE) && visible(t)) return -EEXIST;
  const bool exchange = flags & RENAME_EXCHANGE;
  const bool listed = core().tree.find(f).has_value();
  // Both ends local: what moves, and a placeholder it replaces (so the
  // engine sees the remote's version replaced, not a second file).
  if (int r = core().localize(f)) return r;
  if (visible(t) && !isLocal(t))
    if (int r = core().localize(t)) return r;
  if (int r = core().makeParents(t)) return r;
  int dir = core().openLocal(RelPath(parentOf(t)), O_PATH | O_DIRECTORY);
  if (dir < 0) return dir;
  std::string to_name(baseName(t));
  int r = atLocalParent(f, [&](int from_dir, const char* name) {
    return ::renameat2(from_dir, name, dir, to_name.c_str(), flags);
  });
  ::close(dir);
  if (r < 0) return r;
  if (exchange) core().reportExchanged(f, t);
  else core().reportRenamed(f, t);
  if (listed && !exchange) core().tree.hide(f);
  return 0;
}

int opChmod(const char* path, mode_t mode, struct fuse_file_info*) {
  RelPath p = requestPath(path);
  if (p.empty()) return -EPERM;
  if (int r = changeable(p)) return r;
  if (int r = core().localize(p)) return r;
  int r = atLocalParent(p, [&](int dir, const char* name) {
    return ::fchmodat(dir, name, mode & 07777, AT_SYMLINK_NOFOLLOW);
  });
  if (r < 0) return r;
  core().reportAttrib(p);
  return 0;
}

int opUtimens(const char* path, const struct timespec tv[2], struct fuse_file_info* fi) {
  if (fi != nullptr && fi->fh != 0) {
    auto* h = reinterpret_cast<OpenFile*>(fi->fh);
    if (h->fd) {
      if (::futimens(h->fd.get(), tv) != 0) return -errno;
      core().reportAttrib(h->path);
      return 0;
    }
  }
  RelPath p = requestPath(path);
  if (p.empty()) return -EPERM;
  if (int r = changeable(p)) return r;
  if (int r = core().localize(p)) return r;
  int r = atLocalParent(p, [&](int dir, const char* name) {
    return ::utimensat(dir, name, tv, AT_SYMLINK_NOFOLLOW);
  });
  if (r < 0) return r;
  core().reportAttrib(p);
  return 0;
}

// The share keeps one owner: hoard cannot give a file away.
int opChown(const char*, uid_t uid, gid_t gid, struct fuse_file_info*) {
  bool same = (uid == static_cast<uid_t>(-1) || uid == ::getuid()) &&
              (gid == static_cast<gid_t>(-1) || gid == ::getgid());
  return same ? 0 : -EPERM;
}

int opFsync(const char*, int datasync, struct fuse_file_info* fi) {
  auto* h = reinterpret_cast<OpenFile*>(fi->fh);
  if (!h->fd) return 0;  // a placeholder read: its blocks are flushed at release
  int r = datasync ? ::fdatasync(h->fd.get()) : ::fsync(h->fd.get());
  return r == 0 ? 0 : -errno;
}

int opFsyncdir(const char* path, int, struct fuse_file_info*) {
  RelPath p = requestPath(path);
  if (!isLocal(p)) return 0;  // only listed: nothing of it is local to sync
  int fd = core().openLocal(p, O_RDONLY | O_DIRECTORY);
  if (fd < 0) return fd;
  int r = ::fsync(fd) == 0 ? 0 : -errno;
  ::close(fd);
  return r;
}

}  // namespace

int openForWrite(const char* path, struct fuse_file_info* fi) {
  RelPath p = requestPath(path);
  if (int r = changeable(p)) return r;
  if (int r = core().localize(p)) return r;
  int fd = core().openLocal(p, fi->flags & (O_ACCMODE | O_APPEND | O_TRUNC));
  if (fd < 0) return fd;
  if (fi->flags & O_TRUNC) core().reportWritten(p);
  return keepOpen(p, fd, fi);
}

void addWriteOperations(fuse_operations& ops) {
  ops.create = opCreate;
  ops.write = opWrite;
  ops.truncate = opTruncate;
  ops.unlink = opUnlink;
  ops.rmdir = opRmdir;
  ops.mkdir = opMkdir;
  ops.symlink = opSymlink;
  ops.rename = opRename;
  ops.chmod = opChmod;
  ops.utimens = opUtimens;
  ops.chown = opChown;
  ops.fsync = opFsync;
  ops.fsyncdir = opFsyncdir;
  ops.link = [](const char*, const char*) { return -EPERM; };  // hoard keeps no hard links
}

// ---- making paths local ----------------------------------------------------

int ViewCore::localize(const RelPath& rel) {
  if (!opts.hydrate) return -EROFS;
  for (int attempt = 0; attempt < 5; ++attempt) {
    struct stat st {};
    if (localStat(rel, &st)) return 0;
    if (!tree.find(rel)) return -ENOENT;
    if (!online()) {
      if (int r = miss(rel)) return r;
      continue;  // online again: hydrate
    }
    auto done = hydrate_pool.run<bool>(
        "hydrate " + displayPath(rel), opts.hydrate_deadline,
        [hydrate = opts.hydrate, rel](const remote::ProgressFn&) -> Result<bool> {
          if (Status s = hydrate(rel); !s) return tl::unexpected(s.error());
          return true;
        });
    if (done) continue;  // look again: it is local now
    switch (done.error().code()) {
      case ErrorCode::kOffline:
        if (int r = miss(rel)) return r;
        continue;
      case ErrorCode::kTimeout: return -kWaitTimeoutErrno;
      case ErrorCode::kConflict: return -EBUSY;  // a conflict holds it: decide that first
      default: return -errnoOf(done.error());
    }
  }
  return -EIO;
}

int ViewCore::makeParents(const RelPath& rel) const {
  std::vector<std::string_view> chain;  // from the top down
  for (std::string_view a = parentOf(rel); !a.empty(); a = parentOf(a)) chain.insert(chain.begin(), a);
  for (std::string_view a : chain) {
    RelPath dir_path(a);
    struct stat st {};
    if (localStat(dir_path, &st)) {
      if (!S_ISDIR(st.st_mode)) return -ENOTDIR;
      continue;
    }
    auto e = tree.find(dir_path);
    if (!e) return -ENOENT;
    if (e->meta.type != FileType::kDir) return -ENOTDIR;
    int dir = openLocal(RelPath(parentOf(a)), O_PATH | O_DIRECTORY);
    if (dir < 0) return dir;
    std::string name(baseName(a));
    mode_t mode = e->meta.mode & 07777;
    const bool made = ::mkdirat(dir, name.c_str(), mode) == 0;
    int err = made ? 0 : (errno == EEXIST ? 0 : errno);
    // The listed mode exactly (not as the umask leaves it): the engine
    // finds the directory the same on both sides.
    if (made && ::fchmodat(dir, name.c_str(), mode, 0) != 0) err = errno;
    ::close(dir);
    if (err != 0) return -err;
    if (made) reportCreated(dir_path);
  }
  return 0;
}

}  // namespace hoard::view
