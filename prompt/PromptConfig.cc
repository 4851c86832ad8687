// SPDX-License-Identifier: MIT
#include "prompt/PromptConfig.h"

#include "daemon/Config.h"

namespace hoard::prompt {

Result<PromptConfig> loadPromptConfig(const std::string& path) {
  PromptConfig out;
  auto text = daemon::readConfigFile(path);
  if (!text) return tl::unexpected(text.error());
  if (!*text) return out;
  auto doc = daemon::parseConfigText(path, **text);
  if (!doc) return tl::unexpected(doc.error());
  if (auto problem = daemon::schemaProblem(daemon::configSchema(), *doc))
    return fail(ErrorCode::kInvalidArgument, "config " + path + ": " + *problem);
  if (!doc->contains("prompt")) return out;
  const nlohmann::json& p = (*doc)["prompt"];
  if (p.contains("compare_tool")) out.compare_tool = p["compare_tool"].get<std::vector<std::string>>();
  if (p.contains("reminder_interval_s"))
    out.reminder_interval = std::chrono::seconds(p["reminder_interval_s"].get<int64_t>());
  return out;
}

}  // namespace hoard::prompt
