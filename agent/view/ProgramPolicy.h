// SPDX-License-Identifier: MIT
#pragma once

// Which miss policy a reading program gets: the share's, unless the program
// is named in a per-program list, by its executable's name or by a systemd
// unit it runs in ("tracker-extract-3", "tumblerd.service"). Thumbnailers,
// indexers and previewers fail at once by default (defaultProgramPolicies),
// so a file manager never hangs on a folder of placeholders offline.

#include <sys/types.h>

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "view/View.h"

namespace hoard::view {

// A reading process as the list matches it.
struct ReadingProcess {
  std::string comm;                // /proc/PID/comm (at most 15 bytes)
  std::string exe;                 // the basename of /proc/PID/exe ("" if unreadable)
  std::vector<std::string> units;  // systemd units of its cgroup, outermost first
};

// Reads /proc/PID's comm, exe and cgroup; fields it cannot read stay empty
// (the process may be gone already).
ReadingProcess readingProcess(pid_t pid);

// The systemd units (path components ending in .service or .scope) of the
// unified hierarchy's line ("0::/...") of a /proc/PID/cgroup text, or of the
// name=systemd line on a hybrid (v1) machine.
std::vector<std::string> unitsOfCgroup(std::string_view proc_cgroup);

// The policy `list` gives `p`, or nullopt if it names none of it. A key
// matches the executable's name, its comm (which the kernel cuts to 15
// bytes, so a longer key matches on its first 15), or a unit. A unit
// matches before a name, the innermost unit first.
std::optional<MissPolicy> policyFor(const std::map<std::string, MissPolicy>& list,
                                    const ReadingProcess& p);

// The shipped list: desktop thumbnailers, indexers and previewers, all
// kError. The config's offline_reads_by_program adds to it or overrides it.
const std::map<std::string, MissPolicy>& defaultProgramPolicies();

}  // namespace hoard::view
