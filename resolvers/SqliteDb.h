// SPDX-License-Identifier: MIT
#pragma once

// Small owners around the SQLite C API for the sqlite resolver and the
// per-table diff: a connection, a statement, an owned copy of a value, and a
// private directory the versions are copied into (SQLite opens by name, and
// a resolver is given only read-only descriptors). Internal to resolvers/.
//
// The session extension's declarations need these two defined before
// sqlite3.h; Debian's libsqlite3 is built with both.
#ifndef SQLITE_ENABLE_SESSION
#define SQLITE_ENABLE_SESSION 1
#endif
#ifndef SQLITE_ENABLE_PREUPDATE_HOOK
#define SQLITE_ENABLE_PREUPDATE_HOOK 1
#endif
#include <sqlite3.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/Error.h"

namespace hoard::resolvers::sqlite {

// `name` as a quoted SQL identifier: "a ""b""".
std::string quoteIdent(std::string_view name);
// `s` as a SQL string literal: 'it''s'.
std::string quoteLiteral(std::string_view s);

class Stmt {
 public:
  Stmt() = default;
  explicit Stmt(sqlite3_stmt* s) : s_(s) {}
  Stmt(Stmt&& o) noexcept : s_(o.s_) { o.s_ = nullptr; }
  Stmt& operator=(Stmt&& o) noexcept;
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  ~Stmt() { sqlite3_finalize(s_); }
  sqlite3_stmt* get() const { return s_; }

 private:
  sqlite3_stmt* s_ = nullptr;
};

// One read-write connection to a private file. Errors name `what` (the
// version: "the local version").
class Db {
 public:
  static Result<Db> open(const std::string& path, std::string what);
  Db(Db&& o) noexcept : db_(o.db_), what_(std::move(o.what_)) { o.db_ = nullptr; }
  Db& operator=(Db&&) = delete;
  Db(const Db&) = delete;
  ~Db() { sqlite3_close_v2(db_); }

  sqlite3* get() const { return db_; }
  const std::string& what() const { return what_; }
  // Runs `sql` (one or more statements, no results). Errors: kCorrupt for
  // SQLITE_CORRUPT/NOTADB, kIo otherwise, with SQLite's message.
  Status exec(const std::string& sql);
  Result<Stmt> prepare(const std::string& sql);
  // Column `col` of every row of `sql`, as text (NULL as "").
  Result<std::vector<std::string>> column(const std::string& sql, int col = 0);
  // An Error for the connection's last failure, naming `what_` and `doing`.
  Error error(std::string_view doing) const;
  // Closes the connection (a WAL database is checkpointed and its -wal
  // removed); afterwards only the destructor may be called.
  Status close();

 private:
  Db(sqlite3* db, std::string what) : db_(db), what_(std::move(what)) {}
  sqlite3* db_;
  std::string what_;
};

// An owned copy of one SQLite value (a key column, a row's column).
struct Value {
  int type = SQLITE_NULL;
  int64_t i = 0;
  double d = 0;
  std::string bytes;  // TEXT and BLOB

  static Value of(sqlite3_value* v);
  static Value column(sqlite3_stmt* s, int col);
  int bind(sqlite3_stmt* s, int idx) const;
  bool operator==(const Value& o) const;
  // For messages: 3, 'abc', x'00ff', NULL.
  std::string display() const;
};
using Row = std::vector<Value>;

// A stable byte string for a key, for maps and sets.
std::string encodeKey(const Row& key);

// A directory of its own under $TMPDIR (or /tmp), mode 0700, removed with
// everything in it when destroyed.
class PrivateDir {
 public:
  static Result<PrivateDir> make();
  PrivateDir(PrivateDir&& o) noexcept : path_(std::move(o.path_)) { o.path_.clear(); }
  PrivateDir& operator=(PrivateDir&&) = delete;
  ~PrivateDir();
  const std::string& path() const { return path_; }
  std::string file(std::string_view name) const { return path_ + "/" + std::string(name); }

 private:
  explicit PrivateDir(std::string p) : path_(std::move(p)) {}
  std::string path_;
};

// Copies everything readable at `fd` (pread from offset 0) into a new file
// `path`. Errors: kIo naming `what`.
Status copyFdToFile(int fd, const std::string& path, std::string_view what);
// Replaces the content of `fd` with the file at `path` (from offset 0).
Status copyFileToFd(const std::string& path, int fd);
// The first 100 bytes of `fd` (the database header), fewer if shorter.
Result<std::string> readHeader(int fd, std::string_view what);
// True if `head` starts with "SQLite format 3\0".
bool isSqliteHeader(std::string_view head);
// Byte 18 of a database header is 2 in WAL mode.
inline bool headerSaysWal(std::string_view head) { return head.size() > 18 && head[18] == 2; }

}  // namespace hoard::resolvers::sqlite
