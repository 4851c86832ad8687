// SPDX-License-Identifier: MIT
#include "BusHarness.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace hoard::bustest {

bool eventually(const std::function<bool()>& cond, std::chrono::seconds limit) {
  auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return cond();
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "<absent>";
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void put(const std::string& path, const std::string& bytes) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

pid_t spawn(const std::vector<std::string>& argv, const std::string& log,
            const std::vector<std::pair<std::string, std::string>>& env) {
  pid_t pid = fork();
  if (pid == 0) {
    // A test binary that dies must not leave its daemons holding ctest's pipe.
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    dup2(fd, 1);
    dup2(fd, 2);
    for (const auto& [k, v] : env) setenv(k.c_str(), v.c_str(), 1);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  return pid;
}

int waitExit(pid_t pid) {
  int status = 0;
  if (waitpid(pid, &status, 0) != pid) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int stopProcess(pid_t pid, std::chrono::seconds grace) {
  if (pid <= 0) return -1;
  kill(pid, SIGTERM);
  auto until = std::chrono::steady_clock::now() + grace;
  int status = 0;
  for (;;) {
    pid_t got = waitpid(pid, &status, WNOHANG);
    if (got == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (got < 0) return -1;
    if (std::chrono::steady_clock::now() >= until) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  kill(pid, SIGKILL);
  waitExit(pid);
  return 128 + SIGKILL;
}

PrivateBus::PrivateBus() { launch({"dbus-daemon", "--session", "--nofork", "--print-address=1"}); }

PrivateBus::PrivateBus(const std::string& service_dir) {
  std::filesystem::create_directories(service_dir);
  put(service_dir + "/org.hoard.Agent1.service",
      "[D-BUS Service]\nName=org.hoard.Agent1\nExec=" + std::string(HOARDD_PATH) + "\n");
  std::string config = service_dir + "/bus.conf";
  put(config,
      "<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN\"\n"
      " \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n"
      "<busconfig>\n  <type>session</type>\n  <listen>unix:tmpdir=/tmp</listen>\n"
      "  <servicedir>" + service_dir + "</servicedir>\n"
      "  <policy context=\"default\">\n    <allow send_destination=\"*\" eavesdrop=\"true\"/>\n"
      "    <allow eavesdrop=\"true\"/>\n    <allow own=\"*\"/>\n  </policy>\n</busconfig>\n");
  launch({"dbus-daemon", "--config-file=" + config, "--nofork", "--print-address=1"});
}

void PrivateBus::launch(const std::vector<std::string>& argv) {
  int fds[2];
  if (pipe(fds) != 0) return;
  pid_ = fork();
  if (pid_ == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    dup2(fds[1], 1);
    close(fds[0]);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  close(fds[1]);
  char ch;
  while (read(fds[0], &ch, 1) == 1 && ch != '\n') address_.push_back(ch);
  close(fds[0]);
  if (!address_.empty()) setenv("DBUS_SESSION_BUS_ADDRESS", address_.c_str(), 1);
}

pid_t busNameOwnerPid(const std::string& name) {
  auto [rc, out] = run(
      "dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus "
      "org.freedesktop.DBus.GetConnectionUnixProcessID string:" + name + " 2>/dev/null");
  auto at = out.find("uint32 ");
  if (rc != 0 || at == std::string::npos) return -1;
  return static_cast<pid_t>(std::stol(out.substr(at + 7)));
}

PrivateBus::~PrivateBus() { stopProcess(pid_); }

Daemon::Daemon(std::string state_dir, std::string log,
               std::vector<std::pair<std::string, std::string>> env)
    : state_dir_(std::move(state_dir)), log_(std::move(log)), env_(std::move(env)) {
  env_.emplace_back("XDG_STATE_HOME", state_dir_);
}

Daemon::~Daemon() {
  if (pid_ > 0) stop();
}

bool Daemon::start() {
  size_t before = slurp(log_).size();
  if (slurp(log_) == "<absent>") before = 0;
  pid_ = spawn({HOARDD_PATH}, log_, env_);
  bool exited = false;
  bool ready = eventually([&] {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {  // gave up (a bad config): no use waiting
      exited = true;
      return true;
    }
    std::string l = slurp(log_);
    return l != "<absent>" && l.find("ready", before) != std::string::npos;
  });
  if (exited) pid_ = -1;
  return ready && !exited;
}

int Daemon::stop() {
  if (pid_ <= 0) return -1;
  int rc = stopProcess(pid_, std::chrono::seconds(60));
  if (rc == 128 + SIGKILL)
    fprintf(stderr, "hoardd (pid %d) did not stop within 60 s of SIGTERM: killed; its log:\n%s\n",
            static_cast<int>(pid_), slurp(log_).c_str());
  pid_ = -1;
  return rc;
}

std::pair<int, std::string> run(const std::string& command) {
  std::string out;
  FILE* p = popen(command.c_str(), "r");
  if (p == nullptr) return {-1, ""};
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), out};
}

std::pair<int, std::string> runHoard(const std::string& args, const std::string& err_file,
                                     std::chrono::seconds limit) {
  auto r = run("timeout -k 10 " + std::to_string(limit.count()) + " " + HOARD_CLI_PATH + " " +
               args + " 2>" + err_file);
  if (r.first == 124 || r.first == 128 + SIGKILL)
    fprintf(stderr, "`hoard %s` did not finish within %lld s: killed; its stderr:\n%s\n",
            args.c_str(), static_cast<long long>(limit.count()), slurp(err_file).c_str());
  return r;
}

}  // namespace hoard::bustest
