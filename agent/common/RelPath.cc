// SPDX-License-Identifier: MIT
#include "common/RelPath.h"

#include <algorithm>

namespace hoard {

Status validateRelPath(std::string_view p) {
  if (p.empty()) return {};
  if (p.front() == '/' || p.back() == '/')
    return fail(ErrorCode::kInvalidArgument,
                "path '" + displayPath(p) + "' must be relative, without a leading or trailing '/'");
  if (p.find('\0') != std::string_view::npos)
    return fail(ErrorCode::kInvalidArgument, "path '" + displayPath(p) + "' contains a NUL byte");
  size_t start = 0;
  while (start <= p.size()) {
    size_t end = p.find('/', start);
    if (end == std::string_view::npos) end = p.size();
    std::string_view comp = p.substr(start, end - start);
    if (comp.empty() || comp == "." || comp == "..")
      return fail(ErrorCode::kInvalidArgument,
                  "path '" + displayPath(p) + "' has an empty, '.' or '..' component");
    start = end + 1;
  }
  return {};
}

std::string_view parentOf(std::string_view p) {
  size_t slash = p.rfind('/');
  return slash == std::string_view::npos ? std::string_view() : p.substr(0, slash);
}

std::string_view baseName(std::string_view p) {
  size_t slash = p.rfind('/');
  return slash == std::string_view::npos ? p : p.substr(slash + 1);
}

RelPath joinPath(std::string_view dir, std::string_view name) {
  RelPath out;
  out.reserve(dir.size() + 1 + name.size());
  out.append(dir);
  if (!dir.empty() && !name.empty()) out.push_back('/');
  out.append(name);
  return out;
}

bool isUnder(std::string_view p, std::string_view dir) {
  if (dir.empty()) return true;
  if (p.size() < dir.size() || p.compare(0, dir.size(), dir) != 0) return false;
  return p.size() == dir.size() || p[dir.size()] == '/';
}

bool PathLess::operator()(std::string_view a, std::string_view b) const {
  const size_t n = std::min(a.size(), b.size());
  for (size_t i = 0; i < n; ++i) {
    if (a[i] == b[i]) continue;
    if (a[i] == '/') return true;
    if (b[i] == '/') return false;
    return static_cast<unsigned char>(a[i]) < static_cast<unsigned char>(b[i]);
  }
  return a.size() < b.size();
}

RelPath rebase(std::string_view p, std::string_view from, std::string_view to) {
  std::string_view rest = p.substr(from.size());
  if (!rest.empty() && rest.front() == '/') rest.remove_prefix(1);
  return joinPath(to, rest);
}

namespace {
// Length of the valid UTF-8 sequence starting at s[i], or 0 if it is not one.
size_t utf8Len(std::string_view s, size_t i) {
  auto c = static_cast<unsigned char>(s[i]);
  size_t n = c >= 0xF0 && c <= 0xF4 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 && c < 0xE0 ? 2 : 0;
  if (n == 0 || i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k)
    if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return 0;
  return n;
}
}  // namespace

std::string displayPath(std::string_view p) {
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(p.size());
  for (size_t i = 0; i < p.size();) {
    auto c = static_cast<unsigned char>(p[i]);
    if (c == '\\') { out += "\\\\"; ++i; continue; }
    if (c == '\n') { out += "\\n"; ++i; continue; }
    if (c >= 0x20 && c < 0x7F) { out.push_back(static_cast<char>(c)); ++i; continue; }
    if (size_t n = c >= 0x80 ? utf8Len(p, i) : 0; n > 0) {
      out.append(p.substr(i, n));
      i += n;
      continue;
    }
    out += "\\x";
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 0xF]);
    ++i;
  }
  return out;
}

}  // namespace hoard
