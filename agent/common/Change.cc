// SPDX-License-Identifier: MIT
#include "common/Change.h"

#include <array>
#include <utility>

namespace hoard {

namespace {
constexpr std::array<std::pair<ChangeOp, std::string_view>, 9> kNames{{
    {ChangeOp::kCreate, "create"},
    {ChangeOp::kWrite, "write"},
    {ChangeOp::kMkdir, "mkdir"},
    {ChangeOp::kRename, "rename"},
    {ChangeOp::kUnlink, "unlink"},
    {ChangeOp::kRmdir, "rmdir"},
    {ChangeOp::kChmod, "chmod"},
    {ChangeOp::kSymlink, "symlink"},
    {ChangeOp::kXattr, "xattr"},
}};
}  // namespace

std::string_view changeOpName(ChangeOp op) {
  for (const auto& [o, n] : kNames)
    if (o == op) return n;
  return "unknown";
}

std::optional<ChangeOp> changeOpFromName(std::string_view name) {
  for (const auto& [o, n] : kNames)
    if (n == name) return o;
  return std::nullopt;
}

}  // namespace hoard
