// SPDX-License-Identifier: MIT
// Mounting and unmounting the view: libfuse's multi-threaded loop on a
// thread of its own, a dead mount of a killed daemon detached first.

#define FUSE_USE_VERSION 314
#include "common/Try.h"
#include "view/View.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <fuse3/fuse.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "view/ViewCore.h"
#include "view/ViewOps.h"

namespace hoard::view {

namespace {

remote::WorkerPool::Options poolOptions() {
  remote::WorkerPool::Options o;
  o.workers = 4;
  o.thread_name = "hoard-view";
  return o;
}

// Hydrations run on threads of their own: libfuse cancels its workers at
// unmount, which must never happen inside the engine's pass.
remote::WorkerPool::Options hydratePoolOptions() {
  remote::WorkerPool::Options o;
  o.workers = 2;
  o.thread_name = "hoard-hydrate";
  return o;
}

// /dev/fuse must open before libfuse tries (its own message is vaguer).
Status checkFuseDevice() {
  int fd = ::open("/dev/fuse", O_RDWR | O_CLOEXEC);
  if (fd >= 0) {
    ::close(fd);
    return {};
  }
  int err = errno;
  std::string why = "cannot open /dev/fuse to mount an on-demand share";
  if (err == EACCES || err == EPERM) {
    why += " (on a machine without udev it is often mode 0600, root only: "
           "chmod 0666 /dev/fuse, or install the fuse3 package's udev rule)";
  } else if (err == ENOENT) {
    why += " (the fuse kernel module is not loaded: modprobe fuse)";
  }
  return failErrno(err, why);
}

bool beneath(const std::string& path, const std::string& dir) {
  std::error_code ec;  // a dead mount cannot be resolved: compare as given
  auto p = std::filesystem::weakly_canonical(path, ec).string();
  if (ec) p = path;
  auto d = std::filesystem::weakly_canonical(dir, ec).string();
  if (ec) d = dir;
  return p == d || (p.size() > d.size() && p.compare(0, d.size(), d) == 0 && p[d.size()] == '/');
}

Status checkOptions(const ViewOptions& o) {
  for (const std::string* dir : {&o.cache_root, &o.parts_dir}) {
    if (beneath(*dir, o.mountpoint)) {
      return fail(ErrorCode::kInvalidArgument,
                  "view of share '" + o.name + "': " + displayPath(*dir) + " is beneath its mountpoint " +
                      displayPath(o.mountpoint) + " (the view would wait for itself)");
    }
  }
  return {};
}

// With cfg->intr (ViewOps.cc) libfuse tells a request's thread of an
// interrupt by SIGUSR1 (and sets fuse_interrupted()); libfuse 3.14 does not
// install a handler when intr is set in init, so the signal would kill us.
void ignoreInterruptSignal() {
  struct sigaction old {};
  if (::sigaction(SIGUSR1, nullptr, &old) != 0 || old.sa_handler != SIG_DFL) return;
  struct sigaction sa {};
  sa.sa_handler = [](int) {};
  ::sigemptyset(&sa.sa_mask);
  ::sigaction(SIGUSR1, &sa, nullptr);
}

// The kernel reads ahead at most 128 KiB in a FUSE file by default, one
// request at a time: a sequential reader of a placeholder then waits for
// each fetch in turn. With a wider window it sends several reads of up to
// 1 MiB at once, which ViewCore fetches in parallel (and a hydrated file's
// reads come in larger requests). It grows only for a sequential reader,
// so a seek still fetches about what is read.
constexpr int kReadaheadKb = 8192;

// Widens the kernel's read-ahead for the view mounted at `mountpoint` (its
// device's read_ahead_kb; root only). After the kernel's INIT, which sets it
// to what libfuse answered (at most the 128 KiB the kernel offered): the
// stat of the root waits for that. Best effort: unprivileged, or without
// sysfs, the view works with the default window.
void widenReadahead(const std::string& mountpoint) {
  struct stat st {};
  if (::stat(mountpoint.c_str(), &st) != 0) return;
  std::ofstream out("/sys/class/bdi/" + std::to_string(major(st.st_dev)) + ":" +
                    std::to_string(minor(st.st_dev)) + "/read_ahead_kb");
  out << kReadaheadKb << "\n";
}

Result<UniqueFd> openDir(const std::string& path, int flags, std::string_view what) {
  UniqueFd fd(::open(path.c_str(), flags | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return failErrno(errno, "open " + std::string(what) + " " + displayPath(path));
  return fd;
}

}  // namespace

ViewCore::ViewCore(ViewOptions options, const std::vector<journal::ListedEntry>& listing,
                   std::shared_ptr<remote::RemoteFs> remote_fs)
    : opts(std::move(options)),
      tree(listing),
      remote(std::move(remote_fs)),
      pool(poolOptions()),
      hydrate_pool(hydratePoolOptions()) {
  tree.setHidden(opts.deleted, 0);
  MutexLock lock(mu_);
  answered_ = opts.answered_policies;
}

Status canMount() { return checkFuseDevice(); }

Status cleanDeadMount(const std::string& mountpoint) {
  struct stat st {};
  if (::stat(mountpoint.c_str(), &st) == 0 || errno != ENOTCONN) return {};
  if (::umount2(mountpoint.c_str(), MNT_DETACH) != 0) {
    return failErrno(errno, "detach the dead mount at " + displayPath(mountpoint) +
                                " (left by a hoardd that was killed)");
  }
  return {};
}

Result<std::unique_ptr<View>> View::mount(ViewOptions options,
                                          const std::vector<journal::ListedEntry>& listing,
                                          std::shared_ptr<remote::RemoteFs> remote) {
  HOARD_TRY(checkFuseDevice());
  HOARD_TRY(cleanDeadMount(options.mountpoint));
  HOARD_TRY(checkOptions(options));
  ignoreInterruptSignal();
  std::error_code ec;
  std::filesystem::create_directories(options.parts_dir, ec);
  if (ec) return failErrno(ec.value(), "create the view's parts directory " + options.parts_dir);
  auto core = std::make_unique<ViewCore>(std::move(options), listing, std::move(remote));
  HOARD_TRY_ASSIGN(cache_fd, openDir(core->opts.cache_root, O_PATH, "cache root"));
  HOARD_TRY_ASSIGN(parts_fd, openDir(core->opts.parts_dir, O_RDONLY, "parts directory"));
  core->cache_fd = std::move(cache_fd);
  core->parts_fd = std::move(parts_fd);

  std::string fsname = "fsname=hoard:" + core->opts.name + ",subtype=hoard";
  const char* argv[] = {"hoardd", "-o", fsname.c_str(), nullptr};
  fuse_args args = FUSE_ARGS_INIT(3, const_cast<char**>(argv));
  fuse_operations ops = viewOperations();
  core->fuse = fuse_new(&args, &ops, sizeof ops, core.get());
  fuse_opt_free_args(&args);
  if (!core->fuse) {
    return fail(ErrorCode::kIo, "view of share '" + core->opts.name + "': fuse_new failed");
  }
  if (fuse_mount(core->fuse, core->opts.mountpoint.c_str()) != 0) {
    fuse_destroy(core->fuse);
    core->fuse = nullptr;
    return fail(ErrorCode::kIo, "mount the view of share '" + core->opts.name + "' at " +
                                    displayPath(core->opts.mountpoint) +
                                    ": fuse_mount failed (see hoardd's log for libfuse's reason)");
  }
  ViewCore* c = core.get();
  core->loop = std::thread([c] {
    fuse_loop_config* cfg = fuse_loop_cfg_create();
    fuse_loop_cfg_set_max_threads(cfg, 16);
    fuse_loop_mt(c->fuse, cfg);
    fuse_loop_cfg_destroy(cfg);
    c->loop_done = true;
  });
  // From this thread, as any program would: the loop serves it.
  widenReadahead(core->opts.mountpoint);
  return std::unique_ptr<View>(new View(std::move(core)));
}

View::View(std::unique_ptr<ViewCore> core) : core_(std::move(core)) {}

View::~View() {
  core_->shutdown();
  fuse_exit(core_->fuse);
  // The kernel ends the session; the loop's reads of /dev/fuse then fail
  // and it returns.
  fuse_unmount(core_->fuse);
  // While a program still has a file open the kernel keeps the connection
  // after the lazy unmount, no worker's read of /dev/fuse returns, and
  // libfuse's loop sleeps in sem_wait until one does. A signal interrupts
  // that wait; the loop then sees the exit, cancels its workers and returns
  // (the program's file then fails with ENOTCONN once the device closes).
  while (!core_->loop_done) {
    ::pthread_kill(core_->loop.native_handle(), SIGUSR1);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (core_->loop.joinable()) core_->loop.join();
  fuse_destroy(core_->fuse);
}

void View::setOnline(bool online) { core_->setOnline(online); }

Status View::answer(uint64_t id, ReadAnswer a) { return core_->answer(id, a); }

void View::setAnsweredPolicies(std::map<std::string, MissPolicy> policies) {
  core_->setAnsweredPolicies(std::move(policies));
}

void View::setListing(const std::vector<journal::ListedEntry>& listing) {
  core_->tree.replace(listing);
}

uint64_t View::deletionCount() const { return core_->tree.hideCount(); }

void View::setDeleted(const std::vector<RelPath>& deleted, uint64_t since) {
  core_->tree.setHidden(deleted, since);
}

Status View::prefetch(const RelPath& rel, const std::atomic<bool>& stop) {
  return core_->prefetch(rel, stop);
}

Result<uint64_t> View::evict(const RelPath& path) { return core_->dropBlocks(path); }

size_t View::openFiles() { return core_->openCount(); }

}  // namespace hoard::view
