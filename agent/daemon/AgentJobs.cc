// SPDX-License-Identifier: MIT
// org.hoard.Agent1: jobs (preload, sync, evict) and going offline.
#include <malloc.h>

#include "common/RelPath.h"
#include "daemon/Agent.h"
#include "daemon/BusArgs.h"
#include "daemon/Log.h"
#include "dbus/DbusErrors.h"

namespace hoard::daemon {

namespace {

// "3 sent, 5 received, 0 deleted, ..." for a job's own pass.
std::string passSummary(const sync::ReconcileReport& r) {
  return std::to_string(r.pushed) + " sent, " + std::to_string(r.pulled + r.hoarded) +
         " received, " + std::to_string(r.deleted_remote + r.deleted_local) + " deleted, " +
         std::to_string(r.new_conflicts.size()) + " new conflict(s), " +
         std::to_string(r.waiting) + " path(s) waiting on conflicts";
}

bool movedNothing(const sync::ReconcileReport& r) {
  return r.pushed + r.pulled + r.hoarded + r.deleted_remote + r.deleted_local +
             r.renamed_remote + r.new_conflicts.size() ==
         0;
}

// What the state machine's own passes did before the job's pass ran (the
// automatic pass after `share add` or `hoard online` usually does the work).
std::string automaticSummary(const sync::PassTotals& t) {
  std::string s = std::to_string(t.sent) + " sent, " + std::to_string(t.received) + " received";
  if (t.hoarded > 0) s += " (" + std::to_string(t.hoarded) + " fetched for the first time)";
  if (t.new_conflicts > 0) s += ", " + std::to_string(t.new_conflicts) + " new conflict(s)";
  return s;
}

}  // namespace

void Agent::Preload(sdbus::Result<uint64_t>&& result, std::string share) {
  replying("Preload", result, [&](auto& reply) {
    refuseWhileClosing();
    auto e = engine(share);
    uint64_t job = newJob(share, "preload");
    reply.returnResults(job);
    runSyncJob(std::move(e), job, "preload", false);
  });
}

void Agent::SyncNow(sdbus::Result<uint64_t>&& result, std::string share) {
  replying("SyncNow", result, [&](auto& reply) {
    refuseWhileClosing();
    auto e = engine(share);
    uint64_t job = newJob(share, "sync");
    reply.returnResults(job);
    runSyncJob(std::move(e), job, "sync", false);
  });
}

void Agent::ConfirmMassDelete(sdbus::Result<uint64_t>&& result, std::string share,
                              uint32_t count) {
  replying("ConfirmMassDelete", result, [&](auto& reply) {
    refuseWhileClosing();
    auto e = engine(share);
    auto last = e->engine->lastPass();
    if (!last || !last->mass_delete)
      raise(Error(ErrorCode::kNotFound,
                  "no deletion of share \"" + share + "\" waits for confirmation"));
    if (last->mass_delete->count != count)
      raise(Error(ErrorCode::kBusy,
                  "the deletion waiting for share \"" + share + "\" is now of " +
                      std::to_string(last->mass_delete->count) + " file(s), not " +
                      std::to_string(count) + "; nothing was deleted, look again"));
    uint64_t job = newJob(share, "confirmed mass deletion");
    reply.returnResults(job);
    runSyncJob(std::move(e), job, "sync", true);
  });
}

void Agent::runSyncJob(std::shared_ptr<Engine> e, uint64_t job, std::string kind,
                       bool confirm_mass_delete) {
  auto finish = [this, e, job](const std::string& error, const std::string& message) {
    signal([&] { emitJobFinished(job, e->name, error, message); });
  };
  MutexLock lock(post_mu_);
  if (closing_) {
    finish(dbus::errorName(ErrorCode::kAborted), "hoardd is stopping");
    return;
  }
  jobs_->post([this, e, job, kind, confirm_mass_delete, finish] {
    runSyncJobNow(e, job, kind, confirm_mass_delete, finish);
    // The pass trimmed the heap as it ended, but its report and what the
    // pass's threads let go of afterwards are freed only now: an idle daemon
    // would keep them as resident memory.
    ::malloc_trim(0);
  });
}

void Agent::runSyncJobNow(const std::shared_ptr<Engine>& e, uint64_t job, const std::string& kind,
                          bool confirm_mass_delete,
                          const std::function<void(const std::string&, const std::string&)>& finish) {
  try {
    if (closing_) {
      finish(dbus::errorName(ErrorCode::kAborted), "hoardd is stopping");
      return;
    }
    // A signal per file would cost more than small files do: the first,
    // then at most ten a second, and always the last.
    std::chrono::steady_clock::time_point last{};
    auto report = e->engine->syncOnce(
        [this, e, job, kind, &last](const sync::HoardProgress& p) {
          auto now = std::chrono::steady_clock::now();
          if (p.files_done != 1 && p.files_done != p.files_total &&
              now - last < std::chrono::milliseconds(100))
            return;
          last = now;
          signal([&] {
            emitProgress(job, e->name, kind, p.bytes_done, p.bytes_total, p.files_done,
                         p.files_total);
          });
        },
        confirm_mass_delete);
    sync::PassTotals before = e->engine->takeAutomaticTotals();
    if (!report) {
      finish(dbus::errorName(report.error().code()), report.error().message());
      return;
    }
    if (report->stopped) {
      std::string message = report->stopped->message();
      if (report->mass_delete)
        message += "; `hoard sync " + e->name + " --confirm-delete` shows them and goes ahead";
      finish(dbus::errorName(report->stopped->code()), message);
      return;
    }
    if (!report->failed.empty()) {
      // Not a success: say so, by the first failure's name (the rest are
      // retried by the next pass as well; `hoard status` lists them).
      const auto& [path, err] = report->failed.front();
      finish(dbus::errorName(err.code()),
             std::to_string(report->failed.size()) +
                 " path(s) could not be synced and will be retried (`hoard status " + e->name +
                 "` lists them); first: " + displayPath(path) + ": " + err.message());
      return;
    }
    std::string summary = passSummary(*report);
    if (before.any()) {
      if (movedNothing(*report))
        summary = "nothing left to do: the automatic pass" +
                  std::string(before.passes > 1 ? "es" : "") + " before it already did the work (" +
                  automaticSummary(before) + ")";
      else
        summary += "; before it, the automatic pass" +
                   std::string(before.passes > 1 ? "es" : "") + " had done " +
                   automaticSummary(before);
    }
    finish("", summary);
  } catch (...) {
    finish(dbus::errorName(ErrorCode::kInternal),
           currentAsBusError(kind + " job " + std::to_string(job)).getMessage());
  }
}

void Agent::Evict(sdbus::Result<uint64_t>&& result, std::string share, std::vector<uint8_t> path) {
  async(jobs_, "Evict", std::move(result), [this, share, path](sdbus::Result<uint64_t>& reply) {
    auto e = engine(share);
    RelPath p = relPath(path, "Evict");
    if (p.empty())
      raise(Error(ErrorCode::kInvalidArgument,
                  "cannot evict the share root of \"" + share + "\"; evict a path inside it"));
    std::shared_ptr<ShareView> view = e->currentView();
    if (!view) {
      reply.returnResults(orRaise(e->engine->evict(p)));
      return;
    }
    // On demand: the engine drops what it keeps (refusing pinned or changed
    // files as for any share), then the view the blocks reads fetched.
    uint64_t freed = 0;
    auto kept = e->engine->evict(p);
    if (kept) {
      freed = *kept;
    } else if (kept.error().code() != ErrorCode::kNotFound) {
      raise(kept.error());
    }
    auto fetched = view->evict(p);
    if (fetched) {
      freed += *fetched;
    } else if (!kept || fetched.error().code() != ErrorCode::kNotFound) {
      raise(fetched.error());  // in neither place: the view says so
    }
    reply.returnResults(freed);
  });
}

void Agent::SetOffline(sdbus::Result<>&& result, std::string share, bool offline) {
  // Going offline waits until the running pass stopped touching the remote.
  async(control_, "SetOffline", std::move(result),
        [this, share, offline](sdbus::Result<>& reply) {
          auto e = engine(share);
          orRaise(e->engine->setUserOffline(offline));
          // The view is offline before the reply (the state hook comes
          // later, from the share's thread): a read right after `hoard
          // offline` gets the miss policy, never the remote.
          if (offline)
            if (auto view = e->currentView()) view->stateChanged(journal::ShareState::kOffline);
          reply.returnResults();
        });
}

}  // namespace hoard::daemon
