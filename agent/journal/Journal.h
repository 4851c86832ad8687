// SPDX-License-Identifier: MIT
#pragma once

// The journal: hoard's durable memory, one SQLite database (WAL mode,
// synchronous=FULL) holding shares, pins, the base, the change log,
// snapshots, conflicts and the reference counts of base objects.
//
// Durability: every mutating call below is one transaction (or joins the
// caller's inTransaction); when it returns ok the change has been fsynced and
// survives kill -9 and power loss. When it returns an error nothing of it was
// stored.
//
// Threads: a Journal is NOT thread-safe. The engine strand owns the one
// read-write Journal and calls it only from that thread. Others who need to
// read may open their own SQLite connection to the same file (WAL lets
// readers run beside the writer); they must not write.
//
// Errors (all calls): kCorrupt if the file is damaged, kIo / kNoSpace /
// kPermission from the filesystem, kBusy if another process holds the write
// lock longer than the busy timeout. Messages name the journal file and what
// was being done. Paths in arguments are share-relative RelPaths (bytes);
// a malformed one gives kInvalidArgument.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/Change.h"
#include "common/Error.h"
#include "common/FileMeta.h"
#include "common/Hash.h"
#include "journal/Records.h"

namespace hoard::journal {

namespace detail {
class Db;
}

class Journal {
 public:
  // The newest schema this build knows (the highest numbered file under
  // schemas/journal/).
  static int knownSchemaVersion();

  // Opens the journal at `path`, creating it (and applying every migration,
  // each in its own transaction) if it does not exist, or migrating an older
  // one forward. The parent directory must exist.
  // Errors: kTooNew if the file was written by a newer hoard (the file is not
  // modified); kCorrupt if the file is not a SQLite database or is damaged
  // (the file is not modified); kInvalidArgument if `path` is not a regular
  // file (a symlink is refused, not followed); kIo/kPermission if it cannot
  // be opened; any migration error names the migration file.
  static Result<std::unique_ptr<Journal>> open(const std::string& path);

  ~Journal();
  Journal(const Journal&) = delete;
  Journal& operator=(const Journal&) = delete;

  const std::string& path() const { return path_; }
  // 32 lowercase hex digits, random, fixed when the journal was created.
  const std::string& journalId() const { return journal_id_; }
  // PRAGMA user_version of the open file (== knownSchemaVersion() once open).
  Result<int> schemaVersion();

  // Runs `body` in one transaction: everything it does commits together
  // (durably) if it returns ok, and is rolled back if it returns an error,
  // whose Error is returned. Calls may nest: an inner call joins the outer
  // transaction through a SAVEPOINT, and an inner failure rolls back only
  // the inner part. Every mutating method uses this, so it composes.
  Status inTransaction(const std::function<Status()>& body);

  // --- shares -------------------------------------------------------------
  // Adds a share in state OFFLINE. Returns its id. kExists if the name is
  // taken; kInvalidArgument for an empty name or root.
  Result<int64_t> addShare(const ShareSpec& spec);
  // kNotFound if there is no such share.
  Result<ShareRecord> share(int64_t share_id);
  Result<ShareRecord> shareByName(std::string_view name);
  // All shares, by id.
  Result<std::vector<ShareRecord>> shares();
  // Removes the share and, by cascade, its pins, base, change log, snapshots
  // and conflicts (object reference counts follow). kNotFound if absent.
  Status removeShare(int64_t share_id);
  // Stores the share's state. Moving to anything but OFFLINE ends the
  // share's current disconnection: every snapshot of the share still open
  // gets ended_through_seq = the high-water mark now (same transaction).
  Status setShareState(int64_t share_id, ShareState state);
  Status setUserOffline(int64_t share_id, bool user_offline);
  Status setRemoteIdentity(int64_t share_id, const RemoteIdentity& identity);
  // Moves the share's local side (a share switched to on demand): its
  // cache root and its view root ("" for none). Base rows, pins and the
  // change log are share-relative and stay as they are.
  Status setShareRoots(int64_t share_id, const std::string& cache_root,
                       const std::string& view_root);

