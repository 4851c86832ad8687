// SPDX-License-Identifier: MIT
#pragma once

// org.hoard.Agent1 on the session bus: translates calls into the engine's
// terms and the engine's events into signals. It holds no sync logic of its
// own (that is agent/sync: ShareEngine, ShareQueries); errors become
// org.hoard.Error.* names through dbus/DbusErrors.h only, and every method,
// property, posted task and hook goes through the one catch ladder
// (CatchLadder.h): a throw never ends hoardd.
//
// The methods live in one file per area: AgentShares.cc (shares, pins),
// AgentJobs.cc (preload, sync, evict, offline), AgentConflicts.cc,
// AgentSnapshots.cc, AgentStatus.cc (status, changes, paths, properties);
// Agent.cc holds the engines and the plumbing.
//
// Threads: methods run on the connection's event-loop thread and never wait
// on a pass, a remote call or another share thread (the share threads emit
// signals on the same connection: waiting for one from the bus thread is a
// deadlock). What may wait is Method.Async and runs on a strand: jobs_ for
// passes, resolutions and evictions; control_ for adding and removing shares
// and going offline (each waits on a remote or a pass). Engine hooks arrive
// on each share's own thread and only log and emit signals.

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <sdbus-c++/sdbus-c++.h>

#include "common/ThreadAnnotations.h"
#include "daemon/AgentOptions.h"
#include "daemon/CatchLadder.h"
#include "daemon/ResolverChain.h"
#include "daemon/Strand.h"
#include "dbus/org.hoard.Agent1.adaptor.h"
#include "journal/Journal.h"
#include "store/BaseStore.h"
#include "sync/ShareEngine.h"

namespace hoard::daemon {


class ExternalResolvers;
class AuthWatch;
class ShareView;

class Agent final : public sdbus::AdaptorInterfaces<org::hoard::Agent1_adaptor> {
 public:
  // `journal` and `store` must outlive the Agent. Registers the object at
  // /org/hoard/Agent1 on `connection` (take the bus name after startShares:
  // a call that arrives by name must find every share's engine).
  Agent(sdbus::IConnection& connection, journal::Journal& journal, store::BaseStore& store,
        AgentOptions options);
  // close(), then unregisters the object.
  ~Agent();

  // Starts an engine for every share in the journal (on the calling thread);
  // a share whose engine cannot start (its cache root is gone, ...) is
  // logged and left stopped.
  void startShares();
  // Stops taking calls (each gets org.hoard.Error.Aborted "hoardd is
  // stopping"), asks every running pass to stop, finishes what the strands
  // hold (queued jobs end as Aborted), then stops every engine (the trackers
  // make what they saw durable first). Idempotent. Not from the bus thread.
  void close();

  // Reads the rules again (SIGHUP, ReloadRules), logs the outcome and runs
  // the chain on every open conflict. Any thread but the bus thread's.
  Status reloadRules();

  // Session hints (SessionSignals.h, AgentSession.cc). networkChanged: up
  // probes every share at once, down takes every share offline at once
  // (`why` is the reason). Any thread; never blocks.
  void networkChanged(bool up, const std::string& why);
  // Before suspend: every share sends what it has to send; within `budget`
  // whatever pass still runs (a hoard walk) is asked to stop, and this
  // returns once none runs (or a second after the budget). Blocks: not from
  // the bus thread.
  void prepareForSleep(std::chrono::milliseconds budget);
  // After resume: every share probes at once. Any thread; never blocks.
  void resumedFromSleep();

 private:
  struct Engine {
    std::string name;
    std::unique_ptr<sync::ShareEngine> engine;
    // The FUSE view of an on-demand share (AgentViews.cc); null for other
    // shares and while it is not mounted (view_error says why).
    Mutex view_mu;
    std::shared_ptr<ShareView> view HOARD_GUARDED_BY(view_mu);
    std::string view_error HOARD_GUARDED_BY(view_mu);
    std::shared_ptr<ShareView> currentView() HOARD_EXCLUDES(view_mu) {
      MutexLock lock(view_mu);
      return view;
    }
  };

