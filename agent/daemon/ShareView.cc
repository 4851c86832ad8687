// SPDX-License-Identifier: MIT
#include "daemon/ShareView.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <set>

#include "common/Clock.h"
#include "common/Try.h"
#include "common/UniqueFd.h"
#include "daemon/Log.h"

namespace hoard::daemon {

std::string backingDir(const std::string& state_dir, const std::string& share) {
  return state_dir + "/backing/" + share;
}

std::string partsDir(const std::string& state_dir, const std::string& share) {
  return state_dir + "/parts/" + share;
}

ShareView::ShareView(journal::Journal& journal, Mutex& journal_mu, journal::ShareRecord share,
                     bool fetch_missed)
    : journal_(journal),
      journal_mu_(journal_mu),
      share_(std::move(share)),
      fetch_missed_(fetch_missed) {}

std::map<std::string, view::MissPolicy> answeredPolicies(
    const std::vector<journal::ReadAnswerRecord>& answers) {
  std::map<std::string, view::MissPolicy> out;
  for (const auto& a : answers)
    if (a.policy == "error") out[a.program] = view::MissPolicy::kError;
  return out;
}

Result<std::unique_ptr<ShareView>> ShareView::mount(journal::Journal& journal, Mutex& journal_mu,
                                                    const journal::ShareRecord& share,
                                                    std::shared_ptr<remote::RemoteFs> remote,
                                                    const std::string& parts_dir,
                                                    const ShareViewPolicy& policy,
                                                    ShareViewHooks hooks) {
  std::vector<journal::ListedEntry> listing;
  std::vector<journal::ReadAnswerRecord> answers;
  {
    MutexLock lock(journal_mu);
    HOARD_TRY_ASSIGN(l, journal.remoteListing(share.id));
    listing = std::move(l);
    HOARD_TRY_ASSIGN(a, journal.readAnswers());
    answers = std::move(a);
  }
  std::unique_ptr<ShareView> sv(new ShareView(journal, journal_mu, share, policy.fetch_missed));
  HOARD_TRY_ASSIGN(deleted, sv->deletedInCache());
  view::ViewOptions o;
  o.name = share.name;
  o.mountpoint = share.view_root;
  o.cache_root = share.cache_root;
  o.parts_dir = parts_dir;
  o.policy = policy.policy;
  o.wait_deadline = policy.wait_deadline;
  o.program_policies = policy.by_program;
  ShareView* raw = sv.get();
  o.on_miss = [raw](const view::Miss& m) { raw->recordMiss(m); };
  o.answered_policies = answeredPolicies(answers);
  o.hydrate = std::move(hooks.hydrate);
  o.on_fetch = std::move(hooks.on_fetch);
  o.on_ask = std::move(hooks.on_ask);
  o.on_asked = std::move(hooks.on_asked);
  o.on_always_fail = std::move(hooks.on_always_fail);
  o.changes = std::move(hooks.changes);
  o.deleted = std::move(deleted);
  HOARD_TRY_ASSIGN(v, view::View::mount(std::move(o), listing, std::move(remote)));
  sv->view_ = std::move(v);
  sv->listed_ = !listing.empty();
  log(5, "share " + share.name + ": on-demand view mounted at " + displayPath(share.view_root) +
             " (" + std::to_string(listing.size()) + " entries listed)");
  return sv;
}

ShareView::~ShareView() {
  stop_ = true;
  {
    MutexLock lock(fetch_mu_);
    if (fetcher_.joinable()) fetcher_.join();
  }
  view_.reset();
  log(6, "share " + share_.name + ": on-demand view at " + displayPath(share_.view_root) +
             " unmounted");
}

void ShareView::stateChanged(journal::ShareState state) {
  bool online = state != journal::ShareState::kOffline;
  view_->setOnline(online);
  if (online && !was_online_.exchange(online) && fetch_missed_) startFetchingMissed();
  if (!online) was_online_ = false;
}

void ShareView::startFetchingMissed() {
  MutexLock lock(fetch_mu_);
  if (fetching_ || stop_) return;  // the run under way takes what was missed since, too
  if (fetcher_.joinable()) fetcher_.join();
  fetching_ = true;
  fetcher_ = std::thread([this] {
    fetchMissed();
    fetching_ = false;
  });
}

void ShareView::fetchMissed() {
  std::vector<journal::MissRecord> misses;
  {
    MutexLock lock(journal_mu_);
    auto m = journal_.misses(share_.id);
    if (!m) {
      log(4, "share " + share_.name + ": cannot list the offline misses to fetch: " +
                 m.error().message());
      return;
    }
    misses = std::move(*m);
  }
  // Each path once, up to its latest miss; one fetched before is not
  // fetched again (the user may have evicted it since).
  std::map<RelPath, int64_t> paths;
  for (const auto& m : misses)
    if (m.outcome != "fetched" && m.fetched_at_ns == 0) paths[m.path] = std::max(paths[m.path], m.id);
  size_t fetched = 0, failed = 0;
  auto done = [&](const RelPath& p, int64_t up_to) {
    int64_t now = epochNs(SystemClock::instance().wallNow());
    MutexLock lock(journal_mu_);
    if (Status s = journal_.markMissesFetched(share_.id, p, up_to, now); !s)
      log(4, "share " + share_.name + ": " + s.error().message());
  };
  for (const auto& [p, up_to] : paths) {
    if (stop_) return;
    Status st = view_->prefetch(p, stop_);
    if (st) {
      ++fetched;
      done(p, up_to);
      continue;
    }
    if (st.error().code() == ErrorCode::kNotFound) {  // gone from the server since
      done(p, up_to);
      continue;
    }
    ++failed;
    log(5, "share " + share_.name + ": fetching " + displayPath(p) +
               " (read while offline): " + st.error().message());
    if (st.error().code() == ErrorCode::kOffline) break;  // gone again: the next connection
  }
  if (fetched + failed > 0)
    logMessage(5,
               "share " + share_.name + ": " + std::to_string(fetched) +
                   " file(s) read while offline are now available offline" +
                   (failed ? " (" + std::to_string(failed) + " could not be fetched)" : ""),
               LogFields{share_.name, {}, 0, {}});
}

Status ShareView::reloadListing() {
  std::vector<journal::ListedEntry> listing;
  uint64_t since = view_->deletionCount();
  {
    MutexLock lock(journal_mu_);
    HOARD_TRY_ASSIGN(l, journal_.remoteListing(share_.id));
    listing = std::move(l);
  }
  HOARD_TRY_ASSIGN(deleted, deletedInCache());
  view_->setDeleted(deleted, since);
  view_->setListing(listing);
  listed_ = listed_ || !listing.empty();
  return {};
}

void ShareView::showFirstListing() {
  if (listed_) return;
  if (Status shown = reloadListing(); !shown)
    log(4, "share " + share_.name + ": the view shows no listing yet: " + shown.error().message());
}

Result<std::vector<RelPath>> ShareView::deletedInCache() {
  std::vector<RelPath> based;
  {
    MutexLock lock(journal_mu_);
    HOARD_TRY(journal_.forEachBaseUnder(share_.id, RelPath(), [&](const BaseEntry& e) {
      based.push_back(e.path);
      return Status{};
    }));
  }
  UniqueFd root(::open(share_.cache_root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root) return failErrno(errno, "open the backing directory " + displayPath(share_.cache_root));
  std::vector<RelPath> deleted;
  for (const RelPath& p : based) {
    if (p.empty()) continue;
    // Beneath a deleted directory: hidden with it.
    if (!deleted.empty() && isUnder(p, deleted.back())) continue;
    struct stat st {};
    if (::fstatat(root.get(), p.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 && errno == ENOENT)
      deleted.push_back(p);
  }
  return deleted;
}

void ShareView::recordMiss(const view::Miss& m) {
  journal::MissRecord r;
  r.share_id = share_.id;
  r.path = m.path;
  r.program = m.program;
  r.at_ns = m.at_ns;
  r.outcome = m.outcome;
  Result<int64_t> id = [&] {
    MutexLock lock(journal_mu_);
    return journal_.addMiss(r);
  }();
  std::string who = m.program.empty() ? "a program" : m.program;
  if (!id) {
    log(4, "share " + share_.name + ": cannot record the offline read of " +
               displayPath(m.path) + ": " + id.error().message());
    return;
  }
  logMessage(5,
             "share " + share_.name + ": " + who + " read " + displayPath(m.path) +
                 ", which is not available offline (" + m.outcome + ")",
             LogFields{share_.name, m.path, 0, {}});
}

}  // namespace hoard::daemon
