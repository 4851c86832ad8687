// SPDX-License-Identifier: MIT
#include "sync/ShareEngine.h"

#include <malloc.h>

namespace hoard::sync {

// Records what the tracker saw, then tells the state machine there is
// something to write back.
class ShareEngine::Sink final : public track::ChangeSink {
 public:
  Sink(LocalRecorder& recorder, std::function<void()> noted)
      : recorder_(recorder), noted_(std::move(noted)) {}
  Status recordChanges(const std::vector<Change>& changes) override {
    Status st = recorder_.recordChanges(changes);
    if (st && noted_) noted_();
    return st;
  }
  void rescanNeeded(const RelPath& subtree) override {
    recorder_.rescanNeeded(subtree);
    if (noted_) noted_();
  }

 private:
  LocalRecorder& recorder_;
  std::function<void()> noted_;
};

Result<std::unique_ptr<ShareEngine>> ShareEngine::start(
    journal::Journal& journal, std::mutex& journal_mu, int64_t share_id, store::BaseStore& store,
    std::shared_ptr<remote::WorkerPool> pool, std::string host, ShareEngineHooks hooks,
    ShareEngineOptions options) {
  std::unique_ptr<ShareEngine> e(new ShareEngine());
  e->hooks_ = std::move(hooks);
  e->options_ = options;
  auto rt = ShareRuntime::open(journal, journal_mu, share_id, store, std::move(pool),
                               options.deadlines, std::move(host));
  if (!rt) return tl::unexpected(rt.error());
  e->runtime_ = std::move(*rt);
  const std::string& cache = e->runtime_->share().cache_root;
  e->recorder_ = std::make_unique<LocalRecorder>(journal, journal_mu, share_id, cache,
                                                 e->runtime_->ownWrites());

  e->state_store_ = std::make_unique<JournalShareStateStore>(journal, journal_mu, share_id);
  ShareEngine* self = e.get();
  ShareStateHooks sh;
  sh.reintegrate = [self](const PassRequest& r) { return self->pass(r); };
  sh.onStateChanged = [self](journal::ShareState s, const std::string& reason) {
    if (self->hooks_.onStateChanged) self->hooks_.onStateChanged(s, reason);
  };
  sh.onAuthenticationRequired = [self](const std::string& m) {
    if (self->hooks_.onAuthenticationRequired) self->hooks_.onAuthenticationRequired(m);
  };
  auto machine = ShareStateMachine::create(*e->state_store_, e->runtime_->probe(),
                                           SystemClock::instance(), std::move(sh),
                                           options.state);
  if (!machine) return tl::unexpected(machine.error());
  e->machine_ = std::move(*machine);

  // Track first, then scan: a change made in between is seen by both (and
  // coalesced by the change log); one made before hoard started by the scan.
  e->sink_ = std::make_unique<Sink>(*e->recorder_, [self] { self->machine_->localChangeNoted(); });
  auto tracker = track::FolderTracker::start(cache, *e->sink_);
  if (!tracker) return tl::unexpected(tracker.error().withContext("share " + e->share().name));
  e->tracker_ = std::move(*tracker);
  auto scanned = e->recorder_->rescan("", /*verify=*/false);
  if (!scanned) return tl::unexpected(scanned.error());
  e->machine_->start();
  return e;
}

ShareEngine::~ShareEngine() {
  if (machine_) machine_->stop();
  if (tracker_) (void)tracker_->stop();
}

void ShareEngine::confirmMassDelete() {
  {
    std::lock_guard lock(pass_mu_);
    confirm_delete_ = true;
  }
  machine_->syncNow();
}

Result<ReconcileReport> ShareEngine::runLocked(
    std::function<void(const HoardProgress&)> progress) {
  if (auto rescans = recorder_->runPendingRescans(); !rescans)
    return tl::unexpected(rescans.error());
  Reconciler& rec = runtime_->reconciler();
  if (!recovered_) {
    Status st = rec.recover();
    if (!st) return tl::unexpected(st.error());
    recovered_ = true;
  }
  ReconcileOptions opts = options_.reconcile;
  opts.confirm_mass_delete = confirm_delete_;
  if (progress) opts.progress = std::move(progress);
  auto report = rec.run(opts);
  // A pass builds listings of both sides and frees them at the end: give
  // that memory back, or an idle daemon keeps a pass's peak as its RSS.
  ::malloc_trim(0);
  if (!report) return tl::unexpected(report.error());
  confirm_delete_ = false;
  for (int64_t id : report->new_conflicts)
    if (hooks_.onConflictDetected) hooks_.onConflictDetected(id);
  if (hooks_.onPassFinished) hooks_.onPassFinished(*report);
  return report;
}

Result<ReconcileReport> ShareEngine::syncOnce(std::function<void(const HoardProgress&)> progress) {
  if (machine_->status().user_offline)
    return fail(ErrorCode::kOffline, "share \"" + share().name +
                                         "\" is offline by your request; bring it online first");
  Result<ReconcileReport> r;
  {
    std::lock_guard lock(pass_mu_);
    r = runLocked(std::move(progress));
  }
  machine_->probeNow();
  return r;
}

Result<PassOutcome> ShareEngine::pass(const PassRequest& request) {
  std::lock_guard lock(pass_mu_);
  if (request.stop.stop_requested()) return PassOutcome::paused("stopping");
  auto report = runLocked({});
  if (!report) {
    ErrorCode c = report.error().code();
    if (c == ErrorCode::kOffline || c == ErrorCode::kTimeout)
      return PassOutcome::offline(report.error().message());
    return tl::unexpected(report.error());
  }
  if (!report->stopped) return PassOutcome::done();
  const Error& e = *report->stopped;
  std::string why = share().name + ": " + e.message();
  switch (e.code()) {
    case ErrorCode::kOffline:
    case ErrorCode::kTimeout:
      return PassOutcome::offline(why);
    case ErrorCode::kAuthExpired:
    case ErrorCode::kPermission:
      return PassOutcome::authExpired(why);
    case ErrorCode::kAborted:
      return PassOutcome::needsUser(why);
    default:
      return PassOutcome::paused(why);
  }
}

Status ShareEngine::resolve(int64_t conflict_id, Resolution how) {
  std::lock_guard lock(pass_mu_);
  return runtime_->reconciler().resolve(conflict_id, how);
}

Result<uint64_t> ShareEngine::evict(const RelPath& path) {
  std::lock_guard lock(pass_mu_);
  return runtime_->reconciler().evict(path);
}

}  // namespace hoard::sync
