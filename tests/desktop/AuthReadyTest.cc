// SPDX-License-Identifier: MIT
// hoard-prompt about credentials and readiness, on a private session bus
// with the real hoardd, hoard and hoard-prompt and python3-dbusmock's
// notification server:
//  - expired credentials (an injected EKEYEXPIRED: HOARD_FAULT_REMOTE_WHILE
//    makes every remote call fail while a file exists; the kernel cannot
//    give one on demand) make one notification per share, whose Renew runs
//    the share's auth_command (here a script that removes the file) and the
//    offline edit reaches the server; a failing renewal's text; the
//    notification closing once access works; the text for a server without
//    buttons; the warning before expiry;
//  - `hoard-prompt --ready` in the ready and the not-ready states.

#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <filesystem>
#include <sstream>
#include <thread>

#include "PromptFixture.h"

namespace hoard::desktoptest {
namespace {

namespace fs = std::filesystem;
using namespace hoard::bustest;
using nlohmann::json;
using Strings = std::vector<std::string>;

const Strings kRenewAction = {"renew", "Renew"};
constexpr const char* kExpired = "Your credentials for work have expired";

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

class AuthReadyTest : public PromptFixture {
 protected:
  void SetUp() override {
    PromptFixture::SetUp();
    fault_ = dir_ + "/credentials-expired";
    daemon_env_ = {{"HOARD_FAULT_REMOTE_WHILE", fault_}};
  }
  // Config with share "work"'s auth keys `auth` (and fast offline probes).
  static std::string configWith(const json& auth, json extra = json::object()) {
    extra["probe_interval_offline_s"] = 0.3;
    extra["shares"] = {{"work", auth}};
    return extra.dump();
  }
  std::string state() {
    json s = json::parse(hoard("status work --json").second, nullptr, false);
    return s.is_array() && !s.empty() ? s[0]["state"].get<std::string>() : "?";
  }
  // The remote starts refusing, then `name` is edited in the cache (its
  // write-back meets the refusal); waits until hoardd says so.
  void expire(const std::string& name, const std::string& bytes) {
    put(fault_, "EKEYEXPIRED\n");
    put(cache_ + "/" + name, bytes);
    ASSERT_TRUE(eventually([&] { return state() == "auth-required"; }))
        << state() << "\n" << slurp(dir_ + "/hoardd.log");
  }
  // The Notify calls whose summary is `summary`.
  std::vector<NotifyCall> notifiesOf(const std::string& summary) {
    std::vector<NotifyCall> out;
    for (auto& n : mock_->notifies())
      if (n.summary == summary) out.push_back(n);
    return out;
  }
  // Waits for a Notify with `summary`; the last such call.
  NotifyCall waitFor(const std::string& summary) {
    std::vector<NotifyCall> got;
    EXPECT_TRUE(eventually([&] { return !(got = notifiesOf(summary)).empty(); }))
        << "no notification \"" << summary << "\"\n" << promptLog();
    return got.empty() ? NotifyCall{} : got.back();
  }
  bool closed(uint32_t id) {
    for (uint32_t c : mock_->closes())
      if (c == id) return true;
    return false;
  }
  // Stops hoard-prompt, within a limit.
  void stopPrompt() {
    kill(prompt_pid_, SIGTERM);
    if (!eventually([&] { return waitpid(prompt_pid_, nullptr, WNOHANG) == prompt_pid_; },
                    std::chrono::seconds(10))) {
      ADD_FAILURE() << "hoard-prompt did not stop on SIGTERM\n" << promptLog();
      kill(prompt_pid_, SIGKILL);
      waitpid(prompt_pid_, nullptr, 0);
    }
    prompt_pid_ = -1;
  }
  // Starts hoard-prompt again; waits for its registration.
  void startPrompt() {
    size_t before = registrations();
    prompt_pid_ = spawn({HOARD_PROMPT_PATH}, dir_ + "/prompt.log",
                        {{"XDG_CONFIG_HOME", dir_ + "/config"}, {"XDG_RUNTIME_DIR", dir_ + "/run"}});
    ASSERT_TRUE(eventually([&] { return registrations() > before; })) << promptLog();
  }
  size_t registrations() {
    std::string log = promptLog();
    size_t n = 0;
    for (size_t at = 0; (at = log.find("registered with hoardd", at)) != std::string::npos; ++at) ++n;
    return n;
  }
  // `hoard-prompt --ready`: exit status and stdout.
  std::pair<int, std::string> ready() {
    return run(std::string(HOARD_PROMPT_PATH) + " --ready 2>>" + dir_ + "/prompt.log");
  }
  // The problem lines `hoard ready work` prints ("  reason: message").
  Strings readyLines() {
    Strings out;
    std::istringstream in(hoard("ready work").second);
    for (std::string line; std::getline(in, line);)
      if (line.rfind("  ", 0) == 0) out.push_back(line);
    return out;
  }

