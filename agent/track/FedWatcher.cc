// SPDX-License-Identifier: MIT
#include "track/FedWatcher.h"

#include <algorithm>

namespace hoard::track {

FedWatcher::FedWatcher(Batching batching, size_t max_queued)
    : batching_(batching), max_queued_(max_queued) {}

Status FedWatcher::start(const std::string& root, const WatchOptions& options) {
  std::lock_guard lock(mu_);
  if (started_) return fail(ErrorCode::kInvalidArgument, "watcher: already started on " + root_);
  root_ = root;
  options_ = options;
  started_ = true;
  return {};
}

void FedWatcher::stop() {
  std::lock_guard lock(mu_);
  started_ = false;
  batches_.clear();
  queued_events_ = 0;
  cv_.notify_all();
}

Result<std::vector<WatchEvent>> FedWatcher::readEvents(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  if (!started_) return fail(ErrorCode::kInvalidArgument, "watcher: readEvents before start");
  cv_.wait_for(lock, timeout, [&] { return !batches_.empty() || woken_ || read_error_; });
  woken_ = false;
  if (read_error_) {
    Error e = *read_error_;
    read_error_.reset();
    return tl::unexpected(e);
  }
  std::vector<WatchEvent> out;
  if (batches_.empty()) return out;
  out = std::move(batches_.front());
  batches_.pop_front();
  if (batching_ == Batching::kAllQueued) {
    for (auto& b : batches_) std::move(b.begin(), b.end(), std::back_inserter(out));
    batches_.clear();
  }
  queued_events_ -= out.size();
  ++generation_;
  return out;
}

void FedWatcher::wakeup() {
  std::lock_guard lock(mu_);
  woken_ = true;
  cv_.notify_all();
}

size_t FedWatcher::watchCount() const {
  std::lock_guard lock(mu_);
  return watch_count_;
}

std::optional<uint64_t> FedWatcher::push(std::vector<WatchEvent> batch) {
  std::lock_guard lock(mu_);
  if (!started_) return std::nullopt;
  if (options_.exclude) {
    std::erase_if(batch, [&](const WatchEvent& e) {
      return !e.path.empty() && options_.exclude(baseName(e.path));
    });
  }
  if (queued_events_ + batch.size() > max_queued_) {
    // What waits is replaced by one overflow: the rescan it asks for finds
    // all of it (and this batch) in the backing directory.
    batches_.clear();
    WatchEvent overflow;
    overflow.kind = WatchEventKind::kOverflow;
    batches_.push_back({overflow});
    queued_events_ = 1;
    ++overflows_;
  } else {
    queued_events_ += batch.size();
    batches_.push_back(std::move(batch));
  }
  cv_.notify_all();
  return generation_;
}

bool FedWatcher::started() const {
  std::lock_guard lock(mu_);
  return started_;
}

std::string FedWatcher::root() const {
  std::lock_guard lock(mu_);
  return root_;
}

size_t FedWatcher::queuedBatches() const {
  std::lock_guard lock(mu_);
  return batches_.size();
}

uint64_t FedWatcher::overflows() const {
  std::lock_guard lock(mu_);
  return overflows_;
}

uint64_t FedWatcher::generation() const {
  std::lock_guard lock(mu_);
  return generation_;
}

void FedWatcher::injectReadError(Error error) {
  std::lock_guard lock(mu_);
  read_error_ = std::move(error);
  cv_.notify_all();
}

void FedWatcher::setWatchCountForTest(size_t n) {
  std::lock_guard lock(mu_);
  watch_count_ = n;
}

}  // namespace hoard::track
