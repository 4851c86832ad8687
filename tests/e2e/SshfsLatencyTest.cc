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
#include "e2e/SshfsFixture.h"

namespace hoard::e2e {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double secondsSince(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

class SshfsLatencyTest : public ::testing::TestWithParam<int> {
 protected:
  void SetUp() override {
    SshfsHarness::Options o;
    o.extra_mount_options = {"dir_cache=no", "attr_timeout=0", "entry_timeout=0"};
    o.added_round_trip = std::chrono::milliseconds(GetParam());
    auto h = SshfsHarness::start(o);
    ASSERT_TRUE(h) << h.error().toString();
    harness_ = std::move(*h);
    ASSERT_EQ(harness_->cutMode(), SshfsHarness::CutMode::kBlackholeRoute)
        << "latency needs the network namespace: " << harness_->fallbackReason();
    rtt_ms_ = harness_->measureRoundTripMs();
    std::cerr << "[measure] round trip over the mount: " << rtt_ms_ << " ms (" << GetParam()
              << " ms added by " << harness_->latencyMethod() << ")\n";
    ASSERT_GE(rtt_ms_, GetParam() * 0.9) << harness_->logs();

    char tmpl[] = "/tmp/hoard-e2e-latency-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    bus_ = std::make_unique<bustest::PrivateBus>();
    ASSERT_TRUE(bus_->ok());
    // The default config: no config file at all.
    fs::create_directories(dir_ + "/config");
    setenv("XDG_CONFIG_HOME", (dir_ + "/config").c_str(), 1);
    daemon_ = std::make_unique<bustest::Daemon>(dir_ + "/state", dir_ + "/hoardd.log");
    ASSERT_TRUE(daemon_->start()) << bustest::slurp(dir_ + "/hoardd.log");
  }
  void TearDown() override {
    daemon_.reset();
    bus_.reset();
    unsetenv("XDG_CONFIG_HOME");
    harness_.reset();
    if (!dir_.empty() && !HasFailure()) fs::remove_all(dir_);
  }
  std::pair<int, std::string> hoard(const std::string& args) {
    return bustest::run(std::string(HOARD_CLI_PATH) + " " + args + " 2>>" + dir_ + "/cli.err");
  }
  std::string server(const std::string& rel) { return harness_->serverPath(rel); }
  std::string why() {
    return bustest::slurp(dir_ + "/cli.err") + "\n--- hoardd:\n" +
           bustest::slurp(dir_ + "/hoardd.log") + harness_->logs();
  }
  void serverPut(const std::string& rel, const std::string& data) {
    fs::create_directories(fs::path(server(rel)).parent_path());
    ASSERT_TRUE(writeFileBytes(server(rel), data)) << rel;
    files_[rel] = data;
  }

  std::unique_ptr<SshfsHarness> harness_;
  double rtt_ms_ = 0;
  std::string dir_;
  std::unique_ptr<bustest::PrivateBus> bus_;
  std::unique_ptr<bustest::Daemon> daemon_;
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
        serverPut(rel, "content of " + rel + "\n");
      }
    }
  }
  serverPut("dir/a.txt", "dir a\n");
  serverPut("dir/sub/c.txt", "dir sub c\n");
  serverPut("dir-x", "the sibling file dir-x\n");
  serverPut("dir.bak/b.txt", "backup b\n");
  serverPut("dir 2/d.txt", "dir 2 d\n");
  serverPut("shared.txt", "shared v1\n");

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
  for (const auto& [rel, data] : server_edits) serverPut(rel, data);
  serverPut("shared.txt", "shared, the colleague's version\n");

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