  // Emits a signal. A bus that went away (hoardd is about to stop) is logged,
  // never thrown into the pass or job that emits.
  template <class F>
  void signal(F&& emit) {
    logged("emitting a signal", std::forward<F>(emit));
  }
  // A synchronous method's body in the catch ladder, refused while closing.
  template <class F>
  decltype(auto) call(std::string_view method, F&& f) {
    return guarded(method, [&]() -> decltype(auto) {
      refuseWhileClosing();
      return f();
    });
  }
  // An asynchronous method: `work(reply)` runs on `on` inside the catch
  // ladder and replies itself.
  template <class Reply, class F>
  void async(std::unique_ptr<Strand>& on, std::string_view method, Reply&& result, F work) {
    auto reply = std::make_shared<std::decay_t<Reply>>(std::move(result));
    std::string where(method);
    MutexLock lock(post_mu_);
    if (closing_) {
      replying(where, *reply, [this](auto&) { refuseWhileClosing(); });
      return;
    }
    on->post([this, where, reply, work = std::move(work)]() mutable {
      replying(where, *reply, [&](auto& r) {
        refuseWhileClosing();
        work(r);
      });
    });
  }
  void refuseWhileClosing() const;

  // org.hoard.Agent1 (see dbus/org.hoard.Agent1.xml for each contract).
  void AddShare(sdbus::Result<>&& result, std::string name, std::vector<uint8_t> remote_root,
                std::vector<uint8_t> cache_root,
                std::map<std::string, sdbus::Variant> options) override;
  void RemoveShare(sdbus::Result<>&& result, std::string name,
                   std::map<std::string, sdbus::Variant> options) override;
  void MakeOnDemand(sdbus::Result<>&& result, std::string name,
                    std::map<std::string, sdbus::Variant> options) override;
  void EndOnDemand(sdbus::Result<>&& result, std::string name,
                   std::map<std::string, sdbus::Variant> options) override;
  std::vector<sdbus::Struct<std::string, std::vector<uint8_t>, std::vector<uint8_t>, std::string,
                            uint32_t, uint32_t>>
  ListShares() override;
  void Pin(const std::string& share, const std::vector<uint8_t>& path,
           const uint32_t& priority) override;
  void Unpin(const std::string& share, const std::vector<uint8_t>& path) override;
  std::vector<sdbus::Struct<std::vector<uint8_t>, uint32_t, bool>> ListPins(
      const std::string& share) override;
  void Preload(sdbus::Result<uint64_t>&& result, std::string share) override;
  void Evict(sdbus::Result<uint64_t>&& result, std::string share,
             std::vector<uint8_t> path) override;
  std::map<std::string, sdbus::Variant> GetStatus(const std::string& share) override;
  void SetOffline(sdbus::Result<>&& result, std::string share, bool offline) override;
  void SyncNow(sdbus::Result<uint64_t>&& result, std::string share) override;
  void ConfirmMassDelete(sdbus::Result<uint64_t>&& result, std::string share,
                         uint32_t count) override;
  std::vector<sdbus::Struct<uint64_t, std::string, std::vector<uint8_t>, std::vector<uint8_t>,
                            int64_t>>
  ListChanges(const std::string& share) override;
  std::vector<sdbus::Struct<uint64_t, std::string, std::vector<uint8_t>, std::string, int64_t>>
  ListConflicts(const std::string& share) override;
  std::map<std::string, sdbus::Variant> GetConflict(const uint64_t& id) override;
  void OpenConflictVersions(sdbus::Result<sdbus::UnixFd, sdbus::UnixFd, sdbus::UnixFd,
                                          sdbus::Struct<bool, bool, bool>>&& result,
                            uint64_t id) override;
  void Resolve(sdbus::Result<std::vector<uint64_t>>&& result, std::vector<uint64_t> ids,
               std::string resolver) override;
  void ResolveWith(sdbus::Result<std::vector<uint64_t>>&& result, std::vector<uint64_t> ids,
                   std::string resolver, std::map<std::string, sdbus::Variant> options) override;
  void ResolveMatching(sdbus::Result<std::vector<uint64_t>>&& result, std::string share,
                       std::map<std::string, sdbus::Variant> filter,
                       std::string resolver) override;
  void PreviewResolve(sdbus::Result<std::vector<std::map<std::string, sdbus::Variant>>>&& result,
                      std::vector<uint64_t> ids, std::string share,
                      std::map<std::string, sdbus::Variant> filter, std::string resolver) override;
  void ReloadRules(sdbus::Result<uint32_t, std::vector<std::string>>&& result) override;
  void ExplainRules(sdbus::Result<std::vector<std::string>>&& result, std::string share,
                    std::vector<uint8_t> path) override;
  void RegisterResolver(const sdbus::ObjectPath& object, const std::string& name,
                        const std::map<std::string, sdbus::Variant>& options) override;
  void UnregisterResolver(const sdbus::ObjectPath& object) override;
  std::vector<sdbus::Struct<uint64_t, uint64_t, std::string, std::vector<uint8_t>, std::string,
                            std::string, std::string, std::string, std::string, int64_t,
                            int64_t>>
  ListResolutions(const std::string& share) override;  // AgentHistory.cc
  void Undo(sdbus::Result<>&& result, uint64_t id) override;
  std::vector<sdbus::Struct<uint64_t, std::string, int64_t, uint32_t>> ListSnapshots(
      const std::string& share) override;
  std::vector<sdbus::Struct<std::vector<uint8_t>, std::string, uint32_t, uint64_t, int64_t,
                            std::string>>
  ReadSnapshot(const uint64_t& id) override;
  std::tuple<std::string, std::vector<uint8_t>> ResolvePath(
      const std::vector<uint8_t>& local_path) override;
  void Renew(sdbus::Result<uint64_t>&& result, std::string share,
             std::map<std::string, sdbus::Variant> options) override;  // AgentAuth.cc
  std::vector<sdbus::Struct<std::string, std::vector<uint8_t>, std::string, std::string>>
  CheckReady(const std::string& share) override;  // AgentAuth.cc
  std::string Version() override;
  std::vector<std::string> Shares() override;
  std::vector<sdbus::Struct<std::vector<uint8_t>, std::string, int64_t, std::string>> ListMisses(
      const std::string& share) override;  // AgentViews.cc
  void AnswerRead(const uint64_t& question, const std::string& answer) override;
  std::vector<sdbus::Struct<std::string, std::string, int64_t>> ListReadAnswers() override;
  void ForgetReadAnswer(const std::string& program) override;
  uint32_t OpenConflicts() override;

