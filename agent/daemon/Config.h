// SPDX-License-Identifier: MIT
#pragma once

// hoardd's configuration file: $XDG_CONFIG_HOME/hoard/config.json, checked
// against schemas/config.schema.json (embedded at build time). A missing file
// means the defaults; anything malformed is an error naming the file and the
// key (or the line and column for broken JSON), and hoardd does not start:
// a key given twice, an unknown key, a value of the wrong type or outside
// its bounds (every key has a minimum and a maximum in the schema, checked
// again in code), a number beyond double's range (1e400).

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "common/Error.h"
#include "daemon/AgentOptions.h"

namespace hoard::daemon {

// $XDG_CONFIG_HOME/hoard/config.json, or ~/.config/hoard/config.json.
std::string defaultConfigPath();

// The options in `path` on top of the defaults. kInvalidArgument for a file
// that is not JSON or breaks the schema, its message "config <path>: /<key>:
// <problem>"; kIo if it cannot be read. Never throws.
Result<AgentOptions> loadConfig(const std::string& path);

// The text of the config file at `path`; nullopt if there is none. kIo if
// it cannot be read.
Result<std::optional<std::string>> readConfigFile(const std::string& path);

// Parses a config file's text as JSON: a key given twice, broken JSON (named
// by line and column) or a number beyond double's range is kInvalidArgument
// naming the file and the key. No schema is applied.
Result<nlohmann::json> parseConfigText(const std::string& path, const std::string& text);

// The deepest place where `doc` breaks the JSON Schema `schema_text`, as
// "/key/0: <value>: <problem>" ("the top level: ..." for the document
// itself); nullopt if it conforms.
std::optional<std::string> schemaProblem(const std::string& schema_text, const nlohmann::json& doc);

// The embedded schema (for tests and `hoardd --print-config-schema`).
const std::string& configSchema();

}  // namespace hoard::daemon
