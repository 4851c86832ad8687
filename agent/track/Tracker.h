// SPDX-License-Identifier: MIT
#pragma once

// The tracker turns a Watcher's events into hoard::Change values (common/
// Change.h) and hands them, in order, to a ChangeSink that makes them durable
// (the journal's change log, in the daemon). When the watcher loses events
// (overflow) or part of the tree (lost watch), the sink is asked to rescan.
//
// Translation rules:
//   created file -> kCreate (mode from lstat), created dir -> kMkdir (mode),
//   created symlink -> kSymlink (target); other file types (fifo, socket,
//   device) are not tracked.
//   modified file -> kWrite.
//   attrib -> kChmod with the current mode when the mode differs from the one
//     the tracker last saw for that path or when it never saw one, and always
//     kXattr: IN_ATTRIB cannot tell an xattr change from a chown or a touch, so
//     kXattr means "compare the xattrs with the base". Nothing for symlinks.
//   deleted -> kUnlink or kRmdir.
//   moved_from + moved_to with the same cookie in one batch -> kRename(from, to)
//     at the moved_from's place. An unpaired moved_from (moved out of the tree)
//     -> kUnlink, or for a directory kRmdir plus rescanNeeded(dir) (its
//     content left without per-file events: the scan records those unlinks).
//     An unpaired moved_to (moved in) -> kCreate / kMkdir / kSymlink (the
//     watcher reports a moved-in directory's content as created events).
//   overflow -> rescanNeeded(""); watch_lost -> rescanNeeded(subtree).
//   Events on the root itself (e.g. a chmod of the cache root) are ignored.
//
// Coalescing: changes wait in a pending list until the sink takes them. While
// they wait, obviously redundant ones are dropped: a write after a create or
// write of the same path, a duplicate create/mkdir/symlink (a scan of a new
// directory and the kernel may both report one), a chmod after a create, mkdir
// or chmod of the same path (the earlier one takes the new mode), an xattr
// after a create or xattr of the same path. A rename or a delete of a path or
// of one of its parents ends that path's coalescing. Cancellations across
// operations (create then delete) are the change log's job, not the tracker's.
//
// Durability: ChangeSink::recordChanges returns only once the changes are
// durable. If it fails, the tracker keeps every pending change, reports the
// error and retries later (with backoff in run()); nothing is dropped.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "common/Change.h"
#include "common/Error.h"
#include "track/Watcher.h"

namespace hoard::track {

// Where the tracker delivers. Called only from the thread that drives the
// Tracker (the one in run() / absorb()).
class ChangeSink {
 public:
  virtual ~ChangeSink() = default;

  // Makes `changes` durable, in this order, and returns only then. Must be
  // all-or-nothing: on error none of them may count as recorded, because the
  // tracker hands the same changes (possibly with more appended) again later.
  virtual Status recordChanges(const std::vector<Change>& changes) = 0;

  // The tracker can no longer vouch for `subtree` ("" is the whole share):
  // events were lost, so the consumer must compare that subtree with the base
  // (the scanner's job). Must not block for long; cannot fail (queue it).
  virtual void rescanNeeded(const RelPath& subtree) = 0;
};

struct TrackerOptions {
  // How long run() waits for events when nothing is pending.
  std::chrono::milliseconds idle_wait{1000};
  // Delay before retrying a failed recordChanges, doubled after each failure
  // up to retry_max, reset after a success.
  std::chrono::milliseconds retry_initial{50};
  std::chrono::milliseconds retry_max{5000};
  // Told about every sink or watcher error run() meets (it carries on).
  // Called on the tracker's thread.
  std::function<void(const Error&)> on_error;
};

// Counters, readable from any thread while the tracker runs.
struct TrackerStats {
  uint64_t events = 0;            // watcher events absorbed
  uint64_t changes_recorded = 0;  // changes the sink accepted
  uint64_t record_failures = 0;   // failed recordChanges calls
  uint64_t rescans = 0;           // rescanNeeded calls
};

class Tracker {
 public:
  // `watcher` must already be started (or be started before run()/pollOnce());
  // both it and `sink` must outlive the Tracker.
  Tracker(Watcher& watcher, ChangeSink& sink, TrackerOptions options = {});
  Tracker(const Tracker&) = delete;
  Tracker& operator=(const Tracker&) = delete;

  // Translates one batch of events, adds the changes to the pending list and
  // hands the whole list to the sink. Returns the sink's error if that failed;
  // the changes then stay pending for the next absorb() / flush().
  Status absorb(const std::vector<WatchEvent>& batch);

  // Hands the pending changes (if any) to the sink. Same errors as absorb().
  Status flush();

  // One step of the loop: readEvents(timeout), then absorb(). Returns the
  // watcher's or the sink's error.
  Status pollOnce(std::chrono::milliseconds timeout);

  // Reads, translates and records until stop() is called. Sink errors and
  // transient watcher errors are reported through options.on_error and
  // retried with backoff. Returns ok after stop(), or the watcher's error if
  // the watcher is not running (kInvalidArgument). Before returning it makes
  // one last flush attempt; whatever still failed stays in pendingCount() and
  // can be flushed by a later flush() call. Once stop() was called, run()
  // returns at once.
  Status run();

  // Makes run() return soon. Any thread.
  void stop();

  // Changes waiting for the sink. Not thread-safe with run(): call it from the
  // driving thread or after run() returned.
  size_t pendingCount() const { return pending_.size(); }

  TrackerStats stats() const;

 private:
  struct PathState {  // indexes into pending_ of the changes that can absorb later ones
    std::optional<size_t> content;  // kCreate / kWrite / kMkdir / kSymlink
    std::optional<size_t> mode;     // kCreate / kMkdir / kChmod
    std::optional<size_t> xattr;    // kXattr, or a create (which carries xattrs)
  };

  void ingest(const std::vector<WatchEvent>& batch);
  void append(Change c);
  void appendCreate(const WatchEvent& e);
  // True if the last component of `p` is one of hoard's temporary names.
  static bool isOwnTemp(const RelPath& p);
  void appendAttrib(const WatchEvent& e);
  void forgetSubtree(const RelPath& p);
  void noteModes(const Change& c);
  void requestRescan(const RelPath& subtree);

  Watcher& watcher_;
  ChangeSink& sink_;
  TrackerOptions options_;

  // Driving thread only.
  std::vector<Change> pending_;
  std::map<RelPath, PathState> recent_;       // coalescing state for pending_
  std::map<RelPath, uint32_t> known_modes_;  // last mode seen per path, for attrib

  std::atomic<bool> stop_{false};
  std::mutex stop_mu_;
  std::condition_variable stop_cv_;  // wakes run() out of a backoff wait

  std::atomic<uint64_t> events_{0};
  std::atomic<uint64_t> changes_recorded_{0};
  std::atomic<uint64_t> record_failures_{0};
  std::atomic<uint64_t> rescans_{0};
};

// Runs Tracker::run() on its own thread. The destructor stops and joins it.
class TrackerThread {
 public:
  explicit TrackerThread(Tracker& tracker);
  ~TrackerThread();
  TrackerThread(const TrackerThread&) = delete;
  TrackerThread& operator=(const TrackerThread&) = delete;

  // Stops the tracker, joins the thread and returns what run() returned.
  // Idempotent. Call from the thread that made this object.
  Status stop();

 private:
  Tracker& tracker_;
  Status result_;       // written by the thread, read after join
  std::thread thread_;  // last: starts running in the constructor
};

}  // namespace hoard::track
