// SPDX-License-Identifier: MIT
// hoardd over a real sshfs share, driven by the real CLI: while a remote call
// hangs (the sftp server frozen, so sshfs blocks callers indefinitely), the
// daemon still answers on the bus; when the server resumes, the work lands.

#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <iostream>
#include <memory>

#include <gtest/gtest.h>

#include "../dbus/BusHarness.h"
#include "e2e/SshfsFixture.h"

namespace hoard::e2e {
namespace {

namespace fs = std::filesystem;

class SshfsDaemonTest : public SshfsTest {
 protected:
  void SetUp() override {
    SshfsTest::SetUp();
    if (HasFatalFailure()) return;
    char tmpl[] = "/tmp/hoard-e2e-daemon-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    bus_ = std::make_unique<bustest::PrivateBus>();
    ASSERT_TRUE(bus_->ok());
    // Short deadlines so the hung pass gives up within the test.
    bustest::put(dir_ + "/hoard/config.json",
                 R"({"remote_deadline_s": 3, "transfer_idle_deadline_s": 3})");
    setenv("XDG_CONFIG_HOME", dir_.c_str(), 1);
    daemon_ = std::make_unique<bustest::Daemon>(dir_ + "/state", dir_ + "/hoardd.log");
    ASSERT_TRUE(daemon_->start()) << bustest::slurp(dir_ + "/hoardd.log");
  }
  void TearDown() override {
    harness().resumeServer();
    daemon_.reset();
    bus_.reset();
    unsetenv("XDG_CONFIG_HOME");
    SshfsTest::TearDown();
    if (!dir_.empty()) fs::remove_all(dir_);
  }
  std::pair<int, std::string> hoard(const std::string& args) {
    return bustest::run(std::string(HOARD_CLI_PATH) + " " + args + " 2>>" + dir_ + "/cli.err");
  }

  std::string dir_;
  std::unique_ptr<bustest::PrivateBus> bus_;
  std::unique_ptr<bustest::Daemon> daemon_;
};

TEST_F(SshfsDaemonTest, TheBusAnswersWhileARemoteCallHangs) {
  ASSERT_TRUE(writeFileBytes(serverPath("a.txt"), "a v1\n"));
  std::string cache = dir_ + "/cache";
  ASSERT_EQ(hoard("share add work " + mountPath() + " " + cache).first, 0)
      << bustest::slurp(dir_ + "/cli.err");
  ASSERT_EQ(hoard("preload work").first, 0) << bustest::slurp(dir_ + "/cli.err");
  ASSERT_EQ(bustest::slurp(cache + "/a.txt"), "a v1\n");

  // Freeze the server: sshfs now blocks every caller without limit.
  ASSERT_TRUE(harness().hangServer()) << harness().logs();
  bustest::put(cache + "/a.txt", "a v2, saved while the server hangs\n");
  // A pass starts (write-back) and its remote call hangs. The daemon must
  // still answer: a blocked daemon would make these calls fail (no reply).
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // let the write-back start
  for (int i = 0; i < 5; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    auto [rc, out] = hoard("status work --json");
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                  std::chrono::steady_clock::now() - t0)
                  .count();
    std::cerr << "[measure] hoard status answered in " << ms << " ms while the remote hangs\n";
    EXPECT_TRUE(rc == 0 || rc == 3) << bustest::slurp(dir_ + "/cli.err");
    EXPECT_NE(out.find("\"share\": \"work\""), std::string::npos) << out;
    EXPECT_EQ(hoard("share list").first, 0);
  }
  // The server comes back: the edit lands.
  ASSERT_TRUE(harness().resumeServer());
  EXPECT_TRUE(bustest::eventually([&] {
    hoard("sync work");
    return readFileBytes(serverPath("a.txt")) == "a v2, saved while the server hangs\n";
  }, std::chrono::seconds(90))) << bustest::slurp(dir_ + "/hoardd.log");
}

}  // namespace
}  // namespace hoard::e2e
