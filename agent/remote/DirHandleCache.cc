// SPDX-License-Identifier: MIT
#include "remote/DirHandleCache.h"

#include <fcntl.h>

namespace hoard::remote {

UniqueFd DirHandleCache::get(const RelPath& dir) {
  if (!enabled()) return UniqueFd();
  MutexLock lock(mu_);
  auto it = entries_.find(dir);
  if (it == entries_.end()) return UniqueFd();
  if (Clock::now() - it->second.resolved >= ttl_) {
    eraseLocked(it);
    return UniqueFd();
  }
  return UniqueFd(::fcntl(it->second.fd.get(), F_DUPFD_CLOEXEC, 0));
}

void DirHandleCache::put(const RelPath& dir, int fd) {
  if (!enabled()) return;
  UniqueFd dup(::fcntl(fd, F_DUPFD_CLOEXEC, 0));
  if (!dup) return;  // out of descriptors: simply not kept
  MutexLock lock(mu_);
  if (auto it = entries_.find(dir); it != entries_.end()) eraseLocked(it);
  while (entries_.size() >= capacity_ && !order_.empty()) eraseLocked(entries_.find(order_.front()));
  order_.push_back(dir);
  entries_.emplace(dir, Entry{std::move(dup), Clock::now(), std::prev(order_.end())});
}

void DirHandleCache::drop(const RelPath& dir) {
  MutexLock lock(mu_);
  if (auto it = entries_.find(dir); it != entries_.end()) eraseLocked(it);
}

void DirHandleCache::clear() {
  MutexLock lock(mu_);
  entries_.clear();
  order_.clear();
}

size_t DirHandleCache::size() const {
  MutexLock lock(mu_);
  return entries_.size();
}

void DirHandleCache::eraseLocked(std::unordered_map<RelPath, Entry>::iterator it) {
  order_.erase(it->second.age);
  entries_.erase(it);
}

}  // namespace hoard::remote
