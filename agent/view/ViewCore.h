// SPDX-License-Identifier: MIT
#pragma once

// The state behind a View, shared by its FUSE operations (ViewOps.cc), its
// fetches (ViewFetch.cc) and its lifecycle (View.cc). Internal to hoard_view.

#include <sys/stat.h>

#include <atomic>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>

#include "common/ThreadAnnotations.h"
#include "common/UniqueFd.h"
#include "remote/WorkerPool.h"
#include "track/Watcher.h"
#include "view/BlockFile.h"
#include "view/Flusher.h"
#include "view/KeptPages.h"
#include "view/View.h"
#include "view/ViewTree.h"

struct fuse;

namespace hoard::view {

// An open file of the view: a descriptor of the local copy, or a
// placeholder (no descriptor) of the version it was opened at.
struct OpenFile {
  UniqueFd fd;  // for writing too when opened so (ViewWrite.cc)
  RelPath path;
  BlockVersion version;
  // The feed's generation its last write was reported in (ViewChanges.cc).
  std::atomic<uint64_t> write_reported{UINT64_MAX};
};

// The errno a program's call gets for `e` (a fetch's or a hydration's).
int errnoOf(const Error& e);

// Nanoseconds since the epoch, now.
int64_t nowNs();
// /proc/PID/comm ("" if the process is gone).
std::string programOf(pid_t pid);

class ViewCore {
 public:
  ViewCore(ViewOptions options, const std::vector<journal::ListedEntry>& listing,
           std::shared_ptr<remote::RemoteFs> remote);

  const ViewOptions opts;
  ViewTree tree;
  std::shared_ptr<remote::RemoteFs> remote;
  remote::WorkerPool pool;
  remote::WorkerPool hydrate_pool;  // opts.hydrate's calls
  Flusher flusher;  // fetched blocks made durable off the readers' path
  KeptPages kept_pages;  // may the kernel keep a local file's pages (ViewOps.cc)
  UniqueFd cache_fd;  // O_PATH of the cache root
  UniqueFd parts_fd;  // the parts directory
  struct fuse* fuse = nullptr;
  std::thread loop;
  std::atomic<bool> loop_done{false};  // fuse_loop_mt returned

  // --- local side (never blocks on the network) ---
  // lstat of `rel` beneath the cache root, never following a symlink; false
  // if it is not there (or is one of hoard's own files).
  bool localStat(const RelPath& rel, struct stat* st) const;
  // Opens `rel` beneath the cache root (no symlink followed); -errno on failure.
  int openLocal(const RelPath& rel, int flags) const;

  // --- changes (ViewWrite.cc) ---
  // Makes `rel` local before a change: 0 at once if the cache root holds
  // it; a listed path is hydrated (opts.hydrate) while online, or offline
  // the miss policy decides (and hydrates once the share is back);
  // -ENOENT if the view has no such path; -EROFS without opts.hydrate.
  int localize(const RelPath& rel) HOARD_EXCLUDES(mu_);
  // Makes the directories leading to `rel` that are only listed in the
  // cache root, with their listed modes (the engine finds them equal to
  // the remote's). -ENOENT if one is not in the view, -ENOTDIR if one is
  // not a directory.
  int makeParents(const RelPath& rel) const;

  // --- what programs changed, for the change log (ViewChanges.cc) ---
  // Reports `events` to opts.changes (nothing without it).
  void report(std::vector<track::WatchEvent> events) const;
  // The event `kind` of `rel` with its metadata as the cache root holds it.
  track::WatchEvent described(track::WatchEventKind kind, const RelPath& rel,
                              bool is_dir = false) const;
  // One event of `rel`: created (a file, directory or symlink made),
  // attrib (mode, times, xattrs) or deleted.
  void reportCreated(const RelPath& rel) const;
  void reportAttrib(const RelPath& rel) const;
  void reportDeleted(const RelPath& rel, bool is_dir) const;
  // `from` renamed to `to` (one batch, so the tracker pairs the halves).
  void reportRenamed(const RelPath& from, const RelPath& to) const;
  // Both swapped (RENAME_EXCHANGE): each compared with the base anew.
  void reportExchanged(const RelPath& a, const RelPath& b) const;
  // The content of `rel` changed (write, truncate). Through an open file
  // `h`: once until the tracker took the event, not per write(2).
  void reportWritten(const RelPath& rel) const;
  void reportWritten(OpenFile& h) const;

