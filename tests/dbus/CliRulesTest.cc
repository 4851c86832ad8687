// SPDX-License-Identifier: MIT
// Issue 11 as a user meets it, through the real `hoard` CLI and hoardd on a
// private bus: rules in config.json decide new conflicts on their own (the
// seed's two examples for object files, literally), a bad rule disables the
// rules but not hoardd, `hoard rules check|reload|explain`, `hoard resolve
// --dry-run`, SIGHUP, and the example external resolver (a python3 program
// on the same bus) registering, deciding, and going away.

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <set>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "BusHarness.h"

namespace hoard {
namespace {

namespace fs = std::filesystem;
using namespace hoard::bustest;
using nlohmann::json;

class CliRulesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/hoard-cli-rules-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    R_ = dir_ + "/server";
    C_ = dir_ + "/cache";
    config_ = dir_ + "/config/hoard/config.json";
    fs::create_directories(R_ + "/src");
    fs::create_directories(dir_ + "/config/hoard");
    bus_ = std::make_unique<PrivateBus>();
    ASSERT_TRUE(bus_->ok());
  }
  void TearDown() override {
    if (resolver_pid_ > 0) {
      kill(resolver_pid_, SIGKILL);
      waitpid(resolver_pid_, nullptr, 0);
    }
    daemon_.reset();
    bus_.reset();
    fs::remove_all(dir_);
  }
  void writeConfig(const std::string& text) { put(config_, text); }
  // Starts examples/hoard-resolver-newest.py with `args` (its output in
  // `out`) and waits until it says it registered.
  ::testing::AssertionResult startExampleResolver(const std::vector<std::string>& args,
                                                  const std::string& out) {
    std::vector<std::string> argv{"/usr/bin/python3",
                                  std::string(HOARD_EXAMPLES_DIR) + "/hoard-resolver-newest.py"};
    argv.insert(argv.end(), args.begin(), args.end());
    resolver_pid_ = spawn(argv, out, {});
    if (eventually([&] { return slurp(out).find("registered") != std::string::npos; }))
      return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "the example resolver never registered:\n"
                                         << slurp(out) << slurp(dir_ + "/hoardd.log");
  }
  // Kills the resolver started last (SIGKILL: it leaves the bus unannounced).
  void killResolver() {
    kill(resolver_pid_, SIGKILL);
    waitpid(resolver_pid_, nullptr, 0);
    resolver_pid_ = -1;
  }
  void startDaemon() {
    daemon_ = std::make_unique<Daemon>(
        dir_ + "/state", dir_ + "/hoardd.log",
        std::vector<std::pair<std::string, std::string>>{{"XDG_CONFIG_HOME", dir_ + "/config"}});
    ASSERT_TRUE(daemon_->start()) << slurp(dir_ + "/hoardd.log");
  }
  std::pair<int, std::string> hoard(const std::string& args) {
    auto r = runHoard(args, dir_ + "/err");
    last_err_ = slurp(dir_ + "/err");
    return r;
  }
  json jsonOf(const std::string& args, int want_rc) {
    auto [rc, out] = hoard(args + " --json");
    if (want_rc >= 0) {
      EXPECT_EQ(rc, want_rc) << args << "\n" << last_err_ << out;
    }
    return json::parse(out, nullptr, false);
  }
  // Sets a file's modification time to `seconds` after the epoch.
  void age(const std::string& path, long seconds) {
    struct timespec t[2] = {{seconds, 0}, {seconds, 0}};
    ASSERT_EQ(utimensat(AT_FDCWD, path.c_str(), t, 0), 0) << path;
  }
  void addShareAndPreload() {
    ASSERT_EQ(hoard("share add s " + R_ + " " + C_).first, 0) << last_err_;
    ASSERT_EQ(hoard("preload s").first, 0) << last_err_;
  }
  // Offline edits of `names` in the cache, other edits on the server, back
  // online and a sync: every name is a content conflict (unless a rule took it).
  void conflictOn(const std::vector<std::string>& names,
                  const std::function<void()>& before_online = {}) {
    ASSERT_EQ(hoard("offline s").first, 0) << last_err_;
    for (const auto& n : names) put(C_ + "/" + n, "mine " + n + "\n");
    ASSERT_TRUE(eventually([&] { return jsonOf("changes s", 0).size() >= names.size(); }));
    for (const auto& n : names) put(R_ + "/" + n, "theirs " + n + "\n");
    if (before_online) before_online();
    ASSERT_EQ(hoard("online s").first, 0) << last_err_;
    ASSERT_TRUE(eventually([&] {
      int rc = hoard("sync s").first;
      return rc == 0 || rc == 3;
    })) << last_err_;
  }
  std::set<std::string> openPaths() {
    std::set<std::string> out;
    for (auto& c : jsonOf("conflicts s", -1)) out.insert(c["path"].get<std::string>());
    return out;
  }
  bool settles(const std::set<std::string>& want) {
    return eventually([&] { return openPaths() == want; });
  }

