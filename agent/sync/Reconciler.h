// SPDX-License-Identifier: MIT
#pragma once

// One reintegration pass over a share: replay what the user did in the cache
// root, pull what others did on the remote, and turn real collisions into
// conflict records (design.md, "Three-way decisions" and the invariants).
//
// The pass is state-based: for every path it compares the cache (L) and the
// remote (R) with the base (B) and applies design.md's table (ThreeWay.h).
// The change log contributes what state alone cannot tell: renames, replayed
// as renames. Because "both sides hold the same content" is an agreement, not
// a conflict, a pass cut short at any instant (crash, kill -9, the link
// dropping) is simply run again: it converges without losing or duplicating
// work. Intents (journal) close the one gap left: after a crash between a
// remote write and its base update, the remote holding *our* bytes is
// recognised, so a later local edit is pushed, not mistaken for a conflict.
//
// Every remote mutation is atomic and compare-and-swap (RemoteFs::replaceFile
// & co. with the base's data version); every write into the cache goes the
// same way with the cache file's version as seen when deciding, so a file the
// user changed meanwhile is never clobbered (the next pass sees a conflict).
// A path with an open conflict (and everything beneath it) is left alone:
// the local version stays in place and the remote is untouched there.
//
// Pins decide what is hoarded: a remote file that is neither in the base nor
// in the cache is fetched only if it lies beneath a pin (a share without pins
// hoards everything), in pin priority order, within the cache budget. Paths
// already in the cache or the base are kept in sync whether pinned or not. A
// pass started again after a crash or a drop resumes the hoard walk where it
// stopped: what was fetched is in the base.
//
// Threads: run() and resolve() do blocking I/O on both sides and must run on
// one thread at a time per share (the engine strand). Journal calls are made
// under ShareSides::journal_mu.

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/Error.h"
#include "common/ThreadAnnotations.h"
#include "journal/Journal.h"
#include "remote/ChangeSource.h"
#include "remote/RemoteFs.h"
#include "store/BaseStore.h"
#include "store/KeepPolicy.h"
#include "sync/OwnWrites.h"
#include "sync/Retention.h"

