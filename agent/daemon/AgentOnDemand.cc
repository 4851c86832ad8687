// SPDX-License-Identifier: MIT
// org.hoard.Agent1.MakeOnDemand: an existing share becomes an on-demand
// share. What its cache root holds moves, by rename, into hoardd's backing
// directory; the view is mounted over the cache root; the engine goes on
// with the same journal rows (they are share-relative). EndOnDemand is the
// way back: the view unmounted, the backing directory's files renamed back.
#include <dirent.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <thread>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "common/UniqueFd.h"
#include "daemon/Agent.h"
#include "daemon/BusArgs.h"
#include "daemon/Log.h"
#include "view/View.h"

namespace hoard::daemon {

namespace {

Result<UniqueFd> openDirFd(const std::string& dir, const std::string& what) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return failErrno(errno, "open the " + what + " " + displayPath(dir));
  return UniqueFd(fd);
}

// The names in the directory `fd` (not "." and "..").
std::vector<std::string> namesIn(int fd) {
  std::vector<std::string> names;
  int dup = ::openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dup < 0) return names;
  DIR* d = ::fdopendir(dup);
  if (!d) {
    ::close(dup);
    return names;
  }
  while (dirent* de = ::readdir(d)) {
    std::string n = de->d_name;
    if (n != "." && n != "..") names.push_back(std::move(n));
  }
  ::closedir(d);
  return names;
}

// Moves every entry of `from` into `to`, never over a name there. Returns
// the names moved; stops at the first failure, with its errno in `err` and
// the name in `failed`.
std::vector<std::string> moveEntries(int from, int to, int& err, std::string* failed = nullptr) {
  std::vector<std::string> moved;
  err = 0;
  for (const std::string& n : namesIn(from)) {
    if (::syscall(SYS_renameat2, from, n.c_str(), to, n.c_str(), RENAME_NOREPLACE) != 0) {
      err = errno;
      if (failed) *failed = n;
      break;
    }
    moved.push_back(n);
  }
  return moved;
}

void moveBack(int from, int to, const std::vector<std::string>& names) {
  for (const std::string& n : names)
    (void)::syscall(SYS_renameat2, to, n.c_str(), from, n.c_str(), RENAME_NOREPLACE);
}

bool isFuseMount(const std::string& dir) {
  struct statfs st {};
  return ::statfs(dir.c_str(), &st) == 0 && st.f_type == 0x65735546;  // FUSE_SUPER_MAGIC
}

// The files open in `view` once the releases the kernel sends after a close
// (asynchronously) had up to two seconds to arrive.
size_t openFilesAfterReleases(ShareView& view) {
  size_t n = view.openFiles();
  for (int i = 0; i < 40 && n > 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    n = view.openFiles();
  }
  return n;
}

}  // namespace

void Agent::MakeOnDemand(sdbus::Result<>&& result, std::string name,
                         std::map<std::string, sdbus::Variant> options) {
  // Stopping and starting the engine waits for its pass: on the control strand.
  async(control_, "MakeOnDemand", std::move(result),
        [this, name, options](sdbus::Result<>& reply) {
          onlyKeys(options, {}, "MakeOnDemand");
          journal::ShareRecord rec = shareRecord(name);
          if (!rec.onDemand()) switchToOnDemand(rec);
          reply.returnResults();
        });
}

