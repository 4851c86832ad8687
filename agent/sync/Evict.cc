// SPDX-License-Identifier: MIT
// Evicting a clean, unpinned path: the cache copy and its base rows dropped,
// the remote untouched. An on-demand share (pins_only) keeps nothing without
// a pin, so its unpinned paths may be evicted even when it has no pins; the
// blocks its view fetched are the view's to drop (hoardd's Evict).

#include <ctime>

#include "StashName.h"
#include "sync/ConflictDetail.h"
#include "sync/Phases.h"

namespace hoard::sync {

Result<uint64_t> Reconciler::evict(const RelPath& path) {
  ShareSides& s = s_;
  if (Status ok = validateRelPath(path); !ok) return tl::unexpected(ok.error());
  ReconcileOptions opts;
  PassState pass(s, opts);
  std::vector<LoggedChange> log;
  {
    MutexLock lock(s.journal_mu);
    auto pins = s.journal.pins(s.share_id);
    if (!pins) return tl::unexpected(pins.error());
    if (pins->empty() && !s.pins_only)
      return fail(ErrorCode::kBusy, "cannot evict " + displayPath(path) +
                                        ": a share without pins keeps everything; pin what "
                                        "you want to keep, then evict the rest");
    for (const journal::Pin& pin : *pins)
      if (isUnder(path, pin.path) || isUnder(pin.path, path))
        return fail(ErrorCode::kBusy, "cannot evict " + displayPath(path) + ": " +
                                          displayPath(pin.path) +
                                          " is pinned (unpin it first, or it is fetched again)");
    auto conflicts = s.journal.conflicts(s.share_id, true);
    if (!conflicts) return tl::unexpected(conflicts.error());
    for (const auto& c : *conflicts)
      if (isUnder(c.path, path) || isUnder(path, c.path))
        return fail(ErrorCode::kBusy, "cannot evict " + displayPath(path) + ": " +
                                          displayPath(c.path) + " has an open conflict");
    auto l = s.journal.changes(s.share_id, 0);
    if (!l) return tl::unexpected(l.error());
    log = std::move(*l);
    auto b = s.journal.listBaseUnder(s.share_id, path);
    if (!b) return tl::unexpected(b.error());
    for (auto& e : *b) pass.base.emplace(e.path, std::move(e));
  }
  for (const LoggedChange& lc : log) {
    for (const RelPath* q : {&lc.change.path, &lc.change.to}) {
      if (!q->empty() && isUnder(*q, path))
        return fail(ErrorCode::kBusy, "cannot evict " + displayPath(path) + ": " +
                                          displayPath(*q) +
                                          " has changes not yet written back to the remote");
    }
  }
  auto top = s.local.lstat(path);
  if (!top) return tl::unexpected(top.error());
  pass.local[path] = *top;
  if (top->meta.type == FileType::kDir) {
    auto w = s.local.walk(path);
    if (!w) return tl::unexpected(w.error());
    if (Status all = refuseUnlisted(*w); !all) return tl::unexpected(all.error());
    for (auto& e : *w) pass.local.emplace(std::move(e.path), std::move(e.stat));
  }
  // A database is its unit; one a program has open is not evicted.
  pass.sqlite.foldLocal(pass.local);
  for (const auto& [q, st] : pass.local) {
    if (st.meta.type != FileType::kFile || !pass.sqlite.isLocalDb(q)) continue;
    for (SqliteCompanion c : {SqliteCompanion::kWal, SqliteCompanion::kJournal})
      if (s.local.lstat(sqliteCompanionPath(q, c)))
        return fail(ErrorCode::kBusy, "cannot evict " + displayPath(path) + ": the database " +
                                          displayPath(q) + " is open in a program");
  }
  // Clean means: every entry is in the base and unchanged, and nothing in the
  // base is missing from the cache.
  for (const auto& [q, st] : pass.local) {
    Version v;
    SideChange change;
    Status looked = pass.look(q, pass.baseAt(q), pass.local, true, v, change);
    if (!looked) return tl::unexpected(looked.error());
    if (change.any())
      return fail(ErrorCode::kBusy, "cannot evict " + displayPath(path) + ": " + displayPath(q) +
                                        " has changes not yet written back to the remote");
  }
  for (const auto& [q, e] : pass.base)
    if (!pass.local.count(q))
      return fail(ErrorCode::kBusy, "cannot evict " + displayPath(path) + ": " + displayPath(q) +
                                        " was deleted here and the delete is not yet replayed");
  uint64_t freed = 0;
  std::vector<RelPath> order;
  for (const auto& [q, st] : pass.local) order.push_back(q);
  if (s.own_writes) {
    MutexLock lock(s.journal_mu);
    s.own_writes->evicted.insert(order.begin(), order.end());
  }
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    const remote::Stat& st = pass.local.at(*it);
    Status gone = st.meta.type == FileType::kDir ? s.local.rmdir(*it, Expect::anything())
                                                 : s.local.unlink(*it, Expect::version(st.data_version));
    if (!gone) return tl::unexpected(gone.error());
    if (st.meta.type == FileType::kFile) freed += st.meta.size;
  }
  Status dropped = pass.dropBase(path, std::nullopt);
  if (!dropped) return tl::unexpected(dropped.error());
  return freed;
}

}  // namespace hoard::sync
