// SPDX-License-Identifier: MIT
#include "journal/Journal.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "common/RelPath.h"
#include "common/Try.h"
#include "common/UniqueFd.h"
#include "journal/JournalHelpers.h"
#include "journal/Migrations.h"
#include "journal/Sqlite.h"

namespace hoard::journal {

using detail::Db;
using detail::Query;
using detail::beneathRange;
using detail::bindOptHash;
using detail::colHash;
using detail::expectOneRow;
using detail::nowNs;
using detail::validPath;

namespace detail {

int64_t nowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Status validPath(const RelPath& p, std::string_view what) {
  auto ok = validateRelPath(p);
  if (!ok) return tl::unexpected(ok.error().withContext(what));
  return {};
}

// "a/b" -> "a/b/" and "a/b0": every path strictly beneath "a/b" sorts in
// [lo, hi) as bytes, because '0' is '/' + 1. Used for BLOB range scans.
std::pair<std::string, std::string> beneathRange(const RelPath& dir) {
  return {dir + "/", dir + "0"};
}

// Runs a one-row UPDATE/DELETE keyed by id and turns "no row" into kNotFound.
Status expectOneRow(Db& db, Query& q, const std::string& journal, const std::string& what) {
  HOARD_TRY(q.run());
  if (sqlite3_changes64(db.handle()) == 0) {
    return fail(ErrorCode::kNotFound, "journal " + displayPath(journal) + ": " + what);
  }
  return {};
}

void bindOptHash(Query& q, int i, const std::optional<ContentHash>& h) {
  if (h) {
    q.bindBlob(i, h->raw());
  } else {
    q.bindNull(i);
  }
}

Result<std::optional<ContentHash>> colHash(const Query& q, int col, const std::string& path,
                                           std::string_view what) {
  if (q.isNull(col)) return std::nullopt;
  auto h = ContentHash::fromRaw(q.colBlob(col));
  if (!h) {
    return fail(ErrorCode::kCorrupt,
                "journal " + displayPath(path) + ": " + std::string(what) + " is not 32 bytes");
  }
  return *h;
}

}  // namespace detail

namespace {

constexpr int kBusyTimeoutMs = 10000;

// Unwraps a Result into `var` or returns its error from the enclosing function.
#define HOARD_TRY_ASSIGN(var, expr)                               \
  auto var##_result = (expr);                                     \
  if (!var##_result) return tl::unexpected(var##_result.error()); \
  auto& var = *var##_result

#define HOARD_TRY(expr)                                                     \
  do {                                                                      \
    auto hoard_try_status = (expr);                                         \
    if (!hoard_try_status) return tl::unexpected(hoard_try_status.error()); \
  } while (0)

// Reads the 16-byte SQLite header without letting SQLite near the file, so a
// file that is not a database is refused untouched. Returns true if the file
// exists and is non-empty (an empty file is a new database to SQLite).
Result<bool> checkHeader(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return false;
    return failErrno(errno, "journal " + displayPath(path) + ": stat");
  }
  if (!S_ISREG(st.st_mode)) {
    return fail(ErrorCode::kInvalidArgument,
                "journal " + displayPath(path) + " is not a regular file");
  }
  if (st.st_size == 0) return false;
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd) return failErrno(errno, "journal " + displayPath(path) + ": open");
  char header[16] = {};
  ssize_t n = ::pread(fd.get(), header, sizeof header, 0);
  if (n < 0) return failErrno(errno, "journal " + displayPath(path) + ": read header");
  static const char kMagic[16] = "SQLite format 3";  // 15 chars + NUL, as on disk
  if (n != static_cast<ssize_t>(sizeof header) || std::memcmp(header, kMagic, 16) != 0) {
    return fail(ErrorCode::kCorrupt, "journal " + displayPath(path) +
                                         " is not a SQLite database (bad header); "
                                         "refusing to open or overwrite it");
  }
  return true;
}

Error tooNew(const std::string& path, int64_t found) {
  return Error(ErrorCode::kTooNew,
               "journal " + displayPath(path) + " was written by a newer hoard (schema " +
                   std::to_string(found) + ", this hoard knows up to " +
                   std::to_string(Journal::knownSchemaVersion()) + "); upgrade hoard");
}

Status fsyncParentDir(const std::string& path) {
  std::string dir = path;
  size_t slash = dir.rfind('/');
  dir = slash == std::string::npos ? "." : slash == 0 ? "/" : dir.substr(0, slash);
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return failErrno(errno, "journal " + displayPath(path) + ": open parent directory");
  if (::fsync(fd.get()) != 0) {
    return failErrno(errno, "journal " + displayPath(path) + ": fsync parent directory");
  }
  return {};
}

// ---- row mapping ---------------------------------------------------------

constexpr const char* kBaseCols =
    "path, type, size, mode, mtime_ns, ctime_ns, inode, data_version, hash, object, "
    "symlink_target";

// Binds a BaseEntry's columns (kBaseCols order) starting at parameter `first`.
void bindBase(Query& q, int first, const BaseEntry& e) {
  q.bindBlob(first, e.path)
      .bindInt(first + 1, static_cast<int64_t>(e.local.type))
      .bindInt(first + 2, static_cast<int64_t>(e.local.size))
      .bindInt(first + 3, static_cast<int64_t>(e.local.mode))
      .bindInt(first + 4, e.local.mtime_ns)
      .bindInt(first + 5, e.local.ctime_ns)
      .bindInt(first + 6, static_cast<int64_t>(e.local.inode))
      .bindBlob(first + 7, e.data_version);
  bindOptHash(q, first + 8, e.hash);
  bindOptHash(q, first + 9, e.object);
  q.bindBlob(first + 10, e.symlink_target);
}

// Reads a BaseEntry from columns in kBaseCols order starting at `first`.
Result<BaseEntry> readBase(const Query& q, int first, const std::string& journal) {
  BaseEntry e;
  e.path = q.colBlob(first);
  int64_t type = q.colInt(first + 1);
  if (type < 0 || type > static_cast<int64_t>(FileType::kOther)) {
    return fail(ErrorCode::kCorrupt, "journal " + displayPath(journal) + ": base row " +
                                         displayPath(e.path) + " has file type " +
                                         std::to_string(type));
  }
  e.local.type = static_cast<FileType>(type);
  e.local.size = static_cast<uint64_t>(q.colInt(first + 2));
  e.local.mode = static_cast<uint32_t>(q.colInt(first + 3));
  e.local.mtime_ns = q.colInt(first + 4);
  e.local.ctime_ns = q.colInt(first + 5);
  e.local.inode = static_cast<uint64_t>(q.colInt(first + 6));
  e.data_version = q.colBlob(first + 7);
  HOARD_TRY_ASSIGN(hash, colHash(q, first + 8, journal, "base hash"));
  e.hash = hash;
  HOARD_TRY_ASSIGN(object, colHash(q, first + 9, journal, "base object"));
  e.object = object;
  e.symlink_target = q.colBlob(first + 10);
  return e;
}

Result<std::vector<BaseEntry>> readBases(Query& q, const std::string& journal) {
  std::vector<BaseEntry> out;
  for (;;) {
    HOARD_TRY_ASSIGN(row, q.step());
    if (!row) return out;
    HOARD_TRY_ASSIGN(e, readBase(q, 0, journal));
    out.push_back(std::move(e));
  }
}

constexpr const char* kShareCols =
    "id, name, remote_root, cache_root, remote_fsid, remote_mount_source, remote_fstype, "
    "remote_marker_id, state, user_offline, frozen_through_seq, created_at_ns, "
    "remote_mount_point, remote_mount_root, view_root";

Result<ShareRecord> readShare(const Query& q, const std::string& journal) {
  ShareRecord s;
  s.id = q.colInt(0);
  s.name = q.colText(1);
  s.remote_root = q.colBlob(2);
  s.cache_root = q.colBlob(3);
  s.identity.fsid = q.colText(4);
  s.identity.mount_source = q.colText(5);
  s.identity.fstype = q.colText(6);
  s.identity.marker_id = q.colText(7);
  s.identity.mount_point = q.colBlob(12);
  s.identity.mount_root = q.colBlob(13);
  auto state = shareStateFromName(q.colText(8));
  if (!state) {
    return fail(ErrorCode::kCorrupt, "journal " + displayPath(journal) + ": share " + s.name +
                                         " has unknown state " + q.colText(8));
  }
  s.state = *state;
  s.user_offline = q.colInt(9) != 0;
  s.frozen_through_seq = q.colInt(10);
  s.created_at_ns = q.colInt(11);
  s.view_root = q.colBlob(14);
  return s;
}


}  // namespace

