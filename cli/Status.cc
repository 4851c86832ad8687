// SPDX-License-Identifier: MIT
#include "Status.h"

#include <iostream>

#include "AuthReady.h"
#include "Output.h"

namespace hoard::cli {

using nlohmann::json;

std::string stateLine(const std::map<std::string, sdbus::Variant>& st) {
  std::string s = st.at("state").get<std::string>();
  if (st.at("user_offline").get<bool>()) s += " (by your request)";
  return s;
}

json statusJson(const std::string& name, const std::map<std::string, sdbus::Variant>& st) {
  return {{"share", name},
          {"state", st.at("state").get<std::string>()},
          {"user_offline", st.at("user_offline").get<bool>()},
          {"reason", st.at("reason").get<std::string>()},
          {"pending_changes", st.at("pending_changes").get<uint32_t>()},
          {"open_conflicts", st.at("open_conflicts").get<uint32_t>()},
          {"last_sync_ns", st.at("last_sync_ns").get<int64_t>()},
          {"hoarded_bytes", st.at("hoarded_bytes").get<uint64_t>()},
          {"unavailable_offline", st.at("unavailable_offline").get<uint32_t>()},
          {"store_bytes", st.count("store_bytes") ? st.at("store_bytes").get<uint64_t>() : 0},
          {"remote_calls", st.count("remote_calls")
                               ? json(st.at("remote_calls").get<std::map<std::string, uint64_t>>())
                               : json::object()}};
}

void addProblems(json& j, const std::map<std::string, sdbus::Variant>& st) {
  json failed = json::array();
  if (auto it = st.find("failed"); it != st.end())
    for (const auto& f :
         it->second.get<std::vector<sdbus::Struct<std::vector<uint8_t>, std::string, std::string>>>()) {
      json one = {{"error", std::get<1>(f)}, {"message", std::get<2>(f)}};
      putPath(one, "path", str(std::get<0>(f)));
      failed.push_back(one);
    }
  j["failed"] = failed;
  if (auto it = st.find("waiting_for_user"); it != st.end())
    j["waiting_for_user"] = it->second.get<bool>();
  if (auto it = st.find("stopped_error"); it != st.end())
    j["stopped"] = {{"error", it->second.get<std::string>()},
                    {"message", st.at("stopped_message").get<std::string>()}};
  if (auto it = st.find("rules_error"); it != st.end())
    j["rules_error"] = it->second.get<std::string>();
  if (auto it = st.find("view_root"); it != st.end()) {
    json v = {{"mounted", st.at("view_mounted").get<bool>()}};
    putPath(v, "root", str(it->second.get<std::vector<uint8_t>>()));
    if (auto e = st.find("view_error"); e != st.end()) v["error"] = e->second.get<std::string>();
    j["on_demand"] = v;
  }
  if (auto it = st.find("mass_delete_count"); it != st.end()) {
    json md = {{"count", it->second.get<uint32_t>()},
               {"total", st.at("mass_delete_total").get<uint32_t>()},
               {"side", st.at("mass_delete_side").get<std::string>()}};
    json paths = json::array();
    for (const auto& p : st.at("mass_delete_paths").get<std::vector<std::vector<uint8_t>>>()) {
      json one;
      putPath(one, "path", str(p));
      paths.push_back(one);
    }
    md["paths"] = paths;
    j["mass_delete"] = md;
  }
}

void showMassDelete(const std::string& share, const json& md) {
  std::cout << share << ": a sync would delete " << md["count"].get<uint32_t>() << " of "
            << md["total"].get<uint32_t>() << " files "
            << (md["side"] == "remote" ? "on the remote" : "in the cache") << ", first:\n";
  for (const auto& p : md["paths"]) std::cout << "  " << p["path"].get<std::string>() << "\n";
  if (md["paths"].size() < md["count"].get<uint32_t>())
    std::cout << "  ... and " << md["count"].get<uint32_t>() - md["paths"].size() << " more\n";
}

void printStatusText(const std::string& n, const std::map<std::string, sdbus::Variant>& st,
                     const json& j) {
  std::cout << n << ": " << stateLine(st);
  if (!j["reason"].get<std::string>().empty())
    std::cout << " — " << j["reason"].get<std::string>();
  std::cout << "\n  " << j["pending_changes"] << " change(s) to send, "
            << j["open_conflicts"] << " conflict(s), last sync "
            << timeText(j["last_sync_ns"].get<int64_t>()) << ", "
            << j["hoarded_bytes"] << " bytes kept offline, base store "
            << j["store_bytes"] << " bytes";
  if (j["unavailable_offline"].get<uint32_t>() > 0)
    std::cout << ", " << j["unavailable_offline"] << " pinned file(s) not available offline";
  std::cout << "\n";
  std::cout << authStatusText(n, j);
  if (j.contains("on_demand")) {
    const json& v = j["on_demand"];
    if (v["mounted"].get<bool>())
      std::cout << "  on demand: the whole share shows in " << v["root"].get<std::string>()
                << "; files not kept are fetched when read (`hoard misses " << n
                << "`: what was wanted offline)\n";
    else
      std::cout << "  on demand, but the view at " << v["root"].get<std::string>()
                << " is not mounted: " << v.value("error", std::string()) << "\n";
  }
  if (j.contains("mass_delete")) {
    showMassDelete(n, j["mass_delete"]);
    std::cout << "  nothing is deleted until you run `hoard sync " << n
              << " --confirm-delete`\n";
  }
  if (j.contains("rules_error"))
    std::cout << "  the resolution rules are disabled: "
              << j["rules_error"].get<std::string>()
              << " (fix it, then `hoard rules reload`)\n";
  if (j.contains("stopped"))
    std::cout << "  the last sync stopped early: "
              << j["stopped"]["message"].get<std::string>() << " ("
              << j["stopped"]["error"].get<std::string>() << "); the next one retries\n";
  if (!j["failed"].empty()) {
    std::cout << "  " << j["failed"].size()
              << " path(s) could not be synced (retried by every pass):\n";
    for (const auto& f : j["failed"])
      std::cout << "    " << f["path"].get<std::string>() << ": "
                << f["message"].get<std::string>() << " ("
                << f["error"].get<std::string>() << ")\n";
  }
}

}  // namespace hoard::cli
