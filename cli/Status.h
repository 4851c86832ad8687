// SPDX-License-Identifier: MIT
#pragma once

// `hoard status`: a share's GetStatus answer as JSON
// (schemas/cli/status.schema.json) and as text for a person.

#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "Client.h"

namespace hoard::cli {

// The state with "(by your request)" when the user took the share offline.
std::string stateLine(const std::map<std::string, sdbus::Variant>& st);
// The fields every daemon sends.
nlohmann::json statusJson(const std::string& name, const std::map<std::string, sdbus::Variant>& st);
// The failing paths, a stopped pass, the rules' error, an on-demand view and
// a waiting mass deletion, into the status's JSON (older daemons send none).
void addProblems(nlohmann::json& j, const std::map<std::string, sdbus::Variant>& st);
// "12 files in the cache (of 40)" and the first paths, for a person.
void showMassDelete(const std::string& share, const nlohmann::json& md);
// The status of share `n` for a person: `j` is its JSON (with the problems
// and the authentication status added).
void printStatusText(const std::string& n, const std::map<std::string, sdbus::Variant>& st,
                     const nlohmann::json& j);

}  // namespace hoard::cli
