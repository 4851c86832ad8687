// SPDX-License-Identifier: MIT
// What a write-back pass looks at: the paths the change log names, not the
// whole share. A user's save in a share of 100,000 files costs a few stats
// on each side and a few base rows, not two listings and the whole base.
//
// The scope is, for every logged path (both ends of a rename, the database
// of a -wal): the path itself on both sides and in the base, with everything
// beneath it when it is a directory on some side (a deleted or renamed
// directory takes its subtree along), and the directories leading to it. So
// every path the plan sees is seen whole (three-way, with its subtree), and
// the pass decides it exactly as a full pass would; a remote file that
// changed since the base is still a conflict, found by its own stat.
//
// The directories leading to a logged path are only looked at, never
// decided beyond their own metadata: the scope falls back to a full pass
// when one of them is not a directory on every side (deleted or replaced
// remotely: a dir-delete wants the whole subtree), when one holds a git
// repository (a repository moves as one unit, GitRepoUnit.h), when the log
// is long (a rescan after an overflow) or names the root itself.

#include <algorithm>

#include "sync/Phases.h"
#include "sync/SqliteUnit.h"

namespace hoard::sync {

namespace {

// More records than this and a full pass is cheaper than many small looks.
constexpr size_t kMaxScopedLog = 512;

// The logged paths, none beneath another, in path order; nullopt when the
// log cannot scope a pass.
std::optional<std::vector<RelPath>> scopeRoots(const std::vector<LoggedChange>& log,
                                               const std::vector<RelPath>& hydrate) {
  if (log.size() + hydrate.size() > kMaxScopedLog) return std::nullopt;
  PathSet named;
  for (const RelPath& h : hydrate) {
    if (h.empty()) return std::nullopt;
    named.insert(h);
  }
  for (const LoggedChange& lc : log) {
    for (const RelPath* p : {&lc.change.path, &lc.change.to}) {
      if (p == &lc.change.to && lc.change.op != ChangeOp::kRename) continue;
      if (p->empty()) return std::nullopt;  // the root itself: everything
      named.insert(*p);
      if (auto c = sqliteCompanionOf(*p)) named.insert(c->db);
    }
  }
  std::vector<RelPath> roots;
  for (const RelPath& p : named)  // path order: a directory before what lies beneath it
    if (roots.empty() || !isUnder(p, roots.back())) roots.push_back(p);
  return roots;
}

// The directories leading to the roots (not the root ""), none of them a root.
PathSet ancestorsOf(const std::vector<RelPath>& roots) {
  PathSet out;
  for (const RelPath& r : roots)
    for (std::string_view a = parentOf(r); !a.empty(); a = parentOf(a)) out.emplace(a);
  return out;
}

// The stat of `p` on `fs`, nullopt if absent. Errors: the side's.
Result<std::optional<remote::Stat>> statIfAny(remote::RemoteFs& fs, const RelPath& p) {
  auto st = fs.lstat(p);
  if (st) return std::optional<remote::Stat>(std::move(*st));
  if (st.error().code() == ErrorCode::kNotFound) return std::optional<remote::Stat>();
  return tl::unexpected(st.error());
}

// Adds `p` and, for a directory, its subtree on one side. Errors: the side's.
Status loadRoot(PassState& pass, remote::RemoteFs& fs, bool is_local, const RelPath& p) {
  auto st = statIfAny(fs, p);
  if (!st) return tl::unexpected(st.error());
  if (!*st) return {};
  StatMap& side = is_local ? pass.local : pass.remote;
  bool is_dir = (*st)->meta.type == FileType::kDir;
  side[p] = std::move(**st);
  if (!is_dir) return {};
  auto walked = fs.walk(p);
  if (!walked) return tl::unexpected(walked.error());
  addListing(pass, *walked, is_local);
  return {};
}

// A database's companions beside root `p` (its -wal, -shm, -journal), so
// that folding sees the unit as a full listing does. The remote is asked
// only where the cache holds a database there or nothing (a local delete).
Status loadCompanions(PassState& pass, const RelPath& p) {
  if (sqliteCompanionOf(p)) return {};
  const remote::Stat* l = pass.find(pass.local, p);
  if (l != nullptr && l->meta.type != FileType::kFile) return {};
  bool ask_remote = l == nullptr || pass.sqlite.isLocalDb(p);
  for (SqliteCompanion c : kSqliteCompanions) {
    RelPath q = sqliteCompanionPath(p, c);
    for (bool is_local : {true, false}) {
      if (!is_local && !ask_remote) continue;
      auto st = statIfAny(is_local ? pass.s.local : pass.s.remote, q);
      if (!st) return tl::unexpected(st.error());
      if (*st) (is_local ? pass.local : pass.remote)[q] = std::move(**st);
    }
  }
  return {};
}

// A directory leading to a root of an on-demand share that was never
// hoarded (no base row): a directory on the remote, absent from the cache
// or a directory there too (made for a file created beneath it). The plan
// decides it as any new directory (pulled, or agreed), nothing beneath it.
// False if it is anything else.
Result<bool> loadPlaceholderAncestor(PassState& pass, const RelPath& a) {
  ShareSides& s = pass.s;
  auto r = statIfAny(s.remote, a);
  if (!r) return tl::unexpected(r.error());
  if (!*r || (*r)->meta.type != FileType::kDir) return false;
  auto l = statIfAny(s.local, a);
  if (!l) return tl::unexpected(l.error());
  if (*l && (*l)->meta.type != FileType::kDir) return false;
  for (auto* fs : {&s.local, &s.remote}) {
    auto git = statIfAny(*fs, joinPath(a, ".git"));
    if (!git) return tl::unexpected(git.error());
    if (*git) return false;
  }
  if (*l) pass.local[a] = std::move(**l);
  pass.remote[a] = std::move(**r);
  return true;
}

// Looks at the directories leading to the roots; false if one of them is
// not a directory in the base and on both sides, or holds a git repository
// (an on-demand share's directories never hoarded: loadPlaceholderAncestor).
Result<bool> loadAncestors(PassState& pass, const PathSet& ancestors) {
  ShareSides& s = pass.s;
  for (const RelPath& a : ancestors) {
    std::optional<BaseEntry> b, git;
    {
      MutexLock lock(s.journal_mu);
      auto row = s.journal.getBase(s.share_id, a);
      if (!row) return tl::unexpected(row.error());
      auto repo = s.journal.getBase(s.share_id, joinPath(a, ".git"));
      if (!repo) return tl::unexpected(repo.error());
      b = std::move(*row);
      git = std::move(*repo);
    }
    if (!b && !git && s.pins_only) {
      auto placeholder = loadPlaceholderAncestor(pass, a);
      if (!placeholder || !*placeholder) return placeholder;
      continue;
    }
    if (!b || b->local.type != FileType::kDir || git) return false;
    auto l = statIfAny(s.local, a);
    if (!l) return tl::unexpected(l.error());
    if (!*l || (*l)->meta.type != FileType::kDir) return false;
    auto lgit = statIfAny(s.local, joinPath(a, ".git"));
    if (!lgit) return tl::unexpected(lgit.error());
    if (*lgit) return false;
    auto r = statIfAny(s.remote, a);
    if (!r) return tl::unexpected(r.error());
    if (!*r || (*r)->meta.type != FileType::kDir) return false;
    pass.base.emplace(a, std::move(*b));
    pass.local[a] = std::move(**l);
    pass.remote[a] = std::move(**r);
  }
  return true;
}

Status loadBaseUnder(PassState& pass, const RelPath& root) {
  ShareSides& s = pass.s;
  MutexLock lock(s.journal_mu);
  return s.journal.forEachBaseUnder(s.share_id, root, [&](const BaseEntry& e) -> Status {
    pass.base.emplace(e.path, e);
    return {};
  });
}

// Anything but the remote going away means "list everything" (a full pass
// reports a path it cannot read as that path's failure).
Result<bool> orFull(const Status& st) {
  if (st) return true;
  if (stopsPass(st.error())) return tl::unexpected(st.error());
  return false;
}

}  // namespace

Result<bool> listWriteBackScope(PassState& pass) {
  auto roots = scopeRoots(pass.log, pass.s.pins_only ? pass.opts.hydrate : std::vector<RelPath>{});
  if (!roots) return false;
  auto ancestors = loadAncestors(pass, ancestorsOf(*roots));
  if (!ancestors) return orFull(Status(tl::unexpected(ancestors.error())));
  if (!*ancestors) return false;
  for (const RelPath& r : *roots) {
    if (Status st = loadBaseUnder(pass, r); !st) return tl::unexpected(st.error());
    for (bool is_local : {true, false}) {
      auto ok = orFull(loadRoot(pass, is_local ? pass.s.local : pass.s.remote, is_local, r));
      if (!ok || !*ok) return ok;
    }
    auto ok = orFull(loadCompanions(pass, r));
    if (!ok || !*ok) return ok;
  }
  pass.scoped = true;
  return true;
}

}  // namespace hoard::sync