// ---- open and migrate ----------------------------------------------------

int Journal::knownSchemaVersion() {
  auto m = detail::migrations();
  return m.empty() ? 0 : m.back().version;
}

Journal::Journal(std::unique_ptr<Db> db, std::string path)
    : db_(std::move(db)), path_(std::move(path)) {}

Journal::~Journal() = default;

Result<std::unique_ptr<Journal>> Journal::open(const std::string& path) {
  HOARD_TRY_ASSIGN(existed, checkHeader(path));
  if (existed) {
    // Probe read-only first: a journal from a newer hoard must not be touched,
    // and even switching to WAL mode would write its header.
    HOARD_TRY_ASSIGN(probe, Db::open(path, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOFOLLOW));
    sqlite3_busy_timeout(probe->handle(), kBusyTimeoutMs);
    HOARD_TRY_ASSIGN(version, probe->scalarInt("read schema version", "PRAGMA user_version"));
    if (version > knownSchemaVersion()) return tl::unexpected(tooNew(path, version));
  }
  HOARD_TRY_ASSIGN(
      db, Db::open(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOFOLLOW));
  sqlite3_busy_timeout(db->handle(), kBusyTimeoutMs);
  // Again on this connection: the file may have changed since the probe.
  HOARD_TRY_ASSIGN(version, db->scalarInt("read schema version", "PRAGMA user_version"));
  if (version > knownSchemaVersion()) return tl::unexpected(tooNew(path, version));

  HOARD_TRY_ASSIGN(mode, db->scalarText("enable WAL mode", "PRAGMA journal_mode=WAL"));
  if (mode != "wal") {
    return fail(ErrorCode::kUnsupported,
                "journal " + displayPath(path) + ": cannot use WAL mode (got " + mode + ")");
  }
  // FULL: the WAL is fsynced at every commit, so a commit survives power loss.
  HOARD_TRY(db->exec("set synchronous=FULL", "PRAGMA synchronous=FULL"));
  HOARD_TRY(db->exec("enable foreign keys", "PRAGMA foreign_keys=ON"));
  HOARD_TRY(db->exec("disable untrusted schema functions", "PRAGMA trusted_schema=OFF"));

  std::unique_ptr<Journal> j(new Journal(std::move(db), path));
  HOARD_TRY(j->migrate());
  if (!existed) HOARD_TRY(fsyncParentDir(path));  // the new file's name must survive too
  HOARD_TRY_ASSIGN(
      id, j->db_->scalarText("read journal id", "SELECT value FROM meta WHERE key = 'journal_id'"));
  j->journal_id_ = id;
  return j;
}

