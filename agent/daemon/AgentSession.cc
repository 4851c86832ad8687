// SPDX-License-Identifier: MIT
// The session's own signals (SessionSignals.h) applied to every share:
// the network gone or back, suspend and resume.
#include <thread>

#include "daemon/Agent.h"
#include "daemon/Log.h"

namespace hoard::daemon {

std::vector<std::shared_ptr<Agent::Engine>> Agent::allEngines() {
  MutexLock lock(mu_);
  std::vector<std::shared_ptr<Engine>> out;
  for (const auto& [name, e] : engines_) out.push_back(e);
  return out;
}

void Agent::networkChanged(bool up, const std::string& why) {
  log(6, std::string(up ? "network back: probing every share now (" : "network gone: ") + why +
             (up ? ")" : "; every share goes offline"));
  for (const auto& e : allEngines()) {
    if (up)
      e->engine->probeNow();
    else
      e->engine->networkLost(why);
  }
}

void Agent::prepareForSleep(std::chrono::milliseconds budget) {
  using Clock = std::chrono::steady_clock;
  auto engines = allEngines();
  for (const auto& e : engines) e->engine->prepareForSleep();
  auto allReady = [&] {
    for (const auto& e : engines)
      if (!e->engine->readyForSleep()) return false;
    return true;
  };
  auto waitUntil = [&](Clock::time_point end) {
    while (!allReady() && Clock::now() < end) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    return allReady();
  };
  const auto start = Clock::now();
  if (waitUntil(start + budget)) {
    log(6, "before sleep: every share sent what it had to send");
    return;
  }
  // Out of time: the walk or the pass stops at its next file and resumes after.
  for (const auto& e : engines) e->engine->pauseForSleep();
  bool stopped = waitUntil(Clock::now() + std::chrono::seconds(1));
  log(stopped ? 6 : 4, std::string("before sleep: out of time, the running pass was paused") +
                           (stopped ? "" : " but had not stopped yet"));
}

void Agent::resumedFromSleep() {
  log(6, "resumed from sleep: probing every share now");
  for (const auto& e : allEngines()) {
    e->engine->resumed();
  }
}

}  // namespace hoard::daemon
