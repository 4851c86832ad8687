// SPDX-License-Identifier: MIT
#pragma once

// Lock annotations that clang's -Wthread-safety checks (after leveldb's
// port/thread_annotations.h and abseil's Mutex), and the one mutex type they
// speak of. Under gcc the macros are empty and Mutex is a std::mutex.
// libstdc++'s std::mutex and std::lock_guard carry no annotations, so a
// member that names its lock uses hoard::Mutex and hoard::MutexLock.
// scripts/check-thread-safety.sh (ctest label `lint`) compiles the annotated
// files with clang-16 -Werror=thread-safety.
//
//   Mutex mu_;
//   std::map<K, V> map_ HOARD_GUARDED_BY(mu_);
//   void dropLocked(const K& k) HOARD_REQUIRES(mu_);
//   ...
//   MutexLock lock(mu_);  // map_ may be used until the end of the scope

#include <chrono>
#include <condition_variable>
#include <mutex>

#if defined(__clang__)
#define HOARD_THREAD_ANNOTATION(x) __attribute__((x))
#else
#define HOARD_THREAD_ANNOTATION(x)
#endif

#define HOARD_CAPABILITY(x) HOARD_THREAD_ANNOTATION(capability(x))
#define HOARD_SCOPED_CAPABILITY HOARD_THREAD_ANNOTATION(scoped_lockable)
#define HOARD_GUARDED_BY(x) HOARD_THREAD_ANNOTATION(guarded_by(x))
#define HOARD_PT_GUARDED_BY(x) HOARD_THREAD_ANNOTATION(pt_guarded_by(x))
#define HOARD_REQUIRES(...) HOARD_THREAD_ANNOTATION(requires_capability(__VA_ARGS__))
#define HOARD_EXCLUDES(...) HOARD_THREAD_ANNOTATION(locks_excluded(__VA_ARGS__))
#define HOARD_ACQUIRE(...) HOARD_THREAD_ANNOTATION(acquire_capability(__VA_ARGS__))
#define HOARD_RELEASE(...) HOARD_THREAD_ANNOTATION(release_capability(__VA_ARGS__))
#define HOARD_TRY_ACQUIRE(...) HOARD_THREAD_ANNOTATION(try_acquire_capability(__VA_ARGS__))
#define HOARD_NO_THREAD_SAFETY_ANALYSIS HOARD_THREAD_ANNOTATION(no_thread_safety_analysis)

namespace hoard {

// A std::mutex the analysis knows as a capability.
class HOARD_CAPABILITY("mutex") Mutex {
 public:
  void lock() HOARD_ACQUIRE() { mu_.lock(); }
  void unlock() HOARD_RELEASE() { mu_.unlock(); }
  // Takes the lock if it is free: true if it did (and then holds it).
  bool tryLock() HOARD_TRY_ACQUIRE(true) { return mu_.try_lock(); }

 private:
  friend class CondVar;
  std::mutex mu_;
};

// Holds a Mutex for the scope (std::lock_guard, annotated). unlock() lets
// it go early and lock() takes it again (std::unique_lock's), for a call
// made without it in the middle of the scope.
class HOARD_SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex& mu) HOARD_ACQUIRE(mu) : mu_(mu) { mu_.lock(); }
  ~MutexLock() HOARD_RELEASE() {
    if (held_) mu_.unlock();
  }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

  void unlock() HOARD_RELEASE() {
    mu_.unlock();
    held_ = false;
  }
  void lock() HOARD_ACQUIRE() {
    mu_.lock();
    held_ = true;
  }

 private:
  Mutex& mu_;
  bool held_ = true;
};

// A condition variable over a Mutex the caller holds (a MutexLock in scope).
// wait() releases it while blocked and holds it again when it returns; the
// caller re-checks its condition in a loop, under the lock.
class CondVar {
 public:
  void wait(Mutex& mu) HOARD_REQUIRES(mu) {
    std::unique_lock<std::mutex> lock(mu.mu_, std::adopt_lock);
    cv_.wait(lock);
    lock.release();  // still held, by the caller's MutexLock
  }
  // As wait(), until `deadline` at the latest: false if it passed.
  template <class Clock, class Duration>
  bool waitUntil(Mutex& mu, const std::chrono::time_point<Clock, Duration>& deadline)
      HOARD_REQUIRES(mu) {
    std::unique_lock<std::mutex> lock(mu.mu_, std::adopt_lock);
    const bool woken = cv_.wait_until(lock, deadline) == std::cv_status::no_timeout;
    lock.release();
    return woken;
  }
  void notifyOne() { cv_.notify_one(); }
  void notifyAll() { cv_.notify_all(); }

 private:
  std::condition_variable cv_;
};

}  // namespace hoard
