// SPDX-License-Identifier: MIT
#include "journal/Sqlite.h"

#include "common/RelPath.h"

namespace hoard::journal::detail {

ErrorCode errorCodeFromSqlite(int rc) {
  switch (rc) {
    case SQLITE_CONSTRAINT_UNIQUE:
    case SQLITE_CONSTRAINT_PRIMARYKEY:
      return ErrorCode::kExists;
    case SQLITE_CONSTRAINT_FOREIGNKEY:
      return ErrorCode::kNotFound;
    default:
      break;
  }
  switch (rc & 0xff) {
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
    case SQLITE_FORMAT:
      return ErrorCode::kCorrupt;
    case SQLITE_FULL:
      return ErrorCode::kNoSpace;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return ErrorCode::kBusy;
    case SQLITE_PERM:
    case SQLITE_READONLY:
    case SQLITE_AUTH:
      return ErrorCode::kPermission;
    case SQLITE_CONSTRAINT:
    case SQLITE_MISMATCH:
    case SQLITE_RANGE:
    case SQLITE_TOOBIG:
      return ErrorCode::kInvalidArgument;
    case SQLITE_NOTFOUND:
      return ErrorCode::kNotFound;
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_PROTOCOL:
      return ErrorCode::kIo;
    case SQLITE_INTERRUPT:
    case SQLITE_ABORT:
      return ErrorCode::kAborted;
    default:
      return ErrorCode::kInternal;
  }
}

Query::~Query() {
  if (stmt_ != nullptr) {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
}

Query& Query::bindInt(int i, int64_t v) {
  int rc = sqlite3_bind_int64(stmt_, i, v);
  if (bind_rc_ == SQLITE_OK) bind_rc_ = rc;
  return *this;
}

Query& Query::bindBlob(int i, std::string_view v) {
  // A null data pointer would bind NULL; an empty path must stay an empty BLOB.
  static const char kEmpty[1] = {0};
  const char* data = v.empty() ? kEmpty : v.data();
  int rc = sqlite3_bind_blob64(stmt_, i, data, v.size(), SQLITE_TRANSIENT);
  if (bind_rc_ == SQLITE_OK) bind_rc_ = rc;
  return *this;
}

Query& Query::bindText(int i, std::string_view v) {
  static const char kEmpty[1] = {0};
  const char* data = v.empty() ? kEmpty : v.data();
  int rc = sqlite3_bind_text64(stmt_, i, data, v.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  if (bind_rc_ == SQLITE_OK) bind_rc_ = rc;
  return *this;
}

Query& Query::bindNull(int i) {
  int rc = sqlite3_bind_null(stmt_, i);
  if (bind_rc_ == SQLITE_OK) bind_rc_ = rc;
  return *this;
}

Result<bool> Query::step() {
  if (bind_rc_ != SQLITE_OK) return tl::unexpected(db_->error(bind_rc_, purpose_));
  if (db_->inTransaction() && sqlite3_get_autocommit(db_->handle()) != 0) {
    return fail(ErrorCode::kAborted,
                "journal " + displayPath(db_->path()) + ": " + std::string(purpose_) +
                    ": the transaction was already rolled back after an earlier error");
  }
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return tl::unexpected(db_->error(rc, purpose_));
}

Status Query::run() {
  for (;;) {
    auto more = step();
    if (!more) return tl::unexpected(more.error());
    if (!*more) return {};
  }
}

bool Query::isNull(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }

int64_t Query::colInt(int col) const { return sqlite3_column_int64(stmt_, col); }

std::string Query::colBlob(int col) const {
  const void* p = sqlite3_column_blob(stmt_, col);
  int n = sqlite3_column_bytes(stmt_, col);
  if (p == nullptr || n <= 0) return {};
  return std::string(static_cast<const char*>(p), static_cast<size_t>(n));
}

Result<std::unique_ptr<Db>> Db::open(const std::string& path, int flags) {
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, flags | SQLITE_OPEN_EXRESCODE, nullptr);
  std::unique_ptr<Db> db(new Db(raw, path));
  if (rc != SQLITE_OK) return tl::unexpected(db->error(rc, "open"));
  return db;
}

Db::~Db() {
  for (auto& [sql, stmt] : cache_) sqlite3_finalize(stmt);
  sqlite3_close_v2(db_);
}

Error Db::error(int rc, std::string_view purpose) const {
  std::string detail = sqlite3_errstr(rc);
  if (db_ != nullptr && sqlite3_errcode(db_) == rc) {
    const char* msg = sqlite3_errmsg(db_);
    if (msg != nullptr && detail != msg) detail = std::string(msg) + " (" + detail + ")";
  }
  return Error(errorCodeFromSqlite(rc),
               "journal " + displayPath(path_) + ": " + std::string(purpose) + ": " + detail);
}

Status Db::exec(std::string_view purpose, const std::string& sql) {
  if (in_transaction_ && sqlite3_get_autocommit(db_) != 0) {
    return fail(ErrorCode::kAborted, "journal " + displayPath(path_) + ": " + std::string(purpose) +
                                         ": the transaction was already rolled back after an "
                                         "earlier error");
  }
  char* msg = nullptr;
  int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &msg);
  if (rc == SQLITE_OK) return {};
  std::string text = msg != nullptr ? msg : sqlite3_errstr(rc);
  sqlite3_free(msg);
  return fail(errorCodeFromSqlite(rc),
              "journal " + displayPath(path_) + ": " + std::string(purpose) + ": " + text);
}

Result<Query> Db::query(std::string_view purpose, const char* sql) {
  auto it = cache_.find(sql);
  if (it == cache_.end()) {
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
    if (rc != SQLITE_OK) return tl::unexpected(error(rc, purpose));
    it = cache_.emplace(sql, stmt).first;
  }
  return Query(this, it->second, purpose);
}

Result<int64_t> Db::scalarInt(std::string_view purpose, const char* sql) {
  auto q = query(purpose, sql);
  if (!q) return tl::unexpected(q.error());
  auto row = q->step();
  if (!row) return tl::unexpected(row.error());
  if (!*row)
    return fail(ErrorCode::kInternal,
                "journal " + displayPath(path_) + ": " + std::string(purpose) + ": no row");
  return q->colInt(0);
}

Result<std::string> Db::scalarText(std::string_view purpose, const char* sql) {
  auto q = query(purpose, sql);
  if (!q) return tl::unexpected(q.error());
  auto row = q->step();
  if (!row) return tl::unexpected(row.error());
  if (!*row)
    return fail(ErrorCode::kInternal,
                "journal " + displayPath(path_) + ": " + std::string(purpose) + ": no row");
  return q->colText(0);
}

}  // namespace hoard::journal::detail
