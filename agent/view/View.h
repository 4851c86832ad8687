// SPDX-License-Identifier: MIT
#pragma once

// The FUSE view of an on-demand share (design.md "On-demand shares"): the
// whole share mounted at one directory, every name the last remote listing
// holds, with data from
//  - the cache root, for files the engine hoards there (pinned, hydrated):
//    served as they are, from the local disk;
//  - otherwise the view's parts directory, fetched from the remote in blocks
//    when a program reads them (online), or, offline, the share's miss
//    policy: fail at once with ENETUNREACH, or wait (interruptible, with a
//    deadline) until the share is online again.
// Metadata (lookup, stat, readdir, readlink, statfs) comes from memory and
// the local disk only: it never waits and never touches the remote.
//
// The view never accesses its own mountpoint (the cache root and the parts
// directory must lie outside it: a request served by a request to the same
// mount would deadlock).
//
// Changes (ViewWrite.cc) go to the cache root, and each is reported as
// made (ViewOptions::changes; ViewChanges.cc) for the engine's change log:
// no inotify on the cache root. A file created is made there (with
// the directories leading to it, as listed); a placeholder a program opens
// for writing, truncates, renames, deletes or changes the mode or times of
// is first hydrated (ViewOptions::hydrate: hoarded with its base row, so
// the engine sees a change of the remote's version, not a second file),
// which needs the share online (offline: the miss policy). A name the cache
// deleted or renamed away stays hidden until the listing no longer has it.
// Without `hydrate` the view is read-only: such calls fail with EROFS.
//
// Threads: mount() starts libfuse's multi-threaded loop on threads of its
// own; setOnline() and the destructor may be called from any thread.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/Error.h"
#include "journal/Records.h"
#include "remote/RemoteFs.h"
#include "track/FedWatcher.h"

