// SPDX-License-Identifier: MIT
#include "track/FakeWatcher.h"

#include <algorithm>

namespace hoard::track {

Status FakeWatcher::start(const std::string& root, const WatchOptions& options) {
  std::lock_guard lock(mu_);
  if (start_error_) {
    Error e = *start_error_;
    start_error_.reset();
    return tl::unexpected(e);
  }
  if (started_) return fail(ErrorCode::kInvalidArgument, "FakeWatcher: already started on " + root_);
  root_ = root;
  options_ = options;
  started_ = true;
  return {};
}

void FakeWatcher::stop() {
  std::lock_guard lock(mu_);
  started_ = false;
  cv_.notify_all();
}

Result<std::vector<WatchEvent>> FakeWatcher::readEvents(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  if (!started_) return fail(ErrorCode::kInvalidArgument, "FakeWatcher: readEvents before start");
  cv_.wait_for(lock, timeout, [&] { return !batches_.empty() || woken_ || read_error_; });
  woken_ = false;
  if (read_error_) {
    Error e = *read_error_;
    read_error_.reset();
    return tl::unexpected(e);
  }
  if (batches_.empty()) return std::vector<WatchEvent>{};
  std::vector<WatchEvent> batch = std::move(batches_.front());
  batches_.pop_front();
  return batch;
}

void FakeWatcher::wakeup() {
  std::lock_guard lock(mu_);
  woken_ = true;
  cv_.notify_all();
}

size_t FakeWatcher::watchCount() const {
  std::lock_guard lock(mu_);
  return watch_count_;
}

void FakeWatcher::push(std::vector<WatchEvent> batch) {
  std::lock_guard lock(mu_);
  if (options_.exclude) {
    std::erase_if(batch, [&](const WatchEvent& e) {
      return !e.path.empty() && options_.exclude(baseName(e.path));
    });
  }
  batches_.push_back(std::move(batch));
  cv_.notify_all();
}

void FakeWatcher::failNextStart(Error error) {
  std::lock_guard lock(mu_);
  start_error_ = std::move(error);
}

void FakeWatcher::failNextRead(Error error) {
  std::lock_guard lock(mu_);
  read_error_ = std::move(error);
  cv_.notify_all();
}

void FakeWatcher::setWatchCount(size_t n) {
  std::lock_guard lock(mu_);
  watch_count_ = n;
}

bool FakeWatcher::started() const {
  std::lock_guard lock(mu_);
  return started_;
}

std::string FakeWatcher::root() const {
  std::lock_guard lock(mu_);
  return root_;
}

size_t FakeWatcher::queuedBatches() const {
  std::lock_guard lock(mu_);
  return batches_.size();
}

namespace {
FileMeta metaOf(FileType type, uint32_t mode) {
  FileMeta m;
  m.type = type;
  m.mode = mode;
  return m;
}
}  // namespace

WatchEvent FakeWatcher::created(RelPath path, FileType type, uint32_t mode, std::string target) {
  WatchEvent e;
  e.kind = WatchEventKind::kCreated;
  e.path = std::move(path);
  e.is_dir = type == FileType::kDir;
  e.meta = metaOf(type, mode);
  e.symlink_target = std::move(target);
  return e;
}

WatchEvent FakeWatcher::modified(RelPath path) {
  WatchEvent e;
  e.kind = WatchEventKind::kModified;
  e.path = std::move(path);
  return e;
}

WatchEvent FakeWatcher::attrib(RelPath path, FileType type, uint32_t mode) {
  WatchEvent e;
  e.kind = WatchEventKind::kAttrib;
  e.path = std::move(path);
  e.is_dir = type == FileType::kDir;
  e.meta = metaOf(type, mode);
  return e;
}

WatchEvent FakeWatcher::deleted(RelPath path, bool is_dir) {
  WatchEvent e;
  e.kind = WatchEventKind::kDeleted;
  e.path = std::move(path);
  e.is_dir = is_dir;
  return e;
}

WatchEvent FakeWatcher::movedFrom(RelPath path, uint32_t cookie, bool is_dir) {
  WatchEvent e;
  e.kind = WatchEventKind::kMovedFrom;
  e.path = std::move(path);
  e.cookie = cookie;
  e.is_dir = is_dir;
  return e;
}

WatchEvent FakeWatcher::movedTo(RelPath path, uint32_t cookie, FileType type, uint32_t mode) {
  WatchEvent e;
  e.kind = WatchEventKind::kMovedTo;
  e.path = std::move(path);
  e.cookie = cookie;
  e.is_dir = type == FileType::kDir;
  e.meta = metaOf(type, mode);
  return e;
}

WatchEvent FakeWatcher::overflow() {
  WatchEvent e;
  e.kind = WatchEventKind::kOverflow;
  return e;
}

WatchEvent FakeWatcher::watchLost(RelPath subtree) {
  WatchEvent e;
  e.kind = WatchEventKind::kWatchLost;
  e.path = std::move(subtree);
  e.is_dir = true;
  return e;
}

}  // namespace hoard::track
