// SPDX-License-Identifier: MIT
#pragma once

// hoardd's configuration file: $XDG_CONFIG_HOME/hoard/config.json, checked
// against schemas/config.schema.json (embedded at build time). A missing file
// means the defaults; anything malformed is an error naming the file and the
// key (or the line and column for broken JSON), and hoardd does not start:
// a key given twice, an unknown key, a value of the wrong type or outside
// its bounds (every key has a minimum and a maximum in the schema, checked
// again in code), a number beyond double's range (1e400).

#include <string>

#include "common/Error.h"
#include "daemon/Agent.h"

namespace hoard::daemon {

// $XDG_CONFIG_HOME/hoard/config.json, or ~/.config/hoard/config.json.
std::string defaultConfigPath();

// The options in `path` on top of the defaults. kInvalidArgument for a file
// that is not JSON or breaks the schema, its message "config <path>: /<key>:
// <problem>"; kIo if it cannot be read. Never throws.
Result<AgentOptions> loadConfig(const std::string& path);

// The embedded schema (for tests and `hoardd --print-config-schema`).
const std::string& configSchema();

}  // namespace hoard::daemon
