// SPDX-License-Identifier: MIT
#include "journal/Records.h"

#include <array>
#include <utility>

namespace hoard::journal {

namespace {
constexpr std::array<std::pair<ShareState, std::string_view>, 3> kStates{{
    {ShareState::kOnline, "online"},
    {ShareState::kOffline, "offline"},
    {ShareState::kReintegrating, "reintegrating"},
}};
constexpr std::array<std::pair<ConflictKind, std::string_view>, 8> kKinds{{
    {ConflictKind::kContent, "content"},
    {ConflictKind::kModifyDelete, "modify-delete"},
    {ConflictKind::kDeleteModify, "delete-modify"},
    {ConflictKind::kCreateCreate, "create-create"},
    {ConflictKind::kType, "type"},
    {ConflictKind::kMetadata, "metadata"},
    {ConflictKind::kDirDelete, "dir-delete"},
    {ConflictKind::kRenameRename, "rename-rename"},
}};
}  // namespace

std::string_view shareStateName(ShareState s) {
  for (const auto& [v, n] : kStates) {
    if (v == s) return n;
  }
  return "unknown";
}

std::optional<ShareState> shareStateFromName(std::string_view name) {
  for (const auto& [v, n] : kStates) {
    if (n == name) return v;
  }
  return std::nullopt;
}

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

}  // namespace hoard::journal
