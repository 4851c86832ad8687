// SPDX-License-Identifier: MIT
#include "track/Scanner.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <memory>
#include <unordered_set>
#include <utility>

#include "common/UniqueFd.h"

namespace hoard::track {
namespace {

constexpr int kOpenDirFlags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY;
constexpr size_t kDentsBufferSize = 64 * 1024;

// One entry found by the walk.
struct Entry {
  Observed obs;
  const BaseEntry* base = nullptr;  // base entry at the same path, any type
  int64_t parent = -1;              // index of the parent entry; -1 for the scan's top
  // A directory's entries are recorded together: [child_begin, child_end).
  uint32_t child_begin = 0;
  uint32_t child_end = 0;
  bool matched = false;  // base exists at the same path with the same type
};

// An open directory on the walk's stack. fd is -1 when it was closed to stay
// under kMaxOpenDirs; it is reopened by name from an open ancestor.
struct Frame {
  int fd = -1;
  dev_t dev = 0;
  ino_t ino = 0;
  std::string name;  // name within the parent frame
};

FileType typeOf(const BaseEntry& b) { return b.local.type; }

bool sameType(const BaseEntry& b, const FileMeta& m) { return typeOf(b) == m.type; }

// What comparing a file's content with its base decided.
enum class Content { kSame, kRefreshed, kWritten, kUnknown };

class ScanRun {
 public:
  ScanRun(const std::string& root, const ScanOptions& options, const BaseIndex& base)
      : root_(root), opt_(options), base_(base) {}

  Result<ScanResult> run();

 private:
  // Phase 1: the walk.
  Status walkTop(int root_fd);
  void walkDir(size_t level, int64_t dir_entry);
  int frameFd(size_t level);
  void closeFrames(size_t from_level);
  void recordEntry(int dirfd, std::string_view name, int64_t parent, std::vector<int64_t>* subdirs);
  void compareInPlace(int dirfd, std::string_view name, Entry& e);

  // Shared comparison of a file/dir/symlink with its base entry; appends
  // changes for `path` to `out`. `hash_at` hashes the file on demand.
  template <class HashFn>
  void compareWithBase(const BaseEntry& b, Observed& obs, bool ignore_ctime, HashFn&& hash_at,
                       std::vector<Change>& out);
  template <class HashFn>
  Content compareContent(const BaseEntry& b, Observed& obs, bool ignore_ctime, HashFn&& hash_fn);

  // Phase 2: entries without a same-path base entry of the same type.
  void reconcileStructure();
  void collectVanished();
  bool isVanished(const BaseEntry* b) const { return vanished_set_.count(b) > 0; }
  RelPath currentLocation(std::string_view base_path) const;
  void deleteSubtree(std::string_view base_path, std::vector<Change>& out);
  void emitDeletions(std::vector<const BaseEntry*> entries, std::vector<Change>& out);
  const BaseEntry* findRenameSource(const Entry& e);
  bool keepsChildrenOf(const Entry& e, const BaseEntry& src) const;
  Result<ContentHash> hashAt(int dirfd, const char* name);
  void skip(RelPath path, Error error);
  bool underSkipped(std::string_view path) const;
  bool excludedPath(std::string_view path) const;

  const std::string& root_;
  const ScanOptions& opt_;
  const BaseIndex& base_;

  UniqueFd root_fd_;
  std::vector<Frame> frames_;
  size_t open_frames_ = 0;
  std::string path_;  // RelPath of the directory being read
  std::vector<char> dents_;
  std::unique_ptr<char[]> read_buf_;  // for hashing; allocated on first use, never zeroed
  std::vector<Entry> entries_;
  std::vector<const BaseEntry*> matched_;  // same-path, same-type matches
  bool top_missing_ = false;

  std::vector<Change> structural_;  // creates, renames, type-change deletes: pre-order
  std::vector<Change> in_place_;    // writes, chmods, retargets of same-path entries
  std::vector<Change> deletions_;

