// SPDX-License-Identifier: MIT
#include "sync/Reconciler.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <ctime>
#include <deque>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "StashName.h"
#include "common/Hash.h"
#include "common/UniqueFd.h"
#include "sync/ThreeWay.h"
#include "sync/Xattrs.h"

namespace hoard::sync {

namespace {

using remote::Expect;
using StatMap = std::map<RelPath, remote::Stat>;

// Remote trouble that ends the pass (the state machine goes OFFLINE or
// pauses): everything else is a failure of one path, retried next pass.
bool stopsPass(const Error& e) {
  switch (e.code()) {
    case ErrorCode::kOffline:
    case ErrorCode::kTimeout:
    case ErrorCode::kAuthExpired:
    case ErrorCode::kNoSpace:
      return true;
    default:
      return false;
  }
}

// An unnamed temporary file in `dir` (same filesystem as the cache, so copies
// into and out of it are cheap), gone when closed.
Result<UniqueFd> anonTemp(const std::string& dir) {
  UniqueFd fd(::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600));
  if (fd) return fd;
  std::string name = dir + "/.hoard-tmp-anon-XXXXXX";
  int raw = ::mkostemp(name.data(), O_CLOEXEC);
  if (raw < 0) return failErrno(errno, "create a temporary file in " + displayPath(dir));
  ::unlink(name.c_str());
  return UniqueFd(raw);
}


std::string toHex(std::string_view bytes) {
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char ch : bytes) {
    out.push_back(kHex[ch >> 4]);
    out.push_back(kHex[ch & 0xF]);
  }
  return out;
}

std::string fromHex(std::string_view hex) {
  auto nib = [](char ch) { return ch <= '9' ? ch - '0' : ch - 'a' + 10; };
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2)
    out.push_back(static_cast<char>(nib(hex[i]) << 4 | nib(hex[i + 1])));
  return out;
}

// The other paths a rename-rename conflict holds (paths are bytes, so they
// travel hex-encoded in the JSON detail): the source and the remote's target.
struct RenameRename {
  RelPath from;
  RelPath remote_to;
};
std::optional<RenameRename> renameRenameOf(const journal::ConflictRecord& c) {
  if (c.kind != journal::ConflictKind::kRenameRename) return std::nullopt;
  auto d = nlohmann::json::parse(c.detail, nullptr, false);
  if (d.is_discarded() || !d.contains("from_hex") || !d.contains("remote_to_hex"))
    return std::nullopt;
  return RenameRename{fromHex(d["from_hex"].get<std::string>()),
                      fromHex(d["remote_to_hex"].get<std::string>())};
}

nlohmann::json describeSide(const remote::Stat* st, const std::optional<ContentHash>& hash) {
  if (st == nullptr) return {{"type", "none"}};
  nlohmann::json j = {{"type", std::string(fileTypeName(st->meta.type))},
                      {"size", st->meta.size},
                      {"mode", st->meta.mode},
                      {"mtime_ns", st->meta.mtime_ns}};
  if (hash) j["hash"] = hash->hex();
  if (st->meta.type == FileType::kSymlink) j["target"] = displayPath(st->symlink_target);
  return j;
}

}  // namespace

std::string_view resolutionName(Resolution r) {
  switch (r) {
    case Resolution::kKeepLocal: return "keep-local";
    case Resolution::kKeepRemote: return "keep-remote";
    case Resolution::kStash: return "stash";
  }
  return "keep-local";
}

std::optional<Resolution> resolutionFromName(std::string_view name) {
  for (Resolution r : {Resolution::kKeepLocal, Resolution::kKeepRemote, Resolution::kStash})
    if (resolutionName(r) == name) return r;
  return std::nullopt;
}

// The working state of one pass (or one resolution).
// File pushes are staged, intended (one transaction) and sent this many at a
// time.
constexpr size_t kPushChunk = 128;

// Runs fn(0..n-1) on up to `width` threads; returns when all are done.
template <class F>
void parallelFor(size_t width, size_t n, F&& fn) {
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i = next++; i < n; i = next++) fn(i);
  };
  std::vector<std::thread> threads;
  for (size_t t = 1; t < std::min(width, n); ++t) threads.emplace_back(work);
  work();
  for (std::thread& t : threads) t.join();
}

struct Reconciler::Pass {
  Pass(ShareSides& sides, const ReconcileOptions& options) : s(sides), opts(options) {}

  ShareSides& s;
  const ReconcileOptions& opts;
  ReconcileReport report;

  std::map<RelPath, BaseEntry> base;
  StatMap local;
  StatMap remote;
  std::vector<RelPath> held;  // open conflict paths: they and their subtrees wait
  std::map<RelPath, ContentHash> local_hash;
  std::map<RelPath, ContentHash> remote_hash;

  // With `batching` (a whole pass), base rows, the intents they settle and
  // new conflicts are committed kBatch at a time: one transaction, one syncfs
  // of the cache and one of the store per batch instead of several fsyncs per
  // file. Every file is still synced before it is renamed into place (cache
  // and remote alike); what waits for the batch's syncfs is the directory
  // entries of the cache and the store's objects. Until the batch commits,
  // what it wrote into the cache is listed in s.own_writes so the recorder
  // does not take it for the user's edits. Crash safety holds because nothing
  // durable refers to unsynced data: rows are committed after the syncfs; a
  // push's intent was committed before the remote write (a crash leaves the
  // intent, and the next pass adopts the remote's bytes as ours).
  static constexpr size_t kBatch = 256;
  struct PendingRow {
    bool drop = false;  // drop the base under entry.path instead of putting entry
    BaseEntry entry;
    std::optional<int64_t> intent;
  };
  bool batching = false;
  std::vector<PendingRow> pending;
  std::vector<journal::ConflictRecord> pending_conflicts;  // recorded with the batch
  std::atomic<bool> cache_unsynced = false;  // set by hoard walk workers too
  std::atomic<bool> store_unsynced = false;

  template <class F>
  auto journal(F&& f) {
    std::lock_guard lock(s.journal_mu);
    return f(s.journal);
  }

  const remote::Stat* find(const StatMap& m, const RelPath& p) const {
    auto it = m.find(p);
    return it == m.end() ? nullptr : &it->second;
  }
  const BaseEntry* baseAt(const RelPath& p) const {
    auto it = base.find(p);
    return it == base.end() ? nullptr : &it->second;
  }
  bool isHeld(const RelPath& p) const {
    return std::any_of(held.begin(), held.end(), [&](const RelPath& h) { return isUnder(p, h); });
  }

  // Records a failure of one path, or stops the pass for remote trouble.
  // Returns false if the pass must stop.
  bool noteFailure(const RelPath& p, const Error& e) {
    if (stopsPass(e)) {
      report.stopped = e;
      return false;
    }
    // A failing path may be the first sign of the share going away under the
    // pass (an unmounted share leaves its bare mountpoint, where every path
    // is missing and new files would land): check it is still the share
    // before going on, or the pass would write there and record it as synced.
    if (s.check_remote) {
      if (Status ok = s.check_remote(); !ok) {
        report.stopped = ok.error();
        return false;
      }
    }
    report.failed.emplace_back(p, e);
    return true;
  }

  // ---- looking --------------------------------------------------------------

  // Hash of the cache file at `p`, opened without following a final symlink
  // and checked to be the inode the walk saw (so a swapped-in symlink in a
  // directory component cannot make us read outside the root).
  Result<ContentHash> hashLocal(const RelPath& p) {
    if (auto it = local_hash.find(p); it != local_hash.end()) return it->second;
    const remote::Stat* st = find(local, p);
    std::string abs = s.cache_root + "/" + p;
    UniqueFd fd(::open(abs.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY));
    if (!fd) return failErrno(errno, "open " + displayPath(p) + " in the cache");
    struct stat now;
    if (::fstat(fd.get(), &now) < 0) return failErrno(errno, "stat " + displayPath(p));
    if (st == nullptr || now.st_ino != st->meta.inode)
      return fail(ErrorCode::kConflict, displayPath(p) + " changed in the cache while syncing");
    auto h = hashFd(fd.get(), p);
    if (h) local_hash[p] = *h;
    return h;
  }

  // Hash of the remote file at `p` (fetched into a temporary file).
  Result<ContentHash> hashRemote(const RelPath& p) {
    if (auto it = remote_hash.find(p); it != remote_hash.end()) return it->second;
    auto tmp = anonTemp(s.cache_root);
    if (!tmp) return tl::unexpected(tmp.error());
    auto st = s.remote.fetchFile(p, tmp->get(), nullptr);
    if (!st) return tl::unexpected(st.error());
    auto h = hashFd(tmp->get(), p);
    if (h) remote_hash[p] = *h;
    return h;
  }

