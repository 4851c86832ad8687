// SPDX-License-Identifier: MIT
// PosixRemoteFs's listings and walks: listDir, the whole-tree walk and the
// stale-temporary sweep built on it, and the directories a bounded walk
// opens one at a time (openDir).
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <functional>
#include <mutex>
#include <vector>

#include "common/ThreadAnnotations.h"
#include "remote/PosixAt.h"
#include "remote/PosixRemoteFs.h"

namespace hoard::remote {

using namespace posix;  // NOLINT: this file's own helpers

namespace {

FileType direntType(unsigned char d_type) {
  switch (d_type) {
    case DT_REG:
      return FileType::kFile;
    case DT_DIR:
      return FileType::kDir;
    case DT_LNK:
      return FileType::kSymlink;
    default:
      return FileType::kOther;
  }
}

// Reads every entry of the directory open at `dir_fd` (from its start; the
// fd's own offset is left wherever reading ends). DT_UNKNOWN (some network
// filesystems leave d_type unset) is resolved with an lstat; a name that
// vanished meanwhile is skipped.
Result<std::vector<DirEntry>> readEntries(int dir_fd, bool hide_internal, bool at_root,
                                          const std::function<std::string(const std::string&)>& what) {
  int dup = ::fcntl(dir_fd, F_DUPFD_CLOEXEC, 0);
  if (dup < 0) return failErrno(errno, what(""));
  DIR* d = ::fdopendir(dup);
  if (d == nullptr) {
    int err = errno;
    ::close(dup);
    return failErrno(err, what(""));
  }
  ::rewinddir(d);
  std::vector<DirEntry> out;
  for (;;) {
    errno = 0;
    struct dirent* e = ::readdir(d);
    if (e == nullptr) {
      int err = errno;
      ::closedir(d);
      if (err != 0) return failErrno(err, what(""));
      return out;
    }
    std::string name(e->d_name);
    if (name == "." || name == "..") continue;
    if (hide_internal && isInternalName(name, at_root)) continue;
    FileType type = direntType(e->d_type);
    if (e->d_type == DT_UNKNOWN) {
      struct stat st;
      int err = 0;
      if (!lstatAt(dir_fd, name, &st, &err)) {
        if (err == ENOENT) continue;
        ::closedir(d);
        return failErrno(err, what(name));
      }
      type = fileTypeFromMode(st.st_mode);
    }
    out.push_back(DirEntry{std::move(name), type});
  }
}

// A directory of a PosixRemoteFs open for a walk. Holds copies of what it
// needs (not the fs), so a call abandoned on a hung mount may outlive the fs.
class PosixRemoteDir final : public RemoteDir {
 public:
  PosixRemoteDir(RelPath path, UniqueFd fd, std::shared_ptr<DataVersionProbe> probe,
                 std::shared_ptr<const std::pair<std::string, std::string>> where,
                 Freshness freshness)
      : path_(std::move(path)), fd_(std::move(fd)), probe_(std::move(probe)),
        where_(std::move(where)), freshness_(freshness) {}

  const RelPath& path() const override { return path_; }

  Result<std::vector<DirEntry>> list(bool include_internal) override {
    // One reader at a time: the listing moves the fd's shared offset.
    MutexLock lock(list_mu_);
    return readEntries(fd_.get(), !include_internal, path_.empty(),
                       [this](const std::string& name) {
                         return describe("list", name.empty() ? path_ : joinPath(path_, name));
                       });
  }

  Result<Stat> stat(const std::string& name) override {
    if (!oneComponent(name))
      return fail(ErrorCode::kInvalidArgument, describe("walk", path_) + ": bad entry name");
    return statEntry(*probe_, fd_.get(), name, describe("walk", joinPath(path_, name)),
                     freshness_);
  }

