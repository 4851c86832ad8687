// SPDX-License-Identifier: MIT
#include "remote/WorkerPool.h"

#include <pthread.h>

namespace hoard::remote {

// One call handed to the pool. All fields are guarded by Core::mu; `cv` waits on it.
struct WorkerPool::Call {
  std::string what;
  std::function<void(const ProgressFn&)> task;
  std::condition_variable cv;
  bool started HOARD_GUARDED_BY(Core::mu) = false;
  bool done HOARD_GUARDED_BY(Core::mu) = false;
  bool abandoned HOARD_GUARDED_BY(Core::mu) = false;  // the caller stopped waiting
  bool progress_pending HOARD_GUARDED_BY(Core::mu) = false;
  uint64_t progress_bytes HOARD_GUARDED_BY(Core::mu) = 0;
};

// State shared by the pool object and its threads; outlives the pool while a
// detached (stuck) worker still runs.
struct WorkerPool::Core {
  std::mutex mu;
  std::condition_variable work_cv;  // a call was queued, or stopping
  std::condition_variable idle_cv;  // a worker finished a call
  std::deque<std::shared_ptr<Call>> queue HOARD_GUARDED_BY(mu);
  std::vector<std::shared_ptr<Call>> current HOARD_GUARDED_BY(mu);  // per worker; null if idle
  size_t busy HOARD_GUARDED_BY(mu) = 0;
  size_t stuck HOARD_GUARDED_BY(mu) = 0;  // busy with an abandoned call
  bool stopping HOARD_GUARDED_BY(mu) = false;
};

namespace {
WorkerPool::Options normalized(WorkerPool::Options o) {
  if (o.workers == 0) o.workers = 1;
  return o;
}
}  // namespace

WorkerPool::WorkerPool(Options options) : options_(normalized(std::move(options))) {
  core_ = std::make_shared<Core>();
  core_->current.resize(options_.workers);
  threads_.reserve(options_.workers);
  for (size_t i = 0; i < options_.workers; ++i) {
    threads_.emplace_back(&WorkerPool::workerLoop, core_, i);
    std::string name = options_.thread_name + "-" + std::to_string(i);
    if (name.size() > 15) name = name.substr(name.size() - 15);
    pthread_setname_np(threads_.back().native_handle(), name.c_str());
  }
}

WorkerPool::~WorkerPool() {
  std::vector<bool> detach(threads_.size(), false);
  {
    std::unique_lock lock(core_->mu);
    core_->stopping = true;
    for (auto& c : core_->queue) c->abandoned = true;
    core_->queue.clear();
    core_->work_cv.notify_all();
    for (size_t i = 0; i < threads_.size(); ++i) {
      const auto& cur = core_->current[i];
      detach[i] = cur && cur->abandoned;
    }
  }
  for (size_t i = 0; i < threads_.size(); ++i) {
    if (detach[i]) {
      threads_[i].detach();
    } else {
      threads_[i].join();
    }
  }
}

size_t WorkerPool::stuckWorkers() const {
  std::lock_guard lock(core_->mu);
  return core_->stuck;
}

size_t WorkerPool::queuedCalls() const {
  std::lock_guard lock(core_->mu);
  return core_->queue.size();
}

size_t WorkerPool::busyWorkers() const {
  std::lock_guard lock(core_->mu);
  return core_->busy;
}

void WorkerPool::workerLoop(std::shared_ptr<Core> core, size_t index) {
  std::unique_lock lock(core->mu);
  for (;;) {
    core->work_cv.wait(lock, [&] { return core->stopping || !core->queue.empty(); });
    if (core->stopping) return;
    std::shared_ptr<Call> call = std::move(core->queue.front());
    core->queue.pop_front();
    if (call->abandoned) continue;
    call->started = true;
    core->current[index] = call;
    ++core->busy;
    lock.unlock();

    ProgressFn report = [core, call](uint64_t bytes) {
      std::lock_guard guard(core->mu);
      call->progress_bytes = bytes;
      call->progress_pending = true;
      call->cv.notify_all();
    };
    call->task(report);
    // Drop what the task captured on this thread, not on whichever thread
    // happens to release the last reference.
    std::function<void(const ProgressFn&)> finished = std::move(call->task);
    finished = nullptr;

    lock.lock();
    call->done = true;
    if (call->abandoned) --core->stuck;
    --core->busy;
    core->current[index] = nullptr;
    call->cv.notify_all();
    core->idle_cv.notify_all();
  }
}

Status WorkerPool::runErased(std::string what, std::chrono::milliseconds idle_deadline,
                             std::function<void(const ProgressFn&)> task,
                             const ProgressFn& progress) {
  auto call = std::make_shared<Call>();
  call->what = std::move(what);
  call->task = std::move(task);
  const size_t n = options_.workers;

  std::unique_lock lock(core_->mu);
  if (core_->stuck >= n) {
    return fail(ErrorCode::kOffline, "remote " + call->what + ": all " + std::to_string(n) +
                                         " remote workers are blocked on a hung mount");
  }
  if (core_->queue.size() >= options_.max_queued) {
    return fail(ErrorCode::kBusy, "remote " + call->what + ": " +
                                      std::to_string(core_->queue.size()) +
                                      " calls already wait for a remote worker");
  }
  core_->queue.push_back(call);
  core_->work_cv.notify_one();

  auto deadline = std::chrono::steady_clock::now() + idle_deadline;
  for (;;) {
    bool woke =
        call->cv.wait_until(lock, deadline, [&] { return call->done || call->progress_pending; });
    if (call->done) {
      if (call->progress_pending && progress) {
        call->progress_pending = false;
        uint64_t bytes = call->progress_bytes;
        lock.unlock();
        progress(bytes);
      }
      return {};
    }
    if (!woke) break;
    // Progress: hand it to the caller on its own thread, and push the deadline out.
    call->progress_pending = false;
    uint64_t bytes = call->progress_bytes;
    deadline = std::chrono::steady_clock::now() + idle_deadline;
    if (progress) {
      lock.unlock();
      progress(bytes);
      lock.lock();
    }
  }

  call->abandoned = true;
  const auto ms = std::to_string(idle_deadline.count());
  if (!call->started) {
    // Never reached a worker: take it out of the queue so it holds no place.
    for (auto it = core_->queue.begin(); it != core_->queue.end(); ++it) {
      if (*it == call) {
        core_->queue.erase(it);
        break;
      }
    }
    return fail(ErrorCode::kTimeout, "remote " + call->what + ": no remote worker free within " +
                                         ms + " ms (" + std::to_string(core_->stuck) + " of " +
                                         std::to_string(n) + " stuck on a hung mount)");
  }
  ++core_->stuck;
  return fail(ErrorCode::kTimeout, "remote " + call->what + ": no answer within " + ms +
                                       " ms; the mount looks hung (the call was abandoned)");
}

}  // namespace hoard::remote
