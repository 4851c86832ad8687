// SPDX-License-Identifier: MIT
#pragma once

// `hoard show ID --merged`: the three versions of a conflicted file, opened
// by hoardd (OpenConflictVersions), merged here with the git-merge resolver's
// own merge, so what is printed is what git-merge would propose.

#include <cstdint>
#include <string>

#include "Client.h"

namespace hoard::cli {

// Prints the merge of conflict `id` to stdout, with conflict markers around
// each hunk left conflicting (`style`: merge, diff3 or zdiff3). Returns kOk
// for a clean merge, kConflictsRemain when hunks conflict (their count on
// stderr), kFailed with the reason on stderr when the versions cannot be
// merged (binary, no base kept, not a file on both sides), kUsage for a bad
// style. Errors of the bus are thrown as sdbus::Error, as for every command.
int showMerged(Agent& a, uint64_t id, const std::string& style);

}  // namespace hoard::cli
