// SPDX-License-Identifier: MIT
// ListerChangeSource with the real hoard-lister on real directories: its
// answer is exactly the mount's walk, a quiet tree costs no call to the
// mount, a change costs a stat of what changed, and every way the lister
// can fail (missing, failing, hanging, truncated, another tree) ends in a
// walk of the mount with the reason.

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <memory>

#include "TempDir.h"
#include "remote/CountingRemoteFs.h"
#include "remote/ListerChangeSource.h"
#include "remote/PosixRemoteFs.h"

namespace hoard::remote {
namespace {

using testing::TempDir;
using testing::writeFile;
namespace fs = std::filesystem;

class ListerChangeSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = tmp_ / "server";
    fs::create_directories(root_ + "/dir/sub");
    fs::create_directories(root_ + "/dir 2");
    ASSERT_TRUE(writeFile(root_ + "/.hoard-share-id", "share-7\n"));
    ASSERT_TRUE(writeFile(root_ + "/dir/a.txt", "a\n"));
    ASSERT_TRUE(writeFile(root_ + "/dir/sub/deep.txt", "deep\n"));
    ASSERT_TRUE(writeFile(root_ + "/dir-x", "beside dir\n"));
    ASSERT_TRUE(writeFile(root_ + "/dir.bak", "bak\n"));
    ASSERT_TRUE(writeFile(root_ + "/dir 2/b.txt", "b\n"));
    ASSERT_TRUE(writeFile(root_ + "/new\nline", "a newline in the name\n"));
    ASSERT_TRUE(writeFile(root_ + "/caf\xe9.txt", "latin-1 name\n"));
    ASSERT_TRUE(writeFile(root_ + "/dir/.hoard-tmp-99", "hoard's own temporary\n"));
    ASSERT_EQ(symlink("dir/a.txt", (root_ + "/link").c_str()), 0);
    ASSERT_EQ(mkfifo((root_ + "/dir/fifo").c_str(), 0600), 0);
    counting_ = std::make_shared<CountingRemoteFs>(std::make_shared<PosixRemoteFs>(root_));
  }
  std::unique_ptr<ListerChangeSource> source(ListerSettings s = {}) {
    if (s.spec.empty()) s.spec = root_;
    if (s.command == "hoard-lister") s.command = HOARD_LISTER_PATH;
    return std::make_unique<ListerChangeSource>(counting_, "share-7", s,
                                                [this](const std::string& r) { heard_.push_back(r); });
  }
  // The mount's own walk, for comparison.
  std::vector<WalkEntry> walk() {
    auto w = PosixRemoteFs(root_).walk("");
    EXPECT_TRUE(w) << w.error().toString();
    return w ? *w : std::vector<WalkEntry>{};
  }
  static std::vector<RelPath> paths(const std::vector<WalkEntry>& w) {
    std::vector<RelPath> out;
    for (const auto& e : w) out.push_back(e.path);
    return out;
  }
  void expectSameAsWalk(const RemoteChanges& got) {
    auto want = walk();
    EXPECT_TRUE(got.complete);
    ASSERT_EQ(paths(got.entries), paths(want));
    for (size_t i = 0; i < want.size(); ++i)
      EXPECT_EQ(got.entries[i].stat, want[i].stat) << got.entries[i].path;
  }
  // Rewrites a file so its ctime surely moves (coarse clocks).
  void rewrite(const std::string& rel, const std::string& bytes) {
    usleep(20000);
    ASSERT_TRUE(writeFile(root_ + "/" + rel, bytes));
  }
  std::string script(const std::string& name, const std::string& body) {
    std::string p = tmp_ / name;
    writeFile(p, "#!/bin/sh\n" + body + "\n", 0755);
    return p;
  }

  TempDir tmp_;
  std::string root_;
  std::shared_ptr<CountingRemoteFs> counting_;
  std::vector<std::string> heard_;
};