namespace hoard::view {

// What a read of missing data does while the share is offline: fail at
// once, wait (until online or the deadline), or wait as kWait while asking
// a person (ViewOptions::on_ask; View::answer) whether to wait or fail.
enum class MissPolicy { kError, kWait, kAsk };

// A person's answer to a ReadQuestion: keep waiting (until the deadline),
// fail the reads now, or fail them and every later one of that program
// (ViewOptions::on_always_fail remembers it).
enum class ReadAnswer { kWait, kFail, kAlwaysFail };

// Reads under kAsk that wait for `path`, by one program: the question put
// once (later reads of the same file by the same program join it).
struct ReadQuestion {
  uint64_t id = 0;      // unique in the process (View::answer's key)
  RelPath path;
  std::string program;  // the executable's name (else its comm): the key of "always fail"
  std::chrono::milliseconds deadline{0};  // how long the reads wait unanswered
};

// The errno a read of missing data gets offline under kError (and when the
// remote fails under the fetch): "Network is unreachable" says what is
// wrong, and no program retries it in a loop as it would EAGAIN or EINTR.
inline constexpr int kMissErrno = 101;  // ENETUNREACH
// The errno after waiting in vain (kWait's deadline): "Connection timed out".
inline constexpr int kWaitTimeoutErrno = 110;  // ETIMEDOUT

// A read that found data missing while offline.
struct Miss {
  RelPath path;
  std::string program;  // the reader's /proc/PID/comm ("" if it is gone)
  int64_t at_ns = 0;    // when, nanoseconds since the epoch
  // "failed", "fetched" (waited, then online), "timed-out", "interrupted",
  // "declined" (under kAsk, the person answered fail)
  std::string outcome;
};

// Data of a placeholder that arrived: bytes_done of its bytes_total are
// local now (its blocks fetched so far, by this read and earlier ones).
struct FetchProgress {
  RelPath path;
  std::string program;  // the reader's /proc/PID/comm ("" for the view's own fetches)
  uint64_t bytes_done = 0;
  uint64_t bytes_total = 0;
};

struct ViewOptions {
  std::string name;        // the share's name, shown as the mount's source
  std::string mountpoint;  // where the share appears (absolute)
  std::string cache_root;  // the engine's cache root: hydrated files (absolute)
  std::string parts_dir;   // block copies of placeholders (absolute; created)
  uint64_t block_size = 256 * 1024;
  MissPolicy policy = MissPolicy::kError;
  // Programs that get another policy than `policy`, by executable name or
  // systemd unit (ProgramPolicy.h); hoardd passes the shipped list with the
  // config's additions.
  std::map<std::string, MissPolicy> program_policies;
  std::chrono::milliseconds wait_deadline{30'000};
  // Idle deadline of one remote fetch (no progress for this long fails it).
  std::chrono::milliseconds fetch_deadline{30'000};
  // Told of every miss once its outcome is known, on a FUSE thread. Must
  // not access the mount. May be null.
  std::function<void(const Miss&)> on_miss;
  // Told as a placeholder's data arrives: at most every
  // `progress_interval` per file, and always once it is complete. On the
  // thread that fetched. Must not access the mount. May be null.
  std::function<void(const FetchProgress&)> on_fetch;
  std::chrono::milliseconds progress_interval{250};
  // Under kAsk: told of a question when its first read starts waiting, and
  // of its outcome (as Miss::outcome) once its last read is over. On a FUSE
  // thread; must not block or access the mount. Null: kAsk waits as kWait.
  std::function<void(const ReadQuestion&)> on_ask;
  std::function<void(uint64_t id, const std::string& outcome)> on_asked;
  // The person answered kAlwaysFail for `program`: hoardd keeps it (the
  // view already fails that program's reads at once). May be null.
  std::function<void(const std::string& program)> on_always_fail;
  // Answers remembered (kAlwaysFail): over program_policies.
  std::map<std::string, MissPolicy> answered_policies;
  // Makes the listed path `rel` (a file, or a directory with everything
  // beneath it) local in the cache root, with the remote's version as its
  // base (hoardd: sync::ShareEngine::hydrate). Runs on a thread of the
  // view's own (it may outlive the view: capture what it needs), under
  // `hydrate_deadline`. Errors: kOffline (the miss policy applies), or any
  // (the program's call fails with its errno). Null: the view is read-only.
  std::function<Status(const RelPath&)> hydrate;
  std::chrono::milliseconds hydrate_deadline{120'000};
  // Where every change a program makes through the view is reported, as
  // the event of exactly that change, once made in the cache root (hoardd:
  // the share engine's changeFeed(), so the change log gets it without
  // inotify). Changes the view makes for the engine (hydrate) are the
  // engine's own and not reported. Null: nothing reported.
  std::shared_ptr<track::FedWatcher> changes;
  // Listed paths the cache deleted that the remote still has (their base
  // rows are there, their files are not): hidden from the start.
  std::vector<RelPath> deleted;
};

class ViewCore;

class View {
 public:
  // Mounts the view of `listing` at options.mountpoint, fetching through
  // `remote` (a deadline-wrapped RemoteFs in the daemon). A dead mount left
  // there by a killed hoardd is detached first. Starts offline: call
  // setOnline(true) once the share's remote checked out.
  // Errors: kPermission/kNotFound naming /dev/fuse when it cannot be opened;
  // kInvalidArgument if the cache root or parts directory is beneath the
  // mountpoint; kIo if the mount fails (libfuse's reason is in the log).
  static Result<std::unique_ptr<View>> mount(ViewOptions options,
                                             const std::vector<journal::ListedEntry>& listing,
                                             std::shared_ptr<remote::RemoteFs> remote);

  // Unmounts (lazily, so a program still inside is not stuck) and stops
  // the loop; reads waiting under kWait fail with EINTR first.
  ~View();
  View(const View&) = delete;
  View& operator=(const View&) = delete;

  // Online: missing data is fetched. Offline: the miss policy applies;
  // going online wakes every waiting read.
  void setOnline(bool online);

  // Shows a newer listing of the share (a pass listed the remote again).
  // Blocks fetched for a file whose version changed are never served for
  // the new version: they are fetched anew when read.
  void setListing(const std::vector<journal::ListedEntry>& listing);

  // Hides exactly `deleted` (as ViewOptions::deleted), and what the view
  // deleted itself since deletionCount() gave `since`: take the count
  // before reading what the cache deleted, so a deletion made meanwhile is
  // not shown again.
  uint64_t deletionCount() const;
  void setDeleted(const std::vector<RelPath>& deleted, uint64_t since);

  // Answers question `id` (ViewOptions::on_ask). kNotFound if no read of
  // this view waits for it (over, or another view's).
  Status answer(uint64_t id, ReadAnswer a);
  // Replaces the remembered answers (ViewOptions::answered_policies), e.g.
  // after the person forgot one.
  void setAnsweredPolicies(std::map<std::string, MissPolicy> policies);

  // Fetches the whole of the placeholder `rel` now (a file read while
  // offline, once the share is back), on the calling thread, in the blocks
  // a read would fetch; checks `stop` between them. Nothing to do for a
  // hydrated or complete file. Errors: kOffline while offline; kNotFound if
  // the listing has no such file; the remote's (under the fetch deadline).
  Status prefetch(const RelPath& rel, const std::atomic<bool>& stop);

  // Turns the files at or beneath `path` back into placeholders: the blocks
  // fetched for them are deleted (the names stay; a later read fetches
  // again). Files the cache root holds are the engine's to evict. Returns
  // the bytes of disk freed. Errors: the parts directory's, naming the file.
  Result<uint64_t> evict(const RelPath& path);

  // The files programs hold open in the view now (each open counts).
  size_t openFiles();

 private:
  explicit View(std::unique_ptr<ViewCore> core);
  std::unique_ptr<ViewCore> core_;
};

// Whether this process can mount a view: /dev/fuse opens. Otherwise the
// error says why and what to do (kPermission: mode 0600 without udev;
// kNotFound: the fuse module is not loaded).
Status canMount();

// Detaches a dead FUSE mount at `mountpoint` (stat gives ENOTCONN: its
// daemon was killed), as `fusermount3 -uz` does. Ok if nothing was mounted.
Status cleanDeadMount(const std::string& mountpoint);

}  // namespace hoard::view
