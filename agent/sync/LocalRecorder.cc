// SPDX-License-Identifier: MIT
#include "sync/LocalRecorder.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

#include "common/Hash.h"
#include "common/UniqueFd.h"

namespace hoard::sync {

LocalRecorder::LocalRecorder(journal::Journal& journal, Mutex& journal_mu, int64_t share_id,
                             std::string cache_root, std::shared_ptr<OwnWrites> own)
    : journal_(journal),
      journal_mu_(journal_mu),
      share_id_(share_id),
      cache_root_(std::move(cache_root)),
      own_(std::move(own)) {}

Status LocalRecorder::recordChanges(const std::vector<Change>& changes) {
  if (changes.empty()) return {};
  MutexLock lock(journal_mu_);
  // hoard's own writes into the cache (a pull, a resolution) come back as
  // events. A create/write/chmod/xattr whose file is, right now, exactly what
  // the base records is one of those: any real edit moves ctime, so it can
  // never match. Dropping them saves a journal write and a pass per file.
  std::vector<Change> kept;
  kept.reserve(changes.size());
  for (const Change& c : changes) {
    // A directory or symlink a running pass is creating: its own (the pass
    // checks, before committing, that it is still what it made).
    if ((c.op == ChangeOp::kMkdir || c.op == ChangeOp::kSymlink) && own_ &&
        own_->pending.count(c.path))
      continue;
    // The deletion `hoard evict` made (the name is still gone): its own.
    if ((c.op == ChangeOp::kUnlink || c.op == ChangeOp::kRmdir) && own_ &&
        own_->evicted.erase(c.path) > 0) {
      struct stat gone;
      if (::lstat((cache_root_ + "/" + c.path).c_str(), &gone) != 0 && errno == ENOENT) continue;
    }
    bool content = c.op == ChangeOp::kCreate || c.op == ChangeOp::kWrite ||
                   c.op == ChangeOp::kChmod || c.op == ChangeOp::kXattr;
    if (content) {
      struct stat st;
      if (::lstat((cache_root_ + "/" + c.path).c_str(), &st) == 0) {
        if (own_) {
          auto it = own_->pending.find(c.path);
          if (it != own_->pending.end() &&
              (!it->second || *it->second == FileMeta::fromStat(st)))
            continue;
        }
        auto base = journal_.getBase(share_id_, c.path);
        if (base && *base && (*base)->local == FileMeta::fromStat(st)) continue;
      } else if (errno == ENOENT && c.op != ChangeOp::kCreate) {
        // A write or attribute change to a name that is gone: whatever
        // removed or renamed it is logged on its own, and the content is
        // compared with the base anyway. (Unnamed O_TMPFILE files, hoard's
        // own temporaries among them, report writes as "#<inode>".)
        continue;
      }
    }
    kept.push_back(c);
  }
  if (kept.empty()) return {};
  auto r = journal_.recordChanges(share_id_, kept);
  if (!r) return tl::unexpected(r.error());
  return {};
}

void LocalRecorder::rescanNeeded(const RelPath& subtree) {
  MutexLock lock(pending_mu_);
  pending_rescans_.insert(subtree);
}

bool LocalRecorder::rescanPending() const {
  MutexLock lock(pending_mu_);
  return !pending_rescans_.empty();
}

Result<std::vector<RescanReport>> LocalRecorder::runPendingRescans() {
  std::set<RelPath> queued;
  {
    MutexLock lock(pending_mu_);
    queued.swap(pending_rescans_);
  }
  // A pending parent covers its children: scan each subtree once.
  std::vector<RelPath> roots;
  for (const RelPath& p : queued) {
    bool covered = false;
    for (const RelPath& r : roots) covered = covered || isUnder(p, r);
    if (!covered) roots.push_back(p);
  }
  std::vector<RescanReport> reports;
  for (const RelPath& r : roots) {
    auto report = rescan(r, /*verify=*/false);
    if (!report) {
      // Keep the unfinished work for the next call.
      MutexLock lock(pending_mu_);
      for (const RelPath& p : roots) pending_rescans_.insert(p);
      return tl::unexpected(report.error());
    }
    reports.push_back(std::move(*report));
  }
  return reports;
}

Result<RescanReport> LocalRecorder::rescan(const RelPath& subtree, bool verify) {
  MutexLock lock(journal_mu_);
  if (own_) own_->evicted.clear();  // the rescan compares with the base: no event to wait for
  auto base = journal_.listBase(share_id_);
  if (!base) return tl::unexpected(base.error());
  auto log = journal_.changes(share_id_, 0);
  if (!log) return tl::unexpected(log.error());

  // Paths the log already speaks for keep the base's metadata out of the
  // refresh below: their base row is the last agreed state, not what is on disk.
  std::set<RelPath, std::less<>> logged;
  for (const LoggedChange& lc : *log) {
    logged.insert(lc.change.path);
    if (!lc.change.to.empty()) logged.insert(lc.change.to);
  }
  track::BaseIndex real = track::makeBaseIndex(*base);
  track::BaseIndex projected = projectBase(std::move(*base), *log, cache_root_);

  track::ScanOptions options;
  options.subtree = subtree;
  options.verify = verify;
  track::Scanner scanner(cache_root_, options);
  auto scan = scanner.scan(projected);
  if (!scan) return tl::unexpected(scan.error());

  RescanReport report;
  report.subtree = subtree;
  report.stats = scan->stats;
  report.skipped = std::move(scan->skipped);

  // Content proved equal but metadata moved on (a touch, a copy back): record
  // the fresh metadata so the next scan does not hash the file again.
  std::vector<BaseEntry> refreshed;
  if (!scan->refreshed.empty()) {
    std::set<RelPath, std::less<>> wanted(scan->refreshed.begin(), scan->refreshed.end());
    for (const track::Observed& o : scan->observed) {
      if (!wanted.count(o.path) || logged.count(o.path)) continue;
      auto it = real.find(o.path);
      if (it == real.end()) continue;
      BaseEntry e = it->second;
      e.local = o.meta;
      refreshed.push_back(std::move(e));
    }
  }

  Status st = journal_.inTransaction([&]() -> Status {
    if (!scan->changes.empty()) {
      auto r = journal_.recordChanges(share_id_, scan->changes);
      if (!r) return tl::unexpected(r.error());
    }
    if (!refreshed.empty()) return journal_.putBase(share_id_, refreshed);
    return {};
  });
  if (!st) return tl::unexpected(st.error());
  report.changes_recorded = scan->changes.size();
  report.base_refreshed = refreshed.size();
  return report;
}

namespace {

FileType loggedType(ChangeOp op, FileType previous) {
  switch (op) {
    case ChangeOp::kCreate: return FileType::kFile;
    case ChangeOp::kMkdir: return FileType::kDir;
    case ChangeOp::kSymlink: return FileType::kSymlink;
    default: return previous == FileType::kNone ? FileType::kFile : previous;
  }
}

void eraseSubtree(track::BaseIndex& index, const RelPath& dir) {
  for (auto it = index.begin(); it != index.end();) {
    if (isUnder(it->first, dir)) it = index.erase(it);
    else ++it;
  }
}

bool hasSubtree(const track::BaseIndex& index, const RelPath& dir) {
  if (index.count(dir) != 0) return true;
  for (const auto& [path, entry] : index)
    if (isUnder(path, dir)) return true;
  return false;
}

void moveSubtree(track::BaseIndex& index, const RelPath& from, const RelPath& to) {
  std::vector<BaseEntry> moved;
  for (auto it = index.begin(); it != index.end();) {
    if (isUnder(it->first, from)) {
      moved.push_back(std::move(it->second));
      it = index.erase(it);
    } else {
      ++it;
    }
  }
  eraseSubtree(index, to);  // a rename replaces what was at the destination
  for (BaseEntry& e : moved) {
    e.path = rebase(e.path, from, to);
    RelPath key = e.path;
    index.insert_or_assign(std::move(key), std::move(e));
  }
}

}  // namespace

track::BaseIndex projectBase(std::vector<BaseEntry> base, const std::vector<LoggedChange>& log,
                             const std::string& cache_root) {
  track::BaseIndex index = track::makeBaseIndex(std::move(base));
  for (const LoggedChange& lc : log) {
    const Change& c = lc.change;
    switch (c.op) {
      case ChangeOp::kRename:
        // rename(2) of a name that was never there changes nothing. The
        // tracker can log one: a new directory's scan already reported the
        // file under its final name when the queued create-then-rename of
        // the old name arrives. Dropping the destination here would make
        // every rescan report it again.
        if (hasSubtree(index, c.path)) moveSubtree(index, c.path, c.to);
        break;
      case ChangeOp::kUnlink:
      case ChangeOp::kRmdir:
        eraseSubtree(index, c.path);
        break;
      case ChangeOp::kCreate:
      case ChangeOp::kWrite:
      case ChangeOp::kMkdir:
      case ChangeOp::kSymlink:
      case ChangeOp::kChmod:
      case ChangeOp::kXattr: {
        auto it = index.find(c.path);
        BaseEntry e = it != index.end() ? it->second : BaseEntry{};
        e.path = c.path;
        e.hash.reset();  // the logged content is whatever the cache holds now
        e.object.reset();
        std::string abs = cache_root + "/" + c.path;
        struct stat st;
        if (::lstat(abs.c_str(), &st) == 0) {
          e.local = FileMeta::fromStat(st);
          if (S_ISLNK(st.st_mode)) {
            std::string target(static_cast<size_t>(st.st_size) + 1, '\0');
            ssize_t n = ::readlink(abs.c_str(), target.data(), target.size());
            e.symlink_target = n >= 0 ? target.substr(0, static_cast<size_t>(n)) : std::string();
          }
        } else {
          // Gone since it was logged: keep an entry so the scan reports the delete.
          e.local = FileMeta{};
          e.local.type = loggedType(c.op, it != index.end() ? it->second.local.type
                                                            : FileType::kNone);
        }
        index.insert_or_assign(c.path, std::move(e));
        break;
      }
    }
  }
  return index;
}

Result<AdoptReport> adoptAsBase(journal::Journal& journal, int64_t share_id,
                                const std::string& cache_root, store::BaseStore& store,
                                const store::KeepPolicy& policy) {
  track::ScanOptions options;
  options.confirm_by_hash = false;
  track::Scanner scanner(cache_root, options);
  auto scan = scanner.scan(track::BaseIndex{});
  if (!scan) return tl::unexpected(scan.error());

  UniqueFd root(::open(cache_root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root) return failErrno(errno, "open cache root " + displayPath(cache_root));

  AdoptReport report;
  report.skipped = std::move(scan->skipped);
  std::vector<BaseEntry> entries;
  entries.reserve(scan->observed.size());
  for (track::Observed& o : scan->observed) {
    BaseEntry e;
    e.path = o.path;
    e.local = o.meta;
    if (o.meta.type == FileType::kSymlink) {
      e.symlink_target = o.symlink_target;
      e.hash = hashBytes(o.symlink_target);
    } else if (o.meta.type == FileType::kFile) {
      UniqueFd fd(::openat(root.get(), o.path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
      if (!fd) return failErrno(errno, "open " + displayPath(o.path) + " in " + cache_root);
      auto keep = policy.decideFd(o.path, fd.get());
      if (!keep) return tl::unexpected(keep.error());
      if (keep->keep && store.wouldFit(o.meta.size)) {
        auto put = store.put(fd.get(), o.path);
        if (!put) return tl::unexpected(put.error());
        e.hash = put->hash;
        e.object = put->hash;
        ++report.objects_kept;
        report.bytes_kept += put->size;
        if (put->reflinked) ++report.reflinked;
      } else {
        auto h = hashFd(fd.get(), o.path);
        if (!h) return tl::unexpected(h.error());
        e.hash = *h;
      }
      // The hash is of the bytes read now: take the metadata that goes with them.
      struct stat st;
      if (::fstat(fd.get(), &st) == 0) e.local = FileMeta::fromStat(st);
    }
    entries.push_back(std::move(e));
  }

  Status st = journal.inTransaction([&]() -> Status {
    auto removed = journal.removeBaseUnder(share_id, "");
    if (!removed) return tl::unexpected(removed.error());
    return journal.putBase(share_id, entries);
  });
  if (!st) return tl::unexpected(st.error());
  report.entries = entries.size();
  return report;
}

}  // namespace hoard::sync
