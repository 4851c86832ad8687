// SPDX-License-Identifier: MIT
#include "prompt/AuthTexts.h"

namespace hoard::prompt {

namespace {

// Renew as a button, or the command to type where there are none.
void offerRenewal(NoteText& t, const std::string& share, ServerCaps caps, const std::string& to) {
  if (caps.actions)
    t.actions = {kRenew, "Renew"};
  else
    t.body += "\n" + to + ", run: hoard auth " + share;
  if (caps.markup) t.body = escapeMarkup(t.body);
  t.icon = "dialog-password";
}

std::string minutes(int64_t seconds) {
  int64_t m = (seconds + 59) / 60;
  return std::to_string(m) + (m == 1 ? " minute" : " minutes");
}

}  // namespace

NoteText authRequiredText(const std::string& share, ServerCaps caps) {
  NoteText t;
  t.summary = "Your credentials for " + share + " have expired";
  t.body = "The server of " + share +
           " no longer accepts them. Your work goes on in the cache and nothing is lost; "
           "renew them to send your changes to the server.";
  offerRenewal(t, share, caps, "To renew them");
  return t;
}

NoteText authExpiringText(const std::string& share, int64_t seconds_left, ServerCaps caps) {
  if (seconds_left <= 0) return authRequiredText(share, caps);
  NoteText t;
  t.summary = "Your credentials for " + share + " expire in " + minutes(seconds_left);
  t.body = "Renew them now and your changes keep reaching the server. If they expire, your "
           "work goes on in the cache and nothing is lost.";
  offerRenewal(t, share, caps, "To renew them");
  return t;
}

NoteText renewFailedText(const std::string& share, const std::string& why, ServerCaps caps) {
  NoteText t;
  t.summary = "Could not renew your credentials for " + share;
  t.body = why + "\nYour work goes on in the cache and nothing is lost.";
  offerRenewal(t, share, caps, "To try again");
  return t;
}

}  // namespace hoard::prompt
