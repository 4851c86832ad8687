// SPDX-License-Identifier: MIT
#pragma once

// `hoard auth NAME` (renew a share's credentials) and `hoard ready [NAME]`
// (is my work offline-ready?), and what `hoard status` says of credentials.

#include <map>
#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "Client.h"
#include "RulesCommands.h"  // Commands

namespace hoard::cli {

// `hoard ready` exits with this when something is not offline-ready.
inline constexpr int kNotReady = 4;

void addAuthReadyCommands(CLI::App& app, Commands c);

// The credential keys of a GetStatus answer into a status's JSON
// (auth_required, auth_expiry, auth_expires_in_s), when the daemon sent them.
void addAuthStatus(nlohmann::json& j, const std::map<std::string, sdbus::Variant>& st);
// The lines `hoard status` prints about them ("" when all is well).
std::string authStatusText(const std::string& share, const nlohmann::json& j);

}  // namespace hoard::cli
