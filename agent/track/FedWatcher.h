// SPDX-License-Identifier: MIT
#pragma once

// A Watcher without a kernel: the program part that makes the changes pushes
// the events itself. The on-demand view (agent/view) is one: every change a
// program makes through it is made by the view, which reports exactly that
// change, so the share's backing directory needs no inotify watches (none to
// run out of, no overflow guesswork) and the engine's own writes there are
// not reported at all.
//
// Batching: in kAllQueued (the view's) one readEvents() returns every batch
// queued since the last, concatenated in order, so a burst of calls costs
// the tracker one journal transaction; a rename's two halves must come in
// one push. In kOnePerRead (FakeWatcher, tests) each readEvents() returns
// exactly one pushed batch, so tests place the boundaries.
//
// Bound: more than `max_queued` events waiting (the tracker stuck) are
// dropped for one kOverflow: the tracker asks for a rescan of the whole
// share instead, memory stays bounded and nothing is lost.
//
// Threads: push() and wakeup() from any thread; one consumer calls start(),
// readEvents() and stop(). Events pushed before start() or after stop() are
// dropped (hoardd scans the backing directory when a share starts).

#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>

#include "track/Watcher.h"

namespace hoard::track {

class FedWatcher : public Watcher {
 public:
  enum class Batching { kAllQueued, kOnePerRead };
  explicit FedWatcher(Batching batching = Batching::kAllQueued, size_t max_queued = 65536);

  Status start(const std::string& root, const WatchOptions& options) override;
  void stop() override;
  Result<std::vector<WatchEvent>> readEvents(std::chrono::milliseconds timeout) override;
  void wakeup() override;
  int pollFd() const override { return -1; }
  // No kernel watches: 0 unless a test set another count.
  size_t watchCount() const override;

  // Queues one batch. Events whose name the exclude filter given to start()
  // rejects are dropped, as the kernel watcher would. Returns the
  // generation() the batch waits in (it is read once generation() moved
  // past it), or nothing if the watcher is not started (the batch is
  // dropped).
  std::optional<uint64_t> push(std::vector<WatchEvent> batch);

  bool started() const;
  std::string root() const;
  size_t queuedBatches() const;
  uint64_t overflows() const;  // times the bound was hit
  // Counts the readEvents() calls that took events. While generation() is
  // still what push() returned, that batch waits unread: a later event
  // for the same path may be left out (the view's writes: one event per
  // burst of write(2) calls, not one per call).
  uint64_t generation() const;

 protected:
  // For FakeWatcher: readEvents returns `error` once, before any batch.
  void injectReadError(Error error);
  void setWatchCountForTest(size_t n);

 private:
  const Batching batching_;
  const size_t max_queued_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::vector<WatchEvent>> batches_;  // GUARDED_BY(mu_)
  size_t queued_events_ = 0;                     // GUARDED_BY(mu_)
  uint64_t overflows_ = 0;                       // GUARDED_BY(mu_)
  uint64_t generation_ = 0;                      // GUARDED_BY(mu_)
  std::optional<Error> read_error_;              // GUARDED_BY(mu_)
  WatchOptions options_;                         // GUARDED_BY(mu_)
  std::string root_;                             // GUARDED_BY(mu_)
  bool started_ = false;                         // GUARDED_BY(mu_)
  bool woken_ = false;                           // GUARDED_BY(mu_)
  size_t watch_count_ = 0;                       // GUARDED_BY(mu_)
};

}  // namespace hoard::track