  // The running engine of `share`; throws org.hoard.Error.UnknownShare.
  std::shared_ptr<Engine> engine(const std::string& share);
  journal::ShareRecord shareRecord(const std::string& share);
  // Conflict `id` in the state `open` asks for, its share's name and its
  // running engine (for resolving, running the chain on it, undoing it).
  // kNotFound naming the id when there is no such conflict, it is in the
  // other state, or its share is not running; the journal's errors.
  struct ConflictOnEngine {
    journal::ConflictRecord conflict;
    std::string share;
    std::shared_ptr<Engine> engine;
  };
  Result<ConflictOnEngine> conflictOnEngine(int64_t id, bool open);
  void startEngine(const journal::ShareRecord& share);
  // On-demand shares (AgentViews.cc). Mounts the view of `share` for its
  // running engine `e`, online as the share is; the error (also kept in
  // e.view_error for GetStatus) if it cannot be mounted.
  Status startView(const std::shared_ptr<Engine>& e, const journal::ShareRecord& share);
  // After the engine of on-demand share `rec` stopped and its view is
  // unmounted: the files of its backing directory go back to the user's
  // directory (RemoveShare leaves the user's files where they were).
  void returnBackingFiles(const journal::ShareRecord& rec);
  // The views mounted now (AgentViews.cc).
  std::vector<std::shared_ptr<ShareView>> mountedViews() HOARD_EXCLUDES(mu_);
  // Every view gets the read answers the journal keeps.
  void refreshReadAnswers() HOARD_EXCLUDES(mu_, journal_mu_);
  // The answer "always fail" for `program`: kept, and told to every view.
  void rememberAlwaysFail(const std::string& program) HOARD_EXCLUDES(mu_, journal_mu_);
  // MakeOnDemand's work (AgentOnDemand.cc), on the control strand: the
  // engine of `rec` (not on demand) stopped, its cache root's files moved
  // into the backing directory, the view mounted, the engine started again.
  // Raises (everything as it was) if a step fails.
  void switchToOnDemand(const journal::ShareRecord& rec);
  // EndOnDemand's work (AgentOnDemand.cc), on the control strand: the view
  // of on-demand share `rec` unmounted, the backing directory's files moved
  // back into the user's folder, the engine started again as an ordinary
  // share. Raises (still on demand, everything where it was) if a step fails.
  void switchFromOnDemand(const journal::ShareRecord& rec);
  // Takes the share's engine out of the map and stops it (waits for its
  // pass): on a strand only.
  void stopEngine(const std::string& share);
  // Unmounts e's view (once its hooks are over) and stops its engine.
  void shutdownEngine(Engine& e);
  // Resolves the given open conflicts (on the strand); returns the ids done.
  Result<std::vector<uint64_t>> resolveIds(const std::vector<int64_t>& ids,
                                           sync::Resolution how, bool force = false);
  // Resolve and ResolveWith by ids: raises UnknownConflict for an id that is
  // not open, InvalidArgument for an unknown resolver.
  std::vector<uint64_t> resolveByIds(const std::vector<uint64_t>& ids,
                                     const std::string& resolver, bool force);
  // The same through the resolver chain with resolver `name` alone (git-merge,
  // sqlite, an external one...): a conflict it leaves open is an error
  // (Conflict) saying why.
  Result<std::vector<uint64_t>> resolveIdsWith(const std::vector<int64_t>& ids,
                                               const std::string& name);
  // InvalidArgument naming the resolvers there are, if `name` is none of them.
  void checkResolverName(const std::string& name);
  uint64_t newJob(const std::string& share, std::string kind);
  // The resolver chain on conflict `id` of `share`, queued on resolve_ (off
  // the passes and the jobs); announces a decision that was applied.
  void postChain(const std::string& share, int64_t id);
  void postChainOnOpenConflicts();
  void runChain(const std::string& share, int64_t id);
  // The open conflicts PreviewResolve is about (ids, or share + filter).
  std::vector<journal::ConflictRecord> previewTargets(const std::vector<uint64_t>& ids,
                                                      const std::string& share,
                                                      const std::map<std::string, sdbus::Variant>& filter);
  // Credentials (AgentAuth.cc): the auth check thread, a share's auth
  // settings (null if none), its GetStatus keys, and what follows a renewal
  // (probe now, then a pass as job `job`).
  void startAuthWatch();
  const ShareAuthOptions* authOptions(const std::string& share) const;
  void addAuthStatus(const std::string& share, const sync::ShareStatus& s,
                     std::map<std::string, sdbus::Variant>& out);
  void renewed(std::shared_ptr<Engine> e, uint64_t job);
  std::vector<std::shared_ptr<Engine>> allEngines();
  // Runs a pass of `e` as job `job` on jobs_ and ends it with JobFinished.
  void runSyncJob(std::shared_ptr<Engine> e, uint64_t job, std::string kind,
                  bool confirm_mass_delete);
  // The body of a sync job, on the jobs pool; `finish` emits JobFinished.
  void runSyncJobNow(const std::shared_ptr<Engine>& e, uint64_t job, const std::string& kind,
                     bool confirm_mass_delete,
                     const std::function<void(const std::string&, const std::string&)>& finish);

