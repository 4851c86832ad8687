// SPDX-License-Identifier: MIT
#include "daemon/Config.h"

#include "remote/ListerSettings.h"

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <valijson/adapters/nlohmann_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validator.hpp>
#include <vector>

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

// A key given twice in one object: JSON leaves it undefined which one wins
// (nlohmann keeps the last), so a person editing the file cannot tell.
struct DuplicateKey {
  std::string pointer;
};

// Follows the parser through objects and arrays so that any failure (a
// duplicate key, a number out of double's range) can name the key it was at.
class KeyTracker {
 public:
  bool event(nlohmann::json::parse_event_t ev, const nlohmann::json& parsed) {
    using E = nlohmann::json::parse_event_t;
    switch (ev) {
      case E::object_start:
      case E::array_start:
        frames_.push_back({});
        break;
      case E::object_end:
      case E::array_end:
        if (!frames_.empty()) frames_.pop_back();
        break;
      case E::key: {
        if (frames_.empty()) break;
        Frame& f = frames_.back();
        f.key = parsed.get<std::string>();
        f.has_key = true;
        if (!f.keys.insert(f.key).second) throw DuplicateKey{pointer()};
        break;
      }
      case E::value:
        break;
    }
    return true;
  }
  // "/poll_interval_s", or "" before the first key.
  std::string pointer() const {
    std::string p;
    for (const Frame& f : frames_)
      if (f.has_key) p += "/" + f.key;
    return p;
  }

 private:
  struct Frame {
    std::set<std::string> keys;
    std::string key;
    bool has_key = false;
  };
  std::vector<Frame> frames_;
};

// Turns a byte offset into "line L, column C" a person can find.
std::string lineAndColumn(const std::string& text, size_t byte) {
  size_t line = 1, col = 1;
  for (size_t i = 0; i + 1 < byte && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      col = 1;
    } else {
      ++col;
    }
  }
  return "line " + std::to_string(line) + ", column " + std::to_string(col);
}

// One key's bounds, checked again here after the schema (valijson compares
// in double, which cannot tell 2^62 from 2^62 + 1) and before any conversion.
struct Bound {
  const char* key;
  bool integer;
  double min;
  double max;
};
constexpr int64_t kMaxBudget = int64_t{1} << 62;
constexpr Bound kBounds[] = {
    {"poll_interval_s", false, 0.1, 86400},
    {"probe_interval_offline_s", false, 0.1, 86400},
    {"probe_interval_online_s", false, 0.1, 86400},
    {"write_back_quiet_ms", true, 1, 600000},
    {"write_back_max_delay_ms", true, 1, 600000},
    {"remote_deadline_s", false, 1, 3600},
    {"transfer_idle_deadline_s", false, 1, 3600},
    {"max_delete_fraction", false, 0, 1},
    {"cache_budget_bytes", true, 0, static_cast<double>(kMaxBudget)},
    {"resolved_retention_days", true, 0, 3650},
};

std::string checkBound(const Bound& b, const nlohmann::json& v) {
  if (b.integer) {
    if (v.is_number_unsigned()) {
      if (v.get<uint64_t>() > static_cast<uint64_t>(b.max)) return "above its maximum";
      return {};
    }
    if (!v.is_number_integer()) return "not an integer";
    int64_t i = v.get<int64_t>();
    if (static_cast<double>(i) < b.min) return "below its minimum";
    if (static_cast<double>(i) > b.max) return "above its maximum";
    return {};
  }
  if (!v.is_number()) return "not a number";
  double d = v.get<double>();
  if (!(d >= b.min)) return "below its minimum";
  if (!(d <= b.max)) return "above its maximum";
  return {};
}

std::chrono::milliseconds seconds(const nlohmann::json& j) {
  return std::chrono::milliseconds(std::llround(j.get<double>() * 1000));
}

// A share's credential settings ("shares": {"NAME": {"auth_command": ...}});
// the schema checked the types and bounds.
std::map<std::string, ShareAuthOptions> shareAuth(const nlohmann::json& doc) {
  std::map<std::string, ShareAuthOptions> out;
  if (!doc.contains("shares") || !doc["shares"].is_object()) return out;
  for (const auto& [name, v] : doc["shares"].items()) {
    if (!v.is_object()) continue;
    ShareAuthOptions a;
    if (v.contains("auth_command")) a.auth_command = v["auth_command"].get<std::string>();
    if (v.contains("auth_check_command"))
      a.auth_check_command = v["auth_check_command"].get<std::string>();
    if (v.contains("auth_check_interval_s")) a.check_interval = seconds(v["auth_check_interval_s"]);
    if (v.contains("auth_warn_before_s")) a.warn_before = seconds(v["auth_warn_before_s"]);
    if (!a.auth_command.empty() || !a.auth_check_command.empty()) out.emplace(name, a);
  }
  return out;
}

