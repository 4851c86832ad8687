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
  if (outcome == "declined") return "asked, then failed (as answered)";
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

int listReadAnswers(Agent& agent, bool as_json) {
  json out = json::array();
  auto list = agent.ListReadAnswers();
  for (const auto& a : list) {
    out.push_back({{"program", std::get<0>(a)}, {"policy", std::get<1>(a)}, {"at_ns", std::get<2>(a)}});
    if (!as_json)
      std::cout << std::get<0>(a) << "  always fails offline (answered " << timeText(std::get<2>(a))
                << ")\n";
  }
  if (as_json)
    std::cout << out.dump(2) << "\n";
  else if (list.empty())
    std::cout << "no answers kept: every program's offline reads follow its share's "
                 "offline_reads\n";
  return kOk;
}

int forgetReadAnswer(Agent& agent, const std::string& program) {
  agent.ForgetReadAnswer(program);
  std::cout << program << ": offline reads follow each share's offline_reads again\n";
  return kOk;
}

}  // namespace hoard::cli
