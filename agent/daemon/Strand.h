// SPDX-License-Identifier: MIT
#pragma once

// One thread running posted tasks in order: where the daemon does work that
// may block (a resolution touching the remote, opening conflict versions), so
// the D-Bus loop never waits on it.

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace hoard::daemon {

class Strand {
 public:
  Strand();
  // Runs what was posted before, then joins.
  ~Strand();
  Strand(const Strand&) = delete;
  Strand& operator=(const Strand&) = delete;

  // Queues `task`; any thread. Tasks must not throw.
  void post(std::function<void()> task);

 private:
  void run();
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;  // GUARDED_BY(mu_)
  bool stopping_ = false;                    // GUARDED_BY(mu_)
  std::thread thread_;
};

}  // namespace hoard::daemon
