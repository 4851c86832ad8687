// SPDX-License-Identifier: MIT
#pragma once

// Nothing grows forever (issue 9, point 7): what the journal and the base
// store keep beyond the base itself, and when it goes.
//
//  * Snapshots: kept until every change made during their disconnection is
//    reintegrated, then dropped (Journal::dropReintegratedSnapshots has the
//    exact rule; this layer adds the condition the journal cannot see: the
//    pass ended with nothing failed and nothing stopped).
//  * Resolved conflicts and the store objects of their versions (base,
//    local, remote): kept for a retention period after their resolution
//    (default 30 days: the undo of a resolution needs them), then dropped.
//  * Store objects: removed once no base row, snapshot, open conflict or
//    retained resolved conflict refers to them (the journal's refcounts), and
//    store files the journal has no row for at all (left by a crash between
//    a put and its row) are swept. Both keep objects put within the last
//    `put_grace`: another share's pass may have put an object and not yet
//    committed the row naming it (see BaseStore.h, "Recently put objects").
//
// Threads: call with the journal's mutex held (the engine holds
// ShareSides::journal_mu), from the share's strand. The clock is the only
// source of "now" here, so tests move it instead of waiting.

#include <chrono>
#include <cstdint>

#include "common/Clock.h"
#include "common/Error.h"
#include "journal/Journal.h"
#include "store/BaseStore.h"

namespace hoard::sync {

// 30 days: the default of the config key resolved_retention_days.
inline constexpr std::chrono::seconds kDefaultResolvedRetention = std::chrono::hours(24 * 30);
// Objects put this recently are never collected (a day: far longer than any
// batch of a pass keeps an object waiting for its row).
inline constexpr std::chrono::seconds kDefaultPutGrace = std::chrono::hours(24);

struct RetentionOptions {
  std::chrono::seconds resolved_retention = kDefaultResolvedRetention;
  std::chrono::seconds put_grace = kDefaultPutGrace;
  // Also sweep store files the journal has no row for. It lists the whole
  // store, so it runs at most once per `sweep_interval` per store
  // (BaseStore::claimSweep), whichever share's pass comes first.
  bool sweep_unknown = true;
  std::chrono::seconds sweep_interval = std::chrono::hours(1);
};

struct RetentionReport {
  int64_t snapshots_dropped = 0;
  int64_t conflicts_dropped = 0;  // resolved conflicts past their retention
  uint64_t objects_removed = 0;   // unreferenced objects whose files went
  uint64_t unknown_removed = 0;   // files the journal did not know
  uint64_t bytes_freed = 0;
};

// After a pass of share `share_id`: drops the share's reintegrated snapshots
// (only if `pass_clean`: the pass ended with nothing failed and not
// stopped), drops its conflicts resolved before clock.wallNow() -
// resolved_retention, then collects the store (all shares' garbage: the
// store is shared). Errors: the journal's or the store's; what was done
// before the error stays done (each step is its own transaction).
Result<RetentionReport> applyRetention(journal::Journal& journal, store::BaseStore& store,
                                       int64_t share_id, bool pass_clean, const Clock& clock,
                                       const RetentionOptions& options = {});

// Removes the store objects the journal counts as unreferenced (refcount 0)
// and forgets their rows, keeping those put at or after
// clock.wallNow() - put_grace. Adds to `report`.
Status collectUnreferenced(journal::Journal& journal, store::BaseStore& store, const Clock& clock,
                           std::chrono::seconds put_grace, RetentionReport& report);

// Removes the store files the journal has no object row for, keeping those
// put at or after clock.wallNow() - put_grace. Adds to `report`.
Status sweepUnknownObjects(journal::Journal& journal, store::BaseStore& store, const Clock& clock,
                           std::chrono::seconds put_grace, RetentionReport& report);

// The base store's size for `hoard status`: objects held and their bytes
// (the store's running totals; they follow every put and removal). Any
// thread; does no I/O.
store::StoreUsage storeSize(const store::BaseStore& store);

}  // namespace hoard::sync