TEST_F(ListerChangeSourceTest, AnswersExactlyWhatTheMountsWalkSays) {
  auto src = source();
  auto first = src->changes(std::nullopt);
  ASSERT_TRUE(first) << first.error().toString();
  expectSameAsWalk(*first);
  EXPECT_FALSE(src->last().used_lister) << "the first pass pairs the lister's view with a walk";
  auto second = src->changes(std::nullopt);
  ASSERT_TRUE(second) << second.error().toString();
  expectSameAsWalk(*second);
  EXPECT_TRUE(src->last().used_lister) << src->last().reason;
  for (const auto& e : second->entries) {
    EXPECT_EQ(e.path.find(".hoard-tmp-"), std::string::npos) << "hoard's own names are hidden";
    EXPECT_NE(e.path, ".hoard-share-id");
  }
}

TEST_F(ListerChangeSourceTest, AQuietTreeCostsNoCallToTheMount) {
  auto src = source();
  ASSERT_TRUE(src->changes(std::nullopt));
  auto before = counting_->counts();
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(src->changes(std::nullopt));
  auto calls = counting_->counts() - before;
  EXPECT_EQ(calls.total(), 0u) << calls.summary();
  EXPECT_EQ(src->last().statted, 0u);
  EXPECT_EQ(src->last().reused, walk().size());
}

TEST_F(ListerChangeSourceTest, AChangeCostsAStatOfWhatChanged) {
  auto src = source();
  ASSERT_TRUE(src->changes(std::nullopt));
  rewrite("dir/sub/deep.txt", "deeper and longer\n");
  auto before = counting_->counts();
  auto got = src->changes(std::nullopt);
  ASSERT_TRUE(got) << got.error().toString();
  expectSameAsWalk(*got);
  auto calls = counting_->counts() - before;
  EXPECT_EQ(calls.of(RemoteOp::kLstat), 1u) << calls.summary();
  EXPECT_EQ(calls.of(RemoteOp::kWalk) + calls.of(RemoteOp::kListDir), 0u) << calls.summary();

  // Created, removed, renamed, a type change: each seen, nothing else asked.
  usleep(20000);
  ASSERT_TRUE(writeFile(root_ + "/dir/created.txt", "new\n"));
  fs::remove(root_ + "/dir.bak");
  fs::rename(root_ + "/dir 2", root_ + "/dir 3");
  fs::remove(root_ + "/dir-x");
  fs::create_directory(root_ + "/dir-x");
  got = src->changes(std::nullopt);
  ASSERT_TRUE(got) << got.error().toString();
  expectSameAsWalk(*got);
  EXPECT_LT(src->last().statted, walk().size() / 2) << "only what changed, and the dirs around it";
}

// An sshfs with attr_timeout above 0 can show a file as it was after the
// server changed it. Emulated by a lister that reports dir/a.txt with
// another ctime while a flag file exists (the server saw a change the mount
// does not show): the mount is asked again every pass, until it shows a
// change, instead of its stale Stat being trusted from then on.
TEST_F(ListerChangeSourceTest, AMountThatLagsBehindTheServerIsAskedAgain) {
  const std::string flag = tmp_ / "lagging";
  ListerSettings s;
  s.command = script("lagging-lister",
                     std::string(HOARD_LISTER_PATH) + " \"$1\" | awk -v lag=\"$(test -e " + flag +
                         " && echo 1)\" '$1 == \"e\" && $9 == \"6469722f612e747874\" && lag == 1 "
                         "{ $6 = \"1\" } { print }'");
  auto src = source(s);
  ASSERT_TRUE(src->changes(std::nullopt));
  ASSERT_TRUE(writeFile(flag, ""));
  for (int pass = 0; pass < 3; ++pass) {
    auto got = src->changes(std::nullopt);
    ASSERT_TRUE(got) << got.error().toString();
    EXPECT_TRUE(src->last().used_lister) << src->last().reason;
    EXPECT_EQ(src->last().statted, 1u) << "pass " << pass << ": dir/a.txt is asked again";
    expectSameAsWalk(*got);
  }
  rewrite("dir/a.txt", "the mount shows this change\n");
  auto got = src->changes(std::nullopt);
  ASSERT_TRUE(got);
  expectSameAsWalk(*got);
  EXPECT_EQ(src->last().statted, 1u);
  ASSERT_TRUE(src->changes(std::nullopt));
  EXPECT_EQ(src->last().statted, 0u) << "the mount showed a change: trusted from then on";
}

