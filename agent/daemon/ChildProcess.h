// SPDX-License-Identifier: MIT
#pragma once

// Runs a share's configured command (auth_command, auth_check_command) with
// /bin/sh -c, detached from hoardd's stdio: stdin is /dev/null, stdout and
// stderr come back to the caller line by line. A command that outlives its
// deadline is killed (SIGTERM, then SIGKILL a second later) with its
// process group.

#include <chrono>
#include <functional>
#include <string>

#include "common/Error.h"

namespace hoard::daemon {

struct ChildOutcome {
  int exit_status = -1;   // 0..255; 128 + signal if killed by one
  bool timed_out = false;
  std::string output;     // stdout and stderr as they came (at most 64 KiB kept)
};

// Runs `command` and waits for it, at most `deadline`; `line` (optional) is
// called with each line of output as it arrives, on the calling thread.
// Blocks: call it off the bus thread. Errors: kIo if the process cannot be
// started (the message names the command).
Result<ChildOutcome> runCommand(const std::string& command, std::chrono::milliseconds deadline,
                                const std::function<void(const std::string&)>& line = {});

}  // namespace hoard::daemon
