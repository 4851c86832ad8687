// SPDX-License-Identifier: MIT
// What the FUSE view of an on-demand share keeps in the journal: the last
// remote listing (schemas/journal/0009_remote_listing.sql), every entry
// beneath the remote root, pinned or not, as a pass last saw it; and the
// view's misses (0010_view_misses.sql).

#include <sqlite3.h>

#include "common/Try.h"
#include "journal/Journal.h"
#include "journal/Sqlite.h"

namespace hoard::journal {

using detail::Query;

namespace {

constexpr const char* kInsert =
    "INSERT INTO remote_listing (share_id, path, type, size, mode, mtime_ns, ctime_ns, inode, "
    "data_version, symlink_target, xattrs) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) "
    "ON CONFLICT (share_id, path) DO UPDATE SET type = ?3, size = ?4, mode = ?5, mtime_ns = ?6, "
    "ctime_ns = ?7, inode = ?8, data_version = ?9, symlink_target = ?10, xattrs = ?11";

void putLength(std::string& out, size_t n) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>((n >> shift) & 0xff));
}

// 0013_listing_xattrs.sql's encoding.
std::string encodeXattrs(const std::map<std::string, std::string>& xattrs) {
  std::string out;
  for (const auto& [name, value] : xattrs) {
    putLength(out, name.size());
    out += name;
    putLength(out, value.size());
    out += value;
  }
  return out;
}

Result<std::map<std::string, std::string>> decodeXattrs(std::string_view in,
                                                         const std::string& where) {
  std::map<std::string, std::string> out;
  auto take = [&](std::string& to) -> bool {
    if (in.size() < 4) return false;
    size_t n = 0;
    for (int i = 0; i < 4; ++i) n = (n << 8) | static_cast<unsigned char>(in[i]);
    in.remove_prefix(4);
    if (in.size() < n) return false;
    to.assign(in.substr(0, n));
    in.remove_prefix(n);
    return true;
  };
  while (!in.empty()) {
    std::string name, value;
    if (!take(name) || !take(value) || name.empty())
      return fail(ErrorCode::kCorrupt, where + ": its extended attributes are malformed");
    out[name] = std::move(value);
  }
  return out;
}

Status checkListed(const ListedEntry& e) {
  if (e.path.empty()) {
    return fail(ErrorCode::kInvalidArgument, "remote listing: an entry has an empty path");
  }
  auto ok = validateRelPath(e.path);
  if (!ok) return tl::unexpected(ok.error().withContext("remote listing " + displayPath(e.path)));
  return {};
}

Status insertListed(Query q, int64_t share_id, const ListedEntry& e) {
  q.bindInt(1, share_id)
      .bindBlob(2, e.path)
      .bindInt(3, static_cast<int64_t>(e.meta.type))
      .bindInt(4, static_cast<int64_t>(e.meta.size))
      .bindInt(5, static_cast<int64_t>(e.meta.mode))
      .bindInt(6, e.meta.mtime_ns)
      .bindInt(7, e.meta.ctime_ns)
      .bindInt(8, static_cast<int64_t>(e.meta.inode))
      .bindBlob(9, e.data_version)
      .bindBlob(10, e.symlink_target);
  if (e.xattrs)
    q.bindBlob(11, encodeXattrs(*e.xattrs));
  else
    q.bindNull(11);
  auto r = q.run();
  if (!r) return tl::unexpected(r.error().withContext("remote listing " + displayPath(e.path)));
  return {};
}

}  // namespace

Status Journal::replaceRemoteListing(int64_t share_id, std::span<const ListedEntry> entries) {
  for (const ListedEntry& e : entries) HOARD_TRY(checkListed(e));
  return inTransaction([&]() -> Status {
    HOARD_TRY(requireShare(share_id));
    HOARD_TRY_ASSIGN(del, db_->query("clear remote listing",
                                     "DELETE FROM remote_listing WHERE share_id = ?1"));
    del.bindInt(1, share_id);
    HOARD_TRY(del.run());
    for (const ListedEntry& e : entries) {
      HOARD_TRY_ASSIGN(q, db_->query("store remote listing", kInsert));
      HOARD_TRY(insertListed(std::move(q), share_id, e));
    }
    return {};
  });
}

