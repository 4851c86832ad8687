// SPDX-License-Identifier: MIT
// Reconciler::undo: a resolution taken back. Both sides go back to what they
// held at the path before it (the versions the history row keeps in the
// store), the stash copy it made is removed on both sides, and the conflict
// opens again. Compare-and-swap against the result: a side that changed
// since the resolution refuses the undo. The conflict reopens (holding its
// path, so no pass touches it) in the transaction that records the intent,
// before either side is touched; the steps are idempotent, and recover()
// finishes an undo that a crash or a failure cut short.

#include "sync/ApplyDecision.h"
#include "sync/TreeSnapshot.h"

namespace hoard::sync {

namespace {

constexpr std::string_view kUndoOp = "undo";

// A decision on a folder or between two renames: undone from the trees its
// row keeps (UndoTree.cc). Decisions on files and links keep a tree too, for
// the xattrs each side had; their bytes are the row's objects.
bool undoneByTrees(const journal::ResolutionRecord& r) {
  if (r.before_tree.empty()) return false;
  const ConflictDetail d = decodeDetail(r.before_detail);
  return d.from || d.local.type == FileType::kDir || d.remote.type == FileType::kDir;
}

// The user.* xattrs side `local_side` had at `q` before, if the row kept them.
std::optional<UserXattrs> xattrsBefore(const journal::ResolutionRecord& r, const RelPath& q,
                                       bool local_side) {
  auto t = decodeTrees(r.before_tree);
  if (!t) return std::nullopt;
  for (const TreeEntry& e : local_side ? t->local : t->remote)
    if (e.path == q && e.type == FileType::kFile) return e.xattrs;
  return std::nullopt;
}

// What an undo works from: the history row, its conflict and both sides.
struct Undo {
  PassState& pass;
  const journal::ResolutionRecord& r;
  journal::ConflictRecord c;
  ConflictDetail before;
  FileApply fa;
  std::optional<FileApply::Bytes> result, local_before, remote_before, stash;

  Undo(PassState& p, const journal::ResolutionRecord& rec, journal::ConflictRecord conflict)
      : pass(p),
        r(rec),
        c(std::move(conflict)),
        before(decodeDetail(rec.before_detail)),
        fa{p, c, before, ConflictDecision{}, {}, {}, rec.stash_path} {}

  Result<std::optional<FileApply::Bytes>> fromStore(const std::optional<ContentHash>& id,
                                                    uint32_t mode, const char* what) {
    if (!id) return std::nullopt;
    auto fd = pass.s.store.open(*id);
    if (!fd)
      return fail(ErrorCode::kInvalidArgument,
                  "resolution " + std::to_string(r.id) + " at " + displayPath(r.path) +
                      " cannot be undone: " + what + " is no longer kept (" +
                      fd.error().message() + ")");
    // A database is compared by its content's hash, not its snapshot's bytes.
    ContentHash content = *id;
    if (isSqliteFd(fd->get()).value_or(false)) {
      auto h = hashSqliteSnapshot(fd->get(), displayPath(r.path));
      if (!h) return tl::unexpected(h.error());
      content = *h;
    }
    return FileApply::Bytes{std::move(*fd), content, *id, mode ? mode : 0644u, std::nullopt, {}, {}};
  }

  // What one side held (or held after): a symlink by its target, a file by
  // its kept version, or nothing.
  Result<std::optional<FileApply::Bytes>> version(const SideSeen& seen,
                                                  const std::optional<ContentHash>& id,
                                                  uint32_t mode, const char* what) {
    if (seen.type == FileType::kSymlink) {
      FileApply::Bytes link;
      link.link = seen.symlink_target;
      return std::optional(std::move(link));
    }
    if (!seen.exists() && !id) return std::nullopt;
    if (!id)  // a file whose version was not kept: never taken for "nothing there"
      return fail(ErrorCode::kUnsupported, "resolution " + std::to_string(r.id) + " at " +
                                               displayPath(r.path) + " cannot be undone: " +
                                               what + " was not kept");
    return fromStore(id, mode, what);
  }