Status Journal::migrate() {
  // A migration that rebuilds a table others refer to (0007) must not let
  // the drop of the old table cascade into its referrers: as SQLite's
  // ALTER TABLE procedure says, foreign keys are off while migrating (the
  // pragma is a no-op inside a transaction) and checked before each commit.
  HOARD_TRY(db_->exec("disable foreign keys to migrate", "PRAGMA foreign_keys=OFF"));
  Status all = migrateEach();
  HOARD_TRY(db_->exec("enable foreign keys", "PRAGMA foreign_keys=ON"));
  return all;
}

Status Journal::migrateEach() {
  for (const detail::Migration& m : detail::migrations()) {
    std::string purpose = "apply migration " + std::string(m.name);
    Status s = inTransaction([&]() -> Status {
      // Re-read inside the write transaction: another process may have
      // migrated since we looked.
      HOARD_TRY_ASSIGN(v, db_->scalarInt("read schema version", "PRAGMA user_version"));
      if (v >= m.version) return {};
      if (v != m.version - 1) {
        return fail(ErrorCode::kCorrupt, "journal " + displayPath(path_) + " has schema " +
                                             std::to_string(v) + ", cannot apply " +
                                             std::string(m.name));
      }
      HOARD_TRY(db_->exec(purpose, std::string(m.sql)));
      HOARD_TRY_ASSIGN(broken, db_->scalarInt(purpose, "SELECT count(*) FROM pragma_foreign_key_check"));
      if (broken != 0)
        return fail(ErrorCode::kCorrupt, "journal " + displayPath(path_) + ": " +
                                             std::string(m.name) + " would leave " +
                                             std::to_string(broken) + " broken references");
      return db_->exec(purpose, "PRAGMA user_version = " + std::to_string(m.version));
    });
    if (!s) return s;
  }
  return {};
}

Result<int> Journal::schemaVersion() {
  HOARD_TRY_ASSIGN(v, db_->scalarInt("read schema version", "PRAGMA user_version"));
  return static_cast<int>(v);
}

// ---- transactions --------------------------------------------------------

Status Journal::inTransaction(const std::function<Status()>& body) {
  if (tx_depth_ == 0) {
    {
      HOARD_TRY_ASSIGN(q, db_->query("begin transaction", "BEGIN IMMEDIATE"));
      HOARD_TRY(q.run());
    }
    db_->setInTransaction(true);
    ++tx_depth_;
    Status s = body();
    --tx_depth_;
    if (s) {
      auto q = db_->query("commit transaction", "COMMIT");
      Status c = q ? q->run() : Status(tl::unexpected(q.error()));
      if (c) {
        db_->setInTransaction(false);
        return c;
      }
      s = c;
    }
    db_->setInTransaction(false);
    // A failed statement may already have rolled the transaction back.
    if (sqlite3_get_autocommit(db_->handle()) == 0) {
      if (auto q = db_->query("roll back transaction", "ROLLBACK")) (void)q->run();
    }
    return s;
  }
  std::string name = "hoard_sp" + std::to_string(tx_depth_);
  HOARD_TRY(db_->exec("begin nested transaction", "SAVEPOINT " + name));
  ++tx_depth_;
  Status s = body();
  --tx_depth_;
  if (sqlite3_get_autocommit(db_->handle()) != 0) {
    // SQLite dropped the whole transaction: the caller's outer part is gone too.
    if (s) {
      return fail(ErrorCode::kAborted,
                  "journal " + displayPath(path_) + ": the transaction was rolled back by SQLite");
    }
    return s;
  }
  if (!s) (void)db_->exec("roll back nested transaction", "ROLLBACK TO " + name);
  Status r = db_->exec("release nested transaction", "RELEASE " + name);
  if (s && !r) return r;
  return s;
}

// ---- shares --------------------------------------------------------------

Status Journal::requireShare(int64_t share_id) {
  HOARD_TRY_ASSIGN(q, db_->query("look up share", "SELECT 1 FROM shares WHERE id = ?1"));
  q.bindInt(1, share_id);
  HOARD_TRY_ASSIGN(row, q.step());
  if (!row) {
    return fail(ErrorCode::kNotFound,
                "journal " + displayPath(path_) + ": no share with id " + std::to_string(share_id));
  }
  return {};
}

