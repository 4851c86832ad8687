// SPDX-License-Identifier: MIT
#include "PromptFixture.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <filesystem>

namespace hoard::desktoptest {

namespace fs = std::filesystem;
using namespace hoard::bustest;
using nlohmann::json;

void PromptFixture::SetUp() {
  char tmpl[] = "/tmp/hoard-prompt-test-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  dir_ = tmpl;
  server_ = dir_ + "/server";
  cache_ = dir_ + "/cache";
  config_ = dir_ + "/config/hoard/config.json";
  fs::create_directories(server_);
  fs::create_directories(dir_ + "/config/hoard");
  fs::create_directories(dir_ + "/run");
  bus_ = std::make_unique<PrivateBus>();
  ASSERT_TRUE(bus_->ok());
}

void PromptFixture::TearDown() {
  if (prompt_pid_ > 0) {
    // hoard-prompt stops on SIGTERM (systemd's stop): one that does not is a bug.
    EXPECT_EQ(stopProcess(prompt_pid_), 0) << "hoard-prompt did not stop on SIGTERM\n" << promptLog();
  }
  daemon_.reset();
  mock_.reset();
  bus_.reset();
  std::error_code ec;
  fs::permissions(dir_, fs::perms::owner_all, fs::perm_options::add, ec);
  fs::remove_all(dir_, ec);
}

void PromptFixture::start(const std::vector<std::string>& files, const std::string& config,
                          const std::string& caps,
                          std::vector<std::pair<std::string, std::string>> env) {
  mock_ = std::make_unique<NotificationMock>(caps, dir_ + "/mock.log");
  ASSERT_TRUE(mock_->ok()) << slurp(dir_ + "/mock.log");
  put(config_, config);
  for (const auto& f : files) put(server_ + "/" + f, "v1 " + f + "\n");
  auto daemon_env = daemon_env_;
  daemon_env.emplace_back("XDG_CONFIG_HOME", dir_ + "/config");
  daemon_ = std::make_unique<Daemon>(dir_ + "/state", dir_ + "/hoardd.log", daemon_env);
  ASSERT_TRUE(daemon_->start()) << slurp(dir_ + "/hoardd.log");
  ASSERT_EQ(hoard("share add work " + server_ + " " + cache_).first, 0) << last_err_;
  ASSERT_EQ(hoard("preload work").first, 0) << last_err_;
  env.emplace_back("XDG_CONFIG_HOME", dir_ + "/config");
  env.emplace_back("XDG_RUNTIME_DIR", dir_ + "/run");
  prompt_pid_ = spawn({HOARD_PROMPT_PATH}, dir_ + "/prompt.log", env);
  ASSERT_TRUE(eventually([&] { return promptLog().find("registered with hoardd") != std::string::npos; }))
      << promptLog();
}

void PromptFixture::conflictOn(const std::vector<std::string>& names,
                               const std::function<std::string(const std::string&)>& mine) {
  ASSERT_EQ(hoard("offline work").first, 0) << last_err_;
  for (const auto& n : names) put(cache_ + "/" + n, mine ? mine(n) : "mine " + n + "\n");
  ASSERT_TRUE(eventually([&] {
    auto [rc, out] = hoard("changes work --json");
    json j = json::parse(out, nullptr, false);
    return rc == 0 && j.is_array() && j.size() >= names.size();
  })) << last_err_;
  for (const auto& n : names) put(server_ + "/" + n, "theirs " + n + "\n");
  ASSERT_EQ(hoard("online work").first, 0) << last_err_;
  ASSERT_TRUE(eventually([&] { return hoard("sync work").first == 3; })) << last_err_;
}

std::pair<int, std::string> PromptFixture::hoard(const std::string& args) {
  auto r = runHoard(args, dir_ + "/err");
  last_err_ = slurp(dir_ + "/err");
  return r;
}

json PromptFixture::conflicts() {
  auto [rc, out] = hoard("conflicts work --json");
  json j = json::parse(out, nullptr, false);
  return j.is_array() ? j : json::array();
}

uint64_t PromptFixture::idOf(const std::string& path) {
  for (auto& c : conflicts())
    if (c["path"] == path) return c["id"].get<uint64_t>();
  return 0;
}

std::vector<NotifyCall> PromptFixture::notifiesReach(size_t n) {
  std::vector<NotifyCall> got;
  EXPECT_TRUE(eventually([&] {
    got = mock_->notifies();
    return got.size() >= n;
  })) << "wanted " << n << " Notify calls, saw " << got.size() << "\n"
      << promptLog();
  return got;
}

std::string PromptFixture::promptLog() const { return slurp(dir_ + "/prompt.log"); }

}  // namespace hoard::desktoptest
