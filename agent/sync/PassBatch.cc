// SPDX-License-Identifier: MIT
// Base rows, intents and the batches that commit them (see PassState.h).

#include <cerrno>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sync/GitRepoUnit.h"
#include "sync/PassState.h"

namespace hoard::sync {

Status PassState::putBase(const BaseEntry& e, std::optional<int64_t> intent) {
  base[e.path] = e;
  pending.push_back({false, e, intent});
  return flushIfFull();
}

Status PassState::flushIfFull() {
  size_t queued = pending.size() + pending_conflicts.size();
  return queued >= (batching ? kBatch : 1) ? flush() : Status{};
}

Status PassState::dropBase(const RelPath& p, std::optional<int64_t> intent) {
  auto [first, last] = subtreeOf(base, p);
  base.erase(first, last);
  BaseEntry e;
  e.path = p;
  pending.push_back({true, std::move(e), intent});
  return flushIfFull();
}

// Notes that this pass is about to write `p` in the cache (the recorder
// takes its events for hoard's own from now on), then what it wrote.
void PassState::writingLocally(const RelPath& p) {
  if (!batching || !s.own_writes) return;  // synced and committed right away
  MutexLock lock(s.journal_mu);
  s.own_writes->pending[p] = std::nullopt;
}

void PassState::wroteLocally(const RelPath& p, const FileMeta& meta) {
  if (!batching) return;
  cache_unsynced = true;
  if (!s.own_writes) return;
  MutexLock lock(s.journal_mu);
  s.own_writes->pending[p] = meta;
}

// What the user did to the paths this batch wrote, while the recorder took
// their events for hoard's own: each one whose cache entry is no longer
// what the pass wrote. Called with journal_mu held.
std::vector<Change> PassState::editsOfOwnWrites() const {
  std::vector<Change> edits;
  if (!s.own_writes) return edits;
  for (const PendingRow& row : pending) {
    if (row.drop) continue;
    auto it = s.own_writes->pending.find(row.entry.path);
    if (it == s.own_writes->pending.end() || !it->second) continue;
    const FileMeta& wrote = *it->second;
    Change c;
    c.path = row.entry.path;
    auto now = s.local.lstat(c.path);
    if (!now) {
      c.op = wrote.type == FileType::kDir ? ChangeOp::kRmdir : ChangeOp::kUnlink;
    } else if (now->meta == wrote) {
      continue;
    } else if (now->meta.type == FileType::kDir && wrote.type == FileType::kDir) {
      continue;  // a directory's times move as the pass fills it
    } else {
      c.op = now->meta.type == FileType::kDir ? ChangeOp::kMkdir : ChangeOp::kWrite;
      c.mode = now->meta.mode & 07777;
    }
    edits.push_back(std::move(c));
  }
  return edits;
}

// At the end of a pass: nothing it wrote is pending any more (a write that
// failed before its row leaves a cache entry the next pass compares).
void PassState::forgetOwnWrites() {
  if (!s.own_writes) return;
  MutexLock lock(s.journal_mu);
  s.own_writes->pending.clear();
}

// Makes what the pending rows speak of durable, then commits them in order.
Status PassState::flush() {
  if (pending.empty() && pending_conflicts.empty() && also_commit.empty()) return {};
  if (cache_unsynced) {
    if (Status st = s.local.syncAll(); !st) return st;
    cache_unsynced = false;
  }
  if (store_unsynced) {
    if (Status st = s.store.syncAll(); !st) return st;
    store_unsynced = false;
  }
  MutexLock lock(s.journal_mu);
  const std::vector<Change> edits = editsOfOwnWrites();
  std::vector<int64_t> conflict_ids;
  Status done = s.journal.inTransaction([&]() -> Status {
    for (const journal::ConflictRecord& c : pending_conflicts) {
      auto id = s.journal.addConflict(c);
      if (!id) return tl::unexpected(id.error());
      conflict_ids.push_back(*id);
    }
    if (!edits.empty()) {
      if (auto r = s.journal.recordChanges(s.share_id, edits); !r)
        return tl::unexpected(r.error());
    }
    for (const PendingRow& row : pending) {
      if (row.drop) {
        if (auto r = s.journal.removeBaseUnder(s.share_id, row.entry.path); !r)
          return tl::unexpected(r.error());
      } else if (auto st = s.journal.putBase(s.share_id, row.entry); !st) {
        return st;
      }
      if (row.intent) {
        if (auto st = s.journal.removeIntent(*row.intent); !st) return st;
      }
    }
    for (const auto& op : also_commit)
      if (Status st = op(s.journal); !st) return st;
    return {};
  });
  if (s.own_writes) {
    for (const PendingRow& row : pending) s.own_writes->pending.erase(row.entry.path);
  }
  pending.clear();
  pending_conflicts.clear();
  also_commit.clear();
  if (done) report.new_conflicts.insert(report.new_conflicts.end(), conflict_ids.begin(),
                                        conflict_ids.end());
  return done;
}

Result<int64_t> PassState::intend(std::string op, const RelPath& p, std::optional<ContentHash> hash, const RelPath& to) {
  journal::Intent i;
  i.share_id = s.share_id;
  i.op = std::move(op);
  i.path = p;
  i.to_path = to;
  i.new_hash = hash;
  return journal([&](journal::Journal& j) { return j.addIntent(i); });
}

void PassState::forgetIntent(int64_t id) {
  journal([&](journal::Journal& j) { return j.removeIntent(id); });
}

// A replace whose bytes reached the remote (before a crash, or late, from a
// call that timed out) is done: record the remote's version as the base's,
// with the hash we meant, so a later local edit is pushed rather than seen
// as a conflict with our own write. The local metadata stays the old
// base's: the next pass hashes the cache file. True if it was adopted (and
// the intent removed); false if the remote does not hold those bytes.
Result<bool> PassState::adoptReplace(const journal::Intent& i) {
  if (i.op != "replace" || !i.new_hash) return false;
  auto st = s.remote.lstat(i.path);
  if (!st) {
    if (stopsPass(st.error())) return tl::unexpected(st.error());  // cannot tell yet
    return false;
  }
  if (st->meta.type != FileType::kFile) return false;
  auto h = hashRemote(i.path);
  if (!h || *h != *i.new_hash) return false;
  MutexLock lock(s.journal_mu);
  auto old = s.journal.getBase(s.share_id, i.path);
  if (!old) return tl::unexpected(old.error());
  BaseEntry e = old->value_or(BaseEntry{});
  e.path = i.path;
  if (!old->has_value()) e.local.type = FileType::kFile;
  e.data_version = st->data_version;
  e.hash = *h;
  if (e.object && *e.object != *h) e.object.reset();
  Status done = s.journal.inTransaction([&]() -> Status {
    if (auto r = s.journal.putBase(s.share_id, e); !r) return r;
    return s.journal.removeIntent(i.id);
  });
  if (!done) return tl::unexpected(done.error());
  return true;
}

// Keeps the content of `fd` in the base store if the policy says so.
std::optional<ContentHash> PassState::keep(const RelPath& p, int fd, uint64_t size) {
  // A repository's refs are kept whatever the policy (a few bytes each): the
  // next merge of the repository tells a deleted branch from a new one by
  // them (resolvers/GitRepo.h).
  const bool ref = gitRepoOf(repos, p) != nullptr && gitRankIn(repos, p) == resolvers::kGitRefs;
  if (!ref) {
    auto d = s.policy.decideFd(p, fd);
    if (!d || !d->keep) return std::nullopt;
  }
  if (!s.store.wouldFit(size)) return std::nullopt;
  auto put = s.store.put(fd, p, batching ? store::BaseStore::Sync::kLater
                                         : store::BaseStore::Sync::kNow);
  if (!put) return std::nullopt;  // the base works without content; only merges need it
  if (batching) store_unsynced = true;
  return put->hash;
}

BaseEntry PassState::entryFrom(const RelPath& p, const remote::Stat& l, const remote::Stat& r, std::optional<ContentHash> hash, std::optional<ContentHash> object) {
  BaseEntry e;
  e.path = p;
  e.local = l.meta;
  e.data_version = r.data_version;
  e.symlink_target = l.meta.type == FileType::kSymlink ? l.symlink_target : std::string();
  e.hash = l.meta.type == FileType::kSymlink ? std::optional(hashBytes(l.symlink_target))
                                              : hash;
  e.object = object;
  return e;
}

}  // namespace hoard::sync