  std::string fault_;
};

// --- credentials ------------------------------------------------------------------

TEST_F(AuthReadyTest, ExpiredCredentialsAreOneNotificationAndRenewSendsTheOfflineWork) {
  start({"docs/report.txt"}, configWith({{"auth_command", "rm -f " + fault_}}));
  expire("docs/report.txt", "edited while the ticket expired\n");
  NotifyCall n = waitFor(kExpired);
  EXPECT_TRUE(has(n.body, "Your work goes on in the cache and nothing is lost")) << n.body;
  EXPECT_TRUE(has(n.body, "renew them to send your changes to the server")) << n.body;
  EXPECT_EQ(n.actions, kRenewAction);
  EXPECT_EQ(n.expire_timeout, 0) << "it waits for the person";
  // Several probes later: still one notification, and the remote untouched.
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  EXPECT_EQ(notifiesOf(kExpired).size(), 1u);
  EXPECT_EQ(state(), "auth-required");
  EXPECT_EQ(slurp(server_ + "/docs/report.txt"), "v1 docs/report.txt\n");
  EXPECT_FALSE(closed(n.id));

  mock_->act(n.id, "renew");
  ASSERT_TRUE(eventually([&] { return !fs::exists(fault_); })) << "the auth_command ran\n"
                                                                << promptLog();
  ASSERT_TRUE(eventually([&] {
    return slurp(server_ + "/docs/report.txt") == "edited while the ticket expired\n";
  })) << slurp(dir_ + "/hoardd.log");
  EXPECT_TRUE(eventually([&] { return closed(n.id); })) << "closed once access works\n"
                                                        << promptLog();
  EXPECT_EQ(state(), "online");
  EXPECT_EQ(slurp(cache_ + "/docs/report.txt"), "edited while the ticket expired\n");
  EXPECT_EQ(notifiesOf(kExpired).size(), 1u);
}

// The first renewal fails (a wrong password); the notification says so and
// offers Renew again, which then works and closes it.
TEST_F(AuthReadyTest, AFailedRenewalUpdatesTheNotificationAndRenewingAgainClosesIt) {
  std::string wrong = dir_ + "/wrong-password";
  put(wrong, "");
  start({"report.txt"},
        configWith({{"auth_command", "if [ -e " + wrong +
                                         " ]; then echo 'kinit: Password incorrect'; exit 3; fi; "
                                         "rm -f " + fault_}}));
  expire("report.txt", "mine\n");
  NotifyCall n = waitFor(kExpired);
  mock_->act(n.id, "renew");
  NotifyCall f = waitFor("Could not renew your credentials for work");
  EXPECT_EQ(f.replaces, n.id) << "the same notification, updated";
  EXPECT_TRUE(has(f.body, "` exited with status 3 (its output is in hoardd's log)\n")) << f.body;
  EXPECT_TRUE(has(f.body, "nothing is lost")) << f.body;
  EXPECT_EQ(f.actions, kRenewAction) << "try again";
  EXPECT_EQ(state(), "auth-required");
  EXPECT_EQ(slurp(server_ + "/report.txt"), "v1 report.txt\n");
  EXPECT_TRUE(fs::exists(fault_));
  EXPECT_FALSE(closed(n.id));

  fs::remove(wrong);  // the right password this time
  mock_->act(n.id, "renew");
  EXPECT_TRUE(eventually([&] { return closed(n.id); })) << promptLog();
  EXPECT_TRUE(eventually([&] { return slurp(server_ + "/report.txt") == "mine\n"; }));
  EXPECT_EQ(state(), "online");
}

TEST_F(AuthReadyTest, AServerWithoutActionsIsToldTheCommand) {
  start({"report.txt"}, configWith({{"auth_command", "rm -f " + fault_}}), "body");
  expire("report.txt", "mine\n");
  NotifyCall n = waitFor(kExpired);
  EXPECT_TRUE(n.actions.empty());
  EXPECT_TRUE(has(n.body, "\nTo renew them, run: hoard auth work")) << n.body;
  // The command as shown does it.
  auto [rc, out] = hoard("auth work");
  EXPECT_EQ(rc, 0) << out << last_err_;
  EXPECT_TRUE(eventually([&] { return closed(n.id); })) << promptLog();
  EXPECT_EQ(slurp(server_ + "/report.txt"), "mine\n");
}

// A share refused before hoard-prompt started is asked about at start.
TEST_F(AuthReadyTest, AShareRefusedBeforeThePromptStartedIsAskedAbout) {
  start({"report.txt"}, configWith({{"auth_command", "rm -f " + fault_}}));
  stopPrompt();
  expire("report.txt", "mine\n");
  EXPECT_TRUE(notifiesOf(kExpired).empty());
  startPrompt();
  NotifyCall n = waitFor(kExpired);
  EXPECT_EQ(n.actions, kRenewAction);
  mock_->act(n.id, "renew");
  EXPECT_TRUE(eventually([&] { return closed(n.id); })) << promptLog();
  EXPECT_EQ(slurp(server_ + "/report.txt"), "mine\n");
}

// auth_check_command says 600 seconds are left: a warning with Renew,
// before anything is refused; Renew's success closes it.
TEST_F(AuthReadyTest, CredentialsAboutToExpireAreWarnedOfWithRenew) {
  std::string left = dir_ + "/seconds-left";
  start({"report.txt"}, configWith({{"auth_check_command", "cat " + left + " || echo 7200"},
                                    {"auth_check_interval_s", 1},
                                    {"auth_warn_before_s", 900},
                                    {"auth_command", "echo 7200 > " + left}}));
  put(left, "600\n");
  NotifyCall n = waitFor("Your credentials for work expire in 10 minutes");
  EXPECT_EQ(n.actions, kRenewAction);
  EXPECT_TRUE(has(n.body, "Renew them now")) << n.body;
  EXPECT_EQ(state(), "online");
  mock_->act(n.id, "renew");
  EXPECT_TRUE(eventually([&] { return closed(n.id); })) << promptLog();
  EXPECT_EQ(slurp(left), "7200\n");
}

// --- is my work offline-ready? -----------------------------------------------------

TEST_F(AuthReadyTest, ReadyAnswersWithOneNotification) {
  start({"docs/report.txt"});
  ASSERT_EQ(hoard("sync work").first, 0) << last_err_;
  auto [rc, out] = ready();
  EXPECT_EQ(rc, 0) << out << promptLog();
  NotifyCall n = waitFor("Your work is ready to go offline");
  EXPECT_EQ(n.body, "Everything pinned is in the cache and every change is on the server (work).");
  EXPECT_TRUE(n.actions.empty());
  EXPECT_EQ(out, n.summary + "\n" + n.body + "\n") << "the same on stdout";
}

TEST_F(AuthReadyTest, NotReadySaysPerShareWhatIsNotAndWhy) {
  start({"a.txt", "dir/b.txt", "dir-x/b.txt"},
        R"({"write_back_quiet_ms": 600000, "write_back_max_delay_ms": 600000})");
  conflictOn({"a.txt"});
  put(cache_ + "/dir-x/b.txt", "not sent yet\n");
  ASSERT_TRUE(eventually([&] {
    for (auto& c : json::parse(hoard("changes work --json").second, nullptr, false))
      if (c.is_object() && c["path"] == "dir-x/b.txt") return true;
    return false;
  })) << last_err_;
  auto [rc, out] = ready();
  EXPECT_EQ(rc, 4) << out << promptLog();
  NotifyCall n = waitFor("Your work is not ready to go offline");
  Strings lines = readyLines();
  ASSERT_GE(lines.size(), 2u) << hoard("ready work").second;
  EXPECT_TRUE(has(n.body, "work: not offline-ready (online), " + std::to_string(lines.size()) +
                              " problems:\n"))
      << n.body;
  for (const auto& line : lines) EXPECT_TRUE(has(n.body, "\n" + line)) << line << "\n" << n.body;
  EXPECT_TRUE(has(n.body, "\n  conflict: a.txt has an open content conflict (#")) << n.body;
  EXPECT_TRUE(has(n.body, "\n  unsent: ")) << n.body;
  EXPECT_TRUE(has(n.body, "dir-x/b.txt is not on the server yet")) << n.body;
  EXPECT_FALSE(has(n.body, "dir/b.txt")) << n.body;
}

TEST_F(AuthReadyTest, ReadyWithoutHoarddSaysItCannotTell) {
  start({"report.txt"});
  daemon_->stop();
  auto [rc, out] = ready();
  EXPECT_EQ(rc, 1) << out;
  NotifyCall n = waitFor("Cannot tell whether your work is offline-ready");
  EXPECT_TRUE(has(n.body, "hoardd did not answer: ")) << n.body;
}

}  // namespace
}  // namespace hoard::desktoptest
