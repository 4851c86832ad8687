// SPDX-License-Identifier: MIT
#pragma once

// The working state of one reintegration pass (or one resolution, or one
// eviction), shared by the phases the pass runs in order (Reconciler.cc):
//   Listing.cc       settle intents, list both sides, read the journal
//   RenameReplay.cc  replay logged renames as renames
//   Plan.cc          classify every path three-way; the mass-delete guard
//   ApplyPlan.cc     pushes, pulls, deletions, agreements, conflicts
//   HoardWalk.cc     fetch new pinned remote files, in priority order
//   PassEnd.cc       commit the last batch, drop replayed log records, GC
// and by the operations on single paths: Resolve.cc, Evict.cc, Recover.cc.
// The primitives the phases call live in PassLook.cc (looking at a side),
// PassBatch.cc (base rows, intents, batches), Transfers.cc (moving bytes and
// entries between the sides) and ConflictRecording.cc.
//
// Internal to agent/sync: nothing outside it includes this header.

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/Hash.h"
#include "common/ThreadAnnotations.h"
#include "common/UniqueFd.h"
#include "sync/ConflictDetail.h"
#include "sync/Reconciler.h"
#include "sync/SqliteSides.h"
#include "sync/ThreeWay.h"
#include "sync/Xattrs.h"

namespace hoard::sync {

using remote::Expect;
// Both ordered so that a path's subtree is one contiguous range (PathLess).
using StatMap = std::map<RelPath, remote::Stat, PathLess>;
using BaseMap = std::map<RelPath, BaseEntry, PathLess>;
using PathSet = std::set<RelPath, PathLess>;

// Remote trouble that ends the pass (the state machine goes OFFLINE or
// pauses): everything else is a failure of one path, retried next pass.
bool stopsPass(const Error& e);

// A walk that could not list some directory (WalkEntry::unlisted) is no
// picture of a subtree to act on: the first such directory's error.
inline Status refuseUnlisted(const std::vector<remote::WalkEntry>& walked) {
  for (const remote::WalkEntry& e : walked)
    if (e.unlisted) return tl::unexpected(*e.unlisted);
  return {};
}

// A digest (hex) of every entry beneath `p` in `side` (relative path, type,
// data version): equal digests mean the subtree did not change.
std::string subtreeDigest(const StatMap& side, const RelPath& p);

// What a listing says of one side, as a conflict or a resolution records it:
// type, size, mode, times, inode, data version and symlink target (no hash,
// no subtree digest: the caller adds what it knows). Absent for nullptr.
SideSeen seenOf(const remote::Stat* st);

// File pushes are staged, intended (one transaction) and sent this many at a
// time.
constexpr size_t kPushChunk = 128;

// Runs fn(0..n-1) on up to `width` threads; returns when all are done.
template <class F>
void parallelFor(size_t width, size_t n, F&& fn) {
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i = next++; i < n; i = next++) fn(i);
  };
  std::vector<std::thread> threads;
  for (size_t t = 1; t < std::min(width, n); ++t) threads.emplace_back(work);
  work();
  for (std::thread& t : threads) t.join();
}

struct PassState {
  PassState(ShareSides& sides, const ReconcileOptions& options)
      : s(sides), opts(options), sqlite(sides.local, sides.remote, sides.cache_root) {}

  ShareSides& s;
  const ReconcileOptions& opts;
  ReconcileReport report;
  // SQLite databases are units: companions folded into their entry, content
  // moved as snapshots, pulls applied through SQLite (SqliteSides.h).
  SqliteSides sqlite;

  // A write-back pass (ReconcileOptions::write_back_only) that the change
  // log could scope: base, local and remote hold only the logged paths, what
  // lies beneath them and the directories leading to them (WriteBackScope.cc).
  bool scoped = false;
  BaseMap base;
  StatMap local;
  StatMap remote;
  std::vector<RelPath> held;  // open conflict paths: they and their subtrees wait
  // Directories a listing could not read (WalkEntry::unlisted): held too,
  // and each noted once as a failed path, not counted as waiting.
  std::vector<RelPath> unlisted;
  // Paths this pass changed on the remote (pushed, removed, renamed from or
  // to): an on-demand share's listing is brought up to date for them at the
  // end (patchListing), as it was taken before they changed.
  std::set<RelPath> remote_changed;
  std::map<RelPath, ContentHash> local_hash;
  std::map<RelPath, ContentHash> remote_hash;