  Result<std::shared_ptr<RemoteDir>> openDir(const std::string& name) override {
    if (!oneComponent(name))
      return fail(ErrorCode::kInvalidArgument, describe("walk", path_) + ": bad entry name");
    RelPath child = joinPath(path_, name);
    // O_NOFOLLOW: a symlink swapped in since the stat is refused (ELOOP),
    // never followed; O_DIRECTORY: anything else but a directory is ENOTDIR.
    UniqueFd fd(::openat(fd_.get(), name.c_str(), kDirRead | O_NOFOLLOW));
    if (!fd) {
      int err = errno;
      struct stat st;
      int ignored = 0;
      // O_DIRECTORY is checked before O_NOFOLLOW: a symlink gives ENOTDIR.
      if (err == ELOOP ||
          (err == ENOTDIR && lstatAt(fd_.get(), name, &st, &ignored) && S_ISLNK(st.st_mode))) {
        return tl::unexpected(outsideRoot(describe("walk", child), ELOOP));
      }
      return failErrno(err, describe("walk", child));
    }
    return std::shared_ptr<RemoteDir>(
        std::make_shared<PosixRemoteDir>(std::move(child), std::move(fd), probe_, where_,
                                         freshness_));
  }

  Result<bool> removeTemp(const std::string& name) override {
    RelPath p = joinPath(path_, name);
    if (!oneComponent(name) || name.compare(0, kTempPrefix.size(), kTempPrefix) != 0)
      return fail(ErrorCode::kInvalidArgument,
                  describe("remove stale temporary", p) + ": not a hoard temporary");
    if (::unlinkat(fd_.get(), name.c_str(), 0) != 0) {
      int err = errno;
      if (err == ENOENT) return false;
      if (err == EISDIR || err == EPERM)
        return fail(ErrorCode::kInvalidArgument,
                    describe("remove stale temporary", p) + ": is a directory", err);
      return failErrno(err, describe("remove stale temporary", p));
    }
    return true;
  }

 private:
  std::string describe(std::string_view op, const RelPath& p) const {
    return describeIn(where_->first, where_->second, op, p);
  }

