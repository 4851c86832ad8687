// SPDX-License-Identifier: MIT
#include "sync/ShareEngine.h"

#include <malloc.h>

#include <stop_token>
#include <utility>

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

Result<std::unique_ptr<ShareEngine>> ShareEngine::start(journal::Journal& journal,
                                                        Mutex& journal_mu, int64_t share_id,
                                                        store::BaseStore& store,
                                                        std::shared_ptr<remote::WorkerPool> pool,
                                                        std::string host, ShareEngineHooks hooks,
                                                        ShareEngineOptions options) {
  std::unique_ptr<ShareEngine> e(new ShareEngine());
  e->hooks_ = std::move(hooks);
  e->options_ = options;
  auto on_fallback = [self = e.get()](const std::string& reason) {
    if (self->hooks_.onListerFallback) self->hooks_.onListerFallback(reason);
  };
  auto rt = ShareRuntime::open(journal, journal_mu, share_id, store, std::move(pool),
                               options.deadlines, std::move(host), options.lister, on_fallback);
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
  // An on-demand share's backing directory changes only through its view,
  // which reports each change itself (changeFeed()); inotify would also
  // report the engine's own writes there, and overflow on a burst.
  if (e->runtime_->share().onDemand()) e->feed_ = std::make_shared<track::FedWatcher>();
  auto tracker = e->feed_ ? track::FolderTracker::startFed(cache, *e->sink_, e->feed_)
                          : track::FolderTracker::start(cache, *e->sink_);
  if (!tracker) return tl::unexpected(tracker.error().withContext("share " + e->share().name));
  e->tracker_ = std::move(*tracker);
  auto scanned = e->recorder_->rescan("", /*verify=*/false);
  if (!scanned) return tl::unexpected(scanned.error());
  e->machine_->start();
  return e;
}

ShareEngine::~ShareEngine() { shutdown(); }

void ShareEngine::requestStop() {
  MutexLock lock(report_mu_);
  if (stop_) stop_->store(true);
}

bool ShareEngine::yieldAutomaticPass() {
  MutexLock lock(report_mu_);
  if (!stop_ || !running_automatic_) return false;
  yielded_ = true;
  stop_->store(true);
  return true;
}

void ShareEngine::shutdown() {
  if (shut_down_.exchange(true)) return;
  requestStop();
  if (machine_) machine_->stop();  // asks its pass to stop too, and joins
  {
    MutexLock lock(pass_mu_);  // a job's pass on another thread ends
  }
  if (tracker_) (void)tracker_->stop();
}

Status ShareEngine::setUserOffline(bool offline) {
  if (Status st = machine_->setUserOffline(offline); !st) return st;
  if (offline) {
    requestStop();
    MutexLock lock(pass_mu_);  // wait for the pass to end
  }
  return {};
}

std::optional<LastPass> ShareEngine::lastPass() const {
  MutexLock lock(report_mu_);
  return last_;
}

PassTotals ShareEngine::takeAutomaticTotals() {
  MutexLock lock(report_mu_);
  return std::exchange(automatic_, PassTotals{});
}

