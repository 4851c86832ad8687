// SPDX-License-Identifier: MIT
#pragma once

// What the view of an on-demand share shows for paths whose data is not
// local: the share's last remote listing (journal::ListedEntry rows), held in
// memory so a lookup or a listing never touches the network, the journal or
// a lock held across I/O. Metadata never waits.
//
// Threads: every method may be called from any thread at once.

#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/ThreadAnnotations.h"
#include "journal/Records.h"

namespace hoard::view {

class ViewTree {
 public:
  // Builds the tree from `entries` (any order). A missing parent directory
  // is made up (mode 0755), so every listed path is reachable.
  explicit ViewTree(const std::vector<journal::ListedEntry>& entries);

  // The entry at `path` ("" is the root, always a directory), or nullopt.
  std::optional<journal::ListedEntry> find(const RelPath& path) const HOARD_EXCLUDES(mu_);

  // The names directly beneath directory `dir` with their types, sorted by
  // bytes; nullopt if `dir` is not a listed directory.
  std::optional<std::map<std::string, FileType>> children(const RelPath& dir) const
      HOARD_EXCLUDES(mu_);

  // The entries directly beneath directory `dir`, sorted by name bytes (as
  // children() orders them), in one look; nullopt as children().
  std::optional<std::vector<journal::ListedEntry>> childEntries(const RelPath& dir) const
      HOARD_EXCLUDES(mu_);

  // Replaces the entry at e.path (the remote changed since it was listed:
  // what the view fetched belongs to this version). Its parent must exist.
  void update(const journal::ListedEntry& e) HOARD_EXCLUDES(mu_);

  // Shows `entries` instead of everything shown so far (a newer listing):
  // a name gone from it is gone from the view, at once for every reader.
  void replace(const std::vector<journal::ListedEntry>& entries) HOARD_EXCLUDES(mu_);

  // The regular files listed at or beneath `path` ("" is the whole share).
  std::vector<RelPath> filesUnder(const RelPath& path) const HOARD_EXCLUDES(mu_);

  // Hides `path` and everything listed beneath it (the cache deleted or
  // renamed it, and the remote still has it until a pass pushes that):
  // find, children and filesUnder no longer show them.
  void hide(const RelPath& path) HOARD_EXCLUDES(mu_);
  // How many hide() calls were made so far: taken before the paths to hide
  // are worked out for setHidden, so a hide() made meanwhile is kept.
  uint64_t hideCount() const HOARD_EXCLUDES(mu_);
  // Hides exactly `paths`, and what hide() added after hideCount() was `since`.
  void setHidden(const std::vector<RelPath>& paths, uint64_t since) HOARD_EXCLUDES(mu_);

 private:
  void insert(const journal::ListedEntry& e) HOARD_REQUIRES(mu_);
  bool hiddenLocked(const RelPath& path) const HOARD_REQUIRES(mu_);

  mutable Mutex mu_;
  std::unordered_map<RelPath, journal::ListedEntry> entries_ HOARD_GUARDED_BY(mu_);
  std::unordered_map<RelPath, std::map<std::string, FileType>> dirs_ HOARD_GUARDED_BY(mu_);
  std::unordered_map<RelPath, uint64_t> hidden_ HOARD_GUARDED_BY(mu_);  // path -> its hide()'s count
  uint64_t hides_ HOARD_GUARDED_BY(mu_) = 0;
};

}  // namespace hoard::view
