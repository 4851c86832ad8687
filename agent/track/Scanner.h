// SPDX-License-Identifier: MIT
#pragma once

// The scanner compares a cache root (or a subtree of it) with the base the
// caller loaded from the journal and yields exactly the changes that turn the
// base into what is on disk. It runs at start-up (changes made while the
// daemon was down), after an inotify overflow, and on demand. It knows nothing
// of the journal: the caller hands it the base as a BaseIndex.
//
// How "changed" is decided (design.md, "Three-way decisions"):
//  - Regular files: metadata first (size, mtime_ns, ctime_ns, inode). A size
//    difference is a write. A difference only in mtime/ctime/inode is
//    confirmed by hashing when the base has a hash: the same hash means no
//    write, only stale metadata (listed in ScanResult::refreshed). With
//    ScanOptions::verify every file whose metadata matches is hashed too, which
//    catches a rewrite that kept size, mtime, ctime and inode (or a base whose
//    metadata was recorded after the bytes changed).
//  - Permission bits: a difference is a kChmod (in addition to any write).
//  - Directories: only type and mode are compared (their size and times move
//    with their entries).
//  - Symlinks are never followed; a different target is kUnlink + kSymlink.
//  - A different type at a path is a delete (of the whole base subtree there,
//    children first) followed by a create.
//  - Renames: a new path whose inode (and, for files, size and mtime; for
//    symlinks, target) equals that of a base entry that vanished is reported
//    as kRename(old, new), and a renamed directory carries its children: they
//    are compared with their old base entries, not reported as creates. As
//    filesystems reuse a freed inode at once, a directory counts as renamed
//    only if its mtime is unchanged or one of its entries kept its inode.
//  - Other file types (fifos, sockets, devices) are ignored as if absent.
//  - Names matching ScanOptions::exclude (hoard's own ".hoard-tmp-*" files by
//    default) are ignored on disk and in the base.
//
// Order of ScanResult::changes: replaying them in order on the base gives the
// disk. Creates and renames come in walk pre-order (parents before children);
// then in-place writes/chmods; then deletions, children before parents. A
// rename's `path` is where the source is at that point of the replay (after
// earlier directory renames), so the list replays literally.
//
// Errors mid-scan: a directory that vanishes or cannot be opened or read
// (EACCES, EIO...) after the walk reached it, and an entry that cannot be
// stat'ed for a reason other than having vanished, is NOT an error of the
// whole scan: it is listed in ScanResult::skipped with its path and error, and
// the base entries beneath it are left out of the comparison (neither deleted
// nor changed: an unreadable directory is not an empty one). The caller rescans
// it later. Only a root (or subtree parent) that cannot be opened fails the
// scan.
//
// Names are bytes; every path is built as a RelPath, and the walk opens each
// directory relative to its parent's fd (openat O_NOFOLLOW), so non-UTF-8
// names and paths near PATH_MAX work and a symlink never leads outside the
// root. At most kMaxOpenDirs directory fds are held; deeper trees reopen an
// ancestor by its chain of names (and check it is the same directory).
//
// Threads: a Scanner is immutable; scan() may run on any thread, concurrently
// with other scans. It does blocking I/O (the cache root is local disk).

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/Change.h"
#include "common/Error.h"
#include "common/FileMeta.h"
#include "common/Hash.h"
#include "common/RelPath.h"

namespace hoard::track {

// Hash for RelPath keys that also accepts std::string_view (heterogeneous
// lookup), so the walk looks up its path buffer without copying it.
// Deliberately not noexcept: libstdc++ then caches each key's hash in its node,
// so a lookup does not rehash the keys it walks past (measured: that rehashing
// was 8% of a full scan).
struct RelPathHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

// The base the scan compares against, keyed by BaseEntry::path.
using BaseIndex = std::unordered_map<RelPath, BaseEntry, RelPathHash, std::equal_to<>>;

// Builds a BaseIndex from the journal's rows.
BaseIndex makeBaseIndex(std::vector<BaseEntry> entries);

// True for names hoard itself writes while replacing a file (".hoard-tmp-*").
bool isHoardTempName(std::string_view name);

struct ScanOptions {
  // Limit the scan to this subtree ("" = the whole root). The subtree's own
  // entry is compared too; base entries outside it are ignored.
  RelPath subtree;
  // Hash every regular file whose metadata matches its base entry and compare
  // with BaseEntry::hash. Files without a base hash get one computed (in
  // ScanResult::observed) so the caller can fill it in.
  bool verify = false;
  // Confirm a metadata-only difference (same size, other mtime/ctime/inode)
  // by hashing when the base has a hash. Off: such files are reported written.
  bool confirm_by_hash = true;
  // Names to ignore (one path component, raw bytes). Empty: nothing ignored.
  std::function<bool(std::string_view name)> exclude = isHoardTempName;
  // Return every entry seen in ScanResult::observed.
  bool collect_observed = true;
};

// One entry as the scan found it on disk.
struct Observed {
  RelPath path;
  FileMeta meta;
  std::string symlink_target;       // symlinks only
  std::optional<ContentHash> hash;  // set when the scan hashed the file
};

// A part of the tree the scan could not see (see "Errors mid-scan" above).
struct ScanSkip {
  RelPath path;
  Error error;
};

struct ScanStats {
  uint64_t dirs = 0;   // directories seen (the root not counted)
  uint64_t files = 0;  // regular files seen
  uint64_t symlinks = 0;
  uint64_t others = 0;    // fifos, sockets, devices (ignored)
  uint64_t excluded = 0;  // names dropped by ScanOptions::exclude
  uint64_t files_hashed = 0;
  uint64_t bytes_hashed = 0;
};

struct ScanResult {
  std::vector<Change> changes;  // see "Order" above
  // Regular files whose metadata differs from the base but whose hash proved
  // the content unchanged, and that got no change: the caller refreshes their
  // base metadata from `observed`.
  std::vector<RelPath> refreshed;
  // Every file, directory and symlink seen, in walk pre-order (empty unless
  // ScanOptions::collect_observed).
  std::vector<Observed> observed;
  std::vector<ScanSkip> skipped;
  ScanStats stats;
};

class Scanner {
 public:
  // At most this many directory fds are open at once during a scan.
  static constexpr size_t kMaxOpenDirs = 64;

  // `root` is the absolute path of the cache root.
  explicit Scanner(std::string root, ScanOptions options = {});

  // Scans and compares with `base` (which must outlive the call). Errors:
  // kInvalidArgument for a malformed subtree; kNotFound/kPermission/kIo naming
  // the root when it (or the subtree's parent directory, other than by being
  // absent) cannot be opened. An absent subtree is not an error: its base
  // entries are reported deleted.
  Result<ScanResult> scan(const BaseIndex& base) const;

  const std::string& root() const { return root_; }
  const ScanOptions& options() const { return options_; }

 private:
  std::string root_;
  ScanOptions options_;
};

}  // namespace hoard::track
