// SPDX-License-Identifier: MIT
#include "track/InotifyWatcher.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>

namespace hoard::track {

namespace {

constexpr uint32_t kMask = IN_CREATE | IN_MODIFY | IN_ATTRIB | IN_DELETE | IN_DELETE_SELF |
                           IN_MOVED_FROM | IN_MOVED_TO | IN_MOVE_SELF | IN_ONLYDIR |
                           IN_EXCL_UNLINK;
constexpr size_t kBufSize = 256 * 1024;

WatchEvent makeEvent(WatchEventKind kind, RelPath path, bool is_dir, uint32_t cookie = 0) {
  WatchEvent e;
  e.kind = kind;
  e.path = std::move(path);
  e.is_dir = is_dir;
  e.cookie = cookie;
  return e;
}

WatchEvent lostEvent(RelPath path) {
  return makeEvent(WatchEventKind::kWatchLost, std::move(path), true);
}

}  // namespace

InotifyWatcher::InotifyWatcher() : InotifyWatcher(Options{}) {}

InotifyWatcher::InotifyWatcher(Options options)
    : opts_(options), wake_fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)), buf_(kBufSize) {}

InotifyWatcher::~InotifyWatcher() { stop(); }

bool InotifyWatcher::excluded(std::string_view name) const {
  return wopts_.exclude && wopts_.exclude(name);
}

Status InotifyWatcher::start(const std::string& root, const WatchOptions& options) {
  if (inotify_fd_) return fail(ErrorCode::kInvalidArgument, "inotify: already watching " + root_);
  if (!wake_fd_) return failErrno(errno, "inotify: eventfd");
  int rfd = ::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (rfd < 0) return failErrno(errno, "inotify: open root '" + displayPath(root) + "'");
  UniqueFd root_fd(rfd);
  int ifd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (ifd < 0) {
    int err = errno;
    if (err == EMFILE)
      return fail(ErrorCode::kNoSpace,
                  "inotify_init1: fs.inotify.max_user_instances reached (or too many open files)",
                  err);
    return failErrno(err, "inotify_init1");
  }
  root_ = root;
  wopts_ = options;
  root_fd_ = std::move(root_fd);
  inotify_fd_.reset(ifd);
  use_proc_fd_ = ::access("/proc/self/fd", X_OK) == 0;

  int wd = addWatchFor(root_fd_.get(), "");
  if (wd < 0) {
    int err = errno;
    stop();
    if (err == ENOSPC)
      return fail(ErrorCode::kNoSpace,
                  "inotify: cannot watch root '" + displayPath(root) +
                      "': fs.inotify.max_user_watches reached",
                  err);
    return failErrno(err, "inotify: watch root '" + displayPath(root) + "'");
  }
  registerWatch(wd, "");
  // The root's watch exists; now the rest, depth first. What cannot be watched
  // is reported by the first readEvents().
  std::vector<WatchEvent> lost;
  addTree("", false, lost, nullptr);
  // addTree re-adds the root (same wd) and lists it: harmless.
  carry_ = std::move(lost);
  watch_count_.store(watches_.size());
  return {};
}

void InotifyWatcher::stop() {
  inotify_fd_.reset();  // the kernel drops every watch with the instance
  root_fd_.reset();
  stat_dir_fd_.reset();
  stat_dir_path_.clear();
  watches_.clear();
  by_path_.clear();
  removing_.clear();
  dir_moves_.clear();
  carry_.clear();
  watch_count_.store(0);
}

void InotifyWatcher::wakeup() {
  uint64_t one = 1;
  if (wake_fd_) (void)!::write(wake_fd_.get(), &one, sizeof one);
}

Result<UniqueFd> InotifyWatcher::openDir(const RelPath& rel) const {
  constexpr int kFlags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
  if (rel.empty()) {
    int fd = ::openat(root_fd_.get(), ".", kFlags);
    if (fd < 0) return failErrno(errno, "inotify: open root '" + displayPath(root_) + "'");
    return UniqueFd(fd);
  }
  if (rel.size() < PATH_MAX) {
    struct open_how how;
    std::memset(&how, 0, sizeof how);
    how.flags = kFlags;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
    long fd = ::syscall(SYS_openat2, root_fd_.get(), rel.c_str(), &how, sizeof how);
    if (fd >= 0) return UniqueFd(static_cast<int>(fd));
    int err = errno;
    if (err != ENOSYS && err != E2BIG && err != EPERM && err != ENAMETOOLONG && err != EAGAIN)
      return failErrno(err, "inotify: open directory '" + displayPath(rel) + "'");
  }
  // One component at a time: works for any length, never follows a symlink.
  UniqueFd cur;
  int at = root_fd_.get();
  size_t start = 0;
  while (start < rel.size()) {
    size_t end = rel.find('/', start);
    if (end == std::string::npos) end = rel.size();
    std::string comp = rel.substr(start, end - start);
    int fd = ::openat(at, comp.c_str(), kFlags);
    if (fd < 0) return failErrno(errno, "inotify: open directory '" + displayPath(rel) + "'");
    cur.reset(fd);
    at = fd;
    start = end + 1;
  }
  return cur;
}

