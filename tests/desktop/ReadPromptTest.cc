// SPDX-License-Identifier: MIT
// hoard-prompt asking about reads that wait offline (offline_reads "ask"),
// on a private session bus with the real hoardd, hoard and hoard-prompt,
// python3-dbusmock's notification server, and an on-demand share whose view
// is mounted for real (root): the question's text and buttons, Fail ending
// cat at once, the notification taken down when the share comes back, and
// the text for a server without buttons.

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "PromptFixture.h"

namespace hoard::desktoptest {
namespace {

namespace fs = std::filesystem;
using namespace hoard::bustest;
using namespace std::chrono_literals;
using Strings = std::vector<std::string>;

class ReadPromptTest : public PromptFixture {
 protected:
  void SetUp() override {
    int fd = ::open("/dev/fuse", O_RDWR | O_CLOEXEC);
    if (fd < 0) GTEST_SKIP() << "/dev/fuse cannot be opened here: " << strerror(errno);
    ::close(fd);
    PromptFixture::SetUp();
  }
  void TearDown() override {
    if (!dir_.empty()) run("umount -l '" + view_ + "' 2>/dev/null");
    PromptFixture::TearDown();
  }
  // hoard-prompt and share "od" on demand (offline_reads "ask", 60 s),
  // offline, its server holding "docs/report & plan.txt".
  void startAsking(const std::string& caps = "actions body body-markup") {
    ASSERT_NO_FATAL_FAILURE(
        start({}, R"({"shares": {"od": {"offline_reads": "ask", "offline_wait_s": 60}}})", caps));
    view_ = dir_ + "/od-view";
    put(dir_ + "/od-server/docs/report & plan.txt", "the plan\n");
    ASSERT_EQ(hoard("share add od " + dir_ + "/od-server " + view_ + " --on-demand").first, 0)
        << last_err_;
    ASSERT_TRUE(eventually([&] { return fs::exists(view_ + "/docs/report & plan.txt"); }));
    ASSERT_EQ(hoard("offline od").first, 0) << last_err_;
  }
  pid_t cat(const std::string& out) {
    return spawn({"/bin/cat", view_ + "/docs/report & plan.txt"}, out);
  }
  std::string view_;
};

TEST_F(ReadPromptTest, TheQuestionNamesProgramAndFileAndFailEndsTheReadAtOnce) {
  ASSERT_NO_FATAL_FAILURE(startAsking());
  const std::string out = dir_ + "/cat.out";
  pid_t reader = cat(out);
  auto n = notifiesReach(1);
  ASSERT_EQ(n.size(), 1u);
  EXPECT_EQ(n[0].summary, "cat wants report & plan.txt, which is not available offline");
  EXPECT_NE(n[0].body.find("docs/report &amp; plan.txt is in od"), std::string::npos) << n[0].body;
  EXPECT_NE(n[0].body.find("up to 60 seconds"), std::string::npos) << n[0].body;
  EXPECT_EQ(n[0].actions, (Strings{"wait", "Wait for the network", "fail", "Fail", "always-fail",
                                   "Always fail for cat"}));
  EXPECT_EQ(n[0].expire_timeout, 60000);
  int status = 0;
  EXPECT_EQ(::waitpid(reader, &status, WNOHANG), 0) << "cat waits while the question is open";

  auto t0 = std::chrono::steady_clock::now();
  mock_->act(n[0].id, "fail");
  EXPECT_EQ(waitExit(reader), 1);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
  EXPECT_NE(slurp(out).find("Network is unreachable"), std::string::npos) << slurp(out);
  EXPECT_TRUE(eventually([&] {
    auto c = mock_->closes();
    return std::count(c.begin(), c.end(), n[0].id) > 0;
  })) << promptLog();
  EXPECT_NE(hoard("misses od").second.find("asked, then failed (as answered)"), std::string::npos);
}

TEST_F(ReadPromptTest, AlwaysFailIsKeptAndTheNextReadIsNotAsked) {
  ASSERT_NO_FATAL_FAILURE(startAsking());
  const std::string out = dir_ + "/cat.out";
  pid_t reader = cat(out);
  auto n = notifiesReach(1);
  mock_->act(n[0].id, "always-fail");
  EXPECT_EQ(waitExit(reader), 1);
  ASSERT_TRUE(eventually([&] { return hoard("answers").second.find("cat") != std::string::npos; }));
  EXPECT_EQ(waitExit(cat(out)), 1);
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(mock_->notifies().size(), 1u) << "no second question for cat";
}

TEST_F(ReadPromptTest, TheQuestionGoesWhenTheShareComesBackAndTheReadGetsTheData) {
  ASSERT_NO_FATAL_FAILURE(startAsking());
  const std::string out = dir_ + "/cat.out";
  pid_t reader = cat(out);
  auto n = notifiesReach(1);
  ASSERT_EQ(hoard("online od").first, 0) << last_err_;
  EXPECT_EQ(waitExit(reader), 0) << slurp(out);
  EXPECT_EQ(slurp(out), "the plan\n");
  EXPECT_TRUE(eventually([&] {
    auto c = mock_->closes();
    return std::count(c.begin(), c.end(), n[0].id) > 0;
  })) << "the question is over: its notification goes\n" << promptLog();
}

TEST_F(ReadPromptTest, WithoutButtonsTheNoticeSaysWhatHappensAndHowToStopIt) {
  ASSERT_NO_FATAL_FAILURE(startAsking("body"));
  const std::string out = dir_ + "/cat.out";
  pid_t reader = spawn({"/usr/bin/timeout", "-s", "INT", "3", "/bin/cat",
                        view_ + "/docs/report & plan.txt"}, out);
  auto n = notifiesReach(1);
  EXPECT_TRUE(n[0].actions.empty());
  EXPECT_NE(n[0].body.find("docs/report & plan.txt is in od"), std::string::npos) << n[0].body;
  EXPECT_NE(n[0].body.find("interrupt cat (Ctrl-C)"), std::string::npos) << n[0].body;
  EXPECT_NE(waitExit(reader), 0);
  EXPECT_TRUE(eventually([&] {
    auto c = mock_->closes();
    return std::count(c.begin(), c.end(), n[0].id) > 0;
  })) << promptLog();
}

}  // namespace
}  // namespace hoard::desktoptest
