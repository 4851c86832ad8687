// SPDX-License-Identifier: MIT
// Cache entries a pass wrote whose base rows are not committed yet.
//
// A pass commits base rows in batches (one transaction and one syncfs per
// batch, not several fsyncs per file). Until a batch is committed, the events
// inotify reports for the files the pass put into the cache would look like
// the user's own edits to the recorder, which recognises hoard's writes by
// comparing with the base. The pass lists them here; the recorder treats an
// event whose entry is, right now, exactly what is listed as hoard's own.
//
// Threads: guarded by the share's journal mutex (ShareSides::journal_mu),
// which both the Reconciler and the LocalRecorder hold when they touch it.
#pragma once

#include <map>

#include "common/FileMeta.h"
#include "common/RelPath.h"

namespace hoard::sync {

struct OwnWrites {
  std::map<RelPath, FileMeta> pending;  // what the pass wrote, as it stat'ed it
};

}  // namespace hoard::sync
