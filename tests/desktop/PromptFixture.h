// SPDX-License-Identifier: MIT
#pragma once

// The desktop prompt's world in a test: a private session bus, the mock
// notification server (python3-dbusmock), the real hoardd with a share
// "work" (server/ and cache/ under a temporary folder), the real hoard CLI
// and the real hoard-prompt.

#include <sys/types.h>

#include <functional>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "NotificationMock.h"
#include "dbus/BusHarness.h"

namespace hoard::desktoptest {

class PromptFixture : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // Starts the mock server with `caps`, hoardd with `config` (config.json's
  // text), adds and preloads share "work" holding `files` ("v1 NAME\n"
  // each), then hoard-prompt (with `env` added), waiting for it to register.
  void start(const std::vector<std::string>& files, const std::string& config = "{}",
             const std::string& caps = "actions body body-markup",
             std::vector<std::pair<std::string, std::string>> env = {});
  // Offline edits of `names` in the cache ("mine NAME\n" unless `mine`
  // says otherwise), other edits on the server ("theirs NAME\n"), back
  // online and a sync: every name becomes a content conflict.
  void conflictOn(const std::vector<std::string>& names,
                  const std::function<std::string(const std::string&)>& mine = {});
  // `hoard ARGS` (stderr kept in last_err_): exit status and stdout.
  std::pair<int, std::string> hoard(const std::string& args);
  nlohmann::json conflicts();              // `hoard conflicts work --json`
  uint64_t idOf(const std::string& path);  // the open conflict at `path`, 0 if none
  // Waits until the mock has seen `n` Notify calls (and returns them all).
  std::vector<NotifyCall> notifiesReach(size_t n);
  std::string promptLog() const;

  std::string dir_, server_, cache_, config_, last_err_;
  // Added to hoardd's environment by start() (e.g. a fault-injection hook).
  std::vector<std::pair<std::string, std::string>> daemon_env_;
  std::unique_ptr<bustest::PrivateBus> bus_;
  std::unique_ptr<NotificationMock> mock_;
  std::unique_ptr<bustest::Daemon> daemon_;
  pid_t prompt_pid_ = -1;
};

}  // namespace hoard::desktoptest
