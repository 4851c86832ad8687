// SPDX-License-Identifier: MIT
#include "SqliteDb.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "common/UniqueFd.h"

namespace hoard::resolvers::sqlite {

std::string quoteIdent(std::string_view name) {
  std::string out = "\"";
  for (char ch : name) {
    if (ch == '"') out += '"';
    out += ch;
  }
  return out + "\"";
}

std::string quoteLiteral(std::string_view s) {
  std::string out = "'";
  for (char ch : s) {
    if (ch == '\'') out += '\'';
    out += ch;
  }
  return out + "'";
}

Stmt& Stmt::operator=(Stmt&& o) noexcept {
  if (this != &o) {
    sqlite3_finalize(s_);
    s_ = o.s_;
    o.s_ = nullptr;
  }
  return *this;
}

Result<Db> Db::open(const std::string& path, std::string what) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr);
  Db out(db, std::move(what));
  if (rc != SQLITE_OK) return tl::unexpected(out.error("opening it"));
  sqlite3_extended_result_codes(db, 1);
  return out;
}

Error Db::error(std::string_view doing) const {
  int rc = db_ ? sqlite3_errcode(db_) & 0xff : SQLITE_NOMEM;
  std::string msg = db_ ? sqlite3_errmsg(db_) : "out of memory";
  ErrorCode code = (rc == SQLITE_CORRUPT || rc == SQLITE_NOTADB) ? ErrorCode::kCorrupt
                   : rc == SQLITE_BUSY                           ? ErrorCode::kBusy
                                                                 : ErrorCode::kIo;
  return Error(code, what_ + ": " + std::string(doing) + ": " + msg);
}

Status Db::exec(const std::string& sql) {
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK)
    return tl::unexpected(error(sql.substr(0, 80)));
  return {};
}

Result<Stmt> Db::prepare(const std::string& sql) {
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &s, nullptr) != SQLITE_OK)
    return tl::unexpected(error(sql.substr(0, 80)));
  return Stmt(s);
}

Result<std::vector<std::string>> Db::column(const std::string& sql, int col) {
  auto st = prepare(sql);
  if (!st) return tl::unexpected(st.error());
  std::vector<std::string> out;
  int rc;
  while ((rc = sqlite3_step(st->get())) == SQLITE_ROW) {
    auto* t = sqlite3_column_text(st->get(), col);
    out.emplace_back(t ? reinterpret_cast<const char*>(t) : "");
  }
  if (rc != SQLITE_DONE) return tl::unexpected(error(sql.substr(0, 80)));
  return out;
}

Status Db::close() {
  if (db_ && sqlite3_close(db_) != SQLITE_OK) return tl::unexpected(error("closing it"));
  db_ = nullptr;
  return {};
}

Value Value::of(sqlite3_value* v) {
  Value out;
  if (!v) return out;
  out.type = sqlite3_value_type(v);
  if (out.type == SQLITE_INTEGER) out.i = sqlite3_value_int64(v);
  if (out.type == SQLITE_FLOAT) out.d = sqlite3_value_double(v);
  if (out.type == SQLITE_TEXT || out.type == SQLITE_BLOB) {
    const void* p = out.type == SQLITE_TEXT ? static_cast<const void*>(sqlite3_value_text(v))
                                            : sqlite3_value_blob(v);
    out.bytes.assign(static_cast<const char*>(p ? p : ""), sqlite3_value_bytes(v));
  }
  return out;
}

Value Value::column(sqlite3_stmt* s, int col) { return of(sqlite3_column_value(s, col)); }

int Value::bind(sqlite3_stmt* s, int idx) const {
  switch (type) {
    case SQLITE_INTEGER:
      return sqlite3_bind_int64(s, idx, i);
    case SQLITE_FLOAT:
      return sqlite3_bind_double(s, idx, d);
    case SQLITE_TEXT:
      return sqlite3_bind_text(s, idx, bytes.data(), int(bytes.size()), SQLITE_TRANSIENT);
    case SQLITE_BLOB:
      return sqlite3_bind_blob(s, idx, bytes.data(), int(bytes.size()), SQLITE_TRANSIENT);
    default:
      return sqlite3_bind_null(s, idx);
  }
}

