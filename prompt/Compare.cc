// SPDX-License-Identifier: MIT
#include "prompt/Compare.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/RelPath.h"
#include "common/UniqueFd.h"

namespace hoard::prompt {

namespace {

// NAME.WHICH.EXT ("report.mine.txt"; "Makefile.mine"; ".bashrc.mine").
std::string copyName(const std::string& name, const char* which) {
  size_t dot = name.rfind('.');
  if (dot == std::string::npos || dot == 0) return name + "." + which;
  return name.substr(0, dot) + "." + which + name.substr(dot);
}

Status copyOut(int from, const std::string& to) {
  UniqueFd out(::open(to.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!out) return failErrno(errno, "create " + displayPath(to));
  char buf[1 << 16];
  for (off_t off = 0; from >= 0;) {
    ssize_t n = ::pread(from, buf, sizeof buf, off);
    if (n < 0) return failErrno(errno, "read a version for " + displayPath(to));
    if (n == 0) break;
    for (ssize_t done = 0; done < n;) {
      ssize_t w = ::write(out.get(), buf + done, static_cast<size_t>(n - done));
      if (w < 0) return failErrno(errno, "write " + displayPath(to));
      done += w;
    }
    off += n;
  }
  if (::fchmod(out.get(), 0444) != 0) return failErrno(errno, "make " + displayPath(to) + " read-only");
  return {};
}

// argv with {base} {local} {remote} filled in.
std::vector<std::string> fill(const std::vector<std::string>& tool, const Copies& c) {
  std::vector<std::string> out;
  bool named = false;
  for (std::string a : tool) {
    for (auto [key, value] : {std::pair<const char*, const std::string*>{"{base}", &c.base},
                              {"{local}", &c.local},
                              {"{remote}", &c.remote}}) {
      for (size_t at; (at = a.find(key)) != std::string::npos; named = true)
        a.replace(at, std::strlen(key), *value);
    }
    out.push_back(std::move(a));
  }
  if (!named) out.insert(out.end(), {c.local, c.base, c.remote});
  return out;
}

// The program that opens the diff file: $VISUAL, $EDITOR (in a terminal
// where there is one: it is usually a terminal program), else xdg-open.
Result<std::vector<std::string>> opener(const std::string& file) {
  auto shell = [&](const std::string& editor) {
    return std::vector<std::string>{"/bin/sh", "-c", editor + " \"$1\"", "sh", file};
  };
  if (const char* v = ::getenv("VISUAL"); v && *v) return shell(v);
  if (const char* e = ::getenv("EDITOR"); e && *e) {
    std::string term = findOnPath("x-terminal-emulator");
    if (term.empty()) return shell(e);
    return std::vector<std::string>{term, "-e", "/bin/sh", "-c", std::string(e) + " \"$1\"", "sh",
                                    file};
  }
  if (std::string x = findOnPath("xdg-open"); !x.empty()) return std::vector<std::string>{x, file};
  return fail(ErrorCode::kNotFound,
              "Compare: no tool to show " + displayPath(file) +
                  " (install meld or kdiff3, set VISUAL or EDITOR, or set prompt.compare_tool)");
}

// hoard-prompt blocks SIGTERM and SIGINT for sigwait; the programs it starts
// must not inherit that (called between fork and exec: async-signal-safe).
void unblockSignals() {
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
}

std::vector<char*> cArgs(const std::vector<std::string>& argv) {
  std::vector<char*> out;
  for (const auto& a : argv) out.push_back(const_cast<char*>(a.c_str()));
  out.push_back(nullptr);
  return out;
}

// Runs `diff -u theirs mine` in the copies' folder (short names in its
// header) into `out`. diff exits 1 when the files differ: not a failure.
Status writeDiff(const Copies& c, const std::string& out) {
  std::string diff = findOnPath("diff");
  if (diff.empty()) return fail(ErrorCode::kNotFound, "Compare: diff is not on PATH");
  UniqueFd fd(::open(out.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd) return failErrno(errno, "create " + displayPath(out));
  std::vector<std::string> argv = {diff, "-u", std::string(baseName(c.remote)),
                                   std::string(baseName(c.local))};
  std::vector<char*> args = cArgs(argv);  // before fork: the child may not allocate
  pid_t pid = ::fork();
  if (pid < 0) return failErrno(errno, "fork for diff");
  if (pid == 0) {
    unblockSignals();
    ::dup2(fd.get(), 1);
    if (::chdir(c.dir.c_str()) != 0) ::_exit(126);
    ::execv(diff.c_str(), args.data());
    ::_exit(127);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) > 1)
    return fail(ErrorCode::kIo, "Compare: diff -u failed for " + displayPath(c.local));
  if (::fchmod(fd.get(), 0444) != 0) return failErrno(errno, "make " + displayPath(out) + " read-only");
  return {};
}

}  // namespace

std::string copiesRoot() {
  if (const char* r = ::getenv("XDG_RUNTIME_DIR"); r && *r) return std::string(r) + "/hoard-prompt";
  return "/tmp/hoard-prompt-" + std::to_string(::getuid());
}

std::string findOnPath(const std::string& program) {
  if (program.find('/') != std::string::npos)
    return ::access(program.c_str(), X_OK) == 0 ? program : std::string();
  const char* path = ::getenv("PATH");
  std::string p = path ? path : "/usr/bin:/bin";
  for (size_t start = 0; start <= p.size();) {
    size_t end = p.find(':', start);
    if (end == std::string::npos) end = p.size();
    std::string dir = p.substr(start, end - start);
    if (dir.empty()) dir = ".";
    std::string candidate = dir + "/" + program;
    struct stat st;
    if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
        ::access(candidate.c_str(), X_OK) == 0)
      return candidate;
    start = end + 1;
  }
  return {};
}

Result<Copies> writeCopies(const std::string& root, uint64_t id, const std::string& name,
                           int base_fd, int local_fd, int remote_fd) {
  if (::mkdir(root.c_str(), 0700) != 0 && errno != EEXIST)
    return failErrno(errno, "create " + displayPath(root));
  std::string tmpl = root + "/conflict-" + std::to_string(id) + "-XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) return failErrno(errno, "create a folder in " + root);
  Copies c;
  c.dir = tmpl;
  c.base = c.dir + "/" + copyName(name, "base");
  c.local = c.dir + "/" + copyName(name, "mine");
  c.remote = c.dir + "/" + copyName(name, "theirs");
  for (auto [fd, to] : {std::pair{base_fd, &c.base}, {local_fd, &c.local}, {remote_fd, &c.remote}})
    if (auto st = copyOut(fd, *to); !st) return tl::unexpected(st.error());
  return c;
}

Result<ComparePlan> planCompare(const std::vector<std::string>& configured, const Copies& c) {
  ComparePlan plan;
  if (!configured.empty()) {
    plan.argv = fill(configured, c);
    return plan;
  }
  if (std::string meld = findOnPath("meld"); !meld.empty()) {
    plan.argv = {meld, c.local, c.base, c.remote};  // mine | base | theirs
    return plan;
  }
  if (std::string kdiff3 = findOnPath("kdiff3"); !kdiff3.empty()) {
    plan.argv = {kdiff3, c.base, c.local, c.remote};  // A is the base
    return plan;
  }
  plan.diff_file = c.dir + "/" + std::string(baseName(c.local)) + ".diff";
  auto open = opener(plan.diff_file);
  if (!open) return tl::unexpected(open.error());
  plan.argv = std::move(*open);
  return plan;
}

Status runCompare(const ComparePlan& plan, const Copies& c) {
  if (plan.argv.empty() || findOnPath(plan.argv[0]).empty())
    return fail(ErrorCode::kNotFound,
                "Compare: " + (plan.argv.empty() ? std::string("no program") : plan.argv[0]) +
                    " is not installed (set prompt.compare_tool in hoard's config)");
  if (!plan.diff_file.empty())
    if (auto st = writeDiff(c, plan.diff_file); !st) return st;
  std::string program = findOnPath(plan.argv[0]);
  std::vector<char*> args = cArgs(plan.argv);  // before fork: the child may not allocate
  // Detached: the child forks the tool and exits at once, so the tool is
  // nobody's child here and never a zombie of ours.
  pid_t pid = ::fork();
  if (pid < 0) return failErrno(errno, "fork for " + plan.argv[0]);
  if (pid == 0) {
    ::setsid();
    if (::fork() == 0) {
      unblockSignals();
      int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
      if (null >= 0) ::dup2(null, 0);
      ::execv(program.c_str(), args.data());
      ::_exit(127);
    }
    ::_exit(0);
  }
  while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
  }
  return {};
}

}  // namespace hoard::prompt
