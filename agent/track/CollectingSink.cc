// SPDX-License-Identifier: MIT
#include "track/CollectingSink.h"

namespace hoard::track {

Status CollectingSink::recordChanges(const std::vector<Change>& changes) {
  std::lock_guard lock(mu_);
  if (fail_left_ > 0) {
    --fail_left_;
    ++failed_;
    return tl::unexpected(*fail_error_);
  }
  if (keep_) changes_.insert(changes_.end(), changes.begin(), changes.end());
  count_ += changes.size();
  ++calls_;
  cv_.notify_all();
  return {};
}

void CollectingSink::rescanNeeded(const RelPath& subtree) {
  std::lock_guard lock(mu_);
  rescans_.push_back(subtree);
  cv_.notify_all();
}

void CollectingSink::failNext(size_t calls, Error error) {
  std::lock_guard lock(mu_);
  fail_left_ = calls;
  fail_error_ = std::move(error);
}

bool CollectingSink::waitForCount(size_t n, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return count_ >= n; });
}

bool CollectingSink::waitUntil(const Predicate& pred, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return pred(changes_, rescans_); });
}

std::vector<Change> CollectingSink::changes() const {
  std::lock_guard lock(mu_);
  return changes_;
}

std::vector<RelPath> CollectingSink::rescans() const {
  std::lock_guard lock(mu_);
  return rescans_;
}

size_t CollectingSink::count() const {
  std::lock_guard lock(mu_);
  return count_;
}

size_t CollectingSink::recordCalls() const {
  std::lock_guard lock(mu_);
  return calls_;
}

size_t CollectingSink::failedCalls() const {
  std::lock_guard lock(mu_);
  return failed_;
}

void CollectingSink::clear() {
  std::lock_guard lock(mu_);
  changes_.clear();
  rescans_.clear();
}

}  // namespace hoard::track
