// SPDX-License-Identifier: MIT
// Issue 12's repositories as a user meets them, through the real `hoard`
// CLI and hoardd on a private bus, with repositories made by the real `git`
// command: commits made offline in the cache and meanwhile on the server
// come back as one repo conflict that git-repo merges on its own (even with
// a catch-all keep-local rule for files), leaving both .git directories
// equal, fsck-clean and holding every commit, and the history naming the
// diverged ref; a rebase in progress on the server keeps the conflict open,
// and `hoard conflicts` says why.

#include <stdio.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "BusHarness.h"

namespace hoard {
namespace {

namespace fs = std::filesystem;
using namespace hoard::bustest;
using nlohmann::json;

std::pair<int, std::string> git(const std::string& dir, const std::string& args) {
  return run("GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null git -C '" + dir +
             "' -c user.name=Tester -c user.email=tester@example.org -c commit.gpgsign=false "
             "-c init.defaultBranch=main -c gc.auto=0 " + args + " 2>&1");
}

std::string gitOk(const std::string& dir, const std::string& args) {
  auto [rc, out] = git(dir, args);
  EXPECT_EQ(rc, 0) << "git " << args << " in " << dir << ":\n" << out;
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

std::map<std::string, std::string> filesOf(const std::string& root) {
  std::map<std::string, std::string> out;
  for (auto& e : fs::recursive_directory_iterator(root))
    if (e.is_regular_file()) out[fs::relative(e.path(), root)] = slurp(e.path());
  return out;
}

class CliGitRepoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/hoard-cli-gitrepo-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    R_ = dir_ + "/server";
    C_ = dir_ + "/cache";
    fs::create_directories(R_ + "/proj");
    fs::create_directories(dir_ + "/config/hoard");
    gitOk(R_ + "/proj", "init -q");
    commit(R_ + "/proj", "a.txt", "alpha\n", "first");
    commit(R_ + "/proj", "b.txt", "beta\n", "second");
    bus_ = std::make_unique<PrivateBus>();
    ASSERT_TRUE(bus_->ok());
    // A catch-all rule for files: a repository is still merged as one.
    put(dir_ + "/config/hoard/config.json",
        R"({"rules": [{"class": "text", "resolver": "git-merge"}, {"resolver": "keep-local"}]})");
    daemon_ = std::make_unique<Daemon>(
        dir_ + "/state", dir_ + "/hoardd.log",
        std::vector<std::pair<std::string, std::string>>{{"XDG_CONFIG_HOME", dir_ + "/config"}});
    ASSERT_TRUE(daemon_->start()) << slurp(dir_ + "/hoardd.log");
    ASSERT_EQ(hoard("share add s " + R_ + " " + C_).first, 0) << last_err_;
    ASSERT_EQ(hoard("preload s").first, 0) << last_err_;
    ASSERT_EQ(gitOk(C_ + "/proj", "rev-parse main"), gitOk(R_ + "/proj", "rev-parse main"));
  }
  void TearDown() override {
    daemon_.reset();
    bus_.reset();
    fs::remove_all(dir_);
  }
  std::string commit(const std::string& repo, const std::string& file, const std::string& bytes,
                     const std::string& message) {
    put(repo + "/" + file, bytes);
    gitOk(repo, "add '" + file + "'");
    gitOk(repo, "commit -q -m '" + message + "'");
    return gitOk(repo, "rev-parse HEAD");
  }
  std::pair<int, std::string> hoard(const std::string& args) {
    auto r = runHoard(args, dir_ + "/err");
    last_err_ = slurp(dir_ + "/err");
    return r;
  }
  json jsonOf(const std::string& args) {
    auto [rc, out] = hoard(args + " --json");
    return json::parse(out, nullptr, false);
  }
  // `offline` runs while the share is offline (the cache's side), `server`
  // on the server meanwhile; then online and a sync.
  void whileOffline(const std::function<void()>& offline, const std::function<void()>& server) {
    ASSERT_EQ(hoard("offline s").first, 0) << last_err_;
    offline();
    ASSERT_TRUE(eventually([&] { return jsonOf("changes s").size() >= 3; }));
    server();
    ASSERT_EQ(hoard("online s").first, 0) << last_err_;
    ASSERT_TRUE(eventually([&] {
      int rc = hoard("sync s").first;
      return rc == 0 || rc == 3;
    })) << last_err_;
  }
  json openConflicts() { return jsonOf("conflicts s"); }