  // --- pins ---------------------------------------------------------------
  // Pins `path` (the root "" pins the whole share) or changes its priority.
  // kInvalidArgument if priority is outside 0..1000; kNotFound for no share.
  Status pin(int64_t share_id, const RelPath& path, int priority);
  // kNotFound if `path` was not pinned.
  Status unpin(int64_t share_id, const RelPath& path);
  // The share's pins, highest priority first, then by path bytes.
  Result<std::vector<Pin>> pins(int64_t share_id);

  // --- base ---------------------------------------------------------------
  // Inserts or replaces the base row of entry.path (object refcounts follow).
  Status putBase(int64_t share_id, const BaseEntry& entry);
  // All rows in one transaction: all or none.
  Status putBase(int64_t share_id, std::span<const BaseEntry> entries);
  // The row for `path`, or nullopt.
  Result<std::optional<BaseEntry>> getBase(int64_t share_id, const RelPath& path);
  // Every row of the share, ordered by path bytes.
  Result<std::vector<BaseEntry>> listBase(int64_t share_id);
  // `dir` itself and every row beneath it ("a" matches "a" and "a/x", never
  // "ab"), ordered by path bytes. dir "" is the whole share.
  Result<std::vector<BaseEntry>> listBaseUnder(int64_t share_id, const RelPath& dir);
  // Streams the rows of listBaseUnder without holding them all; stops at and
  // returns the first error `fn` returns. `fn` must not call this Journal.
  Status forEachBaseUnder(int64_t share_id, const RelPath& dir,
                          const std::function<Status(const BaseEntry&)>& fn);
  // How many rows of the share are not directories (what a side of a pass
  // that listed everything would count as files), without reading them.
  Result<int64_t> countBaseFiles(int64_t share_id);
  // Removes the row; true if there was one.
  Result<bool> removeBase(int64_t share_id, const RelPath& path);
  // Removes `dir` and every row beneath it; returns how many rows went.
  Result<int64_t> removeBaseUnder(int64_t share_id, const RelPath& dir);

  // --- change log ---------------------------------------------------------
  // Appends `changes` (in order) to the share's log in ONE transaction,
  // optimised Coda-style against the share's unfrozen log (see
  // ChangeLogOptimizer.h for the rules). Durable when it returns. Returns the
  // journal's change-log high-water mark afterwards: the seq of the last
  // record ever assigned; seqs are never reused, not even across a reopen),
  // which is unchanged when every
  // change cancelled out. kInvalidArgument (nothing stored) if a change has
  // a malformed or empty path, a rename has no destination, or the op is not
  // a ChangeOp; kNotFound if the share does not exist.
  Result<int64_t> recordChanges(int64_t share_id, std::span<const Change> changes);
  // The share's records with seq > after_seq, in seq order; at most `limit`
  // of them (0: all).
  Result<std::vector<LoggedChange>> changes(int64_t share_id, int64_t after_seq, size_t limit = 0);
  // Number of records in the share's log.
  Result<int64_t> changeCount(int64_t share_id);
  // Freezes the share's log up to the current high-water mark and returns
  // it: records at or below it are never rewritten or cancelled by later
  // recordChanges, so the engine can replay them while new changes arrive.
  // Call before reading the records to replay.
  Result<int64_t> freezeChanges(int64_t share_id);
  // Deletes the share's records with seq <= `seq` (they were reintegrated)
  // (the seqs are not reused).
  // kInvalidArgument if `seq` is above the share's frozen mark: only frozen
  // records can be known to be replayed as they stand.
  Status dropChangesThrough(int64_t share_id, int64_t seq);

  // --- intents (reintegration steps in flight) -----------------------------
  // Records `intent` (id and created_at_ns are assigned) and returns its id.
  // Durable on return, so it is there at restart if the step is cut short.
  Result<int64_t> addIntent(const Intent& intent);
  // The share's intents, oldest first.
  Result<std::vector<Intent>> intents(int64_t share_id);
  // Removes one intent (the step is done, or was found not done at restart).
  // kNotFound if there is no such intent.
  Status removeIntent(int64_t intent_id);

