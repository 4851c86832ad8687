// SPDX-License-Identifier: MIT
#pragma once

// The remote filesystem as the sync engine sees it: every operation it needs on
// a share's remote root, paths as share-relative bytes (hoard::RelPath), results
// as hoard::Result. Modelled on leveldb's Env: one small interface, a real
// implementation (PosixRemoteFs), a fault-injecting decorator (FaultyRemoteFs)
// and a deadline-enforcing decorator (DeadlineRemoteFs) that stack freely.
//
// Invariants every implementation keeps:
//  - No path ever resolves outside the root, and no symlink is ever followed:
//    a symlink in a directory component fails the call with kOutsideRoot;
//    symlinks themselves are read (readlink) and created (symlink), never traversed.
//  - A file is only ever replaced atomically (temporary file in the same
//    directory, fsync, compare-and-swap check, rename over); never truncated in place.
//  - Mutations that can race a third party take an Expect (compare-and-swap);
//    a mismatch is kConflict and leaves the remote as it was.
//  - hoard's own files (`.hoard-tmp-*` temporaries anywhere, `.hoard-share-id`
//    at the root) are hidden from listDir and walk.
//
// Threads: implementations are safe to call from several threads at once.

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/Error.h"
#include "common/FileMeta.h"
#include "common/RelPath.h"
#include "common/UniqueFd.h"

namespace hoard::remote {

// Prefix of every temporary file hoard creates on the remote.
inline constexpr std::string_view kTempPrefix = ".hoard-tmp-";
// The marker file at the remote root that names the share (see Identity.h).
inline constexpr std::string_view kMarkerName = ".hoard-share-id";

// True for names hoard owns on the remote (`.hoard-tmp-*`, and `.hoard-share-id`
// when `at_root`).
bool isInternalName(std::string_view name, bool at_root);

// What lstat says about one path.
struct Stat {
  FileMeta meta;
  std::string symlink_target;  // kSymlink only: the link's target bytes
  std::string data_version;    // opaque; equal versions mean equal data (see DataVersion.h)

  bool operator==(const Stat&) const = default;
};

struct DirEntry {
  std::string name;  // one component, raw bytes
  FileType type = FileType::kOther;

  bool operator==(const DirEntry&) const = default;
};

struct WalkEntry {
  RelPath path;  // relative to the share root, not to the walked directory
  Stat stat;
  // Set on a directory the walk could not open or list (kPermission: mode
  // 000, an ACL, a server's refusal): nothing beneath it is reported, which
  // says "unknown", not "empty".
  std::optional<Error> unlisted;
};

struct FsStats {
  uint64_t block_size = 0;
  uint64_t total_bytes = 0;
  uint64_t free_bytes = 0;
  uint64_t avail_bytes = 0;  // available to an unprivileged user
  uint64_t total_files = 0;
  uint64_t free_files = 0;
};

// The compare-and-swap precondition of a mutation: what the caller believes is
// at the path right now (normally the base's data version).
struct Expect {
  enum class Kind : uint8_t {
    kAnything,  // no check (use for paths hoard alone writes)
    kAbsent,    // nothing may exist at the path
    kVersion,   // the path must exist and have exactly this data version
  };
  Kind kind = Kind::kAnything;
  std::string data_version;  // kVersion only

  static Expect anything() { return {}; }
  static Expect absent() { return {Kind::kAbsent, {}}; }
  static Expect version(std::string v) { return {Kind::kVersion, std::move(v)}; }
  // Absent if `v` is nullopt, else that version: the natural form for "the base".
  static Expect fromBase(const std::optional<std::string>& v) { return v ? version(*v) : absent(); }
};

// Bytes copied so far; called on the thread that made the call (see
// DeadlineRemoteFs for how progress crosses threads). Returns true to go on;
// false stops the transfer within about one more chunk (1 MiB): the call
// then fails with kAborted, and what it was writing is left as if it had
// never started (replaceFile removes its temporary and leaves the path as
// it was; fetchFile leaves a partial copy in the caller's descriptor, which
// the caller discards). Must not throw.
using ProgressFn = std::function<bool(uint64_t bytes_done)>;

struct ReplaceOptions {
  uint32_t mode = 0644;             // permission bits of the new file
  std::optional<int64_t> mtime_ns;  // set on the new file before the rename
  // fsync the directory after the rename (the new file itself is always
  // synced before it). Only the cache side turns it off, when the caller
  // syncs the whole filesystem once for a batch before recording what it
  // wrote; a remote is always synced.
  bool sync_dir = true;
};

// One directory opened for a tree walk: its listing and its entries'
// metadata, each a call bounded by that directory (never by the share), all
// relative to the open directory, so no path is resolved again per entry.
// Held only while that directory's entries are examined (seconds, within one
// walk), never kept across walks. Safe to call from several threads at once.
class RemoteDir {
 public:
  virtual ~RemoteDir() = default;

