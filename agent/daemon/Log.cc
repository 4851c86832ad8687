// SPDX-License-Identifier: MIT
#include "daemon/Log.h"

#include <iostream>
#include <mutex>

namespace hoard::daemon {

void log(int priority, const std::string& message) {
  static std::mutex mu;  // whole lines, even from several threads
  std::lock_guard lock(mu);
  std::cerr << "<" << priority << ">hoardd: " << message << std::endl;
}

}  // namespace hoard::daemon
