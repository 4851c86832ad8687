// SPDX-License-Identifier: MIT
#pragma once

// A ChangeSink that keeps (or only counts) what it is given, and lets another
// thread wait for it. For tests, benchmarks and the demo; part of the library
// so later layers' tests can use it too. Every method is thread-safe.

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>

#include "track/Tracker.h"

namespace hoard::track {

class CollectingSink : public ChangeSink {
 public:
  // keep = false only counts changes (for benchmarks: no copies kept).
  explicit CollectingSink(bool keep = true) : keep_(keep) {}

  // ChangeSink. recordChanges fails with the error given to failNext() while
  // that has calls left, keeping nothing of the failed call.
  Status recordChanges(const std::vector<Change>& changes) override;
  void rescanNeeded(const RelPath& subtree) override;

  // Makes the next `calls` recordChanges calls fail with `error`.
  void failNext(size_t calls, Error error);

  // Waits until at least `n` changes were recorded. Returns false on timeout.
  bool waitForCount(size_t n, std::chrono::milliseconds timeout);
  // Waits until `pred` holds for the recorded changes and rescan requests
  // (evaluated under the lock after every delivery). False on timeout.
  using Predicate =
      std::function<bool(const std::vector<Change>& changes, const std::vector<RelPath>& rescans)>;
  bool waitUntil(const Predicate& pred, std::chrono::milliseconds timeout);

  std::vector<Change> changes() const;
  std::vector<RelPath> rescans() const;
  size_t count() const;              // changes recorded
  size_t recordCalls() const;        // successful recordChanges calls
  size_t failedCalls() const;        // recordChanges calls that failed
  void clear();                      // forgets changes and rescans (counters stay)

 private:
  const bool keep_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Change> changes_;   // GUARDED_BY(mu_)
  std::vector<RelPath> rescans_;  // GUARDED_BY(mu_)
  size_t count_ = 0;              // GUARDED_BY(mu_)
  size_t calls_ = 0;              // GUARDED_BY(mu_)
  size_t failed_ = 0;             // GUARDED_BY(mu_)
  size_t fail_left_ = 0;          // GUARDED_BY(mu_)
  std::optional<Error> fail_error_;  // GUARDED_BY(mu_)
};

}  // namespace hoard::track
