// SPDX-License-Identifier: MIT
// Running hoard-lister (ListerChangeSource.h): the command line from the
// share's settings, the process, its answer under an idle deadline.

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "remote/ListerChangeSource.h"

extern char** environ;

namespace hoard::remote {

namespace {

struct Child {
  pid_t pid = -1;
  int out = -1, err = -1;
};

Result<Child> spawn(const std::vector<std::string>& argv) {
  int out[2], err[2];
  if (pipe2(out, O_CLOEXEC) != 0) return failErrno(errno, "a pipe for hoard-lister");
  if (pipe2(err, O_CLOEXEC) != 0) {
    int e = errno;
    close(out[0]);
    close(out[1]);
    return failErrno(e, "a pipe for hoard-lister");
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  posix_spawn_file_actions_adddup2(&fa, err[1], 2);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  Child c;
  int rc = posix_spawnp(&c.pid, args[0], &fa, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  close(out[1]);
  close(err[1]);
  if (rc != 0) {
    close(out[0]);
    close(err[0]);
    return fail(ErrorCode::kUnsupported, "cannot run " + argv[0] + ": " + std::strerror(rc), rc);
  }
  c.out = out[0];
  c.err = err[0];
  return c;
}

// Reads both pipes to their ends; false when neither said anything for
// `idle` (the child is then killed).
bool drain(Child& c, ListerParser& parser, std::string& stderr_text, Status& parsed,
           std::chrono::milliseconds idle) {
  bool out_open = true, err_open = true;
  char buf[1 << 16];
  while (out_open || err_open) {
    struct pollfd fds[2] = {{out_open ? c.out : -1, POLLIN, 0}, {err_open ? c.err : -1, POLLIN, 0}};
    int n = poll(fds, 2, static_cast<int>(idle.count()));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      kill(c.pid, SIGKILL);
      return false;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].revents == 0) continue;
      ssize_t got = read(fds[i].fd, buf, sizeof buf);
      if (got <= 0) {
        (i == 0 ? out_open : err_open) = false;
        continue;
      }
      if (i == 1) {
        if (stderr_text.size() < 4096) stderr_text.append(buf, static_cast<size_t>(got));
      } else if (parsed) {
        parsed = parser.feed(std::string_view(buf, static_cast<size_t>(got)));
      }
    }
  }
  return true;
}

}  // namespace

Result<ListerAnswer> runLister(const std::vector<std::string>& argv,
                               std::chrono::milliseconds idle_deadline) {
  auto child = spawn(argv);
  if (!child) return tl::unexpected(child.error());
  ListerParser parser;
  std::string stderr_text;
  Status parsed;
  bool finished = drain(*child, parser, stderr_text, parsed, idle_deadline);
  close(child->out);
  close(child->err);
  int status = 0;
  while (waitpid(child->pid, &status, 0) < 0 && errno == EINTR) {
  }
  while (!stderr_text.empty() && stderr_text.back() == '\n') stderr_text.pop_back();
  if (!finished)
    return fail(ErrorCode::kTimeout, argv[0] + " (hoard-lister) gave nothing for " +
                                         std::to_string(idle_deadline.count()) + " ms");
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return fail(ErrorCode::kIo, "hoard-lister through " + argv[0] + " failed (" +
                                    (WIFEXITED(status) ? "exit " + std::to_string(WEXITSTATUS(status))
                                                       : "signal " + std::to_string(WTERMSIG(status))) +
                                    ")" + (stderr_text.empty() ? "" : ": " + stderr_text));
  if (!parsed) return tl::unexpected(parsed.error());
  if (!parser.complete())
    return fail(ErrorCode::kCorrupt, "hoard-lister's answer is truncated (no end line)");
  return ListerAnswer{parser.marker(), std::move(parser.entries())};
}

}  // namespace hoard::remote
