// SPDX-License-Identifier: MIT
#include "remote/Mountinfo.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>

#include "common/RelPath.h"
#include "common/UniqueFd.h"

namespace hoard::remote {

namespace {

bool isOctal(char c) { return c >= '0' && c <= '7'; }

std::vector<std::string_view> splitSpaces(std::string_view line) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && line[i] == ' ') ++i;
    if (i >= line.size()) break;
    size_t j = line.find(' ', i);
    if (j == std::string_view::npos) j = line.size();
    out.push_back(line.substr(i, j - i));
    i = j;
  }
  return out;
}

bool parseInt(std::string_view s, int* out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

// True if `prefix` (an absolute mount point) contains `path` component-wise.
bool containsPath(std::string_view prefix, std::string_view path) {
  if (prefix == "/") return !path.empty() && path[0] == '/';
  if (path.substr(0, prefix.size()) != prefix) return false;
  return path.size() == prefix.size() || path[prefix.size()] == '/';
}

}  // namespace

std::string unescapeMountField(std::string_view field) {
  std::string out;
  out.reserve(field.size());
  for (size_t i = 0; i < field.size(); ++i) {
    if (field[i] == '\\' && i + 3 < field.size() && isOctal(field[i + 1]) &&
        isOctal(field[i + 2]) && isOctal(field[i + 3])) {
      int v = (field[i + 1] - '0') * 64 + (field[i + 2] - '0') * 8 + (field[i + 3] - '0');
      out += static_cast<char>(static_cast<unsigned char>(v & 0xff));
      i += 3;
    } else {
      out += field[i];
    }
  }
  return out;
}

Result<std::vector<MountEntry>> parseMountinfo(std::string_view text) {
  std::vector<MountEntry> out;
  size_t line_no = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    std::string_view line = text.substr(pos, nl - pos);
    pos = nl + 1;
    ++line_no;
    if (line.empty()) continue;
    auto bad = [&](std::string_view why) {
      return fail(ErrorCode::kCorrupt,
                  "mountinfo line " + std::to_string(line_no) + ": " + std::string(why));
    };
    auto f = splitSpaces(line);
    // id parent major:minor root mount_point options [optional...] - fstype source super
    size_t sep = 0;
    for (size_t i = 6; i < f.size(); ++i) {
      if (f[i] == "-") {
        sep = i;
        break;
      }
    }
    if (f.size() < 9 || sep == 0 || sep + 3 > f.size()) return bad("malformed entry");
    MountEntry e;
    if (!parseInt(f[0], &e.mount_id) || !parseInt(f[1], &e.parent_id)) {
      return bad("mount id is not a number");
    }
    e.device = std::string(f[2]);
    e.root = unescapeMountField(f[3]);
    e.mount_point = unescapeMountField(f[4]);
    e.mount_options = std::string(f[5]);
    for (size_t i = 6; i < sep; ++i) e.optional_fields.emplace_back(f[i]);
    e.fstype = unescapeMountField(f[sep + 1]);
    e.source = unescapeMountField(f[sep + 2]);
    if (sep + 3 < f.size()) e.super_options = std::string(f[sep + 3]);
    if (e.mount_point.empty() || e.mount_point[0] != '/') return bad("mount point is not absolute");
    out.push_back(std::move(e));
  }
  return out;
}

Result<std::vector<MountEntry>> readMountinfo(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return failErrno(errno, "open " + displayPath(path));
  std::string text;
  char buf[16384];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return failErrno(errno, "read " + displayPath(path));
    }
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  auto parsed = parseMountinfo(text);
  if (!parsed) return tl::unexpected(parsed.error().withContext(displayPath(path)));
  return parsed;
}

const MountEntry* findMountFor(const std::vector<MountEntry>& mounts, std::string_view path) {
  const MountEntry* best = nullptr;
  for (const MountEntry& m : mounts) {
    if (!containsPath(m.mount_point, path)) continue;
    if (best == nullptr || m.mount_point.size() >= best->mount_point.size()) best = &m;
  }
  return best;
}

}  // namespace hoard::remote
