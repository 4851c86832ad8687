// SPDX-License-Identifier: MIT
#pragma once

// The real Watcher, on Linux inotify.
//
// - One watch per directory beneath the root (inotify is not recursive).
//   Directories are opened beneath the root fd without following symlinks
//   (openat2 RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS, or a component-by-component
//   openat walk for paths too long for one call) and watched through
//   /proc/self/fd/N, so a path near PATH_MAX works and no symlink swapped in
//   mid-way leads a watch outside the root. Mask: IN_CREATE, IN_MODIFY,
//   IN_ATTRIB, IN_DELETE, IN_DELETE_SELF, IN_MOVED_FROM, IN_MOVED_TO,
//   IN_MOVE_SELF, with IN_ONLYDIR|IN_EXCL_UNLINK. IN_CLOSE_WRITE is not asked
//   for (as in watchman): IN_MODIFY already reports every write(2), and a
//   third event per written file would fill the kernel queue (and so cost an
//   overflow and a full rescan) sooner in a burst. Writes through mmap that
//   no write(2) accompanies are found by the next scan.
// - A new directory (created, or moved in from outside) is watched FIRST and
//   then listed; everything found is reported as synthetic kCreated events,
//   recursively, so files made in it before its watch existed are not missed.
//   They may duplicate the kernel's own events (the tracker coalesces them).
// - The wd -> path map follows directory renames (every descendant's path
//   too), drops directories that were deleted or moved out of the root, and
//   after an overflow is rebuilt by walking the tree.
// - IN_Q_OVERFLOW -> kOverflow. A watch lost without hoard asking (IN_IGNORED
//   without a preceding IN_DELETE_SELF, e.g. an unmount) or one that could not
//   be added (ENOSPC: fs.inotify.max_user_watches reached; EACCES) ->
//   kWatchLost naming the subtree. A subtree refused for ENOSPC stays
//   unwatched until the next overflow rebuild or restart; the consumer's rescan
//   of it catches up what it holds.
// - The root being deleted or moved is reported as kWatchLost("").
//
// Threads: as Watcher. pollFd() is the inotify fd.

#include <atomic>
#include <map>
#include <unordered_map>
#include <unordered_set>

#include "common/UniqueFd.h"
#include "track/Watcher.h"

struct inotify_event;

namespace hoard::track {

class InotifyWatcher : public Watcher {
 public:
  struct Options {
    // How long readEvents() waits for the moved_to half of a rename whose
    // moved_from ended a read, before calling it "moved out".
    std::chrono::milliseconds pair_grace{20};
    // readEvents() stops draining the kernel queue once a batch holds this
    // many events (a pending rename pair may still be completed).
    size_t batch_limit = 16384;
  };

  InotifyWatcher();
  explicit InotifyWatcher(Options options);
  ~InotifyWatcher() override;
  InotifyWatcher(const InotifyWatcher&) = delete;
  InotifyWatcher& operator=(const InotifyWatcher&) = delete;

  // Watcher. start() errors: the root cannot be opened (kNotFound,
  // kPermission, kIo), inotify cannot be initialised (kNoSpace when
  // fs.inotify.max_user_instances is reached), the root cannot be watched, or
  // already started (kInvalidArgument). Subdirectories that cannot be watched
  // at start() are reported as kWatchLost by the first readEvents().
  Status start(const std::string& root, const WatchOptions& options) override;
  void stop() override;
  Result<std::vector<WatchEvent>> readEvents(std::chrono::milliseconds timeout) override;
  void wakeup() override;
  int pollFd() const override { return inotify_fd_.get(); }
  size_t watchCount() const override { return watch_count_.load(); }

 private:
  struct Watch {
    RelPath path;
    bool deleted_self = false;  // IN_DELETE_SELF seen: its IN_IGNORED is expected
  };
  struct DirMove {
    RelPath from;
    std::vector<int> wds;  // the watches of the moved subtree, dropped if it left the root
  };

  Result<UniqueFd> openDir(const RelPath& rel) const;
  int addWatchFor(int dir_fd, const RelPath& rel);
  void addTree(const RelPath& top, bool synthesize, std::vector<WatchEvent>& out,
               std::unordered_set<int>* seen);
  void registerWatch(int wd, const RelPath& path);
  void removeWatch(int wd);
  void dropSubtree(const RelPath& p);
  std::vector<int> subtreeWatches(const RelPath& p) const;
  void renameSubtree(const RelPath& from, const RelPath& to);
  void resync(std::vector<WatchEvent>& out);
  void statInto(WatchEvent& e);
  bool excluded(std::string_view name) const;
  void handle(const struct inotify_event& ev, std::string_view name,
              std::vector<WatchEvent>& out, std::unordered_set<uint32_t>& open_moves,
              bool& overflowed);
  Result<bool> drain(std::vector<WatchEvent>& out, std::unordered_set<uint32_t>& open_moves,
                     bool& overflowed);

  Options opts_;
  WatchOptions wopts_;
  std::string root_;
  bool use_proc_fd_ = true;
  UniqueFd root_fd_;
  UniqueFd inotify_fd_;
  UniqueFd wake_fd_;  // eventfd, lives as long as the object so wakeup() is always safe
  std::vector<char> buf_;

  std::unordered_map<int, Watch> watches_;
  std::map<RelPath, int> by_path_;
  std::unordered_set<int> removing_;  // wds we removed; their IN_IGNORED is expected
  std::unordered_map<uint32_t, DirMove> dir_moves_;  // cookie -> moved-away directory
  std::vector<WatchEvent> carry_;  // events found by start(), delivered by the next read
  std::atomic<size_t> watch_count_{0};

  // The directory of the last lstat, kept open while a batch is read: bursts
  // hit one directory many times in a row.
  RelPath stat_dir_path_;
  UniqueFd stat_dir_fd_;
};

}  // namespace hoard::track
