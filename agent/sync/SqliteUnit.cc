// SPDX-License-Identifier: MIT
#include "sync/SqliteUnit.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>
#include <vector>

namespace hoard::sync {

namespace {

constexpr std::string_view kPrivatePrefix = ".hoard-tmp-sqlite-";

Error sqliteError(sqlite3* db, int rc, std::string_view what) {
  const char* msg = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  std::string text = std::string(what) + ": " + (msg != nullptr ? msg : sqlite3_errstr(rc));
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Error(ErrorCode::kBusy, text + " (another program holds the database's lock)");
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
      return Error(ErrorCode::kCorrupt, text);
    case SQLITE_CANTOPEN:
      return Error(ErrorCode::kNotFound, text);
    case SQLITE_PERM:
    case SQLITE_AUTH:
      return Error(ErrorCode::kPermission, text);
    case SQLITE_FULL:
      return Error(ErrorCode::kNoSpace, text);
    default:
      return Error(ErrorCode::kIo, text);
  }
}

// One connection, closed on destruction.
class Conn {
 public:
  Conn() = default;
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;
  ~Conn() {
    if (db_ != nullptr) sqlite3_close_v2(db_);
  }
  Status open(const std::string& path, int flags, const SqliteOptions& options,
              std::string_view what) {
    int rc = sqlite3_open_v2(path.c_str(), &db_, flags | SQLITE_OPEN_NOFOLLOW, nullptr);
    if (rc != SQLITE_OK) return tl::unexpected(sqliteError(db_, rc, what));
    sqlite3_extended_result_codes(db_, 1);
    sqlite3_busy_timeout(db_, options.busy_timeout_ms);
    return {};
  }
  Status exec(const char* sql, std::string_view what) {
    int rc = sqlite3_exec(db_, sql, nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) return tl::unexpected(sqliteError(db_, rc, what));
    return {};
  }
  sqlite3* get() const { return db_; }

