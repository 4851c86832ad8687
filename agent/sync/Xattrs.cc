// SPDX-License-Identifier: MIT
#include "sync/Xattrs.h"

#include <map>
#include <string_view>

namespace hoard::sync {

namespace {

bool isUser(std::string_view name) { return name.rfind("user.", 0) == 0; }

}  // namespace

Result<UserXattrs> readUserXattrs(remote::RemoteFs& fs, const RelPath& p) {
  UserXattrs out;
  auto names = fs.listXattrs(p);
  if (!names) return tl::unexpected(names.error());
  for (const std::string& n : *names) {
    if (!isUser(n)) continue;
    auto v = fs.getXattr(p, n);
    if (!v) {
      if (v.error().code() == ErrorCode::kNotFound) continue;  // removed meanwhile
      return tl::unexpected(v.error());
    }
    out.emplace(n, std::move(*v));
  }
  return out;
}

Result<bool> setUserXattrs(remote::RemoteFs& to, const RelPath& path, const UserXattrs& want) {
  bool changed = false;
  for (const auto& [n, v] : want) {
    Status st = to.setXattr(path, n, v);
    if (!st) {
      if (st.error().code() == ErrorCode::kUnsupported) return changed;
      return tl::unexpected(st.error());
    }
    changed = true;
  }
  return changed;
}

Result<bool> makeUserXattrs(remote::RemoteFs& to, const RelPath& path, const UserXattrs& want) {
  auto have = readUserXattrs(to, path);
  if (!have) {
    if (have.error().code() == ErrorCode::kUnsupported) return false;
    return tl::unexpected(have.error());
  }
  bool changed = false;
  for (const auto& [n, v] : want) {
    auto it = have->find(n);
    if (it != have->end() && it->second == v) continue;
    Status st = to.setXattr(path, n, v);
    if (!st) {
      if (st.error().code() == ErrorCode::kUnsupported) return changed;
      return tl::unexpected(st.error());
    }
    changed = true;
  }
  for (const auto& [n, v] : *have) {
    if (want.count(n)) continue;
    Status st = to.removeXattr(path, n);
    if (!st && st.error().code() != ErrorCode::kNotFound) return tl::unexpected(st.error());
    changed = changed || st.has_value();
  }
  return changed;
}

Result<bool> copyUserXattrs(remote::RemoteFs& from, remote::RemoteFs& to, const RelPath& path) {
  auto want = readUserXattrs(from, path);
  if (!want) {
    if (want.error().code() == ErrorCode::kUnsupported) return false;
    return tl::unexpected(want.error());
  }
  return makeUserXattrs(to, path, *want);
}

}  // namespace hoard::sync
