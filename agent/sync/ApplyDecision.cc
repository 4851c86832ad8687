// SPDX-License-Identifier: MIT
// The file-level half of Reconciler::apply: a decision on a conflict whose
// sides are regular files (or absent) turned into one result at the path
// (and, for stash, the cache's bytes under a conflict name), applied to both
// sides compare-and-swap against what they held when the conflict was
// detected. Every step is idempotent, so recover() can finish an apply a
// crash cut short from its intent: each side is then either as detected or
// already as decided.

#include <ctime>

#include "StashName.h"
#include "sync/ApplyDecision.h"

namespace hoard::sync {

namespace {

// "resolve-keep-local" ... : the intent of an apply, naming the decision.
constexpr std::string_view kIntentPrefix = "resolve-";

Error drift(const RelPath& p, bool local_side, int64_t id) {
  return Error(ErrorCode::kConflict,
               displayPath(p) + (local_side ? " changed in the cache" : " changed on the remote") +
                   " since conflict " + std::to_string(id) +
                   " was detected; nothing was changed. The conflict now shows the new version: "
                   "look at it again (hoard show " + std::to_string(id) + ") and decide again");
}

}  // namespace

std::string applyIntentOp(Resolution kind) {
  return std::string(kIntentPrefix) + std::string(resolutionName(kind));
}

std::optional<Resolution> resolutionOfIntent(std::string_view op) {
  if (op.substr(0, kIntentPrefix.size()) != kIntentPrefix) return std::nullopt;
  return resolutionFromName(op.substr(kIntentPrefix.size()));
}

Winner winnerOf(Resolution kind, const ConflictDetail& d) {
  switch (kind) {
    case Resolution::kKeepLocal: return Winner::kLocal;
    case Resolution::kKeepRemote: return Winner::kRemote;
    case Resolution::kStash: return d.remote.exists() ? Winner::kRemote : Winner::kLocal;
    case Resolution::kMerged:
    case Resolution::kMarkers:  // never reaches FileApply (ApplyMarkers.cc)
    case Resolution::kDelete: return Winner::kNone;
  }
  return Winner::kNone;
}

bool stashesLocal(Resolution kind, const ConflictDetail& d) {
  return kind == Resolution::kStash && d.local.exists() && d.remote.exists();
}

bool takesLocalsMetadata(Resolution kind, const ConflictDetail& d) {
  if (kind == Resolution::kMerged) return d.local.exists();
  return winnerOf(kind, d) == Winner::kLocal;
}

journal::ResolutionRecord historyOf(const journal::ConflictRecord& c,
                                    const ConflictDecision& decision) {
  journal::ResolutionRecord h;
  h.conflict_id = c.id;
  h.share_id = c.share_id;
  h.path = c.path;
  h.decision = resolutionName(decision.kind);
  h.resolver = decision.resolver;
  h.rule = decision.rule;
  h.label = decision.label.empty() ? h.decision : decision.label;
  h.local_before = c.local_object;
  h.remote_before = c.remote_object;
  h.before_detail = c.detail;
  return h;
}

Status closeConflict(journal::Journal& j, const journal::ResolutionRecord& h,
                     std::optional<int64_t> intent) {
  if (intent) {
    if (Status st = j.removeIntent(*intent); !st) return st;
  }
  if (Status st = j.resolveConflict(h.conflict_id, h.label); !st) return st;
  auto added = j.addResolution(h);
  if (!added) return tl::unexpected(added.error());
  return {};
}

namespace {

// What a side holds at the path once the decision applied, for the history.
SideSeen seenAfter(const remote::Stat* st, const std::optional<FileApply::Bytes>& b) {
  SideSeen seen = seenOf(st);
  if (st == nullptr) return seen;
  if (b) seen.hash = b->hash;
  seen.recorded = true;
  return seen;
}

}  // namespace

Result<const remote::Stat*> FileApply::entry(bool on_remote, const RelPath& q) {
  StatMap& side = on_remote ? pass.remote : pass.local;
  if (const remote::Stat* st = pass.find(side, q)) return st;
  // A name outside the listing (the stash name): looked at now.
  auto st = (on_remote ? pass.s.remote : pass.s.local).lstat(q);
  if (!st) {
    if (st.error().code() == ErrorCode::kNotFound) return nullptr;
    return tl::unexpected(st.error());
  }
  return &(side[q] = *st);
}

// The side holds `b` at `q` (its bytes and its mode; a metadata conflict is
// decided by the mode alone), or nothing there when `b` is null.
Result<bool> FileApply::holds(remote::RemoteFs& fs, const RelPath& q, const Bytes* b) {
  const bool is_local = &fs == &pass.s.local;
  auto looked = entry(!is_local, q);
  if (!looked) return tl::unexpected(looked.error());
  const remote::Stat* st = *looked;
  if (b == nullptr) return st == nullptr;
  if (b->link) return st != nullptr && st->meta.type == FileType::kSymlink &&
                      st->symlink_target == *b->link;
  if (st == nullptr || st->meta.type != FileType::kFile) return false;
  if ((st->meta.mode & 07777) != (b->mode & 07777)) return false;
  auto h = is_local ? pass.hashLocal(q) : pass.hashRemote(q);
  if (!h) return tl::unexpected(h.error());
  return *h == b->hash;
}

Result<bool> FileApply::asSeen(bool local_side) {
  const SideSeen& seen = local_side ? d.local : d.remote;
  const StatMap& side = local_side ? pass.local : pass.remote;
  const remote::Stat* st = pass.find(side, c.path);
  if (!seen.exists()) return st == nullptr;
  if (st == nullptr || st->meta.type != seen.type) return false;
  if (st->data_version == seen.data_version) return true;
  // Only metadata moved (a touch, a rename back): the same bytes are what was seen.
  auto h = local_side ? pass.hashLocal(c.path) : pass.hashRemote(c.path);
  if (!h) return tl::unexpected(h.error());
  return seen.hash && *h == *seen.hash;
}

Status FileApply::check(bool resuming) {
  for (bool local_side : {true, false}) {
    auto seen = asSeen(local_side);
    if (!seen) return tl::unexpected(seen.error());
    if (*seen) continue;
    if (resuming) {
      // A step that already ran: this side holds what was decided.
      auto done = holds(local_side ? pass.s.local : pass.s.remote, c.path,
                        result ? &*result : nullptr);
      if (!done) return tl::unexpected(done.error());
      if (*done) continue;
      // Between the two cache steps of a stash: the cache's file already
      // moved to the stash name, the remote's not yet in place.
      if (local_side && stash_bytes && pass.find(pass.local, c.path) == nullptr) {
        auto moved = holds(pass.s.local, stash, &*stash_bytes);
        if (!moved) return tl::unexpected(moved.error());
        if (*moved) continue;
      }
    }
    return tl::unexpected(drift(c.path, local_side, c.id));
  }
  return {};
}

Status FileApply::prepare() {
  const Winner w = winnerOf(decision.kind, d);
  const bool local_wins = w == Winner::kLocal;
  if (decision.kind == Resolution::kMerged) {
    auto tmp = pass.s.local.openTemp();
    if (!tmp) return tl::unexpected(tmp.error());
    if (Status copied = copyAll(decision.merged_fd, tmp->get()); !copied) return copied;
    // A merged database is hashed as every database is (its content, not
    // the bookkeeping in its header), so both sides' later looks match it.
    auto h = isSqliteFd(tmp->get()).value_or(false)
                 ? hashSqliteSnapshot(tmp->get(), displayPath(c.path))
                 : hashFd(tmp->get(), c.path);
    if (!h) return tl::unexpected(h.error());
    auto put = pass.s.store.put(tmp->get(), c.path, store::BaseStore::Sync::kNow);
    if (!put) return tl::unexpected(put.error().withContext("keep the merged result"));
    const bool local_meta = takesLocalsMetadata(decision.kind, d);
    const SideSeen& mode_from = local_meta ? d.local : d.remote;
    result = Bytes{std::move(*tmp), *h, put->hash, mode_from.mode ? mode_from.mode : 0644, {}, {}, {}};
    return readXattrs(local_meta ? pass.s.local : pass.s.remote, c.path, *result);
  }
  remote::RemoteFs& from = local_wins ? pass.s.local : pass.s.remote;
  const SideSeen& winner = local_wins ? d.local : d.remote;
  if (w != Winner::kNone && winner.exists()) {
    auto staged = pass.stageCopy(from, c.path, PassState::Keep::kAlways);
    if (!staged) return tl::unexpected(staged.error());
    if (!winner.hash || staged->hash != *winner.hash)
      return tl::unexpected(drift(c.path, local_wins, c.id));
    result = Bytes{std::move(staged->tmp), staged->hash, staged->object,
                   staged->copied.meta.mode, staged->copied.meta.mtime_ns, {}, {}};
    if (Status x = readXattrs(from, c.path, *result); !x) return x;
  }
  if (stashesLocal(decision.kind, d)) {
    // The cache's file moves to the stash name: a database a program has
    // open would leave its -wal behind under the old name.
    if (pass.sqlite.isLocalDb(c.path)) {
      for (SqliteCompanion k : {SqliteCompanion::kWal, SqliteCompanion::kJournal})
        if (pass.s.local.lstat(sqliteCompanionPath(c.path, k)))
          return fail(ErrorCode::kBusy, "the database " + displayPath(c.path) +
                                            " is open in a program (its " +
                                            std::string(sqliteCompanionSuffix(k)).substr(1) +
                                            " is there); close it, then keep both");
    }
    auto staged = pass.stageCopy(pass.s.local, c.path, PassState::Keep::kAlways);
    if (!staged) return tl::unexpected(staged.error());
    if (!d.local.hash || staged->hash != *d.local.hash)
      return tl::unexpected(drift(c.path, true, c.id));
    stash_bytes = Bytes{std::move(staged->tmp), staged->hash, staged->object,
                        staged->copied.meta.mode, staged->copied.meta.mtime_ns, {}, {}};
    if (Status x = readXattrs(pass.s.local, c.path, *stash_bytes); !x) return x;
    if (stash.empty()) {
      std::string dir(parentOf(c.path));
      std::string name = resolvers::uniqueStashName(
          baseName(c.path), pass.s.host, std::time(nullptr), [&](const std::string& n) {
            RelPath q = joinPath(dir, n);
            return pass.s.local.lstat(q).has_value() || pass.s.remote.lstat(q).has_value();
          });
      stash = joinPath(dir, name);
    }
  }
  return {};
}

Status FileApply::copyAll(int from, int to) {
  char buf[1 << 16];
  for (off_t at = 0;;) {
    ssize_t n = ::pread(from, buf, sizeof buf, at);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return failErrno(errno, "read the merged result for " + displayPath(c.path));
    if (n == 0) return {};
    for (ssize_t done = 0; done < n;) {
      ssize_t w = ::write(to, buf + done, static_cast<size_t>(n - done));
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) return failErrno(errno, "stage the merged result for " + displayPath(c.path));
      done += w;
    }
    at += n;
  }
}

