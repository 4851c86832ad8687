// SPDX-License-Identifier: MIT
// hoardd's configuration: defaults without a file, values applied, and every
// kind of bad file refused with a message naming the file and the key; the
// real hoardd refuses to start on one, and leaves its state alone.

#include "daemon/Config.h"
#include "daemon/RulesConfig.h"
#include "resolvers/Resolver.h"

#include <stdlib.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

namespace hoard::daemon {
namespace {

namespace fs = std::filesystem;

class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/hoard-config-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string write(const std::string& text) {
    std::string p = dir_ + "/config.json";
    std::ofstream(p) << text;
    return p;
  }
  std::string dir_;
};

TEST_F(ConfigTest, NoFileMeansTheDefaults) {
  auto o = loadConfig(dir_ + "/absent.json");
  ASSERT_TRUE(o) << o.error().toString();
  EXPECT_EQ(o->engine.state.poll_interval, std::chrono::seconds(30));
  EXPECT_EQ(o->engine.reconcile.max_delete_fraction, 0.5);
}

TEST_F(ConfigTest, ValuesAreApplied) {
  auto o = loadConfig(write(R"({"poll_interval_s": 5, "write_back_quiet_ms": 100,
    "remote_deadline_s": 2.5, "max_delete_fraction": 0.2, "cache_budget_bytes": 1048576})"));
  ASSERT_TRUE(o) << o.error().toString();
  EXPECT_EQ(o->engine.state.poll_interval, std::chrono::seconds(5));
  EXPECT_EQ(o->engine.state.write_back_quiet, std::chrono::milliseconds(100));
  EXPECT_EQ(o->engine.deadlines.metadata, std::chrono::milliseconds(2500));
  EXPECT_EQ(o->engine.reconcile.max_delete_fraction, 0.2);
  EXPECT_EQ(o->engine.reconcile.cache_budget_bytes, 1048576u);
}

TEST_F(ConfigTest, BrokenJsonNamesTheLineAndColumn) {
  auto o = loadConfig(write("{\n  \"poll_interval_s\": 5,\n  oops\n}"));
  ASSERT_FALSE(o);
  EXPECT_EQ(o.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(o.error().message().find(dir_ + "/config.json: line 3"), std::string::npos)
      << o.error().message();
}

TEST_F(ConfigTest, SchemaViolationsNameTheKey) {
  auto wrong_type = loadConfig(write(R"({"poll_interval_s": "often"})"));
  ASSERT_FALSE(wrong_type);
  EXPECT_NE(wrong_type.error().message().find("poll_interval_s"), std::string::npos)
      << wrong_type.error().message();
  auto out_of_range = loadConfig(write(R"({"max_delete_fraction": 3})"));
  ASSERT_FALSE(out_of_range);
  EXPECT_NE(out_of_range.error().message().find("max_delete_fraction"), std::string::npos)
      << out_of_range.error().message();
  auto unknown = loadConfig(write(R"({"pol_interval_s": 5})"));
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().message().find("pol_interval_s"), std::string::npos)
      << unknown.error().message();
  auto contradictory = loadConfig(write(R"({"write_back_quiet_ms": 900, "write_back_max_delay_ms": 100})"));
  ASSERT_FALSE(contradictory);
  EXPECT_NE(contradictory.error().message().find("write_back_max_delay_ms"), std::string::npos);
}

TEST_F(ConfigTest, AShareListerIsReadAndABadOneNamesItsKey) {
  auto o = loadConfig(write(R"({"lister_command": "bin/hoard-lister", "lister_rsh": "ssh -i k",
    "shares": {"work": {"lister": "ssh://ann@files:2222/srv/work", "rules": []},
               "photos": {"rules": []}}})"));
  ASSERT_TRUE(o) << o.error().toString();
  EXPECT_EQ(o->engine.lister.command, "bin/hoard-lister");
  EXPECT_EQ(o->engine.lister.rsh, "ssh -i k");
  ASSERT_EQ(o->listers.size(), 1u);
  EXPECT_EQ(o->listers.at("work"), "ssh://ann@files:2222/srv/work");
  for (const char* bad : {R"("sftp://files/srv")", R"("ssh://files")", R"("ssh://files:x/srv")",
                          R"(42)"}) {
    auto b = loadConfig(write(std::string(R"({"shares": {"work": {"lister": )") + bad + "}}}"));
    ASSERT_FALSE(b) << bad;
    EXPECT_NE(b.error().message().find(dir_ + "/config.json: /shares/work/lister: "),
              std::string::npos)
        << b.error().message();
  }
}

TEST_F(ConfigTest, EveryShareSettingOfTheSchemaLeavesTheRulesOn) {
  // Found as "rules disabled: ... /shares/w/offline_reads: unknown key": the
  // rules' own check knew only some of a share's settings.
  resolvers::Registry registry;
  resolvers::registerBuiltins(registry);
  std::string cfg = write(R"({"shares": {"w": {
      "rules": [{"match": "*.log", "resolver": "keep-remote"}],
      "offline_reads": "ask", "offline_wait_s": 5, "fetch_missed": true,
      "offline_reads_by_program": {"totem": "error"}, "lister": "/srv/w",
      "auth_command": "kinit", "auth_check_command": "klist -s",
      "auth_check_interval_s": 60, "auth_warn_before_s": 600}}})");
  auto o = loadConfig(cfg);
  ASSERT_TRUE(o) << o.error().toString();
  EXPECT_EQ(o->views.at("w").policy, view::MissPolicy::kAsk);
  auto rules = loadRules(cfg, registry);
  ASSERT_TRUE(rules) << rules.error().toString();
  EXPECT_EQ(rules->shares.count("w"), 1u);
  auto bad = loadRules(write(R"({"shares": {"w": {"colour": "red"}}})"), registry);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message().find("/shares/w/colour: unknown key"), std::string::npos)
      << bad.error().message();
  EXPECT_NE(bad.error().message().find("offline_reads"), std::string::npos)
      << bad.error().message();
}

TEST_F(ConfigTest, HoarddRefusesToStartOnABadConfig) {
  std::string cfg = write(R"({"poll_interval_s": -1})");
  std::string cmd = std::string(HOARDD_PATH) + " --config " + cfg + " --state-dir " + dir_ +
                    "/state 2>" + dir_ + "/err";
  int status = std::system(cmd.c_str());
  EXPECT_EQ(WEXITSTATUS(status), 1);
  std::ifstream in(dir_ + "/err");
  std::string err((std::istreambuf_iterator<char>(in)), {});
  EXPECT_NE(err.find("poll_interval_s"), std::string::npos) << err;
  EXPECT_NE(err.find("not starting"), std::string::npos) << err;
  EXPECT_FALSE(fs::exists(dir_ + "/state/journal.db")) << "nothing is created with a bad config";
}

}  // namespace
}  // namespace hoard::daemon
