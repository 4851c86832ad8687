// SPDX-License-Identifier: MIT
// The journal's conflicts (schemas/journal/0001_initial.sql and later):
// recorded when a pass finds one, refreshed when a side changes, resolved
// by a decision, purged by retention.

#include <sqlite3.h>

#include "common/Try.h"
#include "journal/Journal.h"
#include "journal/JournalHelpers.h"
#include "journal/Sqlite.h"

namespace hoard::journal {

using detail::Query;
using detail::bindOptHash;
using detail::colHash;
using detail::expectOneRow;
using detail::nowNs;
using detail::validPath;

namespace {

constexpr const char* kConflictCols =
    "id, share_id, path, kind, state, resolution, detail, local_object, remote_object, "
    "base_object, created_at_ns, resolved_at_ns, refreshed_at_ns";

Result<ConflictRecord> readConflict(const Query& q, const std::string& journal) {
  ConflictRecord c;
  c.id = q.colInt(0);
  c.share_id = q.colInt(1);
  c.path = q.colBlob(2);
  auto kind = conflictKindFromName(q.colText(3));
  if (!kind) {
    return fail(ErrorCode::kCorrupt, "journal " + displayPath(journal) + ": conflict " +
                                         std::to_string(c.id) + " has unknown kind " +
                                         q.colText(3));
  }
  c.kind = *kind;
  c.open = q.colText(4) == "open";
  c.resolution = q.colText(5);
  c.detail = q.colText(6);
  HOARD_TRY_ASSIGN(local, colHash(q, 7, journal, "conflict local object"));
  c.local_object = local;
  HOARD_TRY_ASSIGN(remote, colHash(q, 8, journal, "conflict remote object"));
  c.remote_object = remote;
  HOARD_TRY_ASSIGN(base, colHash(q, 9, journal, "conflict base object"));
  c.base_object = base;
  c.created_at_ns = q.colInt(10);
  c.resolved_at_ns = q.isNull(11) ? 0 : q.colInt(11);
  c.refreshed_at_ns = q.isNull(12) ? 0 : q.colInt(12);
  return c;
}

Result<std::vector<ConflictRecord>> readConflicts(Query& q, const std::string& journal) {
  std::vector<ConflictRecord> out;
  for (;;) {
    HOARD_TRY_ASSIGN(row, q.step());
    if (!row) return out;
    HOARD_TRY_ASSIGN(c, readConflict(q, journal));
    out.push_back(std::move(c));
  }
}

}  // namespace

// ---- conflicts -----------------------------------------------------------

Result<int64_t> Journal::addConflict(const ConflictRecord& c) {
  HOARD_TRY(validPath(c.path, "conflict at " + displayPath(c.path)));
  int64_t id = 0;
  Status s = inTransaction([&]() -> Status {
    HOARD_TRY(requireShare(c.share_id));
    HOARD_TRY_ASSIGN(q, db_->query("add conflict",
                                   "INSERT INTO conflicts (share_id, path, kind, detail, "
                                   "local_object, remote_object, base_object, created_at_ns) "
                                   "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"));
    q.bindInt(1, c.share_id)
        .bindBlob(2, c.path)
        .bindText(3, conflictKindName(c.kind))
        .bindText(4, c.detail.empty() ? std::string_view("{}") : std::string_view(c.detail));
    bindOptHash(q, 5, c.local_object);
    bindOptHash(q, 6, c.remote_object);
    bindOptHash(q, 7, c.base_object);
    q.bindInt(8, nowNs());
    auto r = q.run();
    if (!r && r.error().code() == ErrorCode::kExists) {
      return fail(ErrorCode::kExists, "journal " + displayPath(path_) + ": " + displayPath(c.path) +
                                          " already has an open conflict");
    }
    HOARD_TRY(r);
    id = sqlite3_last_insert_rowid(db_->handle());
    return {};
  });
  if (!s) return tl::unexpected(s.error());
  return id;
}

Result<ConflictRecord> Journal::conflict(int64_t conflict_id) {
  static const std::string sql =
      std::string("SELECT ") + kConflictCols + " FROM conflicts WHERE id = ?1";
  HOARD_TRY_ASSIGN(q, db_->query("read conflict", sql.c_str()));
  q.bindInt(1, conflict_id);
  HOARD_TRY_ASSIGN(row, q.step());
  if (!row) {
    return fail(ErrorCode::kNotFound, "journal " + displayPath(path_) + ": no conflict with id " +
                                          std::to_string(conflict_id));
  }
  return readConflict(q, path_);
}

Result<std::optional<ConflictRecord>> Journal::openConflictAt(int64_t share_id,
                                                              const RelPath& path) {
  static const std::string sql = std::string("SELECT ") + kConflictCols +
                                 " FROM conflicts WHERE share_id = ?1 AND path = ?2 "
                                 "AND state = 'open'";
  HOARD_TRY_ASSIGN(q, db_->query("read open conflict", sql.c_str()));
  q.bindInt(1, share_id).bindBlob(2, path);
  HOARD_TRY_ASSIGN(row, q.step());
  if (!row) return std::optional<ConflictRecord>();
  HOARD_TRY_ASSIGN(c, readConflict(q, path_));
  return std::optional<ConflictRecord>(std::move(c));
}

Result<std::vector<ConflictRecord>> Journal::conflicts(int64_t share_id, bool open_only) {
  static const std::string all_sql =
      std::string("SELECT ") + kConflictCols + " FROM conflicts WHERE share_id = ?1 ORDER BY id";
  static const std::string open_sql = std::string("SELECT ") + kConflictCols +
                                      " FROM conflicts WHERE share_id = ?1 AND state = 'open' "
                                      "ORDER BY id";
  HOARD_TRY_ASSIGN(q, open_only ? db_->query("list open conflicts", open_sql.c_str())
                                : db_->query("list conflicts", all_sql.c_str()));
  q.bindInt(1, share_id);
  return readConflicts(q, path_);
}

Status Journal::resolveConflict(int64_t conflict_id, std::string_view resolution) {
  if (resolution.empty()) {
    return fail(ErrorCode::kInvalidArgument,
                "conflict " + std::to_string(conflict_id) + ": empty resolution");
  }
  return inTransaction([&]() -> Status {
    HOARD_TRY_ASSIGN(c, conflict(conflict_id));
    if (!c.open) {
      return fail(ErrorCode::kInvalidArgument,
                  "journal " + displayPath(path_) + ": conflict " + std::to_string(conflict_id) +
                      " at " + displayPath(c.path) + " is already resolved (" + c.resolution + ")");
    }
    HOARD_TRY_ASSIGN(q, db_->query("resolve conflict",
                                   "UPDATE conflicts SET state = 'resolved', resolution = ?2, "
                                   "resolved_at_ns = ?3 WHERE id = ?1"));
    q.bindInt(1, conflict_id).bindText(2, resolution).bindInt(3, nowNs());
    return q.run();
  });
}

Status Journal::refreshConflict(int64_t conflict_id, std::string_view detail,
                                const std::optional<ContentHash>& local_object,
                                const std::optional<ContentHash>& remote_object) {
  return inTransaction([&]() -> Status {
    HOARD_TRY_ASSIGN(c, conflict(conflict_id));
    if (!c.open) {
      return fail(ErrorCode::kInvalidArgument,
                  "journal " + displayPath(path_) + ": conflict " + std::to_string(conflict_id) +
                      " at " + displayPath(c.path) + " is already resolved (" + c.resolution + ")");
    }
    HOARD_TRY_ASSIGN(q, db_->query("refresh conflict",
                                   "UPDATE conflicts SET detail = ?2, local_object = ?3, "
                                   "remote_object = ?4, refreshed_at_ns = ?5 WHERE id = ?1"));
    q.bindInt(1, conflict_id).bindText(2, detail.empty() ? std::string_view("{}") : detail);
    bindOptHash(q, 3, local_object);
    bindOptHash(q, 4, remote_object);
    q.bindInt(5, nowNs());
    return q.run();
  });
}

Result<int64_t> Journal::purgeResolvedConflicts(int64_t share_id) {
  int64_t n = 0;
  Status s = inTransaction([&]() -> Status {
    HOARD_TRY_ASSIGN(q, db_->query("purge resolved conflicts",
                                   "DELETE FROM conflicts WHERE share_id = ?1 "
                                   "AND state = 'resolved'"));
    q.bindInt(1, share_id);
    HOARD_TRY(q.run());
    n = sqlite3_changes64(db_->handle());
    return {};
  });
  if (!s) return tl::unexpected(s.error());
  return n;
}

Result<int64_t> Journal::purgeResolvedConflictsBefore(int64_t share_id,
                                                      int64_t resolved_before_ns) {
  int64_t n = 0;
  Status s = inTransaction([&]() -> Status {
    HOARD_TRY_ASSIGN(q, db_->query("purge conflicts resolved before the retention bound",
                                   "DELETE FROM conflicts WHERE share_id = ?1 "
                                   "AND state = 'resolved' "
                                   "AND coalesce(resolved_at_ns, created_at_ns) < ?2"));
    q.bindInt(1, share_id).bindInt(2, resolved_before_ns);
    HOARD_TRY(q.run());
    n = sqlite3_changes64(db_->handle());
    return {};
  });
  if (!s) return tl::unexpected(s.error());
  return n;
}

}  // namespace hoard::journal
