// SPDX-License-Identifier: MIT
#pragma once

// Applying a decision to a file-level conflict (see ApplyDecision.cc and
// Reconciler::apply). Internal to agent/sync.

#include <optional>
#include <string>

#include "sync/ConflictDetail.h"
#include "sync/PassState.h"
#include "sync/Xattrs.h"

namespace hoard::sync {

// The intent op of an apply ("resolve-keep-local", ...) and back.
std::string applyIntentOp(Resolution kind);
std::optional<Resolution> resolutionOfIntent(std::string_view op);

// Which side's version a decision leaves at the path of a file-level
// conflict (the bytes of kMerged come from the caller; kDelete leaves
// nothing). Stash keeps the remote's at the name and the cache's beside it
// when both sides hold a file; when one side deleted, the edited version is
// what stays at its name on both sides (nothing else to keep).
enum class Winner { kLocal, kRemote, kNone };
Winner winnerOf(Resolution kind, const ConflictDetail& d);
// The cache's bytes go beside the result under a stash name.
bool stashesLocal(Resolution kind, const ConflictDetail& d);
// The side whose mode and user.* xattrs the result takes: the winner's; for
// a merged result the cache's where it has the file, else the remote's.
bool takesLocalsMetadata(Resolution kind, const ConflictDetail& d);

// Delete on both sides has a meaning only where a side deleted the path.
bool deleteAllowed(journal::ConflictKind k);

// One side at and beneath `p`, as it is now, into `side` (Resolve.cc).
Status loadSide(remote::RemoteFs& fs, StatMap& side, const RelPath& p);

// Finishes (or drops) an apply a crash cut short, from its intent `i`
// (Recover.cc): once the remote holds the result, the cache is brought to it
// and the conflict closed; before that, the intent is dropped and the
// conflict stays open as detected.
Status finishApply(ShareSides& s, const journal::Intent& i, Resolution kind);

// The history row of decision `decision` on conflict `c` (the versions
// before and the detail as decided; the caller adds the result).
journal::ResolutionRecord historyOf(const journal::ConflictRecord& c,
                                    const ConflictDecision& decision);
// In the transaction that closes a conflict: the apply's intent removed (if
// any), the conflict resolved with h.label, the history row `h` added.
Status closeConflict(journal::Journal& j, const journal::ResolutionRecord& h,
                     std::optional<int64_t> intent);

// Finishes an undo a crash cut short, from its intent (Undo.cc): when each
// side holds either the resolution's result or what it undoes to, the undo
// is completed; otherwise the intent is dropped and the resolution stands.
Status finishUndo(ShareSides& s, const journal::Intent& i);

// The conflict of resolution `r` reopened with r.before_detail and the
// undo's intent recorded (`new_hash`: the cache's version it puts back), in
// one transaction (Undo.cc). Returns the intent's id.
Result<int64_t> reopenForUndo(ShareSides& s, const journal::ResolutionRecord& r,
                              std::optional<ContentHash> new_hash);

// The undo of a decision on a folder or between two renames, from the trees
// its history row keeps (UndoTree.cc): kUnsupported, before anything is
// touched, if a version it needs is no longer kept; kConflict naming the
// entry if a side changed since the resolution. Without `resume` it reopens
// the conflict and records the intent; with it (recover()) it finishes that
// intent's undo. Either way the conflict is left open with both sides as
// they were before the resolution, or the intent is left for recover().
Status undoTree(PassState& pass, const journal::ResolutionRecord& r,
                const journal::ConflictRecord& c, std::optional<int64_t> resume);

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

// A repository merge (decision.repo_writes, from the git-repo resolver):
// each write applied in order to its side, compare-and-swap (an object only
// where the side has none, a replace against the listed file), missing
// directories made first; then the base of the whole repository directory
// is what both sides hold, so the next pass sees no change. The caller
// checked both sides are as the conflict recorded (ApplyRepo.cc). A crash
// part way leaves each side a repository git reads (objects before refs)
// and the conflict open: the next pass records it again.
Status applyRepoMerge(PassState& pass, const journal::ConflictRecord& c,
                      const ConflictDecision& decision);

struct FileApply {
  // Bytes one name ends with on both sides.
  struct Bytes {
    UniqueFd fd;  // read with pread from offset 0
    ContentHash hash;
    std::optional<ContentHash> object;  // kept in the store (recover() reads it)
    uint32_t mode = 0644;
    std::optional<int64_t> mtime_ns;
    // The user.* xattrs the name ends with on both sides (the winner's);
    // none: left as they are.
    std::optional<UserXattrs> xattrs = std::nullopt;
    // A symlink to this target instead of a file (an undo puts one back;
    // fd, hash and mode are then unused).
    std::optional<std::string> link = std::nullopt;
  };

  PassState& pass;  // holds the listing of both sides at the path
  const journal::ConflictRecord& c;
  const ConflictDetail& d;
  ConflictDecision decision;
  std::optional<Bytes> result;       // at the path afterwards; none: absent on both sides
  std::optional<Bytes> stash_bytes;  // stash: the cache's bytes under `stash`
  RelPath stash;                     // stash: the conflict name (chosen by prepare if empty)
  // What each side held before, with its xattrs (TreeSnapshot.h), for the
  // history: an undo puts them back.
  std::string before_tree = {};

  // Each side is as detected (or, when resuming, already as decided); else
  // kConflict naming the side.
  Status check(bool resuming);
  // Stages the result (and the stash copy) and keeps them in the store.
  Status prepare();
  // Records the intent of this apply.
  Result<int64_t> intend();
  // The remote, then the cache, then the base and the resolution.
  Status run(std::optional<int64_t> intent);

  // The side holds `b` at `q` (bytes and mode), or nothing when `b` is null.
  Result<bool> holds(remote::RemoteFs& fs, const RelPath& q, const Bytes* b);
  // Writes `b` (or nothing: removes) at `q` on one side unless it holds it
  // already, compare-and-swap against the listed entry (Undo.cc uses both).
  Status place(bool on_remote, const RelPath& q, const std::optional<Bytes>& b);
  // `b.xattrs` of the side that holds it at `q` (read from the one that
  // decides them); kept as they are where that side has no xattr support.
  Status readXattrs(remote::RemoteFs& from, const RelPath& q, Bytes& b);

 private:
  Result<bool> asSeen(bool local_side);
  Result<const remote::Stat*> entry(bool on_remote, const RelPath& q);
  Status copyAll(int from, int to);
  Status placeXattrs(bool on_remote, const RelPath& q, const Bytes& b);
};

}  // namespace hoard::sync