Result<int64_t> Journal::addShare(const ShareSpec& spec) {
  if (spec.name.empty() || spec.remote_root.empty() || spec.cache_root.empty()) {
    return fail(ErrorCode::kInvalidArgument,
                "share \"" + spec.name + "\": name, remote root and cache root must be set");
  }
  int64_t id = 0;
  Status s = inTransaction([&]() -> Status {
    HOARD_TRY_ASSIGN(q, db_->query("add share",
                                   "INSERT INTO shares (name, remote_root, cache_root, "
                                   "remote_fsid, remote_mount_source, remote_fstype, "
                                   "remote_marker_id, created_at_ns, remote_mount_point, "
                                   "remote_mount_root, view_root) "
                                   "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"));
    q.bindText(1, spec.name)
        .bindBlob(2, spec.remote_root)
        .bindBlob(3, spec.cache_root)
        .bindText(4, spec.identity.fsid)
        .bindText(5, spec.identity.mount_source)
        .bindText(6, spec.identity.fstype)
        .bindText(7, spec.identity.marker_id)
        .bindInt(8, nowNs())
        .bindBlob(9, spec.identity.mount_point)
        .bindBlob(10, spec.identity.mount_root)
        .bindBlob(11, spec.view_root);
    auto r = q.run();
    if (!r && r.error().code() == ErrorCode::kExists) {
      return fail(ErrorCode::kExists, "journal " + displayPath(path_) + ": a share named \"" +
                                          spec.name + "\" already exists");
    }
    HOARD_TRY(r);
    id = sqlite3_last_insert_rowid(db_->handle());
    return {};
  });
  if (!s) return tl::unexpected(s.error());
  return id;
}

Result<ShareRecord> Journal::share(int64_t share_id) {
  static const std::string sql = std::string("SELECT ") + kShareCols + " FROM shares WHERE id = ?1";
  HOARD_TRY_ASSIGN(q, db_->query("read share", sql.c_str()));
  q.bindInt(1, share_id);
  HOARD_TRY_ASSIGN(row, q.step());
  if (!row) {
    return fail(ErrorCode::kNotFound,
                "journal " + displayPath(path_) + ": no share with id " + std::to_string(share_id));
  }
  return readShare(q, path_);
}

Result<ShareRecord> Journal::shareByName(std::string_view name) {
  static const std::string sql =
      std::string("SELECT ") + kShareCols + " FROM shares WHERE name = ?1";
  HOARD_TRY_ASSIGN(q, db_->query("read share by name", sql.c_str()));
  q.bindText(1, name);
  HOARD_TRY_ASSIGN(row, q.step());
  if (!row) {
    return fail(ErrorCode::kNotFound,
                "journal " + displayPath(path_) + ": no share named \"" + std::string(name) + "\"");
  }
  return readShare(q, path_);
}

Result<std::vector<ShareRecord>> Journal::shares() {
  static const std::string sql = std::string("SELECT ") + kShareCols + " FROM shares ORDER BY id";
  HOARD_TRY_ASSIGN(q, db_->query("list shares", sql.c_str()));
  std::vector<ShareRecord> out;
  for (;;) {
    HOARD_TRY_ASSIGN(row, q.step());
    if (!row) return out;
    HOARD_TRY_ASSIGN(s, readShare(q, path_));
    out.push_back(std::move(s));
  }
}


Status Journal::removeShare(int64_t share_id) {
  return inTransaction([&]() -> Status {
    HOARD_TRY_ASSIGN(q, db_->query("remove share", "DELETE FROM shares WHERE id = ?1"));
    q.bindInt(1, share_id);
    return expectOneRow(*db_, q, path_, "no share with id " + std::to_string(share_id));
  });
}

Status Journal::setShareState(int64_t share_id, ShareState state) {
  return inTransaction([&]() -> Status {
    HOARD_TRY_ASSIGN(q,
                     db_->query("set share state", "UPDATE shares SET state = ?2 WHERE id = ?1"));
    q.bindInt(1, share_id).bindText(2, shareStateName(state));
    HOARD_TRY(expectOneRow(*db_, q, path_, "no share with id " + std::to_string(share_id)));
    if (state == ShareState::kOffline) return {};
    // The disconnection is over: what was made during it is at or below now's mark.
    HOARD_TRY_ASSIGN(hw, highWater());
    HOARD_TRY_ASSIGN(e, db_->query("end the disconnection's snapshots",
                                   "UPDATE snapshots SET ended_through_seq = ?2 "
                                   "WHERE share_id = ?1 AND ended_through_seq IS NULL"));
    e.bindInt(1, share_id).bindInt(2, hw);
    return e.run();
  });
}

