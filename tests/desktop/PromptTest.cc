// SPDX-License-Identifier: MIT
// hoard-prompt as a person meets it, on a private session bus: the real
// hoardd and CLI, the real hoard-prompt, and python3-dbusmock's
// notification server standing in for the desktop's. The test reads the
// Notify calls (summary, body, actions) and answers as the person would,
// with ActionInvoked and NotificationClosed from the mock; it checks the
// bytes on both sides and what `hoard conflicts` says.

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <regex>
#include <thread>

#include "PromptFixture.h"

namespace hoard::desktoptest {
namespace {

namespace fs = std::filesystem;
using namespace hoard::bustest;
using nlohmann::json;
using Strings = std::vector<std::string>;

const Strings kSingleActions = {"keep-local", "Keep mine",  "keep-remote", "Keep theirs",
                                "stash",      "Keep both",  "compare",     "Compare"};
const Strings kBatchActions = {"keep-all-local", "Keep all mine", "keep-all-remote",
                               "Keep all theirs", "show",         "Show them"};

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

size_t lines(const std::string& text) { return std::count(text.begin(), text.end(), '\n'); }

// `s` matched literally in a regular expression.
std::string literal(const std::string& s) {
  static const std::regex special(R"([.^$|()\[\]{}*+?\\])");
  return std::regex_replace(s, special, R"(\$&)");
}

class PromptTest : public PromptFixture {};

TEST_F(PromptTest, OneConflictIsOneNotificationInWordsAndKeepMineResolvesIt) {
  start({"docs/report.txt"});
  conflictOn({"docs/report.txt"});
  auto n = notifiesReach(1);
  ASSERT_EQ(n.size(), 1u);
  EXPECT_EQ(n[0].summary, "Conflict in work: report.txt");
  EXPECT_TRUE(has(n[0].body, "You edited report.txt offline; someone changed it on the server."))
      << n[0].body;
  EXPECT_TRUE(has(n[0].body, "docs/report.txt in share work")) << n[0].body;
  EXPECT_EQ(n[0].actions, kSingleActions);
  EXPECT_EQ(n[0].expire_timeout, 0) << "a conflict waits for the person";
  // The prompt asks; it does not decide on its own.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_EQ(hoard("conflicts work").first, 3);
  EXPECT_EQ(slurp(cache_ + "/docs/report.txt"), "mine docs/report.txt\n");
  EXPECT_EQ(slurp(server_ + "/docs/report.txt"), "theirs docs/report.txt\n");

  mock_->act(n[0].id, "keep-local");
  ASSERT_TRUE(eventually([&] { return hoard("conflicts work").first == 0; })) << promptLog();
  EXPECT_EQ(slurp(cache_ + "/docs/report.txt"), "mine docs/report.txt\n");
  EXPECT_EQ(slurp(server_ + "/docs/report.txt"), "mine docs/report.txt\n");
  auto [rc, out] = hoard("conflicts work --resolved --json");
  json done = json::parse(out, nullptr, false);
  ASSERT_TRUE(done.is_array() && done.size() == 1) << out;
  EXPECT_EQ(done[0]["decision"], "keep-local") << out;
}

TEST_F(PromptTest, KeepTheirsAndKeepBothFromTheirNotifications) {
  start({"a.txt", "b.txt"});
  conflictOn({"a.txt"});
  auto n = notifiesReach(1);
  mock_->act(n[0].id, "keep-remote");
  ASSERT_TRUE(eventually([&] { return hoard("conflicts work").first == 0; })) << promptLog();
  EXPECT_EQ(slurp(cache_ + "/a.txt"), "theirs a.txt\n");
  EXPECT_EQ(slurp(server_ + "/a.txt"), "theirs a.txt\n");

  conflictOn({"b.txt"});
  n = notifiesReach(2);
  ASSERT_EQ(n.size(), 2u);
  EXPECT_EQ(n[1].summary, "Conflict in work: b.txt");
  mock_->act(n[1].id, "stash");
  ASSERT_TRUE(eventually([&] { return hoard("conflicts work").first == 0; })) << promptLog();
  // Both versions are kept on both sides: b.txt and b.conflict-HOST-TIME.txt.
  for (const std::string& root : {cache_, server_}) {
    std::multiset<std::string> contents;
    for (auto& e : fs::directory_iterator(root))
      if (e.path().filename().string().rfind("b.", 0) == 0) contents.insert(slurp(e.path()));
    EXPECT_EQ(contents, (std::multiset<std::string>{"mine b.txt\n", "theirs b.txt\n"})) << root;
  }
}

// One pass finds 40 conflicts (among them `dir`, `dir-x`, `dir.bak` and
// CRLF text without a final newline): one notification, and Keep all mine
// resolves all 40 with the bytes as they were.
TEST_F(PromptTest, FortyConflictsAtOnceAreOneNotificationAndKeepAllMineTakesThemAll) {
  Strings names = {"dir/a.txt", "dir-x/a.txt", "dir.bak/a.txt"};
  for (int i = 0; names.size() < 40; ++i) names.push_back("f" + std::to_string(i) + ".txt");
  start(names);
  auto mine = [](const std::string& n) { return "mine\r\n" + n; };
  conflictOn(names, mine);
  ASSERT_TRUE(eventually([&] { return conflicts().size() == 40; }));
  auto n = notifiesReach(1);
  std::this_thread::sleep_for(std::chrono::seconds(2));  // nothing more comes
  n = mock_->notifies();
  ASSERT_EQ(n.size(), 1u) << n.back().summary;
  EXPECT_EQ(n[0].summary, "40 conflicts in work");
  EXPECT_TRUE(has(n[0].body, "and 37 more")) << n[0].body;
  EXPECT_EQ(n[0].actions, kBatchActions);

  mock_->act(n[0].id, "keep-all-local");
  ASSERT_TRUE(eventually([&] { return hoard("conflicts work").first == 0; })) << promptLog();
  for (const auto& name : names) {
    EXPECT_EQ(slurp(cache_ + "/" + name), mine(name)) << name;
    EXPECT_EQ(slurp(server_ + "/" + name), mine(name)) << name;
  }
}

// Show them: the batch becomes one notification per conflict, each with its
// own choices; deciding one leaves the others open.
TEST_F(PromptTest, ShowThemNotifiesEachConflictOnItsOwn) {
  Strings names = {"dir/a.txt", "dir-x/a.txt", "dir.bak/a.txt"};
  start(names);
  conflictOn(names);
  auto n = notifiesReach(1);
  ASSERT_EQ(n[0].summary, "3 conflicts in work");
  mock_->act(n[0].id, "show");
  n = notifiesReach(4);
  ASSERT_EQ(n.size(), 4u);
  std::set<std::string> where;
  for (size_t i = 1; i < 4; ++i) {
    EXPECT_EQ(n[i].summary, "Conflict in work: a.txt");
    EXPECT_EQ(n[i].actions, kSingleActions);
    for (const auto& name : names)
      if (has(n[i].body, "\n" + name + " in share work")) where.insert(name);
  }
  EXPECT_EQ(where, std::set<std::string>(names.begin(), names.end()));
  uint32_t dir_x = 0;
  for (size_t i = 1; i < 4; ++i)
    if (has(n[i].body, "\ndir-x/a.txt ")) dir_x = n[i].id;
  mock_->act(dir_x, "keep-remote");
  ASSERT_TRUE(eventually([&] { return conflicts().size() == 2; })) << promptLog();
  EXPECT_EQ(idOf("dir-x/a.txt"), 0u);
  EXPECT_EQ(slurp(cache_ + "/dir-x/a.txt"), "theirs dir-x/a.txt\n");
  EXPECT_EQ(slurp(cache_ + "/dir/a.txt"), "mine dir/a.txt\n");
  EXPECT_EQ(slurp(cache_ + "/dir.bak/a.txt"), "mine dir.bak/a.txt\n");
}

// A server without buttons: the body says the exact command, and that
// command (typed as shown) resolves it. The name is not UTF-8.
TEST_F(PromptTest, AServerWithoutActionsGetsTheExactCommand) {
  const std::string name = "caf\xe9 & <notes>.txt";
  start({name}, "{}", "body");
  conflictOn({name});
  auto n = notifiesReach(1);
  uint64_t id = conflicts().at(0)["id"].get<uint64_t>();
  EXPECT_TRUE(n[0].actions.empty());
  EXPECT_EQ(n[0].summary, "Conflict in work: caf\\xe9 & <notes>.txt") << "no markup to escape";
  std::string command = "hoard resolve " + std::to_string(id) + " --with keep-local";
  EXPECT_TRUE(has(n[0].body, "To keep yours: " + command + "\n")) << n[0].body;
  EXPECT_TRUE(has(n[0].body, "hoard resolve " + std::to_string(id) + " --with keep-remote"));
  EXPECT_TRUE(has(n[0].body, "hoard resolve " + std::to_string(id) + " --with stash"));
  EXPECT_EQ(hoard(command.substr(6)).first, 0) << last_err_;
  EXPECT_EQ(slurp(server_ + "/" + name), "mine " + name + "\n");
}

TEST_F(PromptTest, MarkupIsEscapedForAServerThatParsesIt) {
  const std::string name = "a<b>&c.txt";
  start({name});
  conflictOn({name});
  auto n = notifiesReach(1);
  EXPECT_TRUE(has(n[0].body, "You edited a&lt;b&gt;&amp;c.txt offline")) << n[0].body;
  EXPECT_FALSE(has(n[0].body, "<b>")) << n[0].body;
}

// Closing without a choice leaves the conflict open, both sides as they
// were; it comes back after the reminder interval, not sooner.
TEST_F(PromptTest, ClosingLeavesItOpenAndARemindersComesAfterTheInterval) {
  start({"report.txt"}, R"({"prompt": {"reminder_interval_s": 3}})");
  conflictOn({"report.txt"});
  auto n = notifiesReach(1);
  auto closed_at = std::chrono::steady_clock::now();
  mock_->dismiss(n[0].id);
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  EXPECT_EQ(mock_->notifies().size(), 1u) << "no reminder before the interval";
  EXPECT_EQ(hoard("conflicts work").first, 3);
  EXPECT_EQ(slurp(cache_ + "/report.txt"), "mine report.txt\n");
  EXPECT_EQ(slurp(server_ + "/report.txt"), "theirs report.txt\n");
  n = notifiesReach(2);
  auto gap = std::chrono::steady_clock::now() - closed_at;
  EXPECT_GE(gap, std::chrono::milliseconds(2900));
  ASSERT_EQ(n.size(), 2u);
  EXPECT_EQ(n[1].summary, "Conflict in work: report.txt");
  EXPECT_EQ(n[1].actions, kSingleActions);
  mock_->act(n[1].id, "keep-remote");
  ASSERT_TRUE(eventually([&] { return hoard("conflicts work").first == 0; })) << promptLog();
  EXPECT_EQ(slurp(cache_ + "/report.txt"), "theirs report.txt\n");
}

// Resolved elsewhere (here: the CLI): its notification is closed; in a
// batch the notification is updated to the ones left.
TEST_F(PromptTest, AConflictResolvedByTheCliClosesItsNotification) {
  start({"report.txt", "x/a.txt", "x/b.txt", "x/c.txt"});
  conflictOn({"report.txt"});
  auto n = notifiesReach(1);
  EXPECT_TRUE(mock_->closes().empty());
  ASSERT_EQ(hoard("resolve " + std::to_string(idOf("report.txt")) + " --with keep-remote").first, 0)
      << last_err_;
  ASSERT_TRUE(eventually([&] { return mock_->closes() == std::vector<uint32_t>{n[0].id}; }))
      << promptLog();

  conflictOn({"x/a.txt", "x/b.txt", "x/c.txt"});
  n = notifiesReach(2);
  ASSERT_EQ(n[1].summary, "3 conflicts in work");
  ASSERT_EQ(hoard("resolve " + std::to_string(idOf("x/b.txt")) + " --with keep-local").first, 3);
  n = notifiesReach(3);
  EXPECT_EQ(n[2].replaces, n[1].id);
  EXPECT_EQ(n[2].summary, "2 conflicts in work");
  EXPECT_EQ(mock_->closes().size(), 1u);
}

// Compare runs the configured tool on read-only copies in the prompt's own
// folder, never the live files; the choice is asked again afterwards.
TEST_F(PromptTest, CompareRunsTheConfiguredToolOnReadOnlyCopies) {
  std::string tool = dir_ + "/tool.sh", seen = dir_ + "/seen";
  put(tool, "for f in \"$@\"; do printf '%s %s\\n' \"$f\" \"$(stat -c %a \"$f\")\" >> " + seen +
                "; cat \"$f\" >> " + seen + "; done\n");
  start({"report.txt"},
        R"({"prompt": {"compare_tool": ["/bin/sh", ")" + tool + R"(", "{base}", "{local}", "{remote}"]}})");
  conflictOn({"report.txt"});
  auto n = notifiesReach(1);
  mock_->act(n[0].id, "compare");
  ASSERT_TRUE(eventually([&] { return lines(slurp(seen)) >= 6; }))
      << promptLog();
  std::string copies =
      literal(dir_ + "/run/hoard-prompt/conflict-" + std::to_string(idOf("report.txt")));
  std::regex want(copies + "-\\w+/report\\.base\\.txt 444\nv1 report\\.txt\n" + copies +
                  "-\\w+/report\\.mine\\.txt 444\nmine report\\.txt\n" + copies +
                  "-\\w+/report\\.theirs\\.txt 444\ntheirs report\\.txt\n");
  EXPECT_TRUE(std::regex_match(slurp(seen), want)) << slurp(seen);
  EXPECT_EQ(slurp(cache_ + "/report.txt"), "mine report.txt\n");
  EXPECT_EQ(slurp(server_ + "/report.txt"), "theirs report.txt\n");
  n = notifiesReach(2);
  EXPECT_EQ(n[1].summary, "Conflict in work: report.txt") << "asked again after Compare";
  EXPECT_EQ(n[1].actions, kSingleActions);
  EXPECT_EQ(hoard("conflicts work").first, 3);
  mock_->act(n[1].id, "keep-local");
  ASSERT_TRUE(eventually([&] { return hoard("conflicts work").first == 0; }));
  // Decided: its copies are gone.
  EXPECT_TRUE(eventually([&] { return fs::is_empty(dir_ + "/run/hoard-prompt"); }));
}

// No tool configured: meld if it is on PATH, else `diff -u` in $VISUAL.
TEST_F(PromptTest, CompareByDefaultIsMeldOrElseTheDiffInTheEditor) {
  std::string bin = dir_ + "/bin", seen = dir_ + "/seen";
  fs::create_directories(bin);
  fs::create_symlink("/usr/bin/diff", bin + "/diff");
  std::string editor = dir_ + "/editor.sh";
  put(editor, "/bin/cat \"$1\" > " + seen + "\n");
  start({"report.txt"}, "{}", "actions body",
        {{"PATH", bin}, {"VISUAL", "/bin/sh " + editor}, {"EDITOR", ""}});
  conflictOn({"report.txt"});
  auto n = notifiesReach(1);
  mock_->act(n[0].id, "compare");
  ASSERT_TRUE(eventually([&] { return has(slurp(seen), "+mine"); })) << promptLog();
  std::string diff = slurp(seen);
  EXPECT_TRUE(has(diff, "--- report.theirs.txt")) << diff;
  EXPECT_TRUE(has(diff, "+++ report.mine.txt")) << diff;
  EXPECT_TRUE(has(diff, "\n-theirs report.txt\n+mine report.txt\n")) << diff;

  put(bin + "/meld", "#!/bin/sh\nprintf '%s\\n' \"$@\" > " + seen + "\n");
  fs::permissions(bin + "/meld", fs::perms::owner_all);
  n = notifiesReach(2);
  mock_->act(n[1].id, "compare");
  ASSERT_TRUE(eventually([&] { return has(slurp(seen), "mine.txt\n"); })) << promptLog();
  std::string args = slurp(seen);
  std::regex want(".*/report\\.mine\\.txt\n.*/report\\.base\\.txt\n.*/report\\.theirs\\.txt\n");
  EXPECT_TRUE(std::regex_match(args, want)) << args;
}

// A rule's resolver that cannot decide (git-merge: both sides changed the
// same line) hands the conflict to the prompt, which asks the person.
TEST_F(PromptTest, WhatARulesResolverLeavesOpenIsAskedAbout) {
  start({"notes.txt", "plan.txt"},
        R"({"rules": [{"match": "notes.txt", "resolver": "git-merge"}]})");
  conflictOn({"notes.txt"});
  auto n = notifiesReach(1);
  EXPECT_EQ(n[0].summary, "Conflict in work: notes.txt");
  EXPECT_EQ(n[0].actions, kSingleActions);
  json c = conflicts();
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0]["resolver"], "git-merge") << c.dump();
  EXPECT_EQ(c[0]["would"], "defer") << c.dump();
  mock_->act(n[0].id, "keep-remote");
  ASSERT_TRUE(eventually([&] { return hoard("conflicts work").first == 0; })) << promptLog();
  EXPECT_EQ(slurp(cache_ + "/notes.txt"), "theirs notes.txt\n");
  EXPECT_EQ(slurp(server_ + "/notes.txt"), "theirs notes.txt\n");
}

