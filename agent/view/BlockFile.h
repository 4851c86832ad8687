// SPDX-License-Identifier: MIT
#pragma once

// The local copy of a placeholder's data, fetched in blocks: a sparse data
// file and a presence map, one byte per block, both in the view's parts
// directory (never in the cache root, which holds only what the engine
// hoards). A block is present for readers once its bytes are written whole;
// its byte in the map on disk is written only after its bytes are durable
// (fdatasync, batched: flush()), so a crash or a fetch cut short leaves a
// block missing, never partial data taken as complete.
//
// A copy belongs to one version of the remote file (size, mtime, inode, as
// listed); opened for another version it starts empty, so data of two
// versions is never spliced together.
//
// Threads: a BlockFile may be shared; every method may be called from any
// thread (its own lock).

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/Error.h"
#include "common/FileMeta.h"
#include "common/RelPath.h"
#include "common/ThreadAnnotations.h"
#include "common/UniqueFd.h"

namespace hoard::view {

inline constexpr uint64_t kDefaultBlockSize = 256 * 1024;

// The version of a remote file a copy belongs to.
struct BlockVersion {
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  uint64_t inode = 0;

  static BlockVersion of(const FileMeta& m) { return {m.size, m.mtime_ns, m.inode}; }
  bool operator==(const BlockVersion&) const = default;
};

class BlockFile {
 public:
  // Opens (or creates) the copy of `path` in the directory `parts_dir_fd`
  // for `version`; a copy of another version is emptied first. Errors: the
  // filesystem's, naming the parts file.
  static Result<std::unique_ptr<BlockFile>> open(int parts_dir_fd, const std::string& parts_dir,
                                                 const RelPath& path, const BlockVersion& version,
                                                 uint64_t block_size);

  // Deletes the copy of `path` (a placeholder again: nothing of it is
  // local). A BlockFile of it still open keeps its now unnamed files until
  // it is dropped. Returns the bytes of disk it held (0 if there was none).
  // Errors: the filesystem's, naming the parts file.
  static Result<uint64_t> remove(int parts_dir_fd, const std::string& parts_dir,
                                 const RelPath& path);

  const BlockVersion& version() const { return version_; }
  uint64_t blockSize() const { return block_size_; }
  uint64_t blockCount() const;

  // The blocks overlapping [offset, offset + length) (clipped at the end of
  // the file) that are not present, in order.
  std::vector<uint64_t> missing(uint64_t offset, uint64_t length) const HOARD_EXCLUDES(mu_);
  bool complete() const HOARD_EXCLUDES(mu_);

  // Claims for the caller, in order, up to `max` blocks overlapping
  // [offset, offset + length) that are neither present nor claimed by
  // another fetch, so two readers never fetch the same block. Sets
  // *others if some missing block of the range is another's. The caller
  // stores what it fetched, then unclaim()s every block it claimed (fetched
  // or not: a failed fetch leaves them missing for the next reader).
  std::vector<uint64_t> claim(uint64_t offset, uint64_t length, size_t max, bool* others)
      HOARD_EXCLUDES(mu_);
  // Claims block `b` alone if it is missing and unclaimed (read-ahead).
  bool claimBlock(uint64_t b) HOARD_EXCLUDES(mu_);
  void unclaim(const std::vector<uint64_t>& blocks) HOARD_EXCLUDES(mu_);
  // Waits until no block of [offset, offset + length) is claimed, or until
  // `until`; true if none is.
  bool waitUnclaimed(uint64_t offset, uint64_t length,
                     std::chrono::steady_clock::time_point until) const HOARD_EXCLUDES(mu_);

  // Stores blocks: each `bytes` must be the whole block (shorter only for
  // the last one). Present for readers when it returns; recorded on disk by
  // the next flush(). Never syncs: see flushDue().
  Status storeAll(const std::vector<std::pair<uint64_t, std::string>>& blocks)
      HOARD_EXCLUDES(mu_, flush_mu_);
  // True once 32 MiB are stored and not yet flushed: the owner should
  // flush() soon, off the readers' path (ViewCore's flusher).
  bool flushDue() const HOARD_EXCLUDES(mu_);
  // Makes the stored blocks durable (one fdatasync), then marks them in the
  // map on disk. Called when a reader closes the file and on destruction.
  Status flush() HOARD_EXCLUDES(mu_, flush_mu_);
  ~BlockFile();

  // Reads present data; the caller checked missing() is empty for the range.
  Result<size_t> read(char* buf, size_t length, uint64_t offset) const;

 private:
  BlockFile(UniqueFd data, UniqueFd map, std::string name, BlockVersion v, uint64_t block_size,
            std::vector<uint8_t> present);

  UniqueFd data_;
  UniqueFd map_;
  std::string name_;  // the data file's path, for messages
  BlockVersion version_;
  uint64_t block_size_;
  Mutex flush_mu_;  // one flush at a time; taken before mu_
  mutable Mutex mu_;
  mutable CondVar unclaimed_cv_;
  std::vector<uint8_t> present_ HOARD_GUARDED_BY(mu_);
  std::vector<uint8_t> claimed_ HOARD_GUARDED_BY(mu_);  // being fetched
  std::vector<uint64_t> pending_ HOARD_GUARDED_BY(mu_);  // stored, not yet marked on disk
  uint64_t pending_bytes_ HOARD_GUARDED_BY(mu_) = 0;
};

}  // namespace hoard::view
