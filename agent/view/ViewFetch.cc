// SPDX-License-Identifier: MIT
// Reading a placeholder: blocks present in the parts directory are served;
// missing ones are fetched from the remote (online) under a deadline, or
// the share's miss policy decides (offline).

#define FUSE_USE_VERSION 314
#include <fuse3/fuse.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>

#include "common/Try.h"
#include "view/ProgramPolicy.h"
#include "view/ViewCore.h"

namespace hoard::view {

namespace {

// Blocks one fetch brings at most (with 256 KiB blocks, 2 MiB).
constexpr size_t kReadAhead = 8;

// What one fetch brought: the blocks' bytes, or the version the remote
// holds now if it is not the one listed.
struct Fetched {
  std::vector<std::pair<uint64_t, std::string>> blocks;
  std::optional<remote::Stat> changed;
};

// Reads block `b` of `fd` whole (short only at the end of the file).
Result<std::string> readBlock(int fd, uint64_t b, uint64_t block_size, uint64_t file_size) {
  uint64_t start = b * block_size;
  std::string buf(std::min(block_size, file_size - start), '\0');
  size_t got = 0;
  while (got < buf.size()) {
    ssize_t n = ::pread(fd, buf.data() + got, buf.size() - got, static_cast<off_t>(start + got));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return failErrno(errno, "read block " + std::to_string(b));
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  buf.resize(got);
  return buf;
}

// Runs on a pool worker: owns everything it touches.
Result<Fetched> fetchTask(std::shared_ptr<remote::RemoteFs> remote, RelPath rel,
                          BlockVersion want, std::vector<uint64_t> blocks, uint64_t block_size,
                          const remote::ProgressFn& progress) {
  HOARD_TRY_ASSIGN(opened, remote->openRead(rel));
  Fetched out;
  if (BlockVersion::of(opened.st.meta) != want) {
    out.changed = opened.st;
    return out;
  }
  uint64_t done = 0;
  for (uint64_t b : blocks) {
    HOARD_TRY_ASSIGN(bytes, readBlock(opened.fd.get(), b, block_size, want.size));
    done += bytes.size();
    out.blocks.emplace_back(b, std::move(bytes));
    if (progress && !progress(done)) return fail(ErrorCode::kAborted, "fetch stopped");
  }
  // Written to while we read (a short block, another size or mtime now):
  // what we read may mix two versions, so none of it is kept.
  struct stat st {};
  if (::fstat(opened.fd.get(), &st) != 0) return failErrno(errno, "fstat " + displayPath(rel));
  FileMeta now = FileMeta::fromStat(st);
  bool short_block = false;
  for (auto& [b, bytes] : out.blocks)
    short_block |= bytes.size() != std::min(block_size, want.size - b * block_size);
  if (BlockVersion::of(now) != want || short_block) {
    out.blocks.clear();
    out.changed = remote::Stat{now, {}, {}};
  }
  return out;
}


}  // namespace

int errnoOf(const Error& e) {
  switch (e.code()) {
    case ErrorCode::kOffline:
    case ErrorCode::kTimeout:
    case ErrorCode::kBusy:
      return kMissErrno;
    case ErrorCode::kNotFound:
      return ENOENT;
    case ErrorCode::kPermission:
      return EACCES;
    default:
      return e.sysErrno() ? e.sysErrno() : EIO;
  }
}

Result<std::shared_ptr<BlockFile>> ViewCore::blockFile(const journal::ListedEntry& e) {
  BlockVersion v = BlockVersion::of(e.meta);
  MutexLock lock(mu_);
  auto it = blocks_.find(e.path);
  if (it != blocks_.end() && it->second->version() == v) return it->second;
  HOARD_TRY_ASSIGN(bf, BlockFile::open(parts_fd.get(), opts.parts_dir, e.path, v, opts.block_size));
  std::shared_ptr<BlockFile> shared = std::move(bf);
  blocks_[e.path] = shared;
  return shared;
}

void ViewCore::forgetBlockFile(const RelPath& rel) {
  MutexLock lock(mu_);
  blocks_.erase(rel);
  progress_at_.erase(rel);
}

void ViewCore::flushBlocks(const RelPath& rel) {
  std::shared_ptr<BlockFile> bf;
  {
    MutexLock lock(mu_);
    auto it = blocks_.find(rel);
    if (it == blocks_.end()) return;
    bf = it->second;
  }
  (void)bf->flush();  // a failure leaves blocks to fetch again after a crash, nothing worse
}

Status ViewCore::prefetch(const RelPath& rel, const std::atomic<bool>& stop) {
  struct stat local {};
  if (localStat(rel, &local)) return {};  // hydrated: the engine keeps it
  for (int attempt = 0; attempt < 5; ++attempt) {
    if (!online()) return fail(ErrorCode::kOffline, "fetch " + displayPath(rel) + ": offline");
    auto e = tree.find(rel);
    if (!e || e->meta.type != FileType::kFile)
      return fail(ErrorCode::kNotFound, "fetch " + displayPath(rel) + ": not a file of the share");
    if (attempt == 0 && revalidate(rel)) continue;  // changed since listed: the new version
    HOARD_TRY_ASSIGN(bf, blockFile(*e));
    int r = 0;
    while (r == 0) {
      if (stop) return fail(ErrorCode::kAborted, "fetch " + displayPath(rel) + ": stopped");
      bool others = false;
      std::vector<uint64_t> chunk = bf->claim(0, e->meta.size, kReadAhead, &others);
      if (!chunk.empty()) {
        r = fetch(*e, *bf, chunk);
      } else if (!others) {
        break;  // complete
      } else {
        // A reader fetches the rest: wait for it (it may fail: look again).
        bf->waitUnclaimed(0, e->meta.size,
                          std::chrono::steady_clock::now() + std::chrono::milliseconds(50));
      }
    }
    if (r == -EAGAIN) continue;  // the remote holds another version now: fetch that one
    (void)bf->flush();
    if (r != 0) return failErrno(r == -kMissErrno ? ENETUNREACH : -r, "fetch " + displayPath(rel));
    return {};
  }
  return fail(ErrorCode::kBusy, "fetch " + displayPath(rel) + ": it keeps changing on the remote");
}

Result<uint64_t> ViewCore::dropBlocks(const RelPath& path) {
  if (!tree.find(path))
    return fail(ErrorCode::kNotFound, "cannot evict " + displayPath(path) + ": share '" +
                                          opts.name + "' has no such file or directory");
  uint64_t freed = 0;
  for (const RelPath& rel : tree.filesUnder(path)) {
    forgetBlockFile(rel);
    HOARD_TRY_ASSIGN(n, BlockFile::remove(parts_fd.get(), opts.parts_dir, rel));
    freed += n;
  }
  return freed;
}

bool ViewCore::placeholderComplete(const RelPath& rel) {
  auto e = tree.find(rel);
  if (!e || e->meta.type != FileType::kFile) return false;
  auto bf = blockFile(*e);
  return bf && (*bf)->complete();
}

int ViewCore::fetch(const journal::ListedEntry& e, BlockFile& bf,
                    const std::vector<uint64_t>& blocks) {
  // Unclaimed once stored (or failed): a reader waiting for them looks again.
  struct Unclaim {
    BlockFile& bf;
    const std::vector<uint64_t>& blocks;
    ~Unclaim() { bf.unclaim(blocks); }
  } unclaim{bf, blocks};
  auto fetched = pool.run<Fetched>(
      "fetch " + displayPath(e.path), opts.fetch_deadline,
      [remote = remote, rel = e.path, want = bf.version(), blocks, bs = opts.block_size](
          const remote::ProgressFn& p) { return fetchTask(remote, rel, want, blocks, bs, p); });
  if (!fetched) return -errnoOf(fetched.error());
  if (fetched->changed) {
    // Fetched anew from the version the remote holds now, never spliced.
    tree.update(journal::ListedEntry{e.path, fetched->changed->meta, {}, {}});
    forgetBlockFile(e.path);
    return -EAGAIN;
  }
  if (Status s = bf.storeAll(fetched->blocks); !s) return -errnoOf(s.error());
  if (bf.flushDue()) {
    MutexLock lock(mu_);
    auto it = blocks_.find(e.path);
    if (it != blocks_.end() && it->second.get() == &bf) flusher.post(it->second);
  }
  reportProgress(e, bf);
  return 0;
}

void ViewCore::reportProgress(const journal::ListedEntry& e, BlockFile& bf) {
  if (!opts.on_fetch) return;
  const uint64_t size = e.meta.size, bs = opts.block_size;
  uint64_t missing = 0;
  for (uint64_t b : bf.missing(0, size)) missing += std::min(bs, size - b * bs);
  const bool complete = missing == 0;
  auto now = std::chrono::steady_clock::now();
  {
    MutexLock lock(mu_);
    auto it = progress_at_.find(e.path);
    if (complete) {
      if (it != progress_at_.end()) progress_at_.erase(it);
    } else if (it != progress_at_.end() && now - it->second < opts.progress_interval) {
      return;
    } else {
      progress_at_[e.path] = now;
    }
  }
  fuse_context* ctx = fuse_get_context();
  std::string program = ctx && ctx->pid > 0 ? programOf(ctx->pid) : "";
  opts.on_fetch(FetchProgress{e.path, std::move(program), size - missing, size});
}

bool ViewCore::revalidate(const RelPath& rel) {
  auto e = tree.find(rel);
  if (!e || e->meta.type != FileType::kFile || !online()) return false;
  auto st = pool.run<remote::Stat>(
      "stat " + displayPath(rel), opts.fetch_deadline,
      [remote = remote, rel](const remote::ProgressFn&) { return remote->lstat(rel); });
  if (!st || st->meta.type != FileType::kFile) return false;
  if (BlockVersion::of(st->meta) == BlockVersion::of(e->meta)) return false;
  tree.update(journal::ListedEntry{rel, st->meta, st->data_version, {}});
  forgetBlockFile(rel);
  return true;
}

int ViewCore::readPlaceholder(const RelPath& rel, const BlockVersion& opened, char* buf,
                              size_t size, off_t off) {
  const uint64_t offset = static_cast<uint64_t>(off);
  for (int attempt = 0; attempt < 5;) {
    auto e = tree.find(rel);
    if (!e) return -ENOENT;
    if (e->meta.type != FileType::kFile) return -EISDIR;
    if (BlockVersion::of(e->meta) != opened) return -ESTALE;
    auto bf = blockFile(*e);
    if (!bf) return -errnoOf(bf.error());
    if ((*bf)->missing(offset, size).empty()) {
      if (offset >= e->meta.size) return 0;
      auto n = (*bf)->read(buf, std::min<uint64_t>(size, e->meta.size - offset), offset);
      return n ? static_cast<int>(*n) : -errnoOf(n.error());
    }
    if (!online()) {
      ++attempt;
      if (int r = miss(rel); r != 0) return r;
      continue;
    }
    // The kernel sends the reads of one sequential reader (its read-ahead)
    // at once, on several threads: each fetches the blocks no other one
    // is fetching, so they come in parallel and none twice.
    bool others = false;
    std::vector<uint64_t> mine = (*bf)->claim(offset, size, kReadAhead, &others);
    if (mine.empty()) {
      // All that is missing is on its way: wait for it (a fetch that
      // fails leaves its blocks unclaimed and missing: look again).
      if (fuse_interrupted()) return -EINTR;
      (*bf)->waitUnclaimed(offset, size,
                           std::chrono::steady_clock::now() + std::chrono::milliseconds(50));
      continue;
    }
    // Read ahead: the missing blocks that follow, up to kReadAhead blocks in
    // all, come with this fetch (a sequential reader's next requests).
    for (uint64_t b = mine.back() + 1; mine.size() < kReadAhead && (*bf)->claimBlock(b); ++b)
      mine.push_back(b);
    ++attempt;
    int r = fetch(*e, **bf, mine);
    if (r == -EAGAIN) continue;
    if (r == -kMissErrno) {
      // The remote went away under the fetch: the same as offline.
      if (int m = miss(rel); m != 0) return m;
      continue;
    }
    if (r != 0) return r;
    --attempt;  // stored: progress, not a retry
  }
  return -EIO;
}

void ViewCore::setOnline(bool online) {
  MutexLock lock(mu_);
  online_ = online;
  online_cv_.notifyAll();
}

bool ViewCore::online() const {
  MutexLock lock(mu_);
  return online_;
}

void ViewCore::shutdown() {
  MutexLock lock(mu_);
  stopping_ = true;
  online_cv_.notifyAll();
}

}  // namespace hoard::view