  // The share-relative path of this directory.
  virtual const RelPath& path() const = 0;

  // The names in the directory with their types (no "." or ".."); hoard's
  // internal names (see isInternalName) only when `include_internal`.
  virtual Result<std::vector<DirEntry>> list(bool include_internal) = 0;

  // lstat of the entry `name` (one component): the same Stat RemoteFs::lstat
  // gives for path()/name. kNotFound if it is gone.
  virtual Result<Stat> stat(const std::string& name) = 0;

  // Opens the subdirectory `name`, never following a symlink: kOutsideRoot
  // if it is a symlink now, kNotFound if it is gone or not a directory.
  virtual Result<std::shared_ptr<RemoteDir>> openDir(const std::string& name) = 0;

  // Removes the entry `name` if it is one of hoard's temporaries (a
  // `.hoard-tmp-*` that is not a directory); true if it was removed, false if
  // it was already gone. kInvalidArgument for any other name or a directory.
  virtual Result<bool> removeTemp(const std::string& name) = 0;
};

// A regular file opened for reading, with its metadata as it was opened
// (meta and nothing else: no data_version, no symlink target).
struct OpenedFile {
  UniqueFd fd;
  Stat st;
};

class RemoteFs {
 public:
  virtual ~RemoteFs() = default;

  // Metadata of `path` without following a final symlink (the root is "").
  // kNotFound if nothing is there; kOutsideRoot if a directory component is a symlink.
  virtual Result<Stat> lstat(const RelPath& path) = 0;

  // The entries of directory `path` (no "." or ".."; internal names hidden), in
  // no particular order. kNotFound / kOutsideRoot as lstat; ENOTDIR -> kNotFound.
  virtual Result<std::vector<DirEntry>> listDir(const RelPath& dir) = 0;

  // Every entry beneath `dir` (not `dir` itself) with its Stat, parents before
  // children; symlinks are reported, never descended. A subtree that changes
  // during the walk may be reported partially; entries that vanish mid-walk
  // are skipped. A subdirectory that refuses to be read (kPermission) is
  // reported with WalkEntry::unlisted and not descended; the walk goes on.
  virtual Result<std::vector<WalkEntry>> walk(const RelPath& dir) = 0;

  // Copies the whole regular file `path` into `out_fd` (written from its
  // current offset; the caller owns it), using copy_file_range where the
  // kernel can. Returns the Stat of the file that was copied. kBusy if the file
  // changed while it was being read (call again); kInvalidArgument if `path`
  // is not a regular file (a symlink is never followed).
  virtual Result<Stat> fetchFile(const RelPath& path, int out_fd, const ProgressFn& progress) = 0;

  // The whole content of a small regular file (at most `max_bytes`, else
  // kInvalidArgument). For markers and tests; use fetchFile for user data.
  virtual Result<std::string> readSmallFile(const RelPath& path, size_t max_bytes) = 0;

  // Opens the regular file `path` for reading, never following a final
  // symlink and never blocking on a FIFO. kNotFound if nothing is there;
  // kInvalidArgument for a symlink or anything else that is not a regular
  // file. For reading a file in place (its hash, its header) where a copy
  // would be waste; the caller compares st with what it listed.
  virtual Result<OpenedFile> openRead(const RelPath& path) = 0;

  // An unnamed, empty, read-write temporary file on this filesystem
  // (O_TMPFILE where the kernel has it), gone when closed: staging for a
  // file that linkNewFile may later give a name without copying its data.
  virtual Result<UniqueFd> openTemp() = 0;

  // Atomically replaces (or creates) the regular file `path` with everything
  // readable from `src_fd` (read from offset 0 with pread; the caller keeps
  // ownership). Writes `.hoard-tmp-<random>` in the same directory, fsyncs it,
  // checks `expect` against what is at `path` and renames over it. On a
  // mismatch the temporary is removed and kConflict returned with `path`
  // untouched. A failure at any step never leaves `path` truncated; at worst a
  // `.hoard-tmp-*` file remains (see removeStaleTemps). Returns the Stat of the
  // new file (its data_version is the new base).
  virtual Result<Stat> replaceFile(const RelPath& path, int src_fd, const Expect& expect,
                                   const ReplaceOptions& options, const ProgressFn& progress) = 0;

