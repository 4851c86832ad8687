// SPDX-License-Identifier: MIT
#pragma once

// A SQLite database as one unit of synchronisation (issue 10, first part).
//
// A database NAME lives in up to four files: NAME itself and its companions
// NAME-wal, NAME-shm and NAME-journal. Copied as separate files they tear: a
// main file without its WAL lacks every transaction since the last
// checkpoint, a WAL beside another main file corrupts it, and replacing NAME
// by rename under a program that has it open leaves that program writing into
// a file nobody sees. So:
//  - a database is recognised by its 16-byte header ("SQLite format 3\0"),
//    never by its extension;
//  - its companions are folded into its entry (foldSqliteUnits): they are
//    never sent or fetched on their own, and a change that sits only in the
//    -wal or -journal (the main file's mtime unchanged) changes the unit;
//  - what leaves a database is a consistent snapshot read through SQLite (the
//    backup API from a connection that sees the WAL), never the raw main file;
//  - what arrives in a database that exists is applied through SQLite (the
//    backup API into the live file, under SQLite's own locks), so a program
//    holding it open keeps a valid connection that sees the old content or
//    the new, never a mix.
//
// Threads: every function may be called from any thread; none keeps state.
// Within one process, SQLite's POSIX locks on a file are dropped when *any*
// descriptor of that file is closed: while a function here has a database
// open, the caller must not open and close the same file by other means.

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "common/Error.h"
#include "common/FileMeta.h"
#include "common/Hash.h"
#include "common/RelPath.h"
#include "common/UniqueFd.h"
#include "remote/RemoteFs.h"

namespace hoard::sync {

// The 16 bytes every SQLite 3 database file starts with.
inline constexpr std::string_view kSqliteHeader{"SQLite format 3\0", 16};

enum class SqliteCompanion : uint8_t { kWal, kShm, kJournal };
inline constexpr std::array<SqliteCompanion, 3> kSqliteCompanions = {
    SqliteCompanion::kWal, SqliteCompanion::kShm, SqliteCompanion::kJournal};

// "-wal", "-shm", "-journal".
std::string_view sqliteCompanionSuffix(SqliteCompanion c);

// The companion `c` of database `db`: "a/w.db" -> "a/w.db-wal".
RelPath sqliteCompanionPath(const RelPath& db, SqliteCompanion c);

// If the last component of `p` ends in a companion suffix (and something is
// left before it), the database it would belong to and which companion it
// is: "a/w.db-wal" -> {"a/w.db", kWal}. Says nothing about whether that
// database exists or is one.
struct CompanionOf {
  RelPath db;
  SqliteCompanion which;
};
std::optional<CompanionOf> sqliteCompanionOf(const RelPath& p);

// True if `head` (the first bytes of a file) starts with kSqliteHeader.
bool hasSqliteHeader(std::string_view head);

// True if the file open at `fd` starts with kSqliteHeader (pread at offset 0;
// the fd's offset is left alone). Errors: kIo.
Result<bool> isSqliteFd(int fd);

// True if `abs_path` is a regular file (not followed if a symlink) that
// starts with kSqliteHeader; false if it is absent, not a regular file, or
// shorter than the header. Errors: kIo/kPermission naming the path. Opens and
// closes the file: see the note on POSIX locks above.
Result<bool> isSqliteFile(const std::string& abs_path);

// ---- the unit in a listing --------------------------------------------------

// A database's companions as a listing showed them (absent: nullopt), and the
// main file's own Stat before folding (for compare-and-swap on the main file).
struct SqliteParts {
  remote::Stat main;
  std::optional<remote::Stat> wal, shm, journal;

