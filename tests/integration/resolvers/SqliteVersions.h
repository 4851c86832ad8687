// SPDX-License-Identifier: MIT
// Three versions of a real SQLite database for the sqlite resolver: a base
// made by SQL, local and remote as copies of it changed by more SQL, handed
// over as read-only descriptors in a ConflictView, as hoardd does; the
// merged result read back from its memfd.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "Conflict.h"
#include "common/UniqueFd.h"

namespace hoard::resolvers {

// Opens `path`, runs `sql`, closes (a WAL database is checkpointed). Fails
// the test with SQLite's message.
inline void runSql(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  char* err = nullptr;
  int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
  std::string msg = err ? err : "";
  sqlite3_free(err);
  sqlite3_close(db);
  ASSERT_EQ(rc, SQLITE_OK) << msg;
}

// The rows of `sql` on the database at `path`: columns joined by '|', rows
// by ';', NULL as "NULL"; "err <message>" on failure.
inline std::string query(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    sqlite3_close(db);
    return "err open";
  }
  sqlite3_stmt* st = nullptr;
  std::string out;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) != SQLITE_OK) {
    out = std::string("err ") + sqlite3_errmsg(db);
  } else {
    int rc;
    bool first = true;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
      out += first ? "" : ";";
      first = false;
      for (int i = 0; i < sqlite3_column_count(st); ++i) {
        const auto* t = sqlite3_column_text(st, i);
        out += (i ? "|" : "") + std::string(t ? reinterpret_cast<const char*>(t) : "NULL");
      }
    }
    if (rc != SQLITE_DONE) out = std::string("err ") + sqlite3_errmsg(db);
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  return out;
}

inline std::string fileBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

class SqliteVersions {
 public:
  SqliteVersions() {
    char tmpl[] = "/tmp/hoard-sqlite-versions-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
  }
  ~SqliteVersions() { std::filesystem::remove_all(dir_); }

  std::string path(const std::string& name) const { return dir_ + "/" + name; }

  // The base from `sql`, local and remote as its copies.
  void base(const std::string& sql) {
    runSql(path("base.db"), sql);
    std::filesystem::copy_file(path("base.db"), path("local.db"));
    std::filesystem::copy_file(path("base.db"), path("remote.db"));
  }
  void local(const std::string& sql) { runSql(path("local.db"), sql); }
  void remote(const std::string& sql) { runSql(path("remote.db"), sql); }

  // The view hoardd would hand over: read-only fds of the three files (the
  // base absent if `with_base` is false), an empty memfd for the result
  // (none for a dry run).
  ConflictView view(bool dry_run = false, bool with_base = true) {
    ConflictView v;
    v.id = 7;
    v.share = "s";
    v.path = "notes/w.db";
    v.kind = ConflictKind::kContent;
    if (with_base) open(v.base, "base.db");
    open(v.local, "local.db");
    open(v.remote, "remote.db");
    out_.reset(dry_run ? -1 : ::memfd_create("merged", MFD_CLOEXEC));
    v.output_fd = out_.get();
    return v;
  }

  // The merged result as a database file `merged.db`; its path.
  std::string result() {
    std::string p = path("merged.db");
    std::filesystem::remove(p);
    off_t size = ::lseek(out_.get(), 0, SEEK_END);
    std::string bytes(size_t(size), '\0');
    EXPECT_EQ(::pread(out_.get(), bytes.data(), bytes.size(), 0), size);
    std::ofstream(p, std::ios::binary) << bytes;
    return p;
  }

 private:
  void open(Version& v, const std::string& name) {
    fds_.emplace_back(::open(path(name).c_str(), O_RDONLY | O_CLOEXEC));
    v.type = FileType::kFile;
    v.fd = fds_.back().get();
    v.size = std::filesystem::file_size(path(name));
  }

  std::string dir_;
  std::vector<UniqueFd> fds_;
  UniqueFd out_;
};

}  // namespace hoard::resolvers