 private:
  sqlite3* db_ = nullptr;
};

// Copies the whole of `src` (from offset 0) to `dst` (from offset 0).
Status copyAll(int src, int dst, std::string_view what) {
  std::vector<char> buf(1 << 16);
  off_t off = 0;
  for (;;) {
    ssize_t n = ::pread(src, buf.data(), buf.size(), off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return failErrno(errno, "read " + std::string(what));
    }
    if (n == 0) return {};
    for (ssize_t done = 0; done < n;) {
      ssize_t w = ::pwrite(dst, buf.data() + done, static_cast<size_t>(n - done), off + done);
      if (w < 0) {
        if (errno == EINTR) continue;
        return failErrno(errno, "write " + std::string(what));
      }
      done += w;
    }
    off += n;
  }
}

// A private database file `.hoard-tmp-sqlite-XXXXXX` in a directory, removed
// with its companions on destruction.
class PrivateDb {
 public:
  PrivateDb() = default;
  PrivateDb(const PrivateDb&) = delete;
  PrivateDb& operator=(const PrivateDb&) = delete;
  ~PrivateDb() {
    if (path_.empty()) return;
    ::unlink(path_.c_str());
    for (SqliteCompanion c : kSqliteCompanions)
      ::unlink((path_ + std::string(sqliteCompanionSuffix(c))).c_str());
  }
  // Creates the empty file; its fd is kept open (fd()).
  Status create(const std::string& dir) {
    std::string name = dir + "/" + std::string(kPrivatePrefix) + "XXXXXX";
    int raw = ::mkostemp(name.data(), O_CLOEXEC);
    if (raw < 0) return failErrno(errno, "create a temporary database in " + displayPath(dir));
    fd_.reset(raw);
    path_ = name;
    return {};
  }
  // Writes `src` as this database's companion `c`.
  Status writeCompanion(SqliteCompanion c, int src) {
    std::string name = path_ + std::string(sqliteCompanionSuffix(c));
    UniqueFd fd(::open(name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (!fd) return failErrno(errno, "create " + displayPath(name));
    return copyAll(src, fd.get(), displayPath(name));
  }
  const std::string& path() const { return path_; }
  int fd() const { return fd_.get(); }
  UniqueFd takeFd() { return std::move(fd_); }

 private:
  std::string path_;
  UniqueFd fd_;
};

// The backup API, all pages in one step: one read transaction on the source,
// one write transaction on the destination.
// `rc_out`, if set, receives SQLite's (extended) result code.
Status backupAll(Conn& dest, Conn& src, std::string_view what, int* rc_out = nullptr) {
  sqlite3_backup* b = sqlite3_backup_init(dest.get(), "main", src.get(), "main");
  if (b == nullptr) {
    int rc = sqlite3_errcode(dest.get());
    if (rc_out != nullptr) *rc_out = rc;
    return tl::unexpected(sqliteError(dest.get(), rc, what));
  }
  int rc = sqlite3_backup_step(b, -1);
  int fin = sqlite3_backup_finish(b);
  if (rc == SQLITE_DONE) rc = fin;
  if (rc_out != nullptr) *rc_out = rc;
  if (rc == SQLITE_DONE || rc == SQLITE_OK) return {};
  // The step's error is the source's or the destination's; the finish
  // leaves it on the destination connection.
  const char* msg = sqlite3_errmsg(src.get());
  if (sqlite3_errcode(src.get()) == SQLITE_OK) msg = sqlite3_errmsg(dest.get());
  Error e = sqliteError(nullptr, rc, what);
  return tl::unexpected(Error(e.code(), e.message() + " (" + (msg ? msg : "") + ")"));
}

// One attempt: a connection to `db_path` with `flags`, backed up into
// `out_path`.
Status snapshotWith(const std::string& db_path, int flags, const std::string& out_path,
                    const SqliteOptions& options, int* rc_out = nullptr) {
  const std::string what = "snapshot the database " + displayPath(db_path);
  Conn src;
  if (Status st = src.open(db_path, flags, options, what); !st) return st;
  Conn dest;
  if (Status st = dest.open(out_path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, options,
                            "open the snapshot " + displayPath(out_path));
      !st)
    return st;
  // A private file read once: no journal, no syncs (the caller syncs what it keeps).
  if (Status st = dest.exec("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF", what); !st)
    return st;
  return backupAll(dest, src, what, rc_out);
}

// lstat of an absolute path as a remote::Stat (meta only); nullopt if absent.
Result<std::optional<remote::Stat>> lstatAbs(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return std::optional<remote::Stat>();
    return failErrno(errno, "stat " + displayPath(path));
  }
  remote::Stat s;
  s.meta = FileMeta::fromStat(st);
  return std::optional<remote::Stat>(s);
}

Result<SqliteParts> partsAt(const std::string& abs_path) {
  auto main = lstatAbs(abs_path);
  if (!main) return tl::unexpected(main.error());
  if (!*main) return fail(ErrorCode::kNotFound, displayPath(abs_path) + " does not exist");
  SqliteParts parts;
  parts.main = **main;
  for (SqliteCompanion c : kSqliteCompanions) {
    auto st = lstatAbs(abs_path + std::string(sqliteCompanionSuffix(c)));
    if (!st) return tl::unexpected(st.error());
    parts.part(c) = *st;
  }
  return parts;
}

void hashMeta(Hasher& h, const FileMeta& m) {
  const int64_t fields[] = {static_cast<int64_t>(m.size), m.mtime_ns, m.ctime_ns,
                            static_cast<int64_t>(m.inode)};
  h.update(fields, sizeof(fields));
}

// The fields of a non-empty -wal and -journal that move when they are
// written (see sqliteUnitMeta for what is left out and why).
void hashCompanions(Hasher& h, const SqliteParts& parts) {
  for (const auto* part : {&parts.wal, &parts.journal}) {
    const bool there = part->has_value() && (*part)->meta.size > 0;
    const char tag = there ? 1 : 0;
    h.update(&tag, 1);
    if (!there) continue;
    const FileMeta& m = (*part)->meta;
    const int64_t fields[] = {static_cast<int64_t>(m.size), m.mtime_ns,
                              static_cast<int64_t>(m.inode)};
    h.update(fields, sizeof(fields));
  }
}

}  // namespace

std::string_view sqliteCompanionSuffix(SqliteCompanion c) {
  switch (c) {
    case SqliteCompanion::kWal: return "-wal";
    case SqliteCompanion::kShm: return "-shm";
    case SqliteCompanion::kJournal: return "-journal";
  }
  return "-wal";
}

RelPath sqliteCompanionPath(const RelPath& db, SqliteCompanion c) {
  return db + std::string(sqliteCompanionSuffix(c));
}

std::optional<CompanionOf> sqliteCompanionOf(const RelPath& p) {
  std::string_view name = baseName(p);
  for (SqliteCompanion c : kSqliteCompanions) {
    std::string_view suffix = sqliteCompanionSuffix(c);
    if (name.size() > suffix.size() && name.ends_with(suffix))
      return CompanionOf{p.substr(0, p.size() - suffix.size()), c};
  }
  return std::nullopt;
}

bool hasSqliteHeader(std::string_view head) { return head.starts_with(kSqliteHeader); }

Result<bool> isSqliteFd(int fd) {
  char head[16];
  size_t got = 0;
  while (got < sizeof(head)) {
    ssize_t n = ::pread(fd, head + got, sizeof(head) - got, static_cast<off_t>(got));
    if (n < 0) {
      if (errno == EINTR) continue;
      return failErrno(errno, "read a file's header");
    }
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  return hasSqliteHeader(std::string_view(head, got));
}

Result<bool> isSqliteFile(const std::string& abs_path) {
  UniqueFd fd(::open(abs_path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
  if (!fd) {
    if (errno == ENOENT || errno == ELOOP || errno == ENXIO) return false;
    return failErrno(errno, "open " + displayPath(abs_path));
  }
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return failErrno(errno, "stat " + displayPath(abs_path));
  if (!S_ISREG(st.st_mode)) return false;
  auto is = isSqliteFd(fd.get());
  if (!is) return tl::unexpected(is.error().withContext(displayPath(abs_path)));
  return is;
}

const std::optional<remote::Stat>& SqliteParts::part(SqliteCompanion c) const {
  switch (c) {
    case SqliteCompanion::kWal: return wal;
    case SqliteCompanion::kShm: return shm;
    case SqliteCompanion::kJournal: return journal;
  }
  return wal;
}

std::optional<remote::Stat>& SqliteParts::part(SqliteCompanion c) {
  return const_cast<std::optional<remote::Stat>&>(std::as_const(*this).part(c));
}

FileMeta sqliteUnitMeta(const FileMeta& main, const SqliteParts& parts) {
  if (!parts.carriesContent()) return main;
  Hasher h;
  h.update("hoard-sqlite-unit-meta");
  hashMeta(h, main);
  hashCompanions(h, parts);
  ContentHash d = h.finish();
  FileMeta out = main;
  std::memcpy(&out.ctime_ns, d.bytes.data(), sizeof(out.ctime_ns));
  return out;
}

std::string sqliteUnitVersion(const std::string& main_version, const SqliteParts& parts) {
  if (!parts.carriesContent()) return main_version;
  Hasher h;
  h.update("hoard-sqlite-unit-version");
  hashCompanions(h, parts);
  return main_version + "+sqlite:" + h.finish().hex();
}

std::map<RelPath, SqliteParts> foldSqliteUnits(
    SqliteStatMap& listing, const std::function<bool(const RelPath&)>& is_db,
    const std::function<bool(const RelPath&, SqliteCompanion)>& is_orphan) {
  std::map<RelPath, bool> known;  // candidate database -> is one
  std::map<RelPath, SqliteParts> units;
  for (auto it = listing.begin(); it != listing.end();) {
    auto comp = sqliteCompanionOf(it->first);
    if (!comp || it->second.meta.type != FileType::kFile) {
      ++it;
      continue;
    }
    auto db = listing.find(comp->db);
    if (db == listing.end()) {
      if (is_orphan && is_orphan(it->first, comp->which)) {
        it = listing.erase(it);
      } else {
        ++it;
      }
      continue;
    }
    if (db->second.meta.type != FileType::kFile) {
      ++it;
      continue;
    }
    auto k = known.find(comp->db);
    if (k == known.end()) k = known.emplace(comp->db, is_db(comp->db)).first;
    if (!k->second) {
      ++it;
      continue;
    }
    SqliteParts& parts = units[comp->db];
    parts.part(comp->which) = std::move(it->second);
    it = listing.erase(it);
  }
  for (auto& [db, parts] : units) {
    remote::Stat& st = listing.at(db);
    parts.main = st;
    st.meta = sqliteUnitMeta(parts.main.meta, parts);
    st.data_version = sqliteUnitVersion(parts.main.data_version, parts);
  }
  return units;
}

bool hasSqliteCompanionMagic(SqliteCompanion c, std::string_view head) {
  auto u8 = [&](size_t i) { return static_cast<uint8_t>(head[i]); };
  switch (c) {
    case SqliteCompanion::kWal:
      return head.size() >= 4 && u8(0) == 0x37 && u8(1) == 0x7f && u8(2) == 0x06 &&
             (u8(3) == 0x82 || u8(3) == 0x83);
    case SqliteCompanion::kJournal:
      return head.starts_with(std::string_view("\xd9\xd5\x05\xf9\x20\xa1\x63\xd7", 8));
    case SqliteCompanion::kShm: {
      if (head.size() < 4) return false;
      const uint32_t le = u8(0) | u8(1) << 8 | u8(2) << 16 | static_cast<uint32_t>(u8(3)) << 24;
      const uint32_t be = u8(3) | u8(2) << 8 | u8(1) << 16 | static_cast<uint32_t>(u8(0)) << 24;
      return le == 3007000 || be == 3007000;
    }
  }
  return false;
}

namespace {

// The private-copy way to a snapshot: the main file and its -wal and
// -journal are copied beside `out_path` and that copy is opened read-write
// (recovered), so nothing is created or changed beside the user's database.
// The unit must not move during the copy (else kBusy).
Status snapshotViaCopy(const std::string& db_path, const std::string& out_path,
                       const SqliteOptions& options) {
  auto before = partsAt(db_path);
  if (!before) return tl::unexpected(before.error());
  std::string dir(parentOf(out_path));
  if (out_path.find('/') == std::string::npos) dir = ".";
  PrivateDb copy;
  if (Status c = copy.create(dir); !c) return c;
  {
    UniqueFd main(::open(db_path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!main) return failErrno(errno, "open " + displayPath(db_path));
    if (Status c = copyAll(main.get(), copy.fd(), displayPath(db_path)); !c) return c;
  }
  for (SqliteCompanion c : {SqliteCompanion::kWal, SqliteCompanion::kJournal}) {
    if (!before->part(c)) continue;
    std::string name = db_path + std::string(sqliteCompanionSuffix(c));
    UniqueFd fd(::open(name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd) {
      if (errno == ENOENT) continue;  // gone meanwhile: the check below decides
      return failErrno(errno, "open " + displayPath(name));
    }
    if (Status w = copy.writeCompanion(c, fd.get()); !w) return w;
  }
  auto after = partsAt(db_path);
  if (!after) return tl::unexpected(after.error());
  if (sqliteUnitMeta(after->main.meta, *after) != sqliteUnitMeta(before->main.meta, *before))
    return fail(ErrorCode::kBusy, "the database " + displayPath(db_path) +
                                      " changed while it was being copied; try again");
  if (::truncate(out_path.c_str(), 0) != 0 && errno != ENOENT)
    return failErrno(errno, "truncate " + displayPath(out_path));
  Status again = snapshotWith(copy.path(), SQLITE_OPEN_READWRITE, out_path, options);
  if (!again) return tl::unexpected(again.error().withContext(displayPath(db_path)));
  return again;
}

// A WAL-format database (header bytes 18-19 are 2) without a -wal: no
// program has it open, and a read-only connection would leave an empty -wal
// and a -shm behind in the user's folder.
bool walFormatWithoutWal(const std::string& db_path) {
  UniqueFd fd(::open(db_path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK));
  if (!fd) return false;
  unsigned char head[20];
  if (::pread(fd.get(), head, sizeof(head), 0) != static_cast<ssize_t>(sizeof(head))) return false;
  if (std::memcmp(head, kSqliteHeader.data(), kSqliteHeader.size()) != 0) return false;
  if (head[18] != 2 && head[19] != 2) return false;
  struct stat st;
  return ::lstat((db_path + "-wal").c_str(), &st) != 0 && errno == ENOENT;
}

}  // namespace

Status snapshotSqlite(const std::string& db_path, const std::string& out_path,
                      const SqliteOptions& options) {
  if (walFormatWithoutWal(db_path)) return snapshotViaCopy(db_path, out_path, options);
  int rc = SQLITE_OK;
  Status st = snapshotWith(db_path, SQLITE_OPEN_READONLY, out_path, options, &rc);
  if (st) return st;
  // A read-only connection cannot roll back a hot journal (a writer crashed
  // mid-transaction) or build a WAL index it may not create; SQLite says so
  // with SQLITE_READONLY_*. Then a private copy of the files is recovered
  // instead, leaving the user's files as they are.
  if ((rc & 0xff) != SQLITE_READONLY) return st;
  return snapshotViaCopy(db_path, out_path, options);
}

Result<UniqueFd> snapshotSqliteToFd(const std::string& db_path, const std::string& tmp_dir,
                                    const SqliteOptions& options) {
  PrivateDb out;
  if (Status c = out.create(tmp_dir); !c) return tl::unexpected(c.error());
  if (Status st = snapshotSqlite(db_path, out.path(), options); !st)
    return tl::unexpected(st.error());
  return out.takeFd();  // out's destructor unlinks the name
}

Result<UniqueFd> snapshotSqliteCopies(int main_fd, int wal_fd, int journal_fd,
                                      const std::string& tmp_dir, const SqliteOptions& options) {
  PrivateDb copy;
  if (Status c = copy.create(tmp_dir); !c) return tl::unexpected(c.error());
  if (Status c = copyAll(main_fd, copy.fd(), "the database's copy"); !c)
    return tl::unexpected(c.error());
  if (wal_fd >= 0) {
    if (Status c = copy.writeCompanion(SqliteCompanion::kWal, wal_fd); !c)
      return tl::unexpected(c.error());
  }
  if (journal_fd >= 0) {
    if (Status c = copy.writeCompanion(SqliteCompanion::kJournal, journal_fd); !c)
      return tl::unexpected(c.error());
  }
  auto is = isSqliteFd(copy.fd());
  if (!is) return tl::unexpected(is.error());
  if (!*is) return fail(ErrorCode::kCorrupt, "the fetched file is not a SQLite database");
  PrivateDb out;
  if (Status c = out.create(tmp_dir); !c) return tl::unexpected(c.error());
  if (Status st = snapshotWith(copy.path(), SQLITE_OPEN_READWRITE, out.path(), options); !st)
    return tl::unexpected(st.error());
  return out.takeFd();
}

namespace {

Result<UniqueFd> anonTempIn(const std::string& dir) {
  UniqueFd fd(::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600));
  if (fd) return fd;
  std::string name = dir + "/" + std::string(kPrivatePrefix) + "XXXXXX";
  int raw = ::mkostemp(name.data(), O_CLOEXEC);
  if (raw < 0) return failErrno(errno, "create a temporary file in " + displayPath(dir));
  ::unlink(name.c_str());
  return UniqueFd(raw);
}

}  // namespace

Result<FetchedSqlite> snapshotSqliteFrom(remote::RemoteFs& fs, const RelPath& db,
                                         const std::string& tmp_dir,
                                         const SqliteOptions& options) {
  for (int attempt = 0; attempt < 3; ++attempt) {
    FetchedSqlite out;
    auto main = anonTempIn(tmp_dir);
    if (!main) return tl::unexpected(main.error());
    auto got = fs.fetchFile(db, main->get(), nullptr);
    if (!got) {
      if (got.error().code() == ErrorCode::kBusy) continue;
      return tl::unexpected(got.error());
    }
    out.parts.main = *got;
    UniqueFd copies[2];
    bool moved = false;
    const SqliteCompanion kinds[2] = {SqliteCompanion::kWal, SqliteCompanion::kJournal};
    for (int i = 0; i < 2 && !moved; ++i) {
      const RelPath name = sqliteCompanionPath(db, kinds[i]);
      auto st = fs.lstat(name);
      if (!st) {
        if (st.error().code() == ErrorCode::kNotFound) continue;
        return tl::unexpected(st.error());
      }
      if (st->meta.type != FileType::kFile) continue;
      auto tmp = anonTempIn(tmp_dir);
      if (!tmp) return tl::unexpected(tmp.error());
      auto c = fs.fetchFile(name, tmp->get(), nullptr);
      if (!c) {
        if (c.error().code() == ErrorCode::kNotFound) continue;  // committed and gone meanwhile
        // A -wal being appended to is still a consistent prefix: retry only
        // if the fetch itself could not finish.
        if (c.error().code() == ErrorCode::kBusy) {
          moved = true;
          break;
        }
        return tl::unexpected(c.error());
      }
      out.parts.part(kinds[i]) = *c;
      copies[i] = std::move(*tmp);
    }
    if (moved) continue;
    if (auto shm = fs.lstat(sqliteCompanionPath(db, SqliteCompanion::kShm)); shm)
      out.parts.shm = *shm;
    auto again = fs.lstat(db);
    if (!again) return tl::unexpected(again.error());
    if (again->data_version != out.parts.main.data_version) continue;
    auto snap = snapshotSqliteCopies(main->get(), copies[0] ? copies[0].get() : -1,
                                     copies[1] ? copies[1].get() : -1, tmp_dir, options);
    if (!snap) return tl::unexpected(snap.error().withContext(displayPath(db)));
    out.snapshot = std::move(*snap);
    return out;
  }
  return fail(ErrorCode::kBusy,
              "the database " + displayPath(db) + " kept changing while it was fetched; try again");
}

Result<ContentHash> hashSqliteSnapshot(int fd, std::string_view what) {
  char head[100];
  size_t got = 0;
  while (got < sizeof(head)) {
    ssize_t n = ::pread(fd, head + got, sizeof(head) - got, static_cast<off_t>(got));
    if (n < 0) {
      if (errno == EINTR) continue;
      return failErrno(errno, "read " + std::string(what));
    }
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  if (got < sizeof(head) || !hasSqliteHeader(std::string_view(head, got)))
    return fail(ErrorCode::kCorrupt, std::string(what) + " is not a SQLite database");
  // Bookkeeping SQLite rewrites on its own (https://sqlite.org/fileformat.html
  // 1.3): read/write format versions (WAL or not), the file change counter,
  // the schema cookie, version-valid-for and the library's version number.
  for (auto [from, to] : {std::pair{18, 20}, {24, 28}, {40, 44}, {92, 100}})
    std::memset(head + from, 0, static_cast<size_t>(to - from));
  Hasher h;
  h.update("hoard-sqlite-snapshot");
  h.update(head, sizeof(head));
  std::vector<char> buf(1 << 16);
  off_t off = sizeof(head);
  for (;;) {
    ssize_t n = ::pread(fd, buf.data(), buf.size(), off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return failErrno(errno, "read " + std::string(what));
    }
    if (n == 0) break;
    h.update(buf.data(), static_cast<size_t>(n));
    off += n;
  }
  return h.finish();
}

Status applySqlite(const std::string& src_path, const std::string& live_path,
                   const std::optional<FileMeta>& expect, const SqliteOptions& options) {
  const std::string what = "apply a new version to the database " + displayPath(live_path);
  auto is = isSqliteFile(live_path);
  if (!is) return tl::unexpected(is.error());
  if (!*is) {
    auto st = lstatAbs(live_path);
    if (st && !*st) return fail(ErrorCode::kNotFound, displayPath(live_path) + " does not exist");
    if (!st || (*st)->meta.type != FileType::kFile || (*st)->meta.size != 0)
      return fail(ErrorCode::kConflict,
                  displayPath(live_path) + " is no longer a SQLite database; not replaced");
  }
  Conn src;
  if (Status st = src.open(src_path, SQLITE_OPEN_READONLY, options, what); !st) return st;
  if (expect) {
    auto now = sqliteUnitMetaAt(live_path);
    if (!now) return tl::unexpected(now.error());
    if (*now != *expect)
      return fail(ErrorCode::kConflict, displayPath(live_path) +
                                            " changed in the cache while syncing; not replaced");
  }
  Conn dest;
  if (Status st = dest.open(live_path, SQLITE_OPEN_READWRITE, options, what); !st) return st;
  Status done = backupAll(dest, src, what);
  if (!done && (sqlite3_errcode(dest.get()) & 0xff) == SQLITE_READONLY)
    return fail(ErrorCode::kUnsupported,
                displayPath(live_path) +
                    ": SQLite cannot write this version into the open WAL database in place (the "
                    "page sizes differ); it waits until the database is closed");
  return done;
}

Status applySqliteFd(int src_fd, const std::string& tmp_dir, const std::string& live_path,
                     const std::optional<FileMeta>& expect, const SqliteOptions& options) {
  PrivateDb copy;
  if (Status c = copy.create(tmp_dir); !c) return c;
  if (Status c = copyAll(src_fd, copy.fd(), "the new version of " + displayPath(live_path)); !c)
    return c;
  return applySqlite(copy.path(), live_path, expect, options);
}

Result<FileMeta> sqliteUnitMetaAt(const std::string& abs_path) {
  auto parts = partsAt(abs_path);
  if (!parts) return tl::unexpected(parts.error());
  return sqliteUnitMeta(parts->main.meta, *parts);
}

}  // namespace hoard::sync
