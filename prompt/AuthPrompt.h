// SPDX-License-Identifier: MIT
#pragma once

// What hoard-prompt does about credentials: one notification per share
// whose remote refuses them (AuthenticationRequired, or found in
// auth-required when hoardd appears), or whose credentials are about to
// expire (AuthenticationExpiring), with Renew. Renew calls hoardd's Renew
// (the share's auth_command, detached, then a probe and a pass); a renewal
// that fails updates the notification with hoardd's message; the
// notification closes once the share's remote lets hoard in again
// (StateChanged, then GetStatus says so). Closed by the person, it comes
// back after the reminder interval while the share still waits.
//
// Every member runs on the worker thread, as the Prompt's.

#include <chrono>
#include <cstdint>
#include <map>
#include <string>

#include "prompt/Bus.h"
#include "prompt/Texts.h"
#include "prompt/Worker.h"

namespace hoard::prompt {

class AuthPrompt {
 public:
  AuthPrompt(Worker& worker, AgentLink& agent, Notifier& notifier,
             std::chrono::seconds reminder_interval);

  // AuthenticationRequired for `share`.
  void required(const std::string& share);
  // AuthenticationExpiring for `share`.
  void expiring(const std::string& share, int64_t seconds_left);
  // StateChanged for `share`: closes its notification if access works.
  void stateChanged(const std::string& share);
  // JobFinished: the end of a renewal we asked for, or someone else's job.
  void jobFinished(uint64_t job, const std::string& error, const std::string& message);
  // The person chose `key` on notification `note` (ignored if not ours).
  void action(uint32_t note, const std::string& key);
  // Notification `note` went away without a choice (ignored if not ours).
  void closed(uint32_t note);
  // The notification server (re)appeared: ask it again, show ours again.
  void serverChanged();
  // hoardd (re)appeared: asks which shares wait for credentials, shows
  // those, closes the notifications of shares that no longer do.
  void agentAppeared();

 private:
  enum class Kind { kRequired, kExpiring, kFailed };
  struct Note {
    Kind kind = Kind::kRequired;
    uint32_t id = 0;           // on screen, 0 for none
    int64_t seconds_left = 0;  // kExpiring
    std::string why;           // kFailed: hoardd's message
    uint64_t job = 0;          // the renewal under way, 0 for none
    bool reminder = false;     // a reminder is posted
  };

  void show(const std::string& share, Note& n);
  void renew(const std::string& share, Note& n);
  void failed(const std::string& share, Note& n, const std::string& why);
  void closeIfAccessWorks(const std::string& share);
  void drop(const std::string& share);
  void remind(const std::string& share);
  const std::string* shareOfNote(uint32_t note) const;

  Worker& worker_;
  AgentLink& agent_;
  Notifier& notifier_;
  std::chrono::seconds reminder_interval_;
  ServerCaps caps_;
  std::map<std::string, Note> notes_;  // by share
};

}  // namespace hoard::prompt
