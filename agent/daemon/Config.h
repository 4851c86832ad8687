// SPDX-License-Identifier: MIT
#pragma once

// hoardd's configuration file: $XDG_CONFIG_HOME/hoard/config.json, checked
// against schemas/config.schema.json (embedded at build time). A missing file
// means the defaults; anything malformed is an error naming the file and the
// key (or the line and column for broken JSON), and hoardd does not start.

#include <string>

#include "common/Error.h"
#include "daemon/Agent.h"

namespace hoard::daemon {

// $XDG_CONFIG_HOME/hoard/config.json, or ~/.config/hoard/config.json.
std::string defaultConfigPath();

// The options in `path` on top of the defaults. kInvalidArgument for a file
// that is not JSON or breaks the schema; kIo if it cannot be read.
Result<AgentOptions> loadConfig(const std::string& path);

// The embedded schema (for tests and `hoardd --print-config-schema`).
const std::string& configSchema();

}  // namespace hoard::daemon
