// SPDX-License-Identifier: MIT
#pragma once

// The FUSE view of one on-demand share as hoardd runs it (view/View.h):
// mounted at the share's view root over its backing directory (the engine's
// cache root), online while the share is, showing each listing a pass
// stores, and every read of data that was not there offline recorded in
// the journal (`hoard misses NAME`).
//
// Threads: stateChanged and reloadListing come from the share's thread; the
// misses are recorded from the view's FUSE threads; the destructor (unmount)
// from a strand.

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "common/Error.h"
#include "common/ThreadAnnotations.h"
#include "journal/Journal.h"
#include "remote/RemoteFs.h"
#include "view/ProgramPolicy.h"
#include "view/View.h"

namespace hoard::daemon {

// config shares.NAME.offline_reads / offline_wait_s, and the programs that
// get another policy (offline_reads_by_program over the shipped list).
struct ShareViewPolicy {
  view::MissPolicy policy = view::MissPolicy::kError;
  std::chrono::milliseconds wait_deadline{30'000};
  std::map<std::string, view::MissPolicy> by_program;
  // config shares.NAME.fetch_missed: once the share is online again, the
  // files read in vain while it was offline are fetched whole.
  bool fetch_missed = false;
};

// What a view asks of hoardd (view::ViewOptions' callbacks of the same
// names). hydrate: a placeholder a program changes is hoarded first; the
// others tell the bus. Each may be null.
struct ShareViewHooks {
  std::function<Status(const RelPath&)> hydrate;
  std::function<void(const view::FetchProgress&)> on_fetch;
  std::function<void(const view::ReadQuestion&)> on_ask;
  std::function<void(uint64_t id, const std::string& outcome)> on_asked;
  std::function<void(const std::string& program)> on_always_fail;
  std::shared_ptr<track::FedWatcher> changes;  // the engine's changeFeed()
};

// The journal's read answers (`hoard answers`) as the view's policies.
std::map<std::string, view::MissPolicy> answeredPolicies(
    const std::vector<journal::ReadAnswerRecord>& answers);

class ShareView {
 public:
  // Mounts the view of `share` (share.onDemand()) with the listing the
  // journal holds, its blocks kept in `parts_dir`, fetching through
  // `remote`, the read answers the journal keeps over `policy`. Starts
  // offline. Errors: View::mount's, the journal's.
  static Result<std::unique_ptr<ShareView>> mount(journal::Journal& journal, Mutex& journal_mu,
                                                  const journal::ShareRecord& share,
                                                  std::shared_ptr<remote::RemoteFs> remote,
                                                  const std::string& parts_dir,
                                                  const ShareViewPolicy& policy,
                                                  ShareViewHooks hooks);
  // Unmounts (lazily: a program inside is not stuck; it sees ENOTCONN).
  ~ShareView();

  // The share is online (or reintegrating): missing data is fetched; with
  // fetch_missed, the files of the misses recorded are fetched whole on a
  // thread of the view's own (one run at a time, stopped by the destructor).
  void stateChanged(journal::ShareState state) HOARD_EXCLUDES(fetch_mu_);
  // Shows the listing the journal holds now (after a pass stored one),
  // without the paths the cache deleted that the remote still has.
  Status reloadListing();
  // The same, if the view shows no listing yet (mounted before the share's
  // first pass): a pass that just listed the remote shows it before it
  // hoards the pinned files, which may take long. Failures are logged.
  void showFirstListing();
  // The blocks fetched for `path` and beneath dropped (view::View::evict).
  Result<uint64_t> evict(const RelPath& path) { return view_->evict(path); }
  size_t openFiles() { return view_->openFiles(); }
  // A person's answer to question `id` (view::View::answer).
  Status answer(uint64_t id, view::ReadAnswer a) { return view_->answer(id, a); }
  // The read answers kept now (after one was given or forgotten).
  void setAnsweredPolicies(std::map<std::string, view::MissPolicy> p) {
    view_->setAnsweredPolicies(std::move(p));
  }

 private:
  ShareView(journal::Journal& journal, Mutex& journal_mu, journal::ShareRecord share,
            bool fetch_missed);
  void recordMiss(const view::Miss& m);
  // The paths with a base row that the cache root no longer holds.
  Result<std::vector<RelPath>> deletedInCache();
  void startFetchingMissed() HOARD_EXCLUDES(fetch_mu_);
  void fetchMissed();  // on fetcher_

  journal::Journal& journal_;
  Mutex& journal_mu_;
  const journal::ShareRecord share_;
  const bool fetch_missed_;
  std::unique_ptr<view::View> view_;
  std::atomic<bool> was_online_{false};
  std::atomic<bool> listed_{false};  // a listing is shown
  std::atomic<bool> stop_{false};
  std::atomic<bool> fetching_{false};
  Mutex fetch_mu_;
  std::thread fetcher_ HOARD_GUARDED_BY(fetch_mu_);
};

// Where hoardd keeps an on-demand share's data beneath its state directory:
// the backing directory (the engine's cache root) and the view's blocks.
std::string backingDir(const std::string& state_dir, const std::string& share);
std::string partsDir(const std::string& state_dir, const std::string& share);

}  // namespace hoard::daemon
