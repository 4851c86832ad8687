// SPDX-License-Identifier: MIT
#include "prompt/ReadyTexts.h"

namespace hoard::prompt {

namespace {

std::string names(const std::vector<ShareReadiness>& shares) {
  std::string out;
  for (const auto& s : shares) out += (out.empty() ? "" : ", ") + s.share;
  return out;
}

std::string problemsOf(const ShareReadiness& s) {
  const size_t n = s.problems.size();
  std::string out = s.share + ": not offline-ready (" + s.state + "), " + std::to_string(n) +
                    (n == 1 ? " problem:" : " problems:");
  for (size_t i = 0; i < n && i < kReadyProblemsShown; ++i)
    out += "\n  " + s.problems[i].reason + ": " + s.problems[i].message;
  if (n > kReadyProblemsShown)
    out += "\n  and " + std::to_string(n - kReadyProblemsShown) + " more: hoard ready " + s.share;
  return out;
}

}  // namespace

NoteText readyText(const std::vector<ShareReadiness>& shares, ServerCaps caps) {
  NoteText t;
  t.expire_timeout = -1;  // an answer, not a question: the server's default
  std::vector<ShareReadiness> ready, not_ready;
  for (const auto& s : shares) (s.problems.empty() ? ready : not_ready).push_back(s);
  if (not_ready.empty()) {
    t.summary = "Your work is ready to go offline";
    t.icon = "emblem-default";
    t.body = shares.empty() ? std::string("hoard has no shares.")
                            : "Everything pinned is in the cache and every change is on the "
                              "server (" + names(shares) + ").";
  } else {
    t.summary = "Your work is not ready to go offline";
    t.icon = "dialog-warning";
    for (const auto& s : not_ready) t.body += (t.body.empty() ? "" : "\n") + problemsOf(s);
    if (!ready.empty()) t.body += "\nOffline-ready: " + names(ready) + ".";
  }
  if (caps.markup) t.body = escapeMarkup(t.body);
  return t;
}

NoteText readyFailedText(const std::string& why, ServerCaps caps) {
  NoteText t;
  t.expire_timeout = -1;
  t.summary = "Cannot tell whether your work is offline-ready";
  t.body = "hoardd did not answer: " + why;
  if (caps.markup) t.body = escapeMarkup(t.body);
  return t;
}

}  // namespace hoard::prompt
