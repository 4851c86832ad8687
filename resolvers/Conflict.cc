// SPDX-License-Identifier: MIT
#include "Conflict.h"

#include <array>
#include <utility>

namespace hoard::resolvers {

namespace {
constexpr std::array<std::pair<SideChange, std::string_view>, 6> kNames{{
    {SideChange::kNone, "none"},
    {SideChange::kMetadata, "metadata"},
    {SideChange::kContent, "content"},
    {SideChange::kCreated, "created"},
    {SideChange::kDeleted, "deleted"},
    {SideChange::kType, "type"},
}};
}  // namespace

std::string_view sideChangeName(SideChange c) {
  for (const auto& [v, n] : kNames)
    if (v == c) return n;
  return "unknown";
}

std::optional<SideChange> sideChangeFromName(std::string_view name) {
  for (const auto& [v, n] : kNames)
    if (n == name) return v;
  return std::nullopt;
}

SideChange sideChange(const Version& base, const Version& side) {
  if (!base.exists()) return side.exists() ? SideChange::kCreated : SideChange::kNone;
  if (!side.exists()) return SideChange::kDeleted;
  if (base.type != side.type) return SideChange::kType;
  bool same_bytes;
  if (base.type == FileType::kSymlink)
    same_bytes = base.symlink_target == side.symlink_target;
  else if (base.type == FileType::kDir)
    same_bytes = true;  // a directory's own change is its mode or times
  else  // without both hashes the bytes are taken as changed (never "only metadata" by guess)
    same_bytes = base.hash && side.hash && *base.hash == *side.hash;
  if (!same_bytes) return SideChange::kContent;
  if (base.mode != side.mode || base.mtime_ns != side.mtime_ns) return SideChange::kMetadata;
  return SideChange::kNone;
}

}  // namespace hoard::resolvers
