// SPDX-License-Identifier: MIT
#pragma once

// Real tracking of one folder in one call: an InotifyWatcher on `root`, a
// Tracker delivering to `sink`, and the thread that drives them. For the
// daemon's wiring, the demo and benchmarks:
//
//   CollectingSink sink(/*keep=*/false);
//   auto ft = FolderTracker::start("/path/to/cache", sink);
//   ... make changes ...
//   sink.waitForCount(10000, std::chrono::seconds(60));
//   ft.value()->stop();

#include <memory>

#include "track/FedWatcher.h"
#include "track/InotifyWatcher.h"
#include "track/Tracker.h"

namespace hoard::track {

class FolderTracker {
 public:
  struct Options {
    WatchOptions watch;
    TrackerOptions tracker;
    InotifyWatcher::Options inotify;
  };

  // Starts watching `root` and delivering to `sink` (which must outlive the
  // returned object) on a new thread. Only changes made after this returns are
  // reported. Errors: those of InotifyWatcher::start().
  static Result<std::unique_ptr<FolderTracker>> start(const std::string& root, ChangeSink& sink,
                                                     Options options);
  static Result<std::unique_ptr<FolderTracker>> start(const std::string& root, ChangeSink& sink) {
    return start(root, sink, Options{});
  }
  // The same with the events `feed` is pushed (FedWatcher.h: the on-demand
  // view's) instead of inotify's; options.inotify is not used.
  static Result<std::unique_ptr<FolderTracker>> startFed(const std::string& root, ChangeSink& sink,
                                                        std::shared_ptr<FedWatcher> feed,
                                                        Options options = {});

  // Stops the thread (one last flush attempt included) and the watcher;
  // returns what Tracker::run() returned. Idempotent; the destructor calls it.
  Status stop();
  ~FolderTracker();

  TrackerStats stats() const { return tracker_->stats(); }
  size_t watchCount() const { return watcher_->watchCount(); }

 private:
  FolderTracker(std::shared_ptr<Watcher> watcher, ChangeSink& sink, Options options);
  static Result<std::unique_ptr<FolderTracker>> begin(std::unique_ptr<FolderTracker> ft,
                                                     const std::string& root,
                                                     const WatchOptions& watch);

  std::shared_ptr<Watcher> watcher_;
  std::unique_ptr<Tracker> tracker_;
  std::unique_ptr<TrackerThread> thread_;
  Status result_;
};

}  // namespace hoard::track
