// SPDX-License-Identifier: MIT
#pragma once

// What hoard-prompt does with the conflicts hoardd hands it: gathers those
// that arrive together (a pass that finds 40 makes one notification, "40
// conflicts in work"), shows one notification per share at a time, applies
// the person's choice through hoardd (Resolve: keep-local, keep-remote,
// stash), opens Compare on read-only copies, closes a notification whose
// conflicts were resolved elsewhere, and shows a closed one again after the
// reminder interval while its conflicts stay open.
//
// Every member runs on the worker thread (post to it from elsewhere); the
// prompt's state is the worker's alone.

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "prompt/Bus.h"
#include "prompt/PromptConfig.h"
#include "prompt/Texts.h"
#include "prompt/Worker.h"

namespace hoard::prompt {

class Prompt {
 public:
  Prompt(Worker& worker, AgentLink& agent, Notifier& notifier, PromptConfig config);

  // hoardd handed over conflict `c` (Resolver1.Resolve). A conflict already
  // shown, or waiting for its reminder, is not shown again now.
  void offer(ConflictInfo c);
  // Conflict `id` was resolved (by the CLI, a rule, another program or us).
  void resolved(uint64_t id);
  // The person chose `key` on notification `note`.
  void action(uint32_t note, const std::string& key);
  // Notification `note` went away without a choice (any reason but our own
  // CloseNotification, which untracks it first).
  void closed(uint32_t note);
  // The notification server (re)appeared: ask it again what it can do.
  void serverChanged();
  // hoardd (re)appeared: register with it.
  void agentAppeared();

 private:
  struct Note {
    std::string share;
    std::vector<uint64_t> ids;
  };
  struct Known {
    ConflictInfo info;
    uint32_t note = 0;  // the notification showing it, 0 for none
  };

  void flush();        // shows what was offered once the batch is complete
  void showPending();  // shows what was offered, now
  void forget(uint64_t id);
  void show(const std::string& share, std::vector<uint64_t> ids, uint32_t replaces);
  void apply(const std::vector<uint64_t>& ids, const std::string& how);
  void compare(const Note& n);
  void remindLater(const std::vector<uint64_t>& ids);
  void remind(const std::vector<uint64_t>& ids);
  void untrack(uint32_t note);
  uint32_t noteOfShare(const std::string& share) const;

  Worker& worker_;
  AgentLink& agent_;
  Notifier& notifier_;
  PromptConfig config_;
  ServerCaps caps_;
  std::map<uint64_t, Known> known_;      // open conflicts handed to us
  std::vector<uint64_t> pending_;        // offered, not yet shown
  std::map<uint32_t, Note> notes_;       // notifications on screen
  std::map<uint64_t, std::vector<std::string>> copies_;  // conflict -> its Compare folders
  Worker::Clock::time_point first_pending_{}, last_pending_{};
  bool flush_posted_ = false;
};

}  // namespace hoard::prompt
