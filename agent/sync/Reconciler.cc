// SPDX-License-Identifier: MIT
// One reintegration pass as a short sequence of phases (Phases.h), each in
// the file named for it, sharing one PassState.

#include "sync/Reconciler.h"

#include <chrono>

#include "sync/Phases.h"

namespace hoard::sync {

std::string_view resolutionName(Resolution r) {
  switch (r) {
    case Resolution::kKeepLocal: return "keep-local";
    case Resolution::kKeepRemote: return "keep-remote";
    case Resolution::kStash: return "stash";
    case Resolution::kMerged: return "merged";
    case Resolution::kDelete: return "delete";
    case Resolution::kMarkers: return "markers";
  }
  return "keep-local";
}

std::optional<Resolution> resolutionFromName(std::string_view name) {
  // Not kMarkers: it needs a resolver's merge, a user cannot ask for it by name.
  for (Resolution r : {Resolution::kKeepLocal, Resolution::kKeepRemote, Resolution::kStash,
                       Resolution::kMerged, Resolution::kDelete})
    if (resolutionName(r) == name) return r;
  return std::nullopt;
}

Reconciler::Reconciler(ShareSides sides) : s_(std::move(sides)) {}

namespace {

struct Phase {
  const char* name;
  Result<bool> (*run)(PassState&);
};
constexpr Phase kPhases[] = {
    {"check", checkRemote}, {"intents", settleIntents}, {"list", listSides},
    {"renames", replayRenames}, {"plan", planPaths}, {"apply", applyPlan},
    {"hoard", hoardWalk},
};

// The phases in order, each timed; false from one ends the pass early
// (report.stopped).
Result<bool> runPhases(PassState& pass) {
  for (const Phase& phase : kPhases) {
    if (stopRequested(pass)) return false;
    auto start = std::chrono::steady_clock::now();
    auto go = phase.run(pass);
    auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - start);
    pass.report.phase_ms.emplace_back(phase.name, took.count());
    if (!go || !*go) return go;
  }
  return true;
}

}  // namespace

Result<ReconcileReport> Reconciler::run(const ReconcileOptions& opts) {
  PassState pass(s_, opts);
  pass.batching = true;
  auto finished = runPhases(pass);
  if (Status patched = patchListing(pass); !patched && finished) finished = tl::unexpected(patched.error());
  // A pass that stopped early still commits what it did; one that ran
  // through also drops the log it replayed.
  Status flushed = finished && *finished ? finishPass(pass) : pass.flush();
  pass.forgetOwnWrites();
  if (!finished) return tl::unexpected(finished.error());
  if (!flushed) return tl::unexpected(flushed.error());
  return std::move(pass.report);
}

}  // namespace hoard::sync
