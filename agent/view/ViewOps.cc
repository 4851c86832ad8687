// SPDX-License-Identifier: MIT
// The FUSE operations of the view (libfuse's high-level, path-based API).
// Metadata from the cache root (hydrated files, as they are locally) and
// otherwise from the listing in memory; data of placeholders through
// ViewCore::readPlaceholder.

#define FUSE_USE_VERSION 314
#include <dirent.h>
#include <fcntl.h>
#include <fuse3/fuse.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <optional>

#include "remote/RemoteFs.h"
#include "view/ViewCore.h"
#include "view/ViewOps.h"

namespace hoard::view {

namespace {

ViewCore& core() { return requestCore(); }
RelPath rel(const char* path) { return requestPath(path); }

bool internalName(const RelPath& p) {
  return remote::isInternalName(baseName(p), parentOf(p).empty());
}

void fillFromListing(const journal::ListedEntry& e, struct stat* st) {
  std::memset(st, 0, sizeof *st);
  switch (e.meta.type) {
    case FileType::kDir: st->st_mode = S_IFDIR; st->st_nlink = 2; break;
    case FileType::kSymlink: st->st_mode = S_IFLNK; st->st_nlink = 1; break;
    default: st->st_mode = S_IFREG; st->st_nlink = 1; break;
  }
  st->st_mode |= e.meta.mode & 07777;
  st->st_size = static_cast<off_t>(e.meta.type == FileType::kSymlink ? e.symlink_target.size()
                                                                     : e.meta.size);
  st->st_mtim.tv_sec = e.meta.mtime_ns / 1'000'000'000;
  st->st_mtim.tv_nsec = e.meta.mtime_ns % 1'000'000'000;
  st->st_ctim.tv_sec = e.meta.ctime_ns / 1'000'000'000;
  st->st_ctim.tv_nsec = e.meta.ctime_ns % 1'000'000'000;
  st->st_atim = st->st_mtim;
  st->st_uid = ::getuid();
  st->st_gid = ::getgid();
  st->st_blksize = 4096;
  st->st_blocks = (st->st_size + 511) / 512;
}

// The local copy's metadata if there is one, else the listing's.
bool statOf(const RelPath& p, struct stat* st) {
  if (core().localStat(p, st)) return true;
  auto e = core().tree.find(p);
  if (!e || internalName(p)) return false;
  fillFromListing(*e, st);
  return true;
}

int opGetattr(const char* path, struct stat* st, struct fuse_file_info*) {
  return statOf(rel(path), st) ? 0 : -ENOENT;
}

int opReadlink(const char* path, char* buf, size_t size) {
  RelPath p = rel(path);
  struct stat st {};
  if (size == 0) return -EINVAL;
  if (core().localStat(p, &st)) {
    int dir = core().openLocal(RelPath(parentOf(p)), O_PATH | O_DIRECTORY);
    if (dir < 0) return dir;
    ssize_t n = ::readlinkat(dir, std::string(baseName(p)).c_str(), buf, size - 1);
    int err = errno;
    ::close(dir);
    if (n < 0) return -err;
    buf[n] = '\0';
    return 0;
  }
  auto e = core().tree.find(p);
  if (!e) return -ENOENT;
  if (e->meta.type != FileType::kSymlink) return -EINVAL;
  size_t n = std::min(size - 1, e->symlink_target.size());
  std::memcpy(buf, e->symlink_target.data(), n);
  buf[n] = '\0';
  return 0;
}

int opReaddir(const char* path, void* buf, fuse_fill_dir_t filler, off_t, struct fuse_file_info*,
              enum fuse_readdir_flags flags) {
  RelPath p = rel(path);
  // readdirplus: the attributes come with the names, sparing `find` and
  // `ls -l` a lookup per entry. A name the cache root holds has its local
  // attributes (one fstatat in the directory already open); the others
  // come from the listing, with no system call.
  const bool plus = flags & FUSE_READDIR_PLUS;
  struct Shown {
    std::optional<journal::ListedEntry> listed;
    bool local = false;
  };
  std::map<std::string, Shown> names;
  bool found = false;
  if (auto listed = core().tree.childEntries(p)) {
    found = true;
    for (auto& e : *listed) {
      std::string name(baseName(e.path));
      names[name].listed = std::move(e);
    }
  }
  int fd = core().openLocal(p, O_RDONLY | O_DIRECTORY);
  DIR* d = nullptr;
  if (fd >= 0) {
    found = true;
    if ((d = ::fdopendir(fd)) != nullptr) {
      while (dirent* de = ::readdir(d)) {
        std::string n = de->d_name;
        if (n == "." || n == ".." || remote::isInternalName(n, p.empty())) continue;
        names[n].local = true;
      }
    } else {
      ::close(fd);
    }
  }
  if (!found) {
    if (d) ::closedir(d);
    return -ENOENT;
  }
  filler(buf, ".", nullptr, 0, static_cast<fuse_fill_dir_flags>(0));
  filler(buf, "..", nullptr, 0, static_cast<fuse_fill_dir_flags>(0));
  for (const auto& [name, shown] : names) {
    struct stat st {};
    bool with = false;
    if (plus && shown.local) {
      with = ::fstatat(::dirfd(d), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0;
    } else if (plus && shown.listed && !internalName(shown.listed->path)) {
      fillFromListing(*shown.listed, &st);
      with = true;
    }
    if (filler(buf, name.c_str(), with ? &st : nullptr, 0,
               with ? FUSE_FILL_DIR_PLUS : static_cast<fuse_fill_dir_flags>(0)) != 0)
      break;
  }
  if (d) ::closedir(d);
  return 0;
}

int opOpen(const char* path, struct fuse_file_info* fi) {
  if ((fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC)) return openForWrite(path, fi);
  RelPath p = rel(path);
  auto h = std::make_unique<OpenFile>();
  h->path = p;
  struct stat st {};
  if (core().localStat(p, &st)) {
    int fd = core().openLocal(p, O_RDONLY);
    if (fd < 0) return fd;
    h->fd = UniqueFd(fd);
    // The local copy: the page cache may keep it while it is the same file.
    if (::fstat(fd, &st) != 0) return -errno;
    switch (core().kept_pages.opened(p, st)) {
      case KeptPages::Verdict::kSame: fi->keep_cache = 1; break;
      case KeptPages::Verdict::kFirst: break;  // pages of the placeholder it was: dropped
      case KeptPages::Verdict::kChanged:
        // Replaced (by the engine) or changed since: the kernel drops its
        // pages at this open (no keep_cache) and its attributes now, so the
        // read sees the new size at once. OPEN is not among the requests an
        // invalidation may deadlock with (libfuse's fuse_lowlevel.h).
        fuse_invalidate_path(core().fuse, path);
        break;
    }
  } else {
    auto e = core().tree.find(p);
    if (!e) return -ENOENT;
    if (e->meta.type != FileType::kFile) return -EISDIR;
    // Changed on the remote since it was listed: this open reads the new
    // version, with direct_io, as the kernel still believes the old size.
    bool changed = core().revalidate(p);
    h->version = BlockVersion::of(changed ? core().tree.find(p)->meta : e->meta);
    // A read that may have to wait offline is made with direct_io, so the
    // reader's Ctrl-C reaches us as an interrupt; otherwise the page cache
    // (which mmap needs) serves it.
    fi->direct_io = changed || (!core().online() && !core().placeholderComplete(p));
  }
  fi->fh = core().addOpen(std::move(h));
  return 0;
}

int opRead(const char*, char* buf, size_t size, off_t off, struct fuse_file_info* fi) {
  auto* h = reinterpret_cast<OpenFile*>(fi->fh);
  if (h->fd) {
    ssize_t n = ::pread(h->fd.get(), buf, size, off);
    return n < 0 ? -errno : static_cast<int>(n);
  }
  return core().readPlaceholder(h->path, h->version, buf, size, off);
}

int opRelease(const char*, struct fuse_file_info* fi) {
  auto* h = reinterpret_cast<OpenFile*>(fi->fh);
  if (!h->fd) core().flushBlocks(h->path);
  core().release(fi->fh);
  return 0;
}

int opStatfs(const char*, struct statvfs* sv) {
  int fd = core().openLocal("", O_RDONLY | O_DIRECTORY);
  if (fd < 0) return fd;
  int r = ::fstatvfs(fd, sv);
  int err = errno;
  ::close(fd);
  return r == 0 ? 0 : -err;
}

void* opInit(struct fuse_conn_info*, struct fuse_config* cfg) {
  cfg->attr_timeout = 1.0;
  cfg->entry_timeout = 1.0;
  cfg->negative_timeout = 0;
  cfg->intr = 1;  // a waiting read's interrupt sets fuse_interrupted() (see View.cc)
  cfg->hard_remove = 1;
  return fuse_get_context()->private_data;
}

}  // namespace

fuse_operations viewOperations() {
  fuse_operations ops{};
  ops.init = opInit;
  ops.getattr = opGetattr;
  ops.readlink = opReadlink;
  ops.readdir = opReaddir;
  ops.open = opOpen;
  ops.read = opRead;
  ops.release = opRelease;
  ops.statfs = opStatfs;
  addWriteOperations(ops);
  addXattrOperations(ops);
  return ops;
}

// ---- open files ----------------------------------------------------------

uint64_t ViewCore::addOpen(std::unique_ptr<OpenFile> f) {
  auto fh = reinterpret_cast<uint64_t>(f.get());
  MutexLock lock(open_mu_);
  open_.emplace(fh, std::move(f));
  return fh;
}

void ViewCore::release(uint64_t fh) {
  std::unique_ptr<OpenFile> f;
  MutexLock lock(open_mu_);
  auto it = open_.find(fh);
  if (it == open_.end()) return;
  f = std::move(it->second);
  open_.erase(it);
}

size_t ViewCore::openCount() {
  MutexLock lock(open_mu_);
  return open_.size();
}

// ---- the local side ------------------------------------------------------

int ViewCore::openLocal(const RelPath& p, int flags) const {
  open_how how{};
  how.flags = static_cast<uint64_t>(flags | O_NOFOLLOW | O_CLOEXEC);
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  const char* name = p.empty() ? "." : p.c_str();
  long fd = ::syscall(SYS_openat2, cache_fd.get(), name, &how, sizeof how);
  return fd < 0 ? -errno : static_cast<int>(fd);
}

bool ViewCore::localStat(const RelPath& p, struct stat* st) const {
  if (!p.empty() && internalName(p)) return false;
  if (p.empty()) return ::fstat(cache_fd.get(), st) == 0;
  int dir = openLocal(RelPath(parentOf(p)), O_PATH | O_DIRECTORY);
  if (dir < 0) return false;
  bool ok = ::fstatat(dir, std::string(baseName(p)).c_str(), st, AT_SYMLINK_NOFOLLOW) == 0;
  ::close(dir);
  return ok;
}

}  // namespace hoard::view
