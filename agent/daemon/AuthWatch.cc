// SPDX-License-Identifier: MIT
#include "daemon/AuthWatch.h"

#include <pthread.h>

#include <algorithm>
#include <cctype>
#include <sstream>

#include "daemon/ChildProcess.h"
#include "daemon/Log.h"

namespace hoard::daemon {

namespace {
constexpr std::chrono::seconds kCheckDeadline{30};
using SysClock = std::chrono::system_clock;
}  // namespace

AuthCheckAnswer parseAuthCheck(int exit_status, const std::string& output) {
  AuthCheckAnswer a;
  a.text = output.substr(0, output.find('\n'));
  a.valid = exit_status == 0;
  if (!a.valid) return a;
  std::istringstream in(a.text);
  std::string word;
  in >> word;
  if (!word.empty() && word.size() <= 18 &&
      std::all_of(word.begin(), word.end(), [](unsigned char c) { return std::isdigit(c); }))
    a.seconds_left = std::stoll(word);
  return a;
}

std::string expiryText(std::optional<int64_t> seconds_left, bool valid) {
  if (!valid || (seconds_left && *seconds_left <= 0)) return "have expired";
  if (!seconds_left) return "are valid";
  const int64_t s = *seconds_left;
  auto unit = [](int64_t n, const char* one) {
    return std::to_string(n) + " " + one + (n == 1 ? "" : "s");
  };
  // To the nearest unit: 599 s left a second after "600" is still "10
  // minutes", as a clock would say.
  if (s < 120) return "expire in " + unit(s, "second");
  if (s < 2 * 3600 - 30) return "expire in " + unit((s + 30) / 60, "minute");
  return "expire in " + unit((s + 1800) / 3600, "hour");
}

AuthWatch::AuthWatch(std::map<std::string, ShareAuthOptions> shares, Warn warn)
    : shares_(std::move(shares)), warn_(std::move(warn)) {
  bool any = false;
  for (const auto& [name, o] : shares_) any = any || !o.auth_check_command.empty();
  if (any)
    thread_ = std::thread([this] {
      pthread_setname_np(pthread_self(), "hoard-authcheck");
      run();
    });
}

AuthWatch::~AuthWatch() {
  {
    MutexLock lock(mu_);
    stopping_ = true;
  }
  cv_.notifyAll();
  if (thread_.joinable()) thread_.join();
}

std::optional<AuthWatch::Known> AuthWatch::last(const std::string& share) const {
  MutexLock lock(mu_);
  auto it = known_.find(share);
  if (it == known_.end()) return std::nullopt;
  Known k = it->second;
  if (k.answer.seconds_left) {
    auto gone = std::chrono::duration_cast<std::chrono::seconds>(SysClock::now() - k.checked_at);
    k.answer.seconds_left = std::max<int64_t>(0, *k.answer.seconds_left - gone.count());
  }
  return k;
}

void AuthWatch::checkNow() {
  {
    MutexLock lock(mu_);
    now_ = true;
  }
  cv_.notifyAll();
}

void AuthWatch::check(const std::string& share, const ShareAuthOptions& opts) {
  auto ran = runCommand(opts.auth_check_command, kCheckDeadline);
  if (!ran) {
    log(4, "share " + share + ": auth_check_command: " + ran.error().message());
    return;
  }
  AuthCheckAnswer a = ran->timed_out ? AuthCheckAnswer{} : parseAuthCheck(ran->exit_status, ran->output);
  if (ran->timed_out) a.text = "the check took longer than 30 s";
  const bool due = !a.valid || (a.seconds_left && *a.seconds_left <= opts.warn_before.count() / 1000);
  bool send = false;
  {
    MutexLock lock(mu_);
    known_[share] = Known{a, SysClock::now()};
    send = due && !warned_[share];
    warned_[share] = due;  // a renewal (no longer due) re-arms the warning
  }
  if (!send) return;
  const int64_t left = a.valid ? a.seconds_left.value_or(0) : 0;
  std::string msg = "the credentials for share " + share + " " + expiryText(a.seconds_left, a.valid);
  if (!opts.auth_command.empty()) msg += "; `hoard auth " + share + "` renews them";
  logMessage(4, msg, LogFields{share, {}, 0, "org.hoard.Error.AuthenticationRequired"});
  if (warn_) warn_(share, left, msg);
}

void AuthWatch::run() {
  std::map<std::string, SysClock::time_point> due;
  for (const auto& [name, o] : shares_)
    if (!o.auth_check_command.empty()) due[name] = SysClock::now();
  MutexLock lock(mu_);
  while (!stopping_) {
    if (now_) {
      for (auto& [name, t] : due) t = SysClock::now();
      now_ = false;
    }
    auto next = due.begin();
    for (auto it = due.begin(); it != due.end(); ++it)
      if (it->second < next->second) next = it;
    if (next->second > SysClock::now()) {
      while (!stopping_ && !now_ && cv_.waitUntil(mu_, next->second)) {
      }
      continue;
    }
    const std::string name = next->first;
    const ShareAuthOptions& opts = shares_.at(name);
    next->second = SysClock::now() + opts.check_interval;
    lock.unlock();
    check(name, opts);
    lock.lock();
  }
}

}  // namespace hoard::daemon
