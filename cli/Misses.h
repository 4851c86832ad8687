// SPDX-License-Identifier: MIT
#pragma once

// `hoard misses NAME`: what programs wanted of an on-demand share while its
// data was not there (offline); `hoard answers`: what a person answered.

#include <string>

#include "Client.h"

namespace hoard::cli {

// Lists the misses of `share`, oldest first; --json as
// schemas/cli/misses.schema.json. Returns kOk.
int listMisses(Agent& agent, const std::string& share, bool as_json);

// `hoard answers`: the programs a person answered "Always fail" for (the
// desktop prompt, offline_reads "ask"); --json as
// schemas/cli/answers.schema.json. Returns kOk.
int listReadAnswers(Agent& agent, bool as_json);
// `hoard answers forget PROGRAM`. NotFound (exit 1) if none is kept.
int forgetReadAnswer(Agent& agent, const std::string& program);

}  // namespace hoard::cli
