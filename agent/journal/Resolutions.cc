// SPDX-License-Identifier: MIT
// The history of resolutions (schemas/journal/0005_resolutions.sql): every
// decision applied to a conflict, with the versions before and the result,
// listed by `hoard conflicts --resolved` and undone by `hoard undo`.

#include <sqlite3.h>

#include <chrono>

#include "journal/Journal.h"
#include "journal/Sqlite.h"

namespace hoard::journal {

using detail::Query;

namespace {

constexpr const char* kCols =
    "id, conflict_id, share_id, path, decision, resolver, rule, label, local_before, "
    "remote_before, result_object, stash_path, stash_object, before_detail, after_detail, "
    "resolved_at_ns, undone_at_ns, before_tree, after_tree";

int64_t nowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void bindHash(Query& q, int i, const std::optional<ContentHash>& h) {
  if (h) {
    q.bindBlob(i, h->raw());
  } else {
    q.bindNull(i);
  }
}

Result<std::optional<ContentHash>> hashAt(const Query& q, int col, const std::string& journal,
                                          int64_t id) {
  if (q.isNull(col)) return std::nullopt;
  auto h = ContentHash::fromRaw(q.colBlob(col));
  if (!h)
    return fail(ErrorCode::kCorrupt, "journal " + displayPath(journal) + ": resolution " +
                                         std::to_string(id) + " names an object not 32 bytes");
  return *h;
}

Result<ResolutionRecord> readRow(const Query& q, const std::string& journal) {
  ResolutionRecord r;
  r.id = q.colInt(0);
  r.conflict_id = q.colInt(1);
  r.share_id = q.colInt(2);
  r.path = q.colBlob(3);
  r.decision = q.colText(4);
  r.resolver = q.colText(5);
  r.rule = q.colText(6);
  r.label = q.colText(7);
  for (auto [col, out] : {std::pair{8, &r.local_before}, std::pair{9, &r.remote_before},
                          std::pair{10, &r.result_object}, std::pair{12, &r.stash_object}}) {
    auto h = hashAt(q, col, journal, r.id);
    if (!h) return tl::unexpected(h.error());
    *out = *h;
  }
  r.stash_path = q.colBlob(11);
  r.before_detail = q.colText(13);
  r.after_detail = q.colText(14);
  r.resolved_at_ns = q.colInt(15);
  r.undone_at_ns = q.isNull(16) ? 0 : q.colInt(16);
  r.before_tree = q.colText(17);
  r.after_tree = q.colText(18);
  return r;
}

}  // namespace

Result<int64_t> Journal::addResolution(const ResolutionRecord& r) {
  int64_t id = 0;
  Status s = inTransaction([&]() -> Status {
    auto c = conflict(r.conflict_id);
    if (!c) return tl::unexpected(c.error());
    auto q = db_->query("record a resolution",
                        "INSERT INTO resolutions (conflict_id, share_id, path, decision, resolver, "
                        "rule, label, local_before, remote_before, result_object, stash_path, "
                        "stash_object, before_detail, after_detail, resolved_at_ns, before_tree, "
                        "after_tree) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, "
                        "?13, ?14, ?15, ?16, ?17)");
    if (!q) return tl::unexpected(q.error());
    q->bindInt(1, r.conflict_id)
        .bindInt(2, c->share_id)
        .bindBlob(3, c->path)
        .bindText(4, r.decision)
        .bindText(5, r.resolver)
        .bindText(6, r.rule)
        .bindText(7, r.label);
    bindHash(*q, 8, r.local_before);
    bindHash(*q, 9, r.remote_before);
    bindHash(*q, 10, r.result_object);
    if (r.stash_path.empty()) {
      q->bindNull(11);
    } else {
      q->bindBlob(11, r.stash_path);
    }
    bindHash(*q, 12, r.stash_object);
    q->bindText(13, r.before_detail.empty() ? std::string_view("{}") : r.before_detail)
        .bindText(14, r.after_detail.empty() ? std::string_view("{}") : r.after_detail)
        .bindInt(15, r.resolved_at_ns ? r.resolved_at_ns : nowNs())
        .bindText(16, r.before_tree)
        .bindText(17, r.after_tree);
    if (Status st = q->run(); !st) return st;
    id = sqlite3_last_insert_rowid(db_->handle());
    for (const ContentHash& o : r.tree_objects) {
      auto k = db_->query("count an object of a resolution",
                          "INSERT OR IGNORE INTO resolution_objects (resolution_id, object) "
                          "VALUES (?1, ?2)");
      if (!k) return tl::unexpected(k.error());
      k->bindInt(1, id).bindBlob(2, o.raw());
      if (Status st = k->run(); !st) return st;
    }
    return {};
  });
  if (!s) return tl::unexpected(s.error());
  return id;
}

Result<ResolutionRecord> Journal::resolution(int64_t resolution_id) {
  static const std::string sql = std::string("SELECT ") + kCols + " FROM resolutions WHERE id = ?1";
  auto q = db_->query("read a resolution", sql.c_str());
  if (!q) return tl::unexpected(q.error());
  q->bindInt(1, resolution_id);
  auto row = q->step();
  if (!row) return tl::unexpected(row.error());
  if (!*row)
    return fail(ErrorCode::kNotFound, "journal " + displayPath(path_) +
                                          ": no resolution with id " +
                                          std::to_string(resolution_id));
  return readRow(*q, path_);
}

Result<std::vector<ResolutionRecord>> Journal::resolutions(int64_t share_id) {
  static const std::string sql = std::string("SELECT ") + kCols +
                                 " FROM resolutions WHERE share_id = ?1 ORDER BY id DESC";
  auto q = db_->query("list resolutions", sql.c_str());
  if (!q) return tl::unexpected(q.error());
  q->bindInt(1, share_id);
  std::vector<ResolutionRecord> out;
  for (;;) {
    auto row = q->step();
    if (!row) return tl::unexpected(row.error());
    if (!*row) return out;
    auto r = readRow(*q, path_);
    if (!r) return tl::unexpected(r.error());
    out.push_back(std::move(*r));
  }
}

Status Journal::undoResolution(int64_t resolution_id, std::string_view detail) {
  return inTransaction([&]() -> Status {
    auto r = resolution(resolution_id);
    if (!r) return tl::unexpected(r.error());
    const std::string what = "resolution " + std::to_string(r->id) + " of conflict " +
                             std::to_string(r->conflict_id) + " at " + displayPath(r->path);
    if (r->undone_at_ns != 0) return fail(ErrorCode::kInvalidArgument, what + " was undone already");
    auto c = conflict(r->conflict_id);
    if (!c) return tl::unexpected(c.error());
    if (c->open)
      return fail(ErrorCode::kInvalidArgument, what + ": the conflict is open again already");
    auto later = db_->query("find a later resolution",
                            "SELECT id FROM resolutions WHERE conflict_id = ?1 AND id > ?2 "
                            "AND undone_at_ns IS NULL");
    if (!later) return tl::unexpected(later.error());
    later->bindInt(1, r->conflict_id).bindInt(2, r->id);
    auto row = later->step();
    if (!row) return tl::unexpected(row.error());
    if (*row)
      return fail(ErrorCode::kInvalidArgument,
                  what + " was followed by resolution " + std::to_string(later->colInt(0)) +
                      ": undo that one first");
    auto mark = db_->query("stamp a resolution undone",
                           "UPDATE resolutions SET undone_at_ns = ?2 WHERE id = ?1");
    if (!mark) return tl::unexpected(mark.error());
    mark->bindInt(1, r->id).bindInt(2, nowNs());
    if (Status st = mark->run(); !st) return st;
    auto reopen = db_->query("reopen a conflict",
                             "UPDATE conflicts SET state = 'open', resolution = NULL, "
                             "resolved_at_ns = NULL, detail = ?2 WHERE id = ?1");
    if (!reopen) return tl::unexpected(reopen.error());
    reopen->bindInt(1, r->conflict_id).bindText(2, detail.empty() ? std::string_view("{}") : detail);
    auto done = reopen->run();
    if (!done && done.error().code() == ErrorCode::kExists)
      return fail(ErrorCode::kExists, what + ": the path has another open conflict now");
    return done;
  });
}

}  // namespace hoard::journal