  std::vector<const BaseEntry*> vanished_;  // sorted by path
  std::unordered_set<const BaseEntry*> vanished_set_;
  std::unordered_set<const BaseEntry*> claimed_;
  std::unordered_multimap<uint64_t, const BaseEntry*> vanished_by_inode_;
  std::unordered_map<RelPath, RelPath> moved_;  // base dir path -> where it is now

  ScanResult result_;
};

Result<ScanResult> ScanRun::run() {
  root_fd_.reset(::open(root_.c_str(), kOpenDirFlags));
  if (!root_fd_) return failErrno(errno, "scan: open cache root " + displayPath(root_));
  dents_.resize(kDentsBufferSize);
  entries_.reserve(base_.size() + base_.size() / 8 + 16);
  if (auto st = walkTop(root_fd_.get()); !st) return tl::unexpected(st.error());
  reconcileStructure();

  auto& changes = result_.changes;
  changes.reserve(structural_.size() + in_place_.size() + deletions_.size());
  for (auto* list : {&structural_, &in_place_, &deletions_})
    for (auto& c : *list) changes.push_back(std::move(c));
  if (opt_.collect_observed) {
    result_.observed.reserve(entries_.size());
    for (auto& e : entries_) result_.observed.push_back(std::move(e.obs));
  }
  return std::move(result_);
}

void ScanRun::skip(RelPath path, Error error) {
  result_.skipped.push_back(ScanSkip{std::move(path), std::move(error)});
}

// Like common's hashFileAt, but with one read buffer for the whole scan: a
// verified scan hashes every file, mostly small ones.
Result<ContentHash> ScanRun::hashAt(int dirfd, const char* name) {
  constexpr size_t kReadSize = 128 * 1024;
  UniqueFd fd(::openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NOATIME));
  if (!fd && errno == EPERM)  // O_NOATIME is only allowed on one's own files
    fd.reset(::openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY));
  if (!fd) return failErrno(errno, "open " + displayPath(name));
  if (!read_buf_) read_buf_.reset(new char[kReadSize]);
  Hasher h;
  for (;;) {
    ssize_t n = ::read(fd.get(), read_buf_.get(), kReadSize);
    if (n < 0) {
      if (errno == EINTR) continue;
      return failErrno(errno, "read " + displayPath(name));
    }
    if (n == 0) break;
    h.update(read_buf_.get(), static_cast<size_t>(n));
  }
  return h.finish();
}

bool ScanRun::underSkipped(std::string_view path) const {
  for (const auto& s : result_.skipped)
    if (isUnder(path, s.path) && path != s.path) return true;
  return false;
}

bool ScanRun::excludedPath(std::string_view path) const {
  if (!opt_.exclude) return false;
  while (!path.empty()) {
    if (opt_.exclude(baseName(path))) return true;
    path = parentOf(path);
  }
  return false;
}

