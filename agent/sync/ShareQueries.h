// SPDX-License-Identifier: MIT
#pragma once

// The questions clients ask about shares, answered from the journal: counts
// for a status, which open conflicts a filter picks, which share a local path
// lies in, which pins the cache budget left unfetched. The daemon's bus
// adaptor only translates these answers (dbus/ holds no logic).
//
// Threads: any; each call takes `journal_mu` for its journal reads and does
// no remote I/O.

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/Error.h"
#include "common/RelPath.h"
#include "common/ThreadAnnotations.h"
#include "journal/Journal.h"

namespace hoard::sync {

struct ShareCounts {
  int64_t pending_changes = 0;  // rows in the change log
  size_t open_conflicts = 0;
  uint64_t hoarded_bytes = 0;   // bytes of the files the base knows in the cache
};

// Errors: the journal's.
Result<ShareCounts> shareCounts(journal::Journal& journal, Mutex& journal_mu, int64_t share_id);

// Open conflicts over all shares. Errors: the journal's.
Result<size_t> openConflictCount(journal::Journal& journal, Mutex& journal_mu);

// Which open conflicts a bulk resolution picks: every given field must match.
struct ConflictFilter {
  std::optional<std::string> glob;  // resolvers::globMatch over the share-relative path
  std::optional<RelPath> under;     // the subtree (the root "" picks every path)
  std::optional<journal::ConflictKind> kind;

  bool empty() const { return !glob && !under && !kind; }
  bool matches(const journal::ConflictRecord& c) const;
};

// Builds a filter from what a client sent. `under` may end in '/' ("docs/"
// means "docs"); it must then be a valid RelPath (no "..", no empty or "."
// component, no leading '/'). `kind` is a design.md kind name. Errors:
// kInvalidArgument naming the field and the value.
Result<ConflictFilter> conflictFilter(const std::optional<std::string>& glob,
                                      const std::optional<std::string>& under,
                                      const std::optional<std::string>& kind);

// The ids of the share's open conflicts that `filter` picks, oldest first.
// Errors: the journal's.
Result<std::vector<int64_t>> matchingConflicts(journal::Journal& journal, Mutex& journal_mu,
                                               int64_t share_id, const ConflictFilter& filter);

// The share whose cache root holds `local_path` (absolute, normalised, no
// trailing '/'), and the path relative to that root ("" for the root itself).
struct LocalPathInShare {
  std::string share;
  RelPath path;
};
// Errors: kOutsideRoot (inside no share's cache root, the message names the
// path), the journal's.
Result<LocalPathInShare> shareOfLocalPath(journal::Journal& journal, Mutex& journal_mu,
                                          const std::string& local_path);

// False if some path the cache budget left out (`not_hoarded`) lies beneath `pin`.
bool pinFullyHoarded(const RelPath& pin, const std::vector<RelPath>& not_hoarded);

}  // namespace hoard::sync
