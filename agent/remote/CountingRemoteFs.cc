// SPDX-License-Identifier: MIT
#include "remote/CountingRemoteFs.h"

namespace hoard::remote {

uint64_t RemoteCallCounts::total() const {
  uint64_t n = 0;
  for (uint64_t c : calls) n += c;
  return n;
}

uint64_t RemoteCallCounts::metadata() const {
  return total() - of(RemoteOp::kFetchFile) - of(RemoteOp::kReplaceFile) -
         of(RemoteOp::kReadSmallFile) - of(RemoteOp::kOpenRead);
}

std::string RemoteCallCounts::summary() const {
  std::string s;
  for (size_t i = 0; i < kRemoteOpCount; ++i) {
    if (calls[i] == 0) continue;
    if (!s.empty()) s += ", ";
    s += remoteOpName(static_cast<RemoteOp>(i));
    s += ' ';
    s += std::to_string(calls[i]);
  }
  return s.empty() ? "no calls" : s;
}

RemoteCallCounts RemoteCallCounts::operator-(const RemoteCallCounts& before) const {
  RemoteCallCounts d;
  for (size_t i = 0; i < kRemoteOpCount; ++i) d.calls[i] = calls[i] - before.calls[i];
  d.peak_in_flight = peak_in_flight;
  d.peak = peak;
  return d;
}

namespace {

class CountingDir final : public RemoteDir {
 public:
  CountingDir(std::shared_ptr<RemoteDir> inner, std::shared_ptr<CountingRemoteFs::Counters> c)
      : inner_(std::move(inner)), c_(std::move(c)) {}
  const RelPath& path() const override { return inner_->path(); }
  Result<std::vector<DirEntry>> list(bool include_internal) override {
    auto busy = c_->bump(RemoteOp::kListDir);
    return inner_->list(include_internal);
  }
  Result<Stat> stat(const std::string& name) override {
    auto busy = c_->bump(RemoteOp::kLstat);
    return inner_->stat(name);
  }
  Result<std::shared_ptr<RemoteDir>> openDir(const std::string& name) override {
    auto busy = c_->bump(RemoteOp::kOpenDir);
    auto d = inner_->openDir(name);
    if (!d) return d;
    return std::shared_ptr<RemoteDir>(std::make_shared<CountingDir>(std::move(*d), c_));
  }
  Result<bool> removeTemp(const std::string& name) override {
    auto busy = c_->bump(RemoteOp::kRemoveTemp);
    return inner_->removeTemp(name);
  }

