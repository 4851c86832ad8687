// SPDX-License-Identifier: MIT
// The Agent's plumbing: the engines of the shares, their hooks, closing.
#include "daemon/Agent.h"

#include "common/RelPath.h"
#include "daemon/AuthWatch.h"
#include "daemon/BusArgs.h"
#include "daemon/ExternalResolvers.h"
#include "daemon/Log.h"
#include "daemon/ShareView.h"
#include "dbus/DbusErrors.h"

namespace hoard::daemon {

namespace {
constexpr const char* kObjectPath = "/org/hoard/Agent1";
// Failing paths a pass logs one by one; the rest are counted.
constexpr size_t kLoggedFailures = 20;

// Where a pass spent its time, at debug priority: for a pass that moved
// something or took a second or more (a quiet share's passes stay quiet).
void logPassTimes(const std::string& share, const sync::ReconcileReport& r) {
  int64_t total = 0;
  std::string phases;
  for (const auto& [name, ms] : r.phase_ms) {
    total += ms;
    phases += (phases.empty() ? "" : ", ") + name + " " + std::to_string(ms);
  }
  const size_t moved = r.pushed + r.pulled + r.hoarded + r.deleted_local + r.deleted_remote +
                       r.renamed_remote + r.modes + r.times;
  if (moved == 0 && total < 1000) return;
  logMessage(7,  // debug
             "share " + share + ": pass took " + std::to_string(total) + " ms (" + phases +
                 "; " + std::to_string(moved) + " moved)",
             LogFields{share, {}, 0, {}});
}
}  // namespace

Agent::Agent(sdbus::IConnection& connection, journal::Journal& journal, store::BaseStore& store,
             AgentOptions options)
    : AdaptorInterfaces(connection, kObjectPath),
      journal_(journal),
      store_(store),
      options_(std::move(options)),
      // As many workers as a pass keeps remote calls in flight
      // (ReconcileOptions::remote_in_flight): a network filesystem answers
      // them together. Each stuck in a hung call costs a thread, never the
      // engine.
      pool_(std::make_shared<remote::WorkerPool>(remote::WorkerPool::Options{
          sync::ReconcileOptions{}.remote_in_flight, 1024, "hoard-remote"})),
      chain_(std::make_unique<ResolverChain>(journal, journal_mu_, store, options_.config_path)),
      external_(std::make_unique<ExternalResolvers>(connection, *chain_)) {
  if (auto st = chain_->reload(); !st) log(3, "rules disabled: " + st.error().message());
  for (const auto& w : chain_->rulesWarnings()) log(4, "rules: " + w);
  startAuthWatch();
  registerAdaptor();
}

Agent::~Agent() {
  close();
  logged("unregistering the object", [&] { unregisterAdaptor(); });
}

void Agent::refuseWhileClosing() const {
  if (closing_)
    raise(Error(ErrorCode::kAborted, "hoardd is stopping; try again once it runs again"));
}

void Agent::startShares() {
  std::vector<journal::ShareRecord> shares;
  {
    MutexLock lock(journal_mu_);
    auto s = journal_.shares();
    if (!s) {
      log(3, "cannot list shares: " + s.error().toString());
      return;
    }
    shares = std::move(*s);
  }
  for (const auto& share : shares) {
    try {
      startEngine(share);
    } catch (const sdbus::Error& e) {
      log(3, "share " + share.name + " not started: " + e.getMessage());
    } catch (...) {
      logCurrentException("starting share " + share.name);
    }
  }
  // Conflicts left open by an earlier run meet the rules as they are now.
  postChainOnOpenConflicts();
}

void Agent::close() {
  {
    MutexLock lock(post_mu_);
    if (closing_.exchange(true)) return;
  }
  std::map<std::string, std::shared_ptr<Engine>> engines;
  {
    MutexLock lock(mu_);
    engines = engines_;
  }
  // Every pass stops touching the remote at once, all shares together.
  for (auto& [name, e] : engines) e->engine->requestStop();
  // What was queued ends (refused as Aborted); what runs finishes its file.
  control_.reset();
  jobs_.reset();
  resolve_.reset();  // a resolver waiting for a person is not waited for past its timeout
  auth_.reset();     // a renewal command is waited for (at most its timeout)
  auth_watch_.reset();
  external_.reset();
  {
    MutexLock lock(mu_);
    engines.swap(engines_);
  }
  for (auto& [name, e] : engines)
    logged("stopping share " + name, [&] { shutdownEngine(*e); });
  engines.clear();
}

void Agent::startEngine(const journal::ShareRecord& share) {
  auto e = std::make_shared<Engine>();
  e->name = share.name;
  Engine* raw = e.get();
  sync::ShareEngineHooks hooks;
  hooks.onStateChanged = [this, raw](journal::ShareState s, const std::string& reason) {
    logged("share " + raw->name + ": state change", [&] {
      logMessage(5, "share " + raw->name + " is " + std::string(journal::shareStateName(s)) +
                        (reason.empty() ? "" : ": " + reason),
                 LogFields{raw->name, {}, 0, {}});
      signal([&] { emitStateChanged(raw->name, std::string(journal::shareStateName(s)), reason); });
      if (auto view = raw->currentView()) view->stateChanged(s);
    });
  };
  hooks.onConflictDetected = [this, raw](int64_t id) {
    logged("share " + raw->name + ": new conflict", [&] {
      std::optional<journal::ConflictRecord> c;
      {
        MutexLock lock(journal_mu_);
        if (auto r = journal_.conflict(id)) c = *r;
      }
      if (!c) return;
      logMessage(4,
                 "share " + raw->name + ": conflict #" + std::to_string(id) + " (" +
                     std::string(journal::conflictKindName(c->kind)) + ") at " +
                     displayPath(c->path),
                 LogFields{raw->name, c->path, static_cast<uint64_t>(id), {}});
      signal([&] {
        emitConflictDetected(static_cast<uint64_t>(id), raw->name, bytes(c->path),
                             std::string(journal::conflictKindName(c->kind)));
      });
      postChain(raw->name, id);
    });
  };
  hooks.onAuthenticationRequired = [this, raw](const std::string& m) {
    logged("share " + raw->name + ": authentication", [&] {
      logMessage(4, "share " + raw->name + ": authentication required: " + m,
                 LogFields{raw->name, {}, 0, "org.hoard.Error.AuthenticationRequired"});
      signal([&] { emitAuthenticationRequired(raw->name, m); });
    });
  };
  hooks.onPassFinished = [raw](const sync::ReconcileReport& r) {
    logged("share " + raw->name + ": pass report", [&] {
      // A path that fails is visible: in the log here, in GetStatus's "failed".
      size_t n = 0;
      for (const auto& [path, err] : r.failed) {
        if (n++ == kLoggedFailures) {
          log(4, "share " + raw->name + ": ... and " +
                     std::to_string(r.failed.size() - kLoggedFailures) + " more path(s) failed");
          break;
        }
        logMessage(4,
                   "share " + raw->name + ": " + displayPath(path) + " could not be synced (" +
                       std::string(errorCodeName(err.code())) + "): " + err.message(),
                   LogFields{raw->name, path, 0, dbus::errorName(err.code())});
      }
      if (r.mass_delete)
        logMessage(4, "share " + raw->name + ": stopped before deleting " +
                   std::to_string(r.mass_delete->count) + " of " +
                   std::to_string(r.mass_delete->total) + " files " +
                   (r.mass_delete->on_remote ? "on the remote" : "in the cache") +
                   "; `hoard sync " + raw->name + " --confirm-delete` goes ahead",
                   LogFields{raw->name, {}, 0, "org.hoard.Error.Aborted"});
      logPassTimes(raw->name, r);
      if (auto view = r.listing_recorded ? raw->currentView() : nullptr)
        if (Status shown = view->reloadListing(); !shown)
          log(4, "share " + raw->name + ": the view keeps its older listing: " +
                     shown.error().message());
    });
  };
  hooks.onListingRecorded = [raw] {
    if (auto view = raw->currentView()) view->showFirstListing();
  };
  hooks.onListerFallback = [raw](const std::string& reason) {
    logged("share " + raw->name + ": lister", [&] {
      if (reason.empty())
        logMessage(6, "share " + raw->name + ": listing the remote with hoard-lister",
                   LogFields{raw->name, {}, 0, {}});
      else
        logMessage(4, "share " + raw->name + ": not listing with hoard-lister (" + reason +
                          "); walking the mount instead",
                   LogFields{raw->name, {}, 0, {}});
    });
  };
  sync::ShareEngineOptions engine_options = options_.engine;
  if (auto l = options_.listers.find(share.name); l != options_.listers.end())
    engine_options.lister.spec = l->second;
  auto engine = sync::ShareEngine::start(journal_, journal_mu_, share.id, store_, pool_,
                                         options_.host, std::move(hooks), engine_options);
  if (!engine) raise(engine.error().withContext("share \"" + share.name + "\""));
  e->engine = std::move(*engine);
  {
    MutexLock lock(mu_);
    engines_[share.name] = e;
  }
  if (share.onDemand()) (void)startView(e, share);  // a failure is logged and in GetStatus
}

void Agent::stopEngine(const std::string& share) {
  std::shared_ptr<Engine> e;
  {
    MutexLock lock(mu_);
    auto it = engines_.find(share);
    if (it == engines_.end()) return;
    e = it->second;
    engines_.erase(it);
  }
  // Here, off the bus thread: whoever drops the last reference later (a
  // GetStatus on the bus thread, say) then destroys a stopped engine.
  shutdownEngine(*e);
}

void Agent::shutdownEngine(Engine& e) {
  std::shared_ptr<ShareView> view;
  {
    MutexLock lock(e.view_mu);
    view.swap(e.view);
  }
  e.engine->shutdown();
  view.reset();  // unmounted once the engine's hooks (which use it) have ended
}

std::shared_ptr<Agent::Engine> Agent::engine(const std::string& share) {
  MutexLock lock(mu_);
  auto it = engines_.find(share);
  if (it == engines_.end())
    raise(dbus::kUnknownShare, "no share is named \"" + share +
                                   "\"; `hoard share list` shows the shares there are");
  return it->second;
}

Result<Agent::ConflictOnEngine> Agent::conflictOnEngine(int64_t id, bool open) {
  ConflictOnEngine t;
  {
    MutexLock lock(journal_mu_);
    auto c = journal_.conflict(id);
    if (!c) return fail(ErrorCode::kNotFound, "there is no conflict #" + std::to_string(id));
    if (c->open != open)
      return fail(ErrorCode::kNotFound,
                  "conflict #" + std::to_string(id) +
                      (open ? " is not open" : " is open: there is no resolution to undo"));
    t.conflict = std::move(*c);
    auto s = journal_.share(t.conflict.share_id);
    if (!s) return tl::unexpected(s.error());
    t.share = s->name;
  }
  MutexLock lock(mu_);
  auto it = engines_.find(t.share);
  if (it == engines_.end())
    return fail(ErrorCode::kNotFound, "share \"" + t.share + "\" of conflict #" +
                                          std::to_string(id) + " is not running");
  t.engine = it->second;
  return t;
}

journal::ShareRecord Agent::shareRecord(const std::string& share) {
  MutexLock lock(journal_mu_);
  auto r = journal_.shareByName(share);
  if (!r) {
    if (r.error().code() == ErrorCode::kNotFound)
      raise(dbus::kUnknownShare, "no share is named \"" + share +
                                     "\"; `hoard share list` shows the shares there are");
    raise(r.error());
  }
  return *r;
}

uint64_t Agent::newJob(const std::string& share, std::string kind) {
  uint64_t job = next_job_++;
  log(6, "job " + std::to_string(job) + ": " + kind + " of share " + share);
  return job;
}

}  // namespace hoard::daemon