  // With `batching` (a whole pass), base rows, the intents they settle and
  // new conflicts are committed kBatch at a time: one transaction, one syncfs
  // of the cache and one of the store per batch instead of several fsyncs per
  // file. Every file is still synced before it is renamed into place (cache
  // and remote alike); what waits for the batch's syncfs is the directory
  // entries of the cache and the store's objects. Until the batch commits,
  // what it wrote into the cache is listed in s.own_writes so the recorder
  // does not take it for the user's edits. Crash safety holds because nothing
  // durable refers to unsynced data: rows are committed after the syncfs; a
  // push's intent was committed before the remote write (a crash leaves the
  // intent, and the next pass adopts the remote's bytes as ours).
  static constexpr size_t kBatch = 256;
  struct PendingRow {
    bool drop = false;  // drop the base under entry.path instead of putting entry
    BaseEntry entry;
    std::optional<int64_t> intent;
  };
  bool batching = false;
  std::vector<PendingRow> pending;
  std::vector<journal::ConflictRecord> pending_conflicts;  // recorded with the batch
  // Further journal writes committed in the same transaction as the batch
  // (a resolution: the conflict closed and its intent dropped with the rows).
  std::vector<std::function<Status(journal::Journal&)>> also_commit;
  std::atomic<bool> cache_unsynced = false;  // set by hoard walk workers too
  std::atomic<bool> store_unsynced = false;

  template <class F>
  auto journal(F&& f) {
    MutexLock lock(s.journal_mu);
    return f(s.journal);
  }

  const remote::Stat* find(const StatMap& m, const RelPath& p) const {
    auto it = m.find(p);
    return it == m.end() ? nullptr : &it->second;
  }
  const BaseEntry* baseAt(const RelPath& p) const {
    auto it = base.find(p);
    return it == base.end() ? nullptr : &it->second;
  }
  bool isHeld(const RelPath& p) const {
    return std::any_of(held.begin(), held.end(), [&](const RelPath& h) { return isUnder(p, h); });
  }
  bool isUnlisted(const RelPath& p) const {
    return std::any_of(unlisted.begin(), unlisted.end(),
                       [&](const RelPath& u) { return isUnder(p, u); });
  }

  // Records a failure of one path, or stops the pass for remote trouble.
  // Returns false if the pass must stop. A path whose source moved on while
  // it was being copied (movedOn) is recorded as retried instead.
  bool noteFailure(const RelPath& p, const Error& e);
  // Paths whose stage copy found them gone or changing (any thread).
  Mutex moved_on_mu;
  PathSet moved_on HOARD_GUARDED_BY(moved_on_mu);

  // ---- looking --------------------------------------------------------------

  // Hash of the cache file at `p`, opened without following a final symlink
  // and checked to be the inode the walk saw (so a swapped-in symlink in a
  // directory component cannot make us read outside the root).
  Result<ContentHash> hashLocal(const RelPath& p);

  // Hash of the remote file at `p` (fetched into a temporary file).
  Result<ContentHash> hashRemote(const RelPath& p);

  // Both memoized per pass in local_hash / remote_hash; a failure read
  // ahead (LookAhead.h) is given once, in place of a second read. The
  // read* forms neither look at nor fill the memos and may run on several
  // threads at once (for different paths), while the pass's maps are not
  // being changed.
  Result<ContentHash> readLocalHash(const RelPath& p);
  Result<ContentHash> readRemoteHash(const RelPath& p);
  std::map<RelPath, Error, PathLess> local_hash_error;
  std::map<RelPath, Error, PathLess> remote_hash_error;

  // Fills one side's Version and whether it changed since the base.
  Status look(const RelPath& p, const BaseEntry* b, const StatMap& side, bool is_local, Version& v, SideChange& change);

  // ---- doing ----------------------------------------------------------------

  Status putBase(const BaseEntry& e, std::optional<int64_t> intent);
  Status flushIfFull();

  Status dropBase(const RelPath& p, std::optional<int64_t> intent);

  // Notes that this pass is about to write `p` in the cache (the recorder
  // takes its events for hoard's own from now on), then what it wrote.
  void writingLocally(const RelPath& p);
  void wroteLocally(const RelPath& p, const FileMeta& meta);

  // What the user did to the paths this batch wrote, while the recorder took
  // their events for hoard's own: each one whose cache entry is no longer
  // what the pass wrote. Called with journal_mu held.
  std::vector<Change> editsOfOwnWrites() const;

  // At the end of a pass: nothing it wrote is pending any more (a write that
  // failed before its row leaves a cache entry the next pass compares).
  void forgetOwnWrites();