Status Journal::setUserOffline(int64_t share_id, bool user_offline) {
  return inTransaction([&]() -> Status {
    HOARD_TRY_ASSIGN(q, db_->query("set share user-offline flag",
                                   "UPDATE shares SET user_offline = ?2 WHERE id = ?1"));
    q.bindInt(1, share_id).bindInt(2, user_offline ? 1 : 0);
    return expectOneRow(*db_, q, path_, "no share with id " + std::to_string(share_id));
  });
}

Status Journal::setShareRoots(int64_t share_id, const std::string& cache_root,
                              const std::string& view_root) {
  if (cache_root.empty())
    return fail(ErrorCode::kInvalidArgument, "a share's cache root cannot be empty");
  return inTransaction([&]() -> Status {
    HOARD_TRY_ASSIGN(q, db_->query("set share roots",
                                   "UPDATE shares SET cache_root = ?2, view_root = ?3 WHERE id = ?1"));
    q.bindInt(1, share_id).bindBlob(2, cache_root).bindBlob(3, view_root);
    return expectOneRow(*db_, q, path_, "no share with id " + std::to_string(share_id));
  });
}

Status Journal::setRemoteIdentity(int64_t share_id, const RemoteIdentity& identity) {
  return inTransaction([&]() -> Status {
    HOARD_TRY_ASSIGN(q, db_->query("set share remote identity",
                                   "UPDATE shares SET remote_fsid = ?2, remote_mount_source = ?3, "
                                   "remote_fstype = ?4, remote_marker_id = ?5, "
                                   "remote_mount_point = ?6, remote_mount_root = ?7 WHERE id = ?1"));
    q.bindInt(1, share_id)
        .bindText(2, identity.fsid)
        .bindText(3, identity.mount_source)
        .bindText(4, identity.fstype)
        .bindText(5, identity.marker_id)
        .bindBlob(6, identity.mount_point)
        .bindBlob(7, identity.mount_root);
    return expectOneRow(*db_, q, path_, "no share with id " + std::to_string(share_id));
  });
}

// ---- pins ----------------------------------------------------------------

Status Journal::pin(int64_t share_id, const RelPath& path, int priority) {
  if (priority < 0 || priority > 1000) {
    return fail(ErrorCode::kInvalidArgument, "pin " + displayPath(path) + ": priority " +
                                                 std::to_string(priority) + " is outside 0..1000");
  }
  HOARD_TRY(validPath(path, "pin " + displayPath(path)));
  return inTransaction([&]() -> Status {
    HOARD_TRY(requireShare(share_id));
    HOARD_TRY_ASSIGN(q,
                     db_->query("pin path",
                                "INSERT INTO pins (share_id, path, priority) VALUES (?1, ?2, ?3) "
                                "ON CONFLICT (share_id, path) DO UPDATE SET priority = ?3"));
    q.bindInt(1, share_id).bindBlob(2, path).bindInt(3, priority);
    return q.run();
  });
}

Status Journal::unpin(int64_t share_id, const RelPath& path) {
  return inTransaction([&]() -> Status {
    HOARD_TRY_ASSIGN(
        q, db_->query("unpin path", "DELETE FROM pins WHERE share_id = ?1 AND path = ?2"));
    q.bindInt(1, share_id).bindBlob(2, path);
    return expectOneRow(*db_, q, path_, displayPath(path) + " is not pinned");
  });
}

Result<std::vector<Pin>> Journal::pins(int64_t share_id) {
  HOARD_TRY_ASSIGN(q, db_->query("list pins",
                                 "SELECT path, priority FROM pins WHERE share_id = ?1 "
                                 "ORDER BY priority DESC, path"));
  q.bindInt(1, share_id);
  std::vector<Pin> out;
  for (;;) {
    HOARD_TRY_ASSIGN(row, q.step());
    if (!row) return out;
    out.push_back(Pin{q.colBlob(0), static_cast<int>(q.colInt(1))});
  }
}

// ---- base ----------------------------------------------------------------

Status Journal::putBase(int64_t share_id, const BaseEntry& entry) {
  return putBase(share_id, std::span<const BaseEntry>(&entry, 1));
}

Status Journal::putBase(int64_t share_id, std::span<const BaseEntry> entries) {
  for (const BaseEntry& e : entries) HOARD_TRY(validPath(e.path, "base " + displayPath(e.path)));
  static const std::string sql =
      std::string("INSERT INTO base (share_id, ") + kBaseCols +
      ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) "
      // An upsert, not INSERT OR REPLACE: REPLACE deletes without firing the
      // delete trigger, which would leave an object's refcount too high.
      "ON CONFLICT (share_id, path) DO UPDATE SET type = ?3, size = ?4, mode = ?5, "
      "mtime_ns = ?6, ctime_ns = ?7, inode = ?8, data_version = ?9, hash = ?10, object = ?11, "
      "symlink_target = ?12";
  return inTransaction([&]() -> Status {
    HOARD_TRY(requireShare(share_id));
    for (const BaseEntry& e : entries) {
      HOARD_TRY_ASSIGN(q, db_->query("put base entry", sql.c_str()));
      q.bindInt(1, share_id);
      bindBase(q, 2, e);
      auto r = q.run();
      if (!r) return tl::unexpected(r.error().withContext("base " + displayPath(e.path)));
    }
    return {};
  });
}

