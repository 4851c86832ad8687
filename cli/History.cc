// SPDX-License-Identifier: MIT
#include "History.h"

#include <iostream>

#include "Output.h"
#include "common/RelPath.h"

namespace hoard::cli {

using nlohmann::json;

int listResolutions(Agent& agent, const std::string& share, bool as_json) {
  json out = json::array();
  auto list = agent.ListResolutions(share);
  for (const auto& r : list) {
    json j = {{"id", std::get<0>(r)},          {"conflict_id", std::get<1>(r)},
              {"share", std::get<2>(r)},       {"kind", std::get<4>(r)},
              {"decision", std::get<5>(r)},    {"resolver", std::get<6>(r)},
              {"rule", std::get<7>(r)},        {"label", std::get<8>(r)},
              {"resolved_at_ns", std::get<9>(r)}, {"undone", std::get<10>(r) != 0}};
    if (std::get<10>(r) != 0) j["undone_at_ns"] = std::get<10>(r);
    putPath(j, "path", str(std::get<3>(r)));
    out.push_back(j);
    if (as_json) continue;
    const std::string& resolver = std::get<6>(r);
    const std::string& rule = std::get<7>(r);
    std::cout << "#" << std::get<1>(r) << "  " << std::get<2>(r) << "  " << std::get<4>(r)
              << "  " << displayPath(str(std::get<3>(r))) << "  " << std::get<5>(r);
    if (!resolver.empty() && resolver != std::get<5>(r)) std::cout << " by " << resolver;
    if (!rule.empty()) std::cout << " (rule " << rule << ")";
    std::cout << "  " << timeText(std::get<9>(r));
    if (std::get<10>(r) != 0) std::cout << "  undone " << timeText(std::get<10>(r));
    std::cout << "\n";
  }
  if (as_json)
    std::cout << out.dump(2) << "\n";
  else if (list.empty())
    std::cout << "no resolved conflicts kept\n";
  return kOk;
}

int undoResolution(Agent& agent, uint64_t id) {
  agent.Undo(id);
  std::cout << "undid the resolution of conflict #" << id
            << ": both sides are as they were before it, and the conflict is open again "
               "(`hoard conflicts`)\n";
  return kOk;
}

}  // namespace hoard::cli
