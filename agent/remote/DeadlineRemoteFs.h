// SPDX-License-Identifier: MIT
#pragma once

// A RemoteFs decorator that runs every call of the wrapped one on a
// WorkerPool under a deadline, so a hung mount never blocks the caller for
// longer than the deadline (see WorkerPool for the rules).
//
// Whole-tree calls (walk, removeStaleTemps) are not one call: where the
// wrapped fs can open directories (RemoteFs::openDir), they run as a tree of
// bounded calls (a listing per directory, a stat per entry), up to
// kWalkParallelism at once on a walk pool of their own, each under its own
// deadline (see TreeWalk.h). A slow link makes a big walk long, never
// "hung"; a call that gets no answer for its deadline fails the walk.
// Where openDir is kUnsupported they run as one call under transfer_idle.
//
// On kTimeout the call may still complete later on its worker and its result
// is discarded. What that leaves behind is restart-safe by construction of
// RemoteFs: a replaceFile leaves at most a `.hoard-tmp-*` file, never a
// truncated target; a fetchFile may still write into (a duplicate of) the
// caller's out_fd, so the caller must throw that local file away.

#include <chrono>
#include <memory>
#include <mutex>

#include "remote/RemoteFs.h"
#include "remote/TreeWalk.h"
#include "remote/WorkerPool.h"

namespace hoard::remote {

class DeadlineRemoteFs final : public RemoteFs {
 public:
  struct Deadlines {
    // Metadata calls (lstat, mkdir, rename, ...) and the connectivity probe.
    std::chrono::milliseconds metadata{10000};
    // Data transfers and walks: the longest time without any progress.
    std::chrono::milliseconds transfer_idle{30000};
  };

  // Calls of a walk in flight at once (the walk pool's size).
  static constexpr size_t kWalkParallelism = 32;

  // Both are shared: one pool usually serves every share, and abandoned
  // calls keep `inner` alive until they return. `walk_pool` runs the calls
  // of walks and sweeps; null: one of kWalkParallelism workers, made at the
  // first walk.
  DeadlineRemoteFs(std::shared_ptr<RemoteFs> inner, std::shared_ptr<WorkerPool> pool,
                   Deadlines deadlines, std::shared_ptr<WorkerPool> walk_pool = nullptr);

  Result<Stat> lstat(const RelPath& path) override;
  Result<std::vector<DirEntry>> listDir(const RelPath& dir) override;
  Result<std::vector<WalkEntry>> walk(const RelPath& dir) override;
  Result<Stat> fetchFile(const RelPath& path, int out_fd, const ProgressFn& progress) override;
  Result<std::string> readSmallFile(const RelPath& path, size_t max_bytes) override;
  Result<OpenedFile> openRead(const RelPath& path) override;
  Result<UniqueFd> openTemp() override;
  Result<Stat> replaceFile(const RelPath& path, int src_fd, const Expect& expect,
                           const ReplaceOptions& options, const ProgressFn& progress) override;
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
  // The wrapped fs's directory, every call of it on the pool under the
  // metadata deadline (listings under transfer_idle).
  Result<std::shared_ptr<RemoteDir>> openDir(const RelPath& dir) override;

 private:
  template <class T, class F>
  Result<T> meta(std::string what, F&& f);
  WorkerPool& walkPool();
  TreeWalkOptions walkOptions() const;

  const std::shared_ptr<RemoteFs> inner_;
  const std::shared_ptr<WorkerPool> pool_;
  const Deadlines deadlines_;
  Mutex walk_pool_mu_;
  std::shared_ptr<WorkerPool> walk_pool_ HOARD_GUARDED_BY(walk_pool_mu_);
};

}  // namespace hoard::remote
