// SPDX-License-Identifier: MIT
#pragma once

// org.hoard.Agent1 on the session bus: translates calls into the engine's
// terms and the engine's events into signals. It holds no sync logic of its
// own (that is agent/sync); errors become org.hoard.Error.* names through
// dbus/DbusErrors.h only.
//
// Threads: methods run on the connection's event-loop thread and never block
// on the remote; Method.Async ones post their work to the strand and reply
// from there. Engine hooks (state changes, conflicts, finished passes) arrive
// on each share's own thread and only emit signals.

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <sdbus-c++/sdbus-c++.h>

#include "daemon/Strand.h"
#include "dbus/org.hoard.Agent1.adaptor.h"
#include "journal/Journal.h"
#include "store/BaseStore.h"
#include "sync/ShareEngine.h"

namespace hoard::daemon {

struct AgentOptions {
  sync::ShareEngineOptions engine;
  std::string host;
  // config resolved_retention_days: how long resolved conflicts and their
  // versions are kept (for undo) before they are dropped.
  int resolved_retention_days = 30;
};

class Agent final : public sdbus::AdaptorInterfaces<org::hoard::Agent1_adaptor> {
 public:
  // `journal` and `store` must outlive the Agent. Registers the object at
  // /org/hoard/Agent1 on `connection`.
  Agent(sdbus::IConnection& connection, journal::Journal& journal, store::BaseStore& store,
        AgentOptions options);
  ~Agent();

  // Starts an engine for every share in the journal; a share whose engine
  // cannot start (its cache root is gone, ...) is logged and left stopped.
  void startShares();
  // Stops every engine (the trackers make what they saw durable first).
  void stopShares();

 private:
  // Emits a signal. A bus that went away (hoardd is about to stop) is logged,
  // never thrown into the pass or job that emits.
  template <class F>
  void signal(F&& emit) {
    try {
      emit();
    } catch (const sdbus::Error& e) {
      signalFailed(e);
    }
  }
  void signalFailed(const sdbus::Error& e);

  // org.hoard.Agent1 (see dbus/org.hoard.Agent1.xml for each contract).
  void AddShare(const std::string& name, const std::vector<uint8_t>& remote_root,
                const std::vector<uint8_t>& cache_root,
                const std::map<std::string, sdbus::Variant>& options) override;
  void RemoveShare(const std::string& name,
                   const std::map<std::string, sdbus::Variant>& options) override;
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
  void SetOffline(const std::string& share, const bool& offline) override;
  void SyncNow(sdbus::Result<uint64_t>&& result, std::string share) override;
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
  void ResolveMatching(sdbus::Result<std::vector<uint64_t>>&& result, std::string share,
                       std::map<std::string, sdbus::Variant> filter,
                       std::string resolver) override;
  std::vector<sdbus::Struct<uint64_t, std::string, int64_t, uint32_t>> ListSnapshots(
      const std::string& share) override;
  std::vector<sdbus::Struct<std::vector<uint8_t>, std::string, uint32_t, uint64_t, int64_t,
                            std::string>>
  ReadSnapshot(const uint64_t& id) override;
  std::tuple<std::string, std::vector<uint8_t>> ResolvePath(
      const std::vector<uint8_t>& local_path) override;
  std::string Version() override;
  std::vector<std::string> Shares() override;
  uint32_t OpenConflicts() override;

  struct Engine;
  // The running engine of `share`; throws org.hoard.Error.UnknownShare.
  std::shared_ptr<Engine> engine(const std::string& share);
  journal::ShareRecord shareRecord(const std::string& share);
  void startEngine(const journal::ShareRecord& share);
  // Resolves the given open conflicts (on the strand); returns the ids done.
  Result<std::vector<uint64_t>> resolveIds(const std::vector<int64_t>& ids,
                                           sync::Resolution how);
  uint64_t newJob(const std::string& share, std::string kind);

  journal::Journal& journal_;
  std::mutex journal_mu_;  // the journal's; every engine uses it too
  store::BaseStore& store_;
  AgentOptions options_;
  std::shared_ptr<remote::WorkerPool> pool_;

  std::mutex mu_;
  std::map<std::string, std::shared_ptr<Engine>> engines_;  // GUARDED_BY(mu_)
  // Job ids never repeat across restarts (a client may still wait on one):
  // they start from the wall clock in milliseconds.
  std::atomic<uint64_t> next_job_{static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::system_clock::now().time_since_epoch())
          .count())};
  // Reset first in the destructor: no task may outlive the state it uses.
  std::unique_ptr<Strand> strand_ = std::make_unique<Strand>();
};

}  // namespace hoard::daemon
