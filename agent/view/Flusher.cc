// SPDX-License-Identifier: MIT
#include "view/Flusher.h"

#include <pthread.h>

#include <algorithm>

namespace hoard::view {

Flusher::Flusher() : thread_([this] { run(); }) {}

Flusher::~Flusher() {
  {
    MutexLock lock(mu_);
    stopping_ = true;
    cv_.notifyAll();
  }
  thread_.join();
}

void Flusher::post(std::shared_ptr<BlockFile> bf) {
  MutexLock lock(mu_);
  if (std::find(queue_.begin(), queue_.end(), bf) != queue_.end()) return;
  queue_.push_back(std::move(bf));
  cv_.notifyAll();
}

void Flusher::run() {
  ::pthread_setname_np(::pthread_self(), "hoard-flush");
  MutexLock lock(mu_);
  for (;;) {
    while (queue_.empty() && !stopping_) cv_.wait(mu_);
    if (queue_.empty()) return;  // stopping, nothing left
    std::shared_ptr<BlockFile> bf = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    // A failure leaves the blocks to fetch again after a crash, nothing worse.
    (void)bf->flush();
    bf.reset();
    lock.lock();
  }
}

}  // namespace hoard::view
