// SPDX-License-Identifier: MIT
// The undo of a decision on a folder (dir-delete, a file or a link against a
// folder) or between two renames, from the trees its history row keeps
// (TreeSnapshot.h): every entry beneath the decision's paths that the
// resolution left and that was not there before goes, deepest first, and
// every entry it replaced comes back from the store, parents first, with its
// mode and user.* xattrs; the remote first, then the cache. Compare-and-swap
// as for files: before anything is touched, each side must hold exactly what
// the resolution left (else kConflict naming the first entry that differs);
// resuming after a crash, each entry must be what the resolution left or
// what the undo puts back. Undo.cc records the intent and reopens the
// conflict first; recover() finishes a cut undo here.

#include <algorithm>

#include "sync/ApplyDecision.h"
#include "sync/TreeSnapshot.h"

namespace hoard::sync {

namespace {

using Index = std::map<RelPath, const TreeEntry*, PathLess>;

Index indexOf(const std::vector<TreeEntry>& v) {
  Index out;
  for (const TreeEntry& e : v) out[e.path] = &e;
  return out;
}

const TreeEntry* lookup(const Index& i, const RelPath& q) {
  auto it = i.find(q);
  return it == i.end() ? nullptr : it->second;
}

struct TreeUndo {
  PassState& pass;
  const journal::ResolutionRecord& r;
  const journal::ConflictRecord& c;
  ConflictDetail detail;
  FileApply fa;
  TreeSides before, after;
  std::vector<RelPath> roots;  // before's and after's
  Index before_local, before_remote, after_local, after_remote;

  TreeUndo(PassState& p, const journal::ResolutionRecord& rec, const journal::ConflictRecord& con)
      : pass(p),
        r(rec),
        c(con),
        detail(decodeDetail(rec.before_detail)),
        fa{p, c, detail, ConflictDecision{}, {}, {}, {}} {}

  std::string which() const {
    return "resolution " + std::to_string(r.id) + " of conflict " + std::to_string(r.conflict_id) +
           " at " + displayPath(r.path) + " (" + r.label + ") cannot be undone: ";
  }

  // The trees decoded and every object the undo writes still in the store:
  // an undo that could only be done in part is refused before it starts.
  Status load() {
    auto b = decodeTrees(r.before_tree);
    auto a = decodeTrees(r.after_tree);
    if (!b || !a)
      return fail(ErrorCode::kUnsupported,
                  which() + "its record of what each side held is unreadable. Nothing was changed");
    before = std::move(*b);
    after = std::move(*a);
    for (bool local_side : {false, true})
      for (const TreeEntry& e : local_side ? before.local : before.remote) {
        if (e.type != FileType::kFile) continue;
        if (e.object && pass.s.store.open(*e.object)) continue;
        return fail(ErrorCode::kUnsupported,
                    which() + (local_side ? "the cache's " : "the remote's ") +
                        displayPath(e.path) + " as it was before is no longer kept in the store " +
                        "(the retention period passed, or the store was cleared). Nothing was "
                        "changed");
      }
    roots = before.roots;
    for (const RelPath& q : after.roots)
      if (std::find(roots.begin(), roots.end(), q) == roots.end()) roots.push_back(q);
    for (const RelPath& q : roots) {
      if (Status st = loadSide(pass.s.local, pass.local, q); !st) return st;
      if (Status st = loadSide(pass.s.remote, pass.remote, q); !st) return st;
    }
    before_local = indexOf(before.local);
    before_remote = indexOf(before.remote);
    after_local = indexOf(after.local);
    after_remote = indexOf(after.remote);
    return {};
  }

  // `st` at `q` is what the resolution left there.
  static bool leftBy(const remote::Stat& st, const TreeEntry* a) {
    if (a == nullptr || a->type != st.meta.type) return false;
    if (a->type == FileType::kDir) return true;  // its entries are compared one by one
    return a->data_version == st.data_version;
  }

