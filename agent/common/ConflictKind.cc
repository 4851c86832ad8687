// SPDX-License-Identifier: MIT
#include "common/ConflictKind.h"

#include <array>
#include <utility>

namespace hoard {

namespace {
constexpr std::array<std::pair<ConflictKind, std::string_view>, 9> kKinds{{
    {ConflictKind::kContent, "content"},
    {ConflictKind::kModifyDelete, "modify-delete"},
    {ConflictKind::kDeleteModify, "delete-modify"},
    {ConflictKind::kCreateCreate, "create-create"},
    {ConflictKind::kType, "type"},
    {ConflictKind::kMetadata, "metadata"},
    {ConflictKind::kDirDelete, "dir-delete"},
    {ConflictKind::kRenameRename, "rename-rename"},
    {ConflictKind::kRepo, "repo"},
}};
}  // namespace

std::string_view conflictKindName(ConflictKind k) {
  for (const auto& [v, n] : kKinds) {
    if (v == k) return n;
  }
  return "unknown";
}

std::optional<ConflictKind> conflictKindFromName(std::string_view name) {
  for (const auto& [v, n] : kKinds) {
    if (n == name) return v;
  }
  return std::nullopt;
}

}  // namespace hoard