Status ScanRun::walkTop(int root_fd) {
  struct stat st;
  if (::fstat(root_fd, &st) != 0) return failErrno(errno, "scan: stat " + displayPath(root_));
  if (opt_.subtree.empty()) {
    frames_.push_back(Frame{root_fd, st.st_dev, st.st_ino, {}});
    open_frames_ = 0;  // the root fd is owned by root_fd_, never closed here
    path_.clear();
    walkDir(0, -1);
    return {};
  }
  if (auto v = validateRelPath(opt_.subtree); !v) return tl::unexpected(v.error());
  // Descend to the subtree's parent one component at a time, never through a symlink.
  UniqueFd dir;
  int cur = root_fd;
  std::string_view parent = parentOf(opt_.subtree);
  size_t pos = 0;
  while (pos < parent.size()) {
    size_t slash = parent.find('/', pos);
    if (slash == std::string_view::npos) slash = parent.size();
    std::string comp(parent.substr(pos, slash - pos));
    UniqueFd next(::openat(cur, comp.c_str(), kOpenDirFlags));
    if (!next) {
      if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP) {
        top_missing_ = true;
        return {};
      }
      return failErrno(errno, "scan: open " + displayPath(parent.substr(0, slash)) + " under " +
                                  displayPath(root_));
    }
    dir = std::move(next);
    cur = dir.get();
    pos = slash + 1;
  }
  if (opt_.exclude && excludedPath(opt_.subtree)) {
    ++result_.stats.excluded;
    return {};
  }
  path_.assign(parent);
  std::vector<int64_t> subdirs;
  const size_t before = entries_.size();
  recordEntry(cur, baseName(opt_.subtree), -1, &subdirs);
  if (entries_.size() == before) {
    // Vanished (or unreadable, then it is in skipped and its base is left alone).
    top_missing_ = result_.skipped.empty();
    return {};
  }
  if (subdirs.empty()) return {};
  const Entry& top = entries_[static_cast<size_t>(subdirs[0])];
  std::string name(baseName(opt_.subtree));
  int fd = ::openat(cur, name.c_str(), kOpenDirFlags);
  if (fd < 0) {
    skip(opt_.subtree,
         Error::fromErrno(errno, "scan: open directory " + displayPath(opt_.subtree)));
    return {};
  }
  struct stat dst;
  if (::fstat(fd, &dst) != 0 || dst.st_ino != top.obs.meta.inode) {
    ::close(fd);
    skip(opt_.subtree, Error(ErrorCode::kAborted, "scan: directory " + displayPath(opt_.subtree) +
                                                      " was replaced during the scan"));
    return {};
  }
  // Frame 0 is the subtree's parent (so reopening works); frame 1 the subtree.
  frames_.push_back(Frame{cur == root_fd ? root_fd : dir.release(), 0, 0, {}});
  const bool parent_owned = cur != root_fd;
  frames_.push_back(Frame{fd, dst.st_dev, dst.st_ino, name});
  open_frames_ = 1;
  path_ = opt_.subtree;
  walkDir(1, subdirs[0]);
  closeFrames(1);
  if (parent_owned && frames_[0].fd >= 0) ::close(frames_[0].fd);
  frames_.clear();
  return {};
}

void ScanRun::closeFrames(size_t from_level) {
  for (size_t i = std::max<size_t>(from_level, 1); i < frames_.size(); ++i) {
    if (frames_[i].fd >= 0) {
      ::close(frames_[i].fd);
      frames_[i].fd = -1;
      --open_frames_;
    }
  }
}

// The fd of frames_[level], reopening it by name from the nearest open
// ancestor when it was closed. -1 (with errno set) if that fails or finds a
// different directory.
int ScanRun::frameFd(size_t level) {
  if (frames_[level].fd >= 0) return frames_[level].fd;
  size_t open_level = level;
  while (frames_[open_level].fd < 0) --open_level;  // frame 0 is always open
  for (size_t i = open_level + 1; i <= level; ++i) {
    int fd = ::openat(frames_[i - 1].fd, frames_[i].name.c_str(), kOpenDirFlags);
    if (fd < 0) return -1;
    struct stat st;
    if (::fstat(fd, &st) != 0 || st.st_dev != frames_[i].dev || st.st_ino != frames_[i].ino) {
      ::close(fd);
      errno = ESTALE;
      return -1;
    }
    frames_[i].fd = fd;
    ++open_frames_;
  }
  return frames_[level].fd;
}

