// SPDX-License-Identifier: MIT
#pragma once

// `hoard rules check|reload|explain` and the dry run of `hoard resolve`.

#include <functional>
#include <map>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "Client.h"

namespace hoard::cli {

struct Commands {
  bool& as_json;
  std::function<int(Agent&)>& action;  // runs with a connection to hoardd
  std::function<int()>& local_action;  // runs without one
};

void addRulesCommands(CLI::App& app, Commands c);

// Prints what deciding the given conflicts would do (PreviewResolve); exit
// status 3 if any would stay open, else 0.
int printPreview(Agent& a, const std::vector<uint64_t>& ids, const std::string& share,
                 const std::map<std::string, sdbus::Variant>& filter, const std::string& resolver,
                 bool as_json);

}  // namespace hoard::cli