  // Makes what the pending rows speak of durable, then commits them in order.
  Status flush();

  Result<int64_t> intend(std::string op, const RelPath& p, std::optional<ContentHash> hash = {}, const RelPath& to = {});
  void forgetIntent(int64_t id);

  // A replace whose bytes reached the remote (before a crash, or late, from a
  // call that timed out) is done: record the remote's version as the base's,
  // with the hash we meant, so a later local edit is pushed rather than seen
  // as a conflict with our own write. The local metadata stays the old
  // base's: the next pass hashes the cache file. True if it was adopted (and
  // the intent removed); false if the remote does not hold those bytes.
  Result<bool> adoptReplace(const journal::Intent& i);

  // Keeps the content of `fd` in the base store if the policy says so.
  std::optional<ContentHash> keep(const RelPath& p, int fd, uint64_t size);

  BaseEntry entryFrom(const RelPath& p, const remote::Stat& l, const remote::Stat& r, std::optional<ContentHash> hash, std::optional<ContentHash> object);

  // Makes the remote equal to the cache at `p` (which exists locally).
  Status push(const RelPath& p, const BaseEntry* b, const remote::Stat& l);

  // A remote file installed in the cache, not yet recorded by the pass.
  struct Fetched {
    remote::Stat installed;  // the cache file
    remote::Stat fetched;    // the remote file it came from
    ContentHash hash;
    std::optional<ContentHash> object;
  };

  // A stable copy of one side's file: an unnamed temporary on the cache's
  // filesystem holding the bytes, the stat of what was copied, its hash and,
  // as asked, its id in the base store. The one way bytes leave a side.
  // A SQLite database is staged as a snapshot read through SQLite (with
  // its -wal), `copied` is then its unit and `hash` hashSqliteSnapshot's, and
  // it is written only through SqliteSides (push, install).
  struct Staged {
    UniqueFd tmp;
    remote::Stat copied;
    ContentHash hash;
    std::optional<ContentHash> object;
    bool is_db = false;
    // The source's user.* xattrs, read with the copy (stageNew), so they
    // need no second look once the file is installed.
    std::optional<UserXattrs> xattrs;
  };
  enum class Keep : uint8_t {
    kNo,      // not kept
    kPolicy,  // kept if the keep policy selects it (the base's content, for merges)
    kAlways,  // kept whatever the policy (a conflict's versions); a full store is no error
  };
  // Any thread. Errors: the side's (kNotFound if the file is gone, kBusy if it
  // changed while being copied, kAborted if a stop was requested mid-copy).
  Result<Staged> stageCopy(remote::RemoteFs& fs, const RelPath& p, Keep keep);
  // A remote file to pull or hoard (named later by installNew), with its
  // user.* xattrs. Any thread.
  Result<Staged> stageNew(const RelPath& p);

  // The remote's user.* xattrs at `p`; an empty set, without asking again,
  // once the remote said it keeps none (kUnsupported). Any thread.
  Result<UserXattrs> remoteXattrs(const RelPath& p);
  // Whether the cache's user.* xattrs of the file `p` differ from the
  // remote's (false where either side keeps none or the remote lacks `p`).
  Result<bool> userXattrsDiffer(const RelPath& p);
  std::atomic<bool> remote_keeps_no_xattrs = false;
  // After a push replaced the remote file at `p`: the cache file's user.*
  // xattrs follow. A file the push created afresh (`fresh`: a temporary
  // renamed over, not a database written in place) has none to compare
  // with, so the remote is not asked what it has. True if the remote was
  // changed (its ctime moved). Any thread.
  Result<bool> carryXattrsOut(const RelPath& p, bool fresh);
  // The progress function of every transfer of the pass: it stops the copy
  // in progress once ReconcileOptions::stop is set (the call fails with
  // kAborted, its temporary removed). Null when nothing can stop the pass.
  remote::ProgressFn transferProgress() const;

  // The first half of pulling a regular file: fetch, hash, keep, install
  // (unsynced when batching), carry xattrs. It touches nothing of the pass
  // but the own-writes list and the unsynced flags, so the hoard walk runs it
  // on several threads at once.
  Result<Fetched> fetchInto(const RelPath& p, const Expect& expect);
  // Its install half: puts the staged remote file into the cache at `p`
  // (compare-and-swap against `expect`) with its xattrs. The pass's thread.
  Result<Fetched> installStaged(const RelPath& p, Staged& staged, const Expect& expect);