void ScanRun::walkDir(size_t level, int64_t dir_entry) {
  const int fd = frames_[level].fd;
  std::vector<int64_t> subdirs;
  const auto child_begin = static_cast<uint32_t>(entries_.size());
  for (;;) {
    ssize_t n = ::getdents64(fd, dents_.data(), dents_.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      // What was read so far is recorded; the rest is unknown, so the whole
      // directory's base subtree is left alone.
      skip(path_, Error::fromErrno(
                      errno, "scan: read directory " + displayPath(path_.empty() ? "." : path_)));
      break;
    }
    if (n == 0) break;
    for (ssize_t off = 0; off < n;) {
      const char* rec = dents_.data() + off;
      unsigned short reclen;
      std::memcpy(&reclen, rec + offsetof(struct dirent64, d_reclen), sizeof reclen);
      off += reclen;
      const char* name = rec + offsetof(struct dirent64, d_name);
      if (name[0] == '.' && (name[1] == 0 || (name[1] == '.' && name[2] == 0))) continue;
      recordEntry(fd, std::string_view(name), dir_entry, &subdirs);
    }
  }
  if (dir_entry >= 0) {
    entries_[static_cast<size_t>(dir_entry)].child_begin = child_begin;
    entries_[static_cast<size_t>(dir_entry)].child_end = static_cast<uint32_t>(entries_.size());
  }
  const size_t dir_len = path_.size();
  for (int64_t idx : subdirs) {
    const Entry& sub = entries_[static_cast<size_t>(idx)];
    std::string name(baseName(sub.obs.path));
    int parent_fd = frameFd(level);
    if (parent_fd < 0) {
      // Our own directory went away under us: every remaining subdirectory is unknown.
      skip(sub.obs.path,
           Error::fromErrno(errno, "scan: reopen " + displayPath(path_.empty() ? "." : path_)));
      continue;
    }
    int child = ::openat(parent_fd, name.c_str(), kOpenDirFlags);
    if (child < 0) {
      skip(sub.obs.path,
           Error::fromErrno(errno, "scan: open directory " + displayPath(sub.obs.path)));
      continue;
    }
    struct stat st;
    if (::fstat(child, &st) != 0 || st.st_ino != sub.obs.meta.inode) {
      ::close(child);
      skip(sub.obs.path, Error(ErrorCode::kAborted, "scan: directory " + displayPath(sub.obs.path) +
                                                        " was replaced during the scan"));
      continue;
    }
    frames_.push_back(Frame{child, st.st_dev, st.st_ino, std::move(name)});
    ++open_frames_;
    if (open_frames_ > Scanner::kMaxOpenDirs) {
      // Close the shallowest open frame (never the root's); it is reopened by
      // name if the walk needs it again.
      for (size_t i = 1; i < frames_.size(); ++i) {
        if (frames_[i].fd >= 0) {
          ::close(frames_[i].fd);
          frames_[i].fd = -1;
          --open_frames_;
          break;
        }
      }
    }
    path_.resize(dir_len);
    if (!path_.empty()) path_ += '/';
    path_ += frames_.back().name;
    walkDir(level + 1, idx);
    path_.resize(dir_len);
    closeFrames(level + 1);
    frames_.pop_back();
  }
}

void ScanRun::recordEntry(int dirfd, std::string_view name, int64_t parent,
                          std::vector<int64_t>* subdirs) {
  if (opt_.exclude && opt_.exclude(name)) {
    ++result_.stats.excluded;
    return;
  }
  const size_t dir_len = path_.size();
  if (dir_len != 0) path_ += '/';
  path_.append(name);
  // getdents names are NUL-terminated in the buffer; the subtree name is not.
  std::string name_buf;
  const char* cname = name.data();
  if (name.data()[name.size()] != '\0') {
    name_buf.assign(name);
    cname = name_buf.c_str();
  }
  struct stat st;
  if (::fstatat(dirfd, cname, &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno != ENOENT)  // ENOENT: removed since readdir; it is simply not there
      skip(path_, Error::fromErrno(errno, "scan: stat " + displayPath(path_)));
    path_.resize(dir_len);
    return;
  }
  FileMeta meta = FileMeta::fromStat(st);
  switch (meta.type) {
    case FileType::kFile:
      ++result_.stats.files;
      break;
    case FileType::kDir:
      ++result_.stats.dirs;
      break;
    case FileType::kSymlink:
      ++result_.stats.symlinks;
      break;
    default:
      ++result_.stats.others;
      path_.resize(dir_len);
      return;
  }
  Entry& e = entries_.emplace_back();
  e.obs.path = path_;
  e.obs.meta = meta;
  e.parent = parent;
  if (meta.type == FileType::kSymlink) {
    char target[PATH_MAX];
    ssize_t n = ::readlinkat(dirfd, cname, target, sizeof target);
    if (n < 0) {
      if (errno != ENOENT)
        skip(path_, Error::fromErrno(errno, "scan: readlink " + displayPath(path_)));
      entries_.pop_back();
      path_.resize(dir_len);
      return;
    }
    e.obs.symlink_target.assign(target, static_cast<size_t>(n));
  }
  auto it = base_.find(std::string_view(path_));
  if (it != base_.end()) {
    e.base = &it->second;
    if (sameType(it->second, meta)) {
      e.matched = true;
      matched_.push_back(e.base);
      compareInPlace(dirfd, cname, e);
    }
  }
  if (meta.type == FileType::kDir && subdirs != nullptr)
    subdirs->push_back(static_cast<int64_t>(entries_.size() - 1));
  path_.resize(dir_len);
}

