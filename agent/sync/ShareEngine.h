// SPDX-License-Identifier: MIT
#pragma once

// Everything that keeps one share going, wired together: the tracker writes
// the user's changes into the change log (LocalRecorder), the state machine
// decides when to probe and when to reintegrate, the reconciler does the
// passes. The daemon owns one ShareEngine per share and talks to it; so do
// the integration tests.
//
// Threads: the tracker runs on its own thread, the state machine on its own
// (all probes and passes happen there). resolve() and evict() may be called
// from any thread: they wait for a pass in progress (one pass or resolution
// at a time per share, under pass_mu_). status(), lastPass(), requestStop()
// never block on I/O.

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/Clock.h"
#include "common/ThreadAnnotations.h"
#include "sync/LocalRecorder.h"
#include "sync/RepoCopies.h"
#include "sync/RepoCopyCache.h"
#include "sync/ShareSetup.h"
#include "sync/ShareStateMachine.h"
#include "sync/ShareStateStore.h"
#include "track/FolderTracker.h"

namespace hoard::sync {

struct ShareEngineHooks {
  std::function<void(journal::ShareState, const std::string& reason)> onStateChanged;
  std::function<void(int64_t conflict_id)> onConflictDetected;
  std::function<void(const std::string& message)> onAuthenticationRequired;
  std::function<void(const ReconcileReport&)> onPassFinished;
  // A pass stored a new remote listing (ReconcileOptions::on_listing_recorded).
  std::function<void()> onListingRecorded;
  // The share's lister (ListerChangeSource.h) is not used, and why; "" when
  // it is used again. Once per change of reason.
  std::function<void(const std::string& reason)> onListerFallback;
};

// What the last finished pass of a share left to show (GetStatus, ListPins).
struct LastPass {
  Clock::WallTime at{};
  bool automatic = false;                            // run by the state machine, not a job
  std::vector<RelPath> not_hoarded;                  // pinned files the budget left out
  std::optional<MassDelete> mass_delete;             // set while a mass deletion waits
  std::vector<std::pair<RelPath, Error>> failed;     // paths it could not finish
  std::optional<Error> stopped;                      // why it stopped early, if it did
};

// What automatic passes (the state machine's) did since the last job asked:
// a `hoard sync` right after a reconnect finds the work already done and says
// so instead of "0 sent".
struct PassTotals {
  size_t passes = 0;
  size_t sent = 0;      // pushed + deleted_remote + renamed_remote
  size_t received = 0;  // pulled + hoarded + deleted_local
  size_t hoarded = 0;   // of received: files fetched for the first time
  size_t new_conflicts = 0;
  bool any() const { return sent + received + new_conflicts > 0; }
};

struct ShareEngineOptions {
  ShareStateOptions state;
  ReconcileOptions reconcile;
  remote::DeadlineRemoteFs::Deadlines deadlines;
  // Where a pass lists the remote: hoard-lister next to the data when set
  // (lister.spec), else a walk of the mount.
  remote::ListerSettings lister;
};

class ShareEngine {
 public:
  // Opens the share's runtime, scans the cache for what changed while hoard
  // was not running (into the change log), starts tracking it and starts the
  // state machine. `journal`, `journal_mu`, `store` and `pool` must outlive
  // the engine. Errors: the journal's, the cache root's (kNotFound if it is
  // gone), inotify's (an on-demand share's changes come from its view
  // through changeFeed() instead).
  static Result<std::unique_ptr<ShareEngine>> start(journal::Journal& journal, Mutex& journal_mu,
                                                    int64_t share_id, store::BaseStore& store,
                                                    std::shared_ptr<remote::WorkerPool> pool,
                                                    std::string host, ShareEngineHooks hooks,
                                                    ShareEngineOptions options = {});
  // Stops the state machine and the tracker (changes already seen are made
  // durable first); see shutdown().
  ~ShareEngine();

