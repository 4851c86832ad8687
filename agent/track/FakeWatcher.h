// SPDX-License-Identifier: MIT
#pragma once

// A Watcher without a kernel, for tests of every layer above the watcher: the
// test pushes batches of events (overflows and lost watches included), the
// consumer reads them back in order. It lives in the hoard_track library, not
// under tests/, so later layers' unit tests can use it too.

#include <mutex>
#include <optional>

#include "track/FedWatcher.h"

namespace hoard::track {

// Queue, exclude filter and batches: FedWatcher's, one pushed batch per
// readEvents(); on top, errors on demand and event builders.
class FakeWatcher : public FedWatcher {
 public:
  FakeWatcher();

  // start() fails with the error set by failNextStart(), if any.
  Status start(const std::string& root, const WatchOptions& options) override;

  // Makes the next start() / readEvents() fail with `error`. Any thread.
  void failNextStart(Error error);
  void failNextRead(Error error) { injectReadError(std::move(error)); }

  // What the test may set (1 at first). Any thread.
  void setWatchCount(size_t n) { setWatchCountForTest(n); }

  // Event builders, so tests read like the kernel's story.
  static WatchEvent created(RelPath path, FileType type, uint32_t mode = 0644,
                            std::string target = {});
  static WatchEvent modified(RelPath path);
  static WatchEvent attrib(RelPath path, FileType type, uint32_t mode);
  static WatchEvent deleted(RelPath path, bool is_dir = false);
  static WatchEvent movedFrom(RelPath path, uint32_t cookie, bool is_dir = false);
  static WatchEvent movedTo(RelPath path, uint32_t cookie, FileType type = FileType::kFile,
                            uint32_t mode = 0644);
  static WatchEvent overflow();
  static WatchEvent watchLost(RelPath subtree);

 private:
  std::mutex start_mu_;
  std::optional<Error> start_error_;  // GUARDED_BY(start_mu_)
};

}  // namespace hoard::track
