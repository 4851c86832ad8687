// SPDX-License-Identifier: MIT
#pragma once

// What hoard-prompt says when a program reads a file of an on-demand share
// whose data is not available offline (offline_reads "ask"): "totem wants
// film.mkv, which is not available offline", with Wait for the network /
// Fail / Always fail for totem. Pure functions, no bus.

#include <cstdint>
#include <string>

#include "prompt/Texts.h"

namespace hoard::prompt {

// A ReadWanted signal.
struct ReadWanted {
  uint64_t question = 0;
  std::string share;
  std::string path;  // share-relative, bytes
  std::string program;
  uint32_t deadline_s = 0;
};

// The action keys: AnswerRead's answers.
inline constexpr const char* kReadWait = "wait";
inline constexpr const char* kReadFail = "fail";
inline constexpr const char* kReadAlwaysFail = "always-fail";

// The question, expiring with the reads' deadline (then the reads fail,
// as they do unanswered). Without actions it only says what happens.
NoteText readWantedText(const ReadWanted& r, ServerCaps caps);

}  // namespace hoard::prompt