  Status load() {
    const ConflictDetail after = decodeDetail(r.after_detail);
    const SideSeen& left = after.local.exists() ? after.local : after.remote;
    auto res = version(left, r.result_object, left.mode, "its result");
    auto lb = version(before.local, r.local_before, before.local.mode,
                      "the cache's version before");
    auto rb = version(before.remote, r.remote_before, before.remote.mode,
                      "the remote's version before");
    // A stash moved the cache's entry aside (or, one side deleted, the
    // remote's): a symlink there is put back by its target.
    const SideSeen& moved = before.local.exists() ? before.local : before.remote;
    auto st = r.stash_path.empty() ? Result<std::optional<FileApply::Bytes>>(std::nullopt)
              : moved.type == FileType::kSymlink
                  ? version(moved, std::nullopt, 0, "the stash copy")
                  : fromStore(r.stash_object, moved.mode, "the stash copy");
    for (auto* x : {&res, &lb, &rb, &st})
      if (!*x) return tl::unexpected(x->error());
    result = std::move(*res);
    local_before = std::move(*lb);
    remote_before = std::move(*rb);
    // Each side's file gets back the xattrs it had (the mode is its version's).
    if (local_before && !local_before->link) local_before->xattrs = xattrsBefore(r, r.path, true);
    if (remote_before && !remote_before->link)
      remote_before->xattrs = xattrsBefore(r, r.path, false);
    stash = std::move(*st);
    if (Status s = loadSide(pass.s.local, pass.local, r.path); !s) return s;
    if (Status s = loadSide(pass.s.remote, pass.remote, r.path); !s) return s;
    if (!r.stash_path.empty()) {
      if (Status s = loadSide(pass.s.local, pass.local, r.stash_path); !s) return s;
      if (Status s = loadSide(pass.s.remote, pass.remote, r.stash_path); !s) return s;
    }
    return {};
  }

  Error changed(const RelPath& q, bool local_side) const {
    return Error(ErrorCode::kConflict,
                 displayPath(q) + (local_side ? " changed in the cache" : " changed on the remote") +
                     " since resolution " + std::to_string(r.id) + " of conflict " +
                     std::to_string(r.conflict_id) + " (" + r.label +
                     "); nothing was changed. Undo puts back only what that resolution left; "
                     "sync and resolve again instead");
  }

  // Each side holds the result at the path and the stash copy at its name
  // (or, resuming, already what the undo puts back).
  Status check(bool resuming) {
    for (bool local_side : {true, false}) {
      remote::RemoteFs& fs = local_side ? pass.s.local : pass.s.remote;
      const auto& back = local_side ? local_before : remote_before;
      auto now = fa.holds(fs, r.path, result ? &*result : nullptr);
      if (!now) return tl::unexpected(now.error());
      if (!*now && resuming) now = fa.holds(fs, r.path, back ? &*back : nullptr);
      if (!now) return tl::unexpected(now.error());
      if (!*now) return tl::unexpected(changed(r.path, local_side));
      if (r.stash_path.empty()) continue;
      auto kept = fa.holds(fs, r.stash_path, stash ? &*stash : nullptr);
      if (!kept) return tl::unexpected(kept.error());
      if (*kept) continue;
      auto gone = fa.holds(fs, r.stash_path, nullptr);  // removed already: nothing to undo there
      if (!gone) return tl::unexpected(gone.error());
      if (!*gone) return tl::unexpected(changed(r.stash_path, local_side));
    }
    return {};
  }

  Result<int64_t> reopen() {
    return reopenForUndo(pass.s, r,
                         local_before ? std::optional(local_before->hash) : std::nullopt);
  }

