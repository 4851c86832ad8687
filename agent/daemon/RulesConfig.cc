// SPDX-License-Identifier: MIT
#include "daemon/RulesConfig.h"

#include <algorithm>
#include <vector>

#include "daemon/Config.h"

namespace hoard::daemon {

// Defined in the generated RulesSchema.cc.
extern const char kRulesSchemaText[];

const std::string& rulesSchema() {
  static const std::string text(kRulesSchemaText);
  return text;
}

namespace {

using nlohmann::json;

Result<resolvers::RuleSet> parseList(const json& list, const std::string& path,
                                     const std::string& pointer,
                                     const resolvers::Registry& registry) {
  if (auto problem = schemaProblem(rulesSchema(), list)) {
    // The schema speaks of the array's own places ("/2/kinds/0"); say where it is.
    std::string p = *problem;
    if (p.rfind("the top level", 0) == 0) p = p.substr(std::string("the top level").size());
    return fail(ErrorCode::kInvalidArgument, "config " + path + ": " + pointer + p);
  }
  return resolvers::RuleSet::parse(list, "config " + path + ": " + pointer, registry);
}

// The keys of a share's settings, as the config's schema names them (one
// list: a key added there is known here); the rules are read here, the
// rest by Config.cc.
const std::vector<std::string>& shareKeys() {
  static const std::vector<std::string> keys = [] {
    std::vector<std::string> out;
    json schema = json::parse(configSchema(), nullptr, false);
    const json* props = nullptr;
    if (!schema.is_discarded())
      props = &schema["properties"]["shares"]["additionalProperties"]["properties"];
    if (props && props->is_object())
      for (const auto& [k, v] : props->items()) out.push_back(k);
    return out;
  }();
  return keys;
}

bool isShareKey(const std::string& k) {
  const auto& keys = shareKeys();
  return std::find(keys.begin(), keys.end(), k) != keys.end();
}

std::string shareKeyList() {
  std::string out;
  for (const auto& k : shareKeys()) out += (out.empty() ? "" : ", ") + k;
  return out;
}

Result<LoadedRules> fromDocument(const json& doc, const std::string& path,
                                 const resolvers::Registry& registry) {
  LoadedRules out;
  out.path = path;
  if (!doc.is_object()) return out;  // the config's own check reports it
  if (doc.contains("rules")) {
    auto set = parseList(doc["rules"], path, "/rules", registry);
    if (!set) return tl::unexpected(set.error());
    out.global = std::move(*set);
  }
  if (!doc.contains("shares")) return out;
  const json& shares = doc["shares"];
  if (!shares.is_object())
    return fail(ErrorCode::kInvalidArgument,
                "config " + path + ": /shares: expected an object {\"SHARE\": {\"rules\": [...]}}");
  for (const auto& [name, v] : shares.items()) {
    std::string at = "/shares/" + name;
    if (!v.is_object())
      return fail(ErrorCode::kInvalidArgument, "config " + path + ": " + at + ": expected an object");
    for (const auto& [k, ignored] : v.items())
      if (!isShareKey(k))
        return fail(ErrorCode::kInvalidArgument,
                    "config " + path + ": " + at + "/" + k + ": unknown key (a share has: " +
                        shareKeyList() + ")");
    if (!v.contains("rules")) continue;
    auto set = parseList(v["rules"], path, at + "/rules", registry);
    if (!set) return tl::unexpected(set.error());
    out.shares.emplace(name, std::move(*set));
  }
  return out;
}

}  // namespace

resolvers::RuleSet LoadedRules::forShare(const std::string& share) const {
  resolvers::RuleSet out;
  if (auto it = shares.find(share); it != shares.end()) out.append(it->second);
  out.append(global);
  return out;
}

size_t LoadedRules::count() const {
  size_t n = global.rules().size();
  for (const auto& [name, set] : shares) n += set.rules().size();
  return n;
}

Result<LoadedRules> loadRules(const std::string& path, const resolvers::Registry& registry) {
  auto text = readConfigFile(path);
  if (!text) return tl::unexpected(text.error());
  if (!*text) {
    LoadedRules none;
    none.path = path;
    return none;
  }
  auto doc = parseConfigText(path, **text);
  if (!doc) return tl::unexpected(doc.error());
  try {
    return fromDocument(*doc, path, registry);
  } catch (const std::exception& e) {
    return fail(ErrorCode::kInvalidArgument, "config " + path + ": rules: " + e.what());
  }
}

}  // namespace hoard::daemon