  const RelPath path_;
  const UniqueFd fd_;
  const std::shared_ptr<DataVersionProbe> probe_;
  // (side, root) for messages.
  const std::shared_ptr<const std::pair<std::string, std::string>> where_;
  const Freshness freshness_;  // of stat(): kFromLookup on a FUSE root
  Mutex list_mu_;
};

}  // namespace

Result<std::vector<DirEntry>> PosixRemoteFs::listDir(const RelPath& dir) {
  if (auto ok = validateRelPath(dir); !ok) {
    return tl::unexpected(ok.error().withContext(describe("list", dir)));
  }
  auto root = openRoot("list");
  if (!root) return tl::unexpected(root.error());
  auto fd = openDirBeneath(root->get(), dir, kDirRead, "list");
  if (!fd) return tl::unexpected(fd.error());
  DIR* d = ::fdopendir(fd->get());
  if (d == nullptr) return failErrno(errno, describe("list", dir));
  int dfd = fd->release();
  std::vector<DirEntry> out;
  for (;;) {
    errno = 0;
    struct dirent* e = ::readdir(d);
    if (e == nullptr) {
      int err = errno;
      ::closedir(d);
      if (err != 0) return failErrno(err, describe("list", dir));
      return out;
    }
    std::string name(e->d_name);
    if (name == "." || name == "..") continue;
    if (isInternalName(name, dir.empty())) continue;
    FileType type = FileType::kOther;
    switch (e->d_type) {
      case DT_REG:
        type = FileType::kFile;
        break;
      case DT_DIR:
        type = FileType::kDir;
        break;
      case DT_LNK:
        type = FileType::kSymlink;
        break;
      case DT_UNKNOWN: {
        // Some network filesystems leave d_type unset.
        struct stat st;
        int err = 0;
        if (!lstatAt(dfd, name, &st, &err)) {
          if (err == ENOENT) continue;  // vanished meanwhile
          ::closedir(d);
          return failErrno(err, describe("list", joinPath(dir, name)));
        }
        type = fileTypeFromMode(st.st_mode);
        break;
      }
      default:
        type = FileType::kOther;
        break;
    }
    out.push_back(DirEntry{std::move(name), type});
  }
}

Status PosixRemoteFs::walkInto(const RelPath& top, bool include_internal,
                               std::vector<WalkEntry>* out) const {
  if (auto ok = validateRelPath(top); !ok) {
    return tl::unexpected(ok.error().withContext(describe("walk", top)));
  }
  auto root = openRoot("walk");
  if (!root) return tl::unexpected(root.error());
  // Explicit stack, one directory fd open at a time: a deep tree must not
  // exhaust descriptors or the stack.
  // Each pending directory with its entry's index in `out` (none for the top).
  constexpr size_t kTop = static_cast<size_t>(-1);
  std::vector<std::pair<RelPath, size_t>> pending{{top, kTop}};
  bool first = true;
  while (!pending.empty()) {
    auto [dir, at] = std::move(pending.back());
    pending.pop_back();
    auto fd = openDirBeneath(root->get(), dir, kDirRead, "walk");
    if (!fd) {
      // A subdirectory that vanished (or became a symlink) since it was listed.
      if (!first && (fd.error().code() == ErrorCode::kNotFound ||
                     fd.error().code() == ErrorCode::kOutsideRoot)) {
        continue;
      }
      // One that refuses to be read: its subtree is unknown, the rest goes on.
      if (!first && fd.error().code() == ErrorCode::kPermission) {
        (*out)[at].unlisted = fd.error();
        continue;
      }
      return tl::unexpected(fd.error());
    }
    first = false;
    DIR* d = ::fdopendir(fd->get());
    if (d == nullptr) return failErrno(errno, describe("walk", dir));
    int dfd = fd->release();
    std::vector<std::string> names;
    for (;;) {
      errno = 0;
      struct dirent* e = ::readdir(d);
      if (e == nullptr) {
        if (errno != 0) {
          int err = errno;
          ::closedir(d);
          return failErrno(err, describe("walk", dir));
        }
        break;
      }
      std::string name(e->d_name);
      if (name == "." || name == "..") continue;
      if (!include_internal && isInternalName(name, dir.empty())) continue;
      names.push_back(std::move(name));
    }
    std::sort(names.begin(), names.end());
    std::vector<std::pair<RelPath, size_t>> subdirs;
    for (const std::string& name : names) {
      RelPath child = joinPath(dir, name);
      auto st = statAt(dfd, name, child, "walk");
      if (!st) {
        if (st.error().code() == ErrorCode::kNotFound) continue;
        ::closedir(d);
        return tl::unexpected(st.error());
      }
      if (st->meta.type == FileType::kDir) subdirs.emplace_back(child, out->size());
      out->push_back(WalkEntry{std::move(child), std::move(*st), std::nullopt});
    }
    ::closedir(d);
    // Reverse so the stack pops them in name order.
    for (auto it = subdirs.rbegin(); it != subdirs.rend(); ++it) pending.push_back(std::move(*it));
  }
  return {};
}

Result<std::vector<WalkEntry>> PosixRemoteFs::walk(const RelPath& dir) {
  std::vector<WalkEntry> out;
  if (auto ok = walkInto(dir, false, &out); !ok) return tl::unexpected(ok.error());
  return out;
}

Result<std::shared_ptr<RemoteDir>> PosixRemoteFs::openDir(const RelPath& dir) {
  if (auto ok = validateRelPath(dir); !ok) {
    return tl::unexpected(ok.error().withContext(describe("walk", dir)));
  }
  auto root = openRoot("walk");
  if (!root) return tl::unexpected(root.error());
  auto fd = openDirBeneath(root->get(), dir, kDirRead, "walk");
  if (!fd) return tl::unexpected(fd.error());
  auto where = std::make_shared<const std::pair<std::string, std::string>>(side_, root_);
  return std::shared_ptr<RemoteDir>(
      std::make_shared<PosixRemoteDir>(dir, std::move(*fd), probe_, std::move(where),
                                       observeFromLookup() ? Freshness::kFromLookup
                                                           : Freshness::kSync));
}

Result<uint64_t> PosixRemoteFs::removeStaleTemps(const RelPath& dir) {
  std::vector<WalkEntry> all;
  if (auto ok = walkInto(dir, true, &all); !ok) return tl::unexpected(ok.error());
  uint64_t removed = 0;
  for (const WalkEntry& e : all) {
    std::string_view name = baseName(e.path);
    if (name.substr(0, kTempPrefix.size()) != kTempPrefix || e.stat.meta.type == FileType::kDir) {
      continue;
    }
    auto p = openParent(e.path, "remove stale temporary");
    if (!p) return tl::unexpected(p.error());
    if (::unlinkat(p->dir.get(), p->name.c_str(), 0) != 0) {
      if (errno == ENOENT) continue;
      return failErrno(errno, describe("remove stale temporary", e.path));
    }
    ++removed;
  }
  return removed;
}

}  // namespace hoard::remote