Result<std::optional<BaseEntry>> Journal::getBase(int64_t share_id, const RelPath& path) {
  static const std::string sql =
      std::string("SELECT ") + kBaseCols + " FROM base WHERE share_id = ?1 AND path = ?2";
  HOARD_TRY_ASSIGN(q, db_->query("read base entry", sql.c_str()));
  q.bindInt(1, share_id).bindBlob(2, path);
  HOARD_TRY_ASSIGN(row, q.step());
  if (!row) return std::optional<BaseEntry>();
  HOARD_TRY_ASSIGN(e, readBase(q, 0, path_));
  return std::optional<BaseEntry>(std::move(e));
}

Result<std::vector<BaseEntry>> Journal::listBase(int64_t share_id) {
  return listBaseUnder(share_id, "");
}

Status Journal::forEachBaseUnder(int64_t share_id, const RelPath& dir,
                                 const std::function<Status(const BaseEntry&)>& fn) {
  static const std::string all_sql =
      std::string("SELECT ") + kBaseCols + " FROM base WHERE share_id = ?1 ORDER BY path";
  static const std::string under_sql =
      std::string("SELECT ") + kBaseCols +
      // The outer range [dir, dir0) lets SQLite seek the primary key; the
      // inner test drops siblings such as "dir.x" that sort inside it.
      " FROM base WHERE share_id = ?1 AND path >= ?2 AND path < ?4 "
      "AND (path = ?2 OR path >= ?3) ORDER BY path";
  HOARD_TRY(validPath(dir, "base subtree " + displayPath(dir)));
  auto [lo, hi] = beneathRange(dir);
  HOARD_TRY_ASSIGN(q, dir.empty() ? db_->query("list base", all_sql.c_str())
                                  : db_->query("list base subtree", under_sql.c_str()));
  q.bindInt(1, share_id);
  if (!dir.empty()) q.bindBlob(2, dir).bindBlob(3, lo).bindBlob(4, hi);
  for (;;) {
    HOARD_TRY_ASSIGN(row, q.step());
    if (!row) return {};
    HOARD_TRY_ASSIGN(e, readBase(q, 0, path_));
    HOARD_TRY(fn(e));
  }
}

Result<std::vector<BaseEntry>> Journal::listBaseUnder(int64_t share_id, const RelPath& dir) {
  std::vector<BaseEntry> out;
  HOARD_TRY(forEachBaseUnder(share_id, dir, [&](const BaseEntry& e) -> Status {
    out.push_back(e);
    return {};
  }));
  return out;
}

Result<int64_t> Journal::countBaseFiles(int64_t share_id) {
  HOARD_TRY_ASSIGN(q, db_->query("count base files",
                                 "SELECT count(*) FROM base WHERE share_id = ?1 AND type != ?2"));
  q.bindInt(1, share_id).bindInt(2, static_cast<int64_t>(FileType::kDir));
  HOARD_TRY_ASSIGN(row, q.step());
  if (!row) return int64_t{0};
  return q.colInt(0);
}

Result<bool> Journal::removeBase(int64_t share_id, const RelPath& path) {
  bool removed = false;
  Status s = inTransaction([&]() -> Status {
    HOARD_TRY_ASSIGN(
        q, db_->query("remove base entry", "DELETE FROM base WHERE share_id = ?1 AND path = ?2"));
    q.bindInt(1, share_id).bindBlob(2, path);
    HOARD_TRY(q.run());
    removed = sqlite3_changes64(db_->handle()) > 0;
    return {};
  });
  if (!s) return tl::unexpected(s.error());
  return removed;
}

Result<int64_t> Journal::removeBaseUnder(int64_t share_id, const RelPath& dir) {
  HOARD_TRY(validPath(dir, "base subtree " + displayPath(dir)));
  int64_t n = 0;
  Status s = inTransaction([&]() -> Status {
    auto [lo, hi] = beneathRange(dir);
    HOARD_TRY_ASSIGN(
        q, dir.empty()
               ? db_->query("remove all base entries", "DELETE FROM base WHERE share_id = ?1")
               : db_->query("remove base subtree",
                            "DELETE FROM base WHERE share_id = ?1 AND "
                            "path >= ?2 AND path < ?4 AND (path = ?2 OR path >= ?3)"));
    q.bindInt(1, share_id);
    if (!dir.empty()) q.bindBlob(2, dir).bindBlob(3, lo).bindBlob(4, hi);
    HOARD_TRY(q.run());
    n = sqlite3_changes64(db_->handle());
    return {};
  });
  if (!s) return tl::unexpected(s.error());
  return n;
}

// ---- snapshots -----------------------------------------------------------