// "error", "wait" or "ask" (the schema checked it).
view::MissPolicy missPolicy(const nlohmann::json& j) {
  if (j == "wait") return view::MissPolicy::kWait;
  if (j == "ask") return view::MissPolicy::kAsk;
  return view::MissPolicy::kError;
}

// An offline_reads_by_program object ({"NAME or UNIT": "error"|"wait"|"ask"})
// laid over `list`.
void addProgramPolicies(std::map<std::string, view::MissPolicy>& list, const nlohmann::json& j) {
  for (const auto& [program, policy] : j.items()) list[program] = missPolicy(policy);
}

// The view policy of shares the config says nothing of: the shipped list of
// programs that fail at once, with the top-level offline_reads_by_program.
ShareViewPolicy defaultView(const nlohmann::json& doc) {
  ShareViewPolicy p;
  p.by_program = view::defaultProgramPolicies();
  if (doc.contains("offline_reads_by_program"))
    addProgramPolicies(p.by_program, doc["offline_reads_by_program"]);
  return p;
}

// shares.NAME.offline_reads / offline_wait_s / offline_reads_by_program /
// fetch_missed of
// every share that sets one, over `base`; the schema checked the types and
// bounds.
std::map<std::string, ShareViewPolicy> shareViews(const nlohmann::json& doc,
                                                  const ShareViewPolicy& base) {
  std::map<std::string, ShareViewPolicy> out;
  if (!doc.contains("shares") || !doc["shares"].is_object()) return out;
  for (const auto& [name, v] : doc["shares"].items()) {
    if (!v.is_object()) continue;
    if (!v.contains("offline_reads") && !v.contains("offline_wait_s") &&
        !v.contains("offline_reads_by_program") && !v.contains("fetch_missed"))
      continue;
    ShareViewPolicy p = base;
    if (v.contains("offline_reads")) p.policy = missPolicy(v["offline_reads"]);
    if (v.contains("offline_wait_s")) p.wait_deadline = seconds(v["offline_wait_s"]);
    if (v.contains("offline_reads_by_program"))
      addProgramPolicies(p.by_program, v["offline_reads_by_program"]);
    if (v.contains("fetch_missed")) p.fetch_missed = v["fetch_missed"].get<bool>();
    out.emplace(name, p);
  }
  return out;
}

// shares.NAME.lister of every share that has one, each checked as a
// lister address. (The rest of "shares" is the rules', checked with them.)
Result<std::map<std::string, std::string>> shareListers(const nlohmann::json& doc,
                                                        const std::string& path,
                                                        const remote::ListerSettings& base) {
  std::map<std::string, std::string> out;
  if (!doc.contains("shares") || !doc["shares"].is_object()) return out;
  for (const auto& [name, share] : doc["shares"].items()) {
    if (!share.is_object() || !share.contains("lister")) continue;
    std::string at = "config " + path + ": /shares/" + name + "/lister: ";
    if (!share["lister"].is_string())
      return fail(ErrorCode::kInvalidArgument, at + "expected a string");
    remote::ListerSettings s = base;
    s.spec = share["lister"].get<std::string>();
    if (auto argv = remote::listerCommand(s); !argv)
      return fail(ErrorCode::kInvalidArgument, at + argv.error().message());
    out.emplace(name, s.spec);
  }
  return out;
}

