// SPDX-License-Identifier: MIT
#pragma once

// Directories PosixRemoteFs resolved beneath its root for reading, kept for a
// moment so that fetching many files of one directory resolves its path once
// rather than once per file (on a network mount each path component is a
// round trip when the kernel may not cache names, e.g. sshfs with
// entry_timeout=0). Only reads use it; every write resolves its path afresh.
//
// An entry lives `ttl` after it was resolved and is dropped when the root is
// pinned again (a pass starts) or when a call through it fails, so a held
// handle never outlasts a pass's view of the tree by more than `ttl`.

#include <chrono>
#include <cstddef>
#include <list>
#include <string>
#include <unordered_map>

#include "common/RelPath.h"
#include "common/ThreadAnnotations.h"
#include "common/UniqueFd.h"

namespace hoard::remote {

class DirHandleCache {
 public:
  using Clock = std::chrono::steady_clock;
  DirHandleCache(std::chrono::milliseconds ttl, size_t capacity)
      : ttl_(ttl), capacity_(capacity) {}

  bool enabled() const { return ttl_.count() > 0 && capacity_ > 0; }
  // A duplicate of the handle kept for `dir` (O_PATH, close-on-exec), or an
  // empty fd if there is none or it expired.
  UniqueFd get(const RelPath& dir) HOARD_EXCLUDES(mu_);
  // Keeps a duplicate of `fd` for `dir`; the oldest entry goes when full.
  void put(const RelPath& dir, int fd) HOARD_EXCLUDES(mu_);
  void drop(const RelPath& dir) HOARD_EXCLUDES(mu_);
  void clear() HOARD_EXCLUDES(mu_);
  size_t size() const HOARD_EXCLUDES(mu_);

 private:
  struct Entry {
    UniqueFd fd;
    Clock::time_point resolved;
    std::list<RelPath>::iterator age;  // its place in order_
  };
  void eraseLocked(std::unordered_map<RelPath, Entry>::iterator it) HOARD_REQUIRES(mu_);

  const std::chrono::milliseconds ttl_;
  const size_t capacity_;
  mutable Mutex mu_;
  std::unordered_map<RelPath, Entry> entries_ HOARD_GUARDED_BY(mu_);
  std::list<RelPath> order_ HOARD_GUARDED_BY(mu_);  // oldest first
};

}  // namespace hoard::remote