Result<int64_t> Journal::takeSnapshot(int64_t share_id, std::string_view label) {
  int64_t id = 0;
  Status s = inTransaction([&]() -> Status {
    HOARD_TRY(requireShare(share_id));
    HOARD_TRY_ASSIGN(hw, highWater());
    HOARD_TRY_ASSIGN(q, db_->query("create snapshot",
                                   "INSERT INTO snapshots (share_id, label, taken_at_ns, "
                                   "through_seq) VALUES (?1, ?2, ?3, ?4)"));
    q.bindInt(1, share_id).bindText(2, label).bindInt(3, nowNs()).bindInt(4, hw);
    HOARD_TRY(q.run());
    id = sqlite3_last_insert_rowid(db_->handle());
    static const std::string copy = std::string("INSERT INTO snapshot_entries (snapshot_id, ") +
                                    kBaseCols + ") SELECT ?1, " + kBaseCols +
                                    " FROM base WHERE share_id = ?2";
    HOARD_TRY_ASSIGN(c, db_->query("copy base into snapshot", copy.c_str()));
    c.bindInt(1, id).bindInt(2, share_id);
    return c.run();
  });
  if (!s) return tl::unexpected(s.error());
  return id;
}

Result<std::vector<SnapshotInfo>> Journal::snapshots(int64_t share_id) {
  HOARD_TRY_ASSIGN(q, db_->query("list snapshots",
                                 "SELECT id, share_id, label, taken_at_ns, through_seq, "
                                 "ended_through_seq FROM snapshots WHERE share_id = ?1 "
                                 "ORDER BY id"));
  q.bindInt(1, share_id);
  std::vector<SnapshotInfo> out;
  for (;;) {
    HOARD_TRY_ASSIGN(row, q.step());
    if (!row) return out;
    SnapshotInfo info{q.colInt(0), q.colInt(1), q.colText(2), q.colInt(3), q.colInt(4), {}};
    if (!q.isNull(5)) info.ended_through_seq = q.colInt(5);
    out.push_back(std::move(info));
  }
}

Result<std::vector<int64_t>> Journal::dropReintegratedSnapshots(int64_t share_id) {
  std::vector<int64_t> dropped;
  Status s = inTransaction([&]() -> Status {
    // Rules 1-3 of Journal.h, one snapshot at a time so the ids can be told.
    HOARD_TRY_ASSIGN(q, db_->query("find reintegrated snapshots",
                                   "SELECT s.id FROM snapshots AS s WHERE s.share_id = ?1 "
                                   "AND s.ended_through_seq IS NOT NULL "
                                   "AND NOT EXISTS (SELECT 1 FROM change_log AS c "
                                   "  WHERE c.share_id = ?1 AND c.seq <= s.ended_through_seq) "
                                   "AND NOT EXISTS (SELECT 1 FROM conflicts AS k "
                                   "  WHERE k.share_id = ?1 AND k.state = 'open') "
                                   "ORDER BY s.id"));
    q.bindInt(1, share_id);
    for (;;) {
      HOARD_TRY_ASSIGN(row, q.step());
      if (!row) break;
      dropped.push_back(q.colInt(0));
    }
    for (int64_t id : dropped) {
      HOARD_TRY_ASSIGN(d, db_->query("drop reintegrated snapshot",
                                     "DELETE FROM snapshots WHERE id = ?1"));
      d.bindInt(1, id);
      HOARD_TRY(d.run());
    }
    return {};
  });
  if (!s) return tl::unexpected(s.error());
  return dropped;
}

Result<std::vector<BaseEntry>> Journal::snapshotEntries(int64_t snapshot_id) {
  {
    HOARD_TRY_ASSIGN(q, db_->query("look up snapshot", "SELECT 1 FROM snapshots WHERE id = ?1"));
    q.bindInt(1, snapshot_id);
    HOARD_TRY_ASSIGN(row, q.step());
    if (!row) {
      return fail(ErrorCode::kNotFound, "journal " + displayPath(path_) + ": no snapshot with id " +
                                            std::to_string(snapshot_id));
    }
  }
  static const std::string sql = std::string("SELECT ") + kBaseCols +
                                 " FROM snapshot_entries WHERE snapshot_id = ?1 ORDER BY path";
  HOARD_TRY_ASSIGN(q, db_->query("read snapshot entries", sql.c_str()));
  q.bindInt(1, snapshot_id);
  return readBases(q, path_);
}

Result<std::optional<BaseEntry>> Journal::snapshotEntry(int64_t snapshot_id, const RelPath& path) {
  static const std::string sql = std::string("SELECT ") + kBaseCols +
                                 " FROM snapshot_entries WHERE snapshot_id = ?1 AND path = ?2";
  HOARD_TRY_ASSIGN(q, db_->query("read snapshot entry", sql.c_str()));
  q.bindInt(1, snapshot_id).bindBlob(2, path);
  HOARD_TRY_ASSIGN(row, q.step());
  if (!row) return std::optional<BaseEntry>();
  HOARD_TRY_ASSIGN(e, readBase(q, 0, path_));
  return std::optional<BaseEntry>(std::move(e));
}

Status Journal::dropSnapshot(int64_t snapshot_id) {
  return inTransaction([&]() -> Status {
    HOARD_TRY_ASSIGN(q, db_->query("drop snapshot", "DELETE FROM snapshots WHERE id = ?1"));
    q.bindInt(1, snapshot_id);
    return expectOneRow(*db_, q, path_, "no snapshot with id " + std::to_string(snapshot_id));
  });
}

// ---- objects -------------------------------------------------------------

