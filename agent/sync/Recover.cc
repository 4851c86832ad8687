// SPDX-License-Identifier: MIT
// Settling what a crash or a dropped link left in flight: intents adopted or
// dropped, stale temporaries removed.

#include "sync/ApplyDecision.h"
#include "sync/Phases.h"

namespace hoard::sync {

namespace {

// A rename that reached the remote before the base followed it: re-key
// the base as the pass would have, or the next pass would see the new
// name as created on both sides, and a renamed-then-edited file as a
// create-create conflict with our own rename. True if it was settled so.
Result<bool> settleRename(PassState& pass, const journal::Intent& i) {
  ShareSides& s = pass.s;
  if (i.op != "rename" || i.to_path.empty()) return false;
  auto from = s.remote.lstat(i.path);
  auto to = s.remote.lstat(i.to_path);
  if (!from && stopsPass(from.error())) return tl::unexpected(from.error());
  if (!to && stopsPass(to.error())) return tl::unexpected(to.error());
  if (!from && from.error().code() == ErrorCode::kNotFound && to) {
    std::vector<BaseEntry> moved;
    {
      MutexLock lock(s.journal_mu);
      auto under = s.journal.listBaseUnder(s.share_id, i.path);
      if (!under) return tl::unexpected(under.error());
      moved = std::move(*under);
    }
    for (BaseEntry& e : moved) {
      bool top = e.path == i.path;
      e.path = rebase(e.path, i.path, i.to_path);
      if (!top || e.local.type != to->meta.type) continue;
      // The rename moved the remote's ctime: take its new version when
      // its content is still the base's, so it is not pulled for nothing.
      bool same = e.local.type == FileType::kDir ||
                  (e.local.type == FileType::kSymlink &&
                   e.symlink_target == to->symlink_target);
      if (e.local.type == FileType::kFile) {
        auto h = pass.hashRemote(i.to_path);
        if (!h && stopsPass(h.error())) return tl::unexpected(h.error());
        same = h && e.hash && *h == *e.hash;
      }
      if (same) e.data_version = to->data_version;
    }
    MutexLock lock(s.journal_mu);
    Status done = s.journal.inTransaction([&]() -> Status {
      if (auto r = s.journal.removeBaseUnder(s.share_id, i.path); !r)
        return tl::unexpected(r.error());
      if (auto r = s.journal.putBase(s.share_id, moved); !r) return r;
      return s.journal.removeIntent(i.id);
    });
    if (!done) return tl::unexpected(done.error());
    return true;
  }
  return false;
}

// The winner's user.* xattrs, for an apply resumed after a crash: from the
// side that still holds the winner's own file (for a merge, the cache until
// it took the result, then the remote, which got them first), and the stash
// copy's from the cache's file, at its stash name once it moved there.
Status resumeXattrs(ShareSides& s, FileApply& fa, Resolution kind, const ConflictDetail& d,
                    const RelPath& p) {
  if (fa.result) {
    bool from_local = takesLocalsMetadata(kind, d);
    if (from_local && kind == Resolution::kMerged) {
      auto replaced = fa.holds(s.local, p, &*fa.result);
      if (!replaced) return tl::unexpected(replaced.error());
      from_local = !*replaced;
    }
    if (Status x = fa.readXattrs(from_local ? s.local : s.remote, p, *fa.result); !x) return x;
  }
  if (fa.stash_bytes) {
    const bool moved = s.local.lstat(fa.stash).has_value();
    if (Status x = fa.readXattrs(s.local, moved ? fa.stash : p, *fa.stash_bytes); !x) return x;
  }
  return {};
}

}  // namespace

Status finishApply(ShareSides& s, const journal::Intent& i, Resolution kind) {
  auto drop = [&]() -> Status {
    MutexLock lock(s.journal_mu);
    return s.journal.removeIntent(i.id);
  };
  std::optional<journal::ConflictRecord> c;
  {
    MutexLock lock(s.journal_mu);
    auto open = s.journal.openConflictAt(s.share_id, i.path);
    if (!open) return tl::unexpected(open.error());
    c = std::move(*open);
  }
  if (!c) return drop();  // resolved (or gone) already
  const ConflictDetail d = decodeDetail(c->detail);
  ReconcileOptions opts;
  PassState pass(s, opts);
  pass.batching = true;
  if (Status st = loadSide(s.local, pass.local, i.path); !st) return st;
  if (Status st = loadSide(s.remote, pass.remote, i.path); !st) return st;
  if (Status st = pass.sqlite.foldLoaded(pass.local, pass.remote, i.path); !st) return st;
  ConflictDecision decided{kind, -1, i.label, i.resolver, i.rule};
  FileApply fa{pass, *c, d, decided, {}, {}, i.to_path};
  // The result's bytes and the stash copy come back from the store, by the
  // object the intent (or the conflict) names; a database's content hash is
  // its snapshot hash, not the object's.
  auto fromStore = [&](const std::optional<ContentHash>& id,
                       const SideSeen& like) -> std::optional<FileApply::Bytes> {
    if (!id) return std::nullopt;
    auto fd = s.store.open(*id);
    if (!fd) return std::nullopt;
    ContentHash content = *id;
    if (isSqliteFd(fd->get()).value_or(false)) {
      auto h = hashSqliteSnapshot(fd->get(), displayPath(i.path));
      if (!h) return std::nullopt;
      content = *h;
    }
    return FileApply::Bytes{std::move(*fd), content, *id, like.mode ? like.mode : 0644u,
                            std::nullopt};
  };
  const Winner w = winnerOf(kind, d);
  const SideSeen& winner = w == Winner::kLocal ? d.local : d.remote;
  fa.result = fromStore(i.new_hash, w == Winner::kNone && d.local.exists() ? d.local : winner);
  if (i.new_hash && !fa.result) return drop();  // its bytes are gone: decide again
  if (stashesLocal(kind, d)) {
    fa.stash_bytes = fromStore(c->local_object ? c->local_object : d.local.hash, d.local);
    if (!fa.stash_bytes) return drop();
  }
  if (Status x = resumeXattrs(s, fa, kind, d, i.path); !x) return x;
  // Until the remote holds the result, nothing is decided: the cache was not
  // touched yet (the remote goes first), the conflict stays open.
  const remote::Stat* r = pass.find(pass.remote, i.path);
  bool remote_done = !i.new_hash ? r == nullptr : false;
  if (i.new_hash && r != nullptr && r->meta.type == FileType::kFile) {
    auto h = pass.hashRemote(i.path);
    if (!h) return tl::unexpected(h.error());
    remote_done = *h == fa.result->hash;
  }
  if (!remote_done) return drop();
  if (Status ok = fa.check(/*resuming=*/true); !ok) return drop();
  Status done = fa.run(i.id);
  pass.forgetOwnWrites();
  return done;
}

Status Reconciler::recover() {
  ShareSides& s = s_;
  std::vector<journal::Intent> intents;
  {
    MutexLock lock(s.journal_mu);
    auto list = s.journal.intents(s.share_id);
    if (!list) return tl::unexpected(list.error());
    intents = std::move(*list);
  }
  ReconcileOptions opts;
  PassState pass(s, opts);
  for (const journal::Intent& i : intents) {
    if (auto kind = resolutionOfIntent(i.op)) {
      if (Status done = finishApply(s, i, *kind); !done) return done;
      continue;
    }
    if (i.op == "undo") {
      if (Status done = finishUndo(s, i); !done) return done;
      continue;
    }
    auto adopted = pass.adoptReplace(i);
    if (!adopted) return tl::unexpected(adopted.error());  // cannot tell yet: keep the intent
    if (*adopted) continue;
    auto renamed = settleRename(pass, i);
    if (!renamed) return tl::unexpected(renamed.error());
    if (*renamed) continue;
    // Anything else is redone (or found already equal) by the next pass,
    // which compares contents: drop the intent.
    MutexLock lock(s.journal_mu);
    if (auto r = s.journal.removeIntent(i.id); !r) return r;
  }
  auto removed = s.remote.removeStaleTemps("");
  if (!removed && stopsPass(removed.error())) return tl::unexpected(removed.error());
  // A pull cut short leaves its temporary beside the file in the user's own
  // folder (the cache walk hides it, the user does not see it hidden).
  auto removed_local = s.local.removeStaleTemps("");
  if (!removed_local) return tl::unexpected(removed_local.error());
  return {};
}

Result<bool> settleIntents(PassState& pass) {
  ShareSides& s = pass.s;
  // Replaces an earlier pass gave up on (timeout, link dropped) that have
  // landed since: our own bytes, not a third party's. The others wait for a
  // later pass, or for recover() at the next start.
  std::vector<journal::Intent> intents;
  {
    MutexLock lock(s.journal_mu);
    auto list = s.journal.intents(s.share_id);
    if (!list) return tl::unexpected(list.error());
    intents = std::move(*list);
  }
  PassState settle(s, pass.opts);
  for (const journal::Intent& i : intents) {
    auto adopted = settle.adoptReplace(i);
    if (!adopted) {
      if (!stopsPass(adopted.error())) return tl::unexpected(adopted.error());
      pass.report.stopped = adopted.error();
      return false;
    }
  }
  return true;
}

}  // namespace hoard::sync
