// SPDX-License-Identifier: MIT
#include "common/Clock.h"

#include <ctime>

namespace hoard {

SystemClock& SystemClock::instance() {
  static SystemClock clock;
  return clock;
}

FakeClock::FakeClock(WallTime wall_start)
    : steady_(SteadyTime(std::chrono::hours(1000))), wall_(wall_start) {}

Clock::SteadyTime FakeClock::steadyNow() const {
  MutexLock lock(mu_);
  return steady_;
}

Clock::WallTime FakeClock::wallNow() const {
  MutexLock lock(mu_);
  return wall_;
}

void FakeClock::advance(std::chrono::nanoseconds d) {
  MutexLock lock(mu_);
  if (d > std::chrono::nanoseconds::zero()) steady_ += d;
  wall_ += std::chrono::duration_cast<WallTime::duration>(d);
}

void FakeClock::setWall(WallTime t) {
  MutexLock lock(mu_);
  wall_ = t;
}

std::string formatUtc(Clock::WallTime t) {
  const std::time_t secs =
      std::chrono::system_clock::to_time_t(std::chrono::time_point_cast<std::chrono::seconds>(t));
  std::tm tm{};
  if (gmtime_r(&secs, &tm) == nullptr) return "?";
  char buf[32];
  size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return std::string(buf, n);
}

}  // namespace hoard
