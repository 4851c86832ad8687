// SPDX-License-Identifier: MIT
// hoard-lister over a real ssh link with latency: the real hoardd and CLI,
// sshfs to our sshd across a 20 ms round trip, the share configured with
// `"lister": "ssh://root@SERVER/EXPORT"`. A pass over a quiet share makes
// no listing and no stat through the mount; changes on either side still
// arrive byte for byte; a lister that starts failing leaves the share
// syncing through the mount, with the reason in the log.

#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

#include "../dbus/BusHarness.h"
#include "e2e/SshfsDaemonFixture.h"

namespace hoard::e2e {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using nlohmann::json;

class SshfsListerTest : public ::testing::Test, protected SshfsDaemonFixture {
 protected:
  void SetUp() override {
    startLink(std::chrono::milliseconds(20), "/tmp/hoard-e2e-lister-XXXXXX");
    if (HasFatalFailure()) return;
    // The lister, through a wrapper that fails while a flag file exists.
    flag_ = dir_ + "/lister-broken";
    std::string wrapper = dir_ + "/hoard-lister";
    bustest::put(wrapper, "#!/bin/sh\nif [ -e " + flag_ + " ]; then echo 'lister broken' >&2; exit 1; fi\nexec " +
                              std::string(HOARD_LISTER_PATH) + " \"$@\"\n");
    fs::permissions(wrapper, fs::perms::owner_all);
    std::string rsh;
    for (const auto& a : harness_->sshArgv()) rsh += (rsh.empty() ? "" : " ") + a;
    json config = {{"lister_command", wrapper},
                   {"lister_rsh", rsh},
                   {"shares",
                    {{"work",
                      {{"lister", "ssh://" + harness_->sshDestination() + harness_->exportPath()}}}}}};
    fs::create_directories(dir_ + "/config/hoard");
    bustest::put(dir_ + "/config/hoard/config.json", config.dump(2));
    startDaemon();
  }
  void TearDown() override { stopAll(HasFailure()); }
  json remoteCalls() {
    auto [rc, out] = hoard("status work --json");
    json st = json::parse(out, nullptr, false);
    if (st.is_discarded() || st.empty()) return json::object();
    return st[0].value("remote_calls", json::object());
  }
  // Calls through the mount made by one `hoard sync work`, and its seconds.
  std::pair<json, double> syncCalls() {
    json before = remoteCalls();
    auto t0 = Clock::now();
    EXPECT_EQ(hoard("sync work").first, 0) << why();
    double s = std::chrono::duration<double>(Clock::now() - t0).count();
    json after = remoteCalls(), diff = json::object();
    for (auto& [op, n] : after.items())
      if (n.is_number_unsigned() && n.get<uint64_t>() > before.value(op, uint64_t{0}))
        diff[op] = n.get<uint64_t>() - before.value(op, uint64_t{0});
    return {diff, s};
  }

  std::string flag_;
};

TEST_F(SshfsListerTest, AQuietShareCostsNoCallThroughTheMountAndChangesStillArrive) {
  std::map<std::string, std::string> files;
  for (int d = 0; d < 10; ++d)
    for (int f = 0; f < 20; ++f) {
      std::string rel = "proj/d" + std::to_string(d) + "/f" + std::to_string(f) + ".txt";
      files[rel] = "content of " + rel + "\n";
    }
  files["dir/a.txt"] = "dir a\n";
  files["dir-x"] = "the sibling dir-x\n";
  files["dir.bak/b.txt"] = "backup b\n";
  files["dir 2/c.txt"] = "dir 2 c\n";
  files["new\nline.txt"] = "a newline in the name\n";
  for (const auto& [rel, data] : files) serverPut(rel, data);
  const std::string cache = dir_ + "/cache";
  ASSERT_EQ(hoard("share add work " + harness_->mountPath() + " " + cache).first, 0) << why();
  ASSERT_EQ(hoard("preload work").first, 0) << why();
  for (const auto& [rel, data] : files) ASSERT_EQ(readFileBytes(cache + "/" + rel), data) << rel;

  hoard("sync work");  // pairs the lister's view with the mount's, if not done yet
  auto t0 = Clock::now();
  hoard("sync work");  // the lister's ssh connection is open now
  std::cerr << "[measure] a no-change sync with the lister: "
            << std::chrono::duration<double>(Clock::now() - t0).count() << " s\n";
  auto [quiet, quiet_s] = syncCalls();
  std::cerr << "[measure] no-change pass of " << files.size() << " files at " << rtt_ms_
            << " ms round trip with hoard-lister: " << quiet_s << " s, mount calls " << quiet.dump()
            << "\n";
  EXPECT_EQ(quiet.value("listDir", 0), 0) << quiet.dump() << why();
  EXPECT_EQ(quiet.value("openDir", 0), 0) << quiet.dump();
  EXPECT_EQ(quiet.value("lstat", 0), 0) << quiet.dump();
  EXPECT_EQ(quiet.value("walk", 0), 0) << quiet.dump();

  // The server changes; so does the cache.
  usleep(20000);
  serverPut("proj/d3/f7.txt", "edited on the server\n");
  serverPut("dir 2/server-new.txt", "made on the server\n");
  ASSERT_TRUE(fs::remove(harness_->serverPath("dir.bak/b.txt")));
  bustest::put(cache + "/dir-x", "dir-x edited in the cache\n");
  ASSERT_TRUE(bustest::eventually([&] {
    hoard("sync work");
    return readFileBytes(cache + "/proj/d3/f7.txt") == "edited on the server\n" &&
           readFileBytes(cache + "/dir 2/server-new.txt") == "made on the server\n" &&
           !pathExists(cache + "/dir.bak/b.txt") &&
           readFileBytes(harness_->serverPath("dir-x")) == "dir-x edited in the cache\n";
  })) << why();
  auto [changed, changed_s] = syncCalls();
  EXPECT_EQ(changed.value("listDir", 0), 0) << changed.dump();

  // The lister starts failing: the share syncs through the mount and says why.
  bustest::put(flag_, "");
  serverPut("proj/d9/f0.txt", "edited while the lister is broken\n");
  ASSERT_TRUE(bustest::eventually([&] {
    hoard("sync work");
    return readFileBytes(cache + "/proj/d9/f0.txt") == "edited while the lister is broken\n";
  })) << why();
  std::string log = bustest::slurp(dir_ + "/hoardd.log");
  EXPECT_NE(log.find("not listing with hoard-lister"), std::string::npos) << log;
  EXPECT_NE(log.find("lister broken"), std::string::npos) << log;
  auto [walked, walked_s] = syncCalls();
  EXPECT_GT(walked.value("listDir", 0) + walked.value("openDir", 0), 0) << walked.dump();
  std::cerr << "[measure] the same pass walking the mount: " << walked_s << " s, mount calls "
            << walked.dump() << "\n";
  fs::remove(flag_);
  hoard("sync work");
  auto [again, again_s] = syncCalls();
  EXPECT_EQ(again.value("listDir", 0), 0) << "the lister is used again: " << again.dump();
  EXPECT_EQ(hoard("conflicts work").first, 0) << why();
}

}  // namespace
}  // namespace hoard::e2e