  ShareStatus status() const { return machine_->status(); }
  void syncNow() { machine_->syncNow(); }
  void probeNow() { machine_->probeNow(); }
  // The user renewed the credentials: probe at once and reintegrate if the
  // remote lets hoard in (ShareStateMachine::credentialsRenewed).
  void credentialsRenewed() { machine_->credentialsRenewed(); }
  // Session hints (ShareStateMachine): the network is gone; the machine
  // sleeps / woke up. Any thread, never block.
  void networkLost(std::string why) { machine_->networkLost(std::move(why)); }
  void prepareForSleep() { machine_->prepareForSleep(); }
  void resumed() { machine_->resumed(); }
  // No pass runs (the state machine's or a job's) and none is due for the
  // sleep. Any thread, never blocks.
  bool readyForSleep() HOARD_EXCLUDES(pass_mu_);
  // Asks every running pass of the share (a hoard walk too) to stop at its
  // next file. Any thread, does not wait.
  void pauseForSleep();
  // Stores the user's override. Going offline also asks the running pass to
  // stop (requestStop) and waits until no pass runs any more, so that when
  // this returns nothing of this share touches the remote. Blocks for as
  // long as the pass takes to notice (the reconciler checks between files):
  // never call it from the bus thread.
  Status setUserOffline(bool offline) HOARD_EXCLUDES(pass_mu_, report_mu_);

  // Asks the running pass, if any, to stop touching the remote as soon as
  // the file at hand is done (ReconcileOptions::stop). Any thread; does not wait.
  void requestStop() HOARD_EXCLUDES(report_mu_);
  // Stops for good: asks the running pass to stop, stops the state machine,
  // waits for a pass or resolution in progress on another thread, stops the
  // tracker. Later syncOnce/resolve/evict calls fail with kAborted. Blocks
  // (a pass that has to notice the stop, a tracker that flushes): not from
  // the bus thread. Idempotent; the destructor calls it.
  void shutdown() HOARD_EXCLUDES(pass_mu_, report_mu_);

  // Runs one pass now, on the calling thread (waiting for a pass in
  // progress), and returns its report; the state machine then probes to
  // catch up with what the pass found. `progress` is told about hoarded
  // files. `confirm_mass_delete`: the user confirmed the mass deletion the
  // last pass stopped for (lastPass().mass_delete), this pass carries it
  // out. kOffline without touching the remote if the user forced the share
  // offline; kAborted after shutdown().
  Result<ReconcileReport> syncOnce(std::function<void(const HoardProgress&)> progress = {},
                                   bool confirm_mass_delete = false)
      HOARD_EXCLUDES(pass_mu_, report_mu_);

  // Hoards `path` (and what lies beneath it) into the cache now, with its
  // base row, if it is not there: an on-demand share's view is about to let
  // a program change a placeholder (ReconcileOptions::hydrate). Runs a pass
  // of the log's paths and this one (a full pass if one is due) on the
  // calling thread. A pass of the machine's in progress (a preload that may
  // take minutes) is stopped at its next file and goes on right after; one
  // a user asked for (`hoard sync`) is waited for. Ok once the cache holds
  // `path`. Errors: kOffline while the share is offline (at once, without
  // touching the remote); kConflict if an open conflict holds the path;
  // kNotFound if the remote has no such path; the pass's failure for it;
  // kAborted after shutdown().
  Status hydrate(const RelPath& path) HOARD_EXCLUDES(pass_mu_, report_mu_);

  // The last finished pass (automatic or a job's); nullopt before the first.
  std::optional<LastPass> lastPass() const HOARD_EXCLUDES(report_mu_);
  // What automatic passes did since the previous call (or since start), and
  // resets the count. A job calls it after its own pass.
  PassTotals takeAutomaticTotals() HOARD_EXCLUDES(report_mu_);

  Status resolve(int64_t conflict_id, Resolution how) HOARD_EXCLUDES(pass_mu_);
  // Reconciler::apply under the pass lock; a side that changed since the
  // conflict was detected refreshes it and announces it again (as resolve).
  Status apply(int64_t conflict_id, const ConflictDecision& decision) HOARD_EXCLUDES(pass_mu_);

