// SPDX-License-Identifier: MIT
#include "track/FolderTracker.h"

namespace hoard::track {

FolderTracker::FolderTracker(ChangeSink& sink, Options options)
    : watcher_(options.inotify),
      tracker_(std::make_unique<Tracker>(watcher_, sink, std::move(options.tracker))) {}

Result<std::unique_ptr<FolderTracker>> FolderTracker::start(const std::string& root,
                                                            ChangeSink& sink, Options options) {
  WatchOptions watch = options.watch;
  std::unique_ptr<FolderTracker> ft(new FolderTracker(sink, std::move(options)));
  if (Status s = ft->watcher_.start(root, watch); !s) return tl::unexpected(s.error());
  ft->thread_ = std::make_unique<TrackerThread>(*ft->tracker_);
  return ft;
}

Status FolderTracker::stop() {
  if (thread_) {
    result_ = thread_->stop();
    thread_.reset();
    watcher_.stop();
  }
  return result_;
}

FolderTracker::~FolderTracker() { (void)stop(); }

}  // namespace hoard::track