Result<int64_t> FileApply::intend() {
  // The intent names the result as the store keeps it (for a database the
  // object is a snapshot whose raw bytes hash otherwise than its content):
  // recover() reads it back from there.
  journal::Intent i;
  i.share_id = pass.s.share_id;
  i.op = applyIntentOp(decision.kind);
  i.path = c.path;
  i.to_path = stash;
  i.new_hash = result ? std::optional(result->object.value_or(result->hash)) : std::nullopt;
  // Who decided: recover() writes the same history row from these.
  i.resolver = decision.resolver;
  i.rule = decision.rule;
  i.label = decision.label;
  return pass.journal([&](journal::Journal& j) { return j.addIntent(i); });
}

// Writes `b` (or nothing: removes) at `q` on one side unless it holds it
// already, compare-and-swap against the listed entry.
Status FileApply::place(bool on_remote, const RelPath& q, const std::optional<Bytes>& b) {
  remote::RemoteFs& fs = on_remote ? pass.s.remote : pass.s.local;
  StatMap& side = on_remote ? pass.remote : pass.local;
  auto done = holds(fs, q, b ? &*b : nullptr);
  if (!done) return tl::unexpected(done.error());
  if (*done) return b ? placeXattrs(on_remote, q, *b) : Status{};
  const remote::Stat* st = pass.find(side, q);  // looked at by holds()
  Expect expect = st == nullptr ? Expect::absent() : Expect::version(st->data_version);
  if (!on_remote) pass.writingLocally(q);
  if (!b) {
    if (Status gone = fs.unlink(q, expect); !gone) return gone;
    side.erase(q);
    return {};
  }
  if (b->link) {
    if (Status made = fs.symlink(q, *b->link, expect); !made) return made;
    auto now = fs.lstat(q);
    if (!now) return tl::unexpected(now.error());
    side[q] = *now;
    if (!on_remote) pass.wroteLocally(q, now->meta);
    return {};
  }
  remote::ReplaceOptions ro;
  ro.mode = b->mode;
  ro.mtime_ns = b->mtime_ns;
  ro.sync_dir = on_remote || !pass.batching;
  // A database's bytes are a snapshot: sent over a database the server may
  // have open only when it is safe, applied into the cache's live one.
  const bool db = isSqliteFd(b->fd.get()).value_or(false);
  auto placed = !db        ? fs.replaceFile(q, b->fd.get(), expect, ro, nullptr)
                : on_remote ? pass.sqlite.push(q, b->fd.get(), expect, ro, nullptr)
                            : pass.sqlite.install(q, b->fd.get(), st, ro);
  if (!placed) return tl::unexpected(placed.error());
  side[q] = *placed;
  if (!on_remote) pass.wroteLocally(q, placed->meta);
  (on_remote ? pass.remote_hash : pass.local_hash)[q] = b->hash;
  return placeXattrs(on_remote, q, *b);
}