  const std::optional<remote::Stat>& part(SqliteCompanion c) const;
  std::optional<remote::Stat>& part(SqliteCompanion c);
  // A -wal or -journal exists, even empty: a program may have the database
  // open in WAL mode (the -shm alone says nothing).
  bool live() const { return wal.has_value() || journal.has_value(); }
  // A non-empty -wal or -journal exists: content may sit there.
  bool carriesContent() const {
    return (wal && wal->meta.size > 0) || (journal && journal->meta.size > 0);
  }
};

// The unit's metadata: the main file's, with ctime_ns replaced by a 64-bit
// digest of the main's ctime and the size, mtime and inode of a non-empty
// -wal or -journal, so any write to them changes the unit. Left out, because
// they move without any change of content: the -shm (readers write their
// read marks there), an empty -wal or -journal (a program opened the
// database, or a checkpoint truncated it), and the companions' ctime (SQLite
// running as root chowns a -wal each time it opens one). Without a
// non-empty -wal or -journal the result is `main` itself.
FileMeta sqliteUnitMeta(const FileMeta& main, const SqliteParts& parts);

// The unit's data version, for the same purpose: the main's version with a
// digest of the same companion fields appended; `main_version` itself
// without a non-empty -wal or -journal.
std::string sqliteUnitVersion(const std::string& main_version, const SqliteParts& parts);

// Ordered as the reconciler's listings (a subtree is one range).
using SqliteStatMap = std::map<RelPath, remote::Stat, PathLess>;

// Folds every database's companions into its entry in `listing` (a side's
// walk, keyed by share-relative path): for each regular-file entry named like
// a companion whose database is a regular file of `listing` for which
// `is_db(db)` is true, the companion is removed from `listing` and the
// database's entry gets sqliteUnitMeta / sqliteUnitVersion. Returns, for
// each database that had companions, its parts (with the unfolded main).
// `is_db` is called at most once per candidate database; it is the caller's
// way of reading the header (a local file directly, a remote one fetched);
// when it cannot tell, it should say true (a companion left out for a pass
// is harmless, a WAL sent as a file is not).
// A companion-named file whose database is absent from `listing` (the
// database was deleted while a program had it open) is removed too when
// `is_orphan(path, which)` says it is one (see hasSqliteCompanionMagic); a
// null `is_orphan` keeps them all.
std::map<RelPath, SqliteParts> foldSqliteUnits(
    SqliteStatMap& listing, const std::function<bool(const RelPath&)>& is_db,
    const std::function<bool(const RelPath&, SqliteCompanion)>& is_orphan = nullptr);

// True if `head` (a file's first bytes) is what SQLite writes at the start of
// companion `c`: the WAL magic (0x377f0682/3), the rollback journal's
// (d9d505f920a163d7; a persisted journal's zeroed header is not recognised),
// or a WAL index header (version 3007000). For orphans only: a
// companion beside its database is recognised by the database's header.
bool hasSqliteCompanionMagic(SqliteCompanion c, std::string_view head);

// ---- snapshots ----------------------------------------------------------------

struct SqliteOptions {
  // How long a call waits for another connection's lock (a writer in
  // rollback-journal mode, a checkpoint, ...) before giving up with kBusy.
  int busy_timeout_ms = 5000;
};

// Writes a consistent copy of the database at `db_path` (absolute; a symlink
// is not followed) into `out_path`, which must not exist or be empty: every
// page is read in one read transaction by SQLite's backup API from a
// read-only connection, so committed transactions still in the -wal are
// included and a writer's uncommitted ones are not. The database files are
// not modified (a -shm beside an existing -wal may be created, as any reader
// does). A hot journal (a writer crashed mid-transaction), and a WAL-format
// database without a -wal (nobody has it open; a reader would leave an
// empty -wal and a -shm behind), are read from a private copy instead,
// checked not to have moved meanwhile (kBusy). The copy keeps the
// database's journal mode and page size.
// Errors: kBusy (a writer held its lock past the timeout), kCorrupt (not a
// database, or damaged), kNotFound, kIo; `out_path` may be left partly
// written (the caller removes it).
Status snapshotSqlite(const std::string& db_path, const std::string& out_path,
                      const SqliteOptions& options = {});

// snapshotSqlite into a new file in directory `tmp_dir` (named
// `.hoard-tmp-sqlite-*`, which walks hide), returned open read-write and
// already unlinked: it vanishes when closed. Use tmp_dir on the filesystem
// the snapshot is going to (the cache root for pulls).
Result<UniqueFd> snapshotSqliteToFd(const std::string& db_path, const std::string& tmp_dir,
                                    const SqliteOptions& options = {});

// A consistent snapshot of a database given as copies of its files (fetched
// from a remote, where SQLite cannot be opened in place): `main_fd`, and the
// -wal's and -journal's copies when the remote had them (-1 otherwise), all
// read from offset 0. They are written as a private database in `tmp_dir`,
// opened read-write there (SQLite recovers the WAL and rolls back a hot
// journal as any opener would) and snapshotted; the private files are
// removed. The caller makes sure the copies belong together (the main file
// did not change while the companions were fetched). Returned as
// snapshotSqliteToFd's. Errors: as snapshotSqlite.
Result<UniqueFd> snapshotSqliteCopies(int main_fd, int wal_fd, int journal_fd,
                                      const std::string& tmp_dir, const SqliteOptions& options = {});

// The content hash of a database snapshot (the file at `fd`, from offset 0):
// BLAKE2b of its bytes with the header fields SQLite rewrites without any
// change of content left out (file change counter, schema cookie,
// version-valid-for, library version, and the WAL/rollback format bytes), so
// two snapshots of the same pages hash alike whichever connection, checkpoint
// or backup produced them. Errors: kIo; kCorrupt if shorter than a header.
Result<ContentHash> hashSqliteSnapshot(int fd, std::string_view what);

// A consistent snapshot of the database `db` on `fs`, where SQLite cannot
// be opened in place (the remote, behind RemoteFs and its deadlines): the
// main file is fetched, then its -wal and -journal if present, then the main
// file is looked at again; if it moved (a checkpoint or a writer meanwhile)
// everything is fetched again, up to three times, then kBusy. The copies are
// recovered and snapshotted by snapshotSqliteCopies in `tmp_dir`. A -wal is
// self-checking (salted, checksummed frames), so a copy taken while a
// program appends to it yields the transactions committed up to some
// instant, never a torn one.
struct FetchedSqlite {
  UniqueFd snapshot;  // unlinked, open read-write, offset 0
  SqliteParts parts;  // as fetched; parts.main is the main file's Stat as copied
};
Result<FetchedSqlite> snapshotSqliteFrom(remote::RemoteFs& fs, const RelPath& db,
                                         const std::string& tmp_dir,
                                         const SqliteOptions& options = {});

// ---- applying ----------------------------------------------------------------

// Makes the live database at `live_path` (absolute, an existing database,
// possibly open in other programs) hold the content of the database at
// `src_path`, through SQLite: a read-write connection to `live_path` runs the
// backup API from `src_path` in one step, which takes SQLite's write lock
// (and, in rollback-journal mode, the exclusive lock) as any writer does and
// commits once. Other connections stay valid and see the old content until
// the commit and the new one after it; the live database keeps its journal
// mode. `expect`, if set, is checked just before (the unit's folded metadata,
// as sqliteUnitMeta of a fresh look at the files): a mismatch is kConflict
// and nothing is written. Errors: kBusy (a writer kept its lock past the
// timeout: call again later), kConflict, kUnsupported (SQLite cannot write a
// WAL database with another page size in place: wait until it is closed),
// kCorrupt, kNotFound, kIo.
Status applySqlite(const std::string& src_path, const std::string& live_path,
                   const std::optional<FileMeta>& expect = std::nullopt,
                   const SqliteOptions& options = {});

// applySqlite from a snapshot open at `src_fd` (read from offset 0; written
// as a private file in `tmp_dir` first, since SQLite opens by name).
Status applySqliteFd(int src_fd, const std::string& tmp_dir, const std::string& live_path,
                     const std::optional<FileMeta>& expect = std::nullopt,
                     const SqliteOptions& options = {});

// The unit's metadata as it is now on the local filesystem: lstat of
// `abs_path` and its -wal and -journal, folded by sqliteUnitMeta. kNotFound
// if the main file is absent.
Result<FileMeta> sqliteUnitMetaAt(const std::string& abs_path);

}  // namespace hoard::sync
