// SPDX-License-Identifier: MIT
// The end of a pass: what it did committed, the replayed log dropped, the
// store's unreferenced objects collected.

#include "sync/Phases.h"

namespace hoard::sync {

Status finishPass(PassState& pass) {
  ShareSides& s = pass.s;
  if (Status flushed = pass.flush(); !flushed) return flushed;
  // The frozen records are reintegrated: the base now speaks for them (a path
  // that failed keeps its difference from the base, so the next pass retries
  // it without the record).
  std::lock_guard lock(s.journal_mu);
  if (Status dropped = s.journal.dropChangesThrough(s.share_id, pass.frozen); !dropped)
    return dropped;
  // Base content no row refers to any more.
  auto dead = s.journal.unreferencedObjects();
  if (dead) {
    std::vector<ContentHash> ids;
    for (const auto& o : *dead) ids.push_back(o.id);
    if (auto gc = s.store.collectGarbage(ids)) {
      for (const ContentHash& id : gc->removed) (void)s.journal.forgetObject(id);
    }
  }
  return {};
}

}  // namespace hoard::sync
