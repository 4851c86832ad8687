// SPDX-License-Identifier: MIT
#pragma once

// Runs each share's auth_check_command every auth_check_interval_s and says
// when its credentials are about to expire (config "shares": {"NAME":
// {"auth_check_command": ...}}, hoard-config(5)).
//
// The command's answer: exit 0 with the seconds left as the first word of
// its output ("600", "600 seconds left"); exit 0 without a number: valid,
// expiry unknown; any other exit: expired (or no credentials at all).
// A warning goes out when the time left falls to auth_warn_before_s or
// below, once per credential lifetime (a renewal that pushes the expiry out
// re-arms it), and once when the check says expired.
//
// Threads: one of its own; the warning callback runs on it.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "common/ThreadAnnotations.h"
#include "daemon/AgentOptions.h"

namespace hoard::daemon {

// What one run of a check command said.
struct AuthCheckAnswer {
  bool valid = false;
  std::optional<int64_t> seconds_left;  // when the command said
  std::string text;                     // its first line of output, for the log
};
// Reads a check command's exit status and output as above.
AuthCheckAnswer parseAuthCheck(int exit_status, const std::string& output);

// "expires in 10 minutes", "expires in 45 seconds", "has expired".
std::string expiryText(std::optional<int64_t> seconds_left, bool valid);

class AuthWatch {
 public:
  struct Known {
    AuthCheckAnswer answer;
    std::chrono::system_clock::time_point checked_at;
  };
  // (share, seconds left (0 when expired), message) when a warning is due.
  using Warn = std::function<void(const std::string&, int64_t, const std::string&)>;

  // Starts the thread if some share has a check command.
  AuthWatch(std::map<std::string, ShareAuthOptions> shares, Warn warn);
  ~AuthWatch();  // stops and joins (a running check is waited for, at most its deadline)

  // The last answer for `share`, its expiry counted down to now; nullopt if
  // the share has no check command or it has not run yet. Any thread.
  std::optional<Known> last(const std::string& share) const;
  // Runs every check at once (after a renewal). Any thread.
  void checkNow();

 private:
  void run() HOARD_EXCLUDES(mu_);
  void check(const std::string& share, const ShareAuthOptions& opts) HOARD_EXCLUDES(mu_);

  const std::map<std::string, ShareAuthOptions> shares_;
  const Warn warn_;
  mutable Mutex mu_;
  CondVar cv_;
  std::map<std::string, Known> known_ HOARD_GUARDED_BY(mu_);
  std::map<std::string, bool> warned_ HOARD_GUARDED_BY(mu_);  // a warning went out this lifetime
  bool now_ HOARD_GUARDED_BY(mu_) = false;
  bool stopping_ HOARD_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace hoard::daemon
