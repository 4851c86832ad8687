// SPDX-License-Identifier: MIT
#pragma once

// How the CLI shows things. Text for people; with --json, one JSON document
// on stdout whose shape is fixed by the schemas under schemas/cli/. A POSIX
// name need not be UTF-8, so every path appears twice in JSON: "path" is
// printable (displayPath's escapes) and "path_hex" is the exact bytes.

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace hoard::cli {

std::string str(const std::vector<uint8_t>& v);
std::vector<uint8_t> bytes(const std::string& s);

// {"path": "...", "path_hex": "..."} merged into `into` under `key` and `key`_hex.
void putPath(nlohmann::json& into, const std::string& key, const std::string& path);

// "12:34:56 2026-11-24" style local time, or "never" for 0.
std::string timeText(int64_t ns);

// A progress line: a bar on a terminal (rewritten in place), plain lines otherwise.
void showProgress(const std::string& what, uint64_t bytes_done, uint64_t bytes_total,
                  uint32_t files_done, uint32_t files_total);
void endProgress();

}  // namespace hoard::cli
