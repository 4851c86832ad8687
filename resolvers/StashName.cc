// SPDX-License-Identifier: MIT
#include "StashName.h"

#include <cstdio>

namespace hoard::resolvers {

namespace {

struct Split {
  std::string_view stem;
  std::string_view ext;  // with its leading '.', or empty
};

Split splitExtension(std::string_view name) {
  size_t dot = name.rfind('.');
  if (dot == std::string_view::npos || dot == 0 || dot + 1 == name.size()) return {name, {}};
  return {name.substr(0, dot), name.substr(dot)};
}

// Longest prefix of `s` of at most `max` bytes that does not end inside a
// UTF-8 multi-byte sequence.
std::string_view utf8Prefix(std::string_view s, size_t max) {
  if (s.size() <= max) return s;
  // If the byte just past the cut continues a sequence, cut before that
  // sequence's lead byte instead.
  size_t n = max;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return s.substr(0, n);
}

std::string cleanHost(std::string_view host) {
  std::string out;
  for (char c : host) out.push_back(c == '/' || c == '\0' || c == '.' ? '_' : c);
  if (out.empty()) out = "unknown";
  if (out.size() > 64) out.resize(64);
  return out;
}

std::string build(std::string_view name, std::string_view host, std::time_t when,
                  std::string_view counter) {
  struct tm tm {};
  localtime_r(&when, &tm);
  char stamp[32];
  std::snprintf(stamp, sizeof stamp, "%04d%02d%02d-%02d%02d%02d", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  std::string suffix = ".conflict-" + cleanHost(host) + "-" + stamp;
  suffix += counter;

  Split parts = splitExtension(name);
  if (suffix.size() + parts.ext.size() >= kNameMax) parts = {name, {}};
  size_t room = kNameMax - suffix.size() - parts.ext.size();
  std::string out(utf8Prefix(parts.stem, room));
  out += suffix;
  out += parts.ext;
  return out;
}

}  // namespace

std::string stashName(std::string_view name, std::string_view host, std::time_t when) {
  return build(name, host, when, "");
}

std::string uniqueStashName(std::string_view name, std::string_view host, std::time_t when,
                            const std::function<bool(const std::string&)>& exists) {
  std::string candidate = build(name, host, when, "");
  for (int i = 2; exists(candidate); ++i) candidate = build(name, host, when, "-" + std::to_string(i));
  return candidate;
}

}  // namespace hoard::resolvers
