// SPDX-License-Identifier: MIT
// Paths that move on under a pass: an editor's temporary renamed into place
// after the listing, a log still being written while it is copied.

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "integration/sync/ShareFixture.h"
#include "remote/FaultyRemoteFs.h"
#include "remote/PosixRemoteFs.h"
#include "sync/Reconciler.h"

namespace hoard::sync {
namespace {

// Saves that write a temporary and rename it into place while a pass runs
// (issue 9, point 15): a path gone from its side since the listing, or still
// being written while it is copied, is looked at again by the next pass; it
// is neither sent half-done, nor re-created, nor a failure of the sync.
class MovedOnTest : public ShareFixture {
 protected:
  void SetUp() override {
    openShare("/tmp/hoard-movedon-XXXXXX");
    if (HasFatalFailure()) return;
    auto posix = std::make_shared<remote::PosixRemoteFs>(cache_);
    local_fs_ = std::make_shared<remote::FaultyRemoteFs>(posix);
    remote_fs_ = std::make_unique<remote::PosixRemoteFs>(remote_root_);
    reconciler_ = std::make_unique<Reconciler>(ShareSides{
        *journal_, mu_, share_, *local_fs_, *remote_fs_, cache_, *store_, store::KeepPolicy{},
        "laptop", nullptr, nullptr});
  }
  void put(const std::string& abs, const std::string& b) {
    std::filesystem::create_directories(std::filesystem::path(abs).parent_path());
    std::ofstream(abs, std::ios::binary | std::ios::trunc) << b;
  }
  std::shared_ptr<remote::FaultyRemoteFs> local_fs_;
  std::unique_ptr<remote::PosixRemoteFs> remote_fs_;
  std::unique_ptr<Reconciler> reconciler_;
};

TEST_F(MovedOnTest, ATemporaryRenamedAwayDuringThePassIsNotAFailureNorRecreated) {
  put(cache_ + "/f156.txt.tmp", "half a save");
  put(cache_ + "/dir-x/keep.txt", "k");
  // The editor renames its temporary into place after the pass listed it:
  // the copy finds it gone (ENOENT) or still being written (EBUSY).
  remote::FaultRule gone;
  gone.op = remote::RemoteOp::kFetchFile;
  gone.path_glob = "f156.txt.tmp";
  gone.err = ENOENT;
  int rule = local_fs_->addRule(gone);
  auto r = reconciler_->run();
  ASSERT_TRUE(r) << r.error().toString();
  EXPECT_TRUE(r->failed.empty()) << r->failed.front().second.toString();
  EXPECT_EQ(r->retried, (std::vector<RelPath>{"f156.txt.tmp"}));
  EXPECT_FALSE(std::filesystem::exists(remote_root_ + "/f156.txt.tmp"));
  EXPECT_TRUE(std::filesystem::exists(remote_root_ + "/dir-x/keep.txt"));
  // The rename lands; the next pass sees the final name and nothing of the temporary.
  local_fs_->removeRule(rule);
  std::filesystem::rename(cache_ + "/f156.txt.tmp", cache_ + "/f156.txt");
  auto again = reconciler_->run();
  ASSERT_TRUE(again) << again.error().toString();
  EXPECT_TRUE(again->failed.empty());
  EXPECT_TRUE(again->retried.empty());
  EXPECT_TRUE(std::filesystem::exists(remote_root_ + "/f156.txt"));
  EXPECT_FALSE(std::filesystem::exists(remote_root_ + "/f156.txt.tmp"));
  EXPECT_FALSE(std::filesystem::exists(cache_ + "/f156.txt.tmp"));
}

TEST_F(MovedOnTest, AFileStillBeingWrittenIsRetriedNotSentHalfDone) {
  put(cache_ + "/big.log", "first part");
  remote::FaultRule busy;
  busy.op = remote::RemoteOp::kFetchFile;
  busy.path_glob = "big.log";
  busy.err = EBUSY;
  int rule = local_fs_->addRule(busy);
  auto r = reconciler_->run();
  ASSERT_TRUE(r) << r.error().toString();
  EXPECT_TRUE(r->failed.empty());
  EXPECT_EQ(r->retried, (std::vector<RelPath>{"big.log"}));
  EXPECT_FALSE(std::filesystem::exists(remote_root_ + "/big.log"));
  local_fs_->removeRule(rule);
  put(cache_ + "/big.log", "first part, second part");
  ASSERT_TRUE(reconciler_->run());
  std::ifstream in(remote_root_ + "/big.log");
  std::string got((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(got, "first part, second part");
}

}  // namespace
}  // namespace hoard::sync
