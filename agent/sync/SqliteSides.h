// SPDX-License-Identifier: MIT
#pragma once

// The SQLite databases of a share's two sides during one pass (or one
// resolution): what the reconciler calls wherever a path may be a database
// (SqliteUnit.h says why a database is one unit). It folds the companions in
// both listings, and gives each database's content as a snapshot, sends one
// to the remote, and puts one into the cache (into the live database through
// SQLite when one is there).
//
// What counts as "a database" is decided by the header of the main file: in
// the cache read directly (memoized for the pass), on the remote read from
// a fetched copy. Content hashes of databases are hashSqliteSnapshot's, so
// the base's hash of a database is comparable across both sides whatever
// checkpoints and backups did to the bookkeeping in its header.
//
// Threads: snapshotLocal, snapshotRemote and push may be called from several
// threads at once for different paths (a pass's transfer threads); the folds,
// isLocalDb, forget and install only from the pass's own thread (a memo).

#include <map>
#include <optional>
#include <string>

#include "common/Error.h"
#include "common/Hash.h"
#include "common/UniqueFd.h"
#include "remote/RemoteFs.h"
#include "sync/SqliteUnit.h"

namespace hoard::sync {

class SqliteSides {
 public:
  // `local` is the cache root's RemoteFs and `cache_root` its absolute path
  // (SQLite opens cache databases there by name; temporaries are made there,
  // on the cache's filesystem, so a snapshot can be linked into place).
  SqliteSides(remote::RemoteFs& local, remote::RemoteFs& remote, std::string cache_root,
              SqliteOptions options = {});

  // Folds the companions of every database in a side's listing into its
  // entry (foldSqliteUnits), and orphaned companions (their database gone)
  // out of it. The local fold reads cache headers; the remote fold takes a
  // path the cache knows as a database for one, and fetches the remote's
  // main file to read its header otherwise (only for names that have
  // companions beside them). Fold the local listing first.
  void foldLocal(SqliteStatMap& local);
  void foldRemote(SqliteStatMap& remote);
  // The same for both sides loaded at one path `p` (and beneath it), as a
  // resolution does: folded, and `p` itself, when the cache's is a
  // database, looked at again as its unit (its companions were not loaded).
  // Errors: the sides' lstat.
  Status foldLoaded(SqliteStatMap& local, SqliteStatMap& remote, const RelPath& p);

  // The parts of a database as the last fold saw them, or nullptr if it had
  // no companions there (or is no database).
  const SqliteParts* localParts(const RelPath& p) const;
  const SqliteParts* remoteParts(const RelPath& p) const;

  // True if the cache file at `p` is a database (header; memoized until
  // forget(p)). False if absent or unreadable.
  bool isLocalDb(const RelPath& p);
  void forget(const RelPath& p) { local_db_.erase(p); }

  // A fresh look at `p` on `fs` as the listings show it after folding: the
  // main file's lstat folded with its companions' when `p` is a database
  // (`is_db`), the plain lstat otherwise. Errors as RemoteFs::lstat.
  Result<remote::Stat> lstatUnit(remote::RemoteFs& fs, const RelPath& p, bool is_db);

  struct Snapshot {
    UniqueFd fd;        // unlinked, on the cache's filesystem, read from offset 0
    remote::Stat unit;  // the unit as it was just before the snapshot (folded)
    remote::Stat main;  // the main file's own Stat then (for compare-and-swap)
    bool live = false;  // a -wal or -journal existed
    ContentHash hash;   // hashSqliteSnapshot of fd
    uint64_t size = 0;  // bytes in fd
  };
  // The cache's database at `p`, read through SQLite in place (it sees the
  // WAL; a program holding it open is not disturbed). kNotFound if absent,
  // kCorrupt if no database, kBusy as snapshotSqlite.
  Result<Snapshot> snapshotLocal(const RelPath& p);
  // The remote's database at `p`, fetched with its companions
  // (snapshotSqliteFrom). Errors: the remote's, kCorrupt, kBusy.
  Result<Snapshot> snapshotRemote(const RelPath& p);

  // Puts snapshot `fd` at `p` on the remote. `expect` speaks of the unit as
  // the pass listed it: absent, or its folded data version. A remote
  // database with a -wal now, or a -journal that holds a transaction (a
  // program on the server has it open, or crashed in it), is not replaced:
  // kBusy, retried by a later pass, since its WAL or journal would be
  // replayed onto the new main file. An empty or zeroed -journal
  // (journal_mode TRUNCATE or PERSIST) does not hold it back. kConflict if the
  // unit is not what `expect` says. Otherwise the main file is replaced
  // atomically (compare-and-swap on its own version), with `progress`
  // (may be null) called as its bytes go: false cuts the copy (kAborted, the
  // remote left as it was, as RemoteFs::replaceFile). It is also asked once
  // before anything is looked at, so a stop requested meanwhile costs no
  // call. Returns the remote's new unit Stat.
  Result<remote::Stat> push(const RelPath& p, int fd, const remote::Expect& expect,
                            const remote::ReplaceOptions& options,
                            const remote::ProgressFn& progress = nullptr);

  // Puts snapshot `fd` at `p` in the cache. `listed` is the cache entry the
  // pass decided on (folded), or nullptr if there was none. A database at
  // `p` is never replaced: the snapshot is applied into it through SQLite
  // (applySqliteFd, checked against listed->meta first), so the programs
  // holding it open keep their connections and see the new content. Nothing
  // at `p`: the snapshot is linked in (Expect absent). Any other file there
  // is kConflict. Errors: applySqlite's (kBusy, kUnsupported, kConflict).
  // Returns the cache's new unit Stat. After an apply the database is
  // snapshotted again: if a program wrote into it in the instant after the
  // apply, the returned Stat's ctime_ns is 0, which matches no real file, so
  // the next pass looks at the content instead of taking the write for ours.
  Result<remote::Stat> install(const RelPath& p, int fd, const remote::Stat* listed,
                               const remote::ReplaceOptions& options);

 private:
  std::string abs(const RelPath& p) const { return cache_root_ + "/" + p; }
  // Whether the cache's `p` is a database (its header, read through the
  // cache's RemoteFs); false if it is not a regular file or is gone.
  Result<bool> isLocalSqliteFile(const RelPath& p);
  // The first bytes of a remote file (fetched whole into a temporary).
  Result<std::string> remoteHead(const RelPath& p);

  remote::RemoteFs& local_;
  remote::RemoteFs& remote_;
  std::string cache_root_;
  SqliteOptions options_;
  std::map<RelPath, bool> local_db_;
  std::map<RelPath, SqliteParts> local_parts_, remote_parts_;
};

}  // namespace hoard::sync
