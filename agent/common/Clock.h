// SPDX-License-Identifier: MIT
#pragma once

// Time as the engine sees it, behind an interface so tests can jump it
// (conventions.md: the clock is a boundary with a fake). Two kinds of time:
// steady time for deadlines and intervals (never jumps when the user or NTP
// sets the wall clock), and wall time only for labels people read
// ("pre-disconnection 2026-11-24T03:28:00Z") and for status timestamps.

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>

#include "common/ThreadAnnotations.h"

namespace hoard {

class Clock {
 public:
  using SteadyTime = std::chrono::steady_clock::time_point;
  using WallTime = std::chrono::system_clock::time_point;

  virtual ~Clock() = default;
  // Monotonic time for deadlines. Any thread.
  virtual SteadyTime steadyNow() const = 0;
  // Wall-clock time for labels and timestamps shown to people. Any thread.
  virtual WallTime wallNow() const = 0;
};

// Nanoseconds since the epoch of a wall time (the journal's times).
inline int64_t epochNs(Clock::WallTime t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

// The real clocks. Stateless: one instance may be shared by everything.
class SystemClock final : public Clock {
 public:
  SteadyTime steadyNow() const override { return std::chrono::steady_clock::now(); }
  WallTime wallNow() const override { return std::chrono::system_clock::now(); }
  // A process-wide instance; it holds no state, so any thread may use it.
  static SystemClock& instance();
};

// A clock that moves only when told. Both times advance together by
// advance(); setWall() moves only the wall time (as a user setting the
// clock would). Thread-safe: any thread may read or move it.
class FakeClock final : public Clock {
 public:
  // Starts at an arbitrary steady epoch and at `wall_start`
  // (default 2026-01-02T03:04:05Z, so labels in tests are predictable).
  explicit FakeClock(WallTime wall_start = WallTime(std::chrono::seconds(1767323045)));

  SteadyTime steadyNow() const override;
  WallTime wallNow() const override;

  // Moves both clocks forward by `d` (d >= 0; a negative value is ignored
  // for the steady clock, which never goes back).
  void advance(std::chrono::nanoseconds d);
  void setWall(WallTime t);

 private:
  mutable Mutex mu_;
  SteadyTime steady_ HOARD_GUARDED_BY(mu_);
  WallTime wall_ HOARD_GUARDED_BY(mu_);
};

// "YYYY-MM-DDTHH:MM:SSZ" in UTC (ISO 8601, seconds precision).
std::string formatUtc(Clock::WallTime t);

}  // namespace hoard