Status FileApply::readXattrs(remote::RemoteFs& from, const RelPath& q, Bytes& b) {
  auto x = readUserXattrs(from, q);
  if (x) {
    b.xattrs = std::move(*x);
    return {};
  }
  // No xattrs there (or the name gone meanwhile: check() and holds() judge
  // that): the result's are left as they are.
  if (x.error().code() == ErrorCode::kUnsupported || x.error().code() == ErrorCode::kNotFound)
    return {};
  return tl::unexpected(x.error().withContext("read the xattrs of " + displayPath(q)));
}

// A name just written (or found holding its bytes already, resuming) gets
// the winner's user.* xattrs; its new ctime is what the base records.
Status FileApply::placeXattrs(bool on_remote, const RelPath& q, const Bytes& b) {
  if (!b.xattrs) return {};
  remote::RemoteFs& fs = on_remote ? pass.s.remote : pass.s.local;
  if (!on_remote) pass.writingLocally(q);
  auto changed = makeUserXattrs(fs, q, *b.xattrs);
  if (!changed) return tl::unexpected(changed.error().withContext("set the xattrs of " + displayPath(q)));
  if (!*changed) return {};
  auto now = pass.sqlite.lstatUnit(fs, q, isSqliteFd(b.fd.get()).value_or(false));
  if (!now) return tl::unexpected(now.error());
  (on_remote ? pass.remote : pass.local)[q] = *now;
  if (!on_remote) pass.wroteLocally(q, now->meta);
  return {};
}

