// SPDX-License-Identifier: MIT
#include "store/BaseStore.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "common/RelPath.h"

namespace hoard::store {
namespace {

constexpr int kOpenDirFlags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;

bool isHex(std::string_view s) {
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

// Names in the directory `dirfd` (without "." and ".."). A fresh fd is opened
// so the caller's fd keeps its offset.
Result<std::vector<std::string>> listDir(int dirfd, std::string_view what) {
  int fd = ::openat(dirfd, ".", kOpenDirFlags);
  if (fd < 0) return failErrno(errno, "open directory " + std::string(what));
  DIR* d = ::fdopendir(fd);
  if (d == nullptr) {
    int err = errno;
    ::close(fd);
    return failErrno(err, "fdopendir " + std::string(what));
  }
  std::vector<std::string> names;
  for (;;) {
    errno = 0;
    struct dirent* e = ::readdir(d);
    if (e == nullptr) {
      int err = errno;
      ::closedir(d);
      if (err != 0) return failErrno(err, "readdir " + std::string(what));
      break;
    }
    if (std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0) continue;
    names.emplace_back(e->d_name);
  }
  return names;
}

Status makeDir(const std::string& path) {
  if (::mkdir(path.c_str(), 0700) == 0 || errno == EEXIST) return {};
  return failErrno(errno, "create store directory " + displayPath(path));
}

// mkdir -p for an absolute or relative path.
Status makeDirs(const std::string& path) {
  for (size_t i = 1; i < path.size(); ++i) {
    if (path[i] != '/') continue;
    auto st = makeDir(path.substr(0, i));
    if (!st) return st;
  }
  return makeDir(path);
}

Status writeAll(int fd, const char* data, size_t len, off_t off, std::string_view what) {
  while (len > 0) {
    ssize_t n = ::pwrite(fd, data, len, off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return failErrno(errno, "write " + std::string(what));
    }
    data += n;
    len -= static_cast<size_t>(n);
    off += n;
  }
  return {};
}

// Copies src (from offset 0 to its end, however long that turns out to be)
// into dst. copy_file_range first (server-side or in-kernel copy), read/write
// when the kernel or filesystem cannot.
Status copyContents(int src, int dst, std::string_view what) {
  off_t in_off = 0, out_off = 0;
  bool use_cfr = true;
  while (use_cfr) {
    ssize_t n = ::copy_file_range(src, &in_off, dst, &out_off, size_t{1} << 30, 0);
    if (n > 0) continue;
    if (n == 0) return {};
    if (errno == EINTR) continue;
    if (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP ||
        errno == EBADF || errno == ETXTBSY) {
      use_cfr = false;  // the offsets still say where the copy stands
      break;
    }
    return failErrno(errno, "copy " + std::string(what) + " into the store");
  }
  std::vector<char> buf(size_t{1} << 17);
  for (;;) {
    ssize_t n = ::pread(src, buf.data(), buf.size(), in_off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return failErrno(errno, "read " + std::string(what));
    }
    if (n == 0) return {};
    auto st = writeAll(dst, buf.data(), static_cast<size_t>(n), out_off, "store temp file");
    if (!st) return st;
    in_off += n;
    out_off += n;
  }
}

std::string randomTempName() {
  uint8_t r[8];
  if (::getrandom(r, sizeof r, 0) != static_cast<ssize_t>(sizeof r)) {
    // getrandom cannot really fail for 8 bytes; mix in pid and address as a fallback.
    uint64_t v =
        static_cast<uint64_t>(::getpid()) * 0x9E3779B97F4A7C15ull ^ reinterpret_cast<uintptr_t>(&r);
    std::memcpy(r, &v, sizeof r);
  }
  static const char kHex[] = "0123456789abcdef";
  std::string name = "put-";
  for (uint8_t b : r) {
    name += kHex[b >> 4];
    name += kHex[b & 15];
  }
  return name;
}

}  // namespace

std::string objectPath(const ContentHash& id) {
  std::string h = id.hex();
  return "objects/" + h.substr(0, 2) + "/" + h.substr(2);
}

BaseStore::BaseStore(std::string dir, StoreOptions options, UniqueFd objects, UniqueFd tmp)
    : dir_(std::move(dir)),
      options_(options),
      objects_fd_(std::move(objects)),
      tmp_fd_(std::move(tmp)),
      mu_(std::make_unique<Mutex>()) {}

BaseStore::BaseStore(BaseStore&&) noexcept = default;
BaseStore& BaseStore::operator=(BaseStore&&) noexcept = default;
BaseStore::~BaseStore() = default;

Result<BaseStore> BaseStore::open(std::string dir, StoreOptions options) {
  if (dir.empty()) return fail(ErrorCode::kInvalidArgument, "store directory is empty");
  if (auto st = makeDirs(dir); !st) return tl::unexpected(st.error());
  UniqueFd root(::open(dir.c_str(), kOpenDirFlags));
  if (!root) return failErrno(errno, "open store directory " + displayPath(dir));
  for (const char* sub : {"objects", "tmp"}) {
    if (::mkdirat(root.get(), sub, 0700) != 0 && errno != EEXIST)
      return failErrno(errno, "create " + displayPath(dir + "/" + sub));
  }
  UniqueFd objects(::openat(root.get(), "objects", kOpenDirFlags));
  if (!objects) return failErrno(errno, "open " + displayPath(dir + "/objects"));
  UniqueFd tmp(::openat(root.get(), "tmp", kOpenDirFlags));
  if (!tmp) return failErrno(errno, "open " + displayPath(dir + "/tmp"));

  // Whatever is in tmp/ was being written when a process died: it never became
  // an object, so nothing can reference it. Except gc-ID: an object a
  // collection had moved aside to look at; it goes back (the next collection
  // decides again).
  auto leftovers = listDir(tmp.get(), displayPath(dir + "/tmp"));
  if (!leftovers) return tl::unexpected(leftovers.error());
  for (const auto& name : *leftovers) {
    if (name.size() == 3 + ContentHash::kSize * 2 && name.compare(0, 3, "gc-") == 0 &&
        isHex(std::string_view(name).substr(3))) {
      std::string fan = name.substr(3, 2);
      std::string back = fan + "/" + name.substr(5);
      if (::mkdirat(objects.get(), fan.c_str(), 0700) != 0 && errno != EEXIST)
        return failErrno(errno, "create " + displayPath(dir + "/objects/" + fan));
      if (::renameat2(tmp.get(), name.c_str(), objects.get(), back.c_str(), RENAME_NOREPLACE) ==
          0)
        continue;
      if (errno == EINVAL || errno == ENOSYS) {
        if (::renameat(tmp.get(), name.c_str(), objects.get(), back.c_str()) == 0) continue;
      }
      // EEXIST: the object was stored again meanwhile; this copy is surplus.
    }
    if (::unlinkat(tmp.get(), name.c_str(), 0) != 0 && errno != ENOENT)
      return failErrno(errno, "remove leftover " + displayPath(dir + "/tmp/" + name));
  }

  BaseStore store(std::move(dir), options, std::move(objects), std::move(tmp));
  if (auto st = store.recount(); !st) return tl::unexpected(st.error());
  return store;
}

std::string BaseStore::objectName(const ContentHash& id) const {
  std::string h = id.hex();
  h.insert(2, 1, '/');
  return h;
}

Status BaseStore::recount() {
  StoreUsage u;
  auto ids = list();
  if (!ids) return tl::unexpected(ids.error());
  for (const auto& id : *ids) {
    struct stat st;
    if (::fstatat(objects_fd_.get(), objectName(id).c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT) continue;
      return failErrno(errno, "stat " + displayPath(dir_ + "/" + objectPath(id)));
    }
    ++u.objects;
    u.bytes += static_cast<uint64_t>(st.st_size);
  }
  MutexLock lock(*mu_);
  usage_ = u;
  return {};
}

Result<PutResult> BaseStore::putAt(int dirfd, const std::string& name) {
  UniqueFd fd(::openat(dirfd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY));
  if (!fd) {
    if (errno == ELOOP)
      return fail(ErrorCode::kInvalidArgument,
                  "store " + displayPath(name) + ": is a symlink, not a regular file");
    return failErrno(errno, "open " + displayPath(name) + " to store it");
  }
  return put(fd.get(), name);
}

Result<PutResult> BaseStore::put(int fd, std::string_view what, Sync sync) {
  const bool durable = options_.durable && sync == Sync::kNow;
  const std::string shown = displayPath(what);
  struct stat src_st;
  if (::fstat(fd, &src_st) != 0) return failErrno(errno, "stat " + shown);
  if (!S_ISREG(src_st.st_mode))
    return fail(ErrorCode::kInvalidArgument, "store " + shown + ": not a regular file");

  std::string tmp_name;
  UniqueFd tmp;
  for (int attempt = 0; !tmp; ++attempt) {
    tmp_name = randomTempName();
    tmp.reset(::openat(tmp_fd_.get(), tmp_name.c_str(),
                       O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (!tmp && (errno != EEXIST || attempt > 16))
      return failErrno(errno, "create temp file in " + displayPath(dir_ + "/tmp"));
  }
  // Until the rename, the temp file is ours to delete on every failure path.
  struct TempGuard {
    int dirfd;
    const std::string& name;
    bool armed = true;
    ~TempGuard() {
      if (armed) ::unlinkat(dirfd, name.c_str(), 0);
    }
  } guard{tmp_fd_.get(), tmp_name};

  PutResult r;
  if (options_.allow_reflink && ::ioctl(tmp.get(), FICLONE, fd) == 0) {
    r.reflinked = true;
  } else {
    if (auto st = copyContents(fd, tmp.get(), shown); !st) return tl::unexpected(st.error());
  }

  // The id names what we stored, not what the source held a moment ago.
  auto hash = hashFd(tmp.get(), "store temp copy of " + shown);
  if (!hash) return tl::unexpected(hash.error());
  struct stat tmp_st;
  if (::fstat(tmp.get(), &tmp_st) != 0) return failErrno(errno, "stat store temp file");
  r.hash = *hash;
  r.size = static_cast<uint64_t>(tmp_st.st_size);

  const std::string name = objectName(r.hash);
  // Touching it is how we find it: a stamped object is kept by a bounded
  // collection, and one a collection has moved aside is not found (ENOENT)
  // and is stored anew below.
  if (::utimensat(objects_fd_.get(), name.c_str(), nullptr, AT_SYMLINK_NOFOLLOW) == 0) {
    r.existed = true;
    return r;  // the guard drops the temp
  }
  struct stat obj_st;
  if (errno != ENOENT &&
      ::fstatat(objects_fd_.get(), name.c_str(), &obj_st, AT_SYMLINK_NOFOLLOW) == 0) {
    r.existed = true;  // not ours to touch (another owner): it exists all the same
    return r;
  }

  {
    MutexLock lock(*mu_);
    if (options_.budget_bytes != 0 && usage_.bytes + r.size > options_.budget_bytes)
      return fail(ErrorCode::kNoSpace, "store " + shown + ": " + std::to_string(r.size) +
                                           " bytes would exceed the " + "store budget of " +
                                           std::to_string(options_.budget_bytes) + " bytes (" +
                                           std::to_string(usage_.bytes) + " in use)");
    usage_.bytes += r.size;  // reserved now so parallel puts cannot overshoot together
    ++usage_.objects;
  }
  auto unreserve = [&] {
    MutexLock lock(*mu_);
    usage_.bytes -= r.size;
    --usage_.objects;
  };

  ::fchmod(tmp.get(), 0444);
  if (durable && ::fsync(tmp.get()) != 0) {
    int err = errno;
    unreserve();
    return failErrno(err, "fsync store copy of " + shown);
  }
  const std::string fan = name.substr(0, 2);
  bool new_fan = ::mkdirat(objects_fd_.get(), fan.c_str(), 0700) == 0;
  if (!new_fan && errno != EEXIST) {
    int err = errno;
    unreserve();
    return failErrno(err, "create " + displayPath(dir_ + "/objects/" + fan));
  }
  int rc = ::renameat2(tmp_fd_.get(), tmp_name.c_str(), objects_fd_.get(), name.c_str(),
                       RENAME_NOREPLACE);
  if (rc != 0 && (errno == EINVAL || errno == ENOSYS)) {
    // No RENAME_NOREPLACE on this filesystem: a plain rename over an object of
    // the same id replaces equal bytes with equal bytes, which is harmless.
    rc = ::renameat(tmp_fd_.get(), tmp_name.c_str(), objects_fd_.get(), name.c_str());
  }
  if (rc != 0) {
    int err = errno;
    unreserve();
    if (err == EEXIST) {  // a parallel put stored the same bytes first
      (void)::utimensat(objects_fd_.get(), name.c_str(), nullptr, AT_SYMLINK_NOFOLLOW);
      r.existed = true;
      return r;
    }
    return failErrno(err, "rename store copy of " + shown + " to " +
                              displayPath(dir_ + "/" + objectPath(r.hash)));
  }
  guard.armed = false;
  if (durable) {
    UniqueFd fan_fd(::openat(objects_fd_.get(), fan.c_str(), kOpenDirFlags));
    if (fan_fd) ::fsync(fan_fd.get());
    if (new_fan) ::fsync(objects_fd_.get());
  }
  return r;
}

Status BaseStore::syncAll() {
  if (!options_.durable) return {};
  if (::syncfs(objects_fd_.get()) != 0)
    return failErrno(errno, "sync the base store " + displayPath(dir_));
  return {};
}

Result<UniqueFd> BaseStore::open(const ContentHash& id) const {
  UniqueFd fd(::openat(objects_fd_.get(), objectName(id).c_str(),
                       O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY));
  if (!fd) return failErrno(errno, "open store object " + displayPath(dir_ + "/" + objectPath(id)));
  return fd;
}

bool BaseStore::contains(const ContentHash& id) const {
  struct stat st;
  return ::fstatat(objects_fd_.get(), objectName(id).c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0;
}

Result<bool> BaseStore::remove(const ContentHash& id) {
  const std::string name = objectName(id);
  struct stat st;
  if (::fstatat(objects_fd_.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return false;
    return failErrno(errno, "stat store object " + displayPath(dir_ + "/" + objectPath(id)));
  }
  if (::unlinkat(objects_fd_.get(), name.c_str(), 0) != 0) {
    if (errno == ENOENT) return false;
    return failErrno(errno, "remove store object " + displayPath(dir_ + "/" + objectPath(id)));
  }
  MutexLock lock(*mu_);
  usage_.bytes -= std::min(usage_.bytes, static_cast<uint64_t>(st.st_size));
  if (usage_.objects > 0) --usage_.objects;
  return true;
}

Result<std::vector<ContentHash>> BaseStore::list() const {
  std::vector<ContentHash> ids;
  const std::string objects_dir = displayPath(dir_ + "/objects");
  auto fans = listDir(objects_fd_.get(), objects_dir);
  if (!fans) return tl::unexpected(fans.error());
  for (const auto& fan : *fans) {
    if (fan.size() != 2 || !isHex(fan)) continue;
    UniqueFd fan_fd(::openat(objects_fd_.get(), fan.c_str(), kOpenDirFlags));
    if (!fan_fd) {
      if (errno == ENOTDIR || errno == ELOOP || errno == ENOENT) continue;
      return failErrno(errno, "open " + objects_dir + "/" + fan);
    }
    auto names = listDir(fan_fd.get(), objects_dir + "/" + fan);
    if (!names) return tl::unexpected(names.error());
    for (const auto& n : *names) {
      if (n.size() != ContentHash::kSize * 2 - 2 || !isHex(n)) continue;
      auto id = ContentHash::fromHex(fan + n);
      if (id) ids.push_back(*id);
    }
  }
  return ids;
}

StoreUsage BaseStore::usage() const {
  MutexLock lock(*mu_);
  return usage_;
}

bool BaseStore::claimSweep(std::chrono::system_clock::time_point now,
                           std::chrono::seconds interval) {
  MutexLock lock(*mu_);
  // A clock set back counts as "not within the interval": sweeping early is harmless.
  if (last_sweep_ && now >= *last_sweep_ && now - *last_sweep_ < interval) return false;
  last_sweep_ = now;
  return true;
}

bool BaseStore::wouldFit(uint64_t size) const {
  if (options_.budget_bytes == 0) return true;
  MutexLock lock(*mu_);
  return usage_.bytes + size <= options_.budget_bytes;
}

Status BaseStore::verify(const ContentHash& id) const {
  auto fd = open(id);
  if (!fd) return tl::unexpected(fd.error());
  const std::string shown = displayPath(dir_ + "/" + objectPath(id));
  auto h = hashFd(fd->get(), shown);
  if (!h) return tl::unexpected(h.error());
  if (*h != id)
    return fail(ErrorCode::kCorrupt,
                "store object " + shown + " is corrupt: its bytes hash to " + h->hex());
  return {};
}

Result<GcResult> BaseStore::collectGarbage(const std::vector<ContentHash>& unreferenced) {
  GcResult gc;
  for (const auto& id : unreferenced) {
    struct stat st;
    uint64_t size = 0;
    if (::fstatat(objects_fd_.get(), objectName(id).c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0)
      size = static_cast<uint64_t>(st.st_size);
    auto removed = remove(id);
    if (!removed) return tl::unexpected(removed.error());
    if (*removed) gc.bytes_freed += size;
    gc.removed.push_back(id);
  }
  return gc;
}

Result<GcResult> BaseStore::sweep(const std::function<bool(const ContentHash&)>& is_live) {
  auto ids = list();
  if (!ids) return tl::unexpected(ids.error());
  std::vector<ContentHash> dead;
  for (const auto& id : *ids)
    if (!is_live(id)) dead.push_back(id);
  return collectGarbage(dead);
}

Result<std::optional<uint64_t>> BaseStore::removeIfStale(
    const ContentHash& id, std::chrono::system_clock::time_point put_before) {
  const std::string name = objectName(id);
  const std::string aside = "gc-" + id.hex();
  const std::string shown = displayPath(dir_ + "/" + objectPath(id));
  if (::renameat(objects_fd_.get(), name.c_str(), tmp_fd_.get(), aside.c_str()) != 0) {
    if (errno == ENOENT) return std::optional<uint64_t>(0);  // already gone
    return failErrno(errno, "move store object " + shown + " aside to collect it");
  }
  struct stat st;
  if (::fstatat(tmp_fd_.get(), aside.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    int err = errno;
    (void)::renameat(tmp_fd_.get(), aside.c_str(), objects_fd_.get(), name.c_str());
    return failErrno(err, "stat store object " + shown);
  }
  auto stamped = std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(
          std::chrono::seconds(st.st_mtim.tv_sec) + std::chrono::nanoseconds(st.st_mtim.tv_nsec)));
  const auto size = static_cast<uint64_t>(st.st_size);
  auto forget = [&] {
    MutexLock lock(*mu_);
    usage_.bytes -= std::min(usage_.bytes, size);
    if (usage_.objects > 0) --usage_.objects;
  };
  if (stamped >= put_before) {
    // Put (again) recently: someone may be about to reference it. Back it goes.
    int rc = ::renameat2(tmp_fd_.get(), aside.c_str(), objects_fd_.get(), name.c_str(),
                         RENAME_NOREPLACE);
    if (rc != 0 && (errno == EINVAL || errno == ENOSYS))
      rc = ::renameat(tmp_fd_.get(), aside.c_str(), objects_fd_.get(), name.c_str());
    if (rc != 0) {
      int err = errno;
      if (err != EEXIST) return failErrno(err, "put store object " + shown + " back");
      // A put stored the same bytes anew while this copy was aside: keep theirs.
      if (::unlinkat(tmp_fd_.get(), aside.c_str(), 0) == 0) forget();
    }
    return std::optional<uint64_t>();
  }
  if (::unlinkat(tmp_fd_.get(), aside.c_str(), 0) != 0 && errno != ENOENT)
    return failErrno(errno, "remove store object " + shown);
  forget();
  return std::optional<uint64_t>(size);
}

Result<GcResult> BaseStore::collectGarbage(const std::vector<ContentHash>& unreferenced,
                                           std::chrono::system_clock::time_point put_before) {
  GcResult gc;
  for (const auto& id : unreferenced) {
    auto freed = removeIfStale(id, put_before);
    if (!freed) return tl::unexpected(freed.error());
    if (!*freed) continue;
    gc.bytes_freed += **freed;
    gc.removed.push_back(id);
  }
  return gc;
}

Result<GcResult> BaseStore::sweep(const std::function<bool(const ContentHash&)>& is_live,
                                  std::chrono::system_clock::time_point put_before) {
  auto ids = list();
  if (!ids) return tl::unexpected(ids.error());
  std::vector<ContentHash> dead;
  for (const auto& id : *ids)
    if (!is_live(id)) dead.push_back(id);
  return collectGarbage(dead, put_before);
}

}  // namespace hoard::store