int InotifyWatcher::addWatchFor(int dir_fd, const RelPath& rel) {
  if (use_proc_fd_) {
    // The fd was opened without following symlinks; the magic link names
    // exactly that directory whatever its path's length.
    std::string proc = "/proc/self/fd/" + std::to_string(dir_fd);
    return ::inotify_add_watch(inotify_fd_.get(), proc.c_str(), kMask);
  }
  std::string abs = rel.empty() ? root_ : root_ + "/" + rel;
  return ::inotify_add_watch(inotify_fd_.get(), abs.c_str(), kMask | IN_DONT_FOLLOW);
}

void InotifyWatcher::registerWatch(int wd, const RelPath& path) {
  // A different watch still mapped at this path belongs to a directory that was
  // replaced or moved away unseen: retire it.
  if (auto bp = by_path_.find(path); bp != by_path_.end() && bp->second != wd) {
    int old = bp->second;
    by_path_.erase(bp);
    removeWatch(old);
  }
  auto it = watches_.find(wd);
  if (it != watches_.end()) {
    if (it->second.path != path) {
      if (auto bp = by_path_.find(it->second.path); bp != by_path_.end() && bp->second == wd)
        by_path_.erase(bp);
      it->second.path = path;
    }
    it->second.deleted_self = false;
  } else {
    watches_.emplace(wd, Watch{path, false});
  }
  by_path_[path] = wd;
}

void InotifyWatcher::removeWatch(int wd) {
  auto it = watches_.find(wd);
  if (it == watches_.end()) return;
  if (auto bp = by_path_.find(it->second.path); bp != by_path_.end() && bp->second == wd)
    by_path_.erase(bp);
  watches_.erase(it);
  // EINVAL: the kernel already dropped it (its IN_IGNORED is queued or read).
  if (::inotify_rm_watch(inotify_fd_.get(), wd) == 0) removing_.insert(wd);
}

std::vector<int> InotifyWatcher::subtreeWatches(const RelPath& p) const {
  std::vector<int> wds;
  if (auto it = by_path_.find(p); it != by_path_.end()) wds.push_back(it->second);
  RelPath prefix = p.empty() ? RelPath() : p + '/';
  for (auto it = by_path_.lower_bound(prefix);
       it != by_path_.end() && it->first.compare(0, prefix.size(), prefix) == 0; ++it) {
    if (!it->first.empty()) wds.push_back(it->second);
  }
  return wds;
}

void InotifyWatcher::dropSubtree(const RelPath& p) {
  for (int wd : subtreeWatches(p)) removeWatch(wd);
}

void InotifyWatcher::renameSubtree(const RelPath& from, const RelPath& to) {
  std::vector<int> moving = subtreeWatches(from);
  // rename(2) may replace an empty directory at `to`; its watch is stale.
  for (int wd : subtreeWatches(to)) {
    if (std::find(moving.begin(), moving.end(), wd) == moving.end()) removeWatch(wd);
  }
  std::vector<std::pair<int, RelPath>> moved;
  for (int wd : moving) {
    auto it = watches_.find(wd);
    if (it == watches_.end()) continue;
    if (auto bp = by_path_.find(it->second.path); bp != by_path_.end() && bp->second == wd)
      by_path_.erase(bp);
    moved.emplace_back(wd, rebase(it->second.path, from, to));
  }
  for (auto& [wd, path] : moved) {
    watches_[wd].path = path;
    by_path_[path] = wd;
  }
}

