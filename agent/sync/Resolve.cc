// SPDX-License-Identifier: MIT
// Reconciler::apply: one open conflict decided. The sides are checked to
// hold what the conflict recorded (a side that changed since refreshes the
// conflict instead); file-level conflicts go through FileApply (one result,
// an intent, compare-and-swap on both sides, one commit), directories and
// symlinks by mirroring one side onto the other, a rename-rename by renames.

#include <ctime>

#include "StashName.h"
#include "sync/ApplyDecision.h"
#include "sync/Phases.h"
#include "sync/TreeSnapshot.h"

namespace hoard::sync {

namespace {

// Entries of `m` at or beneath `p`, parents first.
std::vector<RelPath> subtree(const StatMap& m, const RelPath& p) {
  std::vector<RelPath> out;
  auto [first, last] = subtreeOf(m, p);
  for (auto it = first; it != last; ++it) out.push_back(it->first);
  return out;
}


// Makes side `to` equal to side `from` at p: copies every entry of `from`
// (parents first), then removes what `to` has that `from` has not (deepest
// first). Every write is compare-and-swap against the listing, which
// checkTree found as the conflict recorded it.
Status mirror(PassState& pass, const RelPath& p, bool to_remote) {
  ShareSides& s = pass.s;
  StatMap& from = to_remote ? pass.local : pass.remote;
  StatMap& to = to_remote ? pass.remote : pass.local;
  remote::RemoteFs& to_fs = to_remote ? s.remote : s.local;
  for (const RelPath& q : subtree(from, p)) {
    const remote::Stat src = from.at(q);
    const remote::Stat* dst = pass.find(to, q);
    if (dst != nullptr && dst->meta.type != src.meta.type) {
      if (dst->meta.type == FileType::kDir) {
        // Clear the directory that a file or symlink replaces, deepest first.
        std::vector<RelPath> inner = subtree(to, q);
        for (auto it = inner.rbegin(); it != inner.rend(); ++it) {
          if (Status st = pass.remove(to_fs, to, *it, Expect::anything(), to_remote); !st)
            return st;
        }
      } else if (Status st = pass.remove(to_fs, to, q, Expect::version(dst->data_version),
                                         to_remote);
                 !st) {
        return st;
      }
    }
    Status st = to_remote ? pass.push(q, nullptr, src) : pass.pull(q, src);
    if (!st) return st;
  }
  std::vector<RelPath> extra;
  for (const RelPath& q : subtree(to, p))
    if (!from.count(q)) extra.push_back(q);
  for (auto it = extra.rbegin(); it != extra.rend(); ++it) {
    const remote::Stat* dst = pass.find(to, *it);
    Expect e = dst != nullptr && dst->meta.type != FileType::kDir
                   ? Expect::version(dst->data_version)
                   : Expect::anything();
    if (Status st = pass.remove(to_fs, to, *it, e, to_remote); !st) return st;
  }
  // Base rows beneath p that the winning side has no entry for (the loser's,
  // moved aside by a stash, or replaced by a file or a link) describe
  // nothing now: left, they would be looked up through that link.
  std::vector<RelPath> stale;
  auto [first, last] = subtreeOf(pass.base, p);
  for (auto it = first; it != last; ++it)
    if (it->first != p && !from.count(it->first)) stale.push_back(it->first);
  for (const RelPath& q : stale)
    if (Status st = pass.dropBase(q, std::nullopt); !st) return st;
  return {};
}

// The side still holds, at and beneath the conflict's path, what was
// recorded: the same type, for a directory the same entries (digest), for a
// symlink the same target.
bool treeAsSeen(PassState& pass, const SideSeen& seen, const StatMap& side, const RelPath& p) {
  const remote::Stat* st = pass.find(side, p);
  if (!seen.exists()) return st == nullptr;
  if (st == nullptr || st->meta.type != seen.type) return false;
  if (seen.type == FileType::kSymlink) return st->symlink_target == seen.symlink_target;
  if (seen.type == FileType::kDir) return subtreeDigest(side, p) == seen.subtree_digest;
  return st->data_version == seen.data_version;
}

// Refreshes the open conflict with what each side holds now (its versions
// kept again) and says which side changed.
Status refresh(PassState& pass, const journal::ConflictRecord& c, const ConflictDetail& old,
               Error why) {
  ConflictDetail d = old;
  journal::ConflictRecord fresh = c;
  auto ls = pass.keepVersion(pass.s.local, c.path, pass.find(pass.local, c.path),
                             fresh.local_object);
  if (!ls) return tl::unexpected(ls.error());
  auto rs = pass.keepVersion(pass.s.remote, c.path, pass.find(pass.remote, c.path),
                             fresh.remote_object);
  if (!rs) return tl::unexpected(rs.error());
  d.local = *ls;
  d.remote = *rs;
  if (d.local.type == FileType::kDir) d.local.subtree_digest = subtreeDigest(pass.local, c.path);
  if (d.remote.type == FileType::kDir)
    d.remote.subtree_digest = subtreeDigest(pass.remote, c.path);
  Status saved = pass.journal([&](journal::Journal& j) {
    return j.refreshConflict(c.id, encodeDetail(d), fresh.local_object, fresh.remote_object);
  });
  if (!saved) return saved;
  return tl::unexpected(std::move(why));
}

// Moves one side's entry at p (a whole directory with everything beneath
// it) to a stash name beside it on that side, then copies it to the other
// side under the same name: nothing that side held is lost, and p is free.
// `stash_out` gets the name.
Status moveBeside(PassState& pass, const RelPath& p, bool from_local, RelPath& stash_out) {
  ShareSides& s = pass.s;
  StatMap& side = from_local ? pass.local : pass.remote;
  remote::RemoteFs& fs = from_local ? s.local : s.remote;
  std::string dir(parentOf(p));
  std::string name = resolvers::uniqueStashName(
      baseName(p), s.host, std::time(nullptr), [&](const std::string& n) {
        RelPath q = joinPath(dir, n);
        return pass.find(side, q) != nullptr || s.local.lstat(q).has_value() ||
               s.remote.lstat(q).has_value();
      });
  RelPath stash = joinPath(dir, name);
  stash_out = stash;
  const remote::Stat st = side.at(p);
  if (from_local) pass.writingLocally(stash);
  if (Status mv = fs.rename(p, stash, Expect::version(st.data_version), Expect::absent()); !mv)
    return mv;
  std::vector<RelPath> moved;
  for (const RelPath& q : subtree(side, p)) moved.push_back(rebase(q, p, stash));
  auto [first, last] = subtreeOf(side, p);
  side.erase(first, last);
  for (const RelPath& q : moved) {
    auto now = fs.lstat(q);  // the rename moved ctime: take fresh metadata
    if (!now) return tl::unexpected(now.error());
    side[q] = *now;
    Status copied = from_local ? pass.push(q, nullptr, *now) : pass.pull(q, *now);
    if (!copied) return copied;
  }
  return {};
}

// A dir-delete decided for the deletion: the directory goes on both sides,
// but what the side that kept it holds beneath it first moves to a stash
// name on both sides (a user's new file is never silently dropped).
Status deleteKeepingBeside(PassState& pass, const RelPath& p, RelPath& stash) {
  const bool kept_local = pass.find(pass.local, p) != nullptr;
  if (Status st = moveBeside(pass, p, kept_local, stash); !st) return st;
  return pass.dropBase(p, std::nullopt);
}

// `stash`: the name a decision moved one side's entry to, if any.
Status applyTree(PassState& pass, const journal::ConflictRecord& c, Resolution kind,
                 RelPath& stash) {
  const RelPath& p = c.path;
  const bool dir_delete = c.kind == journal::ConflictKind::kDirDelete;
  const bool local_gone = pass.find(pass.local, p) == nullptr;
  const bool remote_gone = pass.find(pass.remote, p) == nullptr;
  switch (kind) {
    case Resolution::kKeepLocal:
      if (dir_delete && local_gone) return deleteKeepingBeside(pass, p, stash);
      return mirror(pass, p, /*to_remote=*/true);
    case Resolution::kKeepRemote:
      if (dir_delete && remote_gone) return deleteKeepingBeside(pass, p, stash);
      return mirror(pass, p, /*to_remote=*/false);
    case Resolution::kDelete:
      if (dir_delete) return deleteKeepingBeside(pass, p, stash);
      // A symlink modified on one side, deleted on the other: the deletion wins.
      return mirror(pass, p, /*to_remote=*/local_gone);
    case Resolution::kMerged:
    case Resolution::kMarkers:
      return fail(ErrorCode::kInvalidArgument,
                  displayPath(p) + " is not a file on both sides: it cannot take merged content");
    case Resolution::kStash:
      break;
  }
  // The remote's version takes the path; the local one moves beside it
  // under a conflict name, on both sides. Nothing is lost either way.
  if (!local_gone && !remote_gone) {
    if (Status st = moveBeside(pass, p, /*from_local=*/true, stash); !st) return st;
  } else if (remote_gone) {
    // Only the cache holds something: it keeps its name on both sides.
    return mirror(pass, p, /*to_remote=*/true);
  }
  return mirror(pass, p, /*to_remote=*/false);
}

// What a side holds at `q` now, for the history (an undo checks it).
Result<SideSeen> seenNow(remote::RemoteFs& fs, const RelPath& q) {
  SideSeen seen;
  seen.recorded = true;
  auto st = fs.lstat(q);
  if (!st) {
    if (st.error().code() == ErrorCode::kNotFound) return seen;
    return tl::unexpected(st.error());
  }
  seen = seenOf(&*st);
  seen.recorded = true;
  return seen;
}

// The history row of a decision applied by mirroring (directories, symlinks,
// a file against a symlink): what each side holds afterwards, the winner's
// kept file version when a file is left at the path, and the entry moved
// aside by a stash (its kept version when it is a file).
Result<journal::ResolutionRecord> treeHistory(PassState& pass, const journal::ConflictRecord& c,
                                              const ConflictDetail& d,
                                              const ConflictDecision& decision,
                                              const RelPath& stash, TreeSides before) {
  journal::ResolutionRecord h = historyOf(c, decision);
  // What an undo puts back and compares against: beneath the path and the
  // stash name (which held nothing before).
  if (!stash.empty()) before.roots.push_back(stash);
  auto left = snapshotTrees(pass, before.roots, TreeTake::kCompare);
  if (!left) return tl::unexpected(left.error());
  h.before_tree = encodeTrees(before);
  h.after_tree = encodeTrees(*left);
  h.tree_objects = treeObjects(before);
  ConflictDetail after;
  auto l = seenNow(pass.s.local, c.path);
  auto r = seenNow(pass.s.remote, c.path);
  if (!l) return tl::unexpected(l.error());
  if (!r) return tl::unexpected(r.error());
  after.local = *l;
  after.remote = *r;
  h.after_detail = encodeDetail(after);
  if (after.local.type == FileType::kFile) {
    // Mirroring copied the file of the side that kept it.
    const bool from_local = d.local.type == FileType::kFile &&
                            (d.remote.type != FileType::kFile ||
                             decision.kind == Resolution::kKeepLocal);
    h.result_object = from_local ? c.local_object : c.remote_object;
  }
  if (!stash.empty()) {
    h.stash_path = stash;
    // moveBeside moves the cache's entry, or (a deletion decided) the one
    // that side kept.
    const SideSeen& moved = d.local.exists() ? d.local : d.remote;
    if (moved.type == FileType::kFile)
      h.stash_object = d.local.exists() ? c.local_object : c.remote_object;
  }
  return h;
}

// A rename-rename: the cache renamed `from` to the conflict's path, the
// remote renamed it to `remote_to`.
Status applyRenameRename(PassState& pass, const journal::ConflictRecord& c,
                         const ConflictDetail& d, Resolution resolution) {
  ShareSides& s = pass.s;
  const RelPath& p = c.path;
  struct {
    RelPath from, remote_to;
  } rr_value{*d.from, *d.remote_to}, *rr = &rr_value;
  // The cache renamed `from` to p, the remote to rr->remote_to.
  auto l = s.local.lstat(p);
  auto r = s.remote.lstat(rr->remote_to);
  if (!l) return tl::unexpected(l.error());
  if (!r) return tl::unexpected(r.error());
  pass.local[p] = *l;
  pass.remote[rr->remote_to] = *r;
  if ((d.local.recorded && l->data_version != d.local.data_version) ||
      (d.remote.recorded && r->data_version != d.remote.data_version))
    return fail(ErrorCode::kConflict,
                "a side of conflict " + std::to_string(c.id) + " at " + displayPath(p) +
                    " changed since it was detected; nothing was changed: sync, then decide again");
  Status done;
  switch (resolution) {
    case Resolution::kMerged:
    case Resolution::kMarkers:
    case Resolution::kDelete:
      return fail(ErrorCode::kInvalidArgument,
                  "a rename-rename conflict takes no merged content and no delete");
    case Resolution::kKeepLocal:  // the remote takes the cache's name
      done = s.remote.rename(rr->remote_to, p, Expect::version(r->data_version),
                              Expect::absent());
      if (done) done = pass.agree(p);
      if (done) done = pass.dropBase(rr->remote_to, std::nullopt);
      break;
    case Resolution::kKeepRemote:  // the cache takes the remote's name
      done = s.local.rename(p, rr->remote_to, Expect::version(l->data_version),
                             Expect::absent());
      if (done) done = pass.agree(rr->remote_to);
      if (done) done = pass.dropBase(p, std::nullopt);
      break;
    case Resolution::kStash:  // keep both names on both sides
      done = pass.push(p, nullptr, *l);
      if (done) done = pass.pull(rr->remote_to, *r);
      break;
  }
  if (done) done = pass.dropBase(rr->from, std::nullopt);
  return done;
}

}  // namespace

namespace {

// A directory conflict's sides checked against what it recorded: the
// refresh's answer (kConflict naming the side) where one changed since.
std::optional<Status> treeDrift(PassState& pass, const journal::ConflictRecord& c,
                                const ConflictDetail& d) {
  for (bool local_side : {true, false}) {
    if (!treeAsSeen(pass, local_side ? d.local : d.remote, local_side ? pass.local : pass.remote,
                    c.path))
      return refresh(pass, c, d,
                     Error(ErrorCode::kConflict,
                           displayPath(c.path) +
                               (local_side ? " changed in the cache" : " changed on the remote") +
                               " since conflict " + std::to_string(c.id) +
                               " was detected; nothing was changed. The conflict now shows "
                               "the new version: look at it again and decide again"));
  }
  return std::nullopt;
}

// A repository merge (ApplyRepo.cc), its base and the conflict's
// resolution committed together.
Status applyRepo(PassState& pass, const journal::ConflictRecord& c, const ConflictDetail& d,
                 const ConflictDecision& decision) {
  if (auto drifted = treeDrift(pass, c, d)) return *drifted;
  Status done = applyRepoMerge(pass, c, decision);
  if (done)
    pass.also_commit.push_back([h = historyOf(c, decision)](journal::Journal& j) {
      return closeConflict(j, h, std::nullopt);
    });
  Status flushed = pass.flush();  // what was done before a failure stays recorded
  pass.forgetOwnWrites();
  if (!done) return done;
  return flushed;
}

}  // namespace

bool deleteAllowed(journal::ConflictKind k) {
  return k == journal::ConflictKind::kModifyDelete || k == journal::ConflictKind::kDeleteModify ||
         k == journal::ConflictKind::kDirDelete;
}

Status loadSide(remote::RemoteFs& fs, StatMap& side, const RelPath& p) {
  auto st = fs.lstat(p);
  if (!st) return st.error().code() == ErrorCode::kNotFound ? Status{}
                                                             : Status(tl::unexpected(st.error()));
  side[p] = *st;
  if (st->meta.type == FileType::kDir) {
    auto w = fs.walk(p);
    if (!w) return tl::unexpected(w.error());
    if (Status all = refuseUnlisted(*w); !all) return all;
    for (auto& e : *w) side.emplace(std::move(e.path), std::move(e.stat));
  }
  return {};
}

Status Reconciler::resolve(int64_t conflict_id, Resolution resolution) {
  if (resolution == Resolution::kMerged || resolution == Resolution::kMarkers)
    return fail(ErrorCode::kInvalidArgument, "a merged result needs its content");
  ConflictDecision d{resolution, -1, {}, {}, {}};
  d.resolver = resolutionName(resolution);  // a built-in, named directly (no rule)
  return apply(conflict_id, d);
}

Status Reconciler::apply(int64_t conflict_id, const ConflictDecision& decision) {
  ShareSides& s = s_;
  journal::ConflictRecord c;
  {
    MutexLock lock(s.journal_mu);
    auto r = s.journal.conflict(conflict_id);
    if (!r) return tl::unexpected(r.error());
    c = *r;
  }
  if (c.share_id != s.share_id || !c.open)
    return fail(ErrorCode::kNotFound, "conflict " + std::to_string(conflict_id) +
                                          " is not an open conflict of this share");
  const bool repo_merge =
      decision.kind == Resolution::kMerged && c.kind == journal::ConflictKind::kRepo;
  if ((decision.kind == Resolution::kMerged || decision.kind == Resolution::kMarkers) &&
      decision.merged_fd < 0 && !repo_merge)
    return fail(ErrorCode::kInvalidArgument, "a merged result needs its content");
  if ((decision.kind == Resolution::kMerged || decision.kind == Resolution::kMarkers) &&
      c.kind != journal::ConflictKind::kContent && c.kind != journal::ConflictKind::kCreateCreate &&
      !repo_merge)
    return fail(ErrorCode::kInvalidArgument,
                "conflict " + std::to_string(c.id) + " at " + displayPath(c.path) + " is a " +
                    std::string(journal::conflictKindName(c.kind)) +
                    " conflict: merged content is a decision only where both sides edited or "
                    "created a file (content, create-create) or a repository (repo)");
  if (decision.kind == Resolution::kDelete && !deleteAllowed(c.kind))
    return fail(ErrorCode::kInvalidArgument,
                "conflict " + std::to_string(c.id) + " at " + displayPath(c.path) + " is a " +
                    std::string(journal::conflictKindName(c.kind)) +
                    " conflict: delete is a decision only where a side deleted the path "
                    "(modify-delete, delete-modify, dir-delete)");
  const RelPath& p = c.path;
  ReconcileOptions opts;
  PassState pass(s, opts);
  pass.batching = true;  // the rows and the resolution commit together
  ConflictDetail d = decodeDetail(c.detail);

  if (c.kind == journal::ConflictKind::kRenameRename && d.from && d.remote_to) {
    // What each side holds at the three names, before and after, for an undo.
    const std::vector<RelPath> names{*d.from, p, *d.remote_to};
    auto before = snapshotTrees(pass, names, TreeTake::kKeep);
    if (!before) return tl::unexpected(before.error());
    Status done = applyRenameRename(pass, c, d, decision.kind);
    if (!done) return done;
    auto after = snapshotTrees(pass, names, TreeTake::kCompare);
    if (!after) return tl::unexpected(after.error());
    journal::ResolutionRecord h = historyOf(c, decision);
    h.before_tree = encodeTrees(*before);
    h.after_tree = encodeTrees(*after);
    h.tree_objects = treeObjects(*before);
    pass.also_commit.push_back([h = std::move(h)](journal::Journal& j) {
      return closeConflict(j, h, std::nullopt);
    });
    Status flushed = pass.flush();
    pass.forgetOwnWrites();
    return flushed;
  }

  if (Status st = loadSide(s.local, pass.local, p); !st) return st;
  if (Status st = loadSide(s.remote, pass.remote, p); !st) return st;
  if (Status st = pass.sqlite.foldLoaded(pass.local, pass.remote, p); !st) return st;
  {
    MutexLock lock(s.journal_mu);
    auto b = s.journal.listBaseUnder(s.share_id, p);
    if (!b) return tl::unexpected(b.error());
    for (auto& e : *b) pass.base.emplace(e.path, std::move(e));
  }
  // Conflicts recorded before hoard kept each side's version cannot be
  // checked: they are refreshed first, and the user decides on what is there.
  if (!d.local.recorded || !d.remote.recorded)
    return refresh(pass, c, d,
                   Error(ErrorCode::kConflict,
                         "conflict " + std::to_string(c.id) + " at " + displayPath(p) +
                             " was recorded by an older hoard; it now shows what each side "
                             "holds: look at it again (hoard show " + std::to_string(c.id) +
                             ") and decide again"));

  if (repo_merge) return applyRepo(pass, c, d, decision);
  if (decision.kind == Resolution::kMarkers || (d.merging && decision.kind == Resolution::kKeepLocal)) {
    Status merging = decision.kind == Resolution::kMarkers
                         ? applyMarkers(pass, c, d, decision)
                         : acceptMergeEdit(pass, c, d, decision.force);
    if (!merging && merging.error().code() == ErrorCode::kConflict)
      return refresh(pass, c, decodeDetail(c.detail), merging.error());
    if (!merging || decision.kind == Resolution::kMarkers) {
      pass.forgetOwnWrites();
      return merging;
    }
  }
  auto isFileOrNone = [](FileType t) { return t == FileType::kFile || t == FileType::kNone; };
  Status done;
  if (isFileOrNone(d.local.type) && isFileOrNone(d.remote.type)) {
    FileApply fa{pass, c, d, decision, {}, {}, {}};
    done = fa.check(false);
    if (!done) return refresh(pass, c, d, done.error());
    // Each side's xattrs as they were, for an undo (the bytes are the conflict's).
    auto before = snapshotTrees(pass, {p}, TreeTake::kXattrs);
    if (!before) return tl::unexpected(before.error());
    fa.before_tree = encodeTrees(*before);
    done = fa.prepare();
    if (!done) {
      if (done.error().code() == ErrorCode::kConflict) return refresh(pass, c, d, done.error());
      return done;
    }
    auto intent = fa.intend();
    if (!intent) return tl::unexpected(intent.error());
    done = fa.run(*intent);
    if (!done) pass.forgetIntent(*intent);
  } else {
    if (auto drifted = treeDrift(pass, c, d)) return *drifted;
    auto before = snapshotTrees(pass, {p}, TreeTake::kKeep);  // for an undo
    if (!before) return tl::unexpected(before.error());
    RelPath stash;
    done = applyTree(pass, c, decision.kind, stash);
    auto h = done ? treeHistory(pass, c, d, decision, stash, std::move(*before))
                  : Result<journal::ResolutionRecord>{};
    if (!h) done = tl::unexpected(h.error());
    if (done) {
      pass.also_commit.push_back([h = std::move(*h)](journal::Journal& j) {
        return closeConflict(j, h, std::nullopt);
      });
      done = pass.flush();
    }
  }
  Status flushed = pass.flush();  // what was done before a failure stays recorded
  pass.forgetOwnWrites();
  if (!done) return done;
  return flushed;
}

}  // namespace hoard::sync