  // --- snapshots ----------------------------------------------------------
  // Copies the share's whole base into a new snapshot (one INSERT ... SELECT,
  // one transaction) and returns its id. through_seq is the current
  // high-water mark. kNotFound if the share does not exist.
  Result<int64_t> takeSnapshot(int64_t share_id, std::string_view label);
  // The share's snapshots, oldest first.
  Result<std::vector<SnapshotInfo>> snapshots(int64_t share_id);
  // The snapshot's entries ordered by path bytes; kNotFound if no such snapshot.
  Result<std::vector<BaseEntry>> snapshotEntries(int64_t snapshot_id);
  Result<std::optional<BaseEntry>> snapshotEntry(int64_t snapshot_id, const RelPath& path);
  // kNotFound if no such snapshot.
  Status dropSnapshot(int64_t snapshot_id);
  // Drops every snapshot of the share whose disconnection is reintegrated and
  // returns their ids (oldest first); their entries go with them, so the
  // refcounts of their objects fall (objects only they held become
  // unreferenced). The rule, for a snapshot S:
  //   1. S's disconnection has ended: the share left OFFLINE since S was
  //      taken (setShareState), at high-water mark E = S.ended_through_seq.
  //      Every change made during the disconnection has seq <= E, including
  //      one the optimiser coalesced into an older record (a rewrite keeps
  //      the older, smaller seq).
  //   2. The share's change log holds nothing at or before E: every such
  //      change was replayed and dropped (dropChangesThrough). Records with
  //      seq > E were logged after the share came back and do not hold S.
  //   3. The share has no open conflict (a held path's change is not
  //      reintegrated yet).
  // The journal cannot see one more condition, so the caller must check it:
  // call this only after a pass that ended with nothing failed and nothing
  // stopped, because dropChangesThrough drops the records of a path that
  // failed too (the path keeps its difference from the base, and the next
  // pass, which compares every path, retries it). A snapshot of a share that
  // is OFFLINE now, or that was taken and not yet ended, is never dropped.
  Result<std::vector<int64_t>> dropReintegratedSnapshots(int64_t share_id);

  // --- conflicts ----------------------------------------------------------
  // Records an open conflict from c.share_id, path, kind, detail ("" is
  // stored as "{}") and the three object ids; id, open, resolution and times
  // are set here. Returns the id. kExists if the path already has an open
  // conflict; kNotFound if the share does not exist.
  Result<int64_t> addConflict(const ConflictRecord& c);
  // kNotFound if no such conflict.
  Result<ConflictRecord> conflict(int64_t conflict_id);
  // The open conflict at `path`, if any.
  Result<std::optional<ConflictRecord>> openConflictAt(int64_t share_id, const RelPath& path);
  // The share's conflicts by id; only the open ones if `open_only`.
  Result<std::vector<ConflictRecord>> conflicts(int64_t share_id, bool open_only);
  // Marks the conflict resolved with `resolution` (non-empty, e.g.
  // "keep-local"). kNotFound if absent; kInvalidArgument if already resolved
  // or `resolution` is empty.
  Status resolveConflict(int64_t conflict_id, std::string_view resolution);
  // Replaces an open conflict's detail and its local and remote objects (a
  // side changed since it was detected: the conflict now speaks of the new
  // versions). kNotFound if absent; kInvalidArgument if resolved.
  Status refreshConflict(int64_t conflict_id, std::string_view detail,
                         const std::optional<ContentHash>& local_object,
                         const std::optional<ContentHash>& remote_object);
  // Deletes the share's resolved conflicts (releasing their objects);
  // returns how many went.
  Result<int64_t> purgeResolvedConflicts(int64_t share_id);
  // Deletes the share's conflicts resolved before `resolved_before_ns`
  // (nanoseconds since the epoch; resolved_at_ns < it; a resolved row without
  // a resolution time counts from its creation), releasing their objects.
  // Open conflicts are never touched. Returns how many went. The caller
  // computes the bound from its clock: now - the retention period.
  Result<int64_t> purgeResolvedConflictsBefore(int64_t share_id, int64_t resolved_before_ns);

