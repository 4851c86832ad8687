// SPDX-License-Identifier: MIT
#pragma once

// The local side of a share: what the user did in the cache root goes into the
// journal's change log, durably, before anything counts as synchronised
// (design.md invariant 1).
//
// Two sources feed the log:
//  - the Tracker (real-time inotify events), through the ChangeSink interface;
//  - rescans, which compare the cache root with the base *as projected through
//    the change log* (the base with every logged rename, delete and write
//    already applied), so a rescan adds exactly what the log is missing: the
//    changes made while hoardd was not running, or lost in an inotify overflow.
//
// Threads: the tracker's thread calls recordChanges() and rescanNeeded(); any
// other thread may call rescan() / runPendingRescans(). Every use of the
// journal made through this class happens under journal_mu, which the caller
// owns and must also hold for its own uses of that journal.

#include <cstdint>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "common/Change.h"
#include "common/Error.h"
#include "common/ThreadAnnotations.h"
#include "journal/Journal.h"
#include "store/BaseStore.h"
#include "store/KeepPolicy.h"
#include "sync/OwnWrites.h"
#include "track/Scanner.h"
#include "track/Tracker.h"

namespace hoard::sync {

struct RescanReport {
  RelPath subtree;
  size_t changes_recorded = 0;        // changes the rescan added to the log
  size_t base_refreshed = 0;          // base rows whose metadata was refreshed (content equal)
  track::ScanStats stats;
  std::vector<track::ScanSkip> skipped;  // parts of the tree the scan could not read
};

class LocalRecorder final : public track::ChangeSink {
 public:
  // `journal` and `journal_mu` must outlive this object. `cache_root` is the
  // share's absolute cache root. `own` (may be null) lists what a running
  // pass wrote into the cache and has not recorded in the base yet.
  LocalRecorder(journal::Journal& journal, Mutex& journal_mu, int64_t share_id,
                std::string cache_root, std::shared_ptr<OwnWrites> own = nullptr);

  // ChangeSink: appends to the change log in one transaction; durable on return.
  Status recordChanges(const std::vector<Change>& changes) override;
  // ChangeSink: remembers that `subtree` needs a rescan (coalesced: a pending
  // "" covers everything). Never blocks on the journal.
  void rescanNeeded(const RelPath& subtree) override;

  // Compares `subtree` of the cache root with the projected base and records
  // what the log is missing. `verify` hashes files whose metadata matches
  // (catches same size and mtime but different bytes). Errors: the journal's,
  // or the scanner's for an unreadable root; unreadable parts below it are
  // reported in RescanReport::skipped and get no changes.
  Result<RescanReport> rescan(const RelPath& subtree, bool verify);

  // Runs every rescan the tracker asked for since the last call.
  Result<std::vector<RescanReport>> runPendingRescans();
  bool rescanPending() const;

 private:
  journal::Journal& journal_;
  Mutex& journal_mu_;
  const int64_t share_id_;
  const std::string cache_root_;
  // What it points to is guarded by journal_mu_ (OwnWrites.h); clang-16 takes
  // no HOARD_PT_GUARDED_BY on a shared_ptr.
  const std::shared_ptr<OwnWrites> own_;

  mutable Mutex pending_mu_;
  std::set<RelPath> pending_rescans_ HOARD_GUARDED_BY(pending_mu_);
};

// The base projected through a change log: `base` with each logged change
// applied in order. Renames move an entry and its subtree; deletes remove
// them; a path whose content or mode the log already records takes its
// current on-disk metadata (looked up under `cache_root`), so a scan against
// the projection reports nothing for it, unless it has since vanished, in
// which case it keeps an entry of the logged type so the scan reports the
// deletion the log is missing.
track::BaseIndex projectBase(std::vector<BaseEntry> base, const std::vector<LoggedChange>& log,
                             const std::string& cache_root);

struct AdoptReport {
  size_t entries = 0;          // base rows written
  size_t objects_kept = 0;     // files whose content went into the store
  uint64_t bytes_kept = 0;
  size_t reflinked = 0;        // of those, stored by reflink
  std::vector<track::ScanSkip> skipped;
};

// Records everything now in `cache_root` as the share's base: metadata and
// content hash for every entry, and, where `policy` says so, the content in
// `store` (the base object used by three-way merges). This is what a completed
// sync or preload leaves behind. Replaces the share's existing base rows in
// one transaction. Callers hold the journal's mutex.
Result<AdoptReport> adoptAsBase(journal::Journal& journal, int64_t share_id,
                                const std::string& cache_root, store::BaseStore& store,
                                const store::KeepPolicy& policy);

}  // namespace hoard::sync
