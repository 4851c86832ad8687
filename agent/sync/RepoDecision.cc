// SPDX-License-Identifier: MIT
#include "sync/RepoDecision.h"

namespace hoard::sync {

void carryRepoWrites(const resolvers::Decision& from, const RepoCopies& copies,
                     ConflictDecision& d) {
  using From = resolvers::TreeWrite::From;
  for (const resolvers::TreeWrite& w : from.writes) {
    RepoWrite r;
    r.to_remote = w.to_remote;
    r.path = w.path;
    r.from = w.from == From::kLocal    ? RepoWrite::From::kLocal
             : w.from == From::kRemote ? RepoWrite::From::kRemote
                                       : RepoWrite::From::kBytes;
    r.bytes = w.bytes;
    r.create_only = w.create_only;
    r.remove = w.remove;
    r.mode = w.mode;
    d.repo_writes.push_back(std::move(r));
  }
  d.copies_local = copies.local();
  d.copies_remote = copies.remote();
}

}  // namespace hoard::sync
