// SPDX-License-Identifier: MIT
#pragma once

// Shared helpers of the journal integration tests: a temporary directory,
// raw file bytes, a raw SQLite connection for checks behind the Journal's back.

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>

#include "common/Hash.h"
#include "journal/Journal.h"

namespace hoard::journal::testing {

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/hoard-journal-test-XXXXXX";
    char* p = ::mkdtemp(tmpl);
    EXPECT_NE(p, nullptr);
    path_ = p != nullptr ? p : "";
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

inline std::string readBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline void writeBytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// A raw connection for checks the Journal API does not offer.
class RawDb {
 public:
  explicit RawDb(const std::string& path) {
    EXPECT_EQ(sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE, nullptr), SQLITE_OK);
    sqlite3_busy_timeout(db_, 10000);
  }
  ~RawDb() { sqlite3_close_v2(db_); }
  RawDb(const RawDb&) = delete;
  RawDb& operator=(const RawDb&) = delete;

  // The first column of the first row as text ("" if none).
  std::string scalar(const std::string& sql) {
    sqlite3_stmt* st = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr), SQLITE_OK)
        << sql << ": " << sqlite3_errmsg(db_);
    std::string out;
    if (st != nullptr && sqlite3_step(st) == SQLITE_ROW) {
      const unsigned char* t = sqlite3_column_text(st, 0);
      if (t != nullptr) out = reinterpret_cast<const char*>(t);
    }
    sqlite3_finalize(st);
    return out;
  }
  void exec(const std::string& sql) {
    char* err = nullptr;
    EXPECT_EQ(sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err), SQLITE_OK)
        << sql << ": " << (err != nullptr ? err : "");
    sqlite3_free(err);
  }

 private:
  sqlite3* db_ = nullptr;
};

inline std::unique_ptr<Journal> openOk(const std::string& path) {
  auto j = Journal::open(path);
  EXPECT_TRUE(j) << (j ? "" : j.error().toString());
  return j ? std::move(*j) : nullptr;
}

inline ShareSpec shareSpec(const std::string& name) {
  return ShareSpec{name, "/mnt/remote/" + name, "/home/u/" + name,
                   RemoteIdentity{"fsid-1", "host:/export", "nfs4", "marker-" + name,
                                  "/mnt/export " + name, "/export"},
                   {}};
}

inline ContentHash hashOf(const std::string& s) { return hashBytes(s); }

inline BaseEntry fileEntry(const std::string& path, uint64_t size,
                           std::optional<ContentHash> object = std::nullopt) {
  BaseEntry e;
  e.path = path;
  e.local.type = FileType::kFile;
  e.local.size = size;
  e.local.mode = 0644;
  e.local.mtime_ns = 1700000000123456789;
  e.local.ctime_ns = 1700000000987654321;
  e.local.inode = 0xfedcba9876543210ULL;  // above INT64_MAX: must survive the int64 column
  e.data_version = std::string("\x00\x01v", 3);
  e.hash = hashOf("content of " + path);
  e.object = object;
  return e;
}

}  // namespace hoard::journal::testing
