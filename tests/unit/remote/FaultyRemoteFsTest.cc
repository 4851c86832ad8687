// SPDX-License-Identifier: MIT
#include <gtest/gtest.h>

#include <cerrno>
#include <future>
#include <thread>

#include "remote/FaultyRemoteFs.h"
#include "unit/remote/MemoryRemoteFs.h"

namespace hoard::remote {
namespace {

using testing::MemoryRemoteFs;

class FaultyRemoteFsTest : public ::testing::Test {
 protected:
  std::shared_ptr<MemoryRemoteFs> mem_ = std::make_shared<MemoryRemoteFs>();
  FaultyRemoteFs fs_{mem_, 42};
};

TEST_F(FaultyRemoteFsTest, PassesThroughWithoutRules) {
  mem_->putFile("a", "hello");
  auto st = fs_.lstat("a");
  ASSERT_TRUE(st) << st.error().toString();
  EXPECT_EQ(st->meta.size, 5u);
  EXPECT_EQ(fs_.calls(RemoteOp::kLstat), 1u);
  EXPECT_EQ(fs_.faultsFired(), 0u);
}

TEST_F(FaultyRemoteFsTest, EachErrnoMapsToItsCodeAndSkipsTheWrappedFs) {
  const std::pair<int, ErrorCode> cases[] = {
      {EIO, ErrorCode::kIo},
      {ENOTCONN, ErrorCode::kOffline},
      {ETIMEDOUT, ErrorCode::kTimeout},
      {ENOSPC, ErrorCode::kNoSpace},
      {EACCES, ErrorCode::kPermission},
      {EKEYEXPIRED, ErrorCode::kAuthExpired},
  };
  for (const auto& [err, code] : cases) {
    fs_.clearRules();
    FaultRule r;
    r.op = RemoteOp::kMkdir;
    r.err = err;
    fs_.addRule(r);
    auto st = fs_.mkdir("d", 0755);
    ASSERT_FALSE(st);
    EXPECT_EQ(st.error().code(), code) << st.error().toString();
    EXPECT_EQ(st.error().sysErrno(), err);
    EXPECT_NE(st.error().message().find("'d'"), std::string::npos) << st.error().message();
    EXPECT_FALSE(mem_->exists("d")) << "a faulted mkdir must not reach the wrapped fs";
  }
  fs_.clearRules();
  EXPECT_TRUE(fs_.mkdir("d", 0755));
  EXPECT_TRUE(mem_->exists("d"));
}

TEST_F(FaultyRemoteFsTest, RuleMatchesOnlyItsOperationAndPathGlob) {
  mem_->putFile("docs/a", "1");
  mem_->putFile("other/a", "2");
  FaultRule r;
  r.op = RemoteOp::kLstat;
  r.path_glob = "docs/*";
  r.err = ENOTCONN;
  fs_.addRule(r);
  EXPECT_FALSE(fs_.lstat("docs/a"));
  EXPECT_TRUE(fs_.lstat("other/a"));
  EXPECT_TRUE(fs_.readSmallFile("docs/a", 10));
}

TEST_F(FaultyRemoteFsTest, RenameMatchesEitherPath) {
  mem_->putFile("x", "1");
  FaultRule r;
  r.path_glob = "locked/*";
  r.err = EACCES;
  fs_.addRule(r);
  ASSERT_TRUE(fs_.mkdir("locked", 0755));
  auto st = fs_.rename("x", "locked/x", Expect::anything(), Expect::absent());
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code(), ErrorCode::kPermission);
  EXPECT_TRUE(mem_->exists("x"));
}

TEST_F(FaultyRemoteFsTest, SkipFirstAndMaxFires) {
  mem_->putFile("a", "x");
  FaultRule r;
  r.op = RemoteOp::kLstat;
  r.skip_first = 2;
  r.max_fires = 3;
  r.err = EIO;
  fs_.addRule(r);
  std::vector<bool> ok;
  for (int i = 0; i < 7; ++i) ok.push_back(static_cast<bool>(fs_.lstat("a")));
  EXPECT_EQ(ok, (std::vector<bool>{true, true, false, false, false, true, true}));
  EXPECT_EQ(fs_.faultsFired(), 3u);
}

TEST_F(FaultyRemoteFsTest, ProbabilityIsSeededAndReproducible) {
  mem_->putFile("a", "x");
  auto run = [&](uint64_t seed) {
    FaultyRemoteFs f(mem_, seed);
    FaultRule r;
    r.probability = 0.5;
    f.addRule(r);
    std::vector<bool> outcome;
    for (int i = 0; i < 200; ++i) outcome.push_back(static_cast<bool>(f.lstat("a")));
    return outcome;
  };
  auto a = run(7);
  auto b = run(7);
  auto c = run(8);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  size_t failures = static_cast<size_t>(std::count(a.begin(), a.end(), false));
  EXPECT_GT(failures, 50u);
  EXPECT_LT(failures, 150u);
}

TEST_F(FaultyRemoteFsTest, RemoveRuleStopsIt) {
  mem_->putFile("a", "x");
  FaultRule r;
  r.err = EIO;
  int id = fs_.addRule(r);
  EXPECT_FALSE(fs_.lstat("a"));
  fs_.removeRule(id);
  EXPECT_TRUE(fs_.lstat("a"));
}

TEST_F(FaultyRemoteFsTest, HangBlocksUntilReleasedThenProceeds) {
  mem_->putFile("a", "abc");
  FaultRule r;
  r.op = RemoteOp::kLstat;
  r.hang = true;
  r.max_fires = 1;
  fs_.addRule(r);
  auto fut = std::async(std::launch::async, [&] { return fs_.lstat("a"); });
  ASSERT_TRUE(fs_.waitForHanging(1, std::chrono::seconds(60)));
  EXPECT_EQ(fs_.hangingCalls(), 1u);
  EXPECT_EQ(fut.wait_for(std::chrono::milliseconds(0)), std::future_status::timeout);
  fs_.releaseHangs();
  auto st = fut.get();
  ASSERT_TRUE(st) << st.error().toString();
  EXPECT_EQ(st->meta.size, 3u);
  EXPECT_EQ(fs_.hangingCalls(), 0u);
}

TEST_F(FaultyRemoteFsTest, HangCanEndInAnError) {
  FaultRule r;
  r.op = RemoteOp::kStatfs;
  r.hang = true;
  r.err_after_hang = ENOTCONN;
  int id = fs_.addRule(r);
  auto fut = std::async(std::launch::async, [&] { return fs_.statfs(); });
  ASSERT_TRUE(fs_.waitForHanging(1, std::chrono::seconds(60)));
  fs_.removeRule(id);
  auto st = fut.get();
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code(), ErrorCode::kOffline);
}

}  // namespace
}  // namespace hoard::remote
