// SPDX-License-Identifier: MIT
#include "daemon/Config.h"

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>
#include <valijson/adapters/nlohmann_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validator.hpp>

namespace hoard::daemon {

// Defined in the generated ConfigSchema.cc.
extern const char kConfigSchemaText[];

const std::string& configSchema() {
  static const std::string text(kConfigSchemaText);
  return text;
}

std::string defaultConfigPath() {
  if (const char* x = std::getenv("XDG_CONFIG_HOME"); x != nullptr && x[0] == '/')
    return std::string(x) + "/hoard/config.json";
  const char* home = std::getenv("HOME");
  return std::string(home != nullptr ? home : "/") + "/.config/hoard/config.json";
}

namespace {

std::chrono::milliseconds seconds(const nlohmann::json& j) {
  return std::chrono::milliseconds(static_cast<int64_t>(j.get<double>() * 1000));
}

}  // namespace

Result<AgentOptions> loadConfig(const std::string& path) {
  AgentOptions options;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (errno == ENOENT) return options;  // no file: the defaults
    return failErrno(errno, "config " + path);
  }
  std::stringstream ss;
  ss << in.rdbuf();
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(ss.str());
  } catch (const nlohmann::json::parse_error& e) {
    // Turn the byte offset into a line and column a person can find.
    std::string text = ss.str();
    size_t line = 1, col = 1;
    for (size_t i = 0; i + 1 < e.byte && i < text.size(); ++i) {
      if (text[i] == '\n') {
        ++line;
        col = 1;
      } else {
        ++col;
      }
    }
    return fail(ErrorCode::kInvalidArgument, "config " + path + ": line " + std::to_string(line) +
                                                 ", column " + std::to_string(col) +
                                                 ": not valid JSON (" + e.what() + ")");
  }

  nlohmann::json schema_doc = nlohmann::json::parse(configSchema());
  valijson::Schema schema;
  valijson::SchemaParser parser;
  valijson::adapters::NlohmannJsonAdapter schema_adapter(schema_doc);
  parser.populateSchema(schema_adapter, schema);
  valijson::Validator validator;
  valijson::ValidationResults results;
  valijson::adapters::NlohmannJsonAdapter target(doc);
  if (!validator.validate(schema, target, &results)) {
    // The deepest error names the key best; report the first such.
    valijson::ValidationResults::Error e, best;
    size_t depth = 0;
    while (results.popError(e)) {
      if (e.context.size() >= depth) {
        depth = e.context.size();
        best = e;
      }
    }
    std::string where;
    for (size_t i = 1; i < best.context.size(); ++i) where += best.context[i];
    if (where.empty()) where = "the top level";
    return fail(ErrorCode::kInvalidArgument,
                "config " + path + ": " + where + ": " + best.description);
  }

  auto& st = options.engine.state;
  if (doc.contains("poll_interval_s")) st.poll_interval = seconds(doc["poll_interval_s"]);
  if (doc.contains("probe_interval_offline_s"))
    st.probe_interval_offline = seconds(doc["probe_interval_offline_s"]);
  if (doc.contains("probe_interval_online_s"))
    st.probe_interval_online = seconds(doc["probe_interval_online_s"]);
  if (doc.contains("write_back_quiet_ms"))
    st.write_back_quiet = std::chrono::milliseconds(doc["write_back_quiet_ms"].get<int64_t>());
  if (doc.contains("write_back_max_delay_ms"))
    st.write_back_max_delay =
        std::chrono::milliseconds(doc["write_back_max_delay_ms"].get<int64_t>());
  if (doc.contains("remote_deadline_s"))
    options.engine.deadlines.metadata = seconds(doc["remote_deadline_s"]);
  if (doc.contains("transfer_idle_deadline_s"))
    options.engine.deadlines.transfer_idle = seconds(doc["transfer_idle_deadline_s"]);
  if (doc.contains("max_delete_fraction"))
    options.engine.reconcile.max_delete_fraction = doc["max_delete_fraction"].get<double>();
  if (doc.contains("cache_budget_bytes"))
    options.engine.reconcile.cache_budget_bytes = doc["cache_budget_bytes"].get<uint64_t>();
  if (st.write_back_max_delay < st.write_back_quiet)
    return fail(ErrorCode::kInvalidArgument,
                "config " + path +
                    ": /write_back_max_delay_ms must not be shorter than /write_back_quiet_ms");
  return options;
}

}  // namespace hoard::daemon