  // `st` at `q` is what the undo puts back there (a file by its bytes and mode).
  Result<bool> asBefore(bool local_side, const RelPath& q, const remote::Stat& st,
                        const TreeEntry* b) {
    if (b == nullptr || b->type != st.meta.type) return false;
    if (b->type == FileType::kDir) return true;
    if (b->type == FileType::kSymlink) return st.symlink_target == b->link;
    if (b->data_version == st.data_version) return true;
    if ((st.meta.mode & 07777) != (b->mode & 07777)) return false;
    auto h = local_side ? pass.hashLocal(q) : pass.hashRemote(q);
    if (!h) return tl::unexpected(h.error());
    return b->hash && *h == *b->hash;
  }

  // Entries of one side at and beneath the roots, parents first.
  std::vector<RelPath> present(bool local_side) const {
    std::vector<RelPath> out;
    const StatMap& side = local_side ? pass.local : pass.remote;
    for (const RelPath& root : roots) {
      auto [first, last] = subtreeOf(side, root);
      for (auto it = first; it != last; ++it) out.push_back(it->first);
    }
    std::sort(out.begin(), out.end(), PathLess{});
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
  }

  Error changed(const RelPath& q, bool local_side) const {
    return Error(ErrorCode::kConflict,
                 displayPath(q) + (local_side ? " changed in the cache" : " changed on the remote") +
                     " since resolution " + std::to_string(r.id) + " of conflict " +
                     std::to_string(r.conflict_id) + " at " + displayPath(r.path) + " (" +
                     r.label +
                     "); nothing was changed. Undo puts back only what that resolution left; "
                     "sync and resolve again instead");
  }

  Status check(bool resuming) {
    for (bool local_side : {false, true}) {
      const StatMap& side = local_side ? pass.local : pass.remote;
      const Index& left = local_side ? after_local : after_remote;
      const Index& back = local_side ? before_local : before_remote;
      for (const RelPath& q : present(local_side)) {
        const remote::Stat& st = side.at(q);
        if (leftBy(st, lookup(left, q))) continue;
        if (resuming) {
          auto same = asBefore(local_side, q, st, lookup(back, q));
          if (!same) return tl::unexpected(same.error());
          if (*same) continue;
        }
        return tl::unexpected(changed(q, local_side));
      }
      if (resuming) continue;
      for (const auto& [q, e] : left)
        if (pass.find(side, q) == nullptr) return tl::unexpected(changed(q, local_side));
    }
    return {};
  }

  // What the resolution left that the undo does not keep goes, deepest first.
  Status clear(bool local_side) {
    remote::RemoteFs& fs = local_side ? pass.s.local : pass.s.remote;
    StatMap& side = local_side ? pass.local : pass.remote;
    const Index& back = local_side ? before_local : before_remote;
    std::vector<RelPath> now = present(local_side);
    for (auto it = now.rbegin(); it != now.rend(); ++it) {
      const remote::Stat st = side.at(*it);
      auto keep = asBefore(local_side, *it, st, lookup(back, *it));
      if (!keep) return tl::unexpected(keep.error());
      if (*keep) continue;
      if (st.meta.type != FileType::kDir) {
        if (Status gone = fa.place(!local_side, *it, std::nullopt); !gone) return gone;
        continue;
      }
      if (local_side) pass.writingLocally(*it);
      if (Status gone = fs.rmdir(*it, Expect::anything()); !gone) return gone;
      side.erase(*it);
    }
    return {};
  }

