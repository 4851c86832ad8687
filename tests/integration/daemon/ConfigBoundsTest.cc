// SPDX-License-Identifier: MIT
// Config values cannot crash hoardd or silently disable it: every key is
// bounded (driven from the schema itself, so a new unbounded key fails
// here), a key given twice is refused, numbers beyond double's range are
// named errors, and the real hoardd exits 1 naming the file and the key.

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "daemon/Config.h"

namespace hoard::daemon {
namespace {

namespace fs = std::filesystem;

class ConfigBoundsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/hoard-config-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string write(const std::string& text) {
    std::string p = dir_ + "/config.json";
    std::ofstream(p, std::ios::trunc) << text;
    return p;
  }
  // Refused with kInvalidArgument and a message naming the file and `key`.
  void expectRefused(const std::string& text, const std::string& key,
                     const std::string& problem = "") {
    SCOPED_TRACE(text);
    auto o = loadConfig(write(text));
    ASSERT_FALSE(o) << "accepted";
    EXPECT_EQ(o.error().code(), ErrorCode::kInvalidArgument);
    const std::string& m = o.error().message();
    EXPECT_NE(m.find("config " + dir_ + "/config.json: "), std::string::npos) << m;
    EXPECT_NE(m.find("/" + key), std::string::npos) << m;
    if (!problem.empty()) {
      EXPECT_NE(m.find(problem), std::string::npos) << m;
    }
  }
  static nlohmann::json schema() { return nlohmann::json::parse(configSchema()); }
  std::string dir_;
};

TEST_F(ConfigBoundsTest, ANumberBeyondDoublesRangeIsANamedError) {
  expectRefused(R"({"poll_interval_s": 1e400})", "poll_interval_s", "1e400");
  expectRefused(R"({"max_delete_fraction": -1e400})", "max_delete_fraction");
  expectRefused(
      R"({"write_back_quiet_ms": 5, "cache_budget_bytes": 1)" + std::string(400, '0') + "}",
      "cache_budget_bytes");
}

TEST_F(ConfigBoundsTest, TinyAndHugeIntervalsAreRefused) {
  expectRefused(R"({"poll_interval_s": 1e-9})", "poll_interval_s");
  expectRefused(R"({"poll_interval_s": 1e300})", "poll_interval_s");
  expectRefused(R"({"probe_interval_offline_s": 0})", "probe_interval_offline_s");
  expectRefused(R"({"remote_deadline_s": 0.001})", "remote_deadline_s");
  expectRefused(R"({"transfer_idle_deadline_s": 1e18})", "transfer_idle_deadline_s");
  expectRefused(R"({"write_back_quiet_ms": 9223372036854775807})", "write_back_quiet_ms");
  expectRefused(R"({"write_back_max_delay_ms": -9223372036854775808})", "write_back_max_delay_ms");
}

TEST_F(ConfigBoundsTest, EveryKeyOfTheSchemaIsBoundedAndItsBoundsHold) {
  const nlohmann::json props = schema()["properties"];
  ASSERT_GE(props.size(), 10u);
  for (const auto& [key, prop] : props.items()) {
    SCOPED_TRACE(key);
    // The rules are structured and checked on their own (RulesTest, CliRulesTest), the
    // prompt's settings by hoard-prompt (PromptTest).
    if (key == "rules" || key == "shares" || key == "prompt") continue;
    if (key == "offline_reads_by_program") {  // program -> policy (ProgramPolicyTest)
      ASSERT_TRUE(prop.contains("default")) << key << " has no default";
      expectRefused(R"({"offline_reads_by_program": {"tumblerd": "maybe"}})", key);
      expectRefused(R"({"offline_reads_by_program": {"tumblerd": 1}})", key);
      expectRefused(R"({"offline_reads_by_program": ["tumblerd"]})", key);
      auto o = loadConfig(write(nlohmann::json{{key, prop["default"]}}.dump()));
      EXPECT_TRUE(o) << o.error().toString();
      continue;
    }
    if (prop["type"] == "string") {  // lister_command, lister_rsh: never empty
      ASSERT_TRUE(prop.contains("default")) << key << " has no default";
      expectRefused(nlohmann::json{{key, ""}}.dump(), key);
      expectRefused(nlohmann::json{{key, 7}}.dump(), key);
      continue;
    }
    ASSERT_TRUE(prop.contains("minimum")) << key << " has no minimum";
    ASSERT_TRUE(prop.contains("maximum")) << key << " has no maximum";
    ASSERT_TRUE(prop.contains("default")) << key << " has no default";
    double min = prop["minimum"].get<double>(), max = prop["maximum"].get<double>();
    bool integer = prop["type"] == "integer";
    // Beside the bounds: refused, naming the key.
    double below = integer ? min - 1 : (min > 0 ? min / 2 : -0.5);
    nlohmann::json lo = {{key, below}}, hi = {{key, max * 2 + 1}};
    if (integer) lo[key] = static_cast<int64_t>(below);
    expectRefused(lo.dump(), key);
    expectRefused(hi.dump(), key);
    if (integer) expectRefused(nlohmann::json{{key, min + 0.5}}.dump(), key);
    // The bounds and the default themselves: accepted (write_back_max_delay_ms
    // must not be below write_back_quiet_ms, so the other of the pair is set
    // to its widest).
    for (const nlohmann::json& v : {prop["minimum"], prop["maximum"], prop["default"]}) {
      nlohmann::json doc = {{key, v}};
      if (key == "write_back_quiet_ms") {
        doc["write_back_max_delay_ms"] = 600000;
      } else {
        doc["write_back_quiet_ms"] = 1;
      }
      auto o = loadConfig(write(doc.dump()));
      EXPECT_TRUE(o) << doc.dump() << ": " << o.error().toString();
    }
  }
}

TEST_F(ConfigBoundsTest, TheSchemasDefaultsAreTheDaemonsDefaults) {
  nlohmann::json all = nlohmann::json::object();
  const nlohmann::json props = schema()["properties"];
  for (const auto& [key, prop] : props.items())
    if (key != "rules" && key != "shares" && key != "prompt") all[key] = prop["default"];
  auto given = loadConfig(write(all.dump()));
  ASSERT_TRUE(given) << given.error().toString();
  auto none = loadConfig(dir_ + "/absent.json");
  ASSERT_TRUE(none);
  const auto& a = given->engine;
  const auto& b = none->engine;
  EXPECT_EQ(a.state.poll_interval, b.state.poll_interval);
  EXPECT_EQ(a.state.probe_interval_offline, b.state.probe_interval_offline);
  EXPECT_EQ(a.state.probe_interval_online, b.state.probe_interval_online);
  EXPECT_EQ(a.state.write_back_quiet, b.state.write_back_quiet);
  EXPECT_EQ(a.state.write_back_max_delay, b.state.write_back_max_delay);
  EXPECT_EQ(a.deadlines.metadata, b.deadlines.metadata);
  EXPECT_EQ(a.deadlines.transfer_idle, b.deadlines.transfer_idle);
  EXPECT_EQ(a.reconcile.max_delete_fraction, b.reconcile.max_delete_fraction);
  EXPECT_EQ(a.lister.command, b.lister.command);
  EXPECT_EQ(a.lister.rsh, b.lister.rsh);
  EXPECT_EQ(a.reconcile.cache_budget_bytes, b.reconcile.cache_budget_bytes);
  EXPECT_EQ(given->resolved_retention_days, none->resolved_retention_days);
  EXPECT_EQ(given->default_view.by_program, none->default_view.by_program);
  EXPECT_EQ(given->default_view.by_program, view::defaultProgramPolicies());
}

TEST_F(ConfigBoundsTest, ResolvedRetentionDays) {
  auto none = loadConfig(dir_ + "/absent.json");
  ASSERT_TRUE(none);
  EXPECT_EQ(none->resolved_retention_days, 30);
  auto week = loadConfig(write(R"({"resolved_retention_days": 7})"));
  ASSERT_TRUE(week) << week.error().toString();
  EXPECT_EQ(week->resolved_retention_days, 7);
  auto zero = loadConfig(write(R"({"resolved_retention_days": 0})"));
  ASSERT_TRUE(zero) << zero.error().toString();
  EXPECT_EQ(zero->resolved_retention_days, 0);
  expectRefused(R"({"resolved_retention_days": 3651})", "resolved_retention_days");
  expectRefused(R"({"resolved_retention_days": -1})", "resolved_retention_days");
  expectRefused(R"({"resolved_retention_days": 1.5})", "resolved_retention_days");
  expectRefused(R"({"resolved_retention_days": "30"})", "resolved_retention_days");
}

TEST_F(ConfigBoundsTest, TheBudgetsLimitIsExact) {
  auto at = loadConfig(write(R"({"cache_budget_bytes": 4611686018427387904})"));
  ASSERT_TRUE(at) << at.error().toString();
  EXPECT_EQ(at->engine.reconcile.cache_budget_bytes, uint64_t{1} << 62);
  // 2^62 + 1 is 2^62 in double: only the check in code sees it.
  expectRefused(R"({"cache_budget_bytes": 4611686018427387905})", "cache_budget_bytes");
  expectRefused(R"({"cache_budget_bytes": 18446744073709551615})", "cache_budget_bytes");
  expectRefused(R"({"cache_budget_bytes": 1e19})", "cache_budget_bytes");
}

TEST_F(ConfigBoundsTest, AKeyGivenTwiceIsRefused) {
  expectRefused(R"({"poll_interval_s": 5, "poll_interval_s": 6})", "poll_interval_s",
                "more than once");
  expectRefused(
      "{\"max_delete_fraction\": 0.1,\n \"poll_interval_s\": 5,\n \"max_delete_fraction\": 0.9}",
      "max_delete_fraction", "more than once");
  auto ok = loadConfig(write(R"({"poll_interval_s": 5, "probe_interval_online_s": 5})"));
  EXPECT_TRUE(ok) << ok.error().toString();
}

// The real hoardd: each bad value makes it exit 1 (not abort), naming the
// file and the key, and create nothing.
TEST_F(ConfigBoundsTest, HoarddExitsNamingTheFileAndTheKey) {
  const std::pair<std::string, std::string> cases[] = {
      {R"({"poll_interval_s": 1e400})", "poll_interval_s"},
      {R"({"poll_interval_s": 1e-9})", "poll_interval_s"},
      {R"({"probe_interval_online_s": 1e300})", "probe_interval_online_s"},
      {R"({"remote_deadline_s": 5, "remote_deadline_s": 6})", "remote_deadline_s"},
      {R"({"resolved_retention_days": 99999})", "resolved_retention_days"},
  };
  for (const auto& [text, key] : cases) {
    SCOPED_TRACE(text);
    std::string cfg = write(text);
    std::string cmd = std::string(HOARDD_PATH) + " --config " + cfg + " --state-dir " + dir_ +
                      "/state 2>" + dir_ + "/err";
    int status = std::system(cmd.c_str());
    ASSERT_TRUE(WIFEXITED(status)) << "hoardd did not exit normally (status " << status << ")";
    EXPECT_EQ(WEXITSTATUS(status), 1);
    std::ifstream in(dir_ + "/err");
    std::string err((std::istreambuf_iterator<char>(in)), {});
    EXPECT_NE(err.find(cfg), std::string::npos) << err;
    EXPECT_NE(err.find("/" + key), std::string::npos) << err;
    EXPECT_NE(err.find("not starting"), std::string::npos) << err;
    EXPECT_FALSE(fs::exists(dir_ + "/state/journal.db"));
  }
}

}  // namespace
}  // namespace hoard::daemon
