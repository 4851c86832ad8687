// SPDX-License-Identifier: MIT
#pragma once

// `hoard conflicts --resolved` and `hoard undo`: the history of resolutions
// and taking one back.

#include <cstdint>
#include <string>

#include "Client.h"

namespace hoard::cli {

// Lists the resolutions of `share` ("" for all), newest first; --json as
// schemas/cli/resolutions.schema.json. Returns kOk.
int listResolutions(Agent& agent, const std::string& share, bool as_json);

// Undoes the latest resolution of conflict `id`; says what is open again.
int undoResolution(Agent& agent, uint64_t id);

}  // namespace hoard::cli