Status Journal::putRemoteListed(int64_t share_id, const ListedEntry& entry) {
  HOARD_TRY(checkListed(entry));
  return inTransaction([&]() -> Status {
    HOARD_TRY(requireShare(share_id));
    HOARD_TRY_ASSIGN(q, db_->query("store remote listing entry", kInsert));
    return insertListed(std::move(q), share_id, entry);
  });
}

Result<int64_t> Journal::removeRemoteListedUnder(int64_t share_id, const RelPath& path) {
  HOARD_TRY(checkListed(ListedEntry{path, {}, {}, {}}));
  int64_t n = 0;
  Status s = inTransaction([&]() -> Status {
    // [path/, path0) holds exactly the paths beneath `path` ('0' is '/' + 1).
    HOARD_TRY_ASSIGN(q, db_->query("remove remote listing subtree",
                                   "DELETE FROM remote_listing WHERE share_id = ?1 AND "
                                   "(path = ?2 OR (path >= ?3 AND path < ?4))"));
    q.bindInt(1, share_id).bindBlob(2, path).bindBlob(3, path + "/").bindBlob(4, path + "0");
    HOARD_TRY(q.run());
    n = sqlite3_changes64(db_->handle());
    return {};
  });
  if (!s) return tl::unexpected(s.error());
  return n;
}

Result<std::vector<ListedEntry>> Journal::remoteListing(int64_t share_id) {
  HOARD_TRY_ASSIGN(q, db_->query("read remote listing",
                                 "SELECT path, type, size, mode, mtime_ns, ctime_ns, inode, "
                                 "data_version, symlink_target, xattrs FROM remote_listing "
                                 "WHERE share_id = ?1 ORDER BY path"));
  q.bindInt(1, share_id);
  std::vector<ListedEntry> out;
  for (;;) {
    HOARD_TRY_ASSIGN(row, q.step());
    if (!row) return out;
    ListedEntry e;
    e.path = q.colBlob(0);
    int64_t type = q.colInt(1);
    if (type < 0 || type > static_cast<int64_t>(FileType::kOther)) {
      return fail(ErrorCode::kCorrupt, "journal " + displayPath(path_) + ": remote listing row " +
                                           displayPath(e.path) + " has file type " +
                                           std::to_string(type));
    }
    e.meta.type = static_cast<FileType>(type);
    e.meta.size = static_cast<uint64_t>(q.colInt(2));
    e.meta.mode = static_cast<uint32_t>(q.colInt(3));
    e.meta.mtime_ns = q.colInt(4);
    e.meta.ctime_ns = q.colInt(5);
    e.meta.inode = static_cast<uint64_t>(q.colInt(6));
    e.data_version = q.colBlob(7);
    e.symlink_target = q.colBlob(8);
    if (!q.isNull(9)) {
      HOARD_TRY_ASSIGN(x, decodeXattrs(q.colBlob(9), "journal " + displayPath(path_) +
                                                          ": remote listing row " +
                                                          displayPath(e.path)));
      e.xattrs = std::move(x);
    }
    out.push_back(std::move(e));
  }
}