  // The remote first, then the cache; then the base rows go (the open
  // conflict holds the path) with the intent, in one commit.
  Status run(int64_t intent) {
    if (Status st = fa.place(true, r.path, remote_before); !st) return st;
    if (!r.stash_path.empty()) {
      if (Status st = fa.place(true, r.stash_path, std::nullopt); !st) return st;
    }
    if (Status st = fa.place(false, r.path, local_before); !st) return st;
    if (!r.stash_path.empty()) {
      if (Status st = fa.place(false, r.stash_path, std::nullopt); !st) return st;
      if (Status st = pass.dropBase(r.stash_path, std::nullopt); !st) return st;
    }
    if (Status st = pass.dropBase(r.path, std::nullopt); !st) return st;
    pass.also_commit.push_back(
        [intent](journal::Journal& j) -> Status { return j.removeIntent(intent); });
    return pass.flush();
  }
};

// Why the resolution `r` of conflict `c` cannot be undone (kUnsupported), or
// nothing. A decision on a folder or between two renames is undone from the
// trees its row keeps (UndoTree.cc); one recorded by an older hoard, which
// did not keep them, is refused, saying what to do instead.
std::optional<Error> notUndoable(const journal::ResolutionRecord& r,
                                 const journal::ConflictRecord& c) {
  const ConflictDetail d = decodeDetail(r.before_detail);
  const std::string which = "resolution " + std::to_string(r.id) + " of conflict " +
                            std::to_string(c.id) + " at " + displayPath(c.path) + " (" +
                            r.label + ") cannot be undone: ";
  const std::string aside =
      r.stash_path.empty() ? std::string()
                           : "; what it kept aside is at " + displayPath(r.stash_path);
  const bool kept_trees = !r.before_tree.empty();
  if (d.from && !kept_trees)
    return Error(ErrorCode::kUnsupported,
                 which + "it decided between two renames of " + displayPath(*d.from) +
                     " (to " + displayPath(c.path) +
                     (d.remote_to ? " in the cache, to " + displayPath(*d.remote_to) +
                                        " on the remote"
                                  : std::string()) +
                     ") and was recorded by an older hoard, which did not keep what each side "
                     "held. Nothing was changed. To take it back, rename the file in the cache "
                     "and sync");
  if ((d.local.type == FileType::kDir || d.remote.type == FileType::kDir) && !kept_trees)
    return Error(ErrorCode::kUnsupported,
                 which + "it decided a directory and was recorded by an older hoard, which did "
                         "not keep the folder trees, so it cannot put both sides' folders back "
                         "as they were. Nothing was changed" +
                     aside + ". Copy back by hand what you need, and sync");
  const bool tree = d.local.type == FileType::kSymlink || d.remote.type == FileType::kSymlink;
  if (tree && r.after_detail == "{}" && !kept_trees)
    return Error(ErrorCode::kUnsupported,
                 which + "it was recorded by an older hoard, which did not keep what it left "
                         "at the path. Nothing was changed. Put the link back by hand "
                         "(ln -sfn TARGET NAME in the cache) and sync");
  return std::nullopt;
}

// The resolution's conflict, if `r` can be undone: its conflict is resolved
// (or, finishing an undo, open again already) and it decided files or
// symlinks.
Result<journal::ConflictRecord> undoable(ShareSides& s, const journal::ResolutionRecord& r,
                                         bool resuming) {
  MutexLock lock(s.journal_mu);
  auto c = s.journal.conflict(r.conflict_id);
  if (!c) return tl::unexpected(c.error());
  if (c->open != resuming)
    return fail(ErrorCode::kInvalidArgument, "conflict " + std::to_string(c->id) + " at " +
                                                 displayPath(c->path) + " is open: nothing to undo");
  if (auto why = notUndoable(r, *c)) return tl::unexpected(std::move(*why));
  return *c;
}

}  // namespace

Result<int64_t> reopenForUndo(ShareSides& s, const journal::ResolutionRecord& r,
                              std::optional<ContentHash> new_hash) {
  journal::Intent i;
  i.share_id = s.share_id;
  i.op = std::string(kUndoOp);
  i.path = r.path;
  i.to_path = r.stash_path;
  i.new_hash = new_hash;
  int64_t id = 0;
  MutexLock lock(s.journal_mu);
  Status done = s.journal.inTransaction([&]() -> Status {
    auto added = s.journal.addIntent(i);
    if (!added) return tl::unexpected(added.error());
    id = *added;
    return s.journal.undoResolution(r.id, r.before_detail);
  });
  if (!done) return tl::unexpected(done.error());
  return id;
}

Status Reconciler::undo(int64_t conflict_id) {
  ShareSides& s = s_;
  std::optional<journal::ResolutionRecord> last;
  {
    MutexLock lock(s.journal_mu);
    auto all = s.journal.resolutions(s.share_id);
    if (!all) return tl::unexpected(all.error());
    for (auto& r : *all)  // newest first
      if (r.conflict_id == conflict_id && r.undone_at_ns == 0) {
        last = std::move(r);
        break;
      }
  }
  if (!last)
    return fail(ErrorCode::kNotFound, "conflict " + std::to_string(conflict_id) +
                                          " has no resolution in this share to undo");
  auto c = undoable(s, *last, /*resuming=*/false);
  if (!c) return tl::unexpected(c.error());
  ReconcileOptions opts;
  PassState pass(s, opts);
  pass.batching = true;
  if (undoneByTrees(*last)) return undoTree(pass, *last, *c, std::nullopt);
  Undo u(pass, *last, std::move(*c));
  Status done = u.load();
  if (done) done = u.check(/*resuming=*/false);
  if (!done) return done;
  auto intent = u.reopen();
  if (!intent) return tl::unexpected(intent.error());
  // From here the conflict is open: a step that fails leaves the intent for
  // recover() to finish, and the path held meanwhile.
  done = u.run(*intent);
  Status flushed = pass.flush();
  pass.forgetOwnWrites();
  if (!done) return done;
  return flushed;
}

Status finishUndo(ShareSides& s, const journal::Intent& i) {
  auto drop = [&]() -> Status {
    MutexLock lock(s.journal_mu);
    return s.journal.removeIntent(i.id);
  };
  std::optional<journal::ResolutionRecord> last;
  {
    MutexLock lock(s.journal_mu);
    auto open = s.journal.openConflictAt(s.share_id, i.path);
    if (!open) return tl::unexpected(open.error());
    if (!*open) return drop();  // decided again since
    auto all = s.journal.resolutions(s.share_id);
    if (!all) return tl::unexpected(all.error());
    for (auto& r : *all)  // newest first: the one this undo took back
      if (r.conflict_id == (*open)->id) {
        if (r.undone_at_ns != 0) last = std::move(r);
        break;
      }
  }
  if (!last) return drop();
  auto c = undoable(s, *last, /*resuming=*/true);
  if (!c) return drop();
  ReconcileOptions opts;
  PassState pass(s, opts);
  pass.batching = true;
  if (undoneByTrees(*last)) {
    Status done = undoTree(pass, *last, *c, i.id);
    if (!done && (done.error().code() == ErrorCode::kConflict ||
                  done.error().code() == ErrorCode::kUnsupported))
      return drop();  // a side changed since: the conflict is open, the user decides
    return done;
  }
  Undo u(pass, *last, std::move(*c));
  if (Status st = u.load(); !st)
    return st.error().code() == ErrorCode::kInvalidArgument ||
                   st.error().code() == ErrorCode::kUnsupported
               ? drop()
               : st;
  // A side someone changed since: the conflict is open and holds the path;
  // the user decides on what is there.
  if (Status st = u.check(/*resuming=*/true); !st) return drop();
  Status done = u.run(i.id);
  pass.forgetOwnWrites();
  return done;
}

}  // namespace hoard::sync