namespace hoard::sync {

// What a pass works on. Everything referenced must outlive the Reconciler.
struct ShareSides {
  journal::Journal& journal;
  Mutex& journal_mu;
  int64_t share_id = 0;
  remote::RemoteFs& local;   // the cache root (a PosixRemoteFs over it)
  remote::RemoteFs& remote;  // the remote root (deadline-wrapped in the daemon)
  std::string cache_root;    // absolute; anonymous temp files are made here
  store::BaseStore& store;
  store::KeepPolicy policy;
  std::string host;          // this machine's name, for stash names
  // Checked before anything is decided: the remote is the share's filesystem
  // (identity and marker), not an empty mountpoint. Null: not checked.
  std::function<Status()> check_remote;
  // Where a pass lists the cache entries it wrote until their base rows are
  // committed (shared with the share's LocalRecorder). Null: not listed.
  std::shared_ptr<OwnWrites> own_writes;
  // Where a pass learns what the remote holds (ChangeSource.h). Null: a
  // walk of `remote` (WalkChangeSource).
  std::shared_ptr<remote::ChangeSource> remote_changes = nullptr;
  // An on-demand share: every pass that listed the remote stores the whole
  // listing in the journal (Journal::replaceRemoteListing), which the FUSE
  // view shows offline. Off: nothing is stored.
  bool record_listing = false;
  // An on-demand share: a pass hoards only what a pin asks for, and nothing
  // when there are no pins (the view fetches the rest when it is read). Off:
  // a share without pins hoards everything.
  bool pins_only = false;
};

// Progress of the files a pass fetches for the first time (the hoard walk).
struct HoardProgress {
  uint64_t bytes_done = 0;
  uint64_t bytes_total = 0;
  uint32_t files_done = 0;
  uint32_t files_total = 0;
};

struct ReconcileOptions {
  // Stop before deleting more than this fraction of a side's files...
  double max_delete_fraction = 0.5;
  // ...when that is more than this many files (deleting one or two files of a
  // tiny share is not a mass deletion).
  size_t mass_delete_floor = 2;
  // The user confirmed a mass deletion that an earlier pass stopped for.
  bool confirm_mass_delete = false;
  // Bytes the cache may hold (0: no limit). New remote files are hoarded in
  // pin priority order until the next one would not fit; the rest are left
  // on the remote and listed in ReconcileReport::not_hoarded. Files already
  // in the cache are kept in sync whatever their size.
  uint64_t cache_budget_bytes = 0;
  // Told after each file hoarded (on the calling thread). May be null.
  std::function<void(const HoardProgress&)> progress;
  // Told once the pass stored the remote listing for an on-demand share's
  // view, before it hoards anything (on the calling thread, no lock held).
  // May be null.
  std::function<void()> on_listing_recorded;
  // Local copies made at once before file pushes are sent (at least 1): the
  // stable copy, hash and kept base content of each, bounded by the
  // machine's cores and disk more than by the network.
  size_t transfer_threads = 4;
  // Remote work in flight at once (at least 1): hashes of candidate files
  // before the plan decides, pulls and hoard-walk fetches, pushes sent. A
  // network filesystem answers concurrent requests (sshfs multiplexes them
  // on one connection), so a link's latency is paid once per batch instead
  // of once per file. Every call is still under its own deadline (the
  // remote RemoteFs is a DeadlineRemoteFs in the daemon, whose pool should
  // have at least this many workers).
  size_t remote_in_flight = 32;
  // Set (by another thread: `hoard offline`, SIGTERM, share removal) to make
  // the pass stop touching the remote as soon as the file at hand is done; it
  // ends with report.stopped = kAborted ("stopped on request"). Null: never.
  std::shared_ptr<const std::atomic<bool>> stop;
  // A write-back pass (local changes settled while online): only the paths
  // the change log names are looked at, with what lies beneath them and the
  // directories leading to them, on both sides and in the base, so its cost
  // follows what changed, not the share's size; no hoard walk. A remote
  // change elsewhere waits for the next full pass (the poll). Every check of
  // a full pass holds for the paths it looks at (compare-and-swap, renames,
  // deletions, directories). Where the log cannot scope the pass (a path in
  // a git repository, a directory leading to it that is no longer one on
  // some side, a long log) it lists everything as usual.
  bool write_back_only = false;
  // Paths hoarded by this pass whatever the pins say, before anything else:
  // a program opened a placeholder of an on-demand share's view to change
  // it, so its remote version must be in the cache with its base row first
  // (a local edit of a file without one would look like a second creation).
  // With write_back_only, the pass looks at the log's paths and these; the
  // cache budget does not hold them back (the user is writing them now).
  std::vector<RelPath> hydrate;
  // Resolved conflicts (and their versions' store objects) are kept this long
  // after their resolution, then dropped at the end of a pass (Retention.h).
  std::chrono::seconds resolved_retention = kDefaultResolvedRetention;
};

// A pass that stopped before a mass deletion (ReconcileReport::mass_delete):
// what it would have deleted, for the user to confirm.
struct MassDelete {
  bool on_remote = false;      // the deletions would happen on the remote (else in the cache)
  size_t count = 0;            // files that would be deleted
  size_t total = 0;            // files on that side
  std::vector<RelPath> first;  // the first of them in path order (at most 20)
};

struct ReconcileReport {
  size_t pushed = 0;          // files, directories, symlinks created or replaced on the remote
  size_t pulled = 0;          // ... in the cache
  size_t deleted_remote = 0;
  size_t deleted_local = 0;
  size_t renamed_remote = 0;  // local renames replayed as renames
  size_t modes = 0;           // permission changes carried across
  size_t times = 0;           // modification times carried to the remote (touch)
  size_t agreed = 0;          // both sides changed alike: new base, no conflict
  size_t hoarded = 0;           // files fetched for the first time (preload)
  uint64_t hoarded_bytes = 0;
  std::vector<RelPath> not_hoarded;  // pinned remote files the cache budget left out
  bool listing_recorded = false;  // the whole remote listing was stored (record_listing)
  std::vector<int64_t> new_conflicts;
  size_t waiting = 0;         // paths held by conflicts still open
  // Paths that could not be finished this pass (the next pass retries them).
  std::vector<std::pair<RelPath, Error>> failed;
  // Paths that moved on under the pass: gone from their side since it was
  // listed (an editor's temporary renamed into place), or still being
  // written while they were copied. Nothing was sent or fetched for them;
  // the next pass looks at them again. Not failures.
  std::vector<RelPath> retried;
  // Set when the pass stopped early: kOffline/kTimeout (the remote went away),
  // kAuthExpired, or kAborted (a mass deletion waits for the user's word).
  std::optional<Error> stopped;
  // Set with stopped = kAborted when a mass deletion waits for confirmation.
  std::optional<MassDelete> mass_delete;
  // How long each phase that ran took, in order ("list", 120): where a slow
  // pass spends its time (hoardd logs it with the pass report).
  std::vector<std::pair<std::string, int64_t>> phase_ms;