Result<int64_t> Journal::addMiss(const MissRecord& m) {
  HOARD_TRY(checkListed(ListedEntry{m.path, {}, {}, {}}));
  if (m.outcome != "failed" && m.outcome != "fetched" && m.outcome != "timed-out" &&
      m.outcome != "interrupted" && m.outcome != "declined") {
    return fail(ErrorCode::kInvalidArgument,
                "miss of " + displayPath(m.path) + ": unknown outcome '" + m.outcome + "'");
  }
  int64_t id = 0;
  Status s = inTransaction([&]() -> Status {
    HOARD_TRY(requireShare(m.share_id));
    HOARD_TRY_ASSIGN(q, db_->query("record a miss",
                                   "INSERT INTO view_misses (share_id, path, program, at_ns, "
                                   "outcome) VALUES (?1, ?2, ?3, ?4, ?5)"));
    q.bindInt(1, m.share_id)
        .bindBlob(2, m.path)
        .bindText(3, m.program)
        .bindInt(4, m.at_ns)
        .bindText(5, m.outcome);
    HOARD_TRY(q.run());
    id = sqlite3_last_insert_rowid(db_->handle());
    return {};
  });
  if (!s) return tl::unexpected(s.error());
  return id;
}

Result<std::vector<MissRecord>> Journal::misses(int64_t share_id) {
  HOARD_TRY_ASSIGN(q, db_->query("list misses",
                                 "SELECT id, path, program, at_ns, outcome, "
                                 "coalesce(fetched_at_ns, 0) FROM view_misses "
                                 "WHERE share_id = ?1 ORDER BY at_ns, id"));
  q.bindInt(1, share_id);
  std::vector<MissRecord> out;
  for (;;) {
    HOARD_TRY_ASSIGN(row, q.step());
    if (!row) return out;
    out.push_back(MissRecord{q.colInt(0), share_id, q.colBlob(1), q.colText(2), q.colInt(3),
                             q.colText(4), q.colInt(5)});
  }
}

Status Journal::markMissesFetched(int64_t share_id, const RelPath& path, int64_t up_to_id,
                                  int64_t at_ns) {
  HOARD_TRY_ASSIGN(q, db_->query("mark misses fetched",
                                 "UPDATE view_misses SET fetched_at_ns = ?4 WHERE share_id = ?1 "
                                 "AND path = ?2 AND id <= ?3 AND fetched_at_ns IS NULL"));
  q.bindInt(1, share_id).bindBlob(2, path).bindInt(3, up_to_id).bindInt(4, at_ns);
  return q.run();
}

Status Journal::putReadAnswer(const ReadAnswerRecord& a) {
  if (a.program.empty() || a.policy != "error")
    return fail(ErrorCode::kInvalidArgument, "read answer for program '" + a.program +
                                                 "': policy '" + a.policy +
                                                 "' (only \"error\" is kept)");
  HOARD_TRY_ASSIGN(q, db_->query("remember a read answer",
                                 "INSERT INTO read_answers (program, policy, at_ns) "
                                 "VALUES (?1, ?2, ?3) ON CONFLICT (program) DO UPDATE "
                                 "SET policy = excluded.policy, at_ns = excluded.at_ns"));
  q.bindText(1, a.program).bindText(2, a.policy).bindInt(3, a.at_ns);
  return q.run();
}

Status Journal::forgetReadAnswer(const std::string& program) {
  HOARD_TRY_ASSIGN(q, db_->query("forget a read answer",
                                 "DELETE FROM read_answers WHERE program = ?1"));
  q.bindText(1, program);
  HOARD_TRY(q.run());
  if (sqlite3_changes64(db_->handle()) == 0)
    return fail(ErrorCode::kNotFound, "no answer is kept for program '" + program + "'");
  return {};
}

Result<std::vector<ReadAnswerRecord>> Journal::readAnswers() {
  HOARD_TRY_ASSIGN(q, db_->query("list read answers",
                                 "SELECT program, policy, at_ns FROM read_answers ORDER BY program"));
  std::vector<ReadAnswerRecord> out;
  for (;;) {
    HOARD_TRY_ASSIGN(row, q.step());
    if (!row) return out;
    out.push_back(ReadAnswerRecord{q.colText(0), q.colText(1), q.colInt(2)});
  }
}

}  // namespace hoard::journal
