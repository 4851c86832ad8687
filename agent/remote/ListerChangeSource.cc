// SPDX-License-Identifier: MIT
#include "remote/ListerChangeSource.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <thread>
#include <unordered_map>

#include "common/RelPath.h"
#include "common/ThreadAnnotations.h"

namespace hoard::remote {

ListerChangeSource::ListerChangeSource(std::shared_ptr<RemoteFs> mount, std::string marker_id,
                                       ListerSettings settings,
                                       std::function<void(const std::string&)> on_fallback)
    : mount_(std::move(mount)),
      marker_id_(std::move(marker_id)),
      settings_(std::move(settings)),
      on_fallback_(std::move(on_fallback)) {}

ListerChangeSource::Last ListerChangeSource::last() const {
  MutexLock lock(last_mu_);
  return last_;
}

void ListerChangeSource::noteLast(Last l) {
  std::string before;
  {
    MutexLock lock(last_mu_);
    before = last_.reason;
    last_ = l;
  }
  if (on_fallback_ && l.reason != before) on_fallback_(l.reason);
}

Result<RemoteChanges> ListerChangeSource::changes(const std::optional<std::string>&) {
  auto argv = listerCommand(settings_);
  if (!argv) return walkMount(argv.error().message(), nullptr);
  auto answer = runLister(*argv, settings_.idle_deadline);
  if (!answer) return walkMount(answer.error().message(), nullptr);
  std::string marker = answer->marker.value_or("");
  if (!marker.empty() && marker.back() == '\n') marker.pop_back();
  if (!answer->marker || marker != marker_id_)
    return walkMount("hoard-lister at " + settings_.spec + " lists a tree that is not this share's (" +
                         (answer->marker ? "its share marker is " + marker
                                         : std::string("it has no share marker")) +
                         ", the share's is " + marker_id_ + ")",
                     nullptr);
  if (known_.empty()) return walkMount("", &*answer);
  return fromLister(*answer);
}

// The mount's walk answers; with `pair_with`, the lister's records of the
// same paths are kept beside the mount's Stats for the next pass.
Result<RemoteChanges> ListerChangeSource::walkMount(const std::string& reason,
                                                    const ListerAnswer* pair_with) {
  known_.clear();
  auto walked = mount_->walk("");
  if (!walked) return tl::unexpected(walked.error());
  if (pair_with != nullptr) {
    std::unordered_map<std::string_view, const Stat*> by_path;
    for (const auto& w : *walked)
      if (!w.unlisted) by_path.emplace(w.path, &w.stat);
    for (const auto& e : pair_with->entries) {
      if (e.unlisted_errno) continue;
      if (auto it = by_path.find(e.path); it != by_path.end())
        known_.emplace(e.path, Paired{e, *it->second});
    }
  }
  noteLast({false, 0, walked->size(), pair_with != nullptr ? "" : reason});
  RemoteChanges out;
  out.entries = std::move(*walked);
  return out;
}

// The lister's record to keep beside the mount's Stat `now`. When the
// server saw a change the mount does not show yet (its attribute cache, an
// attr_timeout above 0), the record of before is kept, so the next pass
// asks the mount again instead of trusting a Stat from before the change.
const ListerEntry& ListerChangeSource::pairedRecord(const ListerEntry& seen, const Stat& now) const {
  auto it = known_.find(seen.path);
  if (it != known_.end() && !(it->second.lister == seen) && it->second.mount == now)
    return it->second.lister;
  return seen;
}

Result<RemoteChanges> ListerChangeSource::fromLister(ListerAnswer& answer) {
  std::unordered_map<std::string_view, int> unlisted;
  std::vector<const ListerEntry*> listed;
  for (const auto& e : answer.entries) {
    if (e.unlisted_errno)
      unlisted.emplace(e.path, *e.unlisted_errno);
    else
      listed.push_back(&e);
  }
  std::vector<std::optional<Stat>> stats(listed.size());
  std::vector<const RelPath*> ask;
  std::vector<size_t> asked;
  for (size_t i = 0; i < listed.size(); ++i) {
    auto it = known_.find(listed[i]->path);
    if (it != known_.end() && it->second.lister == *listed[i] && !unlisted.count(listed[i]->path)) {
      stats[i] = it->second.mount;
    } else {
      ask.push_back(&listed[i]->path);
      asked.push_back(i);
    }
  }
  auto got = statMount(ask);
  if (!got) {
    known_.clear();
    return tl::unexpected(got.error());
  }
  for (size_t j = 0; j < asked.size(); ++j) stats[asked[j]] = std::move((*got)[j]);

  RemoteChanges out;
  std::map<RelPath, Paired> next;
  for (size_t i = 0; i < listed.size(); ++i) {
    if (!stats[i]) continue;  // gone between the lister and the mount
    WalkEntry w{listed[i]->path, *stats[i], std::nullopt};
    if (auto u = unlisted.find(w.path); u != unlisted.end())
      w.unlisted = Error(errorCodeFromErrno(u->second),
                         "cannot list '" + displayPath(w.path) + "' on the server: " +
                             std::strerror(u->second),
                         u->second);
    else
      next.emplace(w.path, Paired{pairedRecord(*listed[i], w.stat), w.stat});
    out.entries.push_back(std::move(w));
  }
  known_ = std::move(next);
  noteLast({true, listed.size() - ask.size(), ask.size(), ""});
  return out;
}

// lstat of each path through the mount, up to max_in_flight at once; a path
// gone meanwhile is nullopt. The first other error fails the whole answer.
Result<std::vector<std::optional<Stat>>> ListerChangeSource::statMount(
    const std::vector<const RelPath*>& paths) {
  std::vector<std::optional<Stat>> out(paths.size());
  std::atomic<size_t> next{0};
  Mutex mu;
  std::optional<Error> first;
  auto work = [&] {
    for (size_t i; (i = next++) < paths.size();) {
      auto st = mount_->lstat(*paths[i]);
      if (st) {
        out[i] = std::move(*st);
        continue;
      }
      if (st.error().code() == ErrorCode::kNotFound) continue;
      MutexLock lock(mu);
      if (!first) first = st.error();
      next = paths.size();
      return;
    }
  };
  size_t threads = std::min(settings_.max_in_flight, paths.size());
  std::vector<std::thread> helpers;
  for (size_t t = 1; t < threads; ++t) helpers.emplace_back(work);
  work();
  for (auto& t : helpers) t.join();
  if (first) return tl::unexpected(*first);
  return out;
}

}  // namespace hoard::remote
