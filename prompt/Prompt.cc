// SPDX-License-Identifier: MIT
#include "prompt/Prompt.h"

#include <algorithm>
#include <filesystem>
#include <iostream>

#include "common/RelPath.h"
#include "prompt/Compare.h"

namespace hoard::prompt {

namespace {

// Conflicts that arrive within this of each other are one batch...
constexpr std::chrono::milliseconds kQuiet(600);
// ...but a steady trickle is shown after this at the latest.
constexpr std::chrono::milliseconds kMaxGather(3000);

// sd-daemon priority prefixes, as hoardd's plain log lines.
void log(int priority, const std::string& message) {
  std::cerr << "<" << priority << ">hoard-prompt: " << message << std::endl;
}

bool isChoice(const std::string& key) {
  return key == kKeepLocal || key == kKeepRemote || key == kStash || key == kKeepAllLocal ||
         key == kKeepAllRemote;
}

// keep-all-local -> keep-local.
std::string resolverOf(const std::string& key) {
  if (key == kKeepAllLocal) return kKeepLocal;
  if (key == kKeepAllRemote) return kKeepRemote;
  return key;
}

}  // namespace

Prompt::Prompt(Worker& worker, AgentLink& agent, Notifier& notifier, PromptConfig config)
    : worker_(worker), agent_(agent), notifier_(notifier), config_(std::move(config)) {}

void Prompt::offer(ConflictInfo c) {
  auto it = known_.find(c.id);
  if (it != known_.end()) {  // shown or waiting for its reminder: news later
    it->second.info = std::move(c);
    return;
  }
  uint64_t id = c.id;
  known_[id] = Known{std::move(c), 0};
  auto now = Worker::Clock::now();
  if (pending_.empty()) first_pending_ = now;
  last_pending_ = now;
  pending_.push_back(id);
  if (!flush_posted_) {
    flush_posted_ = true;
    worker_.postAfter(kQuiet, [this] { flush(); });
  }
}

void Prompt::flush() {
  flush_posted_ = false;
  auto now = Worker::Clock::now();
  if (pending_.empty()) return;
  if (now - last_pending_ < kQuiet && now - first_pending_ < kMaxGather) {
    flush_posted_ = true;
    auto wait = std::min(kQuiet - (now - last_pending_), kMaxGather - (now - first_pending_));
    worker_.postAfter(std::chrono::duration_cast<std::chrono::milliseconds>(wait) +
                          std::chrono::milliseconds(1),
                      [this] { flush(); });
    return;
  }
  showPending();
}

void Prompt::showPending() {
  std::vector<std::pair<std::string, std::vector<uint64_t>>> groups;  // by share, in order
  for (uint64_t id : pending_) {
    auto k = known_.find(id);
    if (k == known_.end() || k->second.note != 0) continue;
    const std::string& share = k->second.info.share;
    auto g = std::find_if(groups.begin(), groups.end(), [&](auto& x) { return x.first == share; });
    if (g == groups.end())
      g = groups.insert(groups.end(), std::pair<std::string, std::vector<uint64_t>>{share, {}});
    g->second.push_back(id);
  }
  pending_.clear();
  for (auto& [share, ids] : groups) {
    // One notification per share: one already up takes the newcomers in.
    uint32_t up = noteOfShare(share);
    if (up != 0) {
      std::vector<uint64_t> all = notes_[up].ids;
      all.insert(all.end(), ids.begin(), ids.end());
      ids = std::move(all);
    }
    show(share, ids, up);
  }
}

uint32_t Prompt::noteOfShare(const std::string& share) const {
  for (const auto& [id, n] : notes_)
    if (n.share == share) return id;
  return 0;
}

void Prompt::show(const std::string& share, std::vector<uint64_t> ids, uint32_t replaces) {
  if (replaces != 0) notes_.erase(replaces);
  std::vector<ConflictInfo> infos;
  for (uint64_t id : ids) infos.push_back(known_.at(id).info);
  NoteText text = infos.size() == 1 ? singleText(infos[0], caps_) : batchText(share, infos, caps_);
  auto note = notifier_.show(text, replaces);
  if (!note) {
    log(4, "cannot show \"" + text.summary + "\": " + note.error().message() +
               "; trying again after the reminder interval");
    for (uint64_t id : ids) known_.at(id).note = 0;
    remindLater(ids);
    return;
  }
  for (uint64_t id : ids) known_.at(id).note = *note;
  notes_[*note] = Note{share, std::move(ids)};
}

void Prompt::untrack(uint32_t note) {
  auto it = notes_.find(note);
  if (it == notes_.end()) return;
  for (uint64_t id : it->second.ids)
    if (auto k = known_.find(id); k != known_.end()) k->second.note = 0;
  notes_.erase(it);
}

void Prompt::action(uint32_t note, const std::string& key) {
  auto it = notes_.find(note);
  if (it == notes_.end()) return;  // not ours, or already answered
  Note n = it->second;
  untrack(note);
  if (isChoice(key)) {
    notifier_.close(note);  // most servers close it on an action; not all do
    apply(n.ids, resolverOf(key));
  } else if (key == kCompare) {
    notifier_.close(note);
    compare(n);
    show(n.share, n.ids, 0);  // the choice is still to be made
  } else if (key == kShowThem) {
    notifier_.close(note);
    for (uint64_t id : n.ids) show(n.share, {id}, 0);
  } else {
    show(n.share, n.ids, 0);  // an action we never offered: keep asking
  }
}

void Prompt::apply(const std::vector<uint64_t>& ids, const std::string& how) {
  std::vector<uint64_t> failed;
  std::string why;
  for (uint64_t id : ids) {
    auto k = known_.find(id);
    if (k == known_.end()) continue;  // resolved meanwhile
    Status st = agent_.resolve(id, how);
    if (st || st.error().code() == ErrorCode::kNotFound) {
      forget(id);
      continue;
    }
    log(4, "conflict #" + std::to_string(id) + " at " + shown(k->second.info.path) + ": " + how +
               " failed: " + st.error().message());
    if (failed.empty()) why = st.error().message();
    failed.push_back(id);
  }
  if (failed.empty()) return;
  NoteText t = failureText(known_.at(failed[0]).info, how, why, caps_);
  if (failed.size() > 1) t.summary += " and " + std::to_string(failed.size() - 1) + " more";
  (void)notifier_.show(t, 0);
  remindLater(failed);
}

void Prompt::compare(const Note& n) {
  const ConflictInfo& c = known_.at(n.ids[0]).info;
  auto fail = [&](const Error& e) {
    log(4, "compare " + shown(c.path) + ": " + e.message());
    (void)notifier_.show(failureText(c, kCompare, e.message(), caps_), 0);
  };
  auto fds = agent_.versions(c.id);
  if (!fds) return fail(fds.error());
  auto copies = writeCopies(copiesRoot(), c.id, std::string(baseName(c.path)), (*fds)[0].get(),
                            (*fds)[1].get(), (*fds)[2].get());
  if (!copies) return fail(copies.error());
  copies_[c.id].push_back(copies->dir);
  auto plan = planCompare(config_.compare_tool, *copies);
  if (!plan) return fail(plan.error());
  if (auto st = runCompare(*plan, *copies); !st) return fail(st.error());
  log(6, "compare " + shown(c.path) + ": " + plan->argv[0] + " on " + copies->dir);
}

void Prompt::closed(uint32_t note) {
  auto it = notes_.find(note);
  if (it == notes_.end()) return;  // closed by us, or replaced
  std::vector<uint64_t> ids = it->second.ids;
  untrack(note);
  remindLater(ids);
}

void Prompt::remindLater(const std::vector<uint64_t>& ids) {
  worker_.postAfter(std::chrono::duration_cast<std::chrono::milliseconds>(config_.reminder_interval),
                    [this, ids] { remind(ids); });
}

void Prompt::remind(const std::vector<uint64_t>& ids) {
  std::vector<uint64_t> again;
  for (uint64_t id : ids) {
    auto k = known_.find(id);
    if (k == known_.end() || k->second.note != 0) continue;
    auto open = agent_.isOpen(id);
    if (!open) {  // hoardd is away: ask again later
      again.push_back(id);
    } else if (!*open) {
      forget(id);
    } else {
      pending_.push_back(id);
    }
  }
  if (!again.empty()) remindLater(again);
  showPending();
}

void Prompt::resolved(uint64_t id) {
  pending_.erase(std::remove(pending_.begin(), pending_.end(), id), pending_.end());
  auto k = known_.find(id);
  if (k == known_.end()) return;
  uint32_t note = k->second.note;
  forget(id);
  auto n = notes_.find(note);
  if (note == 0 || n == notes_.end()) return;
  std::vector<uint64_t> rest;
  for (uint64_t other : n->second.ids)
    if (other != id) rest.push_back(other);
  if (rest.empty()) {
    untrack(note);
    notifier_.close(note);
  } else {
    std::string share = n->second.share;
    show(share, rest, note);  // one fewer to decide
  }
}

void Prompt::forget(uint64_t id) {
  known_.erase(id);
  auto c = copies_.find(id);
  if (c == copies_.end()) return;
  for (const auto& dir : c->second) {
    std::error_code ec;
    // The copies were made read-only; their folder is ours to remove.
    std::filesystem::remove_all(dir, ec);
  }
  copies_.erase(c);
}

void Prompt::serverChanged() {
  caps_ = notifier_.capabilities();
  // A new server shows none of the old one's notifications: show them again.
  for (const auto& [note, n] : notes_) pending_.insert(pending_.end(), n.ids.begin(), n.ids.end());
  for (auto& [id, k] : known_) k.note = 0;
  notes_.clear();
  showPending();
}

void Prompt::agentAppeared() {
  if (auto st = agent_.registerPrompt(); !st)
    log(4, "cannot register with hoardd: " + st.error().message());
  else
    log(6, "registered with hoardd as resolver \"prompt\"");
}

}  // namespace hoard::prompt
