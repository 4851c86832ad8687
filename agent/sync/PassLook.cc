// SPDX-License-Identifier: MIT
// Looking at one side of a path: hashes, versions, what changed since the base.

#include <cerrno>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sync/Phases.h"

namespace hoard::sync {

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

std::string subtreeDigest(const StatMap& side, const RelPath& p) {
  std::string all;
  auto [first, last] = subtreeOf(side, p);
  for (auto it = first; it != last; ++it) {
    if (it->first == p) continue;
    all += it->first.substr(p.size());
    all.push_back('\0');
    all += fileTypeName(it->second.meta.type);
    all.push_back('\0');
    all += it->second.data_version;
    all.push_back('\0');
    all += it->second.symlink_target;
    all.push_back('\n');
  }
  return hashBytes(all).hex();
}

SideSeen seenOf(const remote::Stat* st) {
  SideSeen seen;
  if (st == nullptr) return seen;
  seen.type = st->meta.type;
  seen.size = st->meta.size;
  seen.mode = st->meta.mode;
  seen.mtime_ns = st->meta.mtime_ns;
  seen.ctime_ns = st->meta.ctime_ns;
  seen.inode = st->meta.inode;
  seen.data_version = st->data_version;
  seen.symlink_target = st->symlink_target;
  return seen;
}

// Records a failure of one path, or stops the pass for remote trouble.
// Returns false if the pass must stop.
bool PassState::noteFailure(const RelPath& p, const Error& e) {
  if (stopsPass(e)) {
    report.stopped = e;
    return false;
  }
  // A transfer cut short by a stop request is the pass stopping, not a
  // failure of the path: the next pass sends or fetches it whole.
  if (e.code() == ErrorCode::kAborted && stopRequested(*this)) return false;
  {
    MutexLock lock(moved_on_mu);
    if (moved_on.count(p) != 0) {
      report.retried.push_back(p);
      return true;
    }
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

Result<ContentHash> PassState::hashLocal(const RelPath& p) {
  if (auto it = local_hash.find(p); it != local_hash.end()) return it->second;
  if (auto failed = local_hash_error.extract(p)) return tl::unexpected(failed.mapped());
  auto h = readLocalHash(p);
  if (h) local_hash[p] = *h;
  return h;
}

Result<ContentHash> PassState::readLocalHash(const RelPath& p) {
  const remote::Stat* st = find(local, p);
  auto movedOn = [&] {
    MutexLock lock(moved_on_mu);
    moved_on.insert(p);
  };
  auto opened = s.local.openRead(p);
  if (!opened) {
    // Renamed or deleted since the listing, or replaced by something that is
    // not a file: looked at again, never sent.
    ErrorCode code = opened.error().code();
    if (code == ErrorCode::kNotFound || code == ErrorCode::kInvalidArgument) movedOn();
    return tl::unexpected(opened.error().withContext("hash " + displayPath(p) + " in the cache"));
  }
  if (st == nullptr || opened->st.meta.inode != st->meta.inode) {
    movedOn();  // replaced since the listing (a save by rename)
    return fail(ErrorCode::kConflict, displayPath(p) + " changed in the cache while syncing");
  }
  if (auto db = isSqliteFd(opened->fd.get()); db && *db) {
    opened->fd.reset();  // no other descriptor while SQLite has it open (POSIX locks)
    auto snap = sqlite.snapshotLocal(p);  // sees the -wal
    if (!snap) return tl::unexpected(snap.error());
    return snap->hash;
  }
  return hashFd(opened->fd.get(), p);
}

Result<ContentHash> PassState::hashRemote(const RelPath& p) {
  if (auto it = remote_hash.find(p); it != remote_hash.end()) return it->second;
  if (auto failed = remote_hash_error.extract(p)) return tl::unexpected(failed.mapped());
  auto h = readRemoteHash(p);
  if (h) remote_hash[p] = *h;
  return h;
}

Result<ContentHash> PassState::readRemoteHash(const RelPath& p) {
  auto staged = stageCopy(s.remote, p, Keep::kNo);
  if (!staged) return tl::unexpected(staged.error());
  return staged->hash;
}

// Fills one side's Version and whether it changed since the base.
Status PassState::look(const RelPath& p, const BaseEntry* b, const StatMap& side, bool is_local, Version& v, SideChange& change) {
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
    // Same bytes: a touch (the remote's time is compared in the plan), or
    // only the base's record of the cache file is stale (a rename, a copy
    // back, our own push adopted after a crash).
    change.times = !change.content && st->meta.mtime_ns != b->local.mtime_ns;
    change.stale = !change.content;
    // Same bytes and mode, but the inode changed: a user.* attribute set
    // or removed here is a metadata change like a chmod (pushed with the
    // mode). The base holds no attributes, so the remote's are compared.
    if (change.stale && !change.mode && st->meta.ctime_ns != b->local.ctime_ns) {
      auto differ = userXattrsDiffer(p);
      if (!differ) return tl::unexpected(differ.error());
      change.mode = *differ;
    }
  } else {
    change.content = true;  // hashed below only when it matters
  }
  return {};
}

}  // namespace hoard::sync