  // What it replaced comes back, parents first; folders take their modes
  // and xattrs last, deepest first (a read-only folder is filled first).
  Status restore(bool local_side) {
    remote::RemoteFs& fs = local_side ? pass.s.local : pass.s.remote;
    StatMap& side = local_side ? pass.local : pass.remote;
    const std::vector<TreeEntry>& want = local_side ? before.local : before.remote;
    for (const TreeEntry& e : want) {
      if (e.type == FileType::kDir) {
        if (pass.find(side, e.path) != nullptr) continue;
        if (local_side) pass.writingLocally(e.path);
        if (Status made = fs.mkdir(e.path, e.mode | 0700); !made) return made;
        auto now = fs.lstat(e.path);
        if (!now) return tl::unexpected(now.error());
        side[e.path] = *now;
        if (local_side) pass.wroteLocally(e.path, now->meta);
        continue;
      }
      FileApply::Bytes b;
      if (e.type == FileType::kSymlink) {
        b.link = e.link;
      } else {
        auto fd = pass.s.store.open(*e.object);
        if (!fd) return tl::unexpected(fd.error());
        b.fd = std::move(*fd);
        b.hash = e.hash.value_or(*e.object);
        b.object = e.object;
        b.mode = e.mode;
        b.xattrs = e.xattrs;
      }
      const std::optional<FileApply::Bytes> want_here(std::move(b));
      if (Status put = fa.place(!local_side, e.path, want_here); !put) return put;
    }
    for (auto it = want.rbegin(); it != want.rend(); ++it) {
      if (it->type != FileType::kDir) continue;
      if (local_side) pass.writingLocally(it->path);
      if (it->xattrs) {
        auto x = makeUserXattrs(fs, it->path, *it->xattrs);
        if (!x) return tl::unexpected(x.error().withContext("set the xattrs of " + displayPath(it->path)));
      }
      const remote::Stat* st = pass.find(side, it->path);
      if (st != nullptr && (st->meta.mode & 07777) == (it->mode & 07777)) continue;
      if (Status m = fs.chmod(it->path, it->mode); !m) return m;
    }
    return {};
  }

  // What the reopened conflict records of each side: what they hold now, so
  // deciding again is not refused as a change since it was detected.
  ConflictDetail reopened() {
    ConflictDetail d = detail;
    const RelPath& remote_at = d.remote_to ? *d.remote_to : c.path;
    for (bool local_side : {true, false}) {
      remote::RemoteFs& fs = local_side ? pass.s.local : pass.s.remote;
      const RelPath& q = local_side ? c.path : remote_at;
      SideSeen& seen = local_side ? d.local : d.remote;
      StatMap fresh;
      if (!loadSide(fs, fresh, q)) continue;  // kept as recorded: a refresh settles it
      const remote::Stat* st = pass.find(fresh, q);
      if (st == nullptr || st->meta.type != seen.type) continue;
      SideSeen now = seenOf(st);
      now.hash = seen.hash;
      now.recorded = seen.recorded;
      seen = std::move(now);
      if (seen.type == FileType::kDir) seen.subtree_digest = subtreeDigest(fresh, q);
    }
    return d;
  }

  Status run(int64_t intent) {
    for (bool local_side : {false, true}) {
      if (Status st = clear(local_side); !st) return st;
      if (Status st = restore(local_side); !st) return st;
    }
    for (const RelPath& q : roots)
      if (Status st = pass.dropBase(q, std::nullopt); !st) return st;
    pass.also_commit.push_back(
        [intent, id = c.id, d = encodeDetail(reopened()), lo = c.local_object,
         ro = c.remote_object](journal::Journal& j) -> Status {
          if (Status st = j.refreshConflict(id, d, lo, ro); !st) return st;
          return j.removeIntent(intent);
        });
    return pass.flush();
  }
};

}  // namespace

Status undoTree(PassState& pass, const journal::ResolutionRecord& r,
                const journal::ConflictRecord& c, std::optional<int64_t> resume) {
  TreeUndo u(pass, r, c);
  Status done = u.load();
  if (done) done = u.check(/*resuming=*/resume.has_value());
  if (!done) return done;
  int64_t intent = 0;
  if (resume) {
    intent = *resume;
  } else {
    auto i = reopenForUndo(pass.s, r, std::nullopt);
    if (!i) return tl::unexpected(i.error());
    intent = *i;
  }
  // From here the conflict is open: a step that fails leaves the intent for
  // recover() to finish, and the paths held meanwhile.
  done = u.run(intent);
  Status flushed = pass.flush();
  pass.forgetOwnWrites();
  if (!done) return done;
  return flushed;
}

}  // namespace hoard::sync
