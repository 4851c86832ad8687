// SPDX-License-Identifier: MIT
#include "track/FolderTracker.h"

namespace hoard::track {

FolderTracker::FolderTracker(std::shared_ptr<Watcher> watcher, ChangeSink& sink, Options options)
    : watcher_(std::move(watcher)),
      tracker_(std::make_unique<Tracker>(*watcher_, sink, std::move(options.tracker))) {}

Result<std::unique_ptr<FolderTracker>> FolderTracker::begin(std::unique_ptr<FolderTracker> ft,
                                                            const std::string& root,
                                                            const WatchOptions& watch) {
  if (Status s = ft->watcher_->start(root, watch); !s) return tl::unexpected(s.error());
  ft->thread_ = std::make_unique<TrackerThread>(*ft->tracker_);
  return ft;
}

Result<std::unique_ptr<FolderTracker>> FolderTracker::start(const std::string& root,
                                                            ChangeSink& sink, Options options) {
  WatchOptions watch = options.watch;
  auto watcher = std::make_shared<InotifyWatcher>(options.inotify);
  return begin(std::unique_ptr<FolderTracker>(new FolderTracker(watcher, sink, std::move(options))),
               root, watch);
}

Result<std::unique_ptr<FolderTracker>> FolderTracker::startFed(const std::string& root,
                                                               ChangeSink& sink,
                                                               std::shared_ptr<FedWatcher> feed,
                                                               Options options) {
  WatchOptions watch = options.watch;
  return begin(std::unique_ptr<FolderTracker>(new FolderTracker(std::move(feed), sink,
                                                                std::move(options))),
               root, watch);
}

Status FolderTracker::stop() {
  if (thread_) {
    result_ = thread_->stop();
    thread_.reset();
    watcher_->stop();
  }
  return result_;
}

FolderTracker::~FolderTracker() { (void)stop(); }

}  // namespace hoard::track