  // --- resolutions (Resolutions.cc) --------------------------------------
  // Records one applied decision (r.id and undone_at_ns are ignored; a zero
  // resolved_at_ns is now). Call it inside the transaction that closes the
  // conflict. Returns the id. kNotFound if the conflict does not exist.
  Result<int64_t> addResolution(const ResolutionRecord& r);
  // kNotFound if no such resolution.
  Result<ResolutionRecord> resolution(int64_t resolution_id);
  // The share's resolutions, newest first (undone ones included).
  Result<std::vector<ResolutionRecord>> resolutions(int64_t share_id);
  // Undoes resolution `resolution_id` in the journal, in one transaction:
  // stamps it undone and reopens its conflict with `detail`. kNotFound if
  // absent; kInvalidArgument if it was undone already, if its conflict is
  // open, or if a later resolution of the same conflict exists (undo that).
  Status undoResolution(int64_t resolution_id, std::string_view detail);

  // --- the remote listing (RemoteListing.cc) ----------------------------
  // Replaces the share's whole remote listing with `entries` in one
  // transaction (the root "" is never stored). kInvalidArgument (nothing
  // stored) for a malformed or empty path; kNotFound if no such share.
  Status replaceRemoteListing(int64_t share_id, std::span<const ListedEntry> entries);
  // Inserts or replaces one entry (the view created or changed a file).
  Status putRemoteListed(int64_t share_id, const ListedEntry& entry);
  // Removes `path` and everything beneath it; returns how many rows went.
  Result<int64_t> removeRemoteListedUnder(int64_t share_id, const RelPath& path);
  // The share's listing ordered by path bytes (parents before children).
  Result<std::vector<ListedEntry>> remoteListing(int64_t share_id);

  // --- misses of the view (RemoteListing.cc) ----------------------------
  // Records one miss (m.id is assigned and returned). kInvalidArgument for a
  // malformed path or an outcome other than failed / fetched / timed-out /
  // interrupted / declined; kNotFound if no such share.
  Result<int64_t> addMiss(const MissRecord& m);
  // The share's misses, oldest first.
  Result<std::vector<MissRecord>> misses(int64_t share_id);
  // fetch_missed fetched `path` at `at_ns`: its misses up to id `up_to_id`
  // not marked yet are marked (a miss recorded meanwhile is not).
  Status markMissesFetched(int64_t share_id, const RelPath& path, int64_t up_to_id, int64_t at_ns);
  // The answers "Always fail for PROGRAM" kept for every share's view
  // (a.policy "error"; kInvalidArgument otherwise or for an empty name).
  // Putting one again replaces it.
  Status putReadAnswer(const ReadAnswerRecord& a);
  // kNotFound if none is kept for `program`.
  Status forgetReadAnswer(const std::string& program);
  // Ordered by program.
  Result<std::vector<ReadAnswerRecord>> readAnswers();

  // --- objects ------------------------------------------------------------
  // Object rows are created and counted only by the journal's triggers, from
  // the base, snapshot and conflict rows that name them.
  Result<std::optional<ObjectInfo>> object(const ContentHash& id);
  // Objects no row references any more: the store may delete their content
  // and then call forgetObject.
  Result<std::vector<ObjectInfo>> unreferencedObjects();
  // Deletes an unreferenced object row. kNotFound if absent; kBusy if it is
  // referenced again (the store must then keep the content).
  Status forgetObject(const ContentHash& id);

 private:
  Journal(std::unique_ptr<detail::Db> db, std::string path);
  Status migrate();
  Status migrateEach();  // migrate(), with foreign keys off
  Result<int64_t> highWater();
  Result<int64_t> frozenThrough(int64_t share_id);
  Status requireShare(int64_t share_id);

  std::unique_ptr<detail::Db> db_;
  std::string path_;
  std::string journal_id_;
  int tx_depth_ = 0;
};

}  // namespace hoard::journal
