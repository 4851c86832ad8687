// SPDX-License-Identifier: MIT
#pragma once

// RemoteFs over a mounted directory: NFS, SMB, AFS, sshfs, anything POSIX.
//
// Every call opens the root afresh, resolves the path beneath it without
// following any symlink (openat2 RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS, or
// component by component with O_NOFOLLOW where openat2 is missing), acts with
// *at() calls on the final component, and closes every descriptor before it
// returns: a descriptor opened before a network drop fails on every later
// call, so none is kept. Calls may block for as long as the mount does; wrap
// this in DeadlineRemoteFs to bound them.
//
// On a FUSE root (sshfs), where every name lookup may be a round trip to the
// server, two exceptions save round trips (pinRoot() finds out; options may
// turn them off): reads resolve a file's directory through DirHandleCache
// (a directory resolved in the last moment of this pass is not resolved
// again; writes always resolve afresh), and stats that only observe (the
// walk's, lstat, a fetch's first look) take the attributes the name's lookup
// just brought instead of asking again (posix::Freshness::kFromLookup). A
// compare-and-swap's look and the stat after a fetch always ask.

#include <atomic>
#include <chrono>
#include <memory>
#include <string>

#include "common/UniqueFd.h"
#include "remote/DataVersion.h"
#include "remote/DirHandleCache.h"
#include "remote/RemoteFs.h"

namespace hoard::remote {

class PosixRemoteFs final : public RemoteFs {
 public:
  enum class Resolve : uint8_t {
    kAuto,           // openat2, falling back to kComponentwise if the kernel lacks it
    kOpenat2,        // openat2 only (kUnsupported if missing)
    kComponentwise,  // openat(O_NOFOLLOW) one component at a time, each checked
  };
  struct Options {
    std::shared_ptr<DataVersionProbe> probe;  // null: PosixDataVersionProbe
    Resolve resolve = Resolve::kAuto;
    // Which side of the share this root is, as messages name it: "remote
    // root" for the remote, "cache root" for the cache (PosixRemoteFs serves
    // both), e.g. "replace 'a.txt' under cache root '/home/u/work': No space
    // left on device".
    std::string side = "remote root";
    // On a FUSE root: how long a directory resolved for reading is reused (0:
    // never), and whether observing stats use the lookup's attributes.
    std::chrono::milliseconds dir_handle_ttl{2000};
    bool stat_from_lookup = true;
  };

  // `root` is an absolute path to the remote root (symlinks above the root
  // are the user's choice and are followed once when the root is opened).
  explicit PosixRemoteFs(std::string root) : PosixRemoteFs(std::move(root), Options{}) {}
  PosixRemoteFs(std::string root, Options options);

  const std::string& root() const { return root_; }
  const std::string& side() const { return side_; }
  // True once pinRoot() found the root on FUSE (the savings above apply).
  bool fuseRoot() const { return fuse_root_.load(); }
  // Directories kept for reads right now (tests).
  size_t dirHandlesKept() const { return dir_handles_.size(); }

