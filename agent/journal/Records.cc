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

}  // namespace hoard::journal
