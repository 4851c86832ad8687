// SPDX-License-Identifier: MIT
// The journal's change log: what the tracker recorded in the cache, in order
// (seq), optimised as it is written (ChangeLogOptimizer), frozen by
// snapshots and dropped once reintegrated.

#include <sqlite3.h>

#include <string>

#include "common/RelPath.h"
#include "common/Try.h"
#include "journal/ChangeLogOptimizer.h"
#include "journal/Journal.h"
#include "journal/JournalHelpers.h"
#include "journal/Sqlite.h"

namespace hoard::journal {

using detail::beneathRange;
using detail::Db;
using detail::expectOneRow;
using detail::nowNs;
using detail::Query;
using detail::validPath;

namespace {

Status checkChange(const Change& c) {
  auto op = static_cast<int>(c.op);
  if (op < static_cast<int>(ChangeOp::kCreate) || op > static_cast<int>(ChangeOp::kXattr)) {
    return fail(ErrorCode::kInvalidArgument,
                "change on " + displayPath(c.path) + ": unknown op " + std::to_string(op));
  }
  std::string what = "change " + std::string(changeOpName(c.op)) + " " + displayPath(c.path);
  if (c.path.empty()) return fail(ErrorCode::kInvalidArgument, what + ": empty path");
  HOARD_TRY(validPath(c.path, what));
  if (c.op == ChangeOp::kRename) {
    if (c.to.empty())
      return fail(ErrorCode::kInvalidArgument, what + ": rename without a destination");
    HOARD_TRY(validPath(c.to, what));
  }
  return {};
}

}  // namespace

// ---- change log ----------------------------------------------------------

Result<int64_t> Journal::highWater() {
  HOARD_TRY_ASSIGN(q, db_->query("read change-log high-water mark",
                                 "SELECT coalesce((SELECT seq FROM sqlite_sequence "
                                 "WHERE name = 'change_log'), 0)"));
  HOARD_TRY_ASSIGN(row, q.step());
  (void)row;
  return q.colInt(0);
}

Result<int64_t> Journal::frozenThrough(int64_t share_id) {
  HOARD_TRY_ASSIGN(q, db_->query("read share frozen mark",
                                 "SELECT frozen_through_seq FROM shares WHERE id = ?1"));
  q.bindInt(1, share_id);
  HOARD_TRY_ASSIGN(row, q.step());
  if (!row) {
    return fail(ErrorCode::kNotFound,
                "journal " + displayPath(path_) + ": no share with id " + std::to_string(share_id));
  }
  return q.colInt(0);
}

namespace {

constexpr const char* kChangeCols = "seq, op, path, to_path, mode, target";

Result<ChangeLogOptimizer::Record> readRecord(const Query& q, const std::string& journal) {
  ChangeLogOptimizer::Record r;
  r.seq = q.colInt(0);
  int64_t op = q.colInt(1);
  if (op < static_cast<int64_t>(ChangeOp::kCreate) || op > static_cast<int64_t>(ChangeOp::kXattr)) {
    return fail(ErrorCode::kCorrupt, "journal " + displayPath(journal) + ": change " +
                                         std::to_string(r.seq) + " has op " + std::to_string(op));
  }
  r.change.op = static_cast<ChangeOp>(op);
  r.change.path = q.colBlob(2);
  r.change.to = q.colBlob(3);
  r.change.mode = static_cast<uint32_t>(q.colInt(4));
  r.change.target = q.colBlob(5);
  return r;
}

}  // namespace

Result<int64_t> Journal::recordChanges(int64_t share_id, std::span<const Change> changes) {
  for (const Change& c : changes) HOARD_TRY(checkChange(c));
  static const std::string by_path = std::string("SELECT ") + kChangeCols +
                                     " FROM change_log WHERE share_id = ?1 AND seq > ?2 "
                                     "AND path = ?3";
  static const std::string by_to = std::string("SELECT ") + kChangeCols +
                                   " FROM change_log WHERE share_id = ?1 AND seq > ?2 "
                                   "AND to_path = ?3";
  static const std::string path_beneath = std::string("SELECT ") + kChangeCols +
                                          " FROM change_log WHERE share_id = ?1 AND seq > ?2 "
                                          "AND path >= ?3 AND path < ?4";
  static const std::string to_beneath = std::string("SELECT ") + kChangeCols +
                                        " FROM change_log WHERE share_id = ?1 AND seq > ?2 "
                                        "AND to_path >= ?3 AND to_path < ?4";
  static constexpr const char* frozen_by_path =
      "SELECT 1 FROM change_log WHERE share_id = ?1 AND seq <= ?2 AND path = ?3 LIMIT 1";
  static constexpr const char* frozen_by_to =
      "SELECT 1 FROM change_log WHERE share_id = ?1 AND seq <= ?2 AND to_path = ?3 LIMIT 1";
  static constexpr const char* frozen_path_beneath =
      "SELECT 1 FROM change_log WHERE share_id = ?1 AND seq <= ?2 "
      "AND path >= ?3 AND path < ?4 LIMIT 1";
  static constexpr const char* frozen_to_beneath =
      "SELECT 1 FROM change_log WHERE share_id = ?1 AND seq <= ?2 "
      "AND to_path >= ?3 AND to_path < ?4 LIMIT 1";
  int64_t last = 0;
  Status s = inTransaction([&]() -> Status {
    HOARD_TRY_ASSIGN(frozen, frozenThrough(share_id));
    std::optional<Error> fetch_error;
    // Every stored, unfrozen record relating to `p`: naming p or an ancestor
    // (equality lookups) or something beneath p (range scans), on either end.
    auto fetch = [&](std::string_view p) {
      std::vector<ChangeLogOptimizer::Record> out;
      auto collect = [&](Query& q) -> Status {
        for (;;) {
          HOARD_TRY_ASSIGN(row, q.step());
          if (!row) return {};
          HOARD_TRY_ASSIGN(rec, readRecord(q, path_));
          out.push_back(std::move(rec));
        }
      };
      auto run = [&]() -> Status {
        for (size_t end = 0; end != std::string_view::npos;) {
          end = p.find('/', end + 1);
          std::string_view prefix = p.substr(0, end);
          for (const std::string* sql : {&by_path, &by_to}) {
            HOARD_TRY_ASSIGN(q, db_->query("look up change-log records", sql->c_str()));
            q.bindInt(1, share_id).bindInt(2, frozen).bindBlob(3, prefix);
            HOARD_TRY(collect(q));
          }
        }
        auto [lo, hi] = beneathRange(std::string(p));
        for (const std::string* sql : {&path_beneath, &to_beneath}) {
          HOARD_TRY_ASSIGN(q, db_->query("look up change-log records beneath", sql->c_str()));
          q.bindInt(1, share_id).bindInt(2, frozen).bindBlob(3, lo).bindBlob(4, hi);
          HOARD_TRY(collect(q));
        }
        return {};
      };
      if (!fetch_error) {
        if (auto r = run(); !r) fetch_error = r.error();
      }
      return out;
    };
    // What stood at `p` before the unfrozen log: the base's row, unless a
    // frozen record (being replayed, the base not yet updated) relates to p.
    auto exists = [&](std::string_view p) -> std::optional<bool> {
      if (fetch_error) return std::nullopt;
      auto run = [&]() -> Result<std::optional<bool>> {
        for (size_t end = 0; end != std::string_view::npos;) {
          end = p.find('/', end + 1);
          std::string_view prefix = p.substr(0, end);
          for (const char* sql : {frozen_by_path, frozen_by_to}) {
            HOARD_TRY_ASSIGN(q, db_->query("look up frozen change-log records", sql));
            q.bindInt(1, share_id).bindInt(2, frozen).bindBlob(3, prefix);
            HOARD_TRY_ASSIGN(row, q.step());
            if (row) return std::optional<bool>();
          }
        }
        auto [lo, hi] = beneathRange(std::string(p));
        for (const char* sql : {frozen_path_beneath, frozen_to_beneath}) {
          HOARD_TRY_ASSIGN(q, db_->query("look up frozen change-log records beneath", sql));
          q.bindInt(1, share_id).bindInt(2, frozen).bindBlob(3, lo).bindBlob(4, hi);
          HOARD_TRY_ASSIGN(row, q.step());
          if (row) return std::optional<bool>();
        }
        HOARD_TRY_ASSIGN(q, db_->query("look up base row",
                                       "SELECT 1 FROM base WHERE share_id = ?1 AND path = ?2"));
        q.bindInt(1, share_id).bindBlob(2, p);
        HOARD_TRY_ASSIGN(row, q.step());
        return std::optional<bool>(row);
      };
      auto r = run();
      if (!r) {
        fetch_error = r.error();
        return std::nullopt;
      }
      return *r;
    };
    ChangeLogOptimizer opt(fetch, exists);
    for (const Change& c : changes) opt.add(c);
    if (fetch_error) return tl::unexpected(*fetch_error);
    ChangeLogOptimizer::Plan plan = opt.plan();

    for (int64_t seq : plan.removed) {
      HOARD_TRY_ASSIGN(
          q, db_->query("cancel change-log record", "DELETE FROM change_log WHERE seq = ?1"));
      q.bindInt(1, seq);
      HOARD_TRY(q.run());
    }
    auto bindChange = [](Query& q, const Change& c) {
      q.bindInt(2, static_cast<int64_t>(c.op)).bindBlob(3, c.path);
      if (c.op == ChangeOp::kRename) {
        q.bindBlob(4, c.to);
      } else {
        q.bindNull(4);
      }
      q.bindInt(5, static_cast<int64_t>(c.mode));
      if (c.op == ChangeOp::kSymlink) {
        q.bindBlob(6, c.target);
      } else {
        q.bindNull(6);
      }
    };
    for (const ChangeLogOptimizer::Record& r : plan.rewritten) {
      HOARD_TRY_ASSIGN(q, db_->query("rewrite change-log record",
                                     "UPDATE change_log SET op = ?2, path = ?3, to_path = ?4, "
                                     "mode = ?5, target = ?6 WHERE seq = ?1"));
      q.bindInt(1, r.seq);
      bindChange(q, r.change);
      HOARD_TRY(q.run());
    }
    int64_t now = nowNs();
    for (const Change& c : plan.appended) {
      HOARD_TRY_ASSIGN(q, db_->query("append change-log record",
                                     "INSERT INTO change_log (share_id, op, path, to_path, mode, "
                                     "target, logged_at_ns) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"));
      q.bindInt(1, share_id).bindInt(7, now);
      bindChange(q, c);
      HOARD_TRY(q.run());
    }
    HOARD_TRY_ASSIGN(hw, highWater());
    last = hw;
    return {};
  });
  if (!s) return tl::unexpected(s.error());
  return last;
}

Result<std::vector<LoggedChange>> Journal::changes(int64_t share_id, int64_t after_seq,
                                                   size_t limit) {
  HOARD_TRY_ASSIGN(q, db_->query("read change log",
                                 "SELECT seq, op, path, to_path, mode, target, logged_at_ns "
                                 "FROM change_log WHERE share_id = ?1 AND seq > ?2 "
                                 "ORDER BY seq LIMIT ?3"));
  q.bindInt(1, share_id)
      .bindInt(2, after_seq)
      .bindInt(3, limit == 0 ? -1 : static_cast<int64_t>(limit));
  std::vector<LoggedChange> out;
  for (;;) {
    HOARD_TRY_ASSIGN(row, q.step());
    if (!row) return out;
    HOARD_TRY_ASSIGN(rec, readRecord(q, path_));
    out.push_back(LoggedChange{rec.seq, share_id, std::move(rec.change), q.colInt(6)});
  }
}

Result<int64_t> Journal::changeCount(int64_t share_id) {
  HOARD_TRY_ASSIGN(
      q, db_->query("count change log", "SELECT count(*) FROM change_log WHERE share_id = ?1"));
  q.bindInt(1, share_id);
  HOARD_TRY_ASSIGN(row, q.step());
  (void)row;
  return q.colInt(0);
}

Result<int64_t> Journal::freezeChanges(int64_t share_id) {
  int64_t mark = 0;
  Status s = inTransaction([&]() -> Status {
    HOARD_TRY_ASSIGN(hw, highWater());
    HOARD_TRY_ASSIGN(q, db_->query("freeze change log",
                                   "UPDATE shares SET frozen_through_seq = "
                                   "max(frozen_through_seq, ?2) WHERE id = ?1"));
    q.bindInt(1, share_id).bindInt(2, hw);
    HOARD_TRY(expectOneRow(*db_, q, path_, "no share with id " + std::to_string(share_id)));
    HOARD_TRY_ASSIGN(f, frozenThrough(share_id));
    mark = f;
    return {};
  });
  if (!s) return tl::unexpected(s.error());
  return mark;
}

Status Journal::dropChangesThrough(int64_t share_id, int64_t seq) {
  return inTransaction([&]() -> Status {
    HOARD_TRY_ASSIGN(frozen, frozenThrough(share_id));
    if (seq > frozen) {
      return fail(ErrorCode::kInvalidArgument,
                  "journal " + displayPath(path_) + ": cannot drop changes through seq " +
                      std::to_string(seq) + " of share " + std::to_string(share_id) +
                      ": only seq <= " + std::to_string(frozen) + " are frozen");
    }
    HOARD_TRY_ASSIGN(q, db_->query("drop reintegrated changes",
                                   "DELETE FROM change_log WHERE share_id = ?1 AND seq <= ?2"));
    q.bindInt(1, share_id).bindInt(2, seq);
    return q.run();
  });
}

}  // namespace hoard::journal