Result<ReconcileReport> ShareEngine::runLocked(std::function<void(const HoardProgress&)> progress,
                                               bool confirm_mass_delete, bool automatic,
                                               bool write_back,
                                               std::vector<RelPath> hydrate) {
  if (shut_down_)
    return fail(ErrorCode::kAborted, "share \"" + share().name + "\" is stopping");
  if (auto rescans = recorder_->runPendingRescans(); !rescans)
    return tl::unexpected(rescans.error());
  Reconciler& rec = runtime_->reconciler();
  if (!recovered_) {
    Status st = rec.recover();
    if (!st) return tl::unexpected(st.error());
    recovered_ = true;
  }
  ReconcileOptions opts = options_.reconcile;
  opts.confirm_mass_delete = confirm_mass_delete;
  // A hydration is scoped even when a full pass is due (a program waits
  // for it): that full pass stays due, for the next pass.
  const bool scoped_though_due = write_back && full_pass_due_ && !hydrate.empty();
  opts.write_back_only = write_back && (!full_pass_due_ || scoped_though_due);
  if (progress) opts.progress = std::move(progress);
  opts.on_listing_recorded = hooks_.onListingRecorded;
  opts.hydrate = std::move(hydrate);
  auto stop = std::make_shared<std::atomic<bool>>(false);
  {
    MutexLock lock(report_mu_);
    stop_ = stop;
    running_automatic_ = automatic;
  }
  // A stop asked for between the checks above and here is not lost.
  if (shut_down_ || machine_->status().user_offline) stop->store(true);
  opts.stop = stop;
  auto report = rec.run(opts);
  {
    MutexLock lock(report_mu_);
    stop_.reset();
  }
  // A pass builds listings of both sides and frees them at the end: give
  // that memory back, or an idle daemon keeps a pass's peak as its RSS.
  ::malloc_trim(0);
  full_pass_due_ = scoped_though_due || !report || report->stopped || !report->failed.empty() ||
                   !report->retried.empty();
  if (!report) return tl::unexpected(report.error());
  {
    MutexLock lock(report_mu_);
    LastPass last;
    last.at = SystemClock::instance().wallNow();
    last.automatic = automatic;
    last.not_hoarded = report->not_hoarded;
    last.mass_delete = report->mass_delete;
    last.failed = report->failed;
    last.stopped = report->stopped;
    last_ = std::move(last);
    if (automatic) {
      ++automatic_.passes;
      automatic_.sent += report->pushed + report->deleted_remote + report->renamed_remote;
      automatic_.received += report->pulled + report->hoarded + report->deleted_local;
      automatic_.hoarded += report->hoarded;
      automatic_.new_conflicts += report->new_conflicts.size();
    }
  }
  for (int64_t id : report->new_conflicts)
    if (hooks_.onConflictDetected) hooks_.onConflictDetected(id);
  if (hooks_.onPassFinished) hooks_.onPassFinished(*report);
  return report;
}

Result<ReconcileReport> ShareEngine::syncOnce(std::function<void(const HoardProgress&)> progress,
                                              bool confirm_mass_delete) {
  if (machine_->status().user_offline)
    return fail(ErrorCode::kOffline, "share \"" + share().name +
                                         "\" is offline by your request; bring it online first");
  Result<ReconcileReport> r;
  {
    MutexLock lock(pass_mu_);
    // The user may have gone offline while this waited for another pass.
    if (machine_->status().user_offline)
      return fail(ErrorCode::kOffline, "share \"" + share().name +
                                           "\" is offline by your request; bring it online first");
    r = runLocked(std::move(progress), confirm_mass_delete, /*automatic=*/false);
  }
  if (shut_down_) return r;
  // A confirmed deletion went through: lift the machine's wait for the user.
  if (confirm_mass_delete && r && !r->stopped) machine_->syncNow();
  else machine_->probeNow();
  return r;
}

Result<PassOutcome> ShareEngine::pass(const PassRequest& request) {
  MutexLock lock(pass_mu_);
  if (request.stop.stop_requested()) return PassOutcome::paused("stopping");
  yielded_ = false;
  // The machine's stop (offline by the user, stopping) reaches the pass.
  std::stop_callback forward(request.stop, [this] { requestStop(); });
  auto report = runLocked({}, /*confirm_mass_delete=*/false, /*automatic=*/true,
                          request.kind == PassKind::kWriteBack);
  if (!report) {
    ErrorCode c = report.error().code();
    if (c == ErrorCode::kOffline || c == ErrorCode::kTimeout)
      return PassOutcome::offline(report.error().message());
    return tl::unexpected(report.error());
  }
  if (!report->stopped) return PassOutcome::done();
  // Stopped for a program's change in the view (hydrate): the hydration
  // runs next and asks for this pass again at once (syncNow).
  if (yielded_.exchange(false) && !request.stop.stop_requested())
    return PassOutcome::paused(share().name +
                               ": gave way to a program changing a file in the view; goes on "
                               "right after");
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
  Status st;
  {
    MutexLock lock(pass_mu_);
    if (shut_down_) return fail(ErrorCode::kAborted, "share \"" + share().name + "\" is stopping");
    st = runtime_->reconciler().resolve(conflict_id, how);
  }
  // A side changed since the conflict was shown: it now speaks of the new
  // versions and is announced again, so whoever decided sees what is there.
  if (!st && st.error().code() == ErrorCode::kConflict && hooks_.onConflictDetected)
    hooks_.onConflictDetected(conflict_id);
  return st;
}

