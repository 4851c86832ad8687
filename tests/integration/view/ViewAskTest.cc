// SPDX-License-Identifier: MIT
// The `ask` miss policy with the view mounted for real: a read offline of
// data that is not local puts one question (per file and program), waits
// while it is open, and ends as the person answers: fail now, keep waiting
// (then the data once online, or the deadline), or always fail for that
// program, remembered for its later reads.

#include "integration/view/ViewFixture.h"

namespace hoard::view {
namespace {

using namespace fixture;

class ViewAskTest : public ViewTest {
 protected:
  ViewOptions asking(std::chrono::milliseconds deadline = 20s) {
    ViewOptions o = options(MissPolicy::kAsk);
    o.wait_deadline = deadline;
    o.on_ask = [this](const ReadQuestion& q) {
      std::lock_guard<std::mutex> lock(ask_mu_);
      asked_.push_back(q);
    };
    o.on_asked = [this](uint64_t id, const std::string& outcome) {
      std::lock_guard<std::mutex> lock(ask_mu_);
      over_.emplace_back(id, outcome);
    };
    o.on_always_fail = [this](const std::string& program) {
      std::lock_guard<std::mutex> lock(ask_mu_);
      always_fail_.push_back(program);
    };
    return o;
  }
  std::vector<ReadQuestion> asked() {
    std::lock_guard<std::mutex> lock(ask_mu_);
    return asked_;
  }
  std::vector<std::pair<uint64_t, std::string>> over() {
    std::lock_guard<std::mutex> lock(ask_mu_);
    return over_;
  }
  std::vector<std::string> alwaysFail() {
    std::lock_guard<std::mutex> lock(ask_mu_);
    return always_fail_;
  }
  std::future<Ran> start(const std::string& cmd) {
    return std::async(std::launch::async, [cmd] { return sh(cmd); });
  }

  std::mutex ask_mu_;
  std::vector<ReadQuestion> asked_;
  std::vector<std::pair<uint64_t, std::string>> over_;
  std::vector<std::string> always_fail_;
};

TEST_F(ViewAskTest, FailEndsTheWaitingReadAtOnceWithNetworkUnreachable) {
  ASSERT_NO_FATAL_FAILURE(mount(asking()));
  auto cat = start("cat " + in("dir/a.txt"));
  ASSERT_TRUE(eventually([&] { return asked().size() == 1; }));
  ReadQuestion q = asked()[0];
  EXPECT_EQ(q.path, "dir/a.txt");
  EXPECT_EQ(q.program, "cat");
  EXPECT_EQ(q.deadline, 20s);
  ASSERT_EQ(cat.wait_for(300ms), std::future_status::timeout) << "held while nobody answers";
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(view_->answer(q.id, ReadAnswer::kFail));
  ASSERT_EQ(cat.wait_for(5s), std::future_status::ready);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
  Ran r = cat.get();
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.out.find("Network is unreachable"), std::string::npos) << r.out;
  ASSERT_TRUE(eventually([&] { return over().size() == 1; }));
  EXPECT_EQ(over()[0], std::make_pair(q.id, std::string("declined")));
  ASSERT_EQ(misses().size(), 1u);
  EXPECT_EQ(misses()[0].outcome, "declined");
  EXPECT_TRUE(alwaysFail().empty());
  // The question is over: answering it again says so.
  Status again = view_->answer(q.id, ReadAnswer::kFail);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code(), ErrorCode::kNotFound);
  EXPECT_NE(again.error().message().find("question " + std::to_string(q.id)), std::string::npos);
}

TEST_F(ViewAskTest, WaitKeepsTheReadUntilOnlineThenGivesTheData) {
  ASSERT_NO_FATAL_FAILURE(mount(asking()));
  auto cat = start("cat " + in("dir/sub/deep.txt"));
  ASSERT_TRUE(eventually([&] { return asked().size() == 1; }));
  ASSERT_TRUE(view_->answer(asked()[0].id, ReadAnswer::kWait));
  ASSERT_EQ(cat.wait_for(500ms), std::future_status::timeout) << "still waiting for the network";
  view_->setOnline(true);
  ASSERT_EQ(cat.wait_for(10s), std::future_status::ready);
  Ran r = cat.get();
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(r.out, "deep\n");
  ASSERT_TRUE(eventually([&] { return over().size() == 1; }));
  EXPECT_EQ(over()[0].second, "fetched");
}

TEST_F(ViewAskTest, UnansweredTheReadFailsAtTheDeadline) {
  ASSERT_NO_FATAL_FAILURE(mount(asking(400ms)));
  auto t0 = std::chrono::steady_clock::now();
  Ran r = sh("cat " + in("dir/a.txt"));
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 400ms);
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.out.find("Connection timed out"), std::string::npos) << r.out;
  ASSERT_EQ(asked().size(), 1u);
  ASSERT_TRUE(eventually([&] { return over().size() == 1; }));
  EXPECT_EQ(over()[0].second, "timed-out");
}

