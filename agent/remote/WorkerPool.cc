// SPDX-License-Identifier: MIT
#include "remote/WorkerPool.h"

#include <pthread.h>

namespace hoard::remote {

// One call handed to the pool. The flags and the progress are guarded by
// the Core's mu, which HOARD_GUARDED_BY cannot name from here (it names a
// lock of the same object, and a Call does not know its Core); `cv` waits
// on that mu.
struct WorkerPool::Call {
  std::string what;
  std::function<void(const ProgressFn&)> task;
  CondVar cv;
  bool started = false;
  bool done = false;
  bool abandoned = false;  // the caller stopped waiting
  bool progress_pending = false;
  uint64_t progress_bytes = 0;
  // The caller's progress function said stop: the task's next progress
  // report returns false.
  bool cancelled = false;
  // Batch calls only: where the worker reports the finish, the tag, and when
  // the call's deadline passes.
  std::shared_ptr<Batch::State> batch;
  uint64_t tag = 0;
  std::chrono::steady_clock::time_point deadline;
  std::chrono::milliseconds idle_deadline{0};
};

// Finished calls of one batch, in the order they finished; guarded by the
// Core's mu (as a Call's fields), which `cv` waits on.
struct WorkerPool::Batch::State {
  CondVar cv;
  std::deque<uint64_t> finished;
};

// State shared by the pool object and its threads; outlives the pool while a
// detached (stuck) worker still runs.
struct WorkerPool::Core {
  Mutex mu;
  CondVar work_cv;  // a call was queued, or stopping
  CondVar idle_cv;  // a worker finished a call
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
    MutexLock lock(core_->mu);
    core_->stopping = true;
    for (auto& c : core_->queue) c->abandoned = true;
    core_->queue.clear();
    core_->work_cv.notifyAll();
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
  MutexLock lock(core_->mu);
  return core_->stuck;
}

size_t WorkerPool::queuedCalls() const {
  MutexLock lock(core_->mu);
  return core_->queue.size();
}

size_t WorkerPool::busyWorkers() const {
  MutexLock lock(core_->mu);
  return core_->busy;
}

void WorkerPool::workerLoop(std::shared_ptr<Core> core, size_t index) {
  MutexLock lock(core->mu);
  for (;;) {
    while (!core->stopping && core->queue.empty()) core->work_cv.wait(core->mu);
    if (core->stopping) return;
    std::shared_ptr<Call> call = std::move(core->queue.front());
    core->queue.pop_front();
    if (call->abandoned) continue;
    call->started = true;
    core->current[index] = call;
    ++core->busy;
    lock.unlock();

    ProgressFn report = [core, call](uint64_t bytes) {
      MutexLock guard(core->mu);
      call->progress_bytes = bytes;
      call->progress_pending = true;
      call->cv.notifyAll();
      return !call->cancelled;
    };
    call->task(report);
    // Drop what the task captured on this thread, not on whichever thread
    // happens to release the last reference.
    std::function<void(const ProgressFn&)> finished = std::move(call->task);
    finished = nullptr;

    lock.lock();
    call->done = true;
    if (call->abandoned) --core->stuck;
    if (call->batch && !call->abandoned) {
      call->batch->finished.push_back(call->tag);
      call->batch->cv.notifyAll();
    }
    --core->busy;
    core->current[index] = nullptr;
    call->cv.notifyAll();
    core->idle_cv.notifyAll();
  }
}

Status WorkerPool::runErased(std::string what, std::chrono::milliseconds idle_deadline,
                             std::function<void(const ProgressFn&)> task,
                             const ProgressFn& progress) {
  auto call = std::make_shared<Call>();
  call->what = std::move(what);
  call->task = std::move(task);
  const size_t n = options_.workers;

  MutexLock lock(core_->mu);
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
  core_->work_cv.notifyOne();

  auto deadline = std::chrono::steady_clock::now() + idle_deadline;
  for (;;) {
    while (!call->done && !call->progress_pending && call->cv.waitUntil(core_->mu, deadline)) {
    }
    const bool woke = call->done || call->progress_pending;
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
      const bool go_on = progress(bytes);
      lock.lock();
      if (!go_on) call->cancelled = true;
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

WorkerPool::Batch::Batch(WorkerPool& pool) : pool_(pool), state_(std::make_shared<State>()) {}

WorkerPool::Batch::~Batch() {
  auto& core = *pool_.core_;
  MutexLock lock(core.mu);
  for (auto& call : in_flight_) {
    if (call->done || call->abandoned) continue;
    call->abandoned = true;
    if (call->started) {
      ++core.stuck;
    } else {
      for (auto it = core.queue.begin(); it != core.queue.end(); ++it) {
        if (*it == call) {
          core.queue.erase(it);
          break;
        }
      }
    }
  }
}

Status WorkerPool::Batch::post(uint64_t tag, std::string what, std::chrono::milliseconds deadline,
                               std::function<void()> task) {
  auto call = std::make_shared<Call>();
  call->what = std::move(what);
  call->task = [task = std::move(task)](const ProgressFn&) {
    try {
      task();
    } catch (...) {
      // The task records its own outcome; one that throws has recorded none,
      // which its owner reads as a failure.
    }
  };
  call->batch = state_;
  call->tag = tag;
  call->idle_deadline = deadline;
  auto& core = *pool_.core_;
  const size_t n = pool_.options_.workers;
  MutexLock lock(core.mu);
  if (core.stuck >= n) {
    return fail(ErrorCode::kOffline, "remote " + call->what + ": all " + std::to_string(n) +
                                         " remote workers are blocked on a hung mount");
  }
  if (core.queue.size() >= pool_.options_.max_queued) {
    return fail(ErrorCode::kBusy, "remote " + call->what + ": " +
                                      std::to_string(core.queue.size()) +
                                      " calls already wait for a remote worker");
  }
  call->deadline = std::chrono::steady_clock::now() + deadline;
  core.queue.push_back(call);
  core.work_cv.notifyOne();
  in_flight_.push_back(std::move(call));
  return {};
}

Result<uint64_t> WorkerPool::Batch::next() {
  if (in_flight_.empty()) return fail(ErrorCode::kInternal, "remote batch: nothing in flight");
  auto& core = *pool_.core_;
  MutexLock lock(core.mu);
  for (;;) {
    if (!state_->finished.empty()) {
      uint64_t tag = state_->finished.front();
      state_->finished.pop_front();
      for (auto it = in_flight_.begin(); it != in_flight_.end(); ++it) {
        if ((*it)->tag == tag && (*it)->done) {
          in_flight_.erase(it);
          break;
        }
      }
      return tag;
    }
    auto first = in_flight_.begin();
    for (auto it = in_flight_.begin(); it != in_flight_.end(); ++it) {
      if ((*it)->deadline < (*first)->deadline) first = it;
    }
    std::shared_ptr<Call> call = *first;
    while (state_->finished.empty() && state_->cv.waitUntil(core.mu, call->deadline)) {
    }
    if (!state_->finished.empty()) continue;
    if (call->done) continue;  // finished right at its deadline: reported above next round
    call->abandoned = true;
    in_flight_.erase(first);
    const auto ms = std::to_string(call->idle_deadline.count());
    const size_t n = pool_.options_.workers;
    if (!call->started) {
      for (auto it = core.queue.begin(); it != core.queue.end(); ++it) {
        if (*it == call) {
          core.queue.erase(it);
          break;
        }
      }
      return fail(ErrorCode::kTimeout, "remote " + call->what + ": no remote worker free within " +
                                           ms + " ms (" + std::to_string(core.stuck) + " of " +
                                           std::to_string(n) + " stuck on a hung mount)");
    }
    ++core.stuck;
    return fail(ErrorCode::kTimeout, "remote " + call->what + ": no answer within " + ms +
                                         " ms; the mount looks hung (the call was abandoned)");
  }
}

}  // namespace hoard::remote
