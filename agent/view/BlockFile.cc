// SPDX-License-Identifier: MIT
#include "common/Try.h"
#include "view/BlockFile.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>

#include "common/Hash.h"

namespace hoard::view {

namespace {

// The map file starts with this header (padded to kHeaderSize), then one
// byte per block: 1 present, 0 not.
constexpr size_t kHeaderSize = 96;

std::string header(const BlockVersion& v, uint64_t block_size) {
  char buf[kHeaderSize + 1];
  std::snprintf(buf, sizeof buf, "hoard-blocks 1 %llu %lld %llu %llu\n",
                static_cast<unsigned long long>(v.size), static_cast<long long>(v.mtime_ns),
                static_cast<unsigned long long>(v.inode),
                static_cast<unsigned long long>(block_size));
  std::string h(buf);
  h.resize(kHeaderSize, ' ');
  return h;
}

Result<UniqueFd> openAt(int dirfd, const std::string& name, const std::string& what) {
  UniqueFd fd(::openat(dirfd, name.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd) return failErrno(errno, "open " + what);
  return fd;
}

// The map as stored, if it belongs to `v` and `block_size`; else empty.
std::vector<uint8_t> readMap(int fd, const BlockVersion& v, uint64_t block_size, uint64_t blocks) {
  std::string want = header(v, block_size);
  std::vector<uint8_t> buf(kHeaderSize + blocks);
  ssize_t n = ::pread(fd, buf.data(), buf.size(), 0);
  if (n != static_cast<ssize_t>(buf.size())) return {};
  if (std::string_view(reinterpret_cast<char*>(buf.data()), kHeaderSize) != want) return {};
  return std::vector<uint8_t>(buf.begin() + kHeaderSize, buf.end());
}

}  // namespace

BlockFile::BlockFile(UniqueFd data, UniqueFd map, std::string name, BlockVersion v,
                     uint64_t block_size, std::vector<uint8_t> present)
    : data_(std::move(data)),
      map_(std::move(map)),
      name_(std::move(name)),
      version_(v),
      block_size_(block_size),
      present_(std::move(present)),
      claimed_(present_.size(), 0) {}

Result<std::unique_ptr<BlockFile>> BlockFile::open(int parts_dir_fd, const std::string& parts_dir,
                                                   const RelPath& path, const BlockVersion& v,
                                                   uint64_t block_size) {
  // Named by a hash of the path: a share path can be longer than NAME_MAX.
  std::string stem = hashBytes(path).hex();
  std::string what = parts_dir + "/" + stem + ".data (the local copy of " + displayPath(path) + ")";
  HOARD_TRY_ASSIGN(data, openAt(parts_dir_fd, stem + ".data", what));
  HOARD_TRY_ASSIGN(map, openAt(parts_dir_fd, stem + ".map", what + "'s block map"));
  uint64_t blocks = (v.size + block_size - 1) / block_size;
  std::vector<uint8_t> present = readMap(map.get(), v, block_size, blocks);
  if (present.size() != blocks) {
    // Another version, or never fetched: start empty, in new files. A
    // BlockFile of the old version still in a reader's hands keeps writing
    // to the old (now unnamed) ones, never into this version's.
    present.assign(blocks, 0);
    ::unlinkat(parts_dir_fd, (stem + ".data").c_str(), 0);
    ::unlinkat(parts_dir_fd, (stem + ".map").c_str(), 0);
    HOARD_TRY_ASSIGN(fresh_data, openAt(parts_dir_fd, stem + ".data", what));
    HOARD_TRY_ASSIGN(fresh_map, openAt(parts_dir_fd, stem + ".map", what + "'s block map"));
    std::string fresh = header(v, block_size) + std::string(blocks, '\0');
    if (::ftruncate(fresh_data.get(), static_cast<off_t>(v.size)) != 0) {
      return failErrno(errno, "size " + what);
    }
    if (::pwrite(fresh_map.get(), fresh.data(), fresh.size(), 0) !=
        static_cast<ssize_t>(fresh.size())) {
      return failErrno(errno, "write the block map of " + what);
    }
    data = std::move(fresh_data);
    map = std::move(fresh_map);
  }
  return std::unique_ptr<BlockFile>(new BlockFile(std::move(data), std::move(map), what, v,
                                                  block_size, std::move(present)));
}

Result<uint64_t> BlockFile::remove(int parts_dir_fd, const std::string& parts_dir,
                                   const RelPath& path) {
  std::string stem = hashBytes(path).hex();
  uint64_t freed = 0;
  for (const char* ext : {".data", ".map"}) {
    std::string name = stem + ext;
    struct stat st {};
    if (::fstatat(parts_dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT) continue;
      return failErrno(errno, "stat " + parts_dir + "/" + name + " (the local copy of " +
                                  displayPath(path) + ")");
    }
    if (::unlinkat(parts_dir_fd, name.c_str(), 0) != 0 && errno != ENOENT) {
      return failErrno(errno, "delete " + parts_dir + "/" + name + " (the local copy of " +
                                  displayPath(path) + ")");
    }
    freed += static_cast<uint64_t>(st.st_blocks) * 512;
  }
  return freed;
}

uint64_t BlockFile::blockCount() const { return (version_.size + block_size_ - 1) / block_size_; }

std::vector<uint64_t> BlockFile::missing(uint64_t offset, uint64_t length) const {
  std::vector<uint64_t> out;
  if (offset >= version_.size || length == 0) return out;
  uint64_t end = std::min(version_.size, offset + length);
  MutexLock lock(mu_);
  for (uint64_t b = offset / block_size_; b * block_size_ < end; ++b)
    if (!present_[b]) out.push_back(b);
  return out;
}

bool BlockFile::complete() const {
  MutexLock lock(mu_);
  for (uint8_t p : present_)
    if (!p) return false;
  return true;
}

Status BlockFile::storeAll(const std::vector<std::pair<uint64_t, std::string>>& blocks) {
  for (const auto& [index, bytes] : blocks) {
    uint64_t start = index * block_size_;
    uint64_t want = std::min(block_size_, version_.size - std::min(version_.size, start));
    if (index >= blockCount() || bytes.size() != want) {
      return fail(ErrorCode::kInternal, "store block " + std::to_string(index) + " of " + name_ +
                                            ": " + std::to_string(bytes.size()) +
                                            " bytes, want " + std::to_string(want));
    }
    if (::pwrite(data_.get(), bytes.data(), bytes.size(), static_cast<off_t>(start)) !=
        static_cast<ssize_t>(bytes.size())) {
      return failErrno(errno, "write block " + std::to_string(index) + " of " + name_);
    }
  }
  MutexLock lock(mu_);
  for (const auto& [index, bytes] : blocks) {
    if (present_[index]) continue;
    present_[index] = 1;
    pending_.push_back(index);
    pending_bytes_ += bytes.size();
  }
  return {};
}

bool BlockFile::flushDue() const {
  MutexLock lock(mu_);
  return pending_bytes_ >= 32 * 1024 * 1024;
}

std::vector<uint64_t> BlockFile::claim(uint64_t offset, uint64_t length, size_t max,
                                       bool* others) {
  std::vector<uint64_t> out;
  *others = false;
  if (offset >= version_.size || length == 0) return out;
  uint64_t end = std::min(version_.size, offset + length);
  MutexLock lock(mu_);
  for (uint64_t b = offset / block_size_; b * block_size_ < end; ++b) {
    if (present_[b]) continue;
    if (claimed_[b]) {
      *others = true;
    } else if (out.size() < max) {
      claimed_[b] = 1;
      out.push_back(b);
    }
  }
  return out;
}

bool BlockFile::claimBlock(uint64_t b) {
  MutexLock lock(mu_);
  if (b >= present_.size() || present_[b] || claimed_[b]) return false;
  claimed_[b] = 1;
  return true;
}

void BlockFile::unclaim(const std::vector<uint64_t>& blocks) {
  MutexLock lock(mu_);
  for (uint64_t b : blocks)
    if (b < claimed_.size()) claimed_[b] = 0;
  unclaimed_cv_.notifyAll();
}

bool BlockFile::waitUnclaimed(uint64_t offset, uint64_t length,
                              std::chrono::steady_clock::time_point until) const {
  if (offset >= version_.size || length == 0) return true;
  uint64_t first = offset / block_size_;
  uint64_t end = std::min(version_.size, offset + length);
  MutexLock lock(mu_);
  for (;;) {
    bool any = false;
    for (uint64_t b = first; b * block_size_ < end && !any; ++b) any = claimed_[b];
    if (!any) return true;
    if (std::chrono::steady_clock::now() >= until) return false;
    unclaimed_cv_.waitUntil(mu_, until);
  }
}

Status BlockFile::flush() {
  MutexLock flushing(flush_mu_);
  std::vector<uint64_t> marks;
  {
    MutexLock lock(mu_);
    marks.swap(pending_);
    pending_bytes_ = 0;
  }
  if (marks.empty()) return {};
  // Durable before any of them is marked present on disk.
  if (::fdatasync(data_.get()) != 0) return failErrno(errno, "sync " + name_);
  for (uint64_t index : marks) {
    const uint8_t one = 1;
    if (::pwrite(map_.get(), &one, 1, static_cast<off_t>(kHeaderSize + index)) != 1) {
      return failErrno(errno, "mark block " + std::to_string(index) + " of " + name_);
    }
  }
  return {};
}

BlockFile::~BlockFile() { (void)flush(); }

Result<size_t> BlockFile::read(char* buf, size_t length, uint64_t offset) const {
  ssize_t n = ::pread(data_.get(), buf, length, static_cast<off_t>(offset));
  if (n < 0) return failErrno(errno, "read " + name_);
  return static_cast<size_t>(n);
}

}  // namespace hoard::view
