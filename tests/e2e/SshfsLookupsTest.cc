// SPDX-License-Identifier: MIT
// What PosixRemoteFs saves on a FUSE mount where every name lookup is a round
// trip (sshfs with entry_timeout=0, as README.md advises), counted in SFTP
// requests from sshfs's own log, and that the savings never cost freshness:
// a server-side edit is seen at once, a directory replaced on the server is
// resolved afresh.

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "common/UniqueFd.h"
#include "e2e/SshfsFixture.h"
#include "remote/PosixRemoteFs.h"

namespace hoard::e2e {
namespace {

namespace fs = std::filesystem;
using remote::PosixRemoteFs;

class SshfsLookupsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    SshfsHarness::Options o;
    o.extra_mount_options = advisedMountOptions();
    o.extra_mount_options.push_back("sshfs_debug");  // one log line per SFTP request
    auto h = SshfsHarness::start(o);
    if (!h) {
      setup_error_ = h.error().toString();
      return;
    }
    harness_ = std::move(*h);
  }
  static void TearDownTestSuite() { harness_.reset(); }
  void SetUp() override {
    ASSERT_TRUE(harness_ != nullptr) << setup_error_;
    // A directory three levels down with neighbours that sort around it.
    for (const char* d : {"a/b/c", "a/b/c-x", "a/b/c.bak"}) fs::create_directories(server(d));
    for (int i = 0; i < kFiles; ++i) {
      ASSERT_TRUE(writeFileBytes(server("a/b/c/f" + std::to_string(i)), content(i, 'v')));
      ASSERT_TRUE(writeFileBytes(server("a/b/c-x/f" + std::to_string(i)), "x"));
    }
  }
  void TearDown() override {
    for (const auto& e : fs::directory_iterator(harness_->exportPath())) fs::remove_all(e.path());
  }
  static std::string server(const std::string& rel) { return harness_->serverPath(rel); }
  static std::string content(int i, char v) { return std::string(1000 + i, v) + std::to_string(i); }
  static PosixRemoteFs::Options savings(bool on) {
    PosixRemoteFs::Options o;
    if (!on) {
      o.dir_handle_ttl = std::chrono::milliseconds(0);
      o.stat_from_lookup = false;
    }
    return o;
  }
  // Fetches every file of a/b/c with `fs`; the bytes must be the server's.
  static void fetchAll(PosixRemoteFs& fs, char v) {
    for (int i = 0; i < kFiles; ++i) {
      const std::string rel = "a/b/c/f" + std::to_string(i);
      UniqueFd out(memfdWith(""));
      auto st = fs.fetchFile(rel, out.get(), {});
      ASSERT_TRUE(st) << st.error().toString();
      EXPECT_EQ(st->meta.size, content(i, v).size()) << rel;
      std::string got(st->meta.size, '\0');
      ASSERT_EQ(::pread(out.get(), got.data(), got.size(), 0), static_cast<ssize_t>(got.size()));
      EXPECT_EQ(got, content(i, v)) << rel;
    }
  }
  // SFTP requests `run` made.
  template <typename F>
  static long requestsOf(F&& run) {
    long before = harness_->sftpRequests();
    run();
    return harness_->sftpRequests() - before;
  }

  static constexpr int kFiles = 12;
  static std::unique_ptr<SshfsHarness> harness_;
  static std::string setup_error_;
};

std::unique_ptr<SshfsHarness> SshfsLookupsTest::harness_;
std::string SshfsLookupsTest::setup_error_;

TEST_F(SshfsLookupsTest, FetchingADirectorysFilesResolvesItOnceAndAsksEachFileOnce) {
  PosixRemoteFs plain(harness_->mountPath(), savings(false));
  PosixRemoteFs saving(harness_->mountPath(), savings(true));
  ASSERT_TRUE(plain.pinRoot());
  ASSERT_TRUE(saving.pinRoot());
  EXPECT_TRUE(saving.fuseRoot()) << "sshfs is FUSE";

  const long without = requestsOf([&] { fetchAll(plain, 'v'); });
  const long with = requestsOf([&] { fetchAll(saving, 'v'); });
  std::cerr << "[measure] SFTP requests for " << kFiles << " fetches three directories down: "
            << without << " resolving every path, " << with << " with the savings\n";
  ASSERT_GT(without, 0) << harness_->logs();
  // Per file: the two directory levels below the root not looked up again
  // (a, b: c's own lookup stays the open's), and no GETATTR before reading.
  EXPECT_LE(with, without - 3 * (kFiles - 1)) << harness_->logs();
  EXPECT_EQ(saving.dirHandlesKept(), 1u) << "a/b/c, and nothing for a read of the root";
}

TEST_F(SshfsLookupsTest, AStatAfterAServerEditSeesItAtOnce) {
  PosixRemoteFs fs(harness_->mountPath(), savings(true));
  ASSERT_TRUE(fs.pinRoot());
  auto first = fs.lstat("a/b/c/f1");
  ASSERT_TRUE(first) << first.error().toString();
  ASSERT_TRUE(writeFileBytes(server("a/b/c/f1"), "grown on the server, longer than before........"
                                                 "................................................"
                                                 "...............................................!"
                                                 + std::string(2000, 'g')));
  auto again = fs.lstat("a/b/c/f1");
  ASSERT_TRUE(again) << again.error().toString();
  EXPECT_EQ(again->meta.size, fs::file_size(server("a/b/c/f1")));
  EXPECT_NE(again->data_version, first->data_version);

  // The walk's stat, through a directory held open, as fresh.
  auto dir = fs.openDir("a/b/c");
  ASSERT_TRUE(dir) << dir.error().toString();
  ASSERT_TRUE(writeFileBytes(server("a/b/c/f2"), "short"));
  auto walked = (*dir)->stat("f2");
  ASSERT_TRUE(walked) << walked.error().toString();
  EXPECT_EQ(walked->meta.size, 5u);
}

TEST_F(SshfsLookupsTest, ADirectoryReplacedOrRemovedOnTheServerIsResolvedAfresh) {
  PosixRemoteFs fs(harness_->mountPath(), savings(true));
  ASSERT_TRUE(fs.pinRoot());
  fetchAll(fs, 'v');
  ASSERT_EQ(fs.dirHandlesKept(), 1u);

  // Moved aside and a new one with other bytes in its place, within the
  // moment the handle is kept: the new bytes, never the old directory's.
  fs::rename(server("a/b/c"), server("a/b/c-old"));
  fs::create_directories(server("a/b/c"));
  for (int i = 0; i < kFiles; ++i)
    ASSERT_TRUE(writeFileBytes(server("a/b/c/f" + std::to_string(i)), content(i, 'w')));
  fetchAll(fs, 'w');

  // Gone: not found, as without the savings.
  fs::remove_all(server("a/b/c"));
  UniqueFd out(memfdWith(""));
  auto gone = fs.fetchFile("a/b/c/f0", out.get(), {});
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().code(), ErrorCode::kNotFound) << gone.error().toString();
  auto st = fs.lstat("a/b/c/f0");
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code(), ErrorCode::kNotFound) << st.error().toString();
}

TEST_F(SshfsLookupsTest, APassStartLetsGoOfEveryKeptDirectory) {
  PosixRemoteFs fs(harness_->mountPath(), savings(true));
  ASSERT_TRUE(fs.pinRoot());
  fetchAll(fs, 'v');
  EXPECT_EQ(fs.dirHandlesKept(), 1u);
  ASSERT_TRUE(fs.pinRoot());
  EXPECT_EQ(fs.dirHandlesKept(), 0u);
}

}  // namespace
}  // namespace hoard::e2e
