// SPDX-License-Identifier: MIT
#include "daemon/Strand.h"

#include <pthread.h>

#include "daemon/CatchLadder.h"

namespace hoard::daemon {

Strand::Strand(std::string name) : name_(std::move(name)), thread_([this] { run(); }) {}

Strand::~Strand() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void Strand::post(std::function<void()> task) {
  {
    std::lock_guard lock(mu_);
    tasks_.push_back(std::move(task));
  }
  cv_.notify_one();
}

void Strand::run() {
  {
    std::string n = name_.substr(0, 15);
    pthread_setname_np(pthread_self(), n.c_str());
  }
  for (;;) {
    std::function<void()> task;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !tasks_.empty(); });
      if (tasks_.empty()) return;  // stopping, and everything posted has run
      task = std::move(tasks_.front());
      tasks_.pop_front();
    }
    logged(name_ + " task", task);
  }
}

}  // namespace hoard::daemon
