// SPDX-License-Identifier: MIT
#pragma once

// A RemoteFs decorator that counts the calls made through it, by operation,
// so a pass's round trips to the remote can be reported and compared (the
// bench's network scenario; tests that check a walk makes one stat per entry
// and one listing per directory). Calls of directories opened through it
// (openDir) are counted too: their listing as kListDir, an entry's stat as
// kLstat, opening a subdirectory as kOpenDir, removing a temporary as
// kRemoveTemp. Counting costs a few atomic operations; nothing else changes.
// It also keeps the peak of calls running at once.
//
// Stack it directly over the real filesystem (under DeadlineRemoteFs) to
// count what reaches the mount. Threads: any.

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "remote/RemoteFs.h"
#include "remote/RemoteOp.h"

namespace hoard::remote {

struct RemoteCallCounts {
  std::array<uint64_t, kRemoteOpCount> calls{};
  // The most calls that were running at once (since resetPeak): how much of
  // the link's latency concurrency hid. A difference keeps the later peak.
  uint64_t peak_in_flight = 0;
  // The same for each operation alone (e.g. fetches running at once).
  std::array<uint64_t, kRemoteOpCount> peak{};

  uint64_t peakOf(RemoteOp op) const { return peak[static_cast<size_t>(op)]; }

  uint64_t of(RemoteOp op) const { return calls[static_cast<size_t>(op)]; }
  uint64_t total() const;
  // Every call but the data transfers (fetchFile, replaceFile, readSmallFile,
  // openRead).
  uint64_t metadata() const;
  // "lstat 5200, listDir 310, openDir 310, fetchFile 5000" (non-zero ones, in op order).
  std::string summary() const;
  RemoteCallCounts operator-(const RemoteCallCounts& before) const;
};

class CountingRemoteFs final : public RemoteFs {
 public:
  explicit CountingRemoteFs(std::shared_ptr<RemoteFs> inner);

  RemoteCallCounts counts() const;
  // Starts measuring peak_in_flight afresh (from the calls running now).
  void resetPeak();

  Result<Stat> lstat(const RelPath& path) override;
  Result<std::vector<DirEntry>> listDir(const RelPath& dir) override;
  Result<std::vector<WalkEntry>> walk(const RelPath& dir) override;
  Result<Stat> fetchFile(const RelPath& path, int out_fd, const ProgressFn& progress) override;
  Result<std::string> readSmallFile(const RelPath& path, size_t max_bytes) override;
  Result<OpenedFile> openRead(const RelPath& path) override;
  Result<UniqueFd> openTemp() override;
  Result<Stat> replaceFile(const RelPath& path, int src_fd, const Expect& expect,
                           const ReplaceOptions& options, const ProgressFn& progress) override;
  // Counted as kReplaceFile.
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
  Status pinRoot() override { return inner_->pinRoot(); }
  Result<std::shared_ptr<RemoteDir>> openDir(const RelPath& dir) override;

  // Shared with the directories opened through it (they may outlive it).
  struct Counters;
  // One call running: counted in flight until destroyed.
  class Busy {
   public:
    Busy(Counters* c, RemoteOp op) : c_(c), op_(op) {}
    Busy(const Busy&) = delete;
    Busy& operator=(const Busy&) = delete;
    ~Busy();

   private:
    Counters* c_;
    RemoteOp op_;
  };
  struct Counters {
    std::array<std::atomic<uint64_t>, kRemoteOpCount> calls{};
    std::atomic<uint64_t> in_flight{0};
    std::atomic<uint64_t> peak{0};
    std::array<std::atomic<uint64_t>, kRemoteOpCount> op_in_flight{};
    std::array<std::atomic<uint64_t>, kRemoteOpCount> op_peak{};
    [[nodiscard]] Busy bump(RemoteOp op);
  };

 private:
  const std::shared_ptr<RemoteFs> inner_;
  const std::shared_ptr<Counters> counters_;
};

}  // namespace hoard::remote
