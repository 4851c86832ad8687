// SPDX-License-Identifier: MIT
#include "daemon/ChildProcess.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include "common/UniqueFd.h"

extern char** environ;

namespace hoard::daemon {

namespace {

constexpr size_t kKeptOutput = 64 * 1024;
using Clock = std::chrono::steady_clock;

Result<pid_t> spawnShell(const std::string& command, int out_fd) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
  posix_spawn_file_actions_adddup2(&fa, out_fd, 2);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  // Its own process group (so a deadline kills what it started too), and
  // the signals hoardd blocks for sigwait unblocked again.
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK);
  const char* argv[] = {"/bin/sh", "-c", command.c_str(), nullptr};
  pid_t pid = -1;
  int rc = posix_spawn(&pid, "/bin/sh", &fa, &attr, const_cast<char**>(argv), environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) return failErrno(rc, "cannot run the command `" + command + "`");
  return pid;
}

// Splits what arrived into lines for `line`, keeping the unfinished tail.
void feed(std::string& pending, const std::function<void(const std::string&)>& line) {
  size_t nl;
  while ((nl = pending.find('\n')) != std::string::npos) {
    if (line) line(pending.substr(0, nl));
    pending.erase(0, nl + 1);
  }
}

int statusOf(int wstatus) {
  if (WIFEXITED(wstatus)) return WEXITSTATUS(wstatus);
  if (WIFSIGNALED(wstatus)) return 128 + WTERMSIG(wstatus);
  return -1;
}

}  // namespace

Result<ChildOutcome> runCommand(const std::string& command, std::chrono::milliseconds deadline,
                                const std::function<void(const std::string&)>& line) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return failErrno(errno, "pipe for `" + command + "`");
  UniqueFd rd(fds[0]), wr(fds[1]);
  auto pid = spawnShell(command, wr.get());
  if (!pid) return tl::unexpected(pid.error());
  wr.reset();
  ChildOutcome out;
  std::string pending;
  const auto end = Clock::now() + deadline;
  bool open = true;
  while (open) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - Clock::now());
    if (left.count() <= 0) {
      out.timed_out = true;
      ::kill(-*pid, SIGTERM);
      break;
    }
    pollfd p{rd.get(), POLLIN, 0};
    int n = ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left.count(), 1000)));
    if (n < 0 && errno != EINTR) break;
    if (n <= 0) continue;
    char buf[4096];
    ssize_t got = ::read(rd.get(), buf, sizeof buf);
    if (got <= 0) {
      open = got < 0 && errno == EINTR;
      continue;
    }
    if (out.output.size() < kKeptOutput) out.output.append(buf, static_cast<size_t>(got));
    pending.append(buf, static_cast<size_t>(got));
    feed(pending, line);
  }
  if (!pending.empty() && line) line(pending);
  int wstatus = 0;
  if (out.timed_out) {
    // A second to go quietly, then for good.
    for (int i = 0; i < 10 && ::waitpid(*pid, &wstatus, WNOHANG) == 0; ++i)
      ::usleep(100 * 1000);
    ::kill(-*pid, SIGKILL);
  }
  while (::waitpid(*pid, &wstatus, 0) < 0 && errno == EINTR) {
  }
  out.exit_status = out.timed_out ? 128 + SIGKILL : statusOf(wstatus);
  return out;
}

}  // namespace hoard::daemon
