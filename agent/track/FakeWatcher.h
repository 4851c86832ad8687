// SPDX-License-Identifier: MIT
#pragma once

// A Watcher without a kernel, for tests of every layer above the watcher: the
// test pushes batches of events (overflows and lost watches included), the
// consumer reads them back in order. It lives in the hoard_track library, not
// under tests/, so later layers' unit tests can use it too.

#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>

#include "track/Watcher.h"

namespace hoard::track {

class FakeWatcher : public Watcher {
 public:
  FakeWatcher() = default;

  // Watcher. start() records the root and options and fails with the error set
  // by failNextStart(), if any.
  Status start(const std::string& root, const WatchOptions& options) override;
  void stop() override;
  Result<std::vector<WatchEvent>> readEvents(std::chrono::milliseconds timeout) override;
  void wakeup() override;
  int pollFd() const override { return -1; }
  size_t watchCount() const override;

  // Queues one batch; the next readEvents() returns it whole. Events whose
  // name the exclude filter given to start() rejects are dropped, as the real
  // watcher would. Any thread.
  void push(std::vector<WatchEvent> batch);

  // Makes the next start() / readEvents() fail with `error`. Any thread.
  void failNextStart(Error error);
  void failNextRead(Error error);

  // What the test may set and inspect. Any thread.
  void setWatchCount(size_t n);
  bool started() const;
  std::string root() const;
  size_t queuedBatches() const;

  // Event builders, so tests read like the kernel's story.
  static WatchEvent created(RelPath path, FileType type, uint32_t mode = 0644,
                            std::string target = {});
  static WatchEvent modified(RelPath path);
  static WatchEvent attrib(RelPath path, FileType type, uint32_t mode);
  static WatchEvent deleted(RelPath path, bool is_dir = false);
  static WatchEvent movedFrom(RelPath path, uint32_t cookie, bool is_dir = false);
  static WatchEvent movedTo(RelPath path, uint32_t cookie, FileType type = FileType::kFile,
                            uint32_t mode = 0644);
  static WatchEvent overflow();
  static WatchEvent watchLost(RelPath subtree);

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::vector<WatchEvent>> batches_;  // GUARDED_BY(mu_)
  std::optional<Error> start_error_;             // GUARDED_BY(mu_)
  std::optional<Error> read_error_;              // GUARDED_BY(mu_)
  WatchOptions options_;                         // GUARDED_BY(mu_)
  std::string root_;                             // GUARDED_BY(mu_)
  bool started_ = false;                         // GUARDED_BY(mu_)
  bool woken_ = false;                           // GUARDED_BY(mu_)
  size_t watch_count_ = 1;                       // GUARDED_BY(mu_)
};

}  // namespace hoard::track
