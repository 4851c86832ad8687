// SPDX-License-Identifier: MIT
#pragma once

// The journal's schema migrations, embedded at build time from
// schemas/journal/NNNN_*.sql (the source of truth) by EmbedSql.cmake.

#include <span>
#include <string_view>

namespace hoard::journal::detail {

struct Migration {
  int version;            // NNNN of the file name; PRAGMA user_version after applying
  std::string_view name;  // the file name, for error messages
  std::string_view sql;
};

// In version order, numbered 1, 2, ... without gaps (checked at build time).
std::span<const Migration> migrations();

}  // namespace hoard::journal::detail