  // Fills one side's Version and whether it changed since the base.
  Status look(const RelPath& p, const BaseEntry* b, const StatMap& side, bool is_local,
              Version& v, SideChange& change) {
    const remote::Stat* st = find(side, p);
    if (st == nullptr) {
      v = Version{};
      change.content = b != nullptr;
      return {};
    }
    v.type = st->meta.type;
    v.mode = st->meta.mode;
    v.symlink_target = st->symlink_target;
    if (b == nullptr || b->local.type != v.type) {
      change.content = true;
      change.mode = false;
      return {};
    }
    change.mode = v.type != FileType::kSymlink && v.mode != b->local.mode;
    switch (v.type) {
      case FileType::kDir:
        change.content = false;
        return {};
      case FileType::kSymlink:
        change.content = v.symlink_target != b->symlink_target;
        return {};
      default:
        break;
    }
    bool moved = is_local ? !(st->meta.size == b->local.size &&
                              st->meta.mtime_ns == b->local.mtime_ns &&
                              st->meta.ctime_ns == b->local.ctime_ns &&
                              st->meta.inode == b->local.inode)
                          : st->data_version != b->data_version;
    if (!moved) {
      v.hash = b->hash;
      change.content = false;
      return {};
    }
    // Metadata moved: the content hash decides (a touch, a chmod or a copy
    // back of the same bytes is not a content change).
    if (is_local) {
      auto h = hashLocal(p);
      if (!h) return tl::unexpected(h.error());
      v.hash = *h;
      change.content = !b->hash || *b->hash != *h;
    } else {
      change.content = true;  // hashed below only when it matters
    }
    return {};
  }

  // ---- doing ----------------------------------------------------------------

  Status putBase(const BaseEntry& e, std::optional<int64_t> intent) {
    base[e.path] = e;
    pending.push_back({false, e, intent});
    return flushIfFull();
  }
  Status flushIfFull() {
    size_t queued = pending.size() + pending_conflicts.size();
    return queued >= (batching ? kBatch : 1) ? flush() : Status{};
  }

  Status dropBase(const RelPath& p, std::optional<int64_t> intent) {
    for (auto it = base.lower_bound(p); it != base.end() && isUnder(it->first, p);)
      it = base.erase(it);
    BaseEntry e;
    e.path = p;
    pending.push_back({true, std::move(e), intent});
    return flushIfFull();
  }

  // Notes that this pass is about to write `p` in the cache (the recorder
  // takes its events for hoard's own from now on), then what it wrote.
  void writingLocally(const RelPath& p) {
    if (!batching || !s.own_writes) return;  // synced and committed right away
    std::lock_guard lock(s.journal_mu);
    s.own_writes->pending[p] = std::nullopt;
  }
  void wroteLocally(const RelPath& p, const FileMeta& meta) {
    if (!batching) return;
    cache_unsynced = true;
    if (!s.own_writes) return;
    std::lock_guard lock(s.journal_mu);
    s.own_writes->pending[p] = meta;
  }

  // What the user did to the paths this batch wrote, while the recorder took
  // their events for hoard's own: each one whose cache entry is no longer
  // what the pass wrote. Called with journal_mu held.
  std::vector<Change> editsOfOwnWrites() const {
    std::vector<Change> edits;
    if (!s.own_writes) return edits;
    for (const PendingRow& row : pending) {
      if (row.drop) continue;
      auto it = s.own_writes->pending.find(row.entry.path);
      if (it == s.own_writes->pending.end() || !it->second) continue;
      const FileMeta& wrote = *it->second;
      struct stat now;
      Change c;
      c.path = row.entry.path;
      if (::lstat((s.cache_root + "/" + c.path).c_str(), &now) != 0) {
        c.op = wrote.type == FileType::kDir ? ChangeOp::kRmdir : ChangeOp::kUnlink;
      } else if (FileMeta::fromStat(now) == wrote) {
        continue;
      } else if (S_ISDIR(now.st_mode) && wrote.type == FileType::kDir) {
        continue;  // a directory's times move as the pass fills it
      } else {
        c.op = S_ISDIR(now.st_mode) ? ChangeOp::kMkdir : ChangeOp::kWrite;
        c.mode = now.st_mode & 07777;
      }
      edits.push_back(std::move(c));
    }
    return edits;
  }

  // At the end of a pass: nothing it wrote is pending any more (a write that
  // failed before its row leaves a cache entry the next pass compares).
  void forgetOwnWrites() {
    if (!s.own_writes) return;
    std::lock_guard lock(s.journal_mu);
    s.own_writes->pending.clear();
  }

