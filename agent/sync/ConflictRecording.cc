// SPDX-License-Identifier: MIT
// Recording a conflict: both versions kept in the store, the detail
// written, the path held for the rest of the pass.

#include "sync/ConflictDetail.h"
#include "sync/PassState.h"

namespace hoard::sync {

namespace {

SideSeen seenWithHash(const remote::Stat* st, const std::optional<ContentHash>& hash) {
  SideSeen seen = seenOf(st);
  if (st != nullptr) seen.hash = hash;
  return seen;
}

SideSeen seenOfBase(const BaseEntry* b) {
  SideSeen seen;
  if (b == nullptr) return seen;
  seen.type = b->local.type;
  seen.size = b->local.size;
  seen.mode = b->local.mode;
  seen.mtime_ns = b->local.mtime_ns;
  seen.data_version = b->data_version;
  seen.hash = b->hash;
  seen.symlink_target = b->symlink_target;
  return seen;
}

}  // namespace

Result<SideSeen> PassState::keepVersion(remote::RemoteFs& fs, const RelPath& p,
                                        const remote::Stat* listed,
                                        std::optional<ContentHash>& object) {
  if (listed == nullptr || listed->meta.type != FileType::kFile) return seenOf(listed);
  // The bytes kept are the bytes described: the copy's own stat and hash.
  auto staged = stageCopy(fs, p, Keep::kAlways);
  if (!staged) return tl::unexpected(staged.error());
  object = staged->object;
  return seenWithHash(&staged->copied, staged->hash);
}

Status PassState::recordConflict(const RelPath& p, ConflictKind kind, const Version& lv,
                                 const Version& rv) {
  (void)lv;
  (void)rv;
  journal::ConflictRecord c;
  c.share_id = s.share_id;
  c.path = p;
  c.kind = kind;
  const BaseEntry* b = baseAt(p);
  if (b != nullptr) c.base_object = b->object;
  // Both versions' bytes are kept so a resolver can open them later (synced
  // with the batch, before the conflict row that names them), and what each
  // side held is recorded: a resolution applies only against exactly that.
  ConflictDetail d;
  auto ls = keepVersion(s.local, p, find(local, p), c.local_object);
  if (!ls) return tl::unexpected(ls.error().withContext("keep the cache's version"));
  auto rs = keepVersion(s.remote, p, find(remote, p), c.remote_object);
  if (!rs) return tl::unexpected(rs.error().withContext("keep the remote's version"));
  d.local = *ls;
  d.remote = *rs;
  if (d.local.type == FileType::kDir) d.local.subtree_digest = subtreeDigest(local, p);
  if (d.remote.type == FileType::kDir) d.remote.subtree_digest = subtreeDigest(remote, p);
  d.local.recorded = d.remote.recorded = true;
  d.base = seenOfBase(b);
  if (kind == ConflictKind::kDirDelete) {
    // What the side that kept the directory did beneath it, for `hoard show`.
    auto beneath = [&](const StatMap& side, bool is_local) {
      std::vector<SubtreeChange> out;
      auto [first, last] = subtreeOf(side, p);
      for (auto it = first; it != last && out.size() < 100; ++it) {
        if (it->first == p) continue;
        const BaseEntry* qb = baseAt(it->first);
        if (qb == nullptr) {
          out.push_back({it->first, "added"});
        } else if (is_local ? !sameMetadata(qb->local, it->second.meta)
                            : qb->data_version != it->second.data_version) {
          out.push_back({it->first, "modified"});
        }
      }
      return out;
    };
    d.local_beneath = beneath(local, true);
    d.remote_beneath = beneath(remote, false);
  }
  c.detail = encodeDetail(d);
  held.push_back(p);
  pending_conflicts.push_back(std::move(c));
  return flushIfFull();
}

}  // namespace hoard::sync