  // What each side holds now at `path` (lstat, through the remote's
  // deadlines), and how the last resolved conflict at `path` was decided:
  // what a rule that follows a related file decides from. Does not wait for
  // a pass. kOffline while the user forced the share offline.
  struct PathSides {
    std::optional<FileMeta> local, remote;
    std::string resolution;
  };
  Result<PathSides> lookSides(const RelPath& path);
  // The cache root as the reconciler sees it (beneath the root, never
  // through a symlink), for reads off the pass: the resolver chain reads the
  // share's .gitattributes with it (readGitAttributes). Lives as long as
  // this engine; any thread.
  remote::RemoteFs& cacheFs() { return runtime_->local(); }
  // The remote as passes use it (deadlines, counted): for the share's view.
  std::shared_ptr<remote::RemoteFs> remoteFs() const { return runtime_->remoteShared(); }
  // Where the view of an on-demand share reports every change it makes in
  // the cache root (null for other shares, which inotify tracks). Pushes
  // after shutdown() are dropped: the next start scans the cache root.
  std::shared_ptr<track::FedWatcher> changeFeed() const { return feed_; }
  // Copies of the repository directory `path` as each side holds it, and
  // its base's refs (RepoCopies.h), for the git-repo resolver: kept between
  // calls and brought up to date under the pass lock, so no pass writes
  // there meanwhile (RepoCopyCache.h). The handle holds the copy unchanged
  // until it goes (on the calling thread); another call for the same
  // repository waits for it. Errors: the sides'; kOffline while the user
  // forced the share offline.
  Result<std::unique_ptr<RepoCopies>> copyRepo(const RelPath& path) HOARD_EXCLUDES(pass_mu_);
  // Forgets the kept copy of `path` (its conflict was resolved). Any thread.
  void dropRepoCopy(const RelPath& path) { repo_copies_.drop(path); }
  Status undo(int64_t conflict_id) HOARD_EXCLUDES(pass_mu_);
  // Reconciler::evict under the pass lock; kAuthExpired while the remote
  // refuses the credentials (nothing is dropped while access is lost).
  Result<uint64_t> evict(const RelPath& path) HOARD_EXCLUDES(pass_mu_);

  const journal::ShareRecord& share() const { return runtime_->share(); }
  // Remote calls made since the engine started (ShareRuntime::remoteCalls).
  remote::RemoteCallCounts remoteCalls() const { return runtime_->remoteCalls(); }

 private:
  class Sink;
  ShareEngine() = default;
  Result<PassOutcome> pass(const PassRequest& request) HOARD_EXCLUDES(pass_mu_, report_mu_);
  // Stops the running pass if it is the machine's, noting why (yielded_).
  // True if it did.
  bool yieldAutomaticPass() HOARD_EXCLUDES(report_mu_);
  Status hydrateLocked(const RelPath& path) HOARD_REQUIRES(pass_mu_) HOARD_EXCLUDES(report_mu_);
  // One pass under pass_mu_ (held by the caller).
  // `write_back`: the machine's write-back pass, limited to what the change
  // log names (ReconcileOptions::write_back_only) unless a full pass is due.
  Result<ReconcileReport> runLocked(std::function<void(const HoardProgress&)> progress,
                                    bool confirm_mass_delete, bool automatic,
                                    bool write_back = false,
                                    std::vector<RelPath> hydrate = {})
      HOARD_REQUIRES(pass_mu_);

  ShareEngineHooks hooks_;
  ShareEngineOptions options_;
  std::unique_ptr<ShareRuntime> runtime_;
  std::unique_ptr<LocalRecorder> recorder_;
  std::unique_ptr<Sink> sink_;
  std::shared_ptr<track::FedWatcher> feed_;  // on-demand shares: the view's changes
  std::unique_ptr<track::FolderTracker> tracker_;
  std::unique_ptr<JournalShareStateStore> state_store_;
  std::unique_ptr<ShareStateMachine> machine_;

  Mutex pass_mu_;                // one pass or resolution at a time
  RepoCopyCache repo_copies_;    // taken before pass_mu_, never while holding it
  bool recovered_ HOARD_GUARDED_BY(pass_mu_) = false;  // recover() ran
  // The next write-back pass must look at everything: none ran through
  // since the start, or the last pass left paths it could not finish (their
  // log records are gone; only a full pass compares their state again).
  bool full_pass_due_ HOARD_GUARDED_BY(pass_mu_) = true;
  std::atomic<bool> shut_down_{false};

  mutable Mutex report_mu_;  // the running pass's stop flag and what passes left
  std::shared_ptr<std::atomic<bool>> stop_ HOARD_GUARDED_BY(report_mu_);  // the running pass's
  bool running_automatic_ HOARD_GUARDED_BY(report_mu_) = false;  // that pass is the machine's
  // The machine's pass was stopped for a hydration (yieldAutomaticPass).
  std::atomic<bool> yielded_{false};
  std::optional<LastPass> last_ HOARD_GUARDED_BY(report_mu_);
  PassTotals automatic_ HOARD_GUARDED_BY(report_mu_);
};

}  // namespace hoard::sync
