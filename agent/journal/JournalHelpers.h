// SPDX-License-Identifier: MIT
#pragma once

// Helpers the journal's source files share (Journal.cc, JournalChangeLog.cc,
// JournalConflicts.cc).
// Internal to hoard_journal.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "common/Error.h"
#include "common/Hash.h"
#include "common/RelPath.h"
#include "journal/Sqlite.h"

namespace hoard::journal::detail {

// Nanoseconds since the epoch, now.
int64_t nowNs();
// `p` as a share-relative path, or kInvalidArgument in the context `what`.
Status validPath(const RelPath& p, std::string_view what);
// "a/b" -> "a/b/" and "a/b0": every path strictly beneath "a/b" sorts in
// [lo, hi) as bytes. Used for BLOB range scans.
std::pair<std::string, std::string> beneathRange(const RelPath& dir);
// Runs a one-row UPDATE/DELETE keyed by id and turns "no row" into kNotFound.
Status expectOneRow(Db& db, Query& q, const std::string& journal, const std::string& what);
// Binds a hash as a 32-byte BLOB, or NULL for none.
void bindOptHash(Query& q, int i, const std::optional<ContentHash>& h);
// A hash column (NULL: none); kCorrupt naming `what` if it is not 32 bytes.
Result<std::optional<ContentHash>> colHash(const Query& q, int col, const std::string& path,
                                           std::string_view what);

}  // namespace hoard::journal::detail
