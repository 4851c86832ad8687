// SPDX-License-Identifier: MIT
#include "Misses.h"

#include <iostream>

#include "Output.h"
#include "common/RelPath.h"

namespace hoard::cli {

using nlohmann::json;

namespace {

std::string outcomeText(const std::string& outcome) {
  if (outcome == "failed") return "failed at once (offline)";
  if (outcome == "fetched") return "waited, then fetched";
  if (outcome == "timed-out") return "waited, then failed (timed out)";
  if (outcome == "interrupted") return "waited, then interrupted";
  return outcome;
}

}  // namespace

int listMisses(Agent& agent, const std::string& share, bool as_json) {
  json out = json::array();
  auto list = agent.ListMisses(share);
  for (const auto& m : list) {
    json j = {{"program", std::get<1>(m)}, {"at_ns", std::get<2>(m)}, {"outcome", std::get<3>(m)}};
    putPath(j, "path", str(std::get<0>(m)));
    out.push_back(j);
    if (as_json) continue;
    const std::string& program = std::get<1>(m);
    std::cout << timeText(std::get<2>(m)) << "  " << (program.empty() ? "?" : program) << "  "
              << displayPath(str(std::get<0>(m))) << "  " << outcomeText(std::get<3>(m)) << "\n";
  }
  if (as_json)
    std::cout << out.dump(2) << "\n";
  else if (list.empty())
    std::cout << "no reads of " << share << " missed data offline\n";
  return kOk;
}

}  // namespace hoard::cli