namespace {
Result<ObjectInfo> readObject(const Query& q, const std::string& journal) {
  ObjectInfo o;
  HOARD_TRY_ASSIGN(id, colHash(q, 0, journal, "object id"));
  if (!id) return fail(ErrorCode::kCorrupt, "journal " + displayPath(journal) + ": null object id");
  o.id = *id;
  if (!q.isNull(1)) o.size = static_cast<uint64_t>(q.colInt(1));
  o.refcount = q.colInt(2);
  return o;
}
}  // namespace

Result<std::optional<ObjectInfo>> Journal::object(const ContentHash& id) {
  HOARD_TRY_ASSIGN(
      q, db_->query("read object", "SELECT id, size, refcount FROM objects WHERE id = ?1"));
  q.bindBlob(1, id.raw());
  HOARD_TRY_ASSIGN(row, q.step());
  if (!row) return std::optional<ObjectInfo>();
  HOARD_TRY_ASSIGN(o, readObject(q, path_));
  return std::optional<ObjectInfo>(o);
}

Result<std::vector<ObjectInfo>> Journal::unreferencedObjects() {
  HOARD_TRY_ASSIGN(q, db_->query("list unreferenced objects",
                                 "SELECT id, size, refcount FROM objects WHERE refcount = 0 "
                                 "ORDER BY id"));
  std::vector<ObjectInfo> out;
  for (;;) {
    HOARD_TRY_ASSIGN(row, q.step());
    if (!row) return out;
    HOARD_TRY_ASSIGN(o, readObject(q, path_));
    out.push_back(o);
  }
}

Status Journal::forgetObject(const ContentHash& id) {
  return inTransaction([&]() -> Status {
    HOARD_TRY_ASSIGN(info, object(id));
    if (!info) {
      return fail(ErrorCode::kNotFound,
                  "journal " + displayPath(path_) + ": no object " + id.hex());
    }
    if (info->refcount > 0) {
      return fail(ErrorCode::kBusy, "journal " + displayPath(path_) + ": object " + id.hex() +
                                        " is still referenced " + std::to_string(info->refcount) +
                                        " time(s)");
    }
    HOARD_TRY_ASSIGN(
        q, db_->query("forget object", "DELETE FROM objects WHERE id = ?1 AND refcount = 0"));
    q.bindBlob(1, id.raw());
    return q.run();
  });
}

}  // namespace hoard::journal

// ---- intents ---------------------------------------------------------------

namespace hoard::journal {

Result<int64_t> Journal::addIntent(const Intent& intent) {
  HOARD_TRY(validPath(intent.path, "intent at " + displayPath(intent.path)));
  int64_t id = 0;
  Status s = inTransaction([&]() -> Status {
    HOARD_TRY(requireShare(intent.share_id));
    HOARD_TRY_ASSIGN(q, db_->query("add intent",
                                   "INSERT INTO intents (share_id, op, path, to_path, new_hash, "
                                   "created_at_ns, resolver, rule, label) "
                                   "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"));
    q.bindInt(1, intent.share_id).bindText(2, intent.op).bindBlob(3, intent.path);
    if (intent.to_path.empty()) q.bindNull(4);
    else q.bindBlob(4, intent.to_path);
    bindOptHash(q, 5, intent.new_hash);
    q.bindInt(6, nowNs());
    int col = 7;
    for (const std::string* t : {&intent.resolver, &intent.rule, &intent.label}) {
      if (t->empty()) q.bindNull(col++);
      else q.bindText(col++, *t);
    }
    HOARD_TRY(q.run());
    id = sqlite3_last_insert_rowid(db_->handle());
    return {};
  });
  if (!s) return tl::unexpected(s.error());
  return id;
}

Result<std::vector<Intent>> Journal::intents(int64_t share_id) {
  HOARD_TRY_ASSIGN(q, db_->query("list intents",
                                 "SELECT id, op, path, to_path, new_hash, created_at_ns, "
                                 "resolver, rule, label "
                                 "FROM intents WHERE share_id = ?1 ORDER BY id"));
  q.bindInt(1, share_id);
  std::vector<Intent> out;
  for (;;) {
    HOARD_TRY_ASSIGN(row, q.step());
    if (!row) return out;
    Intent i;
    i.id = q.colInt(0);
    i.share_id = share_id;
    i.op = q.colText(1);
    i.path = q.colBlob(2);
    i.to_path = q.colBlob(3);
    HOARD_TRY_ASSIGN(h, colHash(q, 4, path_, "intent hash"));
    i.new_hash = h;
    i.created_at_ns = q.colInt(5);
    i.resolver = q.colText(6);
    i.rule = q.colText(7);
    i.label = q.colText(8);
    out.push_back(std::move(i));
  }
}

Status Journal::removeIntent(int64_t intent_id) {
  return inTransaction([&]() -> Status {
    HOARD_TRY_ASSIGN(q, db_->query("remove intent", "DELETE FROM intents WHERE id = ?1"));
    q.bindInt(1, intent_id);
    return expectOneRow(*db_, q, path_, "intent " + std::to_string(intent_id) + " does not exist");
  });
}

}  // namespace hoard::journal
