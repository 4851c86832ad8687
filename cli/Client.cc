// SPDX-License-Identifier: MIT
#include "Client.h"

#include <iostream>

#include "dbus/DbusErrors.h"

namespace hoard::cli {

std::unique_ptr<Agent> Agent::connect() {
  auto c = sdbus::createSessionBusConnection();
  return std::unique_ptr<Agent>(new Agent(std::move(c)));
}

namespace {
constexpr const char* kAgentName = "org.hoard.Agent1";
}

Agent::Agent(std::unique_ptr<sdbus::IConnection> connection)
    : ProxyInterfaces(*connection, kAgentName, "/org/hoard/Agent1"),
      connection_(std::move(connection)) {
  registerProxy();
  // Watch hoardd's name before any job starts, so its end cannot slip by.
  bus_ = sdbus::createProxy(*connection_, "org.freedesktop.DBus", "/org/freedesktop/DBus");
  bus_->uponSignal("NameOwnerChanged")
      .onInterface("org.freedesktop.DBus")
      .call([this](const std::string& name, const std::string&, const std::string& new_owner) {
        onNameOwnerChanged(name, new_owner);
      });
  bus_->finishRegistration();
  connection_->enterEventLoopAsync();  // signals (Progress, JobFinished) need a loop
  try {
    std::string owner;
    bus_->callMethod("GetNameOwner").onInterface("org.freedesktop.DBus").withArguments(
        std::string(kAgentName)).storeResultsTo(owner);
    std::lock_guard lock(mu_);
    owner_ = owner;
  } catch (const sdbus::Error&) {
    // Not running (yet): the first call activates it or says it is not running.
  }
}

void Agent::onNameOwnerChanged(const std::string& name, const std::string& new_owner) {
  if (name != kAgentName) return;
  std::lock_guard lock(mu_);
  if (owner_.empty() && !new_owner.empty()) {
    owner_ = new_owner;  // started by activation after we connected
  } else if (!owner_.empty() && new_owner != owner_) {
    gone_ = true;
    cv_.notify_all();
  }
}

Agent::~Agent() {
  bus_.reset();
  unregisterProxy();
  connection_->leaveEventLoop();
}

void Agent::onProgress(const uint64_t& job, const std::string&, const std::string&,
                       const uint64_t& bytes_done, const uint64_t& bytes_total,
                       const uint32_t& files_done, const uint32_t& files_total) {
  std::lock_guard lock(mu_);
  progress_[job] = {bytes_done, bytes_total, files_done, files_total};
  cv_.notify_all();
}

void Agent::onJobFinished(const uint64_t& job, const std::string&, const std::string& error,
                          const std::string& message) {
  std::lock_guard lock(mu_);
  finished_[job] = {error, message};
  cv_.notify_all();
}

JobResult Agent::waitForJob(
    uint64_t job, const std::function<void(uint64_t, uint64_t, uint32_t, uint32_t)>& progress) {
  std::unique_lock lock(mu_);
  std::optional<Progress> shown;
  for (;;) {
    if (auto it = finished_.find(job); it != finished_.end()) {
      // Show where it got to, even if the last Progress came with the end.
      auto p = progress_.find(job);
      JobResult done = it->second;
      if (p != progress_.end() && progress && (!shown || shown->files_done != p->second.files_done)) {
        Progress last = p->second;
        lock.unlock();
        progress(last.bytes_done, last.bytes_total, last.files_done, last.files_total);
      }
      return done;
    }
    if (auto it = progress_.find(job); it != progress_.end() && progress) {
      Progress p = it->second;
      if (!shown || shown->files_done != p.files_done) {
        shown = p;
        lock.unlock();
        progress(p.bytes_done, p.bytes_total, p.files_done, p.files_total);
        lock.lock();
        continue;
      }
    }
    if (gone_)
      return {kDaemonGone,
              "hoardd left the session bus before the job finished (it stopped or crashed; "
              "its log says why). What it did so far is kept; start it again and retry"};
    cv_.wait_for(lock, std::chrono::milliseconds(200));
  }
}

int report(const sdbus::Error& e) {
  const std::string& name = e.getName();
  if (name == "org.freedesktop.DBus.Error.ServiceUnknown" ||
      name == "org.freedesktop.DBus.Error.NameHasNoOwner") {
    std::cerr << "hoard: hoardd is not running on this session bus; start it with `hoardd &` "
                 "(or `systemctl --user start hoardd`)\n";
    return kFailed;
  }
  if (name == "org.freedesktop.DBus.Error.NoReply" || name == "org.freedesktop.DBus.Error.Timeout") {
    std::cerr << "hoard: hoardd did not answer in time: " << e.getMessage() << "\n";
    return kFailed;
  }
  if (name.rfind("org.freedesktop.DBus.Error.", 0) == 0 && name.find("Address") != std::string::npos) {
    std::cerr << "hoard: no session bus (" << e.getMessage() << ")\n";
    return kFailed;
  }
  std::cerr << "hoard: " << e.getMessage() << "\n";
  auto code = dbus::codeFromDbusName(name);
  if (code == ErrorCode::kInvalidArgument) return kUsage;
  if (code == ErrorCode::kConflict) return kConflictsRemain;
  return kFailed;
}

}  // namespace hoard::cli