  // A regular file pull the plan deferred so that many are fetched at once
  // (PullFiles.cc): staged up to ReconcileOptions::remote_in_flight at a
  // time, then installed and recorded in plan order on the pass's thread.
  struct FilePull {
    RelPath path;
    Expect expect;  // what the cache must still hold
  };
  // Failures are noted per path; returns false if the pass must stop.
  Result<bool> pullFiles(const std::vector<FilePull>& pulls);

  // After a remote file was installed in the cache at `p`: its user.* xattrs
  // follow (moving the cache file's ctime, so `installed` is refreshed) and
  // the recorder learns what the pass wrote. `known`: the remote's, read
  // with the copy, for a file installed afresh (no xattrs of its own yet);
  // otherwise both sides are listed and compared.
  Status carryXattrsInto(const RelPath& p, remote::Stat& installed,
                         const std::optional<UserXattrs>& known = std::nullopt);

  // Names a staged file in the cache (the caller synced its bytes first: a
  // name never points at unsynced data) and records it. The pass's thread.
  Status installNew(const RelPath& p, Staged& n);

  // The second half, on the pass's thread.
  Status recordFetched(const RelPath& p, Fetched f);

  // A regular file push the plan deferred so that many go together: their
  // intents in one transaction, their transfers on several threads.
  struct FilePush {
    RelPath path;
    Expect expect;  // what the remote must still hold
  };
  struct StagedPush {
    Result<Staged> staged = fail(ErrorCode::kInternal, "not staged");
    std::optional<int64_t> intent;
    Result<remote::Stat> sent = fail(ErrorCode::kInternal, "not sent");
    bool attempted = false;  // replaceFile was called (not skipped for a stop)
    bool left = false;       // a new file gone from the cache since it was staged
    bool replaced = false;   // the bytes reached the remote (xattrs may have failed)
  };

  // Sends `pushes` (regular files, present in the cache). Failures are noted per
  // path; returns false if the pass must stop.
  Result<bool> pushFiles(const std::vector<FilePush>& pushes);

  // Makes the cache equal to the remote at `p` (which exists remotely).
  Status pull(const RelPath& p, const remote::Stat& r);

  // Removes `p` from one side. Directories go in a second, deepest-first step.
  Status remove(remote::RemoteFs& fs, StatMap& side, const RelPath& p, const Expect& expect, bool on_remote);

  Status copyMode(remote::RemoteFs& fs, const RelPath& p, uint32_t mode);
  // Gives the remote file at `p` the cache file's modification time (a touch).
  Status copyTimes(const RelPath& p);

  // After both sides hold the same thing at `p`: record it as the base.
  Status agree(const RelPath& p);
  // The cache entry at `p` holds the base's content under new metadata:
  // the base takes the listed metadata; its remote side stays as it was.
  Status refreshLocal(const RelPath& p);

  // Records a conflict at `p` (with the batch) and holds `p` for the rest of
  // the pass. The detail says what each side held, as kept in the store.
  Status recordConflict(const RelPath& p, ConflictKind kind, const Version& lv, const Version& rv);
  // What `fs` holds at `p` (listed as `listed`, null: absent), with a file's
  // bytes kept in the store (`object`) and described by the copy's own stat.
  Result<SideSeen> keepVersion(remote::RemoteFs& fs, const RelPath& p, const remote::Stat* listed,
                               std::optional<ContentHash>& object);

  // ---- what the phases of one pass share (see Reconciler.cc) --------------

  int64_t frozen = 0;                         // the change log is replayed through this seq
  std::vector<LoggedChange> log;              // ... and these are its records
  std::vector<journal::ConflictRecord> open;  // conflicts open when the pass started
  std::vector<journal::Pin> pins;

  // One path the plan acts on: its three-way state and the decision.
  struct Planned {
    RelPath path;
    PathState state;
    Decision decision;
    // Nothing to carry: only the base's record of the cache entry is
    // refreshed, so the next pass need not hash it again.
    bool refresh = false;
  };
  std::vector<Planned> plan;  // parents first
  // A remote file new to the cache that a pin asks for, fetched by the hoard walk.
  struct Hoard {
    RelPath path;
    int priority;
  };
  std::vector<Hoard> hoards;
  // The git repositories the listings hold (GitRepoUnit.h), found before the
  // renames are replayed: their files move in git's order, never by the
  // hoard walk, and one that changed on both sides is one conflict.
  std::vector<RelPath> repos;
};

}  // namespace hoard::sync
