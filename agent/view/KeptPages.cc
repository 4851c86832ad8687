// SPDX-License-Identifier: MIT
#include "view/KeptPages.h"

namespace hoard::view {

namespace {

int64_t ns(const struct timespec& t) { return int64_t{t.tv_sec} * 1'000'000'000 + t.tv_nsec; }

}  // namespace

KeptPages::Verdict KeptPages::opened(const RelPath& path, const struct stat& st) {
  // ctime too: a rewrite in place that restored size and mtime still moves it.
  Identity now{st.st_dev, st.st_ino, st.st_size, ns(st.st_mtim), ns(st.st_ctim)};
  MutexLock lock(mu_);
  auto [it, inserted] = seen_.try_emplace(path, now);
  if (inserted) return Verdict::kFirst;
  if (it->second == now) return Verdict::kSame;
  it->second = now;
  return Verdict::kChanged;
}

}  // namespace hoard::view
