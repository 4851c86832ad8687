// SPDX-License-Identifier: MIT
#pragma once

// What the tests/dbus suites share: a private session bus (a dbus-daemon of
// the test's own), the real hoardd on it, and small file helpers.

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace hoard::bustest {

// Polls `cond` until it holds or `limit` passes (a limit, not a timing check).
bool eventually(const std::function<bool()>& cond,
                std::chrono::seconds limit = std::chrono::seconds(30));
std::string slurp(const std::string& path);  // "<absent>" if unreadable
void put(const std::string& path, const std::string& bytes);

// Runs argv with stdout and stderr appended to `log`; returns the pid.
pid_t spawn(const std::vector<std::string>& argv, const std::string& log,
            const std::vector<std::pair<std::string, std::string>>& env = {});
int waitExit(pid_t pid);  // the exit status, or 128 + signal
// SIGTERM, then waits at most `grace` for `pid` to exit; past that it is
// killed (SIGKILL), so that no test waits forever on a process that does not
// stop. Returns the exit status (or 128 + signal): 137 means it had to be killed.
int stopProcess(pid_t pid, std::chrono::seconds grace = std::chrono::seconds(20));

// The real hoard CLI: `hoard ARGS` (ARGS as shell words), stderr into
// `err_file`; the exit status and stdout. A CLI that has not exited within
// `limit` is killed and reported as 124 (timeout(1)'s status), so a hang in
// hoardd or the CLI fails the test instead of stalling the suite.
std::pair<int, std::string> runHoard(const std::string& args, const std::string& err_file,
                                     std::chrono::seconds limit = std::chrono::seconds(120));

// A dbus-daemon --session of our own; sets DBUS_SESSION_BUS_ADDRESS for this
// process (and so its children) while it lives.
class PrivateBus {
 public:
  PrivateBus();
  // A bus that starts hoardd by D-Bus activation on the first call to
  // org.hoard.Agent1 (a service file in `service_dir`, which is created).
  // The activated hoardd inherits this process's environment.
  explicit PrivateBus(const std::string& service_dir);
  ~PrivateBus();
  bool ok() const { return !address_.empty(); }

 private:
  void launch(const std::vector<std::string>& argv);
  pid_t pid_ = -1;
  std::string address_;
};

// The real hoardd with XDG_STATE_HOME=`state_dir`, its log in `log`.
class Daemon {
 public:
  Daemon(std::string state_dir, std::string log,
         std::vector<std::pair<std::string, std::string>> env = {});
  ~Daemon();  // SIGTERM and wait, if still running
  // Starts it and waits for its "ready" line. False (with the log) if it did not come up.
  bool start();
  // SIGTERM; returns the exit status.
  int stop();
  pid_t pid() const { return pid_; }

 private:
  std::string state_dir_, log_;
  std::vector<std::pair<std::string, std::string>> env_;
  pid_t pid_ = -1;
};

// The pid of the process owning `name` on the session bus, or -1.
pid_t busNameOwnerPid(const std::string& name);

// Runs a command, capturing stdout; returns {exit status, stdout}.
std::pair<int, std::string> run(const std::string& command);

}  // namespace hoard::bustest