  bool clean() const { return !stopped && failed.empty() && new_conflicts.empty() && waiting == 0; }
};

// What each decision means for each kind of conflict is the table in
// README.md ("What each decision means for each kind of conflict").
// kDelete takes the path away on both sides; only modify-delete,
// delete-modify and dir-delete allow it (a side deleted the path).
// kMarkers: a merge still holding conflict markers goes to the cache only,
// the remote stays, the conflict stays open as merging (ApplyMarkers.cc).
enum class Resolution { kKeepLocal, kKeepRemote, kStash, kMerged, kDelete, kMarkers };
// "keep-local", "keep-remote", "stash", "merged", "delete", "markers" (which
// resolutionFromName does not accept: it needs a resolver's merge)
std::string_view resolutionName(Resolution r);
std::optional<Resolution> resolutionFromName(std::string_view name);

// One file a repository merge gives one side (resolvers::TreeWrite, made
// by the git-repo resolver): a copy of a side's file from RepoCopies, or
// bytes; create-only (an object: never overwritten), a replace against
// what the side held when the conflict was detected, or the removal of
// that file (a deleted branch's ref or reflog).
struct RepoWrite {
  enum class From { kLocal, kRemote, kBytes };
  bool to_remote = false;
  RelPath path;  // inside the repository directory
  From from = From::kBytes;
  std::string bytes;
  bool create_only = false;
  bool remove = false;
  uint32_t mode = 0644;
};

// A decision on one conflict, for Reconciler::apply.
struct ConflictDecision {
  Resolution kind = Resolution::kKeepLocal;
  // kMerged: the merged bytes, read from offset 0 with pread (the caller
  // keeps the descriptor). The result gets the winning side's mode (the
  // cache's where it has the file).
  int merged_fd = -1;
  // Recorded as the resolution's text when not empty (e.g. "git-merge via
  // rule 2"); else resolutionName(kind). kMarkers: the conflict's note
  // ("2 hunks conflict: ...").
  std::string label;
  // Who decided, for the history (`hoard conflicts --resolved`): the
  // resolver's name ("keep-local", "git-merge", an external one's; empty:
  // the decision's name) and the rule that named it (empty: a person or a
  // script decided directly).
  std::string resolver;
  std::string rule;
  // keep-local of a merging conflict: take the cache's file even though it
  // still holds conflict markers (else kBusy naming the line).
  bool force = false;
  // kMerged of a repo conflict (no merged_fd): the writes, in order, and
  // the directories holding each side's copy they take files from
  // (RepoCopies::local / remote). Applied to both sides, then the whole
  // repository's base is what both sides hold (ApplyRepo.cc).
  std::vector<RepoWrite> repo_writes = {};
  std::string copies_local = {}, copies_remote = {};
};

class Reconciler {
 public:
  explicit Reconciler(ShareSides sides);

  // Call once before the first pass after a start: settles intents left by a
  // crash against the real remote and removes stale `.hoard-tmp-*` files on
  // both sides (the remote's and the cache's).
  Status recover();

  // One pass. Errors: the journal's, or the cache root's (unreadable). Remote
  // trouble is not an error of the pass: it ends in report.stopped.
  Result<ReconcileReport> run(const ReconcileOptions& options = {});

  // Decides open conflict `conflict_id` of this share: keep-local pushes the
  // cache's version over the remote's, keep-remote pulls the remote's over the
  // cache's, stash keeps the remote's at the path on both sides and the local
  // version beside it under NAME.conflict-HOST-YYYYMMDD-HHMMSS.EXT (on both
  // sides too). Afterwards both sides are equal at the path(s) and the
  // conflict is resolved in the journal. Errors: kNotFound (no such open
  // conflict in this share), kConflict (a side changed again since; the
  // conflict stays open and a new pass re-detects it), remote errors.
  Status resolve(int64_t conflict_id, Resolution resolution);

  // The one primitive that applies any decision to an open conflict: the
  // result is staged and kept in the store, an intent recorded, the remote
  // replaced (compare-and-swap against what it held when the conflict was
  // detected), the cache installed (likewise), and the new base and the
  // conflict's resolution committed in one transaction. A side that changed
  // since the conflict was detected gives kConflict naming the path and the
  // side; the conflict stays open and is refreshed with the new versions
  // (ConflictRefreshed in the daemon's words: announce it again). A crash at
  // any point leaves the conflict open with both sides as detected, or (once
  // the remote took the result) completed by recover(). Errors as resolve().
  //
  // kMarkers (merged_fd holds a merge with conflict markers): only the cache
  // takes it, compare-and-swap against the cache's version as detected; the
  // remote is untouched and the conflict stays open, marked merging, its
  // local version now the merge. A keep-local of a merging conflict takes
  // what the cache holds by then (the user's edit of the merge) and refuses
  // with kBusy, naming the file and the line, a file still holding markers
  // unless decision.force; the remote is still checked as detected.
  Status apply(int64_t conflict_id, const ConflictDecision& decision);

  // Takes back the latest resolution of conflict `conflict_id` (Undo.cc):
  // both sides get back what they held at the path before it (files from
  // the versions the history keeps, symlinks by their targets), a stash copy
  // it made is removed on both sides, and the conflict is open again.
  // Compare-and-swap against the result: kConflict naming the path and the
  // side if either changed since (nothing is changed then). kNotFound: no
  // resolution of this share's conflict to undo; kInvalidArgument: the
  // conflict is open, or its versions are no longer kept; kUnsupported,
  // saying what to do instead: the decision was on a directory (folder trees
  // are not kept) or between two renames (the base it replaced is not kept).
  // One intent; a crash mid-undo is finished by recover().
  Status undo(int64_t conflict_id);

  // Drops the cache's copy of `path` (a file or subtree) and its base rows,
  // freeing local space; the remote is untouched. Refuses, naming the first
  // such path, with kBusy if anything beneath `path` has unreplayed changes
  // (it differs from the base, or the change log names it) or an open
  // conflict, and with kBusy if `path` is pinned (a pinned path would be
  // fetched again by the next pass: unpin it first). Returns bytes freed.
  Result<uint64_t> evict(const RelPath& path);

 private:
  ShareSides s_;
};

}  // namespace hoard::sync
