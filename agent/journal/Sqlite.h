// SPDX-License-Identifier: MIT
#pragma once

// A thin RAII layer over the sqlite3 C API for the journal's own use (not a
// public interface of the layer). Every failure becomes a hoard::Error naming
// the database file and the purpose of the failing statement.

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/Error.h"

namespace hoard::journal::detail {

// Maps a sqlite result code (extended codes welcome) to an ErrorCode.
ErrorCode errorCodeFromSqlite(int rc);

class Db;

// A cached prepared statement borrowed for one use; resets and clears its
// bindings when it goes out of scope so the cache can hand it out again.
class Query {
 public:
  Query(Db* db, sqlite3_stmt* stmt, std::string_view purpose)
      : db_(db), stmt_(stmt), purpose_(purpose) {}
  Query(Query&& o) noexcept
      : db_(o.db_), stmt_(o.stmt_), purpose_(o.purpose_), bind_rc_(o.bind_rc_) {
    o.stmt_ = nullptr;
  }
  Query(const Query&) = delete;
  Query& operator=(const Query&) = delete;
  Query& operator=(Query&&) = delete;
  ~Query();

  // Parameters are 1-based, as in SQL. Binding errors surface at step().
  Query& bindInt(int i, int64_t v);
  // Binds bytes as a BLOB (even when empty: never NULL).
  Query& bindBlob(int i, std::string_view v);
  Query& bindText(int i, std::string_view v);
  Query& bindNull(int i);

  // true: a row is available; false: the statement is done.
  Result<bool> step();
  // Steps to completion, ignoring any rows.
  Status run();

  bool isNull(int col) const;
  int64_t colInt(int col) const;
  std::string colBlob(int col) const;  // BLOB or TEXT bytes; "" for NULL
  std::string colText(int col) const { return colBlob(col); }

 private:
  Db* db_;
  sqlite3_stmt* stmt_;
  std::string_view purpose_;
  int bind_rc_ = SQLITE_OK;
};

class Db {
 public:
  // Opens `path` with sqlite3_open_v2 `flags`. The handle is closed on failure.
  static Result<std::unique_ptr<Db>> open(const std::string& path, int flags);
  ~Db();
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  sqlite3* handle() const { return db_; }
  const std::string& path() const { return path_; }

  // "journal <path>: <purpose>: <sqlite message>" with the mapped code.
  Error error(int rc, std::string_view purpose) const;

  // Runs one or more SQL statements that return no rows we need.
  Status exec(std::string_view purpose, const std::string& sql);

  // The cached prepared statement for `sql` (prepared on first use).
  // `purpose` must outlive the Query (use a string literal).
  Result<Query> query(std::string_view purpose, const char* sql);

  // Set by the owner while it holds a transaction open. SQLite rolls a
  // transaction back by itself after some errors (SQLITE_FULL, IOERR, ...);
  // a later statement would then silently run in autocommit mode, so while
  // this is set a statement refuses to run outside a transaction.
  void setInTransaction(bool in) { in_transaction_ = in; }
  bool inTransaction() const { return in_transaction_; }

  // Reads one integer (or text) from a single-row statement such as a PRAGMA.
  Result<int64_t> scalarInt(std::string_view purpose, const char* sql);
  Result<std::string> scalarText(std::string_view purpose, const char* sql);

 private:
  Db(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}

  sqlite3* db_;
  std::string path_;
  // Keyed by the SQL text's address: callers pass string literals or
  // function-local statics, so equal addresses mean the same statement.
  std::unordered_map<const char*, sqlite3_stmt*> cache_;
  bool in_transaction_ = false;
};

}  // namespace hoard::journal::detail