 private:
  const std::shared_ptr<RemoteDir> inner_;
  const std::shared_ptr<CountingRemoteFs::Counters> c_;
};

}  // namespace

CountingRemoteFs::CountingRemoteFs(std::shared_ptr<RemoteFs> inner)
    : inner_(std::move(inner)), counters_(std::make_shared<Counters>()) {}

RemoteCallCounts CountingRemoteFs::counts() const {
  RemoteCallCounts out;
  for (size_t i = 0; i < kRemoteOpCount; ++i)
    out.calls[i] = counters_->calls[i].load(std::memory_order_relaxed);
  out.peak_in_flight = counters_->peak.load(std::memory_order_relaxed);
  for (size_t i = 0; i < kRemoteOpCount; ++i)
    out.peak[i] = counters_->op_peak[i].load(std::memory_order_relaxed);
  return out;
}

void CountingRemoteFs::resetPeak() {
  counters_->peak.store(counters_->in_flight.load(std::memory_order_relaxed),
                        std::memory_order_relaxed);
  for (size_t i = 0; i < kRemoteOpCount; ++i)
    counters_->op_peak[i].store(counters_->op_in_flight[i].load(std::memory_order_relaxed),
                                std::memory_order_relaxed);
}

namespace {
void raiseTo(std::atomic<uint64_t>& peak, uint64_t now) {
  uint64_t seen = peak.load(std::memory_order_relaxed);
  while (now > seen && !peak.compare_exchange_weak(seen, now, std::memory_order_relaxed)) {
  }
}
}  // namespace

CountingRemoteFs::Busy::~Busy() {
  c_->in_flight.fetch_sub(1, std::memory_order_relaxed);
  c_->op_in_flight[static_cast<size_t>(op_)].fetch_sub(1, std::memory_order_relaxed);
}

CountingRemoteFs::Busy CountingRemoteFs::Counters::bump(RemoteOp op) {
  const size_t i = static_cast<size_t>(op);
  calls[i].fetch_add(1, std::memory_order_relaxed);
  raiseTo(peak, in_flight.fetch_add(1, std::memory_order_relaxed) + 1);
  raiseTo(op_peak[i], op_in_flight[i].fetch_add(1, std::memory_order_relaxed) + 1);
  return Busy(this, op);
}

Result<Stat> CountingRemoteFs::lstat(const RelPath& path) {
  auto busy = counters_->bump(RemoteOp::kLstat);
  return inner_->lstat(path);
}
Result<std::vector<DirEntry>> CountingRemoteFs::listDir(const RelPath& dir) {
  auto busy = counters_->bump(RemoteOp::kListDir);
  return inner_->listDir(dir);
}
Result<std::vector<WalkEntry>> CountingRemoteFs::walk(const RelPath& dir) {
  auto busy = counters_->bump(RemoteOp::kWalk);
  return inner_->walk(dir);
}
Result<Stat> CountingRemoteFs::fetchFile(const RelPath& path, int out_fd,
                                         const ProgressFn& progress) {
  auto busy = counters_->bump(RemoteOp::kFetchFile);
  return inner_->fetchFile(path, out_fd, progress);
}
Result<std::string> CountingRemoteFs::readSmallFile(const RelPath& path, size_t max_bytes) {
  auto busy = counters_->bump(RemoteOp::kReadSmallFile);
  return inner_->readSmallFile(path, max_bytes);
}
Result<OpenedFile> CountingRemoteFs::openRead(const RelPath& path) {
  auto busy = counters_->bump(RemoteOp::kOpenRead);
  return inner_->openRead(path);
}
Result<UniqueFd> CountingRemoteFs::openTemp() {
  auto busy = counters_->bump(RemoteOp::kOpenTemp);
  return inner_->openTemp();
}
Result<Stat> CountingRemoteFs::replaceFile(const RelPath& path, int src_fd, const Expect& expect,
                                           const ReplaceOptions& options,
                                           const ProgressFn& progress) {
  auto busy = counters_->bump(RemoteOp::kReplaceFile);
  return inner_->replaceFile(path, src_fd, expect, options, progress);
}
Result<Stat> CountingRemoteFs::linkNewFile(const RelPath& path, int tmp_fd,
                                           const ReplaceOptions& options) {
  auto busy = counters_->bump(RemoteOp::kReplaceFile);
  return inner_->linkNewFile(path, tmp_fd, options);
}
Status CountingRemoteFs::mkdir(const RelPath& path, uint32_t mode) {
  auto busy = counters_->bump(RemoteOp::kMkdir);
  return inner_->mkdir(path, mode);
}
Status CountingRemoteFs::rmdir(const RelPath& path, const Expect& expect) {
  auto busy = counters_->bump(RemoteOp::kRmdir);
  return inner_->rmdir(path, expect);
}
Status CountingRemoteFs::unlink(const RelPath& path, const Expect& expect) {
  auto busy = counters_->bump(RemoteOp::kUnlink);
  return inner_->unlink(path, expect);
}
Status CountingRemoteFs::rename(const RelPath& from, const RelPath& to, const Expect& from_expect,
                                const Expect& to_expect) {
  auto busy = counters_->bump(RemoteOp::kRename);
  return inner_->rename(from, to, from_expect, to_expect);
}
Status CountingRemoteFs::symlink(const RelPath& path, const std::string& target,
                                 const Expect& expect) {
  auto busy = counters_->bump(RemoteOp::kSymlink);
  return inner_->symlink(path, target, expect);
}
Status CountingRemoteFs::chmod(const RelPath& path, uint32_t mode) {
  auto busy = counters_->bump(RemoteOp::kChmod);
  return inner_->chmod(path, mode);
}
Status CountingRemoteFs::setMtime(const RelPath& path, int64_t mtime_ns) {
  auto busy = counters_->bump(RemoteOp::kSetMtime);
  return inner_->setMtime(path, mtime_ns);
}
Result<std::string> CountingRemoteFs::getXattr(const RelPath& path, const std::string& name) {
  auto busy = counters_->bump(RemoteOp::kGetXattr);
  return inner_->getXattr(path, name);
}
Status CountingRemoteFs::setXattr(const RelPath& path, const std::string& name,
                                  const std::string& value) {
  auto busy = counters_->bump(RemoteOp::kSetXattr);
  return inner_->setXattr(path, name, value);
}
Status CountingRemoteFs::removeXattr(const RelPath& path, const std::string& name) {
  auto busy = counters_->bump(RemoteOp::kRemoveXattr);
  return inner_->removeXattr(path, name);
}
Result<std::vector<std::string>> CountingRemoteFs::listXattrs(const RelPath& path) {
  auto busy = counters_->bump(RemoteOp::kListXattrs);
  return inner_->listXattrs(path);
}
// Not counted: only the cache side syncs, and the count is of remote calls.
Status CountingRemoteFs::syncAll() { return inner_->syncAll(); }

Result<FsStats> CountingRemoteFs::statfs() {
  auto busy = counters_->bump(RemoteOp::kStatfs);
  return inner_->statfs();
}
Result<std::string> CountingRemoteFs::dataVersion(const RelPath& path) {
  auto busy = counters_->bump(RemoteOp::kDataVersion);
  return inner_->dataVersion(path);
}
Result<uint64_t> CountingRemoteFs::removeStaleTemps(const RelPath& dir) {
  auto busy = counters_->bump(RemoteOp::kRemoveStaleTemps);
  return inner_->removeStaleTemps(dir);
}
Result<std::shared_ptr<RemoteDir>> CountingRemoteFs::openDir(const RelPath& dir) {
  auto busy = counters_->bump(RemoteOp::kOpenDir);
  auto d = inner_->openDir(dir);
  if (!d) return d;
  return std::shared_ptr<RemoteDir>(std::make_shared<CountingDir>(std::move(*d), counters_));
}

}  // namespace hoard::remote
