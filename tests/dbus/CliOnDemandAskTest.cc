// SPDX-License-Identifier: MIT
// offline_reads "ask" through the real hoardd and CLI on a private bus, the
// view mounted for real (root): a read offline of data not kept puts a
// question on the bus (ReadWanted, seen by dbus-monitor), waits, and ends
// as AnswerRead (dbus-send, as a prompt or a script calls it) says; the
// answer "always-fail" is kept across a restart of hoardd, listed by `hoard
// answers` and forgotten by `hoard answers forget`.

#include <sstream>

#include "OnDemandFixture.h"
#include "SchemaCheck.h"

namespace hoard::ondemandtest {
namespace {

using nlohmann::json;

// One signal dbus-monitor printed: its member and its arguments' values
// (strings and byte arrays unquoted, numbers as printed).
struct Seen {
  std::string member;
  std::vector<std::string> args;
};

std::vector<Seen> signalsIn(const std::string& monitor_out) {
  std::vector<Seen> seen;
  std::istringstream in(monitor_out);
  std::string line;
  bool inside = false;
  while (std::getline(in, line)) {
    if (line.rfind("signal ", 0) == 0 || line.rfind("method ", 0) == 0) {
      auto m = line.find("member=");
      inside = line.rfind("signal ", 0) == 0 && m != std::string::npos;
      if (inside) seen.push_back({line.substr(m + 7), {}});
      continue;
    }
    if (!inside) continue;
    size_t a = line.find('"'), b = line.rfind('"');
    if (a != std::string::npos && b > a)
      seen.back().args.push_back(line.substr(a + 1, b - a - 1));
    else
      seen.back().args.push_back(line.substr(line.rfind(' ') + 1));
  }
  return seen;
}

class CliOnDemandAskTest : public CliOnDemandTest {
 protected:
  void TearDown() override {
    if (monitor_ > 0) {
      ::kill(monitor_, SIGTERM);
      waitExit(monitor_);
    }
    CliOnDemandTest::TearDown();
  }
  void askingShare() {
    withConfig(R"({"shares": {"w": {"offline_reads": "ask", "offline_wait_s": 60}}})");
    addOnDemand();
    monitor_out_ = dir_ + "/monitor.out";
    monitor_ = spawn({"/usr/bin/dbus-monitor", "--session",
                      "type='signal',interface='org.hoard.Agent1',member='ReadWanted'",
                      "type='signal',interface='org.hoard.Agent1',member='ReadQuestionOver'"},
                     monitor_out_);
    ASSERT_TRUE(eventually([&] { return slurp(monitor_out_).find("member=NameLost") != std::string::npos; }));
    ASSERT_EQ(hoard("offline w").first, 0) << last_err_;
  }
  std::vector<Seen> seen(const std::string& member) {
    std::vector<Seen> out;
    for (auto& s : signalsIn(slurp(monitor_out_)))
      if (s.member == member) out.push_back(s);
    return out;
  }
  // The ReadWanted signals so far, once there are `n`.
  std::vector<Seen> questions(size_t n) {
    EXPECT_TRUE(eventually([&] { return seen("ReadWanted").size() >= n; }))
        << slurp(monitor_out_) << log();
    return seen("ReadWanted");
  }
  // AnswerRead through dbus-send: exit status and what it printed.
  std::pair<int, std::string> answer(const std::string& question, const std::string& how) {
    return run("dbus-send --session --print-reply --dest=org.hoard.Agent1 /org/hoard/Agent1 "
               "org.hoard.Agent1.AnswerRead uint64:" + question + " string:" + how + " 2>&1");
  }
  // cat of `rel`, started now; its output (stdout and stderr) in `out`.
  pid_t cat(const std::string& rel, const std::string& out) {
    return spawn({"/bin/cat", C_ + "/" + rel}, out);
  }

