// SPDX-License-Identifier: MIT
// Cache entries a pass wrote whose base rows are not committed yet.
//
// A pass commits base rows in batches (one transaction and one syncfs per
// batch, not several fsyncs per file). Until a batch is committed, the events
// inotify reports for the files the pass put into the cache would look like
// the user's own edits to the recorder, which recognises hoard's writes by
// comparing with the base. The pass lists a path before it writes there (no
// metadata yet: in flight) and its metadata once written; the recorder treats
// an event for an in-flight path, or for one that is, right now, exactly what
// is listed, as hoard's own. What the user did to such a path meanwhile is not
// lost: before the batch commits, the pass compares each listed path with what
// it wrote and logs the difference itself.
//
// Threads: guarded by the share's journal mutex (ShareSides::journal_mu),
// which both the Reconciler and the LocalRecorder hold when they touch it.
#pragma once

#include <map>
#include <optional>
#include <set>

#include "common/FileMeta.h"
#include "common/RelPath.h"

namespace hoard::sync {

struct OwnWrites {
  // What the pass wrote, as it stat'ed it; nullopt while being written.
  std::map<RelPath, std::optional<FileMeta>> pending;
  // Paths `hoard evict` removed from the cache: the deletion the recorder
  // then sees for one (still absent) is hoard's, not the user's, and is not
  // logged (else it would count as a change not yet written back until the
  // next pass). Each is taken out by its event, or by a rescan.
  std::set<RelPath> evicted;
};

}  // namespace hoard::sync
