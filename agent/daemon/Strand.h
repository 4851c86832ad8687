// SPDX-License-Identifier: MIT
#pragma once

// One thread running posted tasks in order: where the daemon does work that
// may block (a pass, a resolution touching the remote, adding a share), so
// the D-Bus loop never waits on it.

#include <deque>
#include <functional>
#include <string>
#include <thread>

#include "common/ThreadAnnotations.h"

namespace hoard::daemon {

class Strand {
 public:
  // `name` names the thread (cut to 15 bytes).
  explicit Strand(std::string name = "hoard-strand");
  // Runs what was posted before, then joins.
  ~Strand();
  Strand(const Strand&) = delete;
  Strand& operator=(const Strand&) = delete;

  // Queues `task`; any thread. A task that throws is logged (the catch
  // ladder's last rung); tasks should reply or report their own errors.
  void post(std::function<void()> task);

 private:
  void run();
  std::string name_;
  Mutex mu_;
  CondVar cv_;
  std::deque<std::function<void()>> tasks_ HOARD_GUARDED_BY(mu_);
  bool stopping_ HOARD_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace hoard::daemon
