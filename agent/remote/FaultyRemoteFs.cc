// SPDX-License-Identifier: MIT
#include "remote/FaultyRemoteFs.h"

#include <fnmatch.h>

#include <thread>

namespace hoard::remote {

std::string_view remoteOpName(RemoteOp op) {
  switch (op) {
    case RemoteOp::kLstat:
      return "lstat";
    case RemoteOp::kListDir:
      return "listDir";
    case RemoteOp::kWalk:
      return "walk";
    case RemoteOp::kFetchFile:
      return "fetchFile";
    case RemoteOp::kReadSmallFile:
      return "readSmallFile";
    case RemoteOp::kReplaceFile:
      return "replaceFile";
    case RemoteOp::kMkdir:
      return "mkdir";
    case RemoteOp::kRmdir:
      return "rmdir";
    case RemoteOp::kUnlink:
      return "unlink";
    case RemoteOp::kRename:
      return "rename";
    case RemoteOp::kSymlink:
      return "symlink";
    case RemoteOp::kChmod:
      return "chmod";
    case RemoteOp::kSetMtime:
      return "setMtime";
    case RemoteOp::kGetXattr:
      return "getXattr";
    case RemoteOp::kSetXattr:
      return "setXattr";
    case RemoteOp::kRemoveXattr:
      return "removeXattr";
    case RemoteOp::kListXattrs:
      return "listXattrs";
    case RemoteOp::kStatfs:
      return "statfs";
    case RemoteOp::kDataVersion:
      return "dataVersion";
    case RemoteOp::kRemoveStaleTemps:
      return "removeStaleTemps";
    case RemoteOp::kOpenDir:
      return "openDir";
    case RemoteOp::kRemoveTemp:
      return "removeTemp";
    case RemoteOp::kOpenRead:
      return "openRead";
    case RemoteOp::kOpenTemp:
      return "openTemp";
  }
  return "unknown";
}

FaultyRemoteFs::FaultyRemoteFs(std::shared_ptr<RemoteFs> inner, uint64_t seed)
    : inner_(std::move(inner)), rng_(seed) {}

FaultyRemoteFs::~FaultyRemoteFs() {
  MutexLock lock(mu_);
  destroying_ = true;
  cv_.notifyAll();
  while (hanging_ != 0 || delayed_ != 0) cv_.wait(mu_);
}

int FaultyRemoteFs::addRule(FaultRule rule) {
  MutexLock lock(mu_);
  int id = next_id_++;
  rules_.emplace(id, ActiveRule{std::move(rule)});
  return id;
}

void FaultyRemoteFs::removeRule(int id) {
  MutexLock lock(mu_);
  rules_.erase(id);
  cv_.notifyAll();
}

void FaultyRemoteFs::clearRules() {
  MutexLock lock(mu_);
  rules_.clear();
  ++release_epoch_;
  cv_.notifyAll();
}

void FaultyRemoteFs::releaseHangs() {
  MutexLock lock(mu_);
  ++release_epoch_;
  cv_.notifyAll();
}

size_t FaultyRemoteFs::hangingCalls() const {
  MutexLock lock(mu_);
  return hanging_;
}

bool FaultyRemoteFs::waitForHanging(size_t n, std::chrono::milliseconds timeout) const {
  const auto until = std::chrono::steady_clock::now() + timeout;
  MutexLock lock(mu_);
  while (hanging_ < n)
    if (!cv_.waitUntil(mu_, until)) return hanging_ >= n;
  return true;
}

uint64_t FaultyRemoteFs::calls(RemoteOp op) const {
  MutexLock lock(mu_);
  return calls_[static_cast<size_t>(op)];
}

uint64_t FaultyRemoteFs::faultsFired() const {
  MutexLock lock(mu_);
  return fired_;
}

std::optional<Error> FaultyRemoteFs::inject(RemoteOp op, const RelPath& path,
                                            const RelPath* path2) {
  MutexLock lock(mu_);
  ++calls_[static_cast<size_t>(op)];
  auto matches = [&](const std::string& glob) {
    if (glob.empty()) return true;
    if (::fnmatch(glob.c_str(), path.c_str(), 0) == 0) return true;
    return path2 != nullptr && ::fnmatch(glob.c_str(), path2->c_str(), 0) == 0;
  };
  for (auto& [id, active] : rules_) {
    const FaultRule& r = active.rule;
    if (r.chunk_delay.count() > 0) continue;  // see slowed()
    if (r.op && *r.op != op) continue;
    if (!matches(r.path_glob)) continue;
    std::optional<int> gated;
    if (r.gate && !(gated = r.gate())) continue;
    if (active.matched++ < r.skip_first) continue;
    if (r.max_fires >= 0 && active.fired >= r.max_fires) continue;
    if (r.probability < 1.0) {
      std::uniform_real_distribution<double> coin(0.0, 1.0);
      if (coin(rng_) >= r.probability) continue;
    }
    ++active.fired;
    ++fired_;
    std::string what =
        "injected fault in " + std::string(remoteOpName(op)) + " '" + displayPath(path) + "'";
    if (!r.hang && r.delay.count() > 0) {
      const auto until = std::chrono::steady_clock::now() + r.delay;
      ++delayed_;
      while (!destroying_)
        if (!cv_.waitUntil(mu_, until)) break;
      --delayed_;
      cv_.notifyAll();
      if (destroying_)
        return Error(ErrorCode::kAborted, what + ": fault injector destroyed", ECANCELED);
      return std::nullopt;
    }
    if (!r.hang) return Error::fromErrno(gated.value_or(r.err), what);

    const int rule_id = id;
    const uint64_t epoch = release_epoch_;
    const auto limit = r.hang_limit;
    const std::optional<int> err_after = r.err_after_hang;
    ++hanging_;
    cv_.notifyAll();
    const auto until = std::chrono::steady_clock::now() + limit;
    while (!destroying_ && release_epoch_ == epoch && rules_.count(rule_id) != 0)
      if (!cv_.waitUntil(mu_, until)) break;
    --hanging_;
    cv_.notifyAll();
    // The destructor is waiting for us: return without touching inner_.
    if (destroying_)
      return Error(ErrorCode::kAborted, what + ": fault injector destroyed", ECANCELED);
    if (err_after) return Error::fromErrno(*err_after, what + " (after a hang)");
    return std::nullopt;
  }
  return std::nullopt;
}

ProgressFn FaultyRemoteFs::slowed(RemoteOp op, const RelPath& path, const ProgressFn& progress) {
  std::chrono::milliseconds pause{0};
  {
    MutexLock lock(mu_);
    for (const auto& [id, active] : rules_) {
      const FaultRule& r = active.rule;
      if (r.chunk_delay.count() == 0 || (r.op && *r.op != op)) continue;
      if (!r.path_glob.empty() && ::fnmatch(r.path_glob.c_str(), path.c_str(), 0) != 0) continue;
      pause = r.chunk_delay;
      break;
    }
  }
  if (pause.count() == 0) return progress;
  return [pause, progress](uint64_t done) {
    std::this_thread::sleep_for(pause);
    return progress ? progress(done) : true;
  };
}

#define HOARD_FAULT(op, path, path2)                       \
  if (auto injected = inject(op, path, path2); injected) { \
    return tl::unexpected(std::move(*injected));           \
  }

Result<Stat> FaultyRemoteFs::lstat(const RelPath& path) {
  HOARD_FAULT(RemoteOp::kLstat, path, nullptr);
  return inner_->lstat(path);
}

Result<std::vector<DirEntry>> FaultyRemoteFs::listDir(const RelPath& dir) {
  HOARD_FAULT(RemoteOp::kListDir, dir, nullptr);
  return inner_->listDir(dir);
}

Result<std::vector<WalkEntry>> FaultyRemoteFs::walk(const RelPath& dir) {
  HOARD_FAULT(RemoteOp::kWalk, dir, nullptr);
  return inner_->walk(dir);
}

Result<Stat> FaultyRemoteFs::fetchFile(const RelPath& path, int out_fd,
                                       const ProgressFn& progress) {
  HOARD_FAULT(RemoteOp::kFetchFile, path, nullptr);
  return inner_->fetchFile(path, out_fd, slowed(RemoteOp::kFetchFile, path, progress));
}

Result<std::string> FaultyRemoteFs::readSmallFile(const RelPath& path, size_t max_bytes) {
  HOARD_FAULT(RemoteOp::kReadSmallFile, path, nullptr);
  return inner_->readSmallFile(path, max_bytes);
}

Result<OpenedFile> FaultyRemoteFs::openRead(const RelPath& path) {
  HOARD_FAULT(RemoteOp::kOpenRead, path, nullptr);
  return inner_->openRead(path);
}

Result<UniqueFd> FaultyRemoteFs::openTemp() {
  HOARD_FAULT(RemoteOp::kOpenTemp, RelPath(), nullptr);
  return inner_->openTemp();
}

Result<Stat> FaultyRemoteFs::replaceFile(const RelPath& path, int src_fd, const Expect& expect,
                                         const ReplaceOptions& options,
                                         const ProgressFn& progress) {
  HOARD_FAULT(RemoteOp::kReplaceFile, path, nullptr);
  return inner_->replaceFile(path, src_fd, expect, options,
                             slowed(RemoteOp::kReplaceFile, path, progress));
}

Status FaultyRemoteFs::mkdir(const RelPath& path, uint32_t mode) {
  HOARD_FAULT(RemoteOp::kMkdir, path, nullptr);
  return inner_->mkdir(path, mode);
}

Status FaultyRemoteFs::rmdir(const RelPath& path, const Expect& expect) {
  HOARD_FAULT(RemoteOp::kRmdir, path, nullptr);
  return inner_->rmdir(path, expect);
}

Status FaultyRemoteFs::unlink(const RelPath& path, const Expect& expect) {
  HOARD_FAULT(RemoteOp::kUnlink, path, nullptr);
  return inner_->unlink(path, expect);
}

Status FaultyRemoteFs::rename(const RelPath& from, const RelPath& to, const Expect& from_expect,
                              const Expect& to_expect) {
  HOARD_FAULT(RemoteOp::kRename, from, &to);
  return inner_->rename(from, to, from_expect, to_expect);
}

Status FaultyRemoteFs::symlink(const RelPath& path, const std::string& target,
                               const Expect& expect) {
  HOARD_FAULT(RemoteOp::kSymlink, path, nullptr);
  return inner_->symlink(path, target, expect);
}

Status FaultyRemoteFs::chmod(const RelPath& path, uint32_t mode) {
  HOARD_FAULT(RemoteOp::kChmod, path, nullptr);
  return inner_->chmod(path, mode);
}

Status FaultyRemoteFs::setMtime(const RelPath& path, int64_t mtime_ns) {
  HOARD_FAULT(RemoteOp::kSetMtime, path, nullptr);
  return inner_->setMtime(path, mtime_ns);
}

Result<std::string> FaultyRemoteFs::getXattr(const RelPath& path, const std::string& name) {
  HOARD_FAULT(RemoteOp::kGetXattr, path, nullptr);
  return inner_->getXattr(path, name);
}

Status FaultyRemoteFs::setXattr(const RelPath& path, const std::string& name,
                                const std::string& value) {
  HOARD_FAULT(RemoteOp::kSetXattr, path, nullptr);
  return inner_->setXattr(path, name, value);
}

Status FaultyRemoteFs::removeXattr(const RelPath& path, const std::string& name) {
  HOARD_FAULT(RemoteOp::kRemoveXattr, path, nullptr);
  return inner_->removeXattr(path, name);
}

Result<std::vector<std::string>> FaultyRemoteFs::listXattrs(const RelPath& path) {
  HOARD_FAULT(RemoteOp::kListXattrs, path, nullptr);
  return inner_->listXattrs(path);
}

// Passed on without faults: the power-loss test models what a sync leaves.
Status FaultyRemoteFs::syncAll() { return inner_->syncAll(); }

Result<FsStats> FaultyRemoteFs::statfs() {
  static const RelPath kRoot;
  HOARD_FAULT(RemoteOp::kStatfs, kRoot, nullptr);
  return inner_->statfs();
}

Result<std::string> FaultyRemoteFs::dataVersion(const RelPath& path) {
  HOARD_FAULT(RemoteOp::kDataVersion, path, nullptr);
  return inner_->dataVersion(path);
}

Result<uint64_t> FaultyRemoteFs::removeStaleTemps(const RelPath& dir) {
  HOARD_FAULT(RemoteOp::kRemoveStaleTemps, dir, nullptr);
  return inner_->removeStaleTemps(dir);
}

class FaultyRemoteFs::Dir final : public RemoteDir {
 public:
  Dir(FaultyRemoteFs& fs, std::shared_ptr<RemoteDir> inner) : fs_(fs), inner_(std::move(inner)) {}
  const RelPath& path() const override { return inner_->path(); }
  Result<std::vector<DirEntry>> list(bool include_internal) override {
    if (auto injected = fs_.inject(RemoteOp::kListDir, path(), nullptr); injected)
      return tl::unexpected(std::move(*injected));
    return inner_->list(include_internal);
  }
  Result<Stat> stat(const std::string& name) override {
    RelPath p = joinPath(path(), name);
    if (auto injected = fs_.inject(RemoteOp::kLstat, p, nullptr); injected)
      return tl::unexpected(std::move(*injected));
    return inner_->stat(name);
  }
  Result<std::shared_ptr<RemoteDir>> openDir(const std::string& name) override {
    RelPath p = joinPath(path(), name);
    if (auto injected = fs_.inject(RemoteOp::kOpenDir, p, nullptr); injected)
      return tl::unexpected(std::move(*injected));
    auto d = inner_->openDir(name);
    if (!d) return d;
    return std::shared_ptr<RemoteDir>(std::make_shared<Dir>(fs_, std::move(*d)));
  }
  Result<bool> removeTemp(const std::string& name) override {
    RelPath p = joinPath(path(), name);
    if (auto injected = fs_.inject(RemoteOp::kRemoveTemp, p, nullptr); injected)
      return tl::unexpected(std::move(*injected));
    return inner_->removeTemp(name);
  }

 private:
  FaultyRemoteFs& fs_;
  const std::shared_ptr<RemoteDir> inner_;
};

Result<std::shared_ptr<RemoteDir>> FaultyRemoteFs::openDir(const RelPath& dir) {
  HOARD_FAULT(RemoteOp::kOpenDir, dir, nullptr);
  auto d = inner_->openDir(dir);
  if (!d) return d;
  return std::shared_ptr<RemoteDir>(std::make_shared<Dir>(*this, std::move(*d)));
}

#undef HOARD_FAULT

}  // namespace hoard::remote
