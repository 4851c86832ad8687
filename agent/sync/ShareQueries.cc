// SPDX-License-Identifier: MIT
#include "sync/ShareQueries.h"

#include "Glob.h"

namespace hoard::sync {

Result<ShareCounts> shareCounts(journal::Journal& journal, Mutex& journal_mu, int64_t share_id) {
  MutexLock lock(journal_mu);
  ShareCounts out;
  auto pending = journal.changeCount(share_id);
  if (!pending) return tl::unexpected(pending.error());
  out.pending_changes = *pending;
  auto open = journal.conflicts(share_id, true);
  if (!open) return tl::unexpected(open.error());
  out.open_conflicts = open->size();
  auto base = journal.listBase(share_id);
  if (!base) return tl::unexpected(base.error());
  for (const auto& b : *base)
    if (b.local.type == FileType::kFile) out.hoarded_bytes += b.local.size;
  return out;
}

Result<size_t> openConflictCount(journal::Journal& journal, Mutex& journal_mu) {
  MutexLock lock(journal_mu);
  auto shares = journal.shares();
  if (!shares) return tl::unexpected(shares.error());
  size_t n = 0;
  for (const auto& s : *shares) {
    auto c = journal.conflicts(s.id, true);
    if (!c) return tl::unexpected(c.error());
    n += c->size();
  }
  return n;
}

bool ConflictFilter::matches(const journal::ConflictRecord& c) const {
  if (glob && !resolvers::globMatch(*glob, c.path)) return false;
  if (under && !isUnder(c.path, *under)) return false;
  if (kind && c.kind != *kind) return false;
  return true;
}

Result<ConflictFilter> conflictFilter(const std::optional<std::string>& glob,
                                      const std::optional<std::string>& under,
                                      const std::optional<std::string>& kind) {
  ConflictFilter f;
  f.glob = glob;
  if (under) {
    std::string u = *under;
    while (!u.empty() && u.back() == '/') u.pop_back();
    if (Status ok = validateRelPath(u); !ok)
      return fail(ErrorCode::kInvalidArgument,
                  "\"under\" must be a folder inside the share (share-relative, without \"..\"): "
                  "\"" + displayPath(*under) + "\": " + ok.error().message());
    f.under = std::move(u);
  }
  if (kind) {
    auto k = journal::conflictKindFromName(*kind);
    if (!k)
      return fail(ErrorCode::kInvalidArgument,
                  "unknown conflict kind \"" + displayPath(*kind) +
                      "\": use content, modify-delete, delete-modify, create-create, type, "
                      "metadata, dir-delete, rename-rename or repo");
    f.kind = *k;
  }
  return f;
}

Result<std::vector<int64_t>> matchingConflicts(journal::Journal& journal, Mutex& journal_mu,
                                               int64_t share_id, const ConflictFilter& filter) {
  MutexLock lock(journal_mu);
  auto open = journal.conflicts(share_id, true);
  if (!open) return tl::unexpected(open.error());
  std::vector<int64_t> ids;
  for (const auto& c : *open)
    if (filter.matches(c)) ids.push_back(c.id);
  return ids;
}

Result<LocalPathInShare> shareOfLocalPath(journal::Journal& journal, Mutex& journal_mu,
                                          const std::string& p) {
  MutexLock lock(journal_mu);
  auto shares = journal.shares();
  if (!shares) return tl::unexpected(shares.error());
  for (const auto& s : *shares) {
    const std::string& root = s.userRoot();  // an on-demand share's view
    if (p == root) return LocalPathInShare{s.name, {}};
    if (p.size() > root.size() && p.compare(0, root.size(), root) == 0 && p[root.size()] == '/')
      return LocalPathInShare{s.name, p.substr(root.size() + 1)};
  }
  return fail(ErrorCode::kOutsideRoot,
              "'" + displayPath(p) +
                  "' is not inside any share's cache root; give a path inside one, or a "
                  "share-relative path with --share");
}

bool pinFullyHoarded(const RelPath& pin, const std::vector<RelPath>& not_hoarded) {
  for (const RelPath& m : not_hoarded)
    if (isUnder(m, pin)) return false;
  return true;
}

}  // namespace hoard::sync