bool Value::operator==(const Value& o) const {
  if (type != o.type) return false;
  if (type == SQLITE_INTEGER) return i == o.i;
  if (type == SQLITE_FLOAT) return std::memcmp(&d, &o.d, sizeof d) == 0;
  return bytes == o.bytes;
}

std::string Value::display() const {
  static const char* kHex = "0123456789abcdef";
  switch (type) {
    case SQLITE_INTEGER:
      return std::to_string(i);
    case SQLITE_FLOAT:
      return std::to_string(d);
    case SQLITE_TEXT:
      return quoteLiteral(bytes);
    case SQLITE_BLOB: {
      std::string out = "x'";
      for (unsigned char ch : bytes) (out += kHex[ch >> 4]) += kHex[ch & 15];
      return out + "'";
    }
    default:
      return "NULL";
  }
}

std::string encodeKey(const Row& key) {
  std::string out;
  for (const Value& v : key) {
    out += char(v.type);
    std::string body = v.type == SQLITE_INTEGER ? std::to_string(v.i)
                       : v.type == SQLITE_FLOAT
                           ? std::string(reinterpret_cast<const char*>(&v.d), 8)
                           : v.bytes;
    out += std::to_string(body.size()) + ":" + body;
  }
  return out;
}

Result<PrivateDir> PrivateDir::make() {
  const char* tmp = std::getenv("TMPDIR");
  std::string tmpl = std::string(tmp && *tmp ? tmp : "/tmp") + "/hoard-sqlite-XXXXXX";
  if (!::mkdtemp(tmpl.data())) return failErrno(errno, "mkdtemp " + tmpl);
  return PrivateDir(std::move(tmpl));
}

PrivateDir::~PrivateDir() {
  if (path_.empty()) return;
  if (DIR* d = ::opendir(path_.c_str())) {
    while (dirent* e = ::readdir(d))
      if (std::strcmp(e->d_name, ".") && std::strcmp(e->d_name, ".."))
        ::unlink(file(e->d_name).c_str());
    ::closedir(d);
  }
  ::rmdir(path_.c_str());
}

Status copyFdToFile(int fd, const std::string& path, std::string_view what) {
  UniqueFd out(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (!out) return failErrno(errno, "creating a private copy of " + std::string(what));
  char buf[1 << 16];
  for (off_t off = 0;;) {
    ssize_t n = ::pread(fd, buf, sizeof buf, off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return failErrno(errno, "reading " + std::string(what));
    if (n == 0) return {};
    for (ssize_t done = 0; done < n;) {
      ssize_t w = ::write(out.get(), buf + done, size_t(n - done));
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) return failErrno(errno, "writing a private copy of " + std::string(what));
      done += w;
    }
    off += n;
  }
}

Status copyFileToFd(const std::string& path, int fd) {
  UniqueFd in(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!in) return failErrno(errno, "reading the merged database");
  if (::ftruncate(fd, 0) != 0) return failErrno(errno, "truncating the merge output");
  char buf[1 << 16];
  for (off_t off = 0;;) {
    ssize_t n = ::read(in.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return failErrno(errno, "reading the merged database");
    if (n == 0) return {};
    for (ssize_t done = 0; done < n;) {
      ssize_t w = ::pwrite(fd, buf + done, size_t(n - done), off + done);
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) return failErrno(errno, "writing the merge output");
      done += w;
    }
    off += n;
  }
}

Result<std::string> readHeader(int fd, std::string_view what) {
  std::string head(100, '\0');
  ssize_t n;
  do n = ::pread(fd, head.data(), head.size(), 0);
  while (n < 0 && errno == EINTR);
  if (n < 0) return failErrno(errno, "reading " + std::string(what));
  head.resize(size_t(n));
  return head;
}

bool isSqliteHeader(std::string_view head) {
  return head.substr(0, 16) == std::string_view("SQLite format 3\0", 16);
}

}  // namespace hoard::resolvers::sqlite
