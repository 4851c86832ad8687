// SPDX-License-Identifier: MIT
#include "remote/DeadlineRemoteFs.h"

#include <fcntl.h>

#include <cerrno>

#include "common/UniqueFd.h"

namespace hoard::remote {

namespace {

// The worker gets its own descriptor: the caller may close its fd as soon as
// it has given up on the call.
Result<std::shared_ptr<UniqueFd>> dupFd(int fd, const std::string& what) {
  int d = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (d < 0) return failErrno(errno, "duplicate descriptor for remote " + what);
  return std::make_shared<UniqueFd>(d);
}

}  // namespace

DeadlineRemoteFs::DeadlineRemoteFs(std::shared_ptr<RemoteFs> inner,
                                   std::shared_ptr<WorkerPool> pool, Deadlines deadlines,
                                   std::shared_ptr<WorkerPool> walk_pool)
    : inner_(std::move(inner)),
      pool_(std::move(pool)),
      deadlines_(deadlines),
      walk_pool_(std::move(walk_pool)) {}

WorkerPool& DeadlineRemoteFs::walkPool() {
  MutexLock lock(walk_pool_mu_);
  if (!walk_pool_) {
    walk_pool_ = std::make_shared<WorkerPool>(
        WorkerPool::Options{kWalkParallelism, 4 * kWalkParallelism, "hoard-walk"});
  }
  return *walk_pool_;
}

TreeWalkOptions DeadlineRemoteFs::walkOptions() const {
  TreeWalkOptions o;
  o.max_in_flight = kWalkParallelism;
  o.list_deadline = deadlines_.transfer_idle;
  o.stat_deadline = deadlines_.metadata;
  return o;
}

template <class T, class F>
Result<T> DeadlineRemoteFs::meta(std::string what, F&& f) {
  return pool_->run<T>(
      std::move(what), deadlines_.metadata,
      [inner = inner_, f = std::forward<F>(f)](const ProgressFn&) { return f(*inner); });
}

Result<Stat> DeadlineRemoteFs::lstat(const RelPath& path) {
  return meta<Stat>("lstat '" + displayPath(path) + "'",
                    [path](RemoteFs& fs) { return fs.lstat(path); });
}

Result<std::vector<DirEntry>> DeadlineRemoteFs::listDir(const RelPath& dir) {
  return pool_->run<std::vector<DirEntry>>(
      "list '" + displayPath(dir) + "'", deadlines_.transfer_idle,
      [inner = inner_, dir](const ProgressFn&) { return inner->listDir(dir); });
}

Result<std::vector<WalkEntry>> DeadlineRemoteFs::walk(const RelPath& dir) {
  auto parallel = parallelWalk(inner_, walkPool(), dir, walkOptions());
  if (parallel || parallel.error().code() != ErrorCode::kUnsupported) return parallel;
  return pool_->run<std::vector<WalkEntry>>(
      "walk '" + displayPath(dir) + "'", deadlines_.transfer_idle,
      [inner = inner_, dir](const ProgressFn&) { return inner->walk(dir); });
}

Result<Stat> DeadlineRemoteFs::fetchFile(const RelPath& path, int out_fd,
                                         const ProgressFn& progress) {
  std::string what = "fetch '" + displayPath(path) + "'";
  auto fd = dupFd(out_fd, what);
  if (!fd) return tl::unexpected(fd.error());
  return pool_->run<Stat>(
      std::move(what), deadlines_.transfer_idle,
      [inner = inner_, path, fd = *fd](const ProgressFn& p) {
        return inner->fetchFile(path, fd->get(), p);
      },
      progress);
}

Result<std::string> DeadlineRemoteFs::readSmallFile(const RelPath& path, size_t max_bytes) {
  return meta<std::string>("read '" + displayPath(path) + "'", [path, max_bytes](RemoteFs& fs) {
    return fs.readSmallFile(path, max_bytes);
  });
}

Result<OpenedFile> DeadlineRemoteFs::openRead(const RelPath& path) {
  return meta<OpenedFile>("open '" + displayPath(path) + "'",
                          [path](RemoteFs& fs) { return fs.openRead(path); });
}

Result<UniqueFd> DeadlineRemoteFs::openTemp() {
  return meta<UniqueFd>("create a temporary file", [](RemoteFs& fs) { return fs.openTemp(); });
}

Result<Stat> DeadlineRemoteFs::replaceFile(const RelPath& path, int src_fd, const Expect& expect,
                                           const ReplaceOptions& options,
                                           const ProgressFn& progress) {
  std::string what = "replace '" + displayPath(path) + "'";
  auto fd = dupFd(src_fd, what);
  if (!fd) return tl::unexpected(fd.error());
  return pool_->run<Stat>(
      std::move(what), deadlines_.transfer_idle,
      [inner = inner_, path, fd = *fd, expect, options](const ProgressFn& p) {
        return inner->replaceFile(path, fd->get(), expect, options, p);
      },
      progress);
}

Status DeadlineRemoteFs::mkdir(const RelPath& path, uint32_t mode) {
  return meta<void>("mkdir '" + displayPath(path) + "'",
                    [path, mode](RemoteFs& fs) { return fs.mkdir(path, mode); });
}

Status DeadlineRemoteFs::rmdir(const RelPath& path, const Expect& expect) {
  return meta<void>("rmdir '" + displayPath(path) + "'",
                    [path, expect](RemoteFs& fs) { return fs.rmdir(path, expect); });
}

Status DeadlineRemoteFs::unlink(const RelPath& path, const Expect& expect) {
  return meta<void>("unlink '" + displayPath(path) + "'",
                    [path, expect](RemoteFs& fs) { return fs.unlink(path, expect); });
}

Status DeadlineRemoteFs::rename(const RelPath& from, const RelPath& to, const Expect& from_expect,
                                const Expect& to_expect) {
  return meta<void>("rename '" + displayPath(from) + "' to '" + displayPath(to) + "'",
                    [from, to, from_expect, to_expect](RemoteFs& fs) {
                      return fs.rename(from, to, from_expect, to_expect);
                    });
}

Status DeadlineRemoteFs::symlink(const RelPath& path, const std::string& target,
                                 const Expect& expect) {
  return meta<void>("symlink '" + displayPath(path) + "'", [path, target, expect](RemoteFs& fs) {
    return fs.symlink(path, target, expect);
  });
}

Status DeadlineRemoteFs::chmod(const RelPath& path, uint32_t mode) {
  return meta<void>("chmod '" + displayPath(path) + "'",
                    [path, mode](RemoteFs& fs) { return fs.chmod(path, mode); });
}

Status DeadlineRemoteFs::setMtime(const RelPath& path, int64_t mtime_ns) {
  return meta<void>("set mtime '" + displayPath(path) + "'",
                    [path, mtime_ns](RemoteFs& fs) { return fs.setMtime(path, mtime_ns); });
}

Result<std::string> DeadlineRemoteFs::getXattr(const RelPath& path, const std::string& name) {
  return meta<std::string>("getxattr '" + displayPath(path) + "'",
                           [path, name](RemoteFs& fs) { return fs.getXattr(path, name); });
}

Status DeadlineRemoteFs::setXattr(const RelPath& path, const std::string& name,
                                  const std::string& value) {
  return meta<void>("setxattr '" + displayPath(path) + "'",
                    [path, name, value](RemoteFs& fs) { return fs.setXattr(path, name, value); });
}

Status DeadlineRemoteFs::removeXattr(const RelPath& path, const std::string& name) {
  return meta<void>("removexattr '" + displayPath(path) + "'",
                    [path, name](RemoteFs& fs) { return fs.removeXattr(path, name); });
}

Result<std::vector<std::string>> DeadlineRemoteFs::listXattrs(const RelPath& path) {
  return meta<std::vector<std::string>>("listxattr '" + displayPath(path) + "'",
                                        [path](RemoteFs& fs) { return fs.listXattrs(path); });
}

Status DeadlineRemoteFs::syncAll() {
  return meta<void>("sync", [](RemoteFs& fs) { return fs.syncAll(); });
}

Result<FsStats> DeadlineRemoteFs::statfs() {
  return meta<FsStats>("statfs", [](RemoteFs& fs) { return fs.statfs(); });
}

Result<std::string> DeadlineRemoteFs::dataVersion(const RelPath& path) {
  return meta<std::string>("data version '" + displayPath(path) + "'",
                           [path](RemoteFs& fs) { return fs.dataVersion(path); });
}

Result<uint64_t> DeadlineRemoteFs::removeStaleTemps(const RelPath& dir) {
  auto parallel = parallelRemoveStaleTemps(inner_, walkPool(), dir, walkOptions());
  if (parallel || parallel.error().code() != ErrorCode::kUnsupported) return parallel;
  return pool_->run<uint64_t>(
      "remove stale temporaries under '" + displayPath(dir) + "'", deadlines_.transfer_idle,
      [inner = inner_, dir](const ProgressFn&) { return inner->removeStaleTemps(dir); });
}

Status DeadlineRemoteFs::pinRoot() {
  return meta<void>("pin the remote root", [](RemoteFs& fs) { return fs.pinRoot(); });
}

namespace {

// A directory of the wrapped fs; every call on the pool under a deadline.
class DeadlineRemoteDir final : public RemoteDir {
 public:
  DeadlineRemoteDir(std::shared_ptr<RemoteDir> inner, std::shared_ptr<WorkerPool> pool,
                    DeadlineRemoteFs::Deadlines deadlines)
      : inner_(std::move(inner)), pool_(std::move(pool)), deadlines_(deadlines) {}

