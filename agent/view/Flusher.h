// SPDX-License-Identifier: MIT
#pragma once

// Makes fetched blocks durable off the readers' path: a reader that stored
// enough blocks (BlockFile::flushDue) posts the file here, and one thread
// of the view's own runs its flush() (an fdatasync of the local disk, which
// costs a reader that waited for it the disk's speed instead of the
// remote's). Until then the blocks are present for readers but not marked
// on disk, so a crash only costs fetching them again. Internal to hoard_view.
//
// Threads: post() from any thread; the destructor flushes what is queued,
// then joins (local disk only: it never waits on the network).

#include <deque>
#include <memory>
#include <thread>

#include "common/ThreadAnnotations.h"
#include "view/BlockFile.h"

namespace hoard::view {

class Flusher {
 public:
  Flusher();
  ~Flusher();
  Flusher(const Flusher&) = delete;
  Flusher& operator=(const Flusher&) = delete;

  // Queues a flush of `bf` (once: a file already queued is not queued again).
  void post(std::shared_ptr<BlockFile> bf) HOARD_EXCLUDES(mu_);

 private:
  void run() HOARD_EXCLUDES(mu_);

  Mutex mu_;
  CondVar cv_;
  std::deque<std::shared_ptr<BlockFile>> queue_ HOARD_GUARDED_BY(mu_);
  bool stopping_ HOARD_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace hoard::view
