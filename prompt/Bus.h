// SPDX-License-Identifier: MIT
#pragma once

// hoard-prompt's three faces on the session bus, thin over the proxies and
// the adaptor generated from the XML: hoardd (org.hoard.Agent1), the
// desktop's notification server (org.freedesktop.Notifications) and its own
// resolver object (org.hoard.Resolver1). They translate; what to do is the
// Prompt's business. Signal callbacks run on the bus thread: they only
// hand over (to the Prompt's worker).

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <sdbus-c++/sdbus-c++.h>

#include "common/Error.h"
#include "dbus/org.hoard.Agent1.proxy.h"
#include "dbus/org.hoard.Resolver1.adaptor.h"
#include "prompt/ReadTexts.h"
#include "prompt/ReadyTexts.h"
#include "prompt/Texts.h"
#include "prompt/org.freedesktop.Notifications.proxy.h"

namespace hoard::prompt {

inline constexpr const char* kAgentName = "org.hoard.Agent1";
inline constexpr const char* kNotificationsName = "org.freedesktop.Notifications";
inline constexpr const char* kResolverObject = "/org/hoard/Prompt";

// hoardd. Methods may be called from any thread; each turns a D-Bus error
// into an Error whose message holds its name and text.
class AgentLink final : public sdbus::ProxyInterfaces<org::hoard::Agent1_proxy> {
 public:
  explicit AgentLink(sdbus::IConnection& connection);
  ~AgentLink();

  // Conflict `id` was resolved (by anyone, us included).
  std::function<void(uint64_t)> on_resolved;
  // StateChanged(share, state, reason).
  std::function<void(const std::string& share)> on_state_changed;
  // AuthenticationRequired(share, message).
  std::function<void(const std::string& share)> on_auth_required;
  // AuthenticationExpiring(share, seconds_left, message).
  std::function<void(const std::string& share, int64_t seconds_left)> on_auth_expiring;
  // JobFinished(job, share, error, message).
  std::function<void(uint64_t job, const std::string& error, const std::string& message)>
      on_job_finished;

  // ReadWanted: a program's offline read waits for an answer (offline_reads "ask").
  std::function<void(ReadWanted)> on_read_wanted;
  // ReadQuestionOver(question, share, outcome).
  std::function<void(uint64_t question)> on_read_over;

  // Registers kResolverObject as resolver "prompt", the default for what no
  // rule takes (done already by this connection counts as done). kExists if
  // another program holds the name.
  Status registerPrompt();
  // Answers a ReadWanted question: "wait", "fail" or "always-fail".
  Status answerRead(uint64_t question, const std::string& answer);
  // Decides conflict `id` with keep-local, keep-remote or stash.
  Status resolve(uint64_t id, const std::string& how);
  // Whether conflict `id` is still waiting (open or merging); false if
  // hoardd does not know it.
  Result<bool> isOpen(uint64_t id);
  // Read-only descriptors of base, local, remote (empty files where absent).
  Result<std::vector<sdbus::UnixFd>> versions(uint64_t id);

  // Renew(share): hoardd runs the share's auth_command, then probes; the
  // job's JobFinished says how it went. kInvalidArgument if the share has
  // no auth_command.
  Result<uint64_t> renew(const std::string& share);
  // Whether the share's remote refuses hoard's credentials (GetStatus
  // "auth_required").
  Result<bool> authRequired(const std::string& share);
  // The shares in state "auth-required" (ListShares).
  Result<std::vector<std::string>> sharesAwaitingAuth();
  // CheckReady and the state of every share, in hoardd's order.
  Result<std::vector<ShareReadiness>> readiness();

 private:
  void onStateChanged(const std::string& share, const std::string&, const std::string&) override;
  void onConflictDetected(const uint64_t&, const std::string&, const std::vector<uint8_t>&,
                          const std::string&) override {}
  void onConflictResolved(const uint64_t& id, const std::string&, const std::vector<uint8_t>&,
                          const std::string&, const std::string&, const std::string&) override;
  void onProgress(const uint64_t&, const std::string&, const std::string&, const uint64_t&,
                  const uint64_t&, const uint32_t&, const uint32_t&) override {}
  void onJobFinished(const uint64_t& job, const std::string&, const std::string& error,
                     const std::string& message) override;
  void onFetchProgress(const std::string&, const std::vector<uint8_t>&, const std::string&,
                       const uint64_t&, const uint64_t&) override {}
  void onReadWanted(const uint64_t& question, const std::string& share,
                    const std::vector<uint8_t>& path, const std::string& program,
                    const uint32_t& deadline_s) override;
  void onReadQuestionOver(const uint64_t& question, const std::string& share,
                          const std::string& outcome) override;
  void onAuthenticationRequired(const std::string& share, const std::string&) override;
  void onAuthenticationExpiring(const std::string& share, const int64_t& seconds_left,
                                const std::string&) override;
};

// The notification server.
class Notifier final : public sdbus::ProxyInterfaces<org::freedesktop::Notifications_proxy> {
 public:
  explicit Notifier(sdbus::IConnection& connection);
  ~Notifier();

  std::function<void(uint32_t id, std::string key)> on_action;
  std::function<void(uint32_t id, uint32_t reason)> on_closed;

  // Asks the server what it can do (no actions, no markup if it is absent).
  ServerCaps capabilities();
  // Shows `t` (replacing notification `replaces` if not 0); its id.
  Result<uint32_t> show(const NoteText& t, uint32_t replaces);
  void close(uint32_t id);  // errors ignored: it may be gone already

 private:
  void onNotificationClosed(const uint32_t& id, const uint32_t& reason) override;
  void onActionInvoked(const uint32_t& id, const std::string& key) override;
};

// Our org.hoard.Resolver1 object: every conflict hoardd hands over is
// passed to `on_conflict` and answered "defer" at once (the person decides
// later, through Resolve on the agent).
class ResolverObject final : public sdbus::AdaptorInterfaces<org::hoard::Resolver1_adaptor> {
 public:
  explicit ResolverObject(sdbus::IConnection& connection);
  ~ResolverObject();

  std::function<void(ConflictInfo)> on_conflict;

 private:
  std::string Resolve(const std::map<std::string, sdbus::Variant>& conflict,
                      const sdbus::UnixFd& base, const sdbus::UnixFd& local,
                      const sdbus::UnixFd& remote, const sdbus::UnixFd& output) override;
  // hoardd stops using us (it is stopping): nothing to do; when it comes
  // back, its name's new owner makes us register again.
  void Release() override {}
};

// Calls `on_owner(name, new_owner)` when org.hoard.Agent1 or the
// notification server gets a new owner ("" when it left).
std::unique_ptr<sdbus::IProxy> watchNames(
    sdbus::IConnection& connection,
    std::function<void(const std::string&, const std::string&)> on_owner);

}  // namespace hoard::prompt
