// SPDX-License-Identifier: MIT
#pragma once

// A bounded pool of threads that runs remote calls under a deadline. A hung
// network mount (sshfs with the link down blocks a syscall for minutes) costs
// one worker, never the caller: when the deadline passes the caller gets
// kTimeout at once and the worker stays behind in the syscall. When every
// worker is stuck like that, new calls fail at once instead of queueing
// forever; a worker whose syscall finally returns rejoins the pool and its
// late result is discarded.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/Error.h"
#include "common/ThreadAnnotations.h"
#include "remote/RemoteFs.h"

namespace hoard::remote {

class WorkerPool {
  struct Call;
  struct Core;

 public:
  struct Options {
    size_t workers = 4;
    // Calls allowed to wait for a free worker; beyond that run() gives kBusy.
    size_t max_queued = 256;
    std::string thread_name = "hoard-remote";  // threads are "<name>-<i>" (cut to 15 bytes)
  };

  explicit WorkerPool(Options options);
  // Joins every worker that is idle or finishing a call still awaited; a
  // worker stuck in an abandoned call is detached (it holds its own
  // references and exits when its syscall returns). Destroy only when no
  // run() is in progress.
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Runs `task` on a worker and waits for it. `idle_deadline` bounds the time
  // without news: the wait in the queue plus the call, extended each time the
  // task reports progress (so a large transfer that keeps moving is not cut
  // off, and one that stalls is). The task receives a progress function that
  // it may call from the worker; `progress` (if set) is then invoked on the
  // calling thread with the latest byte count. When `progress` returns false
  // (stop), the task's next call of its progress function returns false.
  //
  // Returns the task's result; or kTimeout when the deadline passes (the
  // task, if it started, is abandoned and its result discarded whenever it
  // comes); kOffline at once when every worker is stuck in an abandoned call;
  // kBusy when the queue is full; kInternal if the task threw. Any thread
  // may call, concurrently. The task must own (capture by value) everything
  // it touches: it may outlive the call.
  template <class T>
  Result<T> run(std::string what, std::chrono::milliseconds idle_deadline,
                std::function<Result<T>(const ProgressFn&)> task, const ProgressFn& progress = {}) {
    auto slot = std::make_shared<std::optional<Result<T>>>();
    auto status = runErased(
        std::move(what), idle_deadline,
        [slot, task = std::move(task)](const ProgressFn& p) {
          // The one boundary where a library exception from a task becomes an Error.
          try {
            slot->emplace(task(p));
          } catch (const std::exception& e) {
            slot->emplace(tl::unexpected(
                Error(ErrorCode::kInternal, std::string("remote task threw: ") + e.what())));
          } catch (...) {
            slot->emplace(tl::unexpected(
                Error(ErrorCode::kInternal, "remote task threw a non-standard exception")));
          }
        },
        progress);
    if (!status) return tl::unexpected(status.error());
    return std::move(**slot);
  }

  // Calls in flight together on this pool: a tree walk keeps dozens of
  // listings and stats going at once, each one bounded on its own. Every
  // call is under its own deadline, counted as in run() (the wait for a
  // worker plus the call). Tasks report back through what they captured;
  // next() says which one finished. Use a batch from one thread.
  class Batch {
   public:
    explicit Batch(WorkerPool& pool);
    // Abandons every call still queued (dropped) or running (its result is
    // discarded; it counts as stuck until it returns), as run() does on a
    // timeout.
    ~Batch();
    Batch(const Batch&) = delete;
    Batch& operator=(const Batch&) = delete;

    // Queues `task` under `tag` and returns at once; kOffline when every
    // worker is stuck, kBusy when the pool's queue is full (nothing queued).
    // A task that throws is finished all the same (it must record its own
    // failure; whatever it captured says what it did).
    Status post(uint64_t tag, std::string what, std::chrono::milliseconds deadline,
                std::function<void()> task);
    // Waits until a call of this batch finishes and returns its tag. When a
    // call's deadline passes first, it is abandoned and kTimeout names it
    // ("no answer within N ms; the mount looks hung"). kInternal if nothing
    // is in flight.
    Result<uint64_t> next();
    size_t inFlight() const { return in_flight_.size(); }

    struct State;  // the pool's side of a batch (WorkerPool.cc)

   private:
    WorkerPool& pool_;
    std::shared_ptr<State> state_;
    std::vector<std::shared_ptr<Call>> in_flight_;
  };

  size_t size() const { return options_.workers; }
  // Workers blocked in a call whose caller gave up on it.
  size_t stuckWorkers() const;
  // Workers running a call (stuck ones included).
  size_t busyWorkers() const;
  // Calls waiting for a worker.
  size_t queuedCalls() const;

 private:
  Status runErased(std::string what, std::chrono::milliseconds idle_deadline,
                   std::function<void(const ProgressFn&)> task, const ProgressFn& progress);
  static void workerLoop(std::shared_ptr<Core> core, size_t index);

  const Options options_;
  std::shared_ptr<Core> core_;
  std::vector<std::thread> threads_;
};

}  // namespace hoard::remote