void ScanRun::compareInPlace(int dirfd, std::string_view name, Entry& e) {
  compareWithBase(
      *e.base, e.obs, /*ignore_ctime=*/false, [&] { return hashAt(dirfd, name.data()); },
      in_place_);
}

template <class HashFn>
void ScanRun::compareWithBase(const BaseEntry& b, Observed& obs, bool ignore_ctime,
                              HashFn&& hash_at, std::vector<Change>& out) {
  const FileMeta& m = obs.meta;
  switch (m.type) {
    case FileType::kDir:
      break;
    case FileType::kSymlink:
      if (obs.symlink_target != b.symlink_target) {
        out.push_back(Change{ChangeOp::kUnlink, obs.path, {}, 0, {}});
        out.push_back(Change{ChangeOp::kSymlink, obs.path, {}, 0, obs.symlink_target});
        return;
      }
      break;
    case FileType::kFile: {
      Content c = compareContent(b, obs, ignore_ctime, hash_at);
      if (c == Content::kWritten) {
        out.push_back(Change{ChangeOp::kWrite, obs.path, {}, m.mode, {}});
      } else if (c == Content::kRefreshed && m.mode == b.local.mode) {
        result_.refreshed.push_back(obs.path);
      }
      break;
    }
    default:
      return;
  }
  if (m.mode != b.local.mode) out.push_back(Change{ChangeOp::kChmod, obs.path, {}, m.mode, {}});
}

template <class HashFn>
Content ScanRun::compareContent(const BaseEntry& b, Observed& obs, bool ignore_ctime,
                                HashFn&& hash_fn) {
  const FileMeta& m = obs.meta;
  const FileMeta& bm = b.local;
  if (m.size != bm.size) return Content::kWritten;
  const bool meta_same = m.mtime_ns == bm.mtime_ns && m.inode == bm.inode &&
                         (ignore_ctime || m.ctime_ns == bm.ctime_ns);
  const bool want_hash =
      meta_same ? opt_.verify : b.hash.has_value() && (opt_.confirm_by_hash || opt_.verify);
  if (!want_hash) return meta_same ? Content::kSame : Content::kWritten;
  auto h = hash_fn();
  if (!h) {
    if (!meta_same) return Content::kWritten;  // metadata changed and we cannot prove otherwise
    skip(obs.path, h.error().withContext("scan: verify " + displayPath(obs.path)));
    return Content::kUnknown;
  }
  ++result_.stats.files_hashed;
  result_.stats.bytes_hashed += m.size;
  obs.hash = *h;
  if (!b.hash) return Content::kSame;  // verify without a base hash: nothing to compare
  if (*h != *b.hash) return Content::kWritten;
  return meta_same ? Content::kSame : Content::kRefreshed;
}

void ScanRun::collectVanished() {
  // The usual rescan of a whole root: every base entry was found in place.
  if (opt_.subtree.empty() && !top_missing_ && matched_.size() == base_.size()) return;
  std::sort(matched_.begin(), matched_.end());
  for (const auto& [path, b] : base_) {
    if (path.empty() || !isUnder(path, opt_.subtree)) continue;
    if (!top_missing_ && std::binary_search(matched_.begin(), matched_.end(), &b)) continue;
    if (b.local.type == FileType::kNone) continue;
    if (underSkipped(path) || excludedPath(path)) continue;
    bool skipped_itself = false;
    for (const auto& s : result_.skipped)
      if (s.path == path) skipped_itself = true;
    if (skipped_itself) continue;
    vanished_.push_back(&b);
  }
  std::sort(vanished_.begin(), vanished_.end(),
            [](const BaseEntry* a, const BaseEntry* b) { return a->path < b->path; });
  for (const BaseEntry* b : vanished_) {
    vanished_set_.insert(b);
    if (b->local.inode != 0) vanished_by_inode_.emplace(b->local.inode, b);
  }
}

