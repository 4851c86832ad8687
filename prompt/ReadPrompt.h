// SPDX-License-Identifier: MIT
#pragma once

// What hoard-prompt does about reads that wait offline (offline_reads
// "ask"): one notification per question (ReadWanted), whose choice goes to
// hoardd (AnswerRead: wait, fail, always-fail); the notification closes
// when the question is over (ReadQuestionOver: the share came back, the
// reader gave up, the deadline passed, or someone else answered fail).
// Closed by the person without a choice, the reads keep waiting until
// their deadline, as unanswered.
//
// Every member runs on the worker thread, as the Prompt's.

#include <cstdint>
#include <map>
#include <string>

#include "prompt/Bus.h"
#include "prompt/ReadTexts.h"

namespace hoard::prompt {

class ReadPrompt {
 public:
  ReadPrompt(AgentLink& agent, Notifier& notifier);

  void wanted(const ReadWanted& r);
  void over(uint64_t question);
  // The person chose `key` on notification `note` (ignored if not ours).
  void action(uint32_t note, const std::string& key);
  // Notification `note` went away without a choice (ignored if not ours).
  void closed(uint32_t note);
  // The notification server (re)appeared: ask it again what it can do.
  void serverChanged();

 private:
  AgentLink& agent_;
  Notifier& notifier_;
  ServerCaps caps_;
  std::map<uint32_t, uint64_t> notes_;  // notification -> question
};

}  // namespace hoard::prompt
