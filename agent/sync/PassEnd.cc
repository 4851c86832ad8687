// SPDX-License-Identifier: MIT
// The end of a pass: what it did committed, the replayed log dropped, the
// store's unreferenced objects collected.

#include "common/Clock.h"
#include "sync/Phases.h"
#include "sync/Retention.h"

namespace hoard::sync {

Status finishPass(PassState& pass) {
  ShareSides& s = pass.s;
  if (Status flushed = pass.flush(); !flushed) return flushed;
  // The frozen records are reintegrated: the base now speaks for them (a path
  // that failed keeps its difference from the base, so the next pass retries
  // it without the record).
  MutexLock lock(s.journal_mu);
  if (Status dropped = s.journal.dropChangesThrough(s.share_id, pass.frozen); !dropped)
    return dropped;
  // Snapshots, resolved conflicts past their retention, store objects no
  // row refers to any more (Retention.h). Best effort: what it keeps now
  // the next pass collects.
  RetentionOptions retention;
  retention.resolved_retention = pass.opts.resolved_retention;
  (void)applyRetention(s.journal, s.store, s.share_id,
                       // (a write-back pass did not look at everything)
                       !pass.scoped && !pass.report.stopped && pass.report.failed.empty(),
                       SystemClock::instance(), retention);
  return {};
}

}  // namespace hoard::sync
