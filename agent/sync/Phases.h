// SPDX-License-Identifier: MIT
#pragma once

// The phases of one reintegration pass, in the order Reconciler::run calls
// them, each in the file named for it. They share one PassState. Each returns
// true to go on and false when the pass stopped early (report.stopped says
// why: the remote went away, a mass deletion waits, a stop was requested);
// an error is the journal's or the cache root's and ends the pass too.
//
// Internal to agent/sync.

#include "sync/PassState.h"

namespace hoard::sync {

// The remote is the share's filesystem (identity, marker) and is pinned there.
Result<bool> checkRemote(PassState& pass);                 // Listing.cc
// Replaces an earlier pass gave up on that have landed since are adopted.
Result<bool> settleIntents(PassState& pass);               // Recover.cc
// Both sides listed (in parallel) while the journal is read: log, base,
// open conflicts (held), pins.
Result<bool> listSides(PassState& pass);                   // Listing.cc
// A write-back pass's listing (ReconcileOptions::write_back_only): the
// logged paths, what lies beneath them, the directories leading to them, on
// both sides and in the base; sets pass.scoped. False (nothing listed) when
// the log cannot scope the pass and everything must be listed.
Result<bool> listWriteBackScope(PassState& pass);          // WriteBackScope.cc
// Listing.cc's parts that listWriteBackScope shares: a side's walk added
// to its map (unreadable directories held and failed).
void addListing(PassState& pass, std::vector<remote::WalkEntry>& walked, bool is_local);
// Logged renames replayed on the remote as renames.
Result<bool> replayRenames(PassState& pass);               // RenameReplay.cc
// Every path classified three-way into pass.plan and pass.hoards; stops
// before a mass deletion that is not confirmed.
Result<bool> planPaths(PassState& pass);                   // Plan.cc
// The plan carried out: pushes (file pushes batched), pulls, agreements,
// conflicts; directory removals last, deepest first.
Result<bool> applyPlan(PassState& pass);                   // ApplyPlan.cc
// New pinned remote files fetched, highest priority first, within the budget.
Result<bool> hoardWalk(PassState& pass);                   // HoardWalk.cc
// The last batch committed, the replayed log records dropped, unreferenced
// store objects collected.
Status finishPass(PassState& pass);                        // PassEnd.cc

// An on-demand share's listing (taken before the pass changed the remote)
// brought up to date for pass.remote_changed, from what the pass knows of
// the remote now; stopped or not. Nothing for other shares.
Status patchListing(PassState& pass);                      // Listing.cc

// True once ReconcileOptions::stop was set; then report.stopped says so.
bool stopRequested(PassState& pass);                       // Listing.cc

}  // namespace hoard::sync
