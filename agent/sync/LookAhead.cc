// SPDX-License-Identifier: MIT
// Looking at both sides of a path (the plan's first step for each path), and
// reading the hashes that will need ahead, many at once.

#include "sync/LookAhead.h"

#include <atomic>
#include <optional>

namespace hoard::sync {

namespace {

constexpr int64_t kSecond = 1000000000;

// Modification times equal as far as the remote keeps them (sshfs: whole
// seconds).
bool sameTime(int64_t local_ns, int64_t remote_ns) {
  if (remote_ns % kSecond == 0) return local_ns / kSecond == remote_ns / kSecond;
  return local_ns == remote_ns;
}

// The cache entry's metadata is the base's record of it.
bool localAsBase(const remote::Stat& l, const BaseEntry& b) {
  return l.meta.type == b.local.type && l.meta.size == b.local.size &&
         l.meta.mtime_ns == b.local.mtime_ns && l.meta.ctime_ns == b.local.ctime_ns &&
         l.meta.inode == b.local.inode;
}

// Both sides from their metadata, with the cache file's hash where its
// metadata moved (PassState::look).
Status lookSides(PassState& pass, const RelPath& p, const BaseEntry* b, PathState& st) {
  if (b != nullptr) st.base = Version{b->local.type, b->hash, b->symlink_target, b->local.mode};
  if (Status lk = pass.look(p, b, pass.local, true, st.local, st.local_change); !lk) return lk;
  if (Status lk = pass.look(p, b, pass.remote, false, st.remote, st.remote_change); !lk)
    return lk;
  // A touch is a change only while the remote's time differs: after our own
  // push the remote already has the cache's time.
  if (st.local_change.times) {
    const remote::Stat* l = pass.find(pass.local, p);
    const remote::Stat* r = pass.find(pass.remote, p);
    if (r != nullptr && l != nullptr && sameTime(l->meta.mtime_ns, r->meta.mtime_ns))
      st.local_change.times = false;
  }
  return {};
}

// A remote whose timestamps are whole seconds (sshfs: no ctime, mtime in
// seconds) can change without its data version moving: a same-size edit
// within the same second. Before pushing over such a file, its bytes must
// still be the base's, or a colleague's edit would be overwritten.
bool mustCheckUnmovedRemote(PassState& pass, const RelPath& p, const BaseEntry* b,
                            const PathState& st) {
  if (!st.local_change.content || st.remote_change.content || b == nullptr || !b->hash ||
      st.remote.type != FileType::kFile || st.local.type != FileType::kFile)
    return false;
  const remote::Stat* r = pass.find(pass.remote, p);
  return r != nullptr && r->meta.mtime_ns % kSecond == 0;
}

// Both sides moved: only contents can tell an agreement from a conflict.
bool bothMoved(const PathState& st) {
  return st.local_change.any() && st.remote_change.content && st.remote.type == FileType::kFile;
}

// The cache files whose hash look() or lookBothSides will read: metadata
// moved since the base, or new (or of a new type) on both sides.
std::vector<RelPath> cacheReadsAhead(PassState& pass) {
  std::vector<RelPath> out;
  for (const auto& [p, l] : pass.local) {
    if (l.meta.type != FileType::kFile || pass.local_hash.count(p) != 0) continue;
    const BaseEntry* b = pass.baseAt(p);
    bool read = false;
    if (b != nullptr && b->local.type == FileType::kFile) {
      read = !localAsBase(l, *b);
    } else {
      const remote::Stat* r = pass.find(pass.remote, p);
      read = r != nullptr && r->meta.type == FileType::kFile;
    }
    if (read && !pass.isHeld(p)) out.push_back(p);
  }
  return out;
}

// The remote files whose hash lookBothSides will read, found by looking at
// each path whose metadata moved on either side as it will.
std::vector<RelPath> remoteReadsAhead(PassState& pass) {
  std::vector<RelPath> out;
  for (const auto& [p, r] : pass.remote) {
    if (r.meta.type != FileType::kFile || pass.remote_hash.count(p) != 0) continue;
    if (pass.local_hash_error.count(p) != 0) continue;  // the plan meets that error first
    const BaseEntry* b = pass.baseAt(p);
    const remote::Stat* l = pass.find(pass.local, p);
    if (l == nullptr && b == nullptr) continue;  // new on the remote: the hoard walk's
    if (l != nullptr && b != nullptr && localAsBase(*l, *b) && l->meta.mode == b->local.mode &&
        r.data_version == b->data_version)
      continue;  // neither side moved
    if (pass.isHeld(p)) continue;
    PathState st;
    if (!lookSides(pass, p, b, st)) continue;
    if (mustCheckUnmovedRemote(pass, p, b, st) || bothMoved(st)) out.push_back(p);
  }
  return out;
}

// Reads `paths` with `read`, up to `width` at once, into `memo` (and what
// failed into `failed`).
template <class Read>
void readAll(PassState& pass, const std::vector<RelPath>& paths, size_t width, Read read,
             std::map<RelPath, ContentHash>& memo, std::map<RelPath, Error, PathLess>& failed) {
  std::vector<std::optional<Result<ContentHash>>> got(paths.size());
  std::atomic<bool> give_up{false};
  parallelFor(std::max<size_t>(1, width), paths.size(), [&](size_t i) {
    if (give_up || (pass.opts.stop && pass.opts.stop->load())) return;
    got[i] = read(paths[i]);
    // A link gone or hung: every further read would wait out its deadline.
    if (!*got[i] && stopsPass(got[i]->error())) give_up = true;
  });
  for (size_t i = 0; i < paths.size(); ++i) {
    if (!got[i]) continue;  // not read: the plan reads it if it still needs it
    if (*got[i]) memo[paths[i]] = **got[i];
    else failed.insert_or_assign(paths[i], got[i]->error());
  }
}

}  // namespace

Status lookBothSides(PassState& pass, const RelPath& p, const BaseEntry* b, PathState& st) {
  if (Status lk = lookSides(pass, p, b, st); !lk) return lk;
  if (mustCheckUnmovedRemote(pass, p, b, st)) {
    auto h = pass.hashRemote(p);
    if (!h) return tl::unexpected(h.error());
    if (*h != *b->hash) {
      st.remote_change.content = true;
      st.remote.hash = *h;
    }
  }
  if (bothMoved(st)) {
    auto h = pass.hashRemote(p);
    if (!h) return tl::unexpected(h.error());
    st.remote.hash = *h;
    if (b != nullptr && b->local.type == FileType::kFile && b->hash == *h)
      st.remote_change.content = false;  // only its metadata moved
    // A file new on both sides (no base, or a type change) was not hashed
    // by look(): the same bytes on both sides are an agreement, not a
    // create-create conflict (e.g. a pass killed after a rename reached the
    // remote but before the base followed it).
    if (st.remote_change.content && st.local.type == FileType::kFile && !st.local.hash) {
      auto lh = pass.hashLocal(p);
      if (!lh) return tl::unexpected(lh.error());
      st.local.hash = *lh;
    }
  }
  return {};
}

void lookAhead(PassState& pass) {
  readAll(
      pass, cacheReadsAhead(pass), pass.opts.transfer_threads,
      [&](const RelPath& p) { return pass.readLocalHash(p); }, pass.local_hash,
      pass.local_hash_error);
  readAll(
      pass, remoteReadsAhead(pass), pass.opts.remote_in_flight,
      [&](const RelPath& p) { return pass.readRemoteHash(p); }, pass.remote_hash,
      pass.remote_hash_error);
}

}  // namespace hoard::sync