Status ShareEngine::apply(int64_t conflict_id, const ConflictDecision& decision) {
  Status st;
  {
    MutexLock lock(pass_mu_);
    if (shut_down_) return fail(ErrorCode::kAborted, "share \"" + share().name + "\" is stopping");
    st = runtime_->reconciler().apply(conflict_id, decision);
  }
  if (!st && st.error().code() == ErrorCode::kConflict && hooks_.onConflictDetected)
    hooks_.onConflictDetected(conflict_id);
  return st;
}

Result<ShareEngine::PathSides> ShareEngine::lookSides(const RelPath& path) {
  if (status().user_offline)
    return fail(ErrorCode::kOffline, "share \"" + share().name + "\" is offline (hoard offline)");
  PathSides out;
  auto side = [&](remote::RemoteFs& fs, std::optional<FileMeta>& into) -> Status {
    auto st = fs.lstat(path);
    if (st) {
      into = st->meta;
      return {};
    }
    if (st.error().code() == ErrorCode::kNotFound) return {};
    return tl::unexpected(st.error());
  };
  if (auto st = side(runtime_->local(), out.local); !st) return tl::unexpected(st.error());
  if (auto st = side(runtime_->remote(), out.remote); !st) return tl::unexpected(st.error());
  out.resolution = runtime_->lastResolution(path);
  return out;
}

Result<std::unique_ptr<RepoCopies>> ShareEngine::copyRepo(const RelPath& path) {
  if (status().user_offline)
    return fail(ErrorCode::kOffline, "share \"" + share().name + "\" is offline (hoard offline)");
  {
    MutexLock lock(pass_mu_);
    if (shut_down_) return fail(ErrorCode::kAborted, "share \"" + share().name + "\" is stopping");
  }
  auto entries = runtime_->baseUnder(path);
  if (!entries) return tl::unexpected(entries.error());
  RepoBase base{std::move(*entries), &runtime_->store()};
  return repo_copies_.get(runtime_->local(), runtime_->remote(), path, &base, pass_mu_);
}

Status ShareEngine::undo(int64_t conflict_id) {
  Status st;
  {
    MutexLock lock(pass_mu_);
    if (shut_down_) return fail(ErrorCode::kAborted, "share \"" + share().name + "\" is stopping");
    st = runtime_->reconciler().undo(conflict_id);
  }
  if (st && hooks_.onConflictDetected) hooks_.onConflictDetected(conflict_id);
  return st;
}

Result<uint64_t> ShareEngine::evict(const RelPath& path) {
  MutexLock lock(pass_mu_);
  if (shut_down_) return fail(ErrorCode::kAborted, "share \"" + share().name + "\" is stopping");
  // While the remote refuses hoard's credentials the cache copy is the only
  // one the user can reach: nothing is dropped until access works again.
  if (machine_->status().auth_required)
    return fail(ErrorCode::kAuthExpired,
                "cannot evict " + displayPath(path) + ": the remote of share \"" + share().name +
                    "\" refuses hoard's credentials, so the local copy could not be fetched "
                    "again; renew them (`hoard auth " + share().name + "`) first");
  return runtime_->reconciler().evict(path);
}

bool ShareEngine::readyForSleep() {
  if (!machine_->readyForSleep()) return false;
  if (!pass_mu_.tryLock()) return false;  // a job's pass (a preload, a sync) runs
  pass_mu_.unlock();
  return true;
}

void ShareEngine::pauseForSleep() {
  machine_->pauseForSleep();
  requestStop();
}

}  // namespace hoard::sync