Result<AgentOptions> applyOptions(const nlohmann::json& doc, const std::string& path) {
  for (const Bound& b : kBounds) {
    if (!doc.contains(b.key)) continue;
    std::string problem = checkBound(b, doc[b.key]);
    if (!problem.empty()) {
      std::ostringstream range;
      range << b.min << " to " << b.max;
      return fail(ErrorCode::kInvalidArgument, "config " + path + ": /" + b.key + ": " +
                                                   doc[b.key].dump() + " is " + problem +
                                                   " (allowed: " + range.str() + ")");
    }
  }
  AgentOptions options;
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
  if (doc.contains("resolved_retention_days"))
    options.resolved_retention_days = doc["resolved_retention_days"].get<int>();
  options.engine.reconcile.resolved_retention =
      std::chrono::hours(24) * options.resolved_retention_days;
  options.auth = shareAuth(doc);
  options.default_view = defaultView(doc);
  options.views = shareViews(doc, options.default_view);
  if (doc.contains("lister_command"))
    options.engine.lister.command = doc["lister_command"].get<std::string>();
  if (doc.contains("lister_rsh")) options.engine.lister.rsh = doc["lister_rsh"].get<std::string>();
  if (auto listers = shareListers(doc, path, options.engine.lister); !listers)
    return tl::unexpected(listers.error());
  else
    options.listers = std::move(*listers);
  if (st.write_back_max_delay < st.write_back_quiet)
    return fail(ErrorCode::kInvalidArgument,
                "config " + path +
                    ": /write_back_max_delay_ms must not be shorter than /write_back_quiet_ms");
  return options;
}

Result<AgentOptions> load(const std::string& path, const std::string& text) {
  auto parsed = parseConfigText(path, text);
  if (!parsed) return tl::unexpected(parsed.error());
  const nlohmann::json& doc = *parsed;
  if (auto problem = schemaProblem(configSchema(), doc))
    return fail(ErrorCode::kInvalidArgument, "config " + path + ": " + *problem);
  return applyOptions(doc, path);
}

}  // namespace

Result<nlohmann::json> parseConfigText(const std::string& path, const std::string& text) {
  nlohmann::json doc;
  KeyTracker keys;
  try {
    doc = nlohmann::json::parse(
        text, [&keys](int, nlohmann::json::parse_event_t ev, nlohmann::json& parsed) {
          return keys.event(ev, parsed);
        });
  } catch (const DuplicateKey& d) {
    return fail(ErrorCode::kInvalidArgument,
                "config " + path + ": " + d.pointer + ": the key is given more than once");
  } catch (const nlohmann::json::parse_error& e) {
    std::string at = keys.pointer();
    return fail(ErrorCode::kInvalidArgument, "config " + path + ": " + lineAndColumn(text, e.byte) +
                                                 (at.empty() ? "" : " (in " + at + ")") +
                                                 ": not valid JSON (" + e.what() + ")");
  } catch (const nlohmann::json::exception& e) {
    // A number beyond double's range (1e400) is an out_of_range, not a
    // parse_error; the tracker knows the key it was read for.
    std::string at = keys.pointer();
    return fail(ErrorCode::kInvalidArgument,
                "config " + path + ": " + (at.empty() ? "the top level" : at) + ": " + e.what());
  }
  return doc;
}

std::optional<std::string> schemaProblem(const std::string& schema_text, const nlohmann::json& doc) {
  nlohmann::json schema_doc = nlohmann::json::parse(schema_text);
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
    // valijson names the place "<root>", "[poll_interval_s]"; show it as a
    // JSON pointer, with the value found there.
    std::string where;
    for (size_t i = 1; i < best.context.size(); ++i) {
      std::string c = best.context[i];
      if (c.size() >= 2 && c.front() == '[' && c.back() == ']') c = c.substr(1, c.size() - 2);
      where += "/" + c;
    }
    std::string value;
    if (!where.empty()) {
      try {
        value = " " + doc.at(nlohmann::json::json_pointer(where)).dump() + ":";
      } catch (const nlohmann::json::exception&) {
      }
    }
    if (where.empty()) where = "the top level";
    return where + ":" + value + " " + best.description;
  }
  return std::nullopt;
}

Result<std::optional<std::string>> readConfigFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (errno == ENOENT) return std::optional<std::string>();  // no file: the defaults
    return failErrno(errno, "config " + path);
  }
  std::stringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return failErrno(errno, "read config " + path);
  return std::optional<std::string>(ss.str());
}

Result<AgentOptions> loadConfig(const std::string& path) {
  auto text = readConfigFile(path);
  if (!text) return tl::unexpected(text.error());
  if (!*text) return AgentOptions{};
  // The one boundary where nlohmann's and valijson's exceptions become an
  // Error: nothing in a config file may end hoardd.
  try {
    return load(path, **text);
  } catch (const std::exception& e) {
    return fail(ErrorCode::kInvalidArgument, "config " + path + ": " + e.what());
  }
}

}  // namespace hoard::daemon