  // --- placeholders (ViewFetch.cc) ---
  // Reads [off, off + size) of the placeholder `rel`: present blocks from
  // the parts directory, missing ones fetched (online) or the miss policy
  // (offline). Returns bytes read or -errno.
  // `opened` is the version the file had when the reader opened it: once
  // the remote holds another, this open gets ESTALE (never a mix of two
  // versions); a new open reads the new one.
  int readPlaceholder(const RelPath& rel, const BlockVersion& opened, char* buf, size_t size,
                      off_t off);
  // At open, online: compares the remote file with the listing (one lstat
  // under the fetch deadline). Returns true if it changed (the tree now
  // holds the new version and the old blocks are dropped). Offline, or if
  // the remote does not answer, false.
  bool revalidate(const RelPath& rel);
  // Makes the blocks of `rel` fetched so far durable (a reader closed it).
  void flushBlocks(const RelPath& rel) HOARD_EXCLUDES(mu_);
  // Fetches every missing block of the placeholder `rel` (View::prefetch).
  Status prefetch(const RelPath& rel, const std::atomic<bool>& stop) HOARD_EXCLUDES(mu_);
  // Drops the fetched blocks of every file at or beneath `path` (View::evict).
  Result<uint64_t> dropBlocks(const RelPath& path) HOARD_EXCLUDES(mu_);
  // True if every block of `rel` is local (or it is empty).
  bool placeholderComplete(const RelPath& rel);

  // Open files, owned here: a file still open when the view is unmounted
  // (its RELEASE never comes) is freed with the view, not leaked.
  uint64_t addOpen(std::unique_ptr<OpenFile> f) HOARD_EXCLUDES(open_mu_);
  void release(uint64_t fh) HOARD_EXCLUDES(open_mu_);
  // The files programs hold open in the view now.
  size_t openCount() HOARD_EXCLUDES(open_mu_);

  // --- the miss policy's questions (ViewMiss.cc) ---
  Status answer(uint64_t id, ReadAnswer a) HOARD_EXCLUDES(mu_);
  void setAnsweredPolicies(std::map<std::string, MissPolicy> policies) HOARD_EXCLUDES(mu_);

  void setOnline(bool online) HOARD_EXCLUDES(mu_);
  bool online() const HOARD_EXCLUDES(mu_);
  void shutdown() HOARD_EXCLUDES(mu_);

 private:
  Result<std::shared_ptr<BlockFile>> blockFile(const journal::ListedEntry& e) HOARD_EXCLUDES(mu_);
  void forgetBlockFile(const RelPath& rel) HOARD_EXCLUDES(mu_);
  // The miss policy for a read (or a change, ViewWrite.cc) of `rel`: 0
  // once online (try again), or -errno.
  int miss(const RelPath& rel) HOARD_EXCLUDES(mu_);
  void report(const RelPath& rel, const std::string& outcome);
  // A question under kAsk: the reads waiting for one path, by one program.
  struct Question {
    ReadQuestion asked;
    std::optional<ReadAnswer> answer;
    int waiting = 0;  // reads inside miss() for it
  };
  // The question of `rel` by `program` (joined if put already, else put:
  // opts.on_ask told). Returns its id.
  uint64_t joinQuestion(const RelPath& rel, const std::string& program) HOARD_EXCLUDES(mu_);
  // A read of question `id` is over with `outcome`; the last one tells
  // opts.on_asked and drops it.
  void leaveQuestion(uint64_t id, const std::string& outcome) HOARD_EXCLUDES(mu_);
  // opts.on_fetch of `e` after a fetch into `bf` (throttled per file).
  void reportProgress(const journal::ListedEntry& e, BlockFile& bf) HOARD_EXCLUDES(mu_);
  // Fetches `blocks` of `e` into `bf` (claimed by the caller: unclaimed
  // here, stored or not): 0, -EAGAIN if the remote file is not the version
  // listed any more (the tree now holds the new one), or -errno.
  int fetch(const journal::ListedEntry& e, BlockFile& bf, const std::vector<uint64_t>& blocks);

  mutable Mutex mu_;
  CondVar online_cv_;
  bool online_ HOARD_GUARDED_BY(mu_) = false;
  bool stopping_ HOARD_GUARDED_BY(mu_) = false;
  std::map<RelPath, std::shared_ptr<BlockFile>> blocks_ HOARD_GUARDED_BY(mu_);
  // When opts.on_fetch was last told of a file not yet complete.
  std::map<RelPath, std::chrono::steady_clock::time_point> progress_at_ HOARD_GUARDED_BY(mu_);
  std::map<uint64_t, Question> questions_ HOARD_GUARDED_BY(mu_);
  std::map<std::string, MissPolicy> answered_ HOARD_GUARDED_BY(mu_);  // opts.answered_policies and later answers
  Mutex open_mu_;
  std::unordered_map<uint64_t, std::unique_ptr<OpenFile>> open_ HOARD_GUARDED_BY(open_mu_);
};

}  // namespace hoard::view
