// SPDX-License-Identifier: MIT
// org.hoard.Agent1: credentials (Renew, the auth check's warnings) and
// "is my work offline-ready?" (CheckReady).
#include "daemon/Agent.h"
#include "daemon/AuthWatch.h"
#include "daemon/BusArgs.h"
#include "daemon/ChildProcess.h"
#include "daemon/Log.h"
#include "dbus/DbusErrors.h"
#include "sync/Readiness.h"

namespace hoard::daemon {

namespace {
constexpr uint32_t kDefaultRenewTimeoutS = 300;
}  // namespace

void Agent::startAuthWatch() {
  auth_watch_ = std::make_unique<AuthWatch>(
      options_.auth, [this](const std::string& share, int64_t left, const std::string& message) {
        signal([&] { emitAuthenticationExpiring(share, left, message); });
      });
}

const ShareAuthOptions* Agent::authOptions(const std::string& share) const {
  auto it = options_.auth.find(share);
  return it == options_.auth.end() ? nullptr : &it->second;
}

void Agent::addAuthStatus(const std::string& share, const sync::ShareStatus& s,
                          std::map<std::string, sdbus::Variant>& out) {
  out["auth_required"] = sdbus::Variant(s.auth_required);
  const ShareAuthOptions* a = authOptions(share);
  if (a && !a->auth_command.empty()) out["auth_command"] = sdbus::Variant(a->auth_command);
  if (!auth_watch_) return;
  if (auto k = auth_watch_->last(share)) {
    out["auth_expiry"] = sdbus::Variant(expiryText(k->answer.seconds_left, k->answer.valid));
    if (k->answer.seconds_left)
      out["auth_expires_in_s"] = sdbus::Variant(static_cast<int64_t>(*k->answer.seconds_left));
  }
}

void Agent::Renew(sdbus::Result<uint64_t>&& result, std::string share,
                  std::map<std::string, sdbus::Variant> options) {
  replying("Renew", result, [&](auto& reply) {
    refuseWhileClosing();
    onlyKeys(options, {"run_command", "timeout_s"}, "Renew");
    const bool run = option<bool>(options, "run_command", "Renew").value_or(true);
    const uint32_t timeout = option<uint32_t>(options, "timeout_s", "Renew").value_or(kDefaultRenewTimeoutS);
    auto e = engine(share);
    const ShareAuthOptions* a = authOptions(share);
    std::string command = a ? a->auth_command : std::string();
    if (run && command.empty())
      raise(Error(ErrorCode::kInvalidArgument,
                  "share \"" + share + "\" has no auth_command in the config (" +
                      options_.config_path + ": /shares/" + share +
                      "/auth_command); renew the credentials yourself, then `hoard auth " + share +
                      "` probes again"));
    uint64_t job = newJob(share, "renew");
    reply.returnResults(job);
    if (!run) {
      renewed(e, job);
      return;
    }
    MutexLock lock(post_mu_);
    if (closing_) return;
    auth_->post([this, e, job, command, timeout] {
      logged("share " + e->name + ": auth_command", [&] {
        auto done = runCommand(command, std::chrono::seconds(timeout), [&](const std::string& l) {
          logMessage(6, "share " + e->name + ": auth_command: " + l, LogFields{e->name, {}, 0, {}});
        });
        std::string failure;
        if (!done)
          failure = done.error().message();
        else if (done->timed_out)
          failure = "the auth_command `" + command + "` did not finish within " +
                    std::to_string(timeout) + " s and was stopped";
        else if (done->exit_status != 0)
          failure = "the auth_command `" + command + "` exited with status " +
                    std::to_string(done->exit_status) + " (its output is in hoardd's log)";
        if (!failure.empty()) {
          logMessage(4, "share " + e->name + ": " + failure,
                     LogFields{e->name, {}, 0, "org.hoard.Error.AuthenticationRequired"});
          signal([&] { emitJobFinished(job, e->name, dbus::errorName(ErrorCode::kAuthExpired), failure); });
          return;
        }
        renewed(e, job);
      });
    });
  });
}

void Agent::renewed(std::shared_ptr<Engine> e, uint64_t job) {
  log(6, "share " + e->name + ": credentials renewed; probing the remote");
  e->engine->credentialsRenewed();
  if (auth_watch_) auth_watch_->checkNow();
  runSyncJob(std::move(e), job, "sync", false);
}

std::vector<sdbus::Struct<std::string, std::vector<uint8_t>, std::string, std::string>>
Agent::CheckReady(const std::string& share) {
  return call("CheckReady", [&] {
    auto e = engine(share);
    journal::ShareRecord rec = shareRecord(share);
    auto problems = orRaise(sync::offlineReadiness(journal_, journal_mu_, rec.id,
                                                   e->engine->status(), e->engine->lastPass()));
    std::vector<sdbus::Struct<std::string, std::vector<uint8_t>, std::string, std::string>> out;
    for (const auto& p : problems)
      out.emplace_back(p.reason, bytes(p.path), p.error ? dbus::errorName(p.error->code()) : "",
                       p.message);
    return out;
  });
}

}  // namespace hoard::daemon