RelPath ScanRun::currentLocation(std::string_view base_path) const {
  if (moved_.empty()) return RelPath(base_path);
  std::string_view p = base_path;
  for (;;) {
    auto it = moved_.find(RelPath(p));
    if (it != moved_.end()) return rebase(base_path, p, it->second);
    if (p.empty()) break;
    p = parentOf(p);
    if (p.empty()) break;
  }
  return RelPath(base_path);
}

void ScanRun::emitDeletions(std::vector<const BaseEntry*> entries, std::vector<Change>& out) {
  std::vector<std::pair<RelPath, const BaseEntry*>> located;
  located.reserve(entries.size());
  for (const BaseEntry* b : entries) located.emplace_back(currentLocation(b->path), b);
  std::sort(located.begin(), located.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  // A parent sorts before everything beneath it, so reverse order deletes children first.
  for (auto it = located.rbegin(); it != located.rend(); ++it) {
    ChangeOp op = it->second->local.type == FileType::kDir ? ChangeOp::kRmdir : ChangeOp::kUnlink;
    out.push_back(Change{op, std::move(it->first), {}, 0, {}});
    claimed_.insert(it->second);
  }
}

void ScanRun::deleteSubtree(std::string_view base_path, std::vector<Change>& out) {
  std::vector<const BaseEntry*> doomed;
  auto by_path = [](const BaseEntry* b, std::string_view p) { return b->path < p; };
  auto self = std::lower_bound(vanished_.begin(), vanished_.end(), base_path, by_path);
  if (self != vanished_.end() && (*self)->path == base_path && !claimed_.count(*self))
    doomed.push_back(*self);
  // Names like "P-x" sort between "P" and "P/x", so the subtree starts at "P/".
  const std::string prefix = std::string(base_path) + '/';
  for (auto it = std::lower_bound(vanished_.begin(), vanished_.end(), prefix, by_path);
       it != vanished_.end() && (*it)->path.starts_with(prefix); ++it)
    if (!claimed_.count(*it)) doomed.push_back(*it);
  emitDeletions(std::move(doomed), out);
}

// A directory's inode alone is weak evidence (ext4 hands a freed inode to the
// next mkdir), so a directory counts as moved only if its mtime is unchanged or
// at least one of its entries is the old directory's entry of that name.
bool ScanRun::keepsChildrenOf(const Entry& e, const BaseEntry& src) const {
  if (src.local.mtime_ns == e.obs.meta.mtime_ns) return true;
  for (uint32_t i = e.child_begin; i < e.child_end; ++i) {
    const Observed& child = entries_[i].obs;
    auto it = base_.find(joinPath(src.path, baseName(child.path)));
    if (it != base_.end() && it->second.local.inode == child.meta.inode &&
        sameType(it->second, child.meta))
      return true;
  }
  return false;
}

const BaseEntry* ScanRun::findRenameSource(const Entry& e) {
  const Observed& obs = e.obs;
  if (obs.meta.inode == 0) return nullptr;
  auto [lo, hi] = vanished_by_inode_.equal_range(obs.meta.inode);
  for (auto it = lo; it != hi; ++it) {
    const BaseEntry* b = it->second;
    if (claimed_.count(b) || !sameType(*b, obs.meta)) continue;
    if (obs.meta.type == FileType::kFile &&
        (b->local.size != obs.meta.size || b->local.mtime_ns != obs.meta.mtime_ns))
      continue;
    if (obs.meta.type == FileType::kSymlink && b->symlink_target != obs.symlink_target) continue;
    if (obs.meta.type == FileType::kDir) {
      // A directory cannot move beneath itself.
      if (isUnder(obs.path, currentLocation(b->path))) continue;
      if (!keepsChildrenOf(e, *b)) continue;
    }
    return b;
  }
  return nullptr;
}

void ScanRun::reconcileStructure() {
  collectVanished();
  // Fast path of the usual rescan: every entry matched its base in place.
  bool any_unmatched = false;
  for (const Entry& e : entries_)
    if (!e.matched) {
      any_unmatched = true;
      break;
    }
  if (any_unmatched) {
    // origin[i]: the base path an unmatched directory entry corresponds to
    // (renamed or carried); absent for a directory created new.
    std::unordered_map<int64_t, RelPath> origin;
    for (size_t i = 0; i < entries_.size(); ++i) {
      Entry& e = entries_[i];
      if (e.matched) continue;
      // Which base entry sits at this path at this point of the replay?
      std::optional<RelPath> candidate;
      if (e.parent < 0 || entries_[static_cast<size_t>(e.parent)].matched) {
        candidate = e.obs.path;
      } else if (auto o = origin.find(e.parent); o != origin.end()) {
        candidate = joinPath(o->second, baseName(e.obs.path));
      }
      const BaseEntry* occupant = nullptr;
      if (candidate) {
        auto it = base_.find(*candidate);
        if (it != base_.end() && isVanished(&it->second) && !claimed_.count(&it->second))
          occupant = &it->second;
      }
      const bool is_dir = e.obs.meta.type == FileType::kDir;
      if (occupant != nullptr && sameType(*occupant, e.obs.meta)) {
        // Carried along by a renamed ancestor: compare with its old self.
        claimed_.insert(occupant);
        if (is_dir) origin.emplace(static_cast<int64_t>(i), occupant->path);
        compareWithBase(
            *occupant, e.obs, /*ignore_ctime=*/true,
            [&] { return hashAt(root_fd_.get(), e.obs.path.c_str()); }, structural_);
        continue;
      }
      if (occupant != nullptr) deleteSubtree(occupant->path, structural_);  // type change
      if (const BaseEntry* src = findRenameSource(e)) {
        claimed_.insert(src);
        structural_.push_back(
            Change{ChangeOp::kRename, currentLocation(src->path), e.obs.path, 0, {}});
        if (is_dir) {
          moved_[src->path] = e.obs.path;
          origin.emplace(static_cast<int64_t>(i), src->path);
        }
        compareWithBase(
            *src, e.obs, /*ignore_ctime=*/true,
            [&] { return hashAt(root_fd_.get(), e.obs.path.c_str()); }, structural_);
        continue;
      }
      switch (e.obs.meta.type) {
        case FileType::kDir:
          structural_.push_back(Change{ChangeOp::kMkdir, e.obs.path, {}, e.obs.meta.mode, {}});
          break;
        case FileType::kFile:
          structural_.push_back(Change{ChangeOp::kCreate, e.obs.path, {}, e.obs.meta.mode, {}});
          break;
        case FileType::kSymlink:
          structural_.push_back(
              Change{ChangeOp::kSymlink, e.obs.path, {}, 0, e.obs.symlink_target});
          break;
        default:
          break;
      }
    }
  }
  std::vector<const BaseEntry*> rest;
  for (const BaseEntry* b : vanished_)
    if (!claimed_.count(b)) rest.push_back(b);
  emitDeletions(std::move(rest), deletions_);
}

}  // namespace

BaseIndex makeBaseIndex(std::vector<BaseEntry> entries) {
  BaseIndex index;
  index.reserve(entries.size());
  for (auto& e : entries) {
    RelPath key = e.path;
    index.insert_or_assign(std::move(key), std::move(e));
  }
  return index;
}

bool isHoardTempName(std::string_view name) { return name.starts_with(".hoard-tmp-"); }

Scanner::Scanner(std::string root, ScanOptions options)
    : root_(std::move(root)), options_(std::move(options)) {}

Result<ScanResult> Scanner::scan(const BaseIndex& base) const {
  ScanRun run(root_, options_, base);
  return run.run();
}

}  // namespace hoard::track
