// SPDX-License-Identifier: MIT
#pragma once

// Applying a decision to a file-level conflict (see ApplyDecision.cc and
// Reconciler::apply). Internal to agent/sync.

#include <optional>
#include <string>

#include "sync/ConflictDetail.h"
#include "sync/PassState.h"

namespace hoard::sync {

// The intent op of an apply ("resolve-keep-local", ...) and back.
std::string applyIntentOp(Resolution kind);
std::optional<Resolution> resolutionOfIntent(std::string_view op);

// One side at and beneath `p`, as it is now, into `side` (Resolve.cc).
Status loadSide(remote::RemoteFs& fs, StatMap& side, const RelPath& p);

// Finishes (or drops) an apply a crash cut short, from its intent `i`
// (Recover.cc): once the remote holds the result, the cache is brought to it
// and the conflict closed; before that, the intent is dropped and the
// conflict stays open as detected.
Status finishApply(ShareSides& s, const journal::Intent& i, Resolution kind);

// A merge with conflict markers into the cache only; the conflict stays
// open, merging (ApplyMarkers.cc). kConflict if the cache's file is not the
// one the conflict recorded.
Status applyMarkers(PassState& pass, const journal::ConflictRecord& c, const ConflictDetail& d,
                    const ConflictDecision& decision);
// Before a keep-local of a merging conflict: `d.local` becomes what the
// cache holds now (kept in the store), so the apply pushes the user's edit
// of the merge. kBusy naming the line if it still holds conflict markers
// and !force (ApplyMarkers.cc).
Status acceptMergeEdit(PassState& pass, const journal::ConflictRecord& c, ConflictDetail& d,
                       bool force);

struct FileApply {
  // Bytes one name ends with on both sides.
  struct Bytes {
    UniqueFd fd;  // read with pread from offset 0
    ContentHash hash;
    std::optional<ContentHash> object;  // kept in the store (recover() reads it)
    uint32_t mode = 0644;
    std::optional<int64_t> mtime_ns;
  };

  PassState& pass;  // holds the listing of both sides at the path
  const journal::ConflictRecord& c;
  const ConflictDetail& d;
  ConflictDecision decision;
  std::optional<Bytes> result;       // at the path afterwards; none: absent on both sides
  std::optional<Bytes> stash_bytes;  // stash: the cache's bytes under `stash`
  RelPath stash;                     // stash: the conflict name (chosen by prepare if empty)

  // Each side is as detected (or, when resuming, already as decided); else
  // kConflict naming the side.
  Status check(bool resuming);
  // Stages the result (and the stash copy) and keeps them in the store.
  Status prepare();
  // Records the intent of this apply.
  Result<int64_t> intend();
  // The remote, then the cache, then the base and the resolution.
  Status run(std::optional<int64_t> intent);

 private:
  Result<bool> asSeen(bool local_side);
  Result<const remote::Stat*> entry(bool on_remote, const RelPath& q);
  Result<bool> holds(remote::RemoteFs& fs, const RelPath& q, const std::optional<ContentHash>& want);
  Status place(bool on_remote, const RelPath& q, const std::optional<Bytes>& b);
  Status copyAll(int from, int to);
};

}  // namespace hoard::sync
