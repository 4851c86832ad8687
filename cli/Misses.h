// SPDX-License-Identifier: MIT
#pragma once

// `hoard misses NAME`: what programs wanted of an on-demand share while its
// data was not there (offline).

#include <string>

#include "Client.h"

namespace hoard::cli {

// Lists the misses of `share`, oldest first; --json as
// schemas/cli/misses.schema.json. Returns kOk.
int listMisses(Agent& agent, const std::string& share, bool as_json);

}  // namespace hoard::cli
