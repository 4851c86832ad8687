// SPDX-License-Identifier: MIT
// Renames the user made in the cache, replayed on the remote as renames, so
// the remote keeps its inode and any edit a third party made meanwhile ("a
// rename on one side and a modify on the other is not a conflict: both
// apply"). A file renamed on both sides to different names is a rename-rename
// conflict.

#include "sync/ConflictDetail.h"
#include "sync/GitRepoUnit.h"
#include "sync/Phases.h"

namespace hoard::sync {

namespace {

SideSeen seen(const remote::Stat& st, std::optional<ContentHash> hash) {
  SideSeen s;
  s.type = st.meta.type;
  s.size = st.meta.size;
  s.mode = st.meta.mode;
  s.mtime_ns = st.meta.mtime_ns;
  s.ctime_ns = st.meta.ctime_ns;
  s.inode = st.meta.inode;
  s.data_version = st.data_version;
  s.hash = hash;
  s.symlink_target = st.symlink_target;
  return s;
}

// The cache renamed `from` (a file of the base) to `to`, and the remote's
// `from` is gone too: if a third party renamed it elsewhere, the same bytes
// sit at a new remote path nothing here knows. Records a rename-rename
// conflict then (holding all three paths).
Status detectRenameRename(PassState& pass, const RelPath& from, const RelPath& to,
                          const BaseEntry& bf) {
  std::optional<RelPath> theirs;
  for (const auto& [q, st] : pass.remote) {
    if (st.meta.type != FileType::kFile || st.meta.size != bf.local.size ||
        pass.baseAt(q) != nullptr || pass.find(pass.local, q) != nullptr || pass.isHeld(q))
      continue;
    auto h = pass.hashRemote(q);
    if (h && *h == *bf.hash) {
      theirs = q;
      break;
    }
  }
  if (!theirs || *theirs == to) return {};  // renamed alike on both sides: the pass agrees
  journal::ConflictRecord rr;
  rr.share_id = pass.s.share_id;
  rr.path = to;
  rr.kind = journal::ConflictKind::kRenameRename;
  rr.base_object = bf.object;
  ConflictDetail d;
  d.from = from;
  d.remote_to = *theirs;
  auto lh = pass.hashLocal(to);
  d.local = seen(*pass.find(pass.local, to), lh ? std::optional(*lh) : std::nullopt);
  d.remote = seen(*pass.find(pass.remote, *theirs), bf.hash);
  rr.detail = encodeDetail(d);
  auto id = pass.journal([&](journal::Journal& j) { return j.addConflict(rr); });
  if (!id) return tl::unexpected(id.error());
  pass.report.new_conflicts.push_back(*id);
  pass.held.push_back(to);
  pass.held.push_back(from);
  pass.held.push_back(*theirs);
  return {};
}

// Renames `from` to `to` on the remote (compare-and-swap) and re-keys the
// base and the remote listing of the whole subtree. False if the pass must
// stop.
Result<bool> replayOne(PassState& pass, const RelPath& from, const RelPath& to) {
  ShareSides& s = pass.s;
  ReconcileReport& report = pass.report;
  const BaseEntry* bf = pass.baseAt(from);
  const remote::Stat* rf = pass.find(pass.remote, from);
  if (Status flushed = pass.flush(); !flushed) return tl::unexpected(flushed.error());
  auto intent = pass.intend("rename", from, std::nullopt, to);
  if (!intent) return tl::unexpected(intent.error());
  Status moved = s.remote.rename(from, to, Expect::version(rf->data_version), Expect::absent());
  if (!moved) {
    pass.forgetIntent(*intent);
    return pass.noteFailure(from, moved.error());
  }
  // Re-key the base and the remote listing of the whole subtree (bf and rf
  // point into the maps being re-keyed: keep what is needed of them first).
  const std::string from_base_version = bf->data_version;
  std::vector<BaseEntry> rekeyed;
  {
    auto [first, last] = subtreeOf(pass.base, from);
    for (auto it = first; it != last; ++it) {
      BaseEntry e = std::move(it->second);
      e.path = rebase(e.path, from, to);
      rekeyed.push_back(std::move(e));
    }
    pass.base.erase(first, last);
  }
  StatMap moved_remote;
  {
    auto [first, last] = subtreeOf(pass.remote, from);
    for (auto it = first; it != last; ++it)
      moved_remote.emplace(rebase(it->first, from, to), std::move(it->second));
    pass.remote.erase(first, last);
  }
  // A rename moves ctime on: take the renamed entry's new remote version
  // when its content did not change, so it is not pulled back for nothing.
  if (auto st = s.remote.lstat(to)) {
    for (auto& e : rekeyed)
      if (e.path == to && moved_remote.count(to) &&
          moved_remote[to].data_version == from_base_version)
        e.data_version = st->data_version;
    moved_remote[to] = *st;
  }
  for (auto& [p, st] : moved_remote) pass.remote[p] = std::move(st);
  Status saved = pass.journal([&](journal::Journal& j) {
    return j.inTransaction([&]() -> Status {
      if (auto r = j.removeBaseUnder(s.share_id, from); !r) return tl::unexpected(r.error());
      if (auto r = j.putBase(s.share_id, rekeyed); !r) return r;
      return j.removeIntent(*intent);
    });
  });
  if (!saved) return tl::unexpected(saved.error());
  for (auto& e : rekeyed) pass.base[e.path] = std::move(e);
  pass.remote_changed.insert(from);
  pass.remote_changed.insert(to);
  ++report.renamed_remote;
  return true;
}

}  // namespace

Result<bool> replayRenames(PassState& pass) {
  pass.repos = findGitRepos(pass.local, pass.remote);
  for (const LoggedChange& lc : pass.log) {
    if (lc.change.op != ChangeOp::kRename) continue;
    if (stopRequested(pass)) return false;
    const RelPath& from = lc.change.path;
    const RelPath& to = lc.change.to;
    if (pass.isHeld(from) || pass.isHeld(to)) continue;
    // Inside a repository (git renames its lock files over refs and the
    // index): the plan carries the result in git's order, objects first.
    if (gitRepoOf(pass.repos, from) || gitRepoOf(pass.repos, to)) continue;
    const remote::Stat* rf = pass.find(pass.remote, from);
    const BaseEntry* bf = pass.baseAt(from);
    if (bf != nullptr && rf == nullptr && bf->local.type == FileType::kFile && bf->hash &&
        pass.find(pass.local, from) == nullptr && pass.find(pass.local, to) != nullptr) {
      if (Status st = detectRenameRename(pass, from, to, *bf); !st)
        return tl::unexpected(st.error());
      continue;
    }
    if (bf == nullptr || rf == nullptr || rf->meta.type != bf->local.type) continue;
    if (pass.find(pass.remote, to) != nullptr || pass.find(pass.local, from) != nullptr ||
        pass.find(pass.local, to) == nullptr)
      continue;  // not a clean rename any more: the per-path pass decides
    auto go = replayOne(pass, from, to);
    if (!go || !*go) return go;
  }
  return true;
}

}  // namespace hoard::sync
