// SPDX-License-Identifier: MIT
#pragma once

// The session's own signals, from the system bus (DBUS_SYSTEM_BUS_ADDRESS
// is honoured, so tests can offer a private bus with mock services):
//
//  - NetworkManager: StateChanged and the Connectivity property. Connected
//    (state 50 and up, connectivity portal/limited/full) -> `network_up`
//    (probe now); disconnected or asleep (state 20 and below, connectivity
//    none) -> `network_down` (offline at once).
//  - logind: a "sleep" delay inhibitor lock is held while hoardd runs.
//    PrepareForSleep(true) -> `sleep(budget)` on a thread of its own (the
//    budget is logind's InhibitDelayMaxUSec less a margin), then the lock is
//    released so the machine may sleep; PrepareForSleep(false) -> `resumed`
//    and the lock is taken again.
//
// Both are optional: without a system bus, or without either service, hoard
// works as before (logged once at start).

#include <chrono>
#include <functional>
#include <memory>
#include <string>

namespace hoard::daemon {

struct SessionHooks {
  std::function<void(const std::string& why)> network_up;    // must not block
  std::function<void(const std::string& why)> network_down;  // must not block
  std::function<void(std::chrono::milliseconds budget)> sleep;  // may block, up to the budget
  std::function<void()> resumed;                                 // must not block
};

class SessionSignals {
 public:
  // Connects to the system bus and subscribes; nullptr (logged) if there is
  // no system bus. Every hook must be set.
  static std::unique_ptr<SessionSignals> start(SessionHooks hooks);
  // Stops listening, waits for a sleep hook in progress, releases the lock.
  ~SessionSignals();

  class Impl;

 private:
  explicit SessionSignals(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace hoard::daemon
