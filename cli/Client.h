// SPDX-License-Identifier: MIT
#pragma once

// The CLI's side of the bus: a proxy of org.hoard.Agent1 on the session bus,
// waiting for jobs, and turning D-Bus errors into messages a person
// understands and into exit statuses.

#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include <sdbus-c++/sdbus-c++.h>

#include "dbus/org.hoard.Agent1.proxy.h"

namespace hoard::cli {

// Exit statuses (design.md).
inline constexpr int kOk = 0;
inline constexpr int kFailed = 1;
inline constexpr int kUsage = 2;
inline constexpr int kConflictsRemain = 3;

struct JobResult {
  std::string error;    // "" on success, else an org.hoard.Error.* name or kDaemonGone
  std::string message;
};

// JobResult::error when hoardd left the bus (stopped, crashed, killed)
// before the job finished.
inline constexpr const char* kDaemonGone = "hoard.DaemonGone";

class Agent final : public sdbus::ProxyInterfaces<org::hoard::Agent1_proxy> {
 public:
  // Connects to the session bus (throws sdbus::Error).
  static std::unique_ptr<Agent> connect();
  ~Agent();

  // Waits for JobFinished of `job`, telling `progress` about Progress signals.
  // Returns kDaemonGone at once if hoardd leaves the bus meanwhile (the
  // daemon's name is watched through NameOwnerChanged): never waits forever.
  JobResult waitForJob(uint64_t job,
                       const std::function<void(uint64_t, uint64_t, uint32_t, uint32_t)>& progress);

 private:
  Agent(std::unique_ptr<sdbus::IConnection> connection);
  void onStateChanged(const std::string&, const std::string&, const std::string&) override {}
  void onConflictDetected(const uint64_t&, const std::string&, const std::vector<uint8_t>&,
                          const std::string&) override {}
  void onConflictResolved(const uint64_t&, const std::string&, const std::vector<uint8_t>&,
                          const std::string&, const std::string&, const std::string&) override {}
  void onProgress(const uint64_t& job, const std::string&, const std::string&,
                  const uint64_t& bytes_done, const uint64_t& bytes_total,
                  const uint32_t& files_done, const uint32_t& files_total) override;
  void onJobFinished(const uint64_t& job, const std::string&, const std::string& error,
                     const std::string& message) override;
  void onFetchProgress(const std::string&, const std::vector<uint8_t>&, const std::string&,
                       const uint64_t&, const uint64_t&) override {}
  void onReadWanted(const uint64_t&, const std::string&, const std::vector<uint8_t>&,
                    const std::string&, const uint32_t&) override {}
  void onReadQuestionOver(const uint64_t&, const std::string&, const std::string&) override {}
  void onAuthenticationRequired(const std::string&, const std::string&) override {}
  void onAuthenticationExpiring(const std::string&, const int64_t&, const std::string&) override {}

  void onNameOwnerChanged(const std::string& name, const std::string& new_owner);

  std::unique_ptr<sdbus::IConnection> connection_;
  std::unique_ptr<sdbus::IProxy> bus_;  // org.freedesktop.DBus, for NameOwnerChanged
  std::mutex mu_;
  std::string owner_;   // GUARDED_BY(mu_): hoardd's unique name when we connected
  bool gone_ = false;   // GUARDED_BY(mu_): that owner left the bus
  std::condition_variable cv_;
  std::map<uint64_t, JobResult> finished_;  // GUARDED_BY(mu_)
  struct Progress {
    uint64_t bytes_done, bytes_total;
    uint32_t files_done, files_total;
  };
  std::map<uint64_t, Progress> progress_;  // GUARDED_BY(mu_)
};

// Prints what went wrong for a person (stderr) and returns the exit status:
// the daemon not running, an unknown share or conflict, a bad argument (2), ...
int report(const sdbus::Error& e);

}  // namespace hoard::cli
