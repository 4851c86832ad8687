// SPDX-License-Identifier: MIT
#pragma once

// hoardd's log: lines on stderr with sd-daemon priority prefixes ("<3>" for
// errors ... "<6>" for information), which journald reads as priorities.
// Any thread.

#include <string>

namespace hoard::daemon {

void log(int priority, const std::string& message);

}  // namespace hoard::daemon