TEST_F(ListerChangeSourceTest, EveryFailureOfTheListerWalksTheMountAndSaysWhy) {
  struct Case {
    std::string name;
    ListerSettings settings;
    std::string says;
  };
  ListerSettings missing;
  missing.command = tmp_ / "no-such-lister";
  ListerSettings failing;
  failing.command = script("failing", "echo 'permission denied on /srv' >&2; exit 3");
  ListerSettings truncated;
  truncated.command = script("truncated", "printf 'hoard-lister 1 -\\n'");
  ListerSettings hanging;
  hanging.command = script("hanging", "exec sleep 30");
  hanging.idle_deadline = std::chrono::milliseconds(300);
  ListerSettings garbage;
  garbage.command = script("garbage", "echo 'Welcome to the server!'");
  ListerSettings bad_spec;
  bad_spec.spec = "sftp://host/srv";
  std::vector<Case> cases = {
      {"missing", missing, "cannot run"},
      {"failing", failing, "failed (exit 3): permission denied on /srv"},
      {"truncated", truncated, "truncated"},
      {"hanging", hanging, "gave nothing for 300 ms"},
      {"garbage", garbage, "line 1: not a hoard-lister header"},
      {"bad spec", bad_spec, "not an ssh:// address"},
  };
  for (auto& c : cases) {
    heard_.clear();
    auto src = source(c.settings);
    for (int pass = 0; pass < 2; ++pass) {
      auto got = src->changes(std::nullopt);
      ASSERT_TRUE(got) << c.name << ": " << got.error().toString();
      expectSameAsWalk(*got);
      EXPECT_FALSE(src->last().used_lister) << c.name;
      EXPECT_NE(src->last().reason.find(c.says), std::string::npos)
          << c.name << ": " << src->last().reason;
    }
    EXPECT_EQ(heard_.size(), 1u) << c.name << ": the reason is told once, not every pass";
  }
}

TEST_F(ListerChangeSourceTest, AListerOfAnotherTreeIsNeverBelieved) {
  TempDir other;
  ASSERT_TRUE(writeFile(other / ".hoard-share-id", "share-8\n"));
  ListerSettings s;
  s.spec = other.path();  // lists a tree that is empty but for another marker
  auto src = source(s);
  for (int pass = 0; pass < 2; ++pass) {
    auto got = src->changes(std::nullopt);
    ASSERT_TRUE(got);
    expectSameAsWalk(*got);  // not "everything was deleted"
    EXPECT_NE(src->last().reason.find("its share marker is share-8, the share's is share-7"),
              std::string::npos)
        << src->last().reason;
  }
  fs::remove(other / ".hoard-share-id");
  auto got = src->changes(std::nullopt);
  ASSERT_TRUE(got);
  expectSameAsWalk(*got);
  EXPECT_NE(src->last().reason.find("it has no share marker"), std::string::npos)
      << src->last().reason;
}

TEST_F(ListerChangeSourceTest, TheListerCommandLineQuotesWhatTheRemoteShellSees) {
  ListerSettings s;
  s.spec = "ssh://ann@files.example:2222/srv/team's share";
  s.rsh = "ssh -i /keys/id -F /dev/null";
  auto argv = listerCommand(s);
  ASSERT_TRUE(argv) << argv.error().toString();
  std::vector<std::string> want = {"ssh", "-i", "/keys/id", "-F", "/dev/null", "-p", "2222",
                                   "-o", "BatchMode=yes", "--", "ann@files.example",
                                   "'hoard-lister' '/srv/team'\\''s share'"};
  EXPECT_EQ(*argv, want);
  s.control_path = "/state/ssh-%C";
  argv = listerCommand(s);
  ASSERT_TRUE(argv);
  EXPECT_NE(std::find(argv->begin(), argv->end(), "ControlPath=/state/ssh-%C"), argv->end());
  EXPECT_NE(std::find(argv->begin(), argv->end(), "ControlMaster=auto"), argv->end());
  s.spec = "ssh://host:22x/srv";
  EXPECT_FALSE(listerCommand(s));
  s.spec = "ssh:///srv";
  EXPECT_FALSE(listerCommand(s));
  s.spec = "relative/path";
  EXPECT_FALSE(listerCommand(s));
}

}  // namespace
}  // namespace hoard::remote
