// SPDX-License-Identifier: MIT
#include "sync/SqliteSides.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

namespace hoard::sync {

namespace {

using remote::Expect;

// A database's files on one side as they are now: the main file (if any) and
// its companions.
struct Look {
  std::optional<remote::Stat> main;
  SqliteParts parts;
};

Result<Look> look(remote::RemoteFs& fs, const RelPath& p) {
  Look l;
  auto st = fs.lstat(p);
  if (st) {
    l.main = *st;
    l.parts.main = *st;
  } else if (st.error().code() != ErrorCode::kNotFound) {
    return tl::unexpected(st.error());
  }
  for (SqliteCompanion c : kSqliteCompanions) {
    auto cs = fs.lstat(sqliteCompanionPath(p, c));
    if (cs) {
      if (cs->meta.type == FileType::kFile) l.parts.part(c) = *cs;
    } else if (cs.error().code() != ErrorCode::kNotFound) {
      return tl::unexpected(cs.error());
    }
  }
  return l;
}

remote::Stat folded(const remote::Stat& main, const SqliteParts& parts) {
  remote::Stat out = main;
  out.meta = sqliteUnitMeta(main.meta, parts);
  out.data_version = sqliteUnitVersion(main.data_version, parts);
  return out;
}

Result<std::string> headOf(int fd, size_t n) {
  std::string head(n, '\0');
  ssize_t got = ::pread(fd, head.data(), n, 0);
  if (got < 0) return failErrno(errno, "read a file's first bytes");
  head.resize(static_cast<size_t>(got));
  return head;
}

// True if `p`'s companions say a program may be inside the database: a
// -wal of any size (a WAL connection is open, or crashed), or a -journal
// that holds a transaction (its header's magic). A -journal left empty
// (journal_mode=TRUNCATE) or with a zeroed header (PERSIST) is not hot and
// holds nothing.
// `staging` makes the temporary the journal is copied into (the cache side).
Result<bool> inUse(remote::RemoteFs& fs, const RelPath& p, const SqliteParts& parts,
                   remote::RemoteFs& staging) {
  if (parts.wal) return true;
  if (!parts.journal || parts.journal->meta.size == 0) return false;
  auto tmp = staging.openTemp();
  if (!tmp) return true;  // cannot look: assume the worst
  auto got = fs.fetchFile(sqliteCompanionPath(p, SqliteCompanion::kJournal), tmp->get(), nullptr);
  if (!got) {
    if (got.error().code() == ErrorCode::kNotFound) return false;
    if (got.error().code() == ErrorCode::kBusy) return true;  // being written
    return tl::unexpected(got.error());
  }
  auto head = headOf(tmp->get(), 8);
  return !head || hasSqliteCompanionMagic(SqliteCompanion::kJournal, *head);
}

Result<uint64_t> sizeOf(int fd) {
  struct stat st;
  if (::fstat(fd, &st) != 0) return failErrno(errno, "stat a snapshot");
  return static_cast<uint64_t>(st.st_size);
}

}  // namespace

SqliteSides::SqliteSides(remote::RemoteFs& local, remote::RemoteFs& remote,
                         std::string cache_root, SqliteOptions options)
    : local_(local), remote_(remote), cache_root_(std::move(cache_root)), options_(options) {}

Result<bool> SqliteSides::isLocalSqliteFile(const RelPath& p) {
  auto opened = local_.openRead(p);
  if (!opened) {
    ErrorCode code = opened.error().code();
    if (code == ErrorCode::kNotFound || code == ErrorCode::kInvalidArgument) return false;
    return tl::unexpected(opened.error());
  }
  auto is = isSqliteFd(opened->fd.get());
  if (!is) return tl::unexpected(is.error().withContext(displayPath(p)));
  return is;
}

bool SqliteSides::isLocalDb(const RelPath& p) {
  auto it = local_db_.find(p);
  if (it != local_db_.end()) return it->second;
  auto is = isLocalSqliteFile(p);
  bool db = is && *is;
  local_db_[p] = db;
  return db;
}

void SqliteSides::foldLocal(SqliteStatMap& local) {
  local_parts_ = foldSqliteUnits(
      local,
      [&](const RelPath& db) {
        auto is = isLocalSqliteFile(db);
        local_db_[db] = !is || *is;
        return !is || *is;  // cannot tell: leave the companions out for this pass
      },
      [&](const RelPath& p, SqliteCompanion c) {
        auto opened = local_.openRead(p);
        if (!opened) return opened.error().code() != ErrorCode::kNotFound;
        auto head = headOf(opened->fd.get(), 16);
        return !head || hasSqliteCompanionMagic(c, *head);
      });
}

Result<std::string> SqliteSides::remoteHead(const RelPath& p) {
  auto tmp = local_.openTemp();
  if (!tmp) return tl::unexpected(tmp.error());
  auto got = remote_.fetchFile(p, tmp->get(), nullptr);
  if (!got) return tl::unexpected(got.error());
  return headOf(tmp->get(), 16);
}

void SqliteSides::foldRemote(SqliteStatMap& remote) {
  remote_parts_ = foldSqliteUnits(
      remote,
      [&](const RelPath& db) {
        if (isLocalDb(db)) return true;
        auto head = remoteHead(db);
        return !head || hasSqliteHeader(*head);
      },
      [&](const RelPath& p, SqliteCompanion c) {
        auto head = remoteHead(p);
        if (!head) return head.error().code() != ErrorCode::kNotFound;
        return hasSqliteCompanionMagic(c, *head);
      });
}

Status SqliteSides::foldLoaded(SqliteStatMap& local, SqliteStatMap& remote, const RelPath& p) {
  foldLocal(local);
  foldRemote(remote);
  auto l = local.find(p);
  if (l == local.end() || l->second.meta.type != FileType::kFile || !isLocalDb(p)) return {};
  for (auto [side, fs] : {std::pair{&local, &local_}, std::pair{&remote, &remote_}}) {
    auto it = side->find(p);
    if (it == side->end() || it->second.meta.type != FileType::kFile) continue;
    auto unit = lstatUnit(*fs, p, true);
    if (!unit) return tl::unexpected(unit.error());
    it->second = *unit;
  }
  return {};
}

const SqliteParts* SqliteSides::localParts(const RelPath& p) const {
  auto it = local_parts_.find(p);
  return it == local_parts_.end() ? nullptr : &it->second;
}

const SqliteParts* SqliteSides::remoteParts(const RelPath& p) const {
  auto it = remote_parts_.find(p);
  return it == remote_parts_.end() ? nullptr : &it->second;
}

Result<remote::Stat> SqliteSides::lstatUnit(remote::RemoteFs& fs, const RelPath& p, bool is_db) {
  if (!is_db) return fs.lstat(p);
  auto l = look(fs, p);
  if (!l) return tl::unexpected(l.error());
  if (!l->main) return fail(ErrorCode::kNotFound, displayPath(p) + " does not exist");
  if (l->main->meta.type != FileType::kFile) return *l->main;
  return folded(*l->main, l->parts);
}

Result<SqliteSides::Snapshot> SqliteSides::snapshotLocal(const RelPath& p) {
  auto before = look(local_, p);
  if (!before) return tl::unexpected(before.error());
  if (!before->main) return fail(ErrorCode::kNotFound, displayPath(p) + " is not in the cache");
  auto fd = snapshotSqliteToFd(abs(p), cache_root_, options_);
  if (!fd) return tl::unexpected(fd.error());
  Snapshot s;
  s.fd = std::move(*fd);
  s.main = *before->main;
  s.unit = folded(s.main, before->parts);
  s.live = before->parts.live();
  auto h = hashSqliteSnapshot(s.fd.get(), displayPath(p));
  if (!h) return tl::unexpected(h.error());
  s.hash = *h;
  auto size = sizeOf(s.fd.get());
  if (!size) return tl::unexpected(size.error());
  s.size = *size;
  return s;
}

Result<SqliteSides::Snapshot> SqliteSides::snapshotRemote(const RelPath& p) {
  auto got = snapshotSqliteFrom(remote_, p, cache_root_, options_);
  if (!got) return tl::unexpected(got.error());
  Snapshot s;
  s.fd = std::move(got->snapshot);
  s.main = got->parts.main;
  s.unit = folded(s.main, got->parts);
  s.live = got->parts.live();
  auto h = hashSqliteSnapshot(s.fd.get(), displayPath(p));
  if (!h) return tl::unexpected(h.error());
  s.hash = *h;
  auto size = sizeOf(s.fd.get());
  if (!size) return tl::unexpected(size.error());
  s.size = *size;
  return s;
}

Result<remote::Stat> SqliteSides::push(const RelPath& p, int fd, const Expect& expect,
                                       const remote::ReplaceOptions& options,
                                       const remote::ProgressFn& progress) {
  if (progress && !progress(0))
    return fail(ErrorCode::kAborted, "send the database " + displayPath(p) + ": stopped");
  auto now = look(remote_, p);
  if (!now) return tl::unexpected(now.error());
  auto busy = inUse(remote_, p, now->parts, local_);
  if (!busy) return tl::unexpected(busy.error());
  if (*busy)
    return fail(ErrorCode::kBusy,
                "the database " + displayPath(p) +
                    " is open in a program on the server (its -wal or -journal is there); it is "
                    "sent when that program has closed it");
  Expect main_expect = Expect::absent();
  switch (expect.kind) {
    case Expect::Kind::kAbsent:
      if (now->main)
        return fail(ErrorCode::kConflict,
                    displayPath(p) + " was created on the remote meanwhile; not replaced");
      break;
    case Expect::Kind::kVersion:
      if (!now->main || folded(*now->main, now->parts).data_version != expect.data_version)
        return fail(ErrorCode::kConflict,
                    displayPath(p) + " changed on the remote meanwhile; not replaced");
      main_expect = Expect::version(now->main->data_version);
      break;
    case Expect::Kind::kAnything:
      main_expect = now->main ? Expect::version(now->main->data_version) : Expect::absent();
      break;
  }
  auto replaced = remote_.replaceFile(p, fd, main_expect, options, progress);
  if (!replaced) return tl::unexpected(replaced.error());
  SqliteParts parts = now->parts;
  parts.main = *replaced;
  return folded(*replaced, parts);
}

Result<remote::Stat> SqliteSides::install(const RelPath& p, int fd, const remote::Stat* listed,
                                          const remote::ReplaceOptions& options) {
  auto now = look(local_, p);
  if (!now) return tl::unexpected(now.error());
  forget(p);
  if (!now->main) {
    if (listed != nullptr)
      return fail(ErrorCode::kConflict, displayPath(p) + " was removed from the cache meanwhile");
    // A -wal or -journal left by a deleted database would be replayed onto
    // the new main file by the next program to open it.
    auto busy = inUse(local_, p, now->parts, local_);
    if (!busy) return tl::unexpected(busy.error());
    if (*busy)
      return fail(ErrorCode::kBusy,
                  "the cache still holds " + displayPath(p) +
                      "-wal or -journal of a deleted database (a program has it open); the new "
                      "version waits until it is closed");
    auto linked = local_.linkNewFile(p, fd, options);
    if (!linked) return tl::unexpected(linked.error());
    return folded(*linked, now->parts);
  }
  if (listed == nullptr)
    return fail(ErrorCode::kConflict,
                displayPath(p) + " was created in the cache meanwhile; not replaced");
  if (!isLocalDb(p)) {
    // A plain file that becomes a database: no SQLite connection can be on
    // it, so the usual atomic replace.
    forget(p);
    auto replaced = local_.replaceFile(p, fd, Expect::version(listed->data_version), options,
                                       nullptr);
    if (!replaced) return tl::unexpected(replaced.error());
    return folded(*replaced, now->parts);
  }
  auto pulled = hashSqliteSnapshot(fd, displayPath(p));
  if (!pulled) return tl::unexpected(pulled.error());
  Status applied = applySqliteFd(fd, cache_root_, abs(p), listed->meta, options_);
  if (!applied) return tl::unexpected(applied.error());
  if (auto st = local_.lstat(p); st && st->meta.mode != (options.mode & 07777)) {
    if (Status m = local_.chmod(p, options.mode & 07777); !m) return tl::unexpected(m.error());
  }
  // The unit as it stands, taken before a read that shows it holds exactly
  // what was applied: a program's write after the look changes the unit
  // later (seen next pass); one before it makes the content differ.
  auto check = snapshotLocal(p);
  if (check && check->hash == *pulled) return check->unit;
  auto unit = lstatUnit(local_, p, true);
  if (!unit) return tl::unexpected(unit.error());
  unit->meta.ctime_ns = 0;
  return unit;
}

}  // namespace hoard::sync
