// SPDX-License-Identifier: MIT
#include "store/KeepPolicy.h"

#include <fnmatch.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>

namespace hoard::store {
namespace {

bool matchesGlob(const std::string& glob, std::string_view path) {
  std::string subject(glob.find('/') == std::string::npos ? baseName(path) : path);
  return ::fnmatch(glob.c_str(), subject.c_str(), 0) == 0;
}

bool matchesAny(const std::vector<std::string>& globs, std::string_view path) {
  return std::any_of(globs.begin(), globs.end(),
                     [&](const std::string& g) { return matchesGlob(g, path); });
}

bool endsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

uint32_t bigEndian32(std::string_view s) {
  return static_cast<uint32_t>(static_cast<uint8_t>(s[0])) << 24 |
         static_cast<uint32_t>(static_cast<uint8_t>(s[1])) << 16 |
         static_cast<uint32_t>(static_cast<uint8_t>(s[2])) << 8 |
         static_cast<uint32_t>(static_cast<uint8_t>(s[3]));
}

// A WAL file starts with 0x377f0682 or 0x377f0683; a rollback journal with
// the 8 bytes d9 d5 05 f9 20 a1 63 d7 (or zeros once committed and zeroed).
bool isSqliteSidecar(std::string_view name, std::string_view head) {
  if (endsWith(name, "-wal")) {
    if (head.empty()) return true;
    if (head.size() < 4) return false;
    uint32_t magic = bigEndian32(head);
    return magic == 0x377f0682u || magic == 0x377f0683u;
  }
  if (endsWith(name, "-journal")) {
    if (head.empty()) return true;
    static constexpr char kMagic[] = "\xd9\xd5\x05\xf9\x20\xa1\x63\xd7";
    static constexpr char kZeros[8] = {};
    if (head.size() < 8) return false;
    return head.substr(0, 8) == std::string_view(kMagic, 8) ||
           head.substr(0, 8) == std::string_view(kZeros, 8);
  }
  return false;
}

}  // namespace

std::string_view keepReasonName(KeepReason r) {
  switch (r) {
    case KeepReason::kTooLarge:
      return "too-large";
    case KeepReason::kKeepNone:
      return "keep-none";
    case KeepReason::kExcluded:
      return "excluded";
    case KeepReason::kKeepAll:
      return "keep-all";
    case KeepReason::kIncluded:
      return "included";
    case KeepReason::kSqlite:
      return "sqlite";
    case KeepReason::kTextExtension:
      return "text-extension";
    case KeepReason::kTextContent:
      return "text-content";
    case KeepReason::kBinary:
      return "binary";
  }
  return "binary";
}

bool isSqliteHeader(std::string_view head) {
  static constexpr std::string_view kHeader("SQLite format 3\0", 16);
  return head.substr(0, kHeader.size()) == kHeader;
}

bool hasTextExtension(std::string_view name) {
  static constexpr std::array<std::string_view, 62> kExt = {
      "txt",  "md",  "markdown", "rst",  "adoc", "org",   "tex",   "bib",  "csv", "tsv", "json",
      "yaml", "yml", "toml",     "ini",  "cfg",  "conf",  "xml",   "html", "htm", "css", "scss",
      "svg",  "c",   "h",        "cc",   "cpp",  "cxx",   "hpp",   "hh",   "py",  "js",  "mjs",
      "ts",   "tsx", "jsx",      "java", "kt",   "go",    "rs",    "rb",   "pl",  "pm",  "php",
      "lua",  "sh",  "bash",     "zsh",  "fish", "sql",   "cmake", "mk",   "el",  "vim", "scm",
      "hs",   "ml",  "swift",    "r",    "log",  "patch", "diff"};
  std::string_view base = baseName(name);
  size_t dot = base.rfind('.');
  if (dot == std::string_view::npos || dot == 0 || dot + 1 == base.size()) {
    return base == "Makefile" || base == "README" || base == "LICENSE" || base == "COPYING" ||
           base == "Dockerfile" || base == "CMakeLists.txt";
  }
  std::string ext(base.substr(dot + 1));
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; });
  return std::find(kExt.begin(), kExt.end(), ext) != kExt.end();
}

bool looksLikeText(std::string_view head, bool may_be_truncated) {
  size_t controls = 0;
  size_t i = 0;
  const size_t n = head.size();
  while (i < n) {
    auto c = static_cast<uint8_t>(head[i]);
    if (c == 0) return false;
    if (c < 0x80) {
      if (c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f' && c != '\v' && c != '\b' &&
          c != 0x1b)
        ++controls;
      if (c == 0x7f) ++controls;
      ++i;
      continue;
    }
    size_t len;
    uint32_t cp;
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
      cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > n) return may_be_truncated;  // a character cut by the sniff window
    for (size_t k = 1; k < len; ++k) {
      auto cc = static_cast<uint8_t>(head[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = cp << 6 | (cc & 0x3F);
    }
    // Overlong forms, surrogates and values beyond U+10FFFF are not UTF-8.
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF))
      return false;
    i += len;
  }
  // A few stray control bytes occur in real text (form feeds, ANSI logs); many
  // mean binary.
  return controls * 100 <= n;
}

KeepDecision KeepPolicy::decide(std::string_view path, uint64_t size, std::string_view head) const {
  using Mode = KeepPolicyConfig::Mode;
  if (size > config_.max_size) return {false, KeepReason::kTooLarge};
  if (config_.mode == Mode::kNone) return {false, KeepReason::kKeepNone};
  if (matchesAny(config_.exclude_globs, path)) return {false, KeepReason::kExcluded};
  if (config_.mode == Mode::kAll) return {true, KeepReason::kKeepAll};
  if (matchesAny(config_.include_globs, path)) return {true, KeepReason::kIncluded};
  if (isSqliteHeader(head) || isSqliteSidecar(baseName(path), head))
    return {true, KeepReason::kSqlite};
  if (hasTextExtension(path)) return {true, KeepReason::kTextExtension};
  if (looksLikeText(head, size > head.size())) return {true, KeepReason::kTextContent};
  return {false, KeepReason::kBinary};
}

Result<KeepDecision> KeepPolicy::decideFd(std::string_view path, int fd) const {
  struct stat st;
  if (::fstat(fd, &st) != 0) return failErrno(errno, "stat " + displayPath(path));
  std::string head(kSniffBytes, '\0');
  size_t got = 0;
  while (got < head.size()) {
    ssize_t n = ::pread(fd, head.data() + got, head.size() - got, static_cast<off_t>(got));
    if (n < 0) {
      if (errno == EINTR) continue;
      return failErrno(errno, "read " + displayPath(path));
    }
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  head.resize(got);
  return decide(path, static_cast<uint64_t>(st.st_size), head);
}

}  // namespace hoard::store
