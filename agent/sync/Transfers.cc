// SPDX-License-Identifier: MIT
// Moving bytes and entries between the sides: pushes, pulls, removals,
// agreements. Every write is compare-and-swap against what the pass saw.

#include <algorithm>
#include <atomic>
#include <mutex>

#include "common/ThreadAnnotations.h"
#include "sync/PassState.h"
#include "sync/Xattrs.h"

namespace hoard::sync {

// Makes the remote equal to the cache at `p` (which exists locally).
Status PassState::push(const RelPath& p, const BaseEntry* b, const remote::Stat& l) {
  const remote::Stat* r = find(remote, p);
  // The remote must still hold what this pass decided on (its content was
  // checked against the base, or it is absent).
  Expect expect = r == nullptr ? Expect::absent() : Expect::version(r->data_version);
  (void)b;
  remote::Stat newr;
  std::optional<ContentHash> hash, object;
  remote::Stat newl = l;
  if (l.meta.type == FileType::kFile) {
    // A stable copy: the user may go on editing while it travels.
    auto staged = stageCopy(s.local, p, Keep::kPolicy);
    if (!staged) return tl::unexpected(staged.error());
    newl = staged->copied;
    hash = staged->hash;
    object = staged->object;
    UniqueFd* tmp = &staged->tmp;
    auto intent = intend("replace", p, hash);
    if (!intent) return tl::unexpected(intent.error());
    remote::ReplaceOptions ro;
    ro.mode = newl.meta.mode;
    ro.mtime_ns = newl.meta.mtime_ns;
    auto replaced = staged->is_db ? sqlite.push(p, tmp->get(), expect, ro, transferProgress())
                                  : s.remote.replaceFile(p, tmp->get(), expect, ro,
                                                         transferProgress());
    if (!replaced) {
      // A timeout or a dropped link leaves the outcome unknown: the call
      // may still land. Keep the intent so the next pass can recognise our
      // own bytes (adoptReplace) instead of taking them for a third party's.
      if (!stopsPass(replaced.error())) forgetIntent(*intent);
      return tl::unexpected(replaced.error());
    }
    remote::Stat final_remote = *replaced;
    auto carried = carryXattrsOut(p, !staged->is_db);
    if (!carried) {
      // The bytes have landed: the intent stays, so the next pass adopts
      // them as ours (adoptReplace) instead of taking them for a third
      // party's change and a conflict.
      return tl::unexpected(carried.error());
    }
    if (*carried) {  // setting xattrs moved the remote's ctime: take its new version
      auto fresh = s.remote.lstat(p);
      if (fresh) final_remote = *fresh;
    }
    remote[p] = final_remote;
    remote_changed.insert(p);
    ++report.pushed;
    return putBase(entryFrom(p, newl, final_remote, hash, object), *intent);
  }
  if (l.meta.type == FileType::kDir) {
    if (r == nullptr || r->meta.type != FileType::kDir) {
      auto st = s.remote.mkdir(p, l.meta.mode);
      if (!st && st.error().code() != ErrorCode::kExists) return st;
    }
  } else if (l.meta.type == FileType::kSymlink) {
    auto intent = intend("symlink", p);
    if (!intent) return tl::unexpected(intent.error());
    auto st = s.remote.symlink(p, l.symlink_target, expect);
    if (!st) {
      forgetIntent(*intent);
      return st;
    }
    forgetIntent(*intent);
  } else {
    return {};  // fifos, sockets, devices are not carried
  }
  auto rs = s.remote.lstat(p);
  if (!rs) return tl::unexpected(rs.error());
  remote[p] = *rs;
  remote_changed.insert(p);
  ++report.pushed;
  return putBase(entryFrom(p, l, *rs, std::nullopt, std::nullopt), std::nullopt);
}

remote::ProgressFn PassState::transferProgress() const {
  if (!opts.stop) return nullptr;
  return [stop = opts.stop](uint64_t) { return !stop->load(); };
}

Result<PassState::Staged> PassState::stageCopy(remote::RemoteFs& fs, const RelPath& p,
                                                Keep keep_as) {
  auto tmp = s.local.openTemp();
  if (!tmp) return tl::unexpected(tmp.error());
  auto copied = fs.fetchFile(p, tmp->get(), transferProgress());
  if (!copied) {
    // Gone since it was listed, or written to while it was read: nothing is
    // sent or fetched half-done, and the next pass looks at it again.
    const ErrorCode code = copied.error().code();
    if (code == ErrorCode::kNotFound || code == ErrorCode::kBusy) {
      MutexLock lock(moved_on_mu);
      moved_on.insert(p);
    }
    return tl::unexpected(copied.error());
  }
  Staged out;
  uint64_t size = copied->meta.size;
  if (auto db = isSqliteFd(tmp->get()); db && *db) {
    // Never the raw main file: a snapshot through SQLite, with its -wal.
    tmp->reset();  // no other descriptor while SQLite has it open (POSIX locks)
    auto snap = &fs == &s.local ? sqlite.snapshotLocal(p) : sqlite.snapshotRemote(p);
    if (!snap) return tl::unexpected(snap.error());
    out = Staged{std::move(snap->fd), snap->unit, snap->hash, std::nullopt, true, std::nullopt};
    size = snap->size;
  } else {
    auto h = hashFd(tmp->get(), p);
    if (!h) return tl::unexpected(h.error());
    out = Staged{std::move(*tmp), *copied, *h, std::nullopt, false, std::nullopt};
  }
  if (keep_as == Keep::kPolicy) {
    out.object = keep(p, out.tmp.get(), size);
  } else if (keep_as == Keep::kAlways) {
    const auto sync = batching ? store::BaseStore::Sync::kLater : store::BaseStore::Sync::kNow;
    if (auto put = s.store.put(out.tmp.get(), p, sync)) {
      if (batching) store_unsynced = true;
      out.object = put->hash;
    }
  }
  return out;
}

// The first half of pulling a regular file: fetch, hash, keep, install
// (unsynced when batching), carry xattrs. It touches nothing of the pass
// but the own-writes list and the unsynced flags, so the hoard walk runs it
// on several threads at once.
Result<PassState::Fetched> PassState::fetchInto(const RelPath& p, const Expect& expect) {
  auto n = stageNew(p);
  if (!n) return tl::unexpected(n.error());
  return installStaged(p, *n, expect);
}

Result<PassState::Fetched> PassState::installStaged(const RelPath& p, Staged& staged,
                                                    const Expect& expect) {
  Staged* n = &staged;
  remote::ReplaceOptions ro;
  ro.mode = n->copied.meta.mode;
  ro.mtime_ns = n->copied.meta.mtime_ns;
  ro.sync_dir = !batching;  // flush() syncs the cache before the base row
  writingLocally(p);
  auto installed = n->is_db ? sqlite.install(p, n->tmp.get(), find(local, p), ro)
                            : s.local.replaceFile(p, n->tmp.get(), expect, ro,
                                                  transferProgress());
  if (!installed) return tl::unexpected(installed.error());
  if (Status done = carryXattrsInto(p, *installed, n->is_db ? std::nullopt : n->xattrs); !done)
    return tl::unexpected(done.error());
  return Fetched{*installed, n->copied, n->hash, n->object};
}

// After a remote file was installed in the cache at `p`: its user.* xattrs
// follow (moving the cache file's ctime, so `installed` is refreshed) and
// the recorder learns what the pass wrote.
Status PassState::carryXattrsInto(const RelPath& p, remote::Stat& installed,
                                  const std::optional<UserXattrs>& known) {
  auto carried = known ? setUserXattrs(s.local, p, *known) : copyUserXattrs(s.remote, s.local, p);
  if (!carried) return tl::unexpected(carried.error());
  if (*carried) {
    auto fresh = s.local.lstat(p);
    if (fresh) installed = *fresh;
  }
  wroteLocally(p, installed.meta);
  return {};
}

// Names a staged file in the cache (the caller synced its bytes first: a
// name never points at unsynced data) and records it. The pass's thread.
Status PassState::installNew(const RelPath& p, Staged& n) {
  remote::ReplaceOptions ro;
  ro.mode = n.copied.meta.mode;
  ro.mtime_ns = n.copied.meta.mtime_ns;
  ro.sync_dir = !batching;  // flush() syncs the cache before the base row
  writingLocally(p);
  auto installed = n.is_db ? sqlite.install(p, n.tmp.get(), nullptr, ro)
                           : s.local.linkNewFile(p, n.tmp.get(), ro);
  if (!installed) return tl::unexpected(installed.error());
  if (Status done = carryXattrsInto(p, *installed, n.is_db ? std::nullopt : n.xattrs); !done)
    return tl::unexpected(done.error());
  return recordFetched(p, Fetched{*installed, n.copied, n.hash, n.object});
}

// The second half, on the pass's thread.
Status PassState::recordFetched(const RelPath& p, Fetched f) {
  local[p] = f.installed;
  remote[p] = f.fetched;
  ++report.pulled;
  return putBase(entryFrom(p, f.installed, f.fetched, f.hash, f.object), std::nullopt);
}

// Sends `pushes` (regular files, present in the cache). Failures are noted per
// path; returns false if the pass must stop.
Result<bool> PassState::pushFiles(const std::vector<FilePush>& pushes) {
  std::atomic<bool> stop{false};
  const size_t width = std::max<size_t>(1, opts.transfer_threads);
  const size_t send_width = std::max<size_t>(1, opts.remote_in_flight);
  // A failing send may be the first sign of the share going away (an
  // unmount leaves a bare mountpoint where new files would land): as in
  // noteFailure, look before sending more.
  Mutex check_mu;
  bool gone = false;  // GUARDED_BY(check_mu)
  auto shareGone = [&](const Error& e) {
    if (stopsPass(e)) return true;
    if (!s.check_remote) return false;
    MutexLock lock(check_mu);
    if (!gone) gone = !s.check_remote();
    return gone;
  };
  for (size_t at = 0; at < pushes.size() && !stop; at += kPushChunk) {
    const size_t n = std::min(kPushChunk, pushes.size() - at);
    std::vector<StagedPush> st(n);
    // A stable copy of each (the user may go on editing), hashed and kept.
    parallelFor(width, n, [&](size_t i) {
      const RelPath& p = pushes[at + i].path;
      StagedPush& x = st[i];
      x.staged = stageCopy(s.local, p, Keep::kPolicy);
    });
    // Every replace is intended before it is sent, in one commit.
    Status intended = journal([&](journal::Journal& j) {
      return j.inTransaction([&]() -> Status {
        for (size_t i = 0; i < n; ++i) {
          if (!st[i].staged) continue;
          journal::Intent in;
          in.share_id = s.share_id;
          in.op = "replace";
          in.path = pushes[at + i].path;
          in.new_hash = st[i].staged->hash;
          auto id = j.addIntent(in);
          if (!id) return tl::unexpected(id.error());
          st[i].intent = *id;
        }
        return {};
      });
    });
    if (!intended) return tl::unexpected(intended.error());
    // Sent on several threads; the first sign of the remote going away
    // stops the rest (each would wait out its own deadline).
    parallelFor(send_width, n, [&](size_t i) {
      StagedPush& x = st[i];
      if (!x.intent || stop) return;
      const RelPath& p = pushes[at + i].path;
      // A new file that left the cache since it was staged (an editor's
      // temporary renamed into place) is not sent: the next pass sees where
      // it went, and the remote never shows what the user already removed.
      if (pushes[at + i].expect.kind == Expect::Kind::kAbsent && !s.local.lstat(p)) {
        x.left = true;
        return;
      }
      remote::ReplaceOptions ro;
      ro.mode = x.staged->copied.meta.mode;
      ro.mtime_ns = x.staged->copied.meta.mtime_ns;
      x.attempted = true;
      auto replaced =
          x.staged->is_db
              ? sqlite.push(p, x.staged->tmp.get(), pushes[at + i].expect, ro,
                            transferProgress())
              : s.remote.replaceFile(p, x.staged->tmp.get(), pushes[at + i].expect, ro,
                                     transferProgress());
      if (!replaced) {
        if (shareGone(replaced.error())) stop = true;
        x.sent = tl::unexpected(replaced.error());
        return;
      }
      x.replaced = true;
      x.sent = *replaced;
      auto carried = carryXattrsOut(p, !x.staged->is_db);
      if (!carried) {
        x.sent = tl::unexpected(carried.error());
      } else if (*carried) {  // setting xattrs moved the remote's ctime
        if (auto fresh = s.remote.lstat(p)) x.sent = *fresh;
      }
    });
    for (size_t i = 0; i < n; ++i) {
      const RelPath& p = pushes[at + i].path;
      StagedPush& x = st[i];
      if (!x.staged) {
        if (!noteFailure(p, x.staged.error())) stop = true;
        continue;
      }
      if (x.left) {
        forgetIntent(*x.intent);
        report.retried.push_back(p);
        continue;
      }
      if (!x.attempted) {  // skipped: the pass is stopping; the next one sends it
        forgetIntent(*x.intent);
        continue;
      }
      if (!x.sent) {
        // A replace that timed out or lost the link may still land: its
        // intent stays so the next pass recognises our own bytes, as does
        // one that landed before its xattrs failed. One that failed for
        // good is forgotten.
        const Error& e = x.sent.error();
        if (!x.replaced && !stopsPass(e)) forgetIntent(*x.intent);
        if (!noteFailure(p, e)) stop = true;
        continue;
      }
      remote[p] = *x.sent;
      remote_changed.insert(p);
      ++report.pushed;
      if (Status saved = putBase(entryFrom(p, x.staged->copied, *x.sent, x.staged->hash, x.staged->object), x.intent);
          !saved)
        return tl::unexpected(saved.error());
    }
  }
  return !stop;
}

// Makes the cache equal to the remote at `p` (which exists remotely).
Status PassState::pull(const RelPath& p, const remote::Stat& r) {
  const remote::Stat* l = find(local, p);
  Expect expect = l == nullptr ? Expect::absent() : Expect::version(l->data_version);
  if (r.meta.type == FileType::kFile) {
    auto f = fetchInto(p, expect);
    if (!f) return tl::unexpected(f.error());
    return recordFetched(p, std::move(*f));
  }
  if (r.meta.type != FileType::kFile) writingLocally(p);
  if (r.meta.type == FileType::kDir) {
    if (l == nullptr || l->meta.type != FileType::kDir) {
      auto st = s.local.mkdir(p, r.meta.mode);
      if (!st && st.error().code() != ErrorCode::kExists) return st;
    }
  } else if (r.meta.type == FileType::kSymlink) {
    auto st = s.local.symlink(p, r.symlink_target, expect);
    if (!st) return st;
  } else {
    return {};
  }
  auto ls = s.local.lstat(p);
  if (!ls) return tl::unexpected(ls.error());
  local[p] = *ls;
  wroteLocally(p, ls->meta);
  ++report.pulled;
  return putBase(entryFrom(p, *ls, r, std::nullopt, std::nullopt), std::nullopt);
}

// Removes `p` from one side. Directories go in a second, deepest-first step.
Status PassState::remove(remote::RemoteFs& fs, StatMap& side, const RelPath& p, const Expect& expect, bool on_remote) {
  const remote::Stat* st = find(side, p);
  if (st == nullptr) return dropBase(p, std::nullopt);
  std::optional<int64_t> intent;
  if (on_remote) {
    auto i = intend(st->meta.type == FileType::kDir ? "rmdir" : "unlink", p);
    if (!i) return tl::unexpected(i.error());
    intent = *i;
  }
  Status done = st->meta.type == FileType::kDir ? fs.rmdir(p, Expect::anything())
                                                : fs.unlink(p, expect);
  if (!done && done.error().code() != ErrorCode::kNotFound) {
    if (intent) forgetIntent(*intent);
    return done;
  }
  side.erase(p);
  if (on_remote) remote_changed.insert(p);
  ++(on_remote ? report.deleted_remote : report.deleted_local);
  return dropBase(p, intent);
}

Status PassState::refreshLocal(const RelPath& p) {
  const BaseEntry* b = baseAt(p);
  const remote::Stat* l = find(local, p);
  if (b == nullptr || l == nullptr || l->meta.type != b->local.type) return {};
  BaseEntry e = *b;
  e.local = l->meta;
  return putBase(e, std::nullopt);
}

Status PassState::copyTimes(const RelPath& p) {
  const remote::Stat* l = find(local, p);
  const remote::Stat* r = find(remote, p);
  if (l == nullptr || r == nullptr) return {};
  // Only over the version the pass decided on: a colleague's new edit there
  // is a content change for the next pass, not something to stamp over.
  auto now = s.remote.lstat(p);
  if (!now) return tl::unexpected(now.error());
  if (now->data_version != r->data_version)
    return fail(ErrorCode::kConflict, displayPath(p) + " changed on the remote while syncing");
  if (Status st = s.remote.setMtime(p, l->meta.mtime_ns); !st) return st;
  ++report.times;
  return {};
}

Status PassState::copyMode(remote::RemoteFs& fs, const RelPath& p, uint32_t mode) {
  auto st = fs.chmod(p, mode);
  if (!st) return st;
  ++report.modes;
  return {};
}

// After both sides hold the same thing at `p`: record it as the base.
Status PassState::agree(const RelPath& p) {
  const bool db = sqlite.isLocalDb(p);  // then the remote's is one too: they agree
  auto l = sqlite.lstatUnit(s.local, p, db);
  auto r = sqlite.lstatUnit(s.remote, p, db);
  if (!l && l.error().code() == ErrorCode::kNotFound && !r &&
      r.error().code() == ErrorCode::kNotFound) {
    local.erase(p);
    remote.erase(p);
    return dropBase(p, std::nullopt);
  }
  if (!l) return tl::unexpected(l.error());
  if (!r) return tl::unexpected(r.error());
  local[p] = *l;
  remote[p] = *r;
  std::optional<ContentHash> hash, object;
  if (l->meta.type == FileType::kFile) {
    local_hash.erase(p);
    auto h = hashLocal(p);
    if (!h) return tl::unexpected(h.error());
    hash = *h;
    const BaseEntry* b = baseAt(p);
    if (b != nullptr && b->hash == hash) object = b->object;
  }
  return putBase(entryFrom(p, *l, *r, hash, object), std::nullopt);
}

}  // namespace hoard::sync
