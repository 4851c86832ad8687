// SPDX-License-Identifier: MIT
#pragma once

// A RemoteFs decorator for tests that injects the failures real network
// filesystems produce: EIO, ENOTCONN, ETIMEDOUT, ENOSPC, EACCES, EKEYEXPIRED,
// and calls that hang. Model: leveldb's db/fault_injection_test.cc.
//
// Rules are checked in the order they were added; the first rule whose
// operation and path glob match, whose `skip_first` calls have passed, and
// whose seeded coin comes up fires. A firing rule either returns
// Error::fromErrno(err) without calling the wrapped fs, or hangs the calling
// thread until releaseHangs(), clearRules(), removeRule() of that rule, the
// decorator's destruction, or the rule's `hang_limit`; after that the call
// proceeds to the wrapped fs (as a mount that comes back does), unless
// `err_after_hang` is set. A rule with a `delay` (and no hang) makes the call
// wait that long and then proceed: a slow link, not a broken one.
//
// Directories opened for a walk (openDir) are faulted call by call: opening
// one is kOpenDir, its listing kListDir (the directory's path), the stat of
// an entry kLstat (the entry's path), removing a temporary kRemoveTemp. A
// walk or sweep that runs as such calls (DeadlineRemoteFs) never calls
// walk() or removeStaleTemps() here, so kWalk / kRemoveStaleTemps rules
// then do not fire. The decorator must outlive the calls of its directories.

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "remote/RemoteFs.h"
#include "remote/RemoteOp.h"
#include "common/ThreadAnnotations.h"
#include "remote/WorkerPool.h"

namespace hoard::remote {

struct FaultRule {
  std::optional<RemoteOp> op;  // nullopt: every operation
  // fnmatch(3) pattern over the RelPath without FNM_PATHNAME ('*' also
  // matches '/'); empty matches every path. A rename matches on either path;
  // statfs has the path "".
  std::string path_glob;
  int err = EIO;  // the errno to fail with (ignored when hang)
  bool hang = false;
  uint64_t skip_first = 0;   // let this many matching calls through first
  double probability = 1.0;  // chance a matching call fires (seeded RNG)
  int64_t max_fires = -1;    // fire at most this many times (-1: until cleared)
  std::chrono::milliseconds hang_limit{std::chrono::minutes(10)};
  std::optional<int> err_after_hang;  // a released hang fails with this instead of proceeding
  // When > 0 (and not hang): the call waits this long, then proceeds to the
  // wrapped fs (err is ignored).
  std::chrono::milliseconds delay{0};
  // When > 0: a slow transfer, not a slow start. A matching fetchFile or
  // replaceFile proceeds at once but waits this long after each chunk it
  // copies (each progress report, about 1 MiB), so one big file takes a
  // while and the caller's progress function is asked whether to go on
  // meanwhile. Such a rule never fails a call; the other fields but op and
  // path_glob are ignored.
  std::chrono::milliseconds chunk_delay{0};
  // When set, the rule fires only while the gate returns an errno, which
  // then replaces `err` (e.g. "while this file exists", so a test's script
  // can end a fault in a running daemon). Called under the decorator's lock:
  // it must be quick and must not call the decorator.
  std::function<std::optional<int>()> gate;
};

class FaultyRemoteFs final : public RemoteFs {
 public:
  explicit FaultyRemoteFs(std::shared_ptr<RemoteFs> inner, uint64_t seed = 1);
  // Releases every hang (those calls fail with kAborted without reaching the
  // wrapped fs) and waits until no call is inside a hang.
  ~FaultyRemoteFs() override;

  // Returns an id for removeRule. Any thread.
  int addRule(FaultRule rule);
  void removeRule(int id);  // also releases calls hanging on it
  void clearRules();        // also releases every hang
  void releaseHangs();      // lets every current hang go; rules stay

  // Calls now blocked in a hang.
  size_t hangingCalls() const;
  // Waits until at least `n` calls are hanging or `timeout` passes; true if reached.
  bool waitForHanging(size_t n, std::chrono::milliseconds timeout) const;
  // Calls seen (faulted or not) for `op`, and faults fired in total.
  uint64_t calls(RemoteOp op) const;
  uint64_t faultsFired() const;

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
  Status pinRoot() override { return inner_->pinRoot(); }
  Result<std::shared_ptr<RemoteDir>> openDir(const RelPath& dir) override;

 private:
  class Dir;
  struct ActiveRule {
    FaultRule rule;
    uint64_t matched = 0;
    int64_t fired = 0;
  };

  // Applies the rules to one call: an error to return, or nothing to proceed.
  std::optional<Error> inject(RemoteOp op, const RelPath& path, const RelPath* path2);
  // `progress`, slowed down by the first matching chunk_delay rule.
  ProgressFn slowed(RemoteOp op, const RelPath& path, const ProgressFn& progress);

  const std::shared_ptr<RemoteFs> inner_;
  mutable Mutex mu_;
  mutable CondVar cv_;  // hang released / hang count changed
  std::mt19937_64 rng_ HOARD_GUARDED_BY(mu_);
  std::map<int, ActiveRule> rules_ HOARD_GUARDED_BY(mu_);  // ordered by id = order added
  int next_id_ HOARD_GUARDED_BY(mu_) = 1;
  uint64_t release_epoch_ HOARD_GUARDED_BY(mu_) = 0;  // bumped to let current hangs go
  size_t hanging_ HOARD_GUARDED_BY(mu_) = 0;
  size_t delayed_ HOARD_GUARDED_BY(mu_) = 0;  // calls now waiting out a delay
  bool destroying_ HOARD_GUARDED_BY(mu_) = false;
  uint64_t calls_[kRemoteOpCount] HOARD_GUARDED_BY(mu_) = {};
  uint64_t fired_ HOARD_GUARDED_BY(mu_) = 0;
};

}  // namespace hoard::remote
