// SPDX-License-Identifier: MIT
#pragma once

// hoard-prompt's settings: the "prompt" object of hoard's config file
// ($XDG_CONFIG_HOME/hoard/config.json, the schema in
// schemas/config.schema.json), read at start.

#include <chrono>
#include <string>
#include <vector>

#include "common/Error.h"

namespace hoard::prompt {

struct PromptConfig {
  // The command Compare runs; its arguments may name {base}, {local} and
  // {remote} (the read-only copies), and without any of them the three are
  // appended as local, base, remote. Empty: the default (meld or kdiff3 if
  // on PATH, else `diff -u` opened in $VISUAL, $EDITOR or xdg-open).
  std::vector<std::string> compare_tool;
  // A conflict whose notification was closed without a choice is shown
  // again after this long, and not sooner.
  std::chrono::seconds reminder_interval{1800};
};

// The settings in the config file at `path`: defaults for a missing file or
// a missing "prompt" key. kInvalidArgument for a file that is not JSON or
// breaks the schema, naming the file and the key ("config PATH:
// /prompt/reminder_interval_s: ..."); kIo if it cannot be read.
Result<PromptConfig> loadPromptConfig(const std::string& path);

}  // namespace hoard::prompt