void Agent::switchToOnDemand(const journal::ShareRecord& rec) {
  if (options_.state_dir.empty())
    raise(Error(ErrorCode::kUnsupported, "this hoardd has no state directory for on-demand shares"));
  orRaise(view::canMount());
  const std::string backing = backingDir(options_.state_dir, rec.name);
  std::error_code ec;
  std::filesystem::create_directories(backing, ec);
  UniqueFd to = orRaise(openDirFd(backing, "backing directory"));
  if (!namesIn(to.get()).empty())
    raise(Error(ErrorCode::kBusy, "share \"" + rec.name + "\": the backing directory " +
                                      displayPath(backing) +
                                      " is not empty (left by an earlier share of that name?); "
                                      "move its files away first"));
  // The descriptor reaches the cache root's own directory also once the view
  // is mounted over it: what a program put there meanwhile is moved too.
  UniqueFd from = orRaise(openDirFd(rec.cache_root, "cache root"));
  stopEngine(rec.name);
  int err = 0;
  std::vector<std::string> moved = moveEntries(from.get(), to.get(), err);
  auto restore = [&](const Error& why) {
    moveBack(from.get(), to.get(), moved);
    startEngine(rec);
    raise(why);
  };
  if (err == EXDEV)
    restore(Error(ErrorCode::kUnsupported,
                  "share \"" + rec.name + "\" stays as it was: its cache root " +
                      displayPath(rec.cache_root) + " and hoardd's state directory " +
                      displayPath(options_.state_dir) +
                      " are on different filesystems, and switching moves the kept files "
                      "without copying them; remove the share and add it again with "
                      "--on-demand, or keep the state directory on the same filesystem"));
  if (err != 0)
    restore(Error(errorCodeFromErrno(err), "share \"" + rec.name + "\" stays as it was: moving " +
                                      displayPath(rec.cache_root) + " into " +
                                      displayPath(backing) + " failed: " + std::strerror(err)));
  journal::ShareRecord on_demand = rec;
  on_demand.cache_root = backing;
  on_demand.view_root = rec.cache_root;
  {
    MutexLock lock(journal_mu_);
    if (Status s = journal_.setShareRoots(rec.id, backing, rec.cache_root); !s)
      restore(s.error());
  }
  startEngine(on_demand);
  std::string why;
  if (auto e = engine(rec.name)) {
    MutexLock lock(e->view_mu);
    if (!e->view) why = e->view_error;
  }
  if (!why.empty()) {
    stopEngine(rec.name);
    {
      MutexLock lock(journal_mu_);
      (void)journal_.setShareRoots(rec.id, rec.cache_root, "");
    }
    restore(Error(ErrorCode::kIo, "share \"" + rec.name + "\" stays as it was: " + why));
  }
  // Names made in the cache root between the move and the mount: the view
  // did not make them, so the change log learns of them by a rescan.
  std::vector<std::string> late = moveEntries(from.get(), to.get(), err);
  if (auto e = engine(rec.name); e && e->engine->changeFeed()) {
    std::vector<track::WatchEvent> rescans;
    for (const std::string& n : late) {
      track::WatchEvent lost;
      lost.kind = track::WatchEventKind::kWatchLost;
      lost.path = RelPath(n);
      rescans.push_back(std::move(lost));
    }
    if (!rescans.empty()) (void)e->engine->changeFeed()->push(std::move(rescans));
  }
  if (err != 0 || !namesIn(from.get()).empty())
    logMessage(4,
               "share " + rec.name + ": some files made in " + displayPath(rec.cache_root) +
                   " while it was switched could not join the view; they are under the mount, "
                   "reachable after `hoard share remove " + rec.name + "`",
               LogFields{rec.name, {}, 0, {}});
  log(5, "share " + rec.name + " is on demand: " + std::to_string(moved.size() + late.size()) +
             " entries of " + displayPath(rec.cache_root) + " moved into " +
             displayPath(backing) + ", the view mounted over it");
}

void Agent::EndOnDemand(sdbus::Result<>&& result, std::string name,
                        std::map<std::string, sdbus::Variant> options) {
  async(control_, "EndOnDemand", std::move(result),
        [this, name, options](sdbus::Result<>& reply) {
          onlyKeys(options, {}, "EndOnDemand");
          journal::ShareRecord rec = shareRecord(name);
          if (rec.onDemand()) switchFromOnDemand(rec);
          reply.returnResults();
        });
}

void Agent::switchFromOnDemand(const journal::ShareRecord& rec) {
  const std::string stays = "share \"" + rec.name + "\" stays on demand: ";
  if (auto view = engine(rec.name)->currentView())
    if (size_t n = openFilesAfterReleases(*view); n > 0)
      raise(Error(ErrorCode::kBusy, stays + "programs hold " + std::to_string(n) +
                                        " file(s) open in " + displayPath(rec.view_root) +
                                        "; close them (`fuser -vm " + rec.view_root +
                                        "` names the programs) and try again"));
  UniqueFd from = orRaise(openDirFd(rec.cache_root, "backing directory"));
  stopEngine(rec.name);  // the view unmounted
  auto restore = [&](const Error& why) {
    startEngine(rec);
    raise(why);
  };
  if (isFuseMount(rec.view_root))
    restore(Error(ErrorCode::kIo, stays + displayPath(rec.view_root) + " is still mounted"));
  auto to = openDirFd(rec.view_root, "folder");
  if (!to) restore(Error(to.error().code(), stays + to.error().message()));
  int err = 0;
  std::string failed;
  std::vector<std::string> moved = moveEntries(from.get(), to->get(), err, &failed);
  if (err != 0) {
    moveBack(from.get(), to->get(), moved);
    if (err == EEXIST || err == ENOTEMPTY)
      restore(Error(ErrorCode::kBusy, stays + displayPath(rec.view_root + "/" + failed) +
                                          " is in the way (made there while the view was "
                                          "mounted over it?); move it elsewhere and try again"));
    restore(Error(errorCodeFromErrno(err), stays + "moving " +
                                               displayPath(rec.cache_root + "/" + failed) +
                                               " back into " + displayPath(rec.view_root) +
                                               " failed: " + std::strerror(err)));
  }
  journal::ShareRecord kept = rec;
  kept.cache_root = rec.view_root;
  kept.view_root.clear();
  Status roots;
  {
    MutexLock lock(journal_mu_);
    roots = journal_.setShareRoots(rec.id, kept.cache_root, "");
  }
  if (!roots) {
    moveBack(from.get(), to->get(), moved);
    restore(roots.error());
  }
  startEngine(kept);
  std::error_code ec;
  std::filesystem::remove(rec.cache_root, ec);
  std::filesystem::remove_all(partsDir(options_.state_dir, rec.name), ec);
  log(5, "share " + rec.name + " keeps its files in " + displayPath(kept.cache_root) + " again: " +
             std::to_string(moved.size()) + " entries moved back from " +
             displayPath(rec.cache_root) + "; the view is unmounted");
}

}  // namespace hoard::daemon