Status FileApply::run(std::optional<int64_t> intent) {
  // The remote first: once it holds the result, recover() can finish.
  if (Status st = place(true, c.path, result); !st) return st;
  if (stash_bytes) {
    if (Status st = place(true, stash, stash_bytes); !st) return st;
    // The cache's own file moves to the stash name (a rename keeps the
    // inode an editor may still have open).
    const remote::Stat* l = pass.find(pass.local, c.path);
    auto there = holds(pass.s.local, stash, &*stash_bytes);
    if (!there) return tl::unexpected(there.error());
    if (l != nullptr && !*there) {
      pass.writingLocally(stash);
      pass.writingLocally(c.path);
      if (Status mv = pass.s.local.rename(c.path, stash, Expect::version(l->data_version),
                                          Expect::absent());
          !mv)
        return mv;
      pass.local.erase(c.path);
      pass.local_hash.erase(c.path);
      auto now = pass.s.local.lstat(stash);
      if (!now) return tl::unexpected(now.error());
      pass.local[stash] = *now;
      pass.local_hash[stash] = stash_bytes->hash;
      pass.wroteLocally(stash, now->meta);
    } else if (!*there) {
      if (Status st = place(false, stash, stash_bytes); !st) return st;
    }
  }
  if (Status st = place(false, c.path, result); !st) return st;
  // The new base of each name, and the conflict closed, in one transaction.
  for (const auto& [q, b] : {std::pair{c.path, &result}, std::pair{stash, &stash_bytes}}) {
    if (q.empty()) continue;
    if (!b->has_value()) {
      if (Status st = pass.dropBase(q, std::nullopt); !st) return st;
      continue;
    }
    const bool db = isSqliteFd((*b)->fd.get()).value_or(false);
    auto l = pass.sqlite.lstatUnit(pass.s.local, q, db);
    auto r = pass.sqlite.lstatUnit(pass.s.remote, q, db);
    if (!l) return tl::unexpected(l.error());
    if (!r) return tl::unexpected(r.error());
    if (Status st = pass.putBase(pass.entryFrom(q, *l, *r, (*b)->hash, (*b)->object), std::nullopt);
        !st)
      return st;
  }
  journal::ResolutionRecord h = historyOf(c, decision);
  h.before_tree = before_tree;
  h.result_object = result ? std::optional(result->object.value_or(result->hash)) : std::nullopt;
  if (stash_bytes) {
    h.stash_path = stash;
    h.stash_object = stash_bytes->object.value_or(stash_bytes->hash);
  }
  ConflictDetail after;
  after.local = seenAfter(pass.find(pass.local, c.path), result);
  after.remote = seenAfter(pass.find(pass.remote, c.path), result);
  h.after_detail = encodeDetail(after);
  pass.also_commit.push_back([h = std::move(h), intent](journal::Journal& j) {
    return closeConflict(j, h, intent);
  });
  return pass.flush();
}

}  // namespace hoard::sync
