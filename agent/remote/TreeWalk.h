// SPDX-License-Identifier: MIT
#pragma once

// Whole-tree operations made of bounded calls, many in flight at once.
//
// A walk of a share is one listing per directory and one stat per entry;
// the stale-temporary sweep is one listing (and the removal of the
// temporaries found there) per directory. Each of those is a call of its own
// on a WorkerPool under its own deadline, so no call depends on the size of
// the share to finish in time: a slow link makes a walk long, never "hung";
// a call that gets no answer for its deadline fails the whole operation with
// kTimeout within about that deadline (kOffline at once when every worker is
// already stuck on a hung mount). Up to `max_in_flight` calls run together,
// which hides the link's latency (sshfs multiplexes concurrent requests on
// one connection).
//
// Both need RemoteFs::openDir; where it is kUnsupported they return
// kUnsupported before doing anything, and the caller uses the single-call
// RemoteFs::walk / removeStaleTemps instead.

#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

#include "remote/RemoteFs.h"
#include "remote/WorkerPool.h"

namespace hoard::remote {

struct TreeWalkOptions {
  size_t max_in_flight = 32;
  // One directory's opening and listing (bounded by that directory's size).
  std::chrono::milliseconds list_deadline{30000};
  // One entry's stat.
  std::chrono::milliseconds stat_deadline{10000};
};

// Every entry beneath `top` with its Stat, exactly as RemoteFs::walk reports
// it: each directory's entries in bytewise name order, then each of its
// subdirectories' in name order (so parents before children), internal names
// hidden, symlinks never descended, entries that vanish mid-walk skipped.
Result<std::vector<WalkEntry>> parallelWalk(const std::shared_ptr<RemoteFs>& fs, WorkerPool& pool,
                                            const RelPath& top, const TreeWalkOptions& options);

// What RemoteFs::removeStaleTemps does: removes every `.hoard-tmp-*` that is
// not a directory beneath `top` (descending into every directory, hoard's
// own included) and returns how many were removed.
Result<uint64_t> parallelRemoveStaleTemps(const std::shared_ptr<RemoteFs>& fs, WorkerPool& pool,
                                          const RelPath& top, const TreeWalkOptions& options);

}  // namespace hoard::remote
