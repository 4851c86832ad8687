// SPDX-License-Identifier: MIT
#include "sync/ShareRoots.h"

#include <limits.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>

namespace hoard::sync {

Status validateShareName(const std::string& name) {
  if (name.empty())
    return fail(ErrorCode::kInvalidArgument, "a share needs a name (e.g. \"work\")");
  if (name.size() > kMaxShareNameBytes)
    return fail(ErrorCode::kInvalidArgument,
                "share name \"" + displayPath(name.substr(0, 20)) + "...\" is " +
                    std::to_string(name.size()) + " bytes long; at most " +
                    std::to_string(kMaxShareNameBytes) + " are allowed");
  if (name.find('/') != std::string::npos)
    return fail(ErrorCode::kInvalidArgument, "share name \"" + displayPath(name) +
                                                 "\" holds '/'; choose a plain name such as "
                                                 "\"work\"");
  for (unsigned char c : name) {
    if (c < 0x20 || c == 0x7f)
      return fail(ErrorCode::kInvalidArgument, "share name \"" + displayPath(name) +
                                                   "\" holds a control character (byte " +
                                                   std::to_string(c) + ")");
  }
  return {};
}

std::string normalPath(const std::string& path) {
  std::string n = std::filesystem::path(path).lexically_normal().string();
  while (n.size() > 1 && n.back() == '/') n.pop_back();
  return n.empty() ? std::string("/") : n;
}

namespace {

std::optional<DevIno> devIno(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return std::nullopt;
  return DevIno{static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino)};
}

std::string parentOf(const std::string& p) {
  size_t slash = p.rfind('/');
  if (slash == std::string::npos || slash == 0) return "/";
  return p.substr(0, slash);
}

bool under(const std::string& inner, const std::string& outer) {
  if (outer == "/") return inner != "/";
  return inner.size() > outer.size() && inner.compare(0, outer.size(), outer) == 0 &&
         inner[outer.size()] == '/';
}

}  // namespace

bool RootPlace::isFilesystemRoot() const {
  if (resolved == "/") return true;
  auto root = devIno("/");
  return self && root && *self == *root;
}

RootPlace lexicalRoot(const std::string& path) {
  RootPlace p;
  p.given = path;
  p.resolved = normalPath(path);
  return p;
}

RootPlace observeRoot(const std::string& path) {
  RootPlace p = lexicalRoot(path);
  // The deepest part of the path that exists, resolved; the rest is appended.
  std::string existing = p.resolved;
  std::string rest;
  char real[PATH_MAX];
  while (::realpath(existing.c_str(), real) == nullptr) {
    if (existing == "/") return p;
    size_t slash = existing.rfind('/');
    rest = existing.substr(slash + 1) + (rest.empty() ? "" : "/" + rest);
    existing = parentOf(existing);
  }
  std::string base = real;
  p.resolved = rest.empty() ? base : (base == "/" ? "/" + rest : base + "/" + rest);
  std::string at = base;
  if (rest.empty()) {
    p.self = devIno(at);
    if (at == "/") return p;
    at = parentOf(at);
  }
  for (;;) {
    if (auto d = devIno(at)) p.ancestors.push_back(*d);
    if (at == "/") break;
    at = parentOf(at);
  }
  return p;
}

Overlap overlap(const RootPlace& a, const RootPlace& b) {
  auto holds = [](const std::vector<DevIno>& v, const DevIno& d) {
    return std::find(v.begin(), v.end(), d) != v.end();
  };
  if (a.self && b.self && *a.self == *b.self) return Overlap::kSame;
  if (b.self && holds(a.ancestors, *b.self)) return Overlap::kInside;
  if (a.self && holds(b.ancestors, *a.self)) return Overlap::kContains;
  // Paths that do not exist (a cache root to be created) or could not be
  // observed still compare by their resolved text.
  if (a.resolved == b.resolved) return Overlap::kSame;
  if (under(a.resolved, b.resolved)) return Overlap::kInside;
  if (under(b.resolved, a.resolved)) return Overlap::kContains;
  return Overlap::kNone;
}

std::string_view overlapWords(Overlap o) {
  switch (o) {
    case Overlap::kSame:
      return "is the same directory as";
    case Overlap::kInside:
      return "is inside";
    case Overlap::kContains:
      return "contains";
    case Overlap::kNone:
      break;
  }
  return "does not overlap";
}

}  // namespace hoard::sync
