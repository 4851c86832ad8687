// SPDX-License-Identifier: MIT
// The hoard walk: new pinned remote files fetched, highest pin priority
// first, within the cache budget. Fetched on several threads (a network share
// is slow per request and answers several at once; a local disk has cores to
// fill) into unnamed temporaries; then, a group at a time on the pass's
// thread, one syncfs makes the group's bytes durable and each gets its name
// (a link: no second copy) and its record.

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "common/ThreadAnnotations.h"
#include "sync/Phases.h"

namespace hoard::sync {

namespace {

// The hoards to fetch in order, each with its remote stat, or null where it
// waits (beneath a conflict) or the budget leaves it out. Fills the totals.
std::vector<const remote::Stat*> chooseHoards(PassState& pass, HoardProgress& progress) {
  auto& hoards = pass.hoards;
  std::stable_sort(hoards.begin(), hoards.end(),
                   [](const auto& a, const auto& b) { return a.priority > b.priority; });
  uint64_t cache_bytes = 0;
  for (const auto& [p, st] : pass.local)
    if (st.meta.type == FileType::kFile) cache_bytes += st.meta.size;
  const uint64_t budget = pass.opts.cache_budget_bytes;
  std::vector<const remote::Stat*> chosen;
  for (const auto& h : hoards) {
    const remote::Stat* r = pass.find(pass.remote, h.path);
    if (pass.isHeld(h.path)) {  // beneath a conflict found in this pass
      ++pass.report.waiting;
      chosen.push_back(nullptr);
      continue;
    }
    // A write-back pass knows only its scope, not what the cache holds: what
    // it hoards (paths to hydrate) a program is about to change anyway.
    if (budget != 0 && !pass.scoped &&
        cache_bytes + progress.bytes_total + r->meta.size > budget) {
      pass.report.not_hoarded.push_back(h.path);
      chosen.push_back(nullptr);
      continue;
    }
    chosen.push_back(r);
    progress.bytes_total += r->meta.size;
    ++progress.files_total;
  }
  return chosen;
}

class HoardFetcher {
 public:
  HoardFetcher(PassState& pass, std::vector<const remote::Stat*> chosen, HoardProgress progress)
      : pass_(pass), chosen_(std::move(chosen)), progress_(progress) {}

  // False if the pass must stop.
  bool run() {
    const size_t threads = std::min<size_t>(std::max<size_t>(1, pass_.opts.remote_in_flight),
                                            progress_.files_total);
    {
      MutexLock lock(mu_);  // before any worker runs, but the analysis asks for it
      live_ = threads;
    }
    std::vector<std::thread> workers;
    for (size_t w = 0; w < threads; ++w) workers.emplace_back([this] { work(); });
    installArrivals();
    for (std::thread& t : workers) t.join();
    return !stop_;
  }

 private:
  struct Arrival {
    size_t index;
    Result<PassState::Staged> staged;
  };
  static constexpr size_t kLinkGroup = 128;
  // Each staged file holds an open temporary until it is installed: the
  // workers wait rather than run the daemon out of file descriptors.
  static constexpr size_t kMaxStaged = 2 * kLinkGroup;

  bool stopping() const {
    return stop_ || (pass_.opts.stop && pass_.opts.stop->load());
  }

  // A worker thread: fetches the next chosen file into a temporary.
  void work() {
    for (size_t i = next_++; i < chosen_.size() && !stopping(); i = next_++) {
      if (chosen_[i] == nullptr) continue;
      {
        MutexLock lock(mu_);
        while (staged_open_ >= kMaxStaged && !stopping()) cv_.wait(mu_);
        if (stopping()) break;
        ++staged_open_;
      }
      auto staged = pass_.stageNew(pass_.hoards[i].path);
      MutexLock lock(mu_);
      arrivals_.push_back({i, std::move(staged)});
      cv_.notifyAll();
    }
    MutexLock lock(mu_);
    --live_;
    cv_.notifyAll();
  }

  // The pass's thread: takes what arrives, a group at a time.
  void installArrivals() {
    for (;;) {
      bool last = false;
      {
        MutexLock lock(mu_);
        while (arrivals_.empty() && live_ != 0) cv_.wait(mu_);
        while (!arrivals_.empty()) {
          group_.push_back(std::move(arrivals_.front()));
          arrivals_.pop_front();
        }
        last = live_ == 0;
      }
      if (group_.size() >= kLinkGroup || (last && !group_.empty())) installGroup();
      if (last) break;
    }
  }

  void installGroup() {
    ShareSides& s = pass_.s;
    ReconcileReport& report = pass_.report;
    // The staged temporaries' data, before they are linked in.
    Status synced = s.local.syncAll();
    for (Arrival& a : group_) {
      const RelPath& p = pass_.hoards[a.index].path;
      Status done = !a.staged ? Status(tl::unexpected(a.staged.error()))
                    : !synced ? synced
                              : pass_.installNew(p, *a.staged);
      if (!done) {
        // Once the pass stops, what is still arriving is recorded (it is
        // whole) and further failures add nothing.
        if (!stop_ && !pass_.noteFailure(p, done.error())) stop_ = true;
        continue;
      }
      --report.pulled;  // counted as hoarded instead
      ++report.hoarded;
      report.hoarded_bytes += chosen_[a.index]->meta.size;
      progress_.bytes_done += chosen_[a.index]->meta.size;
      ++progress_.files_done;
      if (pass_.opts.progress) pass_.opts.progress(progress_);
    }
    MutexLock lock(mu_);
    staged_open_ -= group_.size();
    group_.clear();
    cv_.notifyAll();
  }

  PassState& pass_;
  const std::vector<const remote::Stat*> chosen_;
  HoardProgress progress_;  // the pass's thread only
  std::vector<Arrival> group_;  // the pass's thread only
  Mutex mu_;
  CondVar cv_;
  std::deque<Arrival> arrivals_ HOARD_GUARDED_BY(mu_);
  size_t staged_open_ HOARD_GUARDED_BY(mu_) = 0;
  size_t live_ HOARD_GUARDED_BY(mu_) = 0;
  std::atomic<size_t> next_{0};
  std::atomic<bool> stop_{false};
};

}  // namespace

Result<bool> hoardWalk(PassState& pass) {
  // A write-back pass saw only its scope (not the cache's size, not the
  // pins' other files): new remote files wait for the next full pass,
  // unless the pass is to hydrate some.
  if (pass.scoped && pass.opts.hydrate.empty()) return true;
  HoardProgress progress;
  std::vector<const remote::Stat*> chosen = chooseHoards(pass, progress);
  if (progress.files_total == 0) return true;
  HoardFetcher fetcher(pass, std::move(chosen), progress);
  if (!fetcher.run()) return false;
  return !stopRequested(pass);
}

}  // namespace hoard::sync