// Started before hoardd (as the user unit may be), its registration starts
// hoardd by D-Bus activation; when hoardd restarts it registers again, and
// the new hoardd's conflicts reach it.
TEST_F(PromptTest, ItStartsHoarddByActivationAndRegistersAgainAfterARestart) {
  bus_.reset();
  setenv("XDG_STATE_HOME", (dir_ + "/state").c_str(), 1);
  setenv("XDG_CONFIG_HOME", (dir_ + "/config").c_str(), 1);
  bus_ = std::make_unique<PrivateBus>(dir_ + "/services");
  ASSERT_TRUE(bus_->ok());
  mock_ = std::make_unique<NotificationMock>("actions body", dir_ + "/mock.log");
  ASSERT_TRUE(mock_->ok());
  put(server_ + "/report.txt", "v1 report.txt\n");
  prompt_pid_ = spawn({HOARD_PROMPT_PATH}, dir_ + "/prompt.log", {{"XDG_RUNTIME_DIR", dir_ + "/run"}});
  auto registrations = [&] {
    std::string log = promptLog();
    size_t n = 0;
    for (size_t at = 0; (at = log.find("registered with hoardd", at)) != std::string::npos; ++at) ++n;
    return n;
  };
  ASSERT_TRUE(eventually([&] { return registrations() >= 1; })) << promptLog();
  pid_t first = busNameOwnerPid("org.hoard.Agent1");
  ASSERT_GT(first, 0) << "hoardd was activated";
  ASSERT_EQ(hoard("share add work " + server_ + " " + cache_).first, 0) << last_err_;
  ASSERT_EQ(hoard("preload work").first, 0) << last_err_;

  kill(first, SIGTERM);
  ASSERT_TRUE(eventually([&] { return kill(first, 0) != 0; }));
  size_t before = registrations();
  ASSERT_EQ(hoard("status work").first, 0) << last_err_;  // activates it again
  ASSERT_TRUE(eventually([&] { return registrations() > before; })) << promptLog();
  conflictOn({"report.txt"});
  unsetenv("XDG_STATE_HOME");
  unsetenv("XDG_CONFIG_HOME");
  auto n = notifiesReach(1);
  EXPECT_EQ(n[0].summary, "Conflict in work: report.txt");
  pid_t second = busNameOwnerPid("org.hoard.Agent1");
  kill(second, SIGTERM);
  EXPECT_TRUE(eventually([&] { return kill(second, 0) != 0; }));
}

TEST_F(PromptTest, ABadSettingStopsItNamingTheFileAndTheKey) {
  put(config_, R"({"prompt": {"reminder_interval_s": 0}})");
  auto [rc, out] = run("XDG_CONFIG_HOME=" + dir_ + "/config " + HOARD_PROMPT_PATH + " 2>" + dir_ +
                       "/err");
  EXPECT_EQ(rc, 1);
  std::string err = slurp(dir_ + "/err");
  EXPECT_TRUE(has(err, "config " + config_ + ": /prompt/reminder_interval_s")) << err;
  put(config_, R"({"prompt": {"compare_tool": "meld"}})");
  rc = run("XDG_CONFIG_HOME=" + dir_ + "/config " + HOARD_PROMPT_PATH + " 2>" + dir_ + "/err").first;
  EXPECT_EQ(rc, 1);
  EXPECT_TRUE(has(slurp(dir_ + "/err"), "/prompt/compare_tool")) << slurp(dir_ + "/err");
}

}  // namespace
}  // namespace hoard::desktoptest