  Result<Stat> lstat(const RelPath& path) override;
  Result<std::vector<DirEntry>> listDir(const RelPath& dir) override;
  Result<std::vector<WalkEntry>> walk(const RelPath& dir) override;
  Result<Stat> fetchFile(const RelPath& path, int out_fd, const ProgressFn& progress) override;
  Result<std::string> readSmallFile(const RelPath& path, size_t max_bytes) override;
  Result<OpenedFile> openRead(const RelPath& path) override;
  Result<UniqueFd> openTemp() override;
  Result<Stat> replaceFile(const RelPath& path, int src_fd, const Expect& expect,
                           const ReplaceOptions& options, const ProgressFn& progress) override;
  Result<Stat> linkNewFile(const RelPath& path, int tmp_fd, const ReplaceOptions& options) override;
  Status mkdir(const RelPath& path, uint32_t mode) override;
  Status rmdir(const RelPath& path, const Expect& expect) override;
  Status unlink(const RelPath& path, const Expect& expect) override;
  Status rename(const RelPath& from, const RelPath& to, const Expect& from_expect,
                const Expect& to_expect) override;
  Status symlink(const RelPath& path, const std::string& target, const Expect& expect) override;
  Status chmod(const RelPath& path, uint32_t mode) override;
  Status setMtime(const RelPath& path, int64_t mtime_ns) override;
  Result<std::string> getXattr(const RelPath& path, const std::string& name) override;
  Status setXattr(const RelPath& path, const std::string& name, const std::string& value) override;
  Status removeXattr(const RelPath& path, const std::string& name) override;
  Result<std::vector<std::string>> listXattrs(const RelPath& path) override;
  Result<FsStats> statfs() override;
  Status syncAll() override;
  Result<std::string> dataVersion(const RelPath& path) override;
  Result<uint64_t> removeStaleTemps(const RelPath& dir) override;
  Status pinRoot() override;
  // The directory's fd (O_RDONLY) stays open while the walk examines its
  // entries: a stat is one fstatat relative to it (no path resolved again),
  // a subdirectory is opened relative to it (one lookup, not one per level).
  Result<std::shared_ptr<RemoteDir>> openDir(const RelPath& dir) override;

 private:
  // The directory that holds a path's final component, resolved beneath the
  // root; `name` is that component ("." for the root itself).
  struct Parent {
    UniqueFd dir;  // O_PATH directory fd
    std::string name;
  };

  // A regular file beneath the root, opened for reading without following a
  // symlink (kInvalidArgument for a symlink or anything not a regular file).
  struct OpenFile {
    Parent parent;
    UniqueFd fd;
    struct stat st;
  };
  Result<OpenFile> openRegularFile(const RelPath& path, std::string_view op) const;

  std::string describe(std::string_view op, const RelPath& path) const;
  Result<UniqueFd> openRoot(std::string_view op) const;
  // Device of the root as pinned by pinRoot(); 0 while unpinned. Compared on
  // every openRoot() from cached attributes (no round trip to the server).
  std::atomic<uint64_t> pinned_dev_{0};
  // Opens directory `rel` beneath `root_fd` with `flags` (O_PATH or O_RDONLY).
  Result<UniqueFd> openDirBeneath(int root_fd, const RelPath& rel, int flags,
                                  std::string_view op) const;
  Result<UniqueFd> openDirComponentwise(int root_fd, const RelPath& rel, int flags,
                                        std::string_view op) const;
  Result<Parent> openParent(const RelPath& path, std::string_view op) const;
  // openParent for a read: through dir_handles_ on a FUSE root; *reused says
  // whether the directory came from there (a failure through it is retried
  // with a fresh resolution).
  Result<Parent> openParentForRead(const RelPath& path, std::string_view op, bool* reused) const;
  // Whether observing stats take the lookup's attributes (posix::Freshness):
  // on a FUSE root, unless turned off.
  bool observeFromLookup() const { return stat_from_lookup_ && fuse_root_.load(); }
  Result<Stat> statAt(int dirfd, const std::string& name, const RelPath& path,
                      std::string_view op) const;
  // Ok if what is at (dirfd, name) satisfies `expect`, else kConflict.
  Status checkExpect(int dirfd, const std::string& name, const Expect& expect, const RelPath& path,
                     std::string_view op) const;
  Status walkInto(const RelPath& dir, bool include_internal, std::vector<WalkEntry>* out) const;

  const std::string root_;
  const std::string side_;
  const std::shared_ptr<DataVersionProbe> probe_;
  const Resolve resolve_;
  // Set once openat2 reports ENOSYS; read and written from any thread.
  mutable std::atomic<bool> openat2_missing_{false};
  const bool stat_from_lookup_;
  // Whether the pinned root is FUSE, and the device that was found on.
  std::atomic<bool> fuse_root_{false};
  std::atomic<uint64_t> fuse_checked_dev_{0};
  mutable DirHandleCache dir_handles_;
};

}  // namespace hoard::remote
