// SPDX-License-Identifier: MIT
#pragma once

// A git-repo resolver's decision (resolvers::Decision::writes) in the
// engine's words (ConflictDecision::repo_writes), with the copies its
// writes take files from. For the resolver chain and tests; needs the
// resolvers' headers.

#include "Decision.h"
#include "sync/Reconciler.h"
#include "sync/RepoCopies.h"

namespace hoard::sync {

// Fills d.repo_writes, d.copies_local and d.copies_remote (the copies must
// outlive the apply); kind, label and the rest are the caller's.
void carryRepoWrites(const resolvers::Decision& from, const RepoCopies& copies,
                     ConflictDecision& d);

}  // namespace hoard::sync