  // Makes what the pending rows speak of durable, then commits them in order.
  Status flush() {
    if (pending.empty() && pending_conflicts.empty()) return {};
    if (cache_unsynced) {
      UniqueFd root(::open(s.cache_root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
      if (!root || ::syncfs(root.get()) != 0)
        return failErrno(errno, "sync the cache " + displayPath(s.cache_root));
      cache_unsynced = false;
    }
    if (store_unsynced) {
      if (Status st = s.store.syncAll(); !st) return st;
      store_unsynced = false;
    }
    std::lock_guard lock(s.journal_mu);
    const std::vector<Change> edits = editsOfOwnWrites();
    std::vector<int64_t> conflict_ids;
    Status done = s.journal.inTransaction([&]() -> Status {
      for (const journal::ConflictRecord& c : pending_conflicts) {
        auto id = s.journal.addConflict(c);
        if (!id) return tl::unexpected(id.error());
        conflict_ids.push_back(*id);
      }
      if (!edits.empty()) {
        if (auto r = s.journal.recordChanges(s.share_id, edits); !r)
          return tl::unexpected(r.error());
      }
      for (const PendingRow& row : pending) {
        if (row.drop) {
          if (auto r = s.journal.removeBaseUnder(s.share_id, row.entry.path); !r)
            return tl::unexpected(r.error());
        } else if (auto st = s.journal.putBase(s.share_id, row.entry); !st) {
          return st;
        }
        if (row.intent) {
          if (auto st = s.journal.removeIntent(*row.intent); !st) return st;
        }
      }
      return {};
    });
    if (s.own_writes) {
      for (const PendingRow& row : pending) s.own_writes->pending.erase(row.entry.path);
    }
    pending.clear();
    pending_conflicts.clear();
    if (done) report.new_conflicts.insert(report.new_conflicts.end(), conflict_ids.begin(),
                                          conflict_ids.end());
    return done;
  }

  Result<int64_t> intend(std::string op, const RelPath& p, std::optional<ContentHash> hash = {},
                         const RelPath& to = {}) {
    journal::Intent i;
    i.share_id = s.share_id;
    i.op = std::move(op);
    i.path = p;
    i.to_path = to;
    i.new_hash = hash;
    return journal([&](journal::Journal& j) { return j.addIntent(i); });
  }
  void forgetIntent(int64_t id) {
    journal([&](journal::Journal& j) { return j.removeIntent(id); });
  }

  // A replace whose bytes reached the remote (before a crash, or late, from a
  // call that timed out) is done: record the remote's version as the base's,
  // with the hash we meant, so a later local edit is pushed rather than seen
  // as a conflict with our own write. The local metadata stays the old
  // base's: the next pass hashes the cache file. True if it was adopted (and
  // the intent removed); false if the remote does not hold those bytes.
  Result<bool> adoptReplace(const journal::Intent& i) {
    if (i.op != "replace" || !i.new_hash) return false;
    auto st = s.remote.lstat(i.path);
    if (!st) {
      if (stopsPass(st.error())) return tl::unexpected(st.error());  // cannot tell yet
      return false;
    }
    if (st->meta.type != FileType::kFile) return false;
    auto h = hashRemote(i.path);
    if (!h || *h != *i.new_hash) return false;
    std::lock_guard lock(s.journal_mu);
    auto old = s.journal.getBase(s.share_id, i.path);
    if (!old) return tl::unexpected(old.error());
    BaseEntry e = old->value_or(BaseEntry{});
    e.path = i.path;
    if (!old->has_value()) e.local.type = FileType::kFile;
    e.data_version = st->data_version;
    e.hash = *h;
    if (e.object && *e.object != *h) e.object.reset();
    Status done = s.journal.inTransaction([&]() -> Status {
      if (auto r = s.journal.putBase(s.share_id, e); !r) return r;
      return s.journal.removeIntent(i.id);
    });
    if (!done) return tl::unexpected(done.error());
    return true;
  }

  // Keeps the content of `fd` in the base store if the policy says so.
  std::optional<ContentHash> keep(const RelPath& p, int fd, uint64_t size) {
    auto d = s.policy.decideFd(p, fd);
    if (!d || !d->keep || !s.store.wouldFit(size)) return std::nullopt;
    auto put = s.store.put(fd, p, batching ? store::BaseStore::Sync::kLater
                                           : store::BaseStore::Sync::kNow);
    if (!put) return std::nullopt;  // the base works without content; only merges need it
    if (batching) store_unsynced = true;
    return put->hash;
  }

  BaseEntry entryFrom(const RelPath& p, const remote::Stat& l, const remote::Stat& r,
                      std::optional<ContentHash> hash, std::optional<ContentHash> object) {
    BaseEntry e;
    e.path = p;
    e.local = l.meta;
    e.data_version = r.data_version;
    e.symlink_target = l.meta.type == FileType::kSymlink ? l.symlink_target : std::string();
    e.hash = l.meta.type == FileType::kSymlink ? std::optional(hashBytes(l.symlink_target))
                                                : hash;
    e.object = object;
    return e;
  }

  // Makes the remote equal to the cache at `p` (which exists locally).
  Status push(const RelPath& p, const BaseEntry* b, const remote::Stat& l) {
    const remote::Stat* r = find(remote, p);
    // The remote must still hold what this pass decided on (its content was
    // checked against the base, or it is absent).
    Expect expect = r == nullptr ? Expect::absent() : Expect::version(r->data_version);
    (void)b;
    remote::Stat newr;
    std::optional<ContentHash> hash, object;
    remote::Stat newl = l;
    if (l.meta.type == FileType::kFile) {
      auto tmp = anonTemp(s.cache_root);
      if (!tmp) return tl::unexpected(tmp.error());
      // A stable copy: the user may go on editing while it travels.
      auto copied = s.local.fetchFile(p, tmp->get(), nullptr);
      if (!copied) return tl::unexpected(copied.error());
      newl = *copied;
      auto h = hashFd(tmp->get(), p);
      if (!h) return tl::unexpected(h.error());
      hash = *h;
      object = keep(p, tmp->get(), newl.meta.size);
      auto intent = intend("replace", p, hash);
      if (!intent) return tl::unexpected(intent.error());
      remote::ReplaceOptions ro;
      ro.mode = newl.meta.mode;
      ro.mtime_ns = newl.meta.mtime_ns;
      auto replaced = s.remote.replaceFile(p, tmp->get(), expect, ro, nullptr);
      if (!replaced) {
        // A timeout or a dropped link leaves the outcome unknown: the call
        // may still land. Keep the intent so the next pass can recognise our
        // own bytes (adoptReplace) instead of taking them for a third party's.
        if (!stopsPass(replaced.error())) forgetIntent(*intent);
        return tl::unexpected(replaced.error());
      }
      remote::Stat final_remote = *replaced;
      auto carried = copyUserXattrs(s.local, s.remote, p);
      if (!carried) {
        forgetIntent(*intent);
        return tl::unexpected(carried.error());
      }
      if (*carried) {  // setting xattrs moved the remote's ctime: take its new version
        auto fresh = s.remote.lstat(p);
        if (fresh) final_remote = *fresh;
      }
      remote[p] = final_remote;
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
    ++report.pushed;
    return putBase(entryFrom(p, l, *rs, std::nullopt, std::nullopt), std::nullopt);
  }

  // A remote file installed in the cache, not yet recorded by the pass.
  struct Fetched {
    remote::Stat installed;  // the cache file
    remote::Stat fetched;    // the remote file it came from
    ContentHash hash;
    std::optional<ContentHash> object;
  };

  // A new remote file (the hoard walk) fetched into an unnamed temporary on
  // the cache's filesystem, hashed and kept; named by installNew. Any thread.
  struct StagedNew {
    UniqueFd tmp;
    remote::Stat fetched;
    ContentHash hash;
    std::optional<ContentHash> object;
  };
  Result<StagedNew> stageNew(const RelPath& p) {
    auto tmp = anonTemp(s.cache_root);
    if (!tmp) return tl::unexpected(tmp.error());
    auto fetched = s.remote.fetchFile(p, tmp->get(), nullptr);
    if (!fetched) return tl::unexpected(fetched.error());
    auto h = hashFd(tmp->get(), p);
    if (!h) return tl::unexpected(h.error());
    auto object = keep(p, tmp->get(), fetched->meta.size);
    return StagedNew{std::move(*tmp), *fetched, *h, object};
  }

  // The first half of pulling a regular file: fetch, hash, keep, install
  // (unsynced when batching), carry xattrs. It touches nothing of the pass
  // but the own-writes list and the unsynced flags, so the hoard walk runs it
  // on several threads at once.
  Result<Fetched> fetchInto(const RelPath& p, const Expect& expect) {
    auto n = stageNew(p);
    if (!n) return tl::unexpected(n.error());
    remote::ReplaceOptions ro;
    ro.mode = n->fetched.meta.mode;
    ro.mtime_ns = n->fetched.meta.mtime_ns;
    ro.sync_dir = !batching;  // flush() syncs the cache before the base row
    writingLocally(p);
    auto installed = s.local.replaceFile(p, n->tmp.get(), expect, ro, nullptr);
    if (!installed) return tl::unexpected(installed.error());
    if (Status done = carryXattrsInto(p, *installed); !done) return tl::unexpected(done.error());
    return Fetched{*installed, n->fetched, n->hash, n->object};
  }

  // After a remote file was installed in the cache at `p`: its user.* xattrs
  // follow (moving the cache file's ctime, so `installed` is refreshed) and
  // the recorder learns what the pass wrote.
  Status carryXattrsInto(const RelPath& p, remote::Stat& installed) {
    auto carried = copyUserXattrs(s.remote, s.local, p);
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
  Status installNew(const RelPath& p, StagedNew& n) {
    remote::ReplaceOptions ro;
    ro.mode = n.fetched.meta.mode;
    ro.mtime_ns = n.fetched.meta.mtime_ns;
    ro.sync_dir = !batching;  // flush() syncs the cache before the base row
    writingLocally(p);
    auto installed = s.local.linkNewFile(p, n.tmp.get(), ro);
    if (!installed) return tl::unexpected(installed.error());
    if (Status done = carryXattrsInto(p, *installed); !done) return tl::unexpected(done.error());
    return recordFetched(p, Fetched{*installed, n.fetched, n.hash, n.object});
  }

  // The second half, on the pass's thread.
  Status recordFetched(const RelPath& p, Fetched f) {
    local[p] = f.installed;
    remote[p] = f.fetched;
    ++report.pulled;
    return putBase(entryFrom(p, f.installed, f.fetched, f.hash, f.object), std::nullopt);
  }

  // A regular file push the plan deferred so that many go together: their
  // intents in one transaction, their transfers on several threads.
  struct FilePush {
    RelPath path;
    Expect expect;  // what the remote must still hold
  };
  struct StagedPush {
    Result<UniqueFd> tmp = fail(ErrorCode::kInternal, "not staged");
    remote::Stat local;
    ContentHash hash;
    std::optional<ContentHash> object;
    std::optional<int64_t> intent;
    Result<remote::Stat> sent = fail(ErrorCode::kInternal, "not sent");
    bool attempted = false;  // replaceFile was called (not skipped for a stop)
    bool replaced = false;   // the bytes reached the remote (xattrs may have failed)
  };

  // Sends `pushes` (regular files, present in the cache). Failures are noted per
  // path; returns false if the pass must stop.
  Result<bool> pushFiles(const std::vector<FilePush>& pushes) {
    std::atomic<bool> stop{false};
    const size_t width = std::max<size_t>(1, opts.transfer_threads);
    // A failing send may be the first sign of the share going away (an
    // unmount leaves a bare mountpoint where new files would land): as in
    // noteFailure, look before sending more.
    std::mutex check_mu;
    bool gone = false;  // GUARDED_BY(check_mu)
    auto shareGone = [&](const Error& e) {
      if (stopsPass(e)) return true;
      if (!s.check_remote) return false;
      std::lock_guard lock(check_mu);
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
        x.tmp = anonTemp(s.cache_root);
        if (!x.tmp) return;
        auto copied = s.local.fetchFile(p, x.tmp->get(), nullptr);
        if (!copied) {
          x.tmp = tl::unexpected(copied.error());
          return;
        }
        x.local = *copied;
        auto h = hashFd(x.tmp->get(), p);
        if (!h) {
          x.tmp = tl::unexpected(h.error());
          return;
        }
        x.hash = *h;
        x.object = keep(p, x.tmp->get(), x.local.meta.size);
      });
      // Every replace is intended before it is sent, in one commit.
      Status intended = journal([&](journal::Journal& j) {
        return j.inTransaction([&]() -> Status {
          for (size_t i = 0; i < n; ++i) {
            if (!st[i].tmp) continue;
            journal::Intent in;
            in.share_id = s.share_id;
            in.op = "replace";
            in.path = pushes[at + i].path;
            in.new_hash = st[i].hash;
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
      parallelFor(width, n, [&](size_t i) {
        StagedPush& x = st[i];
        if (!x.intent || stop) return;
        const RelPath& p = pushes[at + i].path;
        remote::ReplaceOptions ro;
        ro.mode = x.local.meta.mode;
        ro.mtime_ns = x.local.meta.mtime_ns;
        x.attempted = true;
        auto replaced =
            s.remote.replaceFile(p, x.tmp->get(), pushes[at + i].expect, ro, nullptr);
        if (!replaced) {
          if (shareGone(replaced.error())) stop = true;
          x.sent = tl::unexpected(replaced.error());
          return;
        }
        x.replaced = true;
        x.sent = *replaced;
        auto carried = copyUserXattrs(s.local, s.remote, p);
        if (!carried) {
          x.sent = tl::unexpected(carried.error());
        } else if (*carried) {  // setting xattrs moved the remote's ctime
          if (auto fresh = s.remote.lstat(p)) x.sent = *fresh;
        }
      });
      for (size_t i = 0; i < n; ++i) {
        const RelPath& p = pushes[at + i].path;
        StagedPush& x = st[i];
        if (!x.tmp) {
          if (!noteFailure(p, x.tmp.error())) stop = true;
          continue;
        }
        if (!x.attempted) {  // skipped: the pass is stopping; the next one sends it
          forgetIntent(*x.intent);
          continue;
        }
        if (!x.sent) {
          // A replace that timed out or lost the link may still land: its
          // intent stays so the next pass recognises our own bytes. One that
          // failed for good is forgotten.
          const Error& e = x.sent.error();
          if (x.replaced || !stopsPass(e)) forgetIntent(*x.intent);
          if (!noteFailure(p, e)) stop = true;
          continue;
        }
        remote[p] = *x.sent;
        ++report.pushed;
        if (Status saved = putBase(entryFrom(p, x.local, *x.sent, x.hash, x.object), x.intent);
            !saved)
          return tl::unexpected(saved.error());
      }
    }
    return !stop;
  }

  // Makes the cache equal to the remote at `p` (which exists remotely).
  Status pull(const RelPath& p, const remote::Stat& r) {
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
  Status remove(remote::RemoteFs& fs, StatMap& side, const RelPath& p, const Expect& expect,
                bool on_remote) {
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
    ++(on_remote ? report.deleted_remote : report.deleted_local);
    return dropBase(p, intent);
  }

  Status copyMode(remote::RemoteFs& fs, const RelPath& p, uint32_t mode) {
    auto st = fs.chmod(p, mode);
    if (!st) return st;
    ++report.modes;
    return {};
  }

  // After both sides hold the same thing at `p`: record it as the base.
  Status agree(const RelPath& p) {
    auto l = s.local.lstat(p);
    auto r = s.remote.lstat(p);
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

  Status recordConflict(const RelPath& p, ConflictKind kind, const Version& lv,
                        const Version& rv) {
    journal::ConflictRecord c;
    c.share_id = s.share_id;
    c.path = p;
    c.kind = kind;
    const BaseEntry* b = baseAt(p);
    if (b != nullptr) c.base_object = b->object;
    // Keep both versions' bytes so a resolver can open them later (synced
    // with the batch, before the conflict row that names them).
    const auto sync = batching ? store::BaseStore::Sync::kLater : store::BaseStore::Sync::kNow;
    if (lv.type == FileType::kFile) {
      auto tmp = anonTemp(s.cache_root);
      if (tmp && s.local.fetchFile(p, tmp->get(), nullptr)) {
        if (auto put = s.store.put(tmp->get(), p, sync)) c.local_object = put->hash;
      }
    }
    if (rv.type == FileType::kFile) {
      auto tmp = anonTemp(s.cache_root);
      if (tmp && s.remote.fetchFile(p, tmp->get(), nullptr)) {
        if (auto put = s.store.put(tmp->get(), p, sync)) c.remote_object = put->hash;
      }
    }
    if (batching) store_unsynced = true;
    nlohmann::json detail = {
        {"local", describeSide(find(local, p), lv.hash)},
        {"remote", describeSide(find(remote, p), rv.hash)},
        {"base", b == nullptr ? nlohmann::json{{"type", "none"}}
                              : nlohmann::json{{"type", std::string(fileTypeName(b->local.type))},
                                               {"size", b->local.size},
                                               {"mode", b->local.mode},
                                               {"mtime_ns", b->local.mtime_ns}}}};
    c.detail = detail.dump();
    held.push_back(p);
    pending_conflicts.push_back(std::move(c));
    return flushIfFull();
  }
};

Reconciler::Reconciler(ShareSides sides) : s_(std::move(sides)) {}

Status Reconciler::recover() {
  std::vector<journal::Intent> intents;
  {
    std::lock_guard lock(s_.journal_mu);
    auto list = s_.journal.intents(s_.share_id);
    if (!list) return tl::unexpected(list.error());
    intents = std::move(*list);
  }
  ReconcileOptions opts;
  Pass pass(s_, opts);
  for (const journal::Intent& i : intents) {
    auto adopted = pass.adoptReplace(i);
    if (!adopted) return tl::unexpected(adopted.error());  // cannot tell yet: keep the intent
    if (*adopted) continue;
    // A rename that reached the remote before the base followed it: re-key
    // the base as the pass would have, or the next pass would see the new
    // name as created on both sides, and a renamed-then-edited file as a
    // create-create conflict with our own rename.
    if (i.op == "rename" && !i.to_path.empty()) {
      auto from = s_.remote.lstat(i.path);
      auto to = s_.remote.lstat(i.to_path);
      if (!from && stopsPass(from.error())) return tl::unexpected(from.error());
      if (!to && stopsPass(to.error())) return tl::unexpected(to.error());
      if (!from && from.error().code() == ErrorCode::kNotFound && to) {
        std::vector<BaseEntry> moved;
        {
          std::lock_guard lock(s_.journal_mu);
          auto under = s_.journal.listBaseUnder(s_.share_id, i.path);
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
        std::lock_guard lock(s_.journal_mu);
        Status done = s_.journal.inTransaction([&]() -> Status {
          if (auto r = s_.journal.removeBaseUnder(s_.share_id, i.path); !r)
            return tl::unexpected(r.error());
          if (auto r = s_.journal.putBase(s_.share_id, moved); !r) return r;
          return s_.journal.removeIntent(i.id);
        });
        if (!done) return done;
        continue;
      }
    }
    // Anything else is redone (or found already equal) by the next pass,
    // which compares contents: drop the intent.
    std::lock_guard lock(s_.journal_mu);
    if (auto r = s_.journal.removeIntent(i.id); !r) return r;
  }
  auto removed = s_.remote.removeStaleTemps("");
  if (!removed && stopsPass(removed.error())) return tl::unexpected(removed.error());
  // A pull cut short leaves its temporary beside the file in the user's own
  // folder (the cache walk hides it, the user does not see it hidden).
  auto removed_local = s_.local.removeStaleTemps("");
  if (!removed_local) return tl::unexpected(removed_local.error());
  return {};
}

Result<ReconcileReport> Reconciler::run(const ReconcileOptions& opts) {
  Pass pass(s_, opts);
  pass.batching = true;
  auto report = runPass(pass);
  // A pass that stopped early still commits what it did.
  Status flushed = pass.flush();
  pass.forgetOwnWrites();
  if (!flushed) return tl::unexpected(flushed.error());
  return report;
}

Result<ReconcileReport> Reconciler::runPass(Pass& pass) {
  const ReconcileOptions& opts = pass.opts;
  ReconcileReport& report = pass.report;

  if (s_.check_remote) {
    if (Status ok = s_.check_remote(); !ok) {
      report.stopped = ok.error();
      return report;
    }
    // The filesystem at the remote root is the share's: any later call that
    // finds another one there (unmounted mid-pass) fails as offline instead
    // of writing into the bare mountpoint.
    if (Status pinned = s_.remote.pinRoot(); !pinned) {
      report.stopped = pinned.error();
      return report;
    }
  }

  // Replaces an earlier pass gave up on (timeout, link dropped) that have
  // landed since: our own bytes, not a third party's. The others wait for a
  // later pass, or for recover() at the next start.
  {
    std::vector<journal::Intent> intents;
    {
      std::lock_guard lock(s_.journal_mu);
      auto list = s_.journal.intents(s_.share_id);
      if (!list) return tl::unexpected(list.error());
      intents = std::move(*list);
    }
    Pass settle(s_, opts);
    for (const journal::Intent& i : intents) {
      auto adopted = settle.adoptReplace(i);
      if (!adopted) {
        if (!stopsPass(adopted.error())) return tl::unexpected(adopted.error());
        report.stopped = adopted.error();
        return report;
      }
    }
  }

  // Both sides are listed on their own threads while the journal is read: a
  // reconnect costs the slowest of the three, not their sum. (The futures'
  // destructors wait for them on every early return.)
  auto remote_listing = std::async(std::launch::async, [this] { return s_.remote.walk(""); });
  auto local_listing = std::async(std::launch::async, [this] { return s_.local.walk(""); });

  // What the log says (renames), frozen so nothing we replay is rewritten.
  int64_t frozen = 0;
  std::vector<LoggedChange> log;
  std::vector<journal::ConflictRecord> open;
  std::vector<journal::Pin> pins;
  {
    std::lock_guard lock(s_.journal_mu);
    auto f = s_.journal.freezeChanges(s_.share_id);
    if (!f) return tl::unexpected(f.error());
    frozen = *f;
    auto l = s_.journal.changes(s_.share_id, 0);
    if (!l) return tl::unexpected(l.error());
    for (auto& c : *l)
      if (c.seq <= frozen) log.push_back(std::move(c));
    auto b = s_.journal.listBase(s_.share_id);
    if (!b) return tl::unexpected(b.error());
    for (auto& e : *b) pass.base.emplace(e.path, std::move(e));
    auto c = s_.journal.conflicts(s_.share_id, true);
    if (!c) return tl::unexpected(c.error());
    open = std::move(*c);
    auto pn = s_.journal.pins(s_.share_id);
    if (!pn) return tl::unexpected(pn.error());
    pins = std::move(*pn);
  }
  for (const auto& c : open) {
    pass.held.push_back(c.path);
    if (auto rr = renameRenameOf(c)) {
      pass.held.push_back(rr->from);
      pass.held.push_back(rr->remote_to);
    }
  }

  auto lw = local_listing.get();
  if (!lw) return tl::unexpected(lw.error().withContext("cache root " + s_.cache_root));
  for (auto& e : *lw) pass.local.emplace(std::move(e.path), std::move(e.stat));
  auto rw = remote_listing.get();
  if (!rw) {
    if (!stopsPass(rw.error())) return tl::unexpected(rw.error());
    report.stopped = rw.error();
    return report;
  }
  for (auto& e : *rw) pass.remote.emplace(std::move(e.path), std::move(e.stat));

  // Renames first, as renames: the remote keeps its inode (and any edit a
  // third party made meanwhile: "a rename on one side and a modify on the
  // other is not a conflict, both apply").
  for (const LoggedChange& lc : log) {
    if (lc.change.op != ChangeOp::kRename) continue;
    const RelPath& from = lc.change.path;
    const RelPath& to = lc.change.to;
    if (pass.isHeld(from) || pass.isHeld(to)) continue;
    const remote::Stat* rf = pass.find(pass.remote, from);
    const BaseEntry* bf = pass.baseAt(from);
    if (bf != nullptr && rf == nullptr && bf->local.type == FileType::kFile && bf->hash &&
        pass.find(pass.local, from) == nullptr && pass.find(pass.local, to) != nullptr) {
      // The remote's copy is gone too: if a third party renamed it, the
      // same bytes sit at a new remote path that nothing here knows.
      std::optional<RelPath> theirs;
      for (const auto& [q, st] : pass.remote) {
        if (st.meta.type != FileType::kFile || st.meta.size != bf->local.size ||
            pass.baseAt(q) != nullptr || pass.find(pass.local, q) != nullptr || pass.isHeld(q))
          continue;
        auto h = pass.hashRemote(q);
        if (h && *h == *bf->hash) {
          theirs = q;
          break;
        }
      }
      if (theirs && *theirs != to) {
        journal::ConflictRecord rr;
        rr.share_id = s_.share_id;
        rr.path = to;
        rr.kind = journal::ConflictKind::kRenameRename;
        rr.base_object = bf->object;
        rr.detail = nlohmann::json{{"from", displayPath(from)},
                                   {"local_to", displayPath(to)},
                                   {"remote_to", displayPath(*theirs)},
                                   {"from_hex", toHex(from)},
                                   {"remote_to_hex", toHex(*theirs)}}
                        .dump();
        auto id = pass.journal([&](journal::Journal& j) { return j.addConflict(rr); });
        if (!id) return tl::unexpected(id.error());
        report.new_conflicts.push_back(*id);
        pass.held.push_back(to);
        pass.held.push_back(from);
        pass.held.push_back(*theirs);
      }
      continue;  // renamed alike on both sides: the per-path pass agrees
    }
    if (bf == nullptr || rf == nullptr || rf->meta.type != bf->local.type) continue;
    if (pass.find(pass.remote, to) != nullptr || pass.find(pass.local, from) != nullptr ||
        pass.find(pass.local, to) == nullptr)
      continue;  // not a clean rename any more: the per-path pass decides
    if (Status flushed = pass.flush(); !flushed) return tl::unexpected(flushed.error());
    auto intent = pass.intend("rename", from, std::nullopt, to);
    if (!intent) return tl::unexpected(intent.error());
    Status moved = s_.remote.rename(from, to, Expect::version(rf->data_version), Expect::absent());
    if (!moved) {
      pass.forgetIntent(*intent);
      if (!pass.noteFailure(from, moved.error())) return report;
      continue;
    }
    // Re-key the base and the remote listing of the whole subtree (bf and rf
    // point into the maps being re-keyed: keep what is needed of them first).
    const std::string from_base_version = bf->data_version;
    std::vector<BaseEntry> rekeyed;
    for (auto it = pass.base.lower_bound(from); it != pass.base.end() && isUnder(it->first, from);) {
      BaseEntry e = std::move(it->second);
      e.path = rebase(e.path, from, to);
      rekeyed.push_back(std::move(e));
      it = pass.base.erase(it);
    }
    StatMap moved_remote;
    for (auto it = pass.remote.lower_bound(from);
         it != pass.remote.end() && isUnder(it->first, from);) {
      moved_remote.emplace(rebase(it->first, from, to), std::move(it->second));
      it = pass.remote.erase(it);
    }
    // A rename moves ctime on: take the renamed entry's new remote version
    // when its content did not change, so it is not pulled back for nothing.
    if (auto st = s_.remote.lstat(to)) {
      for (auto& e : rekeyed)
        if (e.path == to && moved_remote.count(to) &&
            moved_remote[to].data_version == from_base_version)
          e.data_version = st->data_version;
      moved_remote[to] = *st;
    }
    for (auto& [p, st] : moved_remote) pass.remote[p] = std::move(st);
    Status saved = pass.journal([&](journal::Journal& j) {
      return j.inTransaction([&]() -> Status {
        if (auto r = j.removeBaseUnder(s_.share_id, from); !r) return tl::unexpected(r.error());
        if (auto r = j.putBase(s_.share_id, rekeyed); !r) return r;
        return j.removeIntent(*intent);
      });
    });
    if (!saved) return tl::unexpected(saved.error());
    for (auto& e : rekeyed) pass.base[e.path] = std::move(e);
    ++report.renamed_remote;
  }

  // Every path either side or the base knows, parents before children.
  std::set<RelPath> paths;
  for (const auto& [p, e] : pass.base) paths.insert(p);
  for (const auto& [p, e] : pass.local) paths.insert(p);
  for (const auto& [p, e] : pass.remote) paths.insert(p);

  struct Planned {
    RelPath path;
    PathState state;
    Decision decision;
  };
  std::vector<Planned> plan;
  std::set<RelPath> local_changed, remote_changed;
  std::set<RelPath> held_reported;
  // Pin priority of a path not yet hoarded, or nullopt if no pin asks for it
  // (a pin's ancestors are in scope as the directories leading to it).
  auto hoardPriority = [&](const RelPath& p) -> std::optional<int> {
    if (pins.empty()) return 0;
    std::optional<int> best;
    for (const journal::Pin& pin : pins) {
      if (isUnder(p, pin.path)) best = std::max(best.value_or(pin.priority), pin.priority);
      else if (isUnder(pin.path, p)) best = std::max(best.value_or(0), 0);
    }
    return best;
  };
  struct Hoard {
    RelPath path;
    int priority;
  };
  std::vector<Hoard> hoards;
  for (const RelPath& p : paths) {
    if (pass.isHeld(p)) {
      ++report.waiting;
      continue;
    }
    const BaseEntry* b = pass.baseAt(p);
    if (b == nullptr && pass.find(pass.local, p) == nullptr) {
      // Only on the remote: hoard it if a pin asks for it; regular files are
      // fetched after everything else, in priority order, within the budget.
      remote_changed.insert(p);  // new on the remote, hoarded or not (dir-delete needs it)
      std::optional<int> prio = hoardPriority(p);
      if (!prio) continue;
      const remote::Stat* r = pass.find(pass.remote, p);
      if (r != nullptr && r->meta.type == FileType::kFile) {
        hoards.push_back({p, *prio});
        continue;
      }
    }
    PathState st;
    if (b != nullptr) {
      st.base = Version{b->local.type, b->hash, b->symlink_target, b->local.mode};
    }
    Status lk = pass.look(p, b, pass.local, true, st.local, st.local_change);
    if (lk) lk = pass.look(p, b, pass.remote, false, st.remote, st.remote_change);
    if (!lk) {
      if (!pass.noteFailure(p, lk.error())) return report;
      continue;
    }
    // A remote whose timestamps are whole seconds (sshfs: no ctime, mtime in
    // seconds) can change without its data version moving: a same-size edit
    // within the same second. Before pushing over such a file, its bytes must
    // still be the base's, or a colleague's edit would be overwritten.
    if (st.local_change.content && !st.remote_change.content && b != nullptr && b->hash &&
        st.remote.type == FileType::kFile && st.local.type == FileType::kFile) {
      const remote::Stat* r = pass.find(pass.remote, p);
      if (r != nullptr && r->meta.mtime_ns % 1000000000 == 0) {
        auto h = pass.hashRemote(p);
        if (!h) {
          if (!pass.noteFailure(p, h.error())) return report;
          continue;
        }
        if (*h != *b->hash) {
          st.remote_change.content = true;
          st.remote.hash = *h;
        }
      }
    }
    // Both sides moved: only contents can tell an agreement from a conflict.
    if (st.local_change.any() && st.remote_change.content && st.remote.type == FileType::kFile) {
      auto h = pass.hashRemote(p);
      if (!h) {
        if (!pass.noteFailure(p, h.error())) return report;
        continue;
      }
      st.remote.hash = *h;
      if (b != nullptr && b->local.type == FileType::kFile && b->hash == *h)
        st.remote_change.content = false;  // only its metadata moved
      // A file new on both sides (no base, or a type change) was not hashed
      // by look(): the same bytes on both sides are an agreement, not a
      // create-create conflict (e.g. a pass killed after a rename reached the
      // remote but before the base followed it).
      if (st.remote_change.content && st.local.type == FileType::kFile && !st.local.hash) {
        auto lh = pass.hashLocal(p);
        if (!lh) {
          if (!pass.noteFailure(p, lh.error())) return report;
          continue;
        }
        st.local.hash = *lh;
      }
    }
    // What a side holds beneath a directory the other deleted (dir-delete):
    // its deletions agree with the other side's and do not count.
    if (st.local_change.any() && st.local.exists()) local_changed.insert(p);
    if (st.remote_change.any() && st.remote.exists()) remote_changed.insert(p);
    // Unchanged on both sides: nothing to decide (most of a share, most of
    // the time; not keeping them keeps a pass's memory to what changed).
    if (!st.local_change.any() && !st.remote_change.any()) continue;
    plan.push_back({p, st, {}});
  }
  auto changedBeneath = [](const std::set<RelPath>& changed, const RelPath& dir) {
    for (auto it = changed.upper_bound(dir); it != changed.end() && isUnder(*it, dir); ++it)
      return true;
    return false;
  };
  size_t local_files = 0, remote_files = 0, push_deletes = 0, pull_deletes = 0;
  for (const auto& [p, st] : pass.local) local_files += st.meta.type != FileType::kDir;
  for (const auto& [p, st] : pass.remote) remote_files += st.meta.type != FileType::kDir;
  for (Planned& pl : plan) {
    pl.state.local_subtree_changed = changedBeneath(local_changed, pl.path);
    pl.state.remote_subtree_changed = changedBeneath(remote_changed, pl.path);
    pl.decision = decide(pl.state);
    bool is_file = pl.state.base && pl.state.base->type != FileType::kDir;
    // Files one side lost that the other still has, whether that becomes a
    // deletion or a modify-delete conflict: a share emptied by an unmount
    // looks like the remote deleting everything, however much the user edited.
    if (is_file && !pl.state.local.exists() && pl.state.remote.exists()) ++push_deletes;
    if (is_file && !pl.state.remote.exists() && pl.state.local.exists()) ++pull_deletes;
  }

  // An absent remote is not an empty remote, and a slip of `rm -r` is not a
  // decision: a pass that would delete most of a side stops and asks.
  auto tooMany = [&](size_t deletes, size_t total) {
    return deletes > opts.mass_delete_floor &&
           static_cast<double>(deletes) > opts.max_delete_fraction * static_cast<double>(total);
  };
  // What a confirmation would be asked for: the count and the first paths.
  auto massDelete = [&](bool on_remote, size_t count, size_t total) {
    MassDelete md;
    md.on_remote = on_remote;
    md.count = count;
    md.total = total;
    for (const Planned& pl : plan) {
      if (md.first.size() >= 20) break;
      bool is_file = pl.state.base && pl.state.base->type != FileType::kDir;
      if (!is_file) continue;
      bool lost = on_remote ? !pl.state.local.exists() && pl.state.remote.exists()
                            : !pl.state.remote.exists() && pl.state.local.exists();
      if (lost) md.first.push_back(pl.path);
    }
    report.mass_delete = std::move(md);
  };
  if (!opts.confirm_mass_delete) {
    if (tooMany(push_deletes, remote_files)) {
      massDelete(true, push_deletes, remote_files);
      report.stopped = Error(ErrorCode::kAborted,
                             "this sync would delete " + std::to_string(push_deletes) + " of " +
                                 std::to_string(remote_files) +
                                 " files on the remote; nothing was changed. If that is what you "
                                 "meant, confirm the deletion and sync again");
      return report;
    }
    if (tooMany(pull_deletes, local_files)) {
      massDelete(false, pull_deletes, local_files);
      report.stopped = Error(ErrorCode::kAborted,
                             "this sync would delete " + std::to_string(pull_deletes) + " of " +
                                 std::to_string(local_files) +
                                 " files in the cache because they are gone from the remote; "
                                 "nothing was changed. If that is what you meant, confirm the "
                                 "deletion and sync again");
      return report;
    }
  }

  // Apply, parents first; directory removals afterwards, deepest first.
  struct DirRemoval {
    RelPath path;
    bool on_remote;
  };
  std::vector<DirRemoval> dir_removals;
  std::vector<Pass::FilePush> file_pushes;
  for (const Planned& pl : plan) {
    const RelPath& p = pl.path;
    if (pass.isHeld(p)) continue;  // beneath a conflict found earlier in this pass
    const PathState& st = pl.state;
    const Decision& d = pl.decision;
    const BaseEntry* b = pass.baseAt(p);
    const remote::Stat* l = pass.find(pass.local, p);
    const remote::Stat* r = pass.find(pass.remote, p);
    Status done;
    switch (d.action) {
      case Action::kNothing:
        break;
      case Action::kPush:
        if (l != nullptr && l->meta.type == FileType::kFile && !d.merged_mode &&
            (r == nullptr || r->meta.type == FileType::kFile)) {
          // Sent with the others after this loop (directories are made by
          // then: the plan runs parents first).
          file_pushes.push_back(
              {p, r == nullptr ? Expect::absent() : Expect::version(r->data_version)});
          break;
        }
        if (l != nullptr) {
          if (r != nullptr && r->meta.type != l->meta.type) {
            // A type change replaces the remote entry.
            if (r->meta.type == FileType::kDir) {
              done = fail(ErrorCode::kBusy, "replacing the remote directory " + displayPath(p) +
                                                " by a " +
                                                std::string(fileTypeName(l->meta.type)) +
                                                " is not done automatically");
              break;
            }
            done = s_.remote.unlink(p, Expect::version(r->data_version));
            if (done) pass.remote.erase(p);
            if (!done) break;
          }
          done = pass.push(p, b, *l);
          if (done && d.merged_mode) done = pass.copyMode(s_.local, p, *d.merged_mode);
          if (done && d.merged_mode) done = pass.copyMode(s_.remote, p, *d.merged_mode);
        } else if (r != nullptr && r->meta.type == FileType::kDir) {
          dir_removals.push_back({p, true});
        } else {
          done = pass.remove(s_.remote, pass.remote, p,
                             b ? Expect::version(b->data_version) : Expect::anything(), true);
        }
        break;
      case Action::kPull:
        if (r != nullptr) {
          if (l != nullptr && l->meta.type != r->meta.type) {
            if (l->meta.type == FileType::kDir) {
              done = fail(ErrorCode::kBusy, "replacing the cache directory " + displayPath(p) +
                                                " by a " +
                                                std::string(fileTypeName(r->meta.type)) +
                                                " is not done automatically");
              break;
            }
            done = s_.local.unlink(p, Expect::version(l->data_version));
            if (done) pass.local.erase(p);
            if (!done) break;
          }
          done = pass.pull(p, *r);
          if (done && d.merged_mode) done = pass.copyMode(s_.remote, p, *d.merged_mode);
          if (done && d.merged_mode) done = pass.copyMode(s_.local, p, *d.merged_mode);
        } else if (l != nullptr && l->meta.type == FileType::kDir) {
          dir_removals.push_back({p, false});
        } else if (l != nullptr) {
          done = pass.remove(s_.local, pass.local, p, Expect::version(l->data_version), false);
        } else {
          done = pass.dropBase(p, std::nullopt);
        }
        break;
      case Action::kPushMode:
        done = pass.copyMode(s_.remote, p, st.local.mode);
        if (done) done = pass.agree(p);
        break;
      case Action::kPullMode:
        done = pass.copyMode(s_.local, p, st.remote.mode);
        if (done) done = pass.agree(p);
        break;
      case Action::kAgree:
        done = pass.agree(p);
        if (done) ++report.agreed;
        break;
      case Action::kConflict:
        done = pass.recordConflict(p, *d.conflict, st.local, st.remote);
        break;
    }
    if (!done) {
      if (!pass.noteFailure(p, done.error())) return report;
    }
  }
  {
    auto pushed = pass.pushFiles(file_pushes);
    if (!pushed) return tl::unexpected(pushed.error());
    if (!*pushed) return report;
  }
  std::sort(dir_removals.begin(), dir_removals.end(),
            [](const DirRemoval& a, const DirRemoval& b) { return a.path > b.path; });
  for (const DirRemoval& dr : dir_removals) {
    Status done = dr.on_remote
                      ? pass.remove(s_.remote, pass.remote, dr.path, Expect::anything(), true)
                      : pass.remove(s_.local, pass.local, dr.path, Expect::anything(), false);
    if (!done && !pass.noteFailure(dr.path, done.error())) return report;
  }

  // The hoard walk: new remote files, highest pin priority first, as long as
  // they fit the cache budget.
  std::stable_sort(hoards.begin(), hoards.end(),
                   [](const Hoard& a, const Hoard& b) { return a.priority > b.priority; });
  HoardProgress progress;
  uint64_t cache_bytes = 0;
  for (const auto& [p, st] : pass.local)
    if (st.meta.type == FileType::kFile) cache_bytes += st.meta.size;
  std::vector<const remote::Stat*> chosen;
  for (const Hoard& h : hoards) {
    const remote::Stat* r = pass.find(pass.remote, h.path);
    if (pass.isHeld(h.path)) {  // beneath a conflict found in this pass
      ++report.waiting;
      chosen.push_back(nullptr);
      continue;
    }
    if (opts.cache_budget_bytes != 0 &&
        cache_bytes + progress.bytes_total + r->meta.size > opts.cache_budget_bytes) {
      report.not_hoarded.push_back(h.path);
      chosen.push_back(nullptr);
      continue;
    }
    chosen.push_back(r);
    progress.bytes_total += r->meta.size;
    ++progress.files_total;
  }
  // Fetched on several threads (a network share is slow per request and
  // answers several at once; a local disk has cores to fill) into unnamed
  // temporaries; then, a group at a time on the pass's thread, one syncfs
  // makes the group's bytes durable and each gets its name (a link: no
  // second copy) and its record.
  {
    struct Arrival {
      size_t index;
      Result<Pass::StagedNew> staged;
    };
    constexpr size_t kLinkGroup = 128;
    // Each staged file holds an open temporary until it is installed: the
    // workers wait rather than run the daemon out of file descriptors.
    constexpr size_t kMaxStaged = 2 * kLinkGroup;
    std::mutex mu;
    std::condition_variable cv;
    std::deque<Arrival> arrivals;  // GUARDED_BY(mu)
    size_t staged_open = 0;        // GUARDED_BY(mu)
    std::atomic<size_t> next{0};
    std::atomic<bool> stop{false};
    const size_t threads =
        std::min<size_t>(std::max<size_t>(1, opts.transfer_threads), progress.files_total);
    size_t live = threads;  // GUARDED_BY(mu)
    std::vector<std::thread> workers;
    for (size_t w = 0; w < threads; ++w) {
      workers.emplace_back([&] {
        for (size_t i = next++; i < hoards.size() && !stop; i = next++) {
          if (chosen[i] == nullptr) continue;
          {
            std::unique_lock lock(mu);
            cv.wait(lock, [&] { return staged_open < kMaxStaged || stop; });
            if (stop) break;
            ++staged_open;
          }
          auto staged = pass.stageNew(hoards[i].path);
          std::lock_guard lock(mu);
          arrivals.push_back({i, std::move(staged)});
          cv.notify_all();
        }
        std::lock_guard lock(mu);
        --live;
        cv.notify_all();
      });
    }
    std::vector<Arrival> group;
    auto installGroup = [&] {
      Status synced;
      UniqueFd root(::open(s_.cache_root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
      if (!root || ::syncfs(root.get()) != 0)
        synced = failErrno(errno, "sync the cache " + displayPath(s_.cache_root));
      for (Arrival& a : group) {
        const RelPath& p = hoards[a.index].path;
        Status done = !a.staged ? Status(tl::unexpected(a.staged.error()))
                      : !synced ? synced
                                : pass.installNew(p, *a.staged);
        if (!done) {
          // Once the pass stops, what is still arriving is recorded (it is
          // whole) and further failures add nothing.
          if (!stop && !pass.noteFailure(p, done.error())) stop = true;
          continue;
        }
        --report.pulled;  // counted as hoarded instead
        ++report.hoarded;
        report.hoarded_bytes += chosen[a.index]->meta.size;
        progress.bytes_done += chosen[a.index]->meta.size;
        ++progress.files_done;
        if (opts.progress) opts.progress(progress);
      }
      std::lock_guard lock(mu);
      staged_open -= group.size();
      group.clear();
      cv.notify_all();
    };
    for (;;) {
      std::unique_lock lock(mu);
      cv.wait(lock, [&] { return !arrivals.empty() || live == 0; });
      while (!arrivals.empty()) {
        group.push_back(std::move(arrivals.front()));
        arrivals.pop_front();
      }
      const bool last = live == 0;
      lock.unlock();
      if (group.size() >= kLinkGroup || (last && !group.empty())) installGroup();
      if (last) break;
    }
    for (std::thread& t : workers) t.join();
    if (stop) return report;
  }

  if (Status flushed = pass.flush(); !flushed) return tl::unexpected(flushed.error());
  // The frozen records are reintegrated: the base now speaks for them (a path
  // that failed keeps its difference from the base, so the next pass retries
  // it without the record).
  {
    std::lock_guard lock(s_.journal_mu);
    if (Status dropped = s_.journal.dropChangesThrough(s_.share_id, frozen); !dropped)
      return tl::unexpected(dropped.error());
    // Snapshots, resolved conflicts past their retention, store objects no
    // row refers to any more (Retention.h). Best effort: what it keeps now
    // the next pass collects.
    RetentionOptions retention;
    retention.resolved_retention = opts.resolved_retention;
    (void)applyRetention(s_.journal, s_.store, s_.share_id,
                         !report.stopped && report.failed.empty(), SystemClock::instance(),
                         retention);
  }
  return report;
}

namespace {

// Entries of `m` at or beneath `p`, parents first.
std::vector<RelPath> subtree(const StatMap& m, const RelPath& p) {
  std::vector<RelPath> out;
  for (auto it = m.lower_bound(p); it != m.end() && isUnder(it->first, p); ++it)
    out.push_back(it->first);
  return out;
}

}  // namespace

Status Reconciler::resolve(int64_t conflict_id, Resolution resolution) {
  journal::ConflictRecord c;
  {
    std::lock_guard lock(s_.journal_mu);
    auto r = s_.journal.conflict(conflict_id);
    if (!r) return tl::unexpected(r.error());
    c = *r;
  }
  if (c.share_id != s_.share_id || !c.open)
    return fail(ErrorCode::kNotFound, "conflict " + std::to_string(conflict_id) +
                                          " is not an open conflict of this share");
  const RelPath& p = c.path;
  ReconcileOptions opts;
  Pass pass(s_, opts);

  if (auto rr = renameRenameOf(c)) {
    // The cache renamed `from` to p, the remote to rr->remote_to.
    auto l = s_.local.lstat(p);
    auto r = s_.remote.lstat(rr->remote_to);
    if (!l) return tl::unexpected(l.error());
    if (!r) return tl::unexpected(r.error());
    pass.local[p] = *l;
    pass.remote[rr->remote_to] = *r;
    Status done;
    switch (resolution) {
      case Resolution::kKeepLocal:  // the remote takes the cache's name
        done = s_.remote.rename(rr->remote_to, p, Expect::version(r->data_version),
                                Expect::absent());
        if (done) done = pass.agree(p);
        if (done) done = pass.dropBase(rr->remote_to, std::nullopt);
        break;
      case Resolution::kKeepRemote:  // the cache takes the remote's name
        done = s_.local.rename(p, rr->remote_to, Expect::version(l->data_version),
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
    if (!done) return done;
    std::lock_guard lock(s_.journal_mu);
    return s_.journal.resolveConflict(conflict_id, resolutionName(resolution));
  }

  // The two sides as they are now, at the path and beneath it.
  auto load = [&](remote::RemoteFs& fs, StatMap& side) -> Status {
    auto st = fs.lstat(p);
    if (!st) return st.error().code() == ErrorCode::kNotFound ? Status{} : Status(tl::unexpected(st.error()));
    side[p] = *st;
    if (st->meta.type == FileType::kDir) {
      auto w = fs.walk(p);
      if (!w) return tl::unexpected(w.error());
      for (auto& e : *w) side.emplace(std::move(e.path), std::move(e.stat));
    }
    return {};
  };
  if (Status st = load(s_.local, pass.local); !st) return st;
  if (Status st = load(s_.remote, pass.remote); !st) return st;
  {
    std::lock_guard lock(s_.journal_mu);
    auto b = s_.journal.listBaseUnder(s_.share_id, p);
    if (!b) return tl::unexpected(b.error());
    for (auto& e : *b) pass.base.emplace(e.path, std::move(e));
  }

  // Makes side `to` equal to side `from` at p: copies every entry of `from`
  // (parents first), then removes what `to` has that `from` has not (deepest
  // first).
  auto mirror = [&](bool to_remote) -> Status {
    StatMap& from = to_remote ? pass.local : pass.remote;
    StatMap& to = to_remote ? pass.remote : pass.local;
    remote::RemoteFs& to_fs = to_remote ? s_.remote : s_.local;
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
    return {};
  };

  Status done;
  switch (resolution) {
    case Resolution::kKeepLocal:
      done = mirror(/*to_remote=*/true);
      break;
    case Resolution::kKeepRemote:
      done = mirror(/*to_remote=*/false);
      break;
    case Resolution::kStash: {
      // The remote's version takes the path; the local one moves beside it
      // under a conflict name, on both sides. Nothing is lost either way.
      if (pass.find(pass.local, p) != nullptr) {
        std::string dir(parentOf(p));
        std::string name = resolvers::uniqueStashName(
            baseName(p), s_.host, std::time(nullptr), [&](const std::string& n) {
              RelPath q = joinPath(dir, n);
              return pass.find(pass.local, q) != nullptr || s_.local.lstat(q).has_value() ||
                     s_.remote.lstat(q).has_value();
            });
        RelPath stash = joinPath(dir, name);
        const remote::Stat l = pass.local.at(p);
        done = s_.local.rename(p, stash, Expect::version(l.data_version), Expect::absent());
        if (!done) break;
        // Move the local entries to their stashed names and push them.
        StatMap moved;
        for (const RelPath& q : subtree(pass.local, p)) moved[rebase(q, p, stash)] = pass.local.at(q);
        for (auto it = pass.local.lower_bound(p);
             it != pass.local.end() && isUnder(it->first, p);)
          it = pass.local.erase(it);
        for (auto& [q, st] : moved) {
          auto now = s_.local.lstat(q);  // the rename moved ctime: take fresh metadata
          if (!now) {
            done = tl::unexpected(now.error());
            break;
          }
          pass.local[q] = *now;
          done = pass.push(q, nullptr, *now);
          if (!done) break;
        }
        if (!done) break;
      }
      done = mirror(/*to_remote=*/false);
      break;
    }
  }
  if (!done) return done;
  std::lock_guard lock(s_.journal_mu);
  return s_.journal.resolveConflict(conflict_id, resolutionName(resolution));
}

Result<uint64_t> Reconciler::evict(const RelPath& path) {
  if (Status ok = validateRelPath(path); !ok) return tl::unexpected(ok.error());
  ReconcileOptions opts;
  Pass pass(s_, opts);
  std::vector<LoggedChange> log;
  {
    std::lock_guard lock(s_.journal_mu);
    auto pins = s_.journal.pins(s_.share_id);
    if (!pins) return tl::unexpected(pins.error());
    if (pins->empty())
      return fail(ErrorCode::kBusy, "cannot evict " + displayPath(path) +
                                        ": a share without pins keeps everything; pin what "
                                        "you want to keep, then evict the rest");
    for (const journal::Pin& pin : *pins)
      if (isUnder(path, pin.path) || isUnder(pin.path, path))
        return fail(ErrorCode::kBusy, "cannot evict " + displayPath(path) + ": " +
                                          displayPath(pin.path) +
                                          " is pinned (unpin it first, or it is fetched again)");
    auto conflicts = s_.journal.conflicts(s_.share_id, true);
    if (!conflicts) return tl::unexpected(conflicts.error());
    for (const auto& c : *conflicts)
      if (isUnder(c.path, path) || isUnder(path, c.path))
        return fail(ErrorCode::kBusy, "cannot evict " + displayPath(path) + ": " +
                                          displayPath(c.path) + " has an open conflict");
    auto l = s_.journal.changes(s_.share_id, 0);
    if (!l) return tl::unexpected(l.error());
    log = std::move(*l);
    auto b = s_.journal.listBaseUnder(s_.share_id, path);
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
  auto top = s_.local.lstat(path);
  if (!top) return tl::unexpected(top.error());
  pass.local[path] = *top;
  if (top->meta.type == FileType::kDir) {
    auto w = s_.local.walk(path);
    if (!w) return tl::unexpected(w.error());
    for (auto& e : *w) pass.local.emplace(std::move(e.path), std::move(e.stat));
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
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    const remote::Stat& st = pass.local.at(*it);
    Status gone = st.meta.type == FileType::kDir ? s_.local.rmdir(*it, Expect::anything())
                                                 : s_.local.unlink(*it, Expect::version(st.data_version));
    if (!gone) return tl::unexpected(gone.error());
    if (st.meta.type == FileType::kFile) freed += st.meta.size;
  }
  Status dropped = pass.dropBase(path, std::nullopt);
  if (!dropped) return tl::unexpected(dropped.error());
  return freed;
}

}  // namespace hoard::sync