  const RelPath& path() const override { return inner_->path(); }

  Result<std::vector<DirEntry>> list(bool include_internal) override {
    return pool_->run<std::vector<DirEntry>>(
        "list '" + displayPath(path()) + "'", deadlines_.transfer_idle,
        [inner = inner_, include_internal](const ProgressFn&) {
          return inner->list(include_internal);
        });
  }
  Result<Stat> stat(const std::string& name) override {
    return pool_->run<Stat>("lstat '" + displayPath(joinPath(path(), name)) + "'",
                            deadlines_.metadata,
                            [inner = inner_, name](const ProgressFn&) { return inner->stat(name); });
  }
  Result<std::shared_ptr<RemoteDir>> openDir(const std::string& name) override {
    auto d = pool_->run<std::shared_ptr<RemoteDir>>(
        "open '" + displayPath(joinPath(path(), name)) + "'", deadlines_.metadata,
        [inner = inner_, name](const ProgressFn&) { return inner->openDir(name); });
    if (!d) return d;
    return std::shared_ptr<RemoteDir>(
        std::make_shared<DeadlineRemoteDir>(std::move(*d), pool_, deadlines_));
  }
  Result<bool> removeTemp(const std::string& name) override {
    return pool_->run<bool>(
        "remove stale temporary '" + displayPath(joinPath(path(), name)) + "'",
        deadlines_.metadata,
        [inner = inner_, name](const ProgressFn&) { return inner->removeTemp(name); });
  }

 private:
  const std::shared_ptr<RemoteDir> inner_;
  const std::shared_ptr<WorkerPool> pool_;
  const DeadlineRemoteFs::Deadlines deadlines_;
};

}  // namespace

Result<std::shared_ptr<RemoteDir>> DeadlineRemoteFs::openDir(const RelPath& dir) {
  auto d = pool_->run<std::shared_ptr<RemoteDir>>(
      "open '" + displayPath(dir) + "'", deadlines_.metadata,
      [inner = inner_, dir](const ProgressFn&) { return inner->openDir(dir); });
  if (!d) return d;
  return std::shared_ptr<RemoteDir>(
      std::make_shared<DeadlineRemoteDir>(std::move(*d), pool_, deadlines_));
}

}  // namespace hoard::remote
