// SPDX-License-Identifier: MIT
#pragma once

// A RemoteFs decorator that runs every call of the wrapped one on a
// WorkerPool under a deadline, so a hung mount never blocks the caller for
// longer than the deadline (see WorkerPool for the rules).
//
// On kTimeout the call may still complete later on its worker and its result
// is discarded. What that leaves behind is restart-safe by construction of
// RemoteFs: a replaceFile leaves at most a `.hoard-tmp-*` file, never a
// truncated target; a fetchFile may still write into (a duplicate of) the
// caller's out_fd, so the caller must throw that local file away.

#include <chrono>
#include <memory>

#include "remote/RemoteFs.h"
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

  // Both are shared: one pool usually serves every share, and abandoned
  // calls keep `inner` alive until they return.
  DeadlineRemoteFs(std::shared_ptr<RemoteFs> inner, std::shared_ptr<WorkerPool> pool,
                   Deadlines deadlines);

  Result<Stat> lstat(const RelPath& path) override;
  Result<std::vector<DirEntry>> listDir(const RelPath& dir) override;
  Result<std::vector<WalkEntry>> walk(const RelPath& dir) override;
  Result<Stat> fetchFile(const RelPath& path, int out_fd, const ProgressFn& progress) override;
  Result<std::string> readSmallFile(const RelPath& path, size_t max_bytes) override;
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
  Result<std::string> dataVersion(const RelPath& path) override;
  Result<uint64_t> removeStaleTemps(const RelPath& dir) override;
  Status pinRoot() override;

 private:
  template <class T, class F>
  Result<T> meta(std::string what, F&& f);

  const std::shared_ptr<RemoteFs> inner_;
  const std::shared_ptr<WorkerPool> pool_;
  const Deadlines deadlines_;
};

}  // namespace hoard::remote