void InotifyWatcher::addTree(const RelPath& top, bool synthesize, std::vector<WatchEvent>& out,
                             std::unordered_set<int>* seen) {
  std::vector<RelPath> stack{top};
  while (!stack.empty()) {
    RelPath dir = std::move(stack.back());
    stack.pop_back();
    auto fd = openDir(dir);
    if (!fd) {
      int err = fd.error().sysErrno();
      // Gone or replaced by a non-directory since it was seen: the events that
      // did it are queued and will say so.
      if (err != ENOENT && err != ENOTDIR && err != ELOOP && err != EXDEV)
        out.push_back(lostEvent(dir));
      continue;
    }
    int wd = addWatchFor(fd->get(), dir);
    if (wd < 0) {
      int err = errno;
      if (err != ENOENT && err != ENOTDIR) out.push_back(lostEvent(dir));
      continue;
    }
    registerWatch(wd, dir);
    if (seen) seen->insert(wd);

    // Listed after the watch exists: whatever is created from now on has an
    // event, whatever was created before is in this listing.
    int list_fd = ::dup(fd->get());
    if (list_fd < 0) {
      out.push_back(lostEvent(dir));
      continue;
    }
    DIR* d = ::fdopendir(list_fd);
    if (d == nullptr) {
      ::close(list_fd);
      out.push_back(lostEvent(dir));
      continue;
    }
    while (struct dirent* de = ::readdir(d)) {
      std::string name = de->d_name;
      if (name == "." || name == "..") continue;
      if (excluded(name)) continue;
      bool is_dir = de->d_type == DT_DIR;
      WatchEvent ev;
      if (synthesize || de->d_type == DT_UNKNOWN) {
        ev = makeEvent(WatchEventKind::kCreated, joinPath(dir, name), is_dir);
        ev.synthetic = true;
        describeAt(fd->get(), name, ev);
        if (de->d_type == DT_UNKNOWN) ev.is_dir = is_dir = ev.meta && ev.meta->type == FileType::kDir;
        if (synthesize) out.push_back(ev);
      }
      if (is_dir) stack.push_back(joinPath(dir, name));
    }
    ::closedir(d);
  }
}

void InotifyWatcher::resync(std::vector<WatchEvent>& out) {
  // Events were lost, so the map may be stale: watch every directory there is
  // now and retire watches of directories that are gone.
  std::unordered_set<int> seen;
  dir_moves_.clear();
  addTree("", false, out, &seen);
  std::vector<int> stale;
  for (const auto& [wd, w] : watches_)
    if (!seen.count(wd)) stale.push_back(wd);
  for (int wd : stale) removeWatch(wd);
}

void InotifyWatcher::statInto(WatchEvent& e) {
  RelPath dir(parentOf(e.path));
  if (!stat_dir_fd_ || stat_dir_path_ != dir) {
    stat_dir_fd_.reset();
    auto fd = openDir(dir);
    if (!fd) return;
    stat_dir_fd_ = std::move(*fd);
    stat_dir_path_ = dir;
  }
  describeAt(stat_dir_fd_.get(), std::string(baseName(e.path)), e);
}

void InotifyWatcher::handle(const struct inotify_event& ev, std::string_view name,
                            std::vector<WatchEvent>& out,
                            std::unordered_set<uint32_t>& open_moves, bool& overflowed) {
  if (ev.mask & IN_Q_OVERFLOW) {
    out.push_back(makeEvent(WatchEventKind::kOverflow, "", true));
    overflowed = true;
    return;
  }
  auto it = watches_.find(ev.wd);
  if (ev.mask & IN_IGNORED) {
    if (removing_.erase(ev.wd) > 0) return;
    if (it == watches_.end()) return;
    Watch w = it->second;
    if (auto bp = by_path_.find(w.path); bp != by_path_.end() && bp->second == ev.wd)
      by_path_.erase(bp);
    watches_.erase(it);
    // Deleted directories are reported by their parent; anything else (an
    // unmount, the kernel giving up) leaves the subtree unwatched.
    if (!w.deleted_self) out.push_back(lostEvent(w.path));
    return;
  }
  if (it == watches_.end()) return;  // a watch we already retired
  const RelPath dir = it->second.path;
  if (ev.mask & IN_DELETE_SELF) {
    it->second.deleted_self = true;
    if (dir.empty()) out.push_back(lostEvent(""));
    return;
  }
  if (ev.mask & IN_MOVE_SELF) {
    // The parent's IN_MOVED_FROM/TO describe a subdirectory's move; only the
    // root has no parent watch.
    if (dir.empty()) out.push_back(lostEvent(""));
    return;
  }
  if (ev.mask & IN_UNMOUNT) return;  // IN_IGNORED follows and reports the loss
  // Events about the watched directory itself (no name) are also reported by
  // its parent's watch, with the name; use those.
  if (name.empty()) return;
  if (excluded(name)) return;
  RelPath path = joinPath(dir, name);
  bool is_dir = (ev.mask & IN_ISDIR) != 0;

  if (ev.mask & IN_CREATE) {
    WatchEvent e = makeEvent(WatchEventKind::kCreated, path, is_dir);
    statInto(e);
    out.push_back(std::move(e));
    if (is_dir) addTree(path, true, out, nullptr);
  } else if (ev.mask & IN_MODIFY) {
    if (!is_dir) out.push_back(makeEvent(WatchEventKind::kModified, path, false));
  } else if (ev.mask & IN_ATTRIB) {
    WatchEvent e = makeEvent(WatchEventKind::kAttrib, path, is_dir);
    statInto(e);
    out.push_back(std::move(e));
  } else if (ev.mask & IN_DELETE) {
    out.push_back(makeEvent(WatchEventKind::kDeleted, path, is_dir));
    if (is_dir) {
      stat_dir_fd_.reset();
      dropSubtree(path);
    }
  } else if (ev.mask & IN_MOVED_FROM) {
    out.push_back(makeEvent(WatchEventKind::kMovedFrom, path, is_dir, ev.cookie));
    open_moves.insert(ev.cookie);
    if (is_dir) {
      stat_dir_fd_.reset();
      dir_moves_[ev.cookie] = DirMove{path, subtreeWatches(path)};
    }
  } else if (ev.mask & IN_MOVED_TO) {
    open_moves.erase(ev.cookie);
    WatchEvent e = makeEvent(WatchEventKind::kMovedTo, path, is_dir, ev.cookie);
    statInto(e);
    out.push_back(std::move(e));
    if (is_dir) {
      stat_dir_fd_.reset();
      auto m = dir_moves_.find(ev.cookie);
      if (m != dir_moves_.end()) {
        renameSubtree(m->second.from, path);
        dir_moves_.erase(m);
      }
      // Moved in from outside, or renamed before we ever watched it: watch
      // it now and report what it holds.
      if (!by_path_.count(path)) addTree(path, true, out, nullptr);
    }
  }
}