  std::string dir_, R_, C_, config_, last_err_;
  pid_t resolver_pid_ = -1;
  std::unique_ptr<PrivateBus> bus_;
  std::unique_ptr<Daemon> daemon_;
};

// The seed's first example: discard every local .o (keep the remote's);
// and a share's own rule comes before the global ones.
TEST_F(CliRulesTest, RulesDecideNewConflictsOnTheirOwn) {
  writeConfig(R"({"rules": [{"name": "objects", "match": "**/*.o", "resolver": "keep-remote"},
                            {"match": "*.log", "resolver": "keep-local"}],
                  "shares": {"s": {"rules": [{"match": "src/keep.o", "resolver": "keep-local"}]}}})");
  for (const char* n : {"src/a.o", "src/keep.o", "b.log", "c.txt", "src-old.o.txt"})
    put(R_ + "/" + n, "v1\n");
  startDaemon();
  addShareAndPreload();
  conflictOn({"src/a.o", "src/keep.o", "b.log", "c.txt", "src-old.o.txt"});
  ASSERT_TRUE(settles({"c.txt", "src-old.o.txt"})) << slurp(dir_ + "/hoardd.log");
  EXPECT_EQ(slurp(C_ + "/src/a.o"), "theirs src/a.o\n");
  EXPECT_EQ(slurp(R_ + "/src/a.o"), "theirs src/a.o\n");
  EXPECT_EQ(slurp(C_ + "/src/keep.o"), "mine src/keep.o\n");
  EXPECT_EQ(slurp(R_ + "/src/keep.o"), "mine src/keep.o\n");
  EXPECT_EQ(slurp(C_ + "/b.log"), "mine b.log\n");
  EXPECT_EQ(slurp(R_ + "/b.log"), "mine b.log\n");
  EXPECT_EQ(slurp(R_ + "/c.txt"), "theirs c.txt\n") << "no rule: untouched";
  EXPECT_EQ(slurp(C_ + "/c.txt"), "mine c.txt\n");
  std::string log = slurp(dir_ + "/hoardd.log");
  EXPECT_NE(log.find("src/a.o: rule 1 \"objects\" -> keep-remote: keep-remote"), std::string::npos)
      << log;
  EXPECT_NE(log.find("src/keep.o: rule 1 of share s -> keep-local: keep-local"), std::string::npos)
      << log;
}

// The seed's second example: the .o whose .c is newest wins.
TEST_F(CliRulesTest, TheObjectFollowsTheNewerSource) {
  writeConfig(R"({"rules": [{"match": "*.o", "follow": {"source": "$stem.c"}}]})");
  for (const char* n : {"src/x.c", "src/x.o", "src/y.c", "src/y.o"}) put(R_ + "/" + n, "v1\n");
  startDaemon();
  addShareAndPreload();
  conflictOn({"src/x.c", "src/x.o", "src/y.c", "src/y.o"}, [&] {
    age(C_ + "/src/x.c", 2000000000);  // the cache's x.c is newer
    age(R_ + "/src/x.c", 1000000000);
    age(C_ + "/src/y.c", 1000000000);  // the server's y.c is newer
    age(R_ + "/src/y.c", 2000000000);
  });
  ASSERT_TRUE(settles({"src/x.c", "src/y.c"})) << slurp(dir_ + "/hoardd.log");
  EXPECT_EQ(slurp(R_ + "/src/x.o"), "mine src/x.o\n");
  EXPECT_EQ(slurp(C_ + "/src/x.o"), "mine src/x.o\n");
  EXPECT_EQ(slurp(R_ + "/src/y.o"), "theirs src/y.o\n");
  EXPECT_EQ(slurp(C_ + "/src/y.o"), "theirs src/y.o\n");
}

TEST_F(CliRulesTest, ABadRuleDisablesTheRulesNotTheDaemon) {
  writeConfig(R"({"poll_interval_s": 30,
                  "rules": [{"match": "*.o", "resolver": "keep-remote"},
                            {"kinds": ["contnet"], "resolver": "stash"}]})");
  put(R_ + "/a.o", "v1\n");
  // `hoard rules check` needs no daemon, and names the file, the rule and the key.
  auto [rc, out] = hoard("rules check " + config_);
  EXPECT_EQ(rc, 1);
  EXPECT_NE(last_err_.find("config " + config_ + ": /rules/1/kinds/0:"), std::string::npos)
      << last_err_;
  startDaemon();
  addShareAndPreload();
  json st = jsonOf("status s", 0);
  ASSERT_EQ(st.size(), 1u);
  ASSERT_TRUE(st[0].contains("rules_error")) << st.dump();
  EXPECT_NE(st[0]["rules_error"].get<std::string>().find("/rules/1/kinds/0"), std::string::npos);
  EXPECT_NE(hoard("status s").second.find("the resolution rules are disabled"), std::string::npos);

  conflictOn({"a.o"});
  ASSERT_TRUE(settles({"a.o"}));
  sleep(1);
  EXPECT_EQ(openPaths(), std::set<std::string>{"a.o"}) << "no rule applies while one is bad";
  EXPECT_EQ(hoard("rules reload").first, 2) << "InvalidArgument: the same message";
  EXPECT_NE(last_err_.find("/rules/1/kinds/0"), std::string::npos) << last_err_;

  writeConfig(R"({"rules": [{"match": "*.o", "resolver": "keep-remote"}]})");
  EXPECT_EQ(hoard("rules check " + config_).first, 0) << last_err_;
  // SIGHUP reloads as `hoard rules reload` does, and the open conflict meets the rule.
  kill(daemon_->pid(), SIGHUP);
  ASSERT_TRUE(settles({})) << slurp(dir_ + "/hoardd.log");
  EXPECT_EQ(slurp(C_ + "/a.o"), "theirs a.o\n");
  st = jsonOf("status s", 0);
  EXPECT_FALSE(st[0].contains("rules_error")) << st.dump();
}

TEST_F(CliRulesTest, DryRunSaysWhatWouldHappenAndChangesNothing) {
  writeConfig(R"({"rules": [{"match": "*.o", "follow": {"source": "$stem.c"}},
                            {"match": "*.md", "resolver": "my-prompt"}]})");
  for (const char* n : {"x.o", "y.md", "z.txt"}) put(R_ + "/" + n, "v1\n");
  startDaemon();
  addShareAndPreload();
  conflictOn({"x.o", "y.md", "z.txt"});
  ASSERT_TRUE(settles({"x.o", "y.md", "z.txt"}));  // x.c exists on neither side: deferred

  json preview = jsonOf("resolve --dry-run --all", 3);
  ASSERT_EQ(preview.size(), 3u) << preview.dump(2);
  std::map<std::string, json> by_path;
  for (auto& p : preview) by_path[p["path"].get<std::string>()] = p;
  EXPECT_EQ(by_path["x.o"]["rule"], "rule 1");
  EXPECT_EQ(by_path["x.o"]["resolver"], "follow");
  EXPECT_EQ(by_path["x.o"]["decision"], "defer");
  EXPECT_EQ(by_path["x.o"]["reason"], "x.c exists on neither side");
  EXPECT_EQ(by_path["y.md"]["reason"], "resolver \"my-prompt\" is not registered");
  EXPECT_EQ(by_path["z.txt"]["rule"], "");
  EXPECT_EQ(by_path["z.txt"]["reason"], "no rule takes it");

  // A forced resolver previewed: says what it would do, does nothing.
  auto [rc, text] = hoard("resolve --dry-run --with keep-remote --share s --glob '*.txt'");
  EXPECT_EQ(rc, 0) << last_err_;
  EXPECT_NE(text.find("keep-remote: would keep-remote"), std::string::npos) << text;
  EXPECT_EQ(slurp(C_ + "/z.txt"), "mine z.txt\n");
  EXPECT_EQ(slurp(R_ + "/z.txt"), "theirs z.txt\n");
  EXPECT_EQ(openPaths().size(), 3u);

  // explain: which rule, and why the others did not take it.
  auto [erc, lines] = hoard("rules explain --share s y.md");
  EXPECT_EQ(erc, 0) << last_err_;
  EXPECT_NE(lines.find("rule 1 -> follow: no: the path matches none of its globs"), std::string::npos)
      << lines;
  EXPECT_NE(lines.find("rule 2 -> my-prompt: yes: path matches *.md"), std::string::npos) << lines;
  // A path without a conflict: only its globs are judged.
  auto [prc, plines] = hoard("rules explain --share s docs/new.o");
  EXPECT_NE(plines.find("rule 1 -> follow: yes: path matches *.o"), std::string::npos) << plines;

  // resolve --with a built-in the chain runs (not one of the engine's own three).
  std::string x_o = std::to_string(by_path["x.o"]["id"].get<uint64_t>());
  EXPECT_EQ(hoard("resolve " + x_o + " --with defer").first, 3) << "Conflict: it stays open";
  EXPECT_NE(last_err_.find("conflict #" + x_o + " stays open: defer: defer"), std::string::npos)
      << last_err_;
  EXPECT_EQ(hoard("resolve " + x_o + " --with follow").first, 2) << "follow needs a source";
  EXPECT_NE(last_err_.find("/source"), std::string::npos) << last_err_;
  EXPECT_EQ(openPaths().size(), 3u);
  EXPECT_EQ(hoard("resolve 1 --with merge-magic").first, 2);
  EXPECT_NE(last_err_.find("one of"), std::string::npos) << last_err_;
}

TEST_F(CliRulesTest, TheExampleExternalResolverDecidesAndIsDroppedWhenItLeaves) {
  writeConfig(R"({"rules": [{"match": "notes/**", "resolver": "newest"}]})");
  fs::create_directories(R_ + "/notes");
  for (const char* n : {"notes/a.txt", "notes/b.txt", "other.txt"}) put(R_ + "/" + n, "v1\n");
  startDaemon();
  addShareAndPreload();

  std::string out = dir_ + "/resolver.out";
  ASSERT_TRUE(startExampleResolver({}, out));
  ASSERT_EQ(hoard("offline s").first, 0);
  put(C_ + "/notes/a.txt", "mine, later\n");
  put(C_ + "/other.txt", "mine\n");
  age(C_ + "/notes/a.txt", 2000000000);
  ASSERT_TRUE(eventually([&] { return jsonOf("changes s", 0).size() >= 2; }));
  put(R_ + "/notes/a.txt", "theirs, earlier\n");
  put(R_ + "/other.txt", "theirs\n");
  age(R_ + "/notes/a.txt", 1000000000);
  ASSERT_EQ(hoard("online s").first, 0);
  ASSERT_TRUE(settles({"other.txt"})) << slurp(out) << slurp(dir_ + "/hoardd.log");
  EXPECT_EQ(slurp(R_ + "/notes/a.txt"), "mine, later\n");
  EXPECT_EQ(slurp(C_ + "/notes/a.txt"), "mine, later\n");
  EXPECT_NE(slurp(out).find("notes/a.txt: keep-local"), std::string::npos) << slurp(out);

  // The resolver goes away: its registration goes with it, conflicts wait.
  killResolver();
  ASSERT_TRUE(eventually([&] {
    json p = jsonOf("resolve --dry-run --all", 3);
    return p.size() == 1 && p[0]["decision"] == "defer";
  }));
  ASSERT_EQ(hoard("offline s").first, 0);
  put(C_ + "/notes/b.txt", "mine b\n");
  ASSERT_TRUE(eventually([&] { return jsonOf("changes s", 0).size() >= 1; }));
  put(R_ + "/notes/b.txt", "theirs b\n");
  ASSERT_EQ(hoard("online s").first, 0);
  ASSERT_TRUE(settles({"other.txt", "notes/b.txt"}));
  json p = jsonOf("resolve --dry-run --all", 3);
  bool said = false;
  for (auto& row : p)
    if (row["path"] == "notes/b.txt")
      said = row["reason"] == "resolver \"newest\" is not registered";
  EXPECT_TRUE(said) << p.dump(2);
  EXPECT_EQ(slurp(R_ + "/notes/b.txt"), "theirs b\n");
  EXPECT_EQ(slurp(C_ + "/notes/b.txt"), "mine b\n");
}

}  // namespace
}  // namespace hoard

namespace hoard {
namespace {

// An external resolver that answers a word hoardd does not know, or that
// answers after its deadline: the conflict stays open, both sides as they
// were, and the log says what happened.
TEST_F(CliRulesTest, AResolverThatAnswersNonsenseOrTooLateLeavesTheConflictOpen) {
  writeConfig(R"({"rules": [{"match": "*.txt", "resolver": "talker"}]})");
  put(R_ + "/a.txt", "v1\n");
  startDaemon();
  addShareAndPreload();
  std::string out = dir_ + "/talker.out";
  ASSERT_TRUE(startExampleResolver({"--name", "talker", "--always", "frobnicate"}, out));
  conflictOn({"a.txt"});
  std::string log_path = dir_ + "/hoardd.log";
  ASSERT_TRUE(eventually([&] {
    return slurp(log_path).find("answered \"frobnicate\"") != std::string::npos;
  })) << slurp(log_path);
  EXPECT_EQ(openPaths(), std::set<std::string>{"a.txt"});
  EXPECT_EQ(slurp(C_ + "/a.txt"), "mine a.txt\n");
  EXPECT_EQ(slurp(R_ + "/a.txt"), "theirs a.txt\n");

  killResolver();
  ASSERT_TRUE(eventually([&] {
    json p = jsonOf("resolve --dry-run --all", 3);
    return p.size() == 1 && p[0]["reason"] == "resolver \"talker\" is not registered";
  }));
  // Now one that would say keep-local, but only after its 1 s deadline.
  std::string out2 = dir_ + "/slow.out";
  ASSERT_TRUE(startExampleResolver(
      {"--name", "talker", "--always", "keep-local", "--think", "3", "--timeout", "1"}, out2));
  ASSERT_TRUE(eventually([&] { return slurp(out2).find("a.txt: keep-local") != std::string::npos; },
                         std::chrono::seconds(10)))
      << slurp(out2);
  sleep(1);
  EXPECT_NE(slurp(log_path).find("talker: defer (the resolver failed); failed: resolver talker"),
            std::string::npos)
      << slurp(log_path);
  EXPECT_EQ(openPaths(), std::set<std::string>{"a.txt"}) << "a late answer is not applied";
  EXPECT_EQ(slurp(R_ + "/a.txt"), "theirs a.txt\n");
  EXPECT_EQ(slurp(C_ + "/a.txt"), "mine a.txt\n");
}

}  // namespace
}  // namespace hoard

namespace hoard {
namespace {

// A dry run asks an external resolver for a preview: it answers what it
// would do and does nothing (the example prints nothing for a preview, and
// the conflict stays open with both sides as they were). One that does not
// answer a preview in time is reported as such within the preview's short
// deadline, not the resolver's 60 s.
TEST_F(CliRulesTest, ADryRunAsksExternalResolversForAPreview) {
  writeConfig(R"({"rules": []})");
  put(R_ + "/a.txt", "v1\n");
  startDaemon();
  addShareAndPreload();
  conflictOn({"a.txt"}, [&] {
    age(C_ + "/a.txt", 2000000000);
    age(R_ + "/a.txt", 1000000000);
  });
  ASSERT_TRUE(settles({"a.txt"}));
  const std::string id = std::to_string(jsonOf("conflicts s", -1)[0]["id"].get<uint64_t>());
  std::string out = dir_ + "/previewer.out";
  ASSERT_TRUE(startExampleResolver({"--name", "previewer"}, out));

  json p = jsonOf("resolve --dry-run --with previewer " + id, 0);
  ASSERT_EQ(p.size(), 1u) << p.dump(2);
  EXPECT_EQ(p[0]["resolver"], "previewer");
  EXPECT_EQ(p[0]["decision"], "keep-local") << p.dump(2);
  EXPECT_EQ(p[0]["reason"], "its answer to a preview") << p.dump(2);
  auto [rc, text] = hoard("resolve --dry-run --with previewer " + id);
  EXPECT_EQ(rc, 0) << last_err_;
  EXPECT_NE(text.find("previewer"), std::string::npos) << text;
  EXPECT_NE(text.find("keep-local"), std::string::npos) << text;
  EXPECT_EQ(slurp(out).find("a.txt:"), std::string::npos) << "a preview is not acted on: "
                                                          << slurp(out);
  EXPECT_EQ(openPaths(), std::set<std::string>{"a.txt"});
  EXPECT_EQ(slurp(C_ + "/a.txt"), "mine a.txt\n");
  EXPECT_EQ(slurp(R_ + "/a.txt"), "theirs a.txt\n");

  killResolver();
  ASSERT_TRUE(eventually([&] {
    json q = jsonOf("resolve --dry-run --with previewer " + id, -1);
    return !q.is_array() || q.size() != 1 || q[0]["reason"] != "its answer to a preview";
  }));
  // One that would think for 30 s: the dry run says so after the preview's
  // deadline, well before the resolver's own 60 s.
  std::string out2 = dir_ + "/slow.out";
  ASSERT_TRUE(startExampleResolver(
      {"--name", "slowpoke", "--always", "keep-local", "--think", "30"}, out2));
  auto t0 = std::chrono::steady_clock::now();
  json slow = jsonOf("resolve --dry-run --with slowpoke " + id, -1);
  auto took = std::chrono::steady_clock::now() - t0;
  ASSERT_EQ(slow.size(), 1u) << slow.dump(2) << last_err_;
  EXPECT_EQ(slow[0]["decision"], "defer");
  EXPECT_EQ(slow[0]["reason"], "would ask slowpoke, which did not answer the preview within 2000 ms")
      << slow.dump(2);
  EXPECT_LT(took, std::chrono::seconds(15)) << "the preview's deadline, not the resolver's 60 s";
  EXPECT_EQ(openPaths(), std::set<std::string>{"a.txt"});
  EXPECT_EQ(slurp(R_ + "/a.txt"), "theirs a.txt\n");
}

}  // namespace
}  // namespace hoard
