// SPDX-License-Identifier: MIT
#include "Decision.h"

#include <array>
#include <utility>

namespace hoard::resolvers {

namespace {
constexpr std::array<std::pair<DecisionKind, std::string_view>, 7> kNames{{
    {DecisionKind::kKeepLocal, "keep-local"},
    {DecisionKind::kKeepRemote, "keep-remote"},
    {DecisionKind::kStash, "stash"},
    {DecisionKind::kMerged, "merged"},
    {DecisionKind::kMarkers, "markers"},
    {DecisionKind::kDelete, "delete"},
    {DecisionKind::kDefer, "defer"},
}};
}  // namespace

std::string_view decisionKindName(DecisionKind k) {
  for (const auto& [v, n] : kNames)
    if (v == k) return n;
  return "unknown";
}

std::optional<DecisionKind> decisionKindFromName(std::string_view name) {
  for (const auto& [v, n] : kNames)
    if (n == name) return v;
  return std::nullopt;
}

bool decisionAllowed(DecisionKind d, ConflictKind k) {
  switch (d) {
    case DecisionKind::kMerged:  // a repository merged as one (GitRepo.h) too
      return k == ConflictKind::kContent || k == ConflictKind::kCreateCreate ||
             k == ConflictKind::kRepo;
    case DecisionKind::kMarkers:
      return k == ConflictKind::kContent || k == ConflictKind::kCreateCreate;
    case DecisionKind::kDelete:
      return k == ConflictKind::kModifyDelete || k == ConflictKind::kDeleteModify ||
             k == ConflictKind::kDirDelete;
    default:
      return true;
  }
}

}  // namespace hoard::resolvers
