// SPDX-License-Identifier: MIT
// The start of a pass: the remote checked, both sides listed, the journal read.

#include <future>
#include <limits>
#include <map>
#include <optional>

#include "common/Try.h"
#include "sync/ConflictDetail.h"
#include "sync/Phases.h"
#include "sync/Xattrs.h"

namespace hoard::sync {

bool stopRequested(PassState& pass) {
  if (!pass.opts.stop || !pass.opts.stop->load()) return false;
  if (!pass.report.stopped)
    pass.report.stopped = Error(ErrorCode::kAborted, "the sync was stopped on request");
  return true;
}

Result<bool> checkRemote(PassState& pass) {
  ShareSides& s = pass.s;
  ReconcileReport& report = pass.report;
  if (!s.check_remote) return true;
  if (Status ok = s.check_remote(); !ok) {
    report.stopped = ok.error();
    return false;
  }
  // The filesystem at the remote root is the share's: any later call that
  // finds another one there (unmounted mid-pass) fails as offline instead
  // of writing into the bare mountpoint.
  if (Status pinned = s.remote.pinRoot(); !pinned) {
    report.stopped = pinned.error();
    return false;
  }
  return true;
}

void addListing(PassState& pass, std::vector<remote::WalkEntry>& walked, bool is_local) {
  // A directory either side cannot read is unknown beneath, not empty: its
  // subtree waits (nothing there is pushed, pulled or deleted) and it is a
  // failed path of the pass, while the rest of the share syncs.
  for (auto& e : walked) {
    if (e.unlisted && !pass.isUnlisted(e.path)) {
      pass.unlisted.push_back(e.path);
      pass.held.push_back(e.path);
      pass.report.failed.emplace_back(e.path, *e.unlisted);
    }
    (is_local ? pass.local : pass.remote).emplace(std::move(e.path), std::move(e.stat));
  }
}

namespace {

// What the log says (renames), frozen so nothing we replay is rewritten; the
// base (unless `with_base` is false: a write-back pass reads only its rows);
// the open conflicts, whose paths (and the other paths of a rename-rename)
// wait; the pins.
Status readJournal(PassState& pass, bool with_base) {
  ShareSides& s = pass.s;
  MutexLock lock(s.journal_mu);
  auto f = s.journal.freezeChanges(s.share_id);
  if (!f) return tl::unexpected(f.error());
  pass.frozen = *f;
  auto l = s.journal.changes(s.share_id, 0);
  if (!l) return tl::unexpected(l.error());
  for (auto& c : *l)
    if (c.seq <= pass.frozen) pass.log.push_back(std::move(c));
  if (with_base) {
    auto b = s.journal.listBase(s.share_id);
    if (!b) return tl::unexpected(b.error());
    for (auto& e : *b) pass.base.emplace(e.path, std::move(e));
  }
  auto c = s.journal.conflicts(s.share_id, true);
  if (!c) return tl::unexpected(c.error());
  pass.open = std::move(*c);
  auto pn = s.journal.pins(s.share_id);
  if (!pn) return tl::unexpected(pn.error());
  pass.pins = std::move(*pn);
  // Paths to hydrate are hoarded as a pin above every other would be (an
  // on-demand share's only: elsewhere everything is hoarded anyway).
  if (s.pins_only)
    for (const RelPath& h : pass.opts.hydrate)
      pass.pins.push_back(journal::Pin{h, std::numeric_limits<int>::max()});
  for (const auto& rec : pass.open) {
    pass.held.push_back(rec.path);
    if (rec.kind != journal::ConflictKind::kRenameRename) continue;
    ConflictDetail d = decodeDetail(rec.detail);
    if (d.from) pass.held.push_back(*d.from);
    if (d.remote_to) pass.held.push_back(*d.remote_to);
  }
  return {};
}

// Everything beneath the remote root, from the share's change source (a
// walk unless a filesystem can say itself). Deltas are not taken yet
// (ChangeSource.h): the source is asked for a complete answer.
Result<std::vector<remote::WalkEntry>> listRemote(ShareSides& s) {
  if (!s.remote_changes) return s.remote.walk("");
  auto answer = s.remote_changes->changes(std::nullopt);
  if (!answer) return tl::unexpected(answer.error());
  if (!answer->complete) return s.remote.walk("");  // a source must not, but when in doubt, walk
  return std::move(answer->entries);
}

// The user.* xattrs of a listed file or directory: those the last listing
// held if its ctime and inode are the same (setting or removing one moves
// the ctime), else read from the remote (a listxattr, and a getxattr per
// attribute), so a pass that finds nothing changed asks nothing more. None
// for a remote without xattrs; nullopt if the remote failed to say (the
// view then asks it, online).
std::optional<UserXattrs> listedXattrs(ShareSides& s, const RelPath& path, const remote::Stat& st,
                                       const journal::ListedEntry* before) {
  if (st.meta.type != FileType::kFile && st.meta.type != FileType::kDir) return UserXattrs{};
  if (before && before->xattrs && before->meta.type == st.meta.type &&
      before->meta.ctime_ns == st.meta.ctime_ns && before->meta.inode == st.meta.inode)
    return before->xattrs;
  auto got = readUserXattrs(s.remote, path);
  if (got) return std::move(*got);
  if (got.error().code() == ErrorCode::kUnsupported) return UserXattrs{};
  return std::nullopt;
}

// The remote as this pass listed it, for the view of an on-demand share:
// every entry, also the -wal of a database (the view shows files, not
// units), with its user.* xattrs.
Status recordListing(PassState& pass) {
  ShareSides& s = pass.s;
  std::map<RelPath, journal::ListedEntry> before;
  {
    MutexLock lock(s.journal_mu);
    HOARD_TRY_ASSIGN(old, s.journal.remoteListing(s.share_id));
    for (auto& e : old) before.emplace(e.path, std::move(e));
  }
  std::vector<journal::ListedEntry> rows;
  rows.reserve(pass.remote.size());
  for (const auto& [path, st] : pass.remote) {
    auto b = before.find(path);
    rows.push_back(journal::ListedEntry{
        path, st.meta, st.data_version, st.symlink_target,
        listedXattrs(s, path, st, b == before.end() ? nullptr : &b->second)});
  }
  Status stored;
  {
    MutexLock lock(s.journal_mu);
    stored = s.journal.replaceRemoteListing(s.share_id, rows);
  }
  if (!stored) return stored;
  pass.report.listing_recorded = true;
  if (pass.opts.on_listing_recorded) pass.opts.on_listing_recorded();
  return stored;
}

// Both sides listed whole, and (unless `journal_read`) the journal read.
Result<bool> listEverything(PassState& pass, bool journal_read) {
  ShareSides& s = pass.s;
  // Both sides are listed on their own threads while the journal is read: a
  // reconnect costs the slowest of the three, not their sum. (The futures'
  // destructors wait for them on every early return.)
  auto remote_listing = std::async(std::launch::async, [&s] { return listRemote(s); });
  auto local_listing = std::async(std::launch::async, [&s] { return s.local.walk(""); });
  if (!journal_read)
    if (Status read = readJournal(pass, true); !read) return tl::unexpected(read.error());

  auto lw = local_listing.get();
  if (!lw) return tl::unexpected(lw.error().withContext("cache root " + s.cache_root));
  auto rw = remote_listing.get();
  if (!rw) {
    if (!stopsPass(rw.error())) return tl::unexpected(rw.error());
    pass.report.stopped = rw.error();
    return false;
  }
  addListing(pass, *lw, true);
  addListing(pass, *rw, false);
  return true;
}

}  // namespace

Result<bool> listSides(PassState& pass) {
  bool journal_read = false;
  if (pass.opts.write_back_only) {
    if (Status read = readJournal(pass, false); !read) return tl::unexpected(read.error());
    journal_read = true;
    auto scoped = listWriteBackScope(pass);
    if (!scoped) {
      if (!stopsPass(scoped.error())) return tl::unexpected(scoped.error());
      pass.report.stopped = scoped.error();
      return false;
    }
    if (!*scoped) {
      // The log cannot say what to look at: everything, as any pass (the
      // journal is read again with the base, from a clean slate).
      pass.scoped = false;
      pass.log.clear();
      pass.base.clear();
      pass.local.clear();
      pass.remote.clear();
      pass.held.clear();
      pass.unlisted.clear();
      pass.open.clear();
      pass.pins.clear();
      pass.report.failed.clear();
      journal_read = false;
    }
  }
  if (!pass.scoped) {
    auto listed = listEverything(pass, journal_read);
    if (!listed || !*listed) return listed;
  }
  // A directory that could not be listed keeps nothing beneath it in the
  // view's listing either: better an older listing than an empty folder. A
  // write-back pass saw only the logged paths: the listing stays as it was.
  if (pass.s.record_listing && !pass.scoped && pass.unlisted.empty()) {
    if (Status recorded = recordListing(pass); !recorded) return tl::unexpected(recorded.error());
  }
  // A database's -wal, -shm and -journal are part of its entry, never paths
  // of their own (a change only in the -wal changes the database).
  pass.sqlite.foldLocal(pass.local);
  pass.sqlite.foldRemote(pass.remote);
  return true;
}

Status patchListing(PassState& pass) {
  ShareSides& s = pass.s;
  if (!s.record_listing || pass.remote_changed.empty()) return {};
  MutexLock lock(s.journal_mu);
  Status patched = s.journal.inTransaction([&]() -> Status {
    for (const RelPath& p : pass.remote_changed) {
      if (auto r = s.journal.removeRemoteListedUnder(s.share_id, p); !r)
        return tl::unexpected(r.error());
      auto [first, last] = subtreeOf(pass.remote, p);
      for (auto it = first; it != last; ++it)
        if (Status put = s.journal.putRemoteListed(
                s.share_id, journal::ListedEntry{it->first, it->second.meta,
                                                 it->second.data_version, it->second.symlink_target});
            !put)
          return put;
    }
    return Status{};
  });
  if (!patched) return patched;
  pass.report.listing_recorded = true;
  return {};
}

}  // namespace hoard::sync