// Reads everything the kernel has queued right now. Returns false when the
// queue was empty.
Result<bool> InotifyWatcher::drain(std::vector<WatchEvent>& out,
                                   std::unordered_set<uint32_t>& open_moves, bool& overflowed) {
  bool got = false;
  while (true) {
    ssize_t n = ::read(inotify_fd_.get(), buf_.data(), buf_.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) return got;
      return failErrno(errno, "inotify: read events for '" + displayPath(root_) + "'");
    }
    got = true;
    size_t off = 0;
    while (off + sizeof(struct inotify_event) <= static_cast<size_t>(n)) {
      struct inotify_event ev;
      std::memcpy(&ev, buf_.data() + off, sizeof ev);
      const char* name_ptr = buf_.data() + off + sizeof ev;
      std::string_view name(name_ptr, ::strnlen(name_ptr, ev.len));
      handle(ev, name, out, open_moves, overflowed);
      off += sizeof ev + ev.len;
    }
    if (out.size() >= opts_.batch_limit && open_moves.empty()) return got;
  }
}

Result<std::vector<WatchEvent>> InotifyWatcher::readEvents(std::chrono::milliseconds timeout) {
  if (!inotify_fd_) return fail(ErrorCode::kInvalidArgument, "inotify: readEvents before start");
  std::vector<WatchEvent> out = std::move(carry_);
  carry_.clear();

  struct pollfd fds[2] = {{inotify_fd_.get(), POLLIN, 0}, {wake_fd_.get(), POLLIN, 0}};
  int wait_ms = out.empty() ? static_cast<int>(timeout.count()) : 0;
  int r;
  do {
    r = ::poll(fds, 2, wait_ms);
  } while (r < 0 && errno == EINTR);
  if (r < 0) return failErrno(errno, "inotify: poll");
  if (fds[1].revents & POLLIN) {
    uint64_t v;
    (void)!::read(wake_fd_.get(), &v, sizeof v);
  }

  std::unordered_set<uint32_t> open_moves;
  bool overflowed = false;
  if (fds[0].revents & POLLIN) {
    auto got = drain(out, open_moves, overflowed);
    if (!got) return tl::unexpected(got.error());
    // A rename's halves are queued by one rename(2) call; if the read ended
    // between them, give the second half a moment to arrive.
    while (!open_moves.empty() && out.size() < 2 * opts_.batch_limit) {
      struct pollfd pfd = {inotify_fd_.get(), POLLIN, 0};
      int pr;
      do {
        pr = ::poll(&pfd, 1, static_cast<int>(opts_.pair_grace.count()));
      } while (pr < 0 && errno == EINTR);
      if (pr <= 0) break;
      got = drain(out, open_moves, overflowed);
      if (!got) return tl::unexpected(got.error());
      if (!*got) break;
    }
  }
  // Directories moved away whose moved_to never came left the root: stop
  // watching them (their watches would report under stale paths).
  for (auto& [cookie, move] : dir_moves_) {
    for (int wd : move.wds) {
      // Unless it came back in under another name (re-registered meanwhile).
      auto it = watches_.find(wd);
      if (it != watches_.end() && isUnder(it->second.path, move.from)) removeWatch(wd);
    }
  }
  dir_moves_.clear();
  if (overflowed) resync(out);
  stat_dir_fd_.reset();
  stat_dir_path_.clear();
  watch_count_.store(watches_.size());
  return out;
}

}  // namespace hoard::track