  journal::Journal& journal_;
  Mutex journal_mu_;  // the journal's; every engine uses it too
  store::BaseStore& store_;
  AgentOptions options_;
  std::shared_ptr<remote::WorkerPool> pool_;
  Mutex post_mu_;  // posting to a strand vs close() setting closing_ (the strands go after)
  std::atomic<bool> closing_{false};  // set under post_mu_

  Mutex mu_;
  std::map<std::string, std::shared_ptr<Engine>> engines_ HOARD_GUARDED_BY(mu_);
  // Job ids never repeat across restarts (a client may still wait on one):
  // they start from the wall clock in milliseconds.
  std::atomic<uint64_t> next_job_{static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::system_clock::now().time_since_epoch())
          .count())};
  // Reset in close(), before the engines go: no task may outlive the state it uses.
  std::unique_ptr<Strand> control_ = std::make_unique<Strand>("hoard-control");
  std::unique_ptr<Strand> jobs_ = std::make_unique<Strand>("hoard-jobs");
  // The resolver chain: its own strand, so a resolver that takes minutes (a
  // prompt) holds up no job.
  std::unique_ptr<ResolverChain> chain_;
  std::unique_ptr<ExternalResolvers> external_;
  std::unique_ptr<Strand> resolve_ = std::make_unique<Strand>("hoard-resolve");
  // Renewal commands run here (one may wait minutes for a person).
  std::unique_ptr<Strand> auth_ = std::make_unique<Strand>("hoard-auth");
  std::unique_ptr<AuthWatch> auth_watch_;
};

}  // namespace hoard::daemon
