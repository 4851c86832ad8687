// SPDX-License-Identifier: MIT
#include "daemon/Strand.h"

#include <pthread.h>

#include "daemon/CatchLadder.h"

namespace hoard::daemon {

Strand::Strand(std::string name) : name_(std::move(name)), thread_([this] { run(); }) {}

Strand::~Strand() {
  {
    MutexLock lock(mu_);
    stopping_ = true;
  }
  cv_.notifyAll();
  thread_.join();
}

void Strand::post(std::function<void()> task) {
  {
    MutexLock lock(mu_);
    tasks_.push_back(std::move(task));
  }
  cv_.notifyOne();
}

void Strand::run() {
  {
    std::string n = name_.substr(0, 15);
    pthread_setname_np(pthread_self(), n.c_str());
  }
  for (;;) {
    std::function<void()> task;
    {
      MutexLock lock(mu_);
      while (!stopping_ && tasks_.empty()) cv_.wait(mu_);
      if (tasks_.empty()) return;  // stopping, and everything posted has run
      task = std::move(tasks_.front());
      tasks_.pop_front();
    }
    logged(name_ + " task", task);
  }
}

}  // namespace hoard::daemon
