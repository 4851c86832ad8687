// SPDX-License-Identifier: MIT
#pragma once

// What `hoard-prompt --ready` says: "Your work is ready to go offline", or
// per share what is not offline-ready and why, in the words of `hoard
// ready` (Agent1.CheckReady's reasons and messages). Pure functions, no bus.

#include <string>
#include <vector>

#include "prompt/Texts.h"

namespace hoard::prompt {

// One share's answer to CheckReady.
struct ShareReadiness {
  struct Problem {
    std::string reason;   // not-fetched, over-budget, failed, unsent, conflict, not-checked
    std::string message;  // hoardd's sentence for a person
  };
  std::string share;
  std::string state;  // GetStatus "state": online, offline, reintegrating, auth-required
  std::vector<Problem> problems;
};

// At most this many problems of one share are listed; the rest are counted
// and `hoard ready SHARE` named for the whole list.
inline constexpr size_t kReadyProblemsShown = 5;

// The one notification answering "Is my work offline-ready?" for `shares`
// (every share hoardd has). Ready: summary "Your work is ready to go
// offline". Not: "Your work is not ready to go offline" and, per share,
// "work: not offline-ready (online), 2 problems:" and a line "reason:
// message" for each, as `hoard ready` prints them.
NoteText readyText(const std::vector<ShareReadiness>& shares, ServerCaps caps);

// The notification for a question that got no answer (hoardd unreachable):
// `why` is the error.
NoteText readyFailedText(const std::string& why, ServerCaps caps);

}  // namespace hoard::prompt
