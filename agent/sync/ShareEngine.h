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
// at a time per share, under pass_mu_). status() never blocks on I/O.

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/Clock.h"
#include "sync/LocalRecorder.h"
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
};

struct ShareEngineOptions {
  ShareStateOptions state;
  ReconcileOptions reconcile;
  remote::DeadlineRemoteFs::Deadlines deadlines;
};

class ShareEngine {
 public:
  // Opens the share's runtime, scans the cache for what changed while hoard
  // was not running (into the change log), starts tracking it and starts the
  // state machine. `journal`, `journal_mu`, `store` and `pool` must outlive
  // the engine. Errors: the journal's, the cache root's (kNotFound if it is
  // gone), inotify's.
  static Result<std::unique_ptr<ShareEngine>> start(
      journal::Journal& journal, std::mutex& journal_mu, int64_t share_id,
      store::BaseStore& store, std::shared_ptr<remote::WorkerPool> pool, std::string host,
      ShareEngineHooks hooks, ShareEngineOptions options = {});
  // Stops the state machine and the tracker (changes already seen are made
  // durable first).
  ~ShareEngine();

  ShareStatus status() const { return machine_->status(); }
  void syncNow() { machine_->syncNow(); }
  void probeNow() { machine_->probeNow(); }
  Status setUserOffline(bool offline) { return machine_->setUserOffline(offline); }
  // The user confirms a mass deletion a pass stopped for; the next pass goes ahead.
  void confirmMassDelete();

  // Runs one pass now, on the calling thread (waiting for a pass in
  // progress), and returns its report; the state machine then probes to
  // catch up with what the pass found. `progress` is told about hoarded
  // files. kOffline without touching the remote if the user forced the
  // share offline.
  Result<ReconcileReport> syncOnce(std::function<void(const HoardProgress&)> progress = {});

  Status resolve(int64_t conflict_id, Resolution how);
  Result<uint64_t> evict(const RelPath& path);

  const journal::ShareRecord& share() const { return runtime_->share(); }

 private:
  class Sink;
  ShareEngine() = default;
  Result<PassOutcome> pass(const PassRequest& request);
  // One pass under pass_mu_ (held by the caller).
  Result<ReconcileReport> runLocked(std::function<void(const HoardProgress&)> progress);

  ShareEngineHooks hooks_;
  ShareEngineOptions options_;
  std::unique_ptr<ShareRuntime> runtime_;
  std::unique_ptr<LocalRecorder> recorder_;
  std::unique_ptr<Sink> sink_;
  std::unique_ptr<track::FolderTracker> tracker_;
  std::unique_ptr<JournalShareStateStore> state_store_;
  std::unique_ptr<ShareStateMachine> machine_;

  std::mutex pass_mu_;           // one pass or resolution at a time
  bool recovered_ = false;       // GUARDED_BY(pass_mu_): recover() ran
  bool confirm_delete_ = false;  // GUARDED_BY(pass_mu_)
};

}  // namespace hoard::sync
