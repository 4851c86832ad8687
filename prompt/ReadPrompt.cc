// SPDX-License-Identifier: MIT
#include "prompt/ReadPrompt.h"

#include <iostream>

namespace hoard::prompt {

ReadPrompt::ReadPrompt(AgentLink& agent, Notifier& notifier) : agent_(agent), notifier_(notifier) {}

void ReadPrompt::serverChanged() { caps_ = notifier_.capabilities(); }

void ReadPrompt::wanted(const ReadWanted& r) {
  for (const auto& [note, q] : notes_)
    if (q == r.question) return;  // shown already
  auto note = notifier_.show(readWantedText(r, caps_), 0);
  if (!note) {
    std::cerr << "<4>hoard-prompt: cannot ask about " << shown(r.path) << " of " << r.share
              << ": " << note.error().message() << "; the read waits until its deadline"
              << std::endl;
    return;
  }
  notes_[*note] = r.question;
}

void ReadPrompt::over(uint64_t question) {
  for (auto it = notes_.begin(); it != notes_.end(); ++it) {
    if (it->second != question) continue;
    uint32_t note = it->first;
    notes_.erase(it);  // first: the NotificationClosed that follows finds nothing of ours
    notifier_.close(note);
    return;
  }
}

void ReadPrompt::action(uint32_t note, const std::string& key) {
  auto it = notes_.find(note);
  if (it == notes_.end()) return;
  if (key != kReadWait && key != kReadFail && key != kReadAlwaysFail) return;
  uint64_t question = it->second;
  if (Status s = agent_.answerRead(question, key); !s) {
    // Over meanwhile (the share came back): nothing is waiting any more.
    if (s.error().code() != ErrorCode::kNotFound)
      std::cerr << "<4>hoard-prompt: answering question " << question << ": "
                << s.error().message() << std::endl;
  }
  // "wait" keeps the notification's question open, but the person has
  // answered: it goes; ReadQuestionOver then finds nothing to close.
  notes_.erase(note);
  notifier_.close(note);
}

void ReadPrompt::closed(uint32_t note) { notes_.erase(note); }

}  // namespace hoard::prompt
