// SPDX-License-Identifier: MIT
#include "ContentClass.h"

#include <unistd.h>

#include <array>
#include <cstring>
#include <utility>

namespace hoard::resolvers {

namespace {

constexpr std::array<std::pair<ContentClass, std::string_view>, 5> kNames{{
    {ContentClass::kText, "text"},
    {ContentClass::kBinary, "binary"},
    {ContentClass::kSqlite, "sqlite"},
    {ContentClass::kGit, "git"},
    {ContentClass::kNone, "none"},
}};

// Up to `n` bytes from the start of `fd`; fewer at its end or on an error.
size_t head(int fd, char* buf, size_t n) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = ::pread(fd, buf + got, n - got, static_cast<off_t>(got));
    if (r <= 0) break;
    got += static_cast<size_t>(r);
  }
  return got;
}

bool insideGitDir(std::string_view path) {
  size_t start = 0;
  while (start < path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) return false;  // the last component is the name itself
    if (path.substr(start, end - start) == ".git") return true;
    start = end + 1;
  }
  return false;
}

bool sqliteHeader(int fd) {
  static constexpr char kMagic[] = "SQLite format 3";  // 16 bytes with its NUL
  char buf[sizeof kMagic];
  return head(fd, buf, sizeof buf) == sizeof buf && std::memcmp(buf, kMagic, sizeof buf) == 0;
}

}  // namespace

std::string_view contentClassName(ContentClass c) {
  for (const auto& [v, n] : kNames)
    if (v == c) return n;
  return "unknown";
}

std::optional<ContentClass> contentClassFromName(std::string_view name) {
  for (const auto& [v, n] : kNames)
    if (n == name) return v;
  return std::nullopt;
}

bool looksBinary(int fd) {
  if (fd < 0) return false;
  std::array<char, 8000> buf;
  size_t n = head(fd, buf.data(), buf.size());
  return std::memchr(buf.data(), '\0', n) != nullptr;
}

ContentClass classify(const ConflictView& c) {
  if (insideGitDir(c.path)) return ContentClass::kGit;
  const Version* versions[] = {&c.local, &c.remote, &c.base};
  bool any = false;
  for (const Version* v : versions) {
    if (v->fd < 0) continue;
    any = true;
    if (sqliteHeader(v->fd)) return ContentClass::kSqlite;
  }
  if (!any) return ContentClass::kNone;
  for (const Version* v : versions)
    if (looksBinary(v->fd)) return ContentClass::kBinary;
  return ContentClass::kText;
}

}  // namespace hoard::resolvers