  std::string dir_, R_, C_, last_err_;
  std::unique_ptr<PrivateBus> bus_;
  std::unique_ptr<Daemon> daemon_;
};

TEST_F(CliGitRepoTest, CommitsOnBothSidesAreMergedAsARepositoryOnTheirOwn) {
  std::string mine, theirs;
  whileOffline([&] { mine = commit(C_ + "/proj", "a.txt", "alpha, offline\n", "offline work"); },
               [&] { theirs = commit(R_ + "/proj", "b.txt", "beta, server\n", "server work"); });
  ASSERT_TRUE(eventually([&] {
    json open = openConflicts();
    return open.is_array() && open.empty();
  })) << slurp(dir_ + "/hoardd.log");
  for (const std::string& repo : {C_ + "/proj", R_ + "/proj"}) {
    auto [rc, out] = git(repo, "fsck --full --no-progress");
    EXPECT_EQ(rc, 0) << repo << ":\n" << out;
    EXPECT_EQ(gitOk(repo, "rev-parse main"), mine) << repo;
    EXPECT_EQ(gitOk(repo, "rev-parse refs/remotes/hoard/s/main"), theirs) << repo;
  }
  EXPECT_EQ(gitOk(C_ + "/proj", "rev-list --all"), gitOk(R_ + "/proj", "rev-list --all"));
  EXPECT_EQ(filesOf(C_ + "/proj/.git"), filesOf(R_ + "/proj/.git"));
  // The working tree's files are ordinary: each side's edit reached the other.
  EXPECT_EQ(slurp(R_ + "/proj/a.txt"), "alpha, offline\n");
  EXPECT_EQ(slurp(C_ + "/proj/b.txt"), "beta, server\n");
  // The history says who merged it and names the diverged ref.
  json resolved = jsonOf("conflicts s --resolved");
  ASSERT_TRUE(resolved.is_array() && resolved.size() == 1) << resolved.dump();
  EXPECT_EQ(resolved[0]["kind"], "repo") << resolved.dump();
  EXPECT_EQ(resolved[0]["path"], "proj/.git") << resolved.dump();
  const std::string row = resolved[0].dump();
  EXPECT_NE(row.find("git-repo"), std::string::npos) << row;
  EXPECT_NE(row.find("refs/heads/main -> refs/remotes/hoard/s/main"), std::string::npos) << row;
  // And the next sync has nothing to do.
  auto [rc, out] = hoard("sync s");
  EXPECT_EQ(rc, 0) << out << last_err_;
  EXPECT_EQ(filesOf(C_ + "/proj/.git"), filesOf(R_ + "/proj/.git"));
}

TEST_F(CliGitRepoTest, ARebaseInProgressOnTheServerKeepsTheConflictOpenAndSaysWhy) {
  whileOffline([&] { commit(C_ + "/proj", "b.txt", "beta, offline\n", "offline work"); },
               [&] {
                 const std::string repo = R_ + "/proj";
                 gitOk(repo, "switch -q -c topic");
                 commit(repo, "a.txt", "alpha from topic\n", "topic");
                 gitOk(repo, "switch -q main");
                 commit(repo, "a.txt", "alpha from main\n", "main");
                 auto [rc, out] = git(repo, "rebase main topic");
                 ASSERT_NE(rc, 0) << out;
                 ASSERT_TRUE(fs::exists(repo + "/.git/rebase-merge"));
               });
  json open;
  ASSERT_TRUE(eventually([&] {
    open = openConflicts();
    return open.is_array() && open.size() == 1;
  })) << open.dump() << slurp(dir_ + "/hoardd.log");
  EXPECT_EQ(open[0]["kind"], "repo");
  EXPECT_EQ(open[0]["path"], "proj/.git");
  EXPECT_EQ(open[0]["resolver"], "git-repo") << open.dump();
  EXPECT_EQ(open[0]["would"], "defer") << open.dump();
  EXPECT_NE(open[0]["reason"].get<std::string>().find(
                "the remote's repository is in the middle of a rebase (rebase-merge exists)"),
            std::string::npos)
      << open.dump();
  auto [rc, text] = hoard("conflicts s");
  EXPECT_EQ(rc, 3);
  EXPECT_NE(text.find("repo  proj/.git"), std::string::npos) << text;
  EXPECT_NE(text.find("in the middle of a rebase"), std::string::npos) << text;
  // Nothing of either repository was touched meanwhile.
  EXPECT_TRUE(fs::exists(R_ + "/proj/.git/rebase-merge"));
  EXPECT_FALSE(fs::exists(C_ + "/proj/.git/rebase-merge"));
}

}  // namespace
}  // namespace hoard