  // Gives `path`, which must be absent (kConflict if anything is there), the
  // content of `tmp_fd`: an unnamed temporary file (O_TMPFILE) on the same
  // filesystem, written and synced by the caller. Sets options.mode and
  // mtime first; copies no data where the file can be linked. The default,
  // and any case where linking is not possible, is
  // replaceFile(path, tmp_fd, Expect::absent(), options).
  virtual Result<Stat> linkNewFile(const RelPath& path, int tmp_fd,
                                   const ReplaceOptions& options) {
    return replaceFile(path, tmp_fd, Expect::absent(), options, nullptr);
  }

  // Creates directory `path`. kExists if something is already there.
  virtual Status mkdir(const RelPath& path, uint32_t mode) = 0;

  // Removes the empty directory `path` if it matches `expect`. A non-empty
  // directory is kConflict (a dir-delete conflict for the engine).
  virtual Status rmdir(const RelPath& path, const Expect& expect) = 0;

  // Removes the file or symlink `path` if it matches `expect` (kConflict otherwise).
  // A directory is kInvalidArgument.
  virtual Status unlink(const RelPath& path, const Expect& expect) = 0;

  // Renames `from` to `to` if `from` matches `from_expect` and `to` matches
  // `to_expect` (kAbsent uses RENAME_NOREPLACE where the filesystem has it).
  virtual Status rename(const RelPath& from, const RelPath& to, const Expect& from_expect,
                        const Expect& to_expect) = 0;

  // Creates the symlink `path` -> `target` (bytes, never interpreted). With
  // kAbsent it is created in place; otherwise a temporary symlink is renamed
  // over what matches `expect`.
  virtual Status symlink(const RelPath& path, const std::string& target, const Expect& expect) = 0;

  // Sets the permission bits of `path` (not a symlink: kInvalidArgument).
  virtual Status chmod(const RelPath& path, uint32_t mode) = 0;

  // Sets the modification time of `path` (a symlink's own mtime, not its target's).
  virtual Status setMtime(const RelPath& path, int64_t mtime_ns) = 0;

  // Extended attributes of `path` (of a symlink itself, never its target).
  // getXattr: kNotFound if the attribute is absent (ENODATA).
  virtual Result<std::string> getXattr(const RelPath& path, const std::string& name) = 0;
  virtual Status setXattr(const RelPath& path, const std::string& name,
                          const std::string& value) = 0;
  virtual Status removeXattr(const RelPath& path, const std::string& name) = 0;
  virtual Result<std::vector<std::string>> listXattrs(const RelPath& path) = 0;

  // statvfs of the root. Uncached on every network filesystem hoard knows,
  // which makes it the connectivity probe.
  virtual Result<FsStats> statfs() = 0;

  // Makes everything written beneath the root so far durable: file data,
  // and the directory entries of creates, renames and removals (syncfs(2) of
  // the root's filesystem). The cache side calls it once for a batch of
  // writes made with ReplaceOptions::sync_dir off (and for unnamed
  // temporaries about to be linked in), before the journal records them.
  // Errors: the filesystem's (EIO: a write-back failed), naming the root.
  // Decorators must pass it on: a durability promise dropped silently is
  // what the power-loss test looks for.
  virtual Status syncAll() = 0;

  // The data version of `path` alone (same value lstat reports).
  virtual Result<std::string> dataVersion(const RelPath& path) = 0;

  // Removes every `.hoard-tmp-*` beneath `dir` (left by a crash or by a call
  // abandoned on a hung mount) and returns how many were removed. Call only
  // when no replace of this share can still be running.
  virtual Result<uint64_t> removeStaleTemps(const RelPath& dir) = 0;

  // "The filesystem at the root right now is the share's" (call it just after
  // the identity check passed): from then on, a call that finds the root on
  // another filesystem (the share was unmounted, leaving the bare mountpoint)
  // fails with kOffline instead of reading or writing there. A later pinRoot()
  // re-pins (after a legitimate remount). The default does nothing, for
  // filesystems where the root cannot move.
  virtual Status pinRoot() { return {}; }

  // Opens directory `dir` (the root is "") for a tree walk made of bounded
  // calls: a listing per directory and a stat per entry, which callers
  // (DeadlineRemoteFs, see TreeWalk.h) run many at once, each under its own
  // deadline. Errors as listDir. The default is kUnsupported: callers then
  // use walk() and removeStaleTemps() as single calls, as before.
  virtual Result<std::shared_ptr<RemoteDir>> openDir(const RelPath& dir) {
    return fail(ErrorCode::kUnsupported,
                "open '" + displayPath(dir) + "' for a walk: not supported by this filesystem");
  }
};

}  // namespace hoard::remote
