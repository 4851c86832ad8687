// SPDX-License-Identifier: MIT
#include "RulesCommands.h"

#include <filesystem>
#include <iostream>

#include "Output.h"
#include "common/RelPath.h"
#include "daemon/Config.h"
#include "daemon/RulesConfig.h"

namespace hoard::cli {

namespace {

using nlohmann::json;

int checkRules(const std::string& file, bool as_json) {
  resolvers::Registry registry;
  resolvers::registerBuiltins(registry);
  auto loaded = daemon::loadRules(file, registry);
  if (!loaded) {
    if (as_json)
      std::cout << json{{"file", file}, {"ok", false}, {"error", loaded.error().message()}}.dump(2)
                << "\n";
    else
      std::cerr << "hoard: " << loaded.error().message() << "\n";
    return kFailed;
  }
  std::vector<std::string> warnings = loaded->global.unknownResolvers(registry);
  for (const auto& [name, set] : loaded->shares)
    for (auto& w : set.unknownResolvers(registry)) warnings.push_back(w);
  if (as_json) {
    json shares = json::object();
    for (const auto& [name, set] : loaded->shares) shares[name] = set.rules().size();
    std::cout << json{{"file", file},           {"ok", true},
                      {"global", loaded->global.rules().size()},
                      {"shares", shares},       {"warnings", warnings}}
                     .dump(2)
              << "\n";
    return kOk;
  }
  std::cout << file << ": " << loaded->count() << " rule(s) are valid ("
            << loaded->global.rules().size() << " for every share";
  for (const auto& [name, set] : loaded->shares)
    std::cout << ", " << set.rules().size() << " for share " << name;
  std::cout << ")\n";
  for (const auto& w : warnings) std::cout << "warning: " << w << "\n";
  return kOk;
}

}  // namespace

int printPreview(Agent& a, const std::vector<uint64_t>& ids, const std::string& share,
                 const std::map<std::string, sdbus::Variant>& filter, const std::string& resolver,
                 bool as_json) {
  auto rows = a.PreviewResolve(ids, share, filter, resolver);
  json out = json::array();
  bool any_open = false;
  for (const auto& r : rows) {
    auto get = [&](const char* k) { return r.at(k).get<std::string>(); };
    std::string decision = get("decision");
    any_open = any_open || decision == "defer";
    json j = {{"id", r.at("id").get<uint64_t>()}, {"share", get("share")},
              {"kind", get("kind")},              {"rule", get("rule")},
              {"resolver", get("resolver")},      {"decision", decision},
              {"reason", get("reason")},
              {"conflicting_hunks", r.at("conflicting_hunks").get<int32_t>()}};
    putPath(j, "path", str(r.at("path").get<std::vector<uint8_t>>()));
    if (r.count("error")) j["error"] = get("error");
    out.push_back(j);
    if (as_json) continue;
    std::cout << "#" << j["id"].get<uint64_t>() << "  " << get("share") << "  " << get("kind")
              << "  " << displayPath(str(r.at("path").get<std::vector<uint8_t>>())) << "\n    "
              << (get("rule").empty() ? std::string("no rule") : get("rule")) << " -> "
              << (get("resolver").empty() ? std::string("nothing decides") : get("resolver"))
              << ": would " << (decision == "defer" ? std::string("leave it open") : decision);
    if (!get("reason").empty()) std::cout << " (" << get("reason") << ")";
    if (r.count("error")) std::cout << "; the resolver failed: " << get("error");
    std::cout << "\n";
  }
  if (as_json) std::cout << out.dump(2) << "\n";
  else if (rows.empty()) std::cout << "no open conflicts to decide\n";
  std::cout << std::flush;
  return any_open ? kConflictsRemain : kOk;
}

void addRulesCommands(CLI::App& app, Commands c) {
  auto* rules = app.add_subcommand("rules", "check, reload or explain the resolution rules");
  rules->require_subcommand(1);

  static std::string file;
  auto* check = rules->add_subcommand("check", "validate the rules of a config file (no daemon needed)");
  check->add_option("file", file, "the config file (default: hoardd's)");
  check->add_flag("--json", c.as_json, "machine-readable output");
  check->callback([c] {
    c.local_action = [c] {
      return checkRules(file.empty() ? daemon::defaultConfigPath() : file, c.as_json);
    };
  });

  auto* reload = rules->add_subcommand("reload", "make hoardd read the rules again (as SIGHUP)");
  reload->callback([c] {
    c.action = [](Agent& a) {
      auto [count, warnings] = a.ReloadRules();
      std::cout << "hoardd now applies " << count << " rule(s)\n";
      for (const auto& w : warnings) std::cout << "warning: " << w << "\n";
      return kOk;
    };
  });

  static std::string path, share;
  auto* explain = rules->add_subcommand("explain", "which rule would decide a conflict at PATH, and why");
  explain->add_option("path", path, "a local path in a cache, or share-relative with --share")
      ->required();
  explain->add_option("--share", share, "PATH is relative to this share");
  explain->callback([c] {
    c.action = [](Agent& a) {
      std::string s = share, rel = path;
      if (s.empty()) {
        std::string abs = std::filesystem::absolute(path).lexically_normal().string();
        while (abs.size() > 1 && abs.back() == '/') abs.pop_back();
        auto [sh, r] = a.ResolvePath(bytes(abs));
        s = sh;
        rel = str(r);
      }
      while (!rel.empty() && rel.back() == '/') rel.pop_back();
      for (const auto& line : a.ExplainRules(s, bytes(rel))) std::cout << line << "\n";
      return kOk;
    };
  });
}

}  // namespace hoard::cli
