// SPDX-License-Identifier: MIT
#pragma once

// hoard-prompt's one thread of logic: every piece of the prompt's state is
// touched only by tasks run here, in the order posted (or when their time
// comes), so none of it needs a lock. The D-Bus loop thread only posts.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <thread>
#include <utility>

namespace hoard::prompt {

class Worker {
 public:
  using Clock = std::chrono::steady_clock;
  Worker();
  ~Worker();  // stop()

  // Lets the task under way finish, drops the others and joins; later posts
  // are ignored. Any thread but the worker's own may call it, more than once.
  void stop();

  // Runs `task` on the worker thread, after the tasks posted before it. Any
  // thread may call it (a no-op once stopped). A task that throws is reported on stderr and the
  // worker goes on.
  void post(std::function<void()> task);
  // Runs `task` once `delay` has passed.
  void postAfter(std::chrono::milliseconds delay, std::function<void()> task);

 private:
  void run();

  std::mutex mu_;
  std::condition_variable cv_;
  // GUARDED_BY(mu_): by due time, then by posting order.
  std::map<std::pair<Clock::time_point, uint64_t>, std::function<void()>> tasks_;
  uint64_t seq_ = 0;     // GUARDED_BY(mu_)
  bool stop_ = false;    // GUARDED_BY(mu_)
  std::thread thread_;
};

}  // namespace hoard::prompt
