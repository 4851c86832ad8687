// SPDX-License-Identifier: MIT
#include "prompt/AuthPrompt.h"

#include <algorithm>
#include <iostream>
#include <vector>

#include "prompt/AuthTexts.h"

namespace hoard::prompt {

namespace {

// sd-daemon priority prefixes, as hoardd's plain log lines.
void log(int priority, const std::string& message) {
  std::cerr << "<" << priority << ">hoard-prompt: " << message << std::endl;
}

}  // namespace

AuthPrompt::AuthPrompt(Worker& worker, AgentLink& agent, Notifier& notifier,
                       std::chrono::seconds reminder_interval)
    : worker_(worker), agent_(agent), notifier_(notifier), reminder_interval_(reminder_interval) {}

void AuthPrompt::required(const std::string& share) {
  Note& n = notes_[share];
  if (n.kind == Kind::kRequired && n.id != 0) return;  // said already
  n.kind = Kind::kRequired;
  show(share, n);
}

void AuthPrompt::expiring(const std::string& share, int64_t seconds_left) {
  auto it = notes_.find(share);
  // Refused already: that notification says more than a warning would.
  if (it != notes_.end() && it->second.kind != Kind::kExpiring) return;
  Note& n = notes_[share];
  n.kind = Kind::kExpiring;
  n.seconds_left = seconds_left;
  show(share, n);
}

void AuthPrompt::show(const std::string& share, Note& n) {
  NoteText t = n.kind == Kind::kExpiring ? authExpiringText(share, n.seconds_left, caps_)
               : n.kind == Kind::kFailed ? renewFailedText(share, n.why, caps_)
                                         : authRequiredText(share, caps_);
  auto id = notifier_.show(t, n.id);
  if (!id) {
    log(4, "cannot show \"" + t.summary + "\": " + id.error().message() +
               "; trying again after the reminder interval");
    n.id = 0;
    if (!n.reminder) {
      n.reminder = true;
      worker_.postAfter(std::chrono::duration_cast<std::chrono::milliseconds>(reminder_interval_),
                        [this, share] { remind(share); });
    }
    return;
  }
  n.id = *id;
}

void AuthPrompt::action(uint32_t note, const std::string& key) {
  const std::string* share = shareOfNote(note);
  if (share == nullptr || key != kRenew) return;
  std::string name = *share;
  renew(name, notes_[name]);
}

void AuthPrompt::renew(const std::string& share, Note& n) {
  if (n.job != 0) return;  // one renewal at a time
  auto job = agent_.renew(share);
  if (!job) {
    log(4, "share " + share + ": Renew failed: " + job.error().message());
    failed(share, n, job.error().message());
    return;
  }
  n.job = *job;
  // The notification stays until the renewal says how it went: a failure
  // replaces it, access that works closes it.
  log(6, "share " + share + ": renewing the credentials (job " + std::to_string(*job) + ")");
}

void AuthPrompt::failed(const std::string& share, Note& n, const std::string& why) {
  n.kind = Kind::kFailed;
  n.why = why;
  show(share, n);
}

void AuthPrompt::jobFinished(uint64_t job, const std::string& error, const std::string& message) {
  auto it = std::find_if(notes_.begin(), notes_.end(),
                         [&](const auto& kv) { return kv.second.job == job; });
  if (job == 0 || it == notes_.end()) return;  // not a renewal of ours
  std::string share = it->first;
  it->second.job = 0;
  if (error.empty()) {
    log(6, "share " + share + ": the credentials were renewed");
    closeIfAccessWorks(share);
    return;
  }
  log(4, "share " + share + ": the renewal failed: " + message + " (" + error + ")");
  failed(share, it->second, message.empty() ? error : message);
}

void AuthPrompt::stateChanged(const std::string& share) {
  auto it = notes_.find(share);
  if (it == notes_.end() || it->second.kind == Kind::kExpiring) return;
  closeIfAccessWorks(share);
}

void AuthPrompt::closeIfAccessWorks(const std::string& share) {
  auto refused = agent_.authRequired(share);
  if (!refused) {
    log(4, "share " + share + ": cannot ask hoardd about the credentials: " +
               refused.error().message());
    return;
  }
  if (!*refused) drop(share);
}

void AuthPrompt::drop(const std::string& share) {
  auto it = notes_.find(share);
  if (it == notes_.end()) return;
  uint32_t id = it->second.id;
  notes_.erase(it);  // first: our own CloseNotification then finds nothing of ours
  if (id != 0) notifier_.close(id);
}

void AuthPrompt::closed(uint32_t note) {
  const std::string* share = shareOfNote(note);
  if (share == nullptr) return;
  std::string name = *share;
  Note& n = notes_[name];
  n.id = 0;
  if (n.job != 0) return;  // closed on the Renew click: the renewal's end says more
  if (n.kind == Kind::kExpiring) {
    notes_.erase(name);  // a warning, seen
    return;
  }
  if (n.reminder) return;
  n.reminder = true;
  worker_.postAfter(std::chrono::duration_cast<std::chrono::milliseconds>(reminder_interval_),
                    [this, name] { remind(name); });
}

void AuthPrompt::remind(const std::string& share) {
  auto it = notes_.find(share);
  if (it == notes_.end()) return;
  Note& n = it->second;
  n.reminder = false;
  if (n.id != 0) return;  // shown again meanwhile
  auto refused = agent_.authRequired(share);
  if (refused && !*refused) {
    notes_.erase(it);
    return;
  }
  show(share, n);  // still refused, or hoardd is away: say it again
}

void AuthPrompt::serverChanged() {
  caps_ = notifier_.capabilities();
  // A new server shows none of the old one's notifications.
  for (auto& [share, n] : notes_) {
    if (n.id == 0) continue;
    n.id = 0;
    show(share, n);
  }
}

void AuthPrompt::agentAppeared() {
  auto waiting = agent_.sharesAwaitingAuth();
  if (!waiting) {
    log(4, "cannot ask hoardd which shares wait for credentials: " + waiting.error().message());
    return;
  }
  std::vector<std::string> gone;
  for (const auto& [share, n] : notes_)
    if (n.kind != Kind::kExpiring &&
        std::find(waiting->begin(), waiting->end(), share) == waiting->end())
      gone.push_back(share);
  for (const auto& share : gone) drop(share);
  for (const auto& share : *waiting)
    if (notes_.find(share) == notes_.end()) required(share);
}

const std::string* AuthPrompt::shareOfNote(uint32_t note) const {
  if (note == 0) return nullptr;
  for (const auto& [share, n] : notes_)
    if (n.id == note) return &share;
  return nullptr;
}

}  // namespace hoard::prompt
