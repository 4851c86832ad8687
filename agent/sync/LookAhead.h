// SPDX-License-Identifier: MIT
#pragma once

// Looking at both sides of a path against the base, as the plan does for
// each path in order (Plan.cc), and doing it ahead for many paths at once.
//
// The plan decides path by path on the pass's thread. Most paths need no
// more than the listings; a path whose metadata moved needs the cache file's
// hash, and where both sides moved, the remote file's too: a fetch, which
// on a network filesystem is several round trips. Read one after the other,
// a pass over N changed files costs N times those round trips. lookAhead
// reads the hashes the plan will ask for first, many at once, into the
// pass's memos (PassState::hashLocal / hashRemote), so the plan then finds
// them there. It decides nothing: the plan still looks at every path itself
// and reads, one at a time, any hash lookAhead did not foresee. Every
// remote call keeps its deadline (the pass's RemoteFs is deadline-wrapped);
// what a read fails with is kept and given to the plan instead of a second
// read.
//
// Internal to agent/sync. The pass's thread.

#include "sync/PassState.h"

namespace hoard::sync {

// Fills `st` for `p`: both sides' versions and what changed since the base
// `b` (null: not in the base), hashes read only where metadata cannot
// decide. Errors: a side's, reading a hash.
Status lookBothSides(PassState& pass, const RelPath& p, const BaseEntry* b, PathState& st);

// Reads the hashes lookBothSides will need for the pass's paths, up to
// ReconcileOptions::remote_in_flight at once (cache files up to
// transfer_threads), into the pass's memos. Stops reading early once a
// remote read fails in a way that ends the pass (stopsPass) or a stop is
// requested; the plan then meets that error itself.
void lookAhead(PassState& pass);

}  // namespace hoard::sync
