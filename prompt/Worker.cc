// SPDX-License-Identifier: MIT
#include "prompt/Worker.h"

#include <exception>
#include <iostream>

namespace hoard::prompt {

Worker::Worker() : thread_([this] { run(); }) {}

Worker::~Worker() { stop(); }

void Worker::stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
    tasks_.clear();
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Worker::post(std::function<void()> task) { postAfter(std::chrono::milliseconds(0), std::move(task)); }

void Worker::postAfter(std::chrono::milliseconds delay, std::function<void()> task) {
  {
    std::lock_guard lock(mu_);
    if (stop_) return;
    tasks_.emplace(std::pair{Clock::now() + delay, seq_++}, std::move(task));
  }
  cv_.notify_all();
}

void Worker::run() {
  std::unique_lock lock(mu_);
  while (!stop_) {
    if (tasks_.empty()) {
      cv_.wait(lock);
      continue;
    }
    auto due = tasks_.begin()->first.first;
    if (Clock::now() < due) {
      cv_.wait_until(lock, due);
      continue;
    }
    auto task = std::move(tasks_.begin()->second);
    tasks_.erase(tasks_.begin());
    lock.unlock();
    try {
      task();
    } catch (const std::exception& e) {
      std::cerr << "hoard-prompt: " << e.what() << "\n";
    }
    lock.lock();
  }
}

}  // namespace hoard::prompt