  pid_t monitor_ = -1;
  std::string monitor_out_;
};

TEST_F(CliOnDemandAskTest, AReadOfflineAsksOnTheBusAndFailEndsItAtOnce) {
  askingShare();
  const std::string out = dir_ + "/cat.out";
  pid_t reader = cat("dir-x/b.txt", out);
  auto q = questions(1);
  ASSERT_EQ(q[0].args.size(), 5u) << slurp(monitor_out_);
  EXPECT_EQ(q[0].args[1], "w");
  EXPECT_EQ(q[0].args[2], "dir-x/b.txt");
  EXPECT_EQ(q[0].args[3], "cat");
  EXPECT_EQ(q[0].args[4], "60");
  std::this_thread::sleep_for(500ms);
  int status = 0;
  ASSERT_EQ(::waitpid(reader, &status, WNOHANG), 0) << "cat waits for the answer";

  // A malformed answer is refused by name; nothing changes.
  auto [bad_rc, bad] = answer(q[0].args[0], "later");
  EXPECT_NE(bad_rc, 0);
  EXPECT_NE(bad.find("org.hoard.Error.InvalidArgument"), std::string::npos) << bad;
  EXPECT_EQ(::waitpid(reader, &status, WNOHANG), 0);

  auto t0 = std::chrono::steady_clock::now();
  auto [rc, said] = answer(q[0].args[0], "fail");
  EXPECT_EQ(rc, 0) << said;
  EXPECT_EQ(waitExit(reader), 1);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
  EXPECT_NE(slurp(out).find("Network is unreachable"), std::string::npos) << slurp(out);
  ASSERT_TRUE(eventually([&] { return !seen("ReadQuestionOver").empty(); })) << slurp(monitor_out_);
  auto over = seen("ReadQuestionOver")[0].args;
  EXPECT_EQ(over, (std::vector<std::string>{q[0].args[0], "w", "declined"}));

  // Over: answering again says so, by name.
  auto [again_rc, again] = answer(q[0].args[0], "wait");
  EXPECT_NE(again_rc, 0);
  EXPECT_NE(again.find("org.hoard.Error.NotFound"), std::string::npos) << again;

  json misses = json::parse(hoard("misses w --json").second, nullptr, false);
  ASSERT_TRUE(misses.is_array() && misses.size() == 1u) << misses.dump();
  EXPECT_EQ(schemaViolations(misses, "misses"), "");
  EXPECT_EQ(misses[0]["outcome"], "declined");
  EXPECT_EQ(misses[0]["program"], "cat");
  std::string text = hoard("misses w").second;
  EXPECT_NE(text.find("cat  dir-x/b.txt  asked, then failed (as answered)"), std::string::npos)
      << text;
}

TEST_F(CliOnDemandAskTest, WaitHoldsTheReadUntilTheShareIsBackThenTheDataComes) {
  askingShare();
  const std::string out = dir_ + "/cat.out";
  pid_t reader = cat("dir.bak/c.txt", out);
  auto q = questions(1);
  EXPECT_EQ(answer(q[0].args[0], "wait").first, 0);
  std::this_thread::sleep_for(1s);
  int status = 0;
  ASSERT_EQ(::waitpid(reader, &status, WNOHANG), 0) << "still waiting for the network";
  ASSERT_EQ(hoard("online w").first, 0) << last_err_;
  EXPECT_EQ(waitExit(reader), 0) << slurp(out);
  EXPECT_EQ(slurp(out), "charlie in dir.bak\n");
  ASSERT_TRUE(eventually([&] { return !seen("ReadQuestionOver").empty(); }));
  EXPECT_EQ(seen("ReadQuestionOver")[0].args.back(), "fetched");
}

TEST_F(CliOnDemandAskTest, AlwaysFailIsKeptAcrossARestartListedAndForgotten) {
  askingShare();
  const std::string out = dir_ + "/cat.out";
  pid_t reader = cat("dir/a.txt", out);
  auto q = questions(1);
  EXPECT_EQ(answer(q[0].args[0], "always-fail").first, 0);
  EXPECT_EQ(waitExit(reader), 1);

  json kept = json::parse(hoard("answers --json").second, nullptr, false);
  EXPECT_EQ(schemaViolations(kept, "answers"), "");
  ASSERT_TRUE(kept.is_array() && kept.size() == 1u) << kept.dump();
  EXPECT_EQ(kept[0]["program"], "cat");
  EXPECT_EQ(kept[0]["policy"], "error");
  EXPECT_NE(hoard("answers").second.find("cat  always fails offline"), std::string::npos);

  // hoardd restarted: the answer holds; cat fails at once, nobody is asked.
  startDaemon();
  ASSERT_TRUE(eventually([&] { return isFuseMount(C_); })) << log();
  ASSERT_EQ(hoard("offline w").first, 0) << last_err_;
  auto t0 = std::chrono::steady_clock::now();
  auto [rc, said] = run("cat '" + C_ + "/big.bin' 2>&1 >/dev/null");
  EXPECT_EQ(rc, 1);
  EXPECT_NE(said.find("Network is unreachable"), std::string::npos) << said;
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
  EXPECT_EQ(seen("ReadWanted").size(), 1u);
  // Another program is still asked.
  const std::string head_out = dir_ + "/head.out";
  pid_t head = spawn({"/usr/bin/head", "-c", "5", C_ + "/big.bin"}, head_out);
  auto q2 = questions(2);
  EXPECT_EQ(q2[1].args[3], "head");
  EXPECT_EQ(answer(q2[1].args[0], "fail").first, 0);
  EXPECT_EQ(waitExit(head), 1);

  // Forgotten: cat is asked again.
  auto [frc, fout] = hoard("answers forget cat");
  EXPECT_EQ(frc, 0) << last_err_;
  EXPECT_NE(fout.find("cat"), std::string::npos);
  auto [grc, gout] = hoard("answers forget cat");
  EXPECT_EQ(grc, 1);
  EXPECT_NE(last_err_.find("no answer is kept for program 'cat'"), std::string::npos) << last_err_;
  EXPECT_NE(hoard("answers").second.find("no answers kept"), std::string::npos);
  pid_t again = cat("dir/a.txt", out);
  auto q3 = questions(3);
  EXPECT_EQ(q3[2].args[3], "cat");
  ASSERT_EQ(hoard("online w").first, 0) << last_err_;
  EXPECT_EQ(waitExit(again), 0);
}

}  // namespace
}  // namespace hoard::ondemandtest