TEST_F(ViewAskTest, ReadersOfOneFileByOneProgramShareAQuestionOthersGetTheirOwn) {
  ASSERT_NO_FATAL_FAILURE(mount(asking()));
  auto first = start("cat " + in("dir-x/a.txt"));
  ASSERT_TRUE(eventually([&] { return asked().size() == 1; }));
  auto second = start("cat " + in("dir-x/a.txt"));
  auto other_file = start("cat " + in("dir.bak/a.txt"));
  auto other_program = start("head -c 3 " + in("dir-x/a.txt"));
  ASSERT_TRUE(eventually([&] { return asked().size() == 3; }));
  std::this_thread::sleep_for(300ms);  // the second cat is inside its read by now
  auto qs = asked();
  ASSERT_EQ(qs.size(), 3u) << "the second cat of dir-x/a.txt joins the first one's question";
  uint64_t shared = 0, head = 0;
  for (const auto& q : qs) {
    if (q.path == "dir-x/a.txt" && q.program == "cat") shared = q.id;
    if (q.path == "dir-x/a.txt" && q.program == "head") head = q.id;
  }
  ASSERT_NE(shared, 0u);
  ASSERT_NE(head, 0u);
  ASSERT_TRUE(view_->answer(shared, ReadAnswer::kFail));
  for (auto* f : {&first, &second}) {
    ASSERT_EQ(f->wait_for(5s), std::future_status::ready);
    Ran r = f->get();
    EXPECT_EQ(r.status, 1) << r.out;
    EXPECT_NE(r.out.find("Network is unreachable"), std::string::npos) << r.out;
  }
  // The others still wait for their own answers.
  EXPECT_EQ(other_file.wait_for(200ms), std::future_status::timeout);
  EXPECT_EQ(other_program.wait_for(0ms), std::future_status::timeout);
  view_->setOnline(true);
  ASSERT_EQ(other_file.wait_for(10s), std::future_status::ready);
  EXPECT_EQ(other_file.get().out, "backup\n");
  ASSERT_EQ(other_program.wait_for(10s), std::future_status::ready);
  EXPECT_EQ(other_program.get().out, "das");
  ASSERT_TRUE(eventually([&] { return over().size() == 3; }));
}

TEST_F(ViewAskTest, AlwaysFailFailsThatProgramsLaterReadsAtOnceWithoutAsking) {
  ASSERT_NO_FATAL_FAILURE(mount(asking()));
  auto cat = start("cat " + in("dir/a.txt"));
  ASSERT_TRUE(eventually([&] { return asked().size() == 1; }));
  ASSERT_TRUE(view_->answer(asked()[0].id, ReadAnswer::kAlwaysFail));
  ASSERT_EQ(cat.wait_for(5s), std::future_status::ready);
  EXPECT_EQ(cat.get().status, 1);
  ASSERT_EQ(alwaysFail(), std::vector<std::string>{"cat"});
  // Another file, the same program: at once, no question.
  auto t0 = std::chrono::steady_clock::now();
  Ran later = sh("cat " + in("dir/sub/deep.txt"));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
  EXPECT_EQ(later.status, 1);
  EXPECT_NE(later.out.find("Network is unreachable"), std::string::npos) << later.out;
  EXPECT_EQ(asked().size(), 1u);
  // Another program is still asked.
  auto head = start("head -c 1 " + in("dir/sub/deep.txt"));
  ASSERT_TRUE(eventually([&] { return asked().size() == 2; }));
  EXPECT_EQ(asked()[1].program, "head");
  ASSERT_TRUE(view_->answer(asked()[1].id, ReadAnswer::kFail));
  ASSERT_EQ(head.wait_for(5s), std::future_status::ready);
}

TEST_F(ViewAskTest, RememberedAnswersApplyFromTheStartAndCanBeForgotten) {
  ViewOptions o = asking();
  o.answered_policies = {{"cat", MissPolicy::kError}};
  ASSERT_NO_FATAL_FAILURE(mount(std::move(o)));
  Ran r = sh("cat " + in("dir/a.txt"));
  EXPECT_EQ(r.status, 1);
  EXPECT_TRUE(asked().empty());
  ASSERT_EQ(misses().size(), 1u);
  EXPECT_EQ(misses()[0].outcome, "failed");
  view_->setAnsweredPolicies({});
  auto cat = start("cat " + in("dir/a.txt"));
  ASSERT_TRUE(eventually([&] { return asked().size() == 1; })) << "asked again once forgotten";
  view_->setOnline(true);
  ASSERT_EQ(cat.wait_for(10s), std::future_status::ready);
  EXPECT_EQ(cat.get().out, "alpha\n");
}

TEST_F(ViewAskTest, CtrlCEndsAnAskedRead) {
  ASSERT_NO_FATAL_FAILURE(mount(asking(60s)));
  auto t0 = std::chrono::steady_clock::now();
  Ran r = sh("timeout -s INT 0.7 cat " + in("dir/a.txt"));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 10s);
  EXPECT_NE(r.status, 0);
  ASSERT_EQ(asked().size(), 1u);
  ASSERT_TRUE(eventually([&] { return over().size() == 1; }));
  EXPECT_EQ(over()[0].second, "interrupted");
  EXPECT_FALSE(view_->answer(asked()[0].id, ReadAnswer::kWait)) << "over: nothing to answer";
}

TEST_F(ViewAskTest, WithoutAnAskerTheReadWaitsAsUnderWait) {
  ViewOptions o = options(MissPolicy::kAsk);
  o.wait_deadline = 300ms;
  ASSERT_NO_FATAL_FAILURE(mount(std::move(o)));
  Ran r = sh("cat " + in("dir/a.txt"));
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.out.find("Connection timed out"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace hoard::view
