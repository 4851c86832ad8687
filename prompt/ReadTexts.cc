// SPDX-License-Identifier: MIT
#include "prompt/ReadTexts.h"

namespace hoard::prompt {

namespace {

std::string lastName(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string duration(uint32_t s) {
  if (s >= 120 && s % 60 == 0) return std::to_string(s / 60) + " minutes";
  return std::to_string(s) + (s == 1 ? " second" : " seconds");
}

}  // namespace

NoteText readWantedText(const ReadWanted& r, ServerCaps caps) {
  const std::string program = r.program.empty() ? "A program" : shown(r.program);
  NoteText t;
  t.summary = program + " wants " + shown(lastName(r.path)) + ", which is not available offline";
  t.body = shown(r.path) + " is in " + r.share +
           ", whose server cannot be reached, and its data is not kept on this computer. " +
           program + " waits for it up to " + duration(r.deadline_s) + ", then the read fails.";
  if (caps.actions) {
    t.actions = {kReadWait,       "Wait for the network", kReadFail, "Fail",
                 kReadAlwaysFail, "Always fail for " + program};
  } else {
    t.body += " To stop it now, interrupt " + program + " (Ctrl-C).";
  }
  if (caps.markup) t.body = escapeMarkup(t.body);
  t.icon = "network-offline";
  t.expire_timeout = static_cast<int32_t>(r.deadline_s) * 1000;
  return t;
}

}  // namespace hoard::prompt
