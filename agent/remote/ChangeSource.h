// SPDX-License-Identifier: MIT
#pragma once

// Where a pass learns what the remote holds now: the seam for filesystems
// that can say themselves what changed.
//
// A POSIX mount tells nobody what a colleague changed, so every pass walks
// the whole remote tree (RemoteFs::walk: a listing per directory and a stat
// per entry, many in flight, each under its deadline) and compares it with
// the base. That is the default, WalkChangeSource, and the only source today.
// Some filesystems can report changes: SMB2 CHANGE_NOTIFY (a watch on a
// directory tree that completes with the names changed beneath it), AFS
// callbacks (the file server breaks its promise on a file when someone
// changes it), NFSv4.1 directory delegations (recalled on a change), or a
// lister running next to the data that keeps a journal of its own. A backend
// for one of them implements changes() to answer with only what changed
// since the cursor of its previous answer, and a pass over a big, quiet share
// then costs a few calls instead of a walk.
//
// The contract, which keeps design.md's "an absent remote is not an empty
// remote":
//  - An answer is either complete (every entry beneath the root, exactly as
//    RemoteFs::walk reports them) or, when `since` is the cursor of an
//    earlier answer of the same source, the entries changed since then
//    (created, modified, type or mode changed: each with its Stat now) and
//    the paths gone. A gone path is one the filesystem reported removed,
//    never one the source merely did not hear about.
//  - A source that lost track (its notifications overflowed, a callback was
//    broken for a whole volume, the link dropped, the cursor is unknown or
//    from another server) answers complete: when in doubt, walk.
//  - The cursor is opaque bytes, compared only for equality, kept by the
//    engine for the next pass; an empty cursor means "none".
//  - Every call a source makes to the remote is bounded like a RemoteFs
//    call (a deadline, kTimeout / kOffline as DeadlineRemoteFs gives them);
//    its errors end the pass as the listing's do.
//
// The engine (agent/sync Listing.cc) takes complete answers. Taking a delta
// needs the remote listing of the previous pass to apply it to, which hoard
// does not keep yet (the base records the remote's data version per path,
// not its whole Stat): a backend that answers with deltas adds that copy to
// the journal together with the code applying it; until then the engine asks
// for a complete answer (since = nullopt). Threads: one pass at a time calls
// a source; implementations need not be reentrant.

#include <optional>
#include <string>
#include <vector>

#include "common/Error.h"
#include "common/RelPath.h"
#include "remote/RemoteFs.h"

namespace hoard::remote {

struct RemoteChanges {
  bool complete = true;            // `entries` is everything beneath the root
  std::vector<WalkEntry> entries;  // parents before children
  std::vector<RelPath> gone;       // deltas only: reported removed since the cursor
  std::string cursor;              // give it back as `since` next time (empty: none)
};

class ChangeSource {
 public:
  virtual ~ChangeSource() = default;

  // What the remote holds (complete), or what changed since `since` (see
  // above). Errors: the remote's (kOffline, kTimeout, kAuthExpired, ...).
  virtual Result<RemoteChanges> changes(const std::optional<std::string>& since) = 0;
};

// The polling default: a complete answer from a walk of the whole tree,
// every time. `fs` must outlive it.
class WalkChangeSource final : public ChangeSource {
 public:
  explicit WalkChangeSource(RemoteFs& fs) : fs_(fs) {}
  Result<RemoteChanges> changes(const std::optional<std::string>& since) override;

 private:
  RemoteFs& fs_;
};

}  // namespace hoard::remote
