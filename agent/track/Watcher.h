// SPDX-License-Identifier: MIT
#pragma once

// The watcher: the boundary between hoard and the kernel's file change
// notifications. It watches one cache root recursively and delivers what
// happened beneath it as batches of WatchEvents, in the order the kernel
// reported them. InotifyWatcher is the real one; FakeWatcher lets tests push
// events (overflows and lost watches included) without a kernel.
//
// Model: watchman's watcher/Watcher.h and test/lib/FakeWatcher.h.
//
// Threads: one consumer thread calls start(), readEvents() and stop();
// wakeup() may be called from any thread (it is how another thread stops a
// consumer blocked in readEvents()).

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/Error.h"
#include "common/FileMeta.h"
#include "common/RelPath.h"

namespace hoard::track {

enum class WatchEventKind : uint8_t {
  kCreated,    // `path` appeared (IN_CREATE, or found by the scan of a new directory)
  kModified,   // the content of the file at `path` was written (IN_MODIFY)
  kAttrib,     // metadata of `path` changed: mode, owner, times, xattrs, link count (IN_ATTRIB)
  kDeleted,    // `path` was removed (IN_DELETE)
  kMovedFrom,  // `path` was renamed away; `cookie` pairs it with its kMovedTo
  kMovedTo,    // something was renamed to `path`; `cookie` pairs it with its kMovedFrom
  kOverflow,   // the kernel dropped events: nothing below the root can be trusted (path "")
  kWatchLost,  // the subtree at `path` is no longer (fully) watched: rescan it
};

// "created", "modified", ...: for logs and test messages.
std::string_view watchEventKindName(WatchEventKind kind);

struct WatchEvent {
  WatchEventKind kind = WatchEventKind::kModified;
  RelPath path;         // share-relative bytes; "" for the root
  bool is_dir = false;  // as the kernel reported it (IN_ISDIR)
  uint32_t cookie = 0;  // kMovedFrom / kMovedTo only; 0 otherwise

  // lstat of `path` taken when the event was read (not when it happened), for
  // kCreated, kMovedTo and kAttrib. Best effort: empty when the path was
  // already gone, and it may describe a newer object at the same path.
  std::optional<FileMeta> meta;
  std::string symlink_target;  // when meta says kSymlink: readlink of `path` at read time

  // True for kCreated events made up by the scan of a newly watched directory
  // rather than reported by the kernel. They may duplicate real events.
  bool synthetic = false;

  bool operator==(const WatchEvent&) const = default;
};

// Fills e.meta with the lstat of `name` in the directory `dir_fd` and, for a
// symlink, e.symlink_target with its target. Leaves them empty if the name
// is gone.
void describeAt(int dir_fd, const std::string& name, WatchEvent& e);

// Returns true for a name (one path component, bytes) that must be ignored:
// no event is reported for it and, for a directory, nothing beneath it.
using NameFilter = std::function<bool(std::string_view name)>;

struct WatchOptions {
  NameFilter exclude;  // empty: track everything under the root
};

class Watcher {
 public:
  virtual ~Watcher() = default;

  // Starts watching `root` (an absolute path to an existing directory) and
  // everything beneath it. Only changes made after start() returns are
  // reported: the caller scans the root afterwards to learn the rest.
  // Errors: kNotFound / kPermission / kIo naming the root; kInvalidArgument if
  // already started.
  virtual Status start(const std::string& root, const WatchOptions& options) = 0;

  // Stops watching and releases kernel resources. Idempotent. After stop(),
  // readEvents() fails with kInvalidArgument.
  virtual void stop() = 0;

  // Waits up to `timeout` for events and returns the next batch, in kernel
  // order. Returns an empty batch on timeout or when wakeup() was called.
  // Pairing guarantee: a kMovedFrom and its kMovedTo are in the same batch
  // whenever the kernel queued them within a short grace window of each other
  // (it queues both during the one rename(2) call), so a consumer may treat a
  // kMovedFrom left unpaired at the end of a batch as "moved out of the tree".
  // Errors: kInvalidArgument when not started; kIo when reading the kernel's
  // queue fails. Consumer thread only.
  virtual Result<std::vector<WatchEvent>> readEvents(std::chrono::milliseconds timeout) = 0;

  // Makes a readEvents() blocked in another thread (or the next one) return
  // promptly with whatever it has. Any thread.
  virtual void wakeup() = 0;

  // A file descriptor that becomes readable when readEvents() has something to
  // return, for a daemon's poll/epoll loop (then call readEvents(0ms)); -1 when
  // this watcher has none (FakeWatcher). Valid between start() and stop().
  // Call readEvents(0ms) once right after start() whatever the fd says: start()
  // may have found subtrees it could not watch, reported as kWatchLost there.
  virtual int pollFd() const = 0;

  // Number of directories currently watched (the root included).
  virtual size_t watchCount() const = 0;
};

}  // namespace hoard::track
