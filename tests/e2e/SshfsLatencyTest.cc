// SPDX-License-Identifier: MIT
// The whole story across a link with latency, with the DEFAULT config: the
// real hoardd and CLI over sshfs to our sshd, a round trip added between them
// (2, 20 and 60 ms: a LAN, a city, a VPN across a continent)
// (netem where the kernel has it, else the harness's TUN delay line). A
// preload of a few hundred files in nested directories (with `dir`, `dir-x`,
// `dir.bak`, `dir 2` side by side), edits made offline in the cache, edits
// made on the server meanwhile, reintegration, and a conflict, all checked
// byte for byte; and the share never drops offline on its own (a slow link
// is not an offline link).

#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>

#include <gtest/gtest.h>

#include "../dbus/BusHarness.h"
#include "e2e/SshfsDaemonFixture.h"

namespace hoard::e2e {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double secondsSince(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

class SshfsLatencyTest : public ::testing::TestWithParam<int>, protected SshfsDaemonFixture {
 protected:
  void SetUp() override {
    startLink(std::chrono::milliseconds(GetParam()), "/tmp/hoard-e2e-latency-XXXXXX");
    if (HasFatalFailure()) return;
    std::cerr << "[measure] round trip over the mount: " << rtt_ms_ << " ms (" << GetParam()
              << " ms added by " << harness_->latencyMethod() << ")\n";
    ASSERT_GE(rtt_ms_, GetParam() * 0.9) << harness_->logs();
    startDaemon();  // the default config: no config file at all
  }
  void TearDown() override { stopAll(HasFailure()); }
  // Puts a file on the server and remembers it.
  void serverFile(const std::string& rel, const std::string& data) {
    serverPut(rel, data);
    files_[rel] = data;
  }

  std::map<std::string, std::string> files_;  // what the server holds
};

TEST_P(SshfsLatencyTest, PreloadEditsAndConflictsWorkWithTheDefaultConfig) {
  // 8 x 4 x 10 files in nested directories, and names that sort between a
  // directory and its children.
  for (int d = 0; d < 8; ++d) {
    for (int s = 0; s < 4; ++s) {
      for (int f = 0; f < 10; ++f) {
        std::string rel = "proj/d" + std::to_string(d) + "/s" + std::to_string(s) + "/f" +
                          std::to_string(f) + ".txt";
        serverFile(rel, "content of " + rel + "\n");
      }
    }
  }
  serverFile("dir/a.txt", "dir a\n");
  serverFile("dir/sub/c.txt", "dir sub c\n");
  serverFile("dir-x", "the sibling file dir-x\n");
  serverFile("dir.bak/b.txt", "backup b\n");
  serverFile("dir 2/d.txt", "dir 2 d\n");
  serverFile("shared.txt", "shared v1\n");

  const std::string cache = dir_ + "/cache";
  ASSERT_EQ(hoard("share add work " + harness_->mountPath() + " " + cache).first, 0) << why();
  auto t0 = Clock::now();
  auto [preload_rc, preload_out] = hoard("preload work");
  const double preload_s = secondsSince(t0);
  ASSERT_EQ(preload_rc, 0) << preload_out << why();
  std::cerr << "[measure] preload of " << files_.size() << " files at " << rtt_ms_
            << " ms round trip: " << preload_s << " s\n";
  for (const auto& [rel, data] : files_) {
    ASSERT_EQ(readFileBytes(cache + "/" + rel), data) << rel << why();
  }

  // Offline: edits in the cache.
  ASSERT_EQ(hoard("offline work").first, 0) << why();
  std::map<std::string, std::string> local_edits;
  for (int f = 0; f < 5; ++f) {
    std::string rel = "proj/d0/s0/f" + std::to_string(f) + ".txt";
    local_edits[rel] = "edited offline " + rel + "\n";
  }
  local_edits["dir/new-offline.txt"] = "made offline\n";
  local_edits["dir-x"] = "dir-x edited offline\n";
  for (const auto& [rel, data] : local_edits) bustest::put(cache + "/" + rel, data);
  ASSERT_TRUE(fs::remove(cache + "/dir.bak/b.txt"));
  bustest::put(cache + "/shared.txt", "shared, the laptop's version\n");
  // Meanwhile on the server.
  std::map<std::string, std::string> server_edits;
  for (int f = 0; f < 3; ++f) {
    std::string rel = "proj/d1/s1/f" + std::to_string(f) + ".txt";
    server_edits[rel] = "edited on the server " + rel + "\n";
  }
  server_edits["dir 2/server-new.txt"] = "made on the server\n";
  for (const auto& [rel, data] : server_edits) serverFile(rel, data);
  serverFile("shared.txt", "shared, the colleague's version\n");

  // Back online: reintegrate.
  t0 = Clock::now();
  ASSERT_EQ(hoard("online work").first, 0) << why();
  bool settled = bustest::eventually(
      [&] {
        hoard("sync work");
        for (const auto& [rel, data] : local_edits)
          if (readFileBytes(server(rel)) != data) return false;
        for (const auto& [rel, data] : server_edits)
          if (readFileBytes(cache + "/" + rel) != data) return false;
        return !pathExists(server("dir.bak/b.txt"));
      },
      std::chrono::seconds(120));
  const double reintegrate_s = secondsSince(t0);
  ASSERT_TRUE(settled) << why();
  std::cerr << "[measure] reintegration (" << local_edits.size() + 1 << " local, "
            << server_edits.size() + 1 << " server changes, 1 conflict) at " << rtt_ms_
            << " ms round trip: " << reintegrate_s << " s\n";

  // The conflict: both sides kept, the remote untouched at that path.
  auto [crc, conflicts] = hoard("conflicts work --json");
  EXPECT_EQ(crc, 3) << conflicts << why();
  EXPECT_NE(conflicts.find("shared.txt"), std::string::npos) << conflicts;
  EXPECT_EQ(readFileBytes(server("shared.txt")), "shared, the colleague's version\n");
  EXPECT_EQ(readFileBytes(cache + "/shared.txt"), "shared, the laptop's version\n");
  // Untouched files are still equal on both sides.
  EXPECT_EQ(readFileBytes(cache + "/proj/d7/s3/f9.txt"), files_["proj/d7/s3/f9.txt"]);
  EXPECT_EQ(readFileBytes(server("dir/a.txt")), "dir a\n");

  // A slow link is not an offline link: the only time the share went
  // offline was when the user said so, and no call was taken for hung.
  const std::string log = bustest::slurp(dir_ + "/hoardd.log");
  std::istringstream lines(log);
  for (std::string line; std::getline(lines, line);) {
    if (line.find("share work is offline") == std::string::npos) continue;
    // Only the user's own `hoard offline` may take it offline.
    EXPECT_TRUE(line.find("user") != std::string::npos ||
                line.find("hoard offline") != std::string::npos)
        << "the share went offline by itself: " << line;
  }
  EXPECT_EQ(log.find("looks hung"), std::string::npos) << log;
  EXPECT_EQ(log.find("no answer within"), std::string::npos) << log;
}

INSTANTIATE_TEST_SUITE_P(RoundTrip, SshfsLatencyTest, ::testing::Values(2, 20, 60),
                         [](const auto& param_info) { return std::to_string(param_info.param) + "ms"; });

}  // namespace
}  // namespace hoard::e2e
