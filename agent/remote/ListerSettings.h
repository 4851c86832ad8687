// SPDX-License-Identifier: MIT
#pragma once

// Where a share's hoard-lister runs and how it is reached (config.json:
// shares.NAME.lister, lister_command, lister_rsh), and the command line
// made from that. See ListerChangeSource.h for what the lister is for.

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include "common/Error.h"

namespace hoard::remote {

// How a share reaches its lister (config: shares.NAME.lister, lister_command,
// lister_rsh). An empty spec: no lister.
struct ListerSettings {
  // "ssh://[USER@]HOST[:PORT]/PATH" (the share's root on the server), or an
  // absolute PATH for a lister run on this machine (a server hoardd can
  // reach without ssh, and the tests' stand-in).
  std::string spec;
  std::string command = "hoard-lister";  // the lister's name or path there
  std::string rsh = "ssh";               // the ssh command, split at spaces (as rsync's -e)
  // ssh's ControlPath: one ssh connection per server kept open between
  // passes (ControlMaster=auto, ControlPersist), so a pass costs a round
  // trip, not an ssh handshake (1.8 s at 20 ms measured). Empty: a new
  // connection every pass.
  std::string control_path;
  std::chrono::milliseconds idle_deadline{30000};
  size_t max_in_flight = 32;             // mount stats of changed paths at once
};

// The argv that runs the lister, or kInvalidArgument naming what is wrong
// with the spec.
Result<std::vector<std::string>> listerCommand(const ListerSettings& settings);

// Where ssh keeps the connection it shares between passes: "DIR/ssh-%C" in
// `runtime_dir` (XDG_RUNTIME_DIR/hoard: short, and where sockets belong) if
// given, else in `state_dir`. ssh binds a Unix socket there, whose path may
// be at most 107 bytes once %C became 40 hex digits and ssh added its
// 17-character temporary suffix; where neither fits, empty (a new connection
// every pass) and *why says so.
std::string sshControlPath(const std::string& runtime_dir, const std::string& state_dir,
                           std::string* why);

}  // namespace hoard::remote
