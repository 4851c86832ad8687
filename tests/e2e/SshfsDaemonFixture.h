// SPDX-License-Identifier: MIT
// The real hoardd, driven by the real CLI, on a share mounted by sshfs from
// sshd in a network namespace behind the delay line: what the latency and
// lister end-to-end tests share. A test calls startLink(), writes its config
// (or none: the default config), then startDaemon().
#pragma once

#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>

#include <gtest/gtest.h>

#include "../dbus/BusHarness.h"
#include "e2e/SshfsFixture.h"

namespace hoard::e2e {

class SshfsDaemonFixture {
 protected:
  // Mounts the share as the README advises, `added_rtt` behind the delay
  // line, and makes the test's directory from `tmpl` (a mkdtemp template).
  void startLink(std::chrono::milliseconds added_rtt, std::string tmpl) {
    SshfsHarness::Options o;
    o.extra_mount_options = advisedMountOptions();
    o.added_round_trip = added_rtt;
    auto h = SshfsHarness::start(o);
    ASSERT_TRUE(h) << h.error().toString();
    harness_ = std::move(*h);
    ASSERT_EQ(harness_->cutMode(), SshfsHarness::CutMode::kBlackholeRoute)
        << "latency needs the network namespace: " << harness_->fallbackReason();
    rtt_ms_ = harness_->measureRoundTripMs();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    std::filesystem::create_directories(dir_ + "/config");
  }
  // hoardd on a private session bus, with XDG_CONFIG_HOME in the test's
  // directory (an empty one: the default config).
  void startDaemon() {
    setenv("XDG_CONFIG_HOME", (dir_ + "/config").c_str(), 1);
    bus_ = std::make_unique<bustest::PrivateBus>();
    ASSERT_TRUE(bus_->ok());
    daemon_ = std::make_unique<bustest::Daemon>(dir_ + "/state", dir_ + "/hoardd.log");
    ASSERT_TRUE(daemon_->start()) << bustest::slurp(dir_ + "/hoardd.log");
  }
  // Keeps the test's directory when it failed (the logs say what happened).
  void stopAll(bool failed) {
    daemon_.reset();
    bus_.reset();
    unsetenv("XDG_CONFIG_HOME");
    harness_.reset();
    if (!dir_.empty() && !failed) std::filesystem::remove_all(dir_);
  }

  // The CLI, killed after 300 s (a preload across 60 ms takes a while); its
  // stderr is kept, every call's, for why().
  std::pair<int, std::string> hoard(const std::string& args) {
    auto r = bustest::runHoard(args, dir_ + "/cli.err.last", std::chrono::seconds(300));
    const std::string all = dir_ + "/cli.err";
    bustest::put(all, (std::filesystem::exists(all) ? bustest::slurp(all) : "") + "$ hoard " +
                          args + "\n" + bustest::slurp(dir_ + "/cli.err.last"));
    return r;
  }
  std::string why() {
    return bustest::slurp(dir_ + "/cli.err") + "\n--- hoardd:\n" +
           bustest::slurp(dir_ + "/hoardd.log") + harness_->logs();
  }
  std::string server(const std::string& rel) { return harness_->serverPath(rel); }
  void serverPut(const std::string& rel, const std::string& data) {
    std::filesystem::create_directories(std::filesystem::path(server(rel)).parent_path());
    ASSERT_TRUE(writeFileBytes(server(rel), data)) << rel;
  }

  std::unique_ptr<SshfsHarness> harness_;
  double rtt_ms_ = 0;
  std::string dir_;
  std::unique_ptr<bustest::PrivateBus> bus_;
  std::unique_ptr<bustest::Daemon> daemon_;
};

}  // namespace hoard::e2e
