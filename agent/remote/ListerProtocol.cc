// SPDX-License-Identifier: MIT
#include "remote/ListerProtocol.h"

#include <charconv>

#include "remote/RemoteFs.h"

namespace hoard::remote {

namespace {

constexpr char kDigits[] = "0123456789abcdef";

std::string hex(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

std::optional<std::string> unhex(std::string_view h) {
  if (h.size() % 2 != 0) return std::nullopt;
  std::string out;
  out.reserve(h.size() / 2);
  auto digit = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  for (size_t i = 0; i < h.size(); i += 2) {
    int hi = digit(h[i]), lo = digit(h[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<char>(hi * 16 + lo));
  }
  return out;
}

char typeLetter(FileType t) {
  switch (t) {
    case FileType::kFile: return 'f';
    case FileType::kDir: return 'd';
    case FileType::kSymlink: return 'l';
    default: return 'o';
  }
}

std::optional<FileType> typeFromLetter(std::string_view s) {
  if (s == "f") return FileType::kFile;
  if (s == "d") return FileType::kDir;
  if (s == "l") return FileType::kSymlink;
  if (s == "o") return FileType::kOther;
  return std::nullopt;
}

std::vector<std::string_view> fields(std::string_view l) {
  std::vector<std::string_view> out;
  size_t at = 0;
  while (at <= l.size()) {
    size_t sp = l.find(' ', at);
    if (sp == std::string_view::npos) sp = l.size();
    out.push_back(l.substr(at, sp - at));
    at = sp + 1;
  }
  return out;
}

template <class T>
bool number(std::string_view s, T& out, int base = 10) {
  auto r = std::from_chars(s.data(), s.data() + s.size(), out, base);
  return !s.empty() && r.ec == std::errc() && r.ptr == s.data() + s.size();
}

}  // namespace

bool listerSkips(std::string_view name, bool at_root) {
  return name.substr(0, kTempPrefix.size()) == kTempPrefix || (at_root && name == kMarkerName);
}

std::string listerHeader(std::string_view marker_bytes, bool has_marker) {
  return "hoard-lister " + std::to_string(kListerProtocol) + " " +
         (has_marker ? hex(marker_bytes) : std::string("-")) + "\n";
}

std::string listerEntryLine(const ListerEntry& e) {
  if (e.unlisted_errno) return "u " + std::to_string(*e.unlisted_errno) + " " + hex(e.path) + "\n";
  char mode[16];
  auto m = std::to_chars(mode, mode + sizeof mode, e.meta.mode, 8);
  std::string line = "e ";
  line += typeLetter(e.meta.type);
  line += " " + std::string(mode, m.ptr) + " " + std::to_string(e.meta.size) + " " +
          std::to_string(e.meta.mtime_ns) + " " + std::to_string(e.meta.ctime_ns) + " " +
          std::to_string(e.meta.inode) + " " + std::to_string(e.dev) + " " + hex(e.path) + "\n";
  return line;
}

std::string listerEndLine(uint64_t count) { return "end " + std::to_string(count) + "\n"; }

Status ListerParser::feed(std::string_view chunk) {
  partial_.append(chunk);
  size_t start = 0;
  for (size_t nl; (nl = partial_.find('\n', start)) != std::string::npos; start = nl + 1) {
    if (auto ok = line(std::string_view(partial_).substr(start, nl - start)); !ok) return ok;
  }
  partial_.erase(0, start);
  return {};
}

Status ListerParser::line(std::string_view l) {
  ++line_no_;
  auto bad = [&](const std::string& why) {
    return fail(ErrorCode::kCorrupt,
                "hoard-lister's answer, line " + std::to_string(line_no_) + ": " + why);
  };
  if (complete_) return bad("text after the end line");
  auto f = fields(l);
  if (!header_) {
    if (f.size() != 3 || f[0] != "hoard-lister") return bad("not a hoard-lister header");
    if (f[1] != std::to_string(kListerProtocol))
      return bad("protocol " + std::string(f[1]) + ", this hoard speaks " +
                 std::to_string(kListerProtocol));
    header_ = true;
    if (f[2] == "-") return {};
    marker_ = unhex(f[2]);
    if (!marker_) return bad("the marker is not hex");
    return {};
  }
  if (f[0] == "end") {
    uint64_t n = 0;
    if (f.size() != 2 || !number(f[1], n)) return bad("a malformed end line");
    if (n != entries_.size())
      return bad("the end line counts " + std::to_string(n) + " records, " +
                 std::to_string(entries_.size()) + " came");
    complete_ = true;
    return {};
  }
  ListerEntry e;
  if (f[0] == "u") {
    int err = 0;
    auto path = f.size() == 3 ? unhex(f[2]) : std::nullopt;
    if (!path || !number(f[1], err)) return bad("a malformed unlisted record");
    e.path = *path;
    e.meta.type = FileType::kDir;
    e.unlisted_errno = err;
  } else if (f[0] == "e") {
    if (f.size() != 9) return bad("a malformed entry (" + std::to_string(f.size()) + " fields, not 9)");
    auto type = typeFromLetter(f[1]);
    auto path = unhex(f[8]);
    if (!type || !path || path->empty() || !number(f[2], e.meta.mode, 8) ||
        !number(f[3], e.meta.size) || !number(f[4], e.meta.mtime_ns) ||
        !number(f[5], e.meta.ctime_ns) || !number(f[6], e.meta.inode) || !number(f[7], e.dev))
      return bad("a malformed entry");
    e.path = std::move(*path);
    e.meta.type = *type;
  } else {
    return bad("an unknown record");
  }
  entries_.push_back(std::move(e));
  return {};
}

}  // namespace hoard::remote
