// SPDX-License-Identifier: MIT
// ShareEngine::hydrate: a placeholder of an on-demand share hoarded, with
// its base row, before a program changes it through the view.

#include "sync/ShareEngine.h"

namespace hoard::sync {

namespace {

// Why the pass left `path` out of the cache, from its report.
Error whyNotHydrated(const ReconcileReport& report, const std::string& share,
                     const RelPath& path) {
  const std::string what = "cannot fetch " + displayPath(path) + " of share \"" + share + "\"";
  for (const auto& [p, err] : report.failed)
    if (isUnder(path, p) || isUnder(p, path)) return err.withContext(what);
  if (report.stopped) return report.stopped->withContext(what);
  if (report.waiting > 0)
    return Error(ErrorCode::kConflict,
                 what + ": it waits for a conflict to be resolved (`hoard conflicts " + share + "`)");
  for (const RelPath& p : report.retried)
    if (isUnder(path, p))
      return Error(ErrorCode::kBusy, what + ": it is changing on the remote; try again");
  return Error(ErrorCode::kNotFound, what + ": the remote has no such file any more");
}

}  // namespace

Status ShareEngine::hydrate(const RelPath& path) {
  // A program waits for this: a long pass of the machine's gives way.
  const bool yielded = yieldAutomaticPass();
  Status st;
  {
    // Everything under pass_mu_: a caller that gave up waiting (the view's
    // deadline) may still be here when the engine stops, which waits for it.
    MutexLock lock(pass_mu_);
    st = hydrateLocked(path);
  }
  if (yielded && !shut_down_) machine_->syncNow();  // the stopped pass goes on
  return st;
}

Status ShareEngine::hydrateLocked(const RelPath& path) {
  if (shut_down_) return fail(ErrorCode::kAborted, "share \"" + share().name + "\" is stopping");
  if (cacheFs().lstat(path)) return {};  // hoarded already, or by the pass this waited for
  ShareStatus st = machine_->status();
  if (st.user_offline || st.state == journal::ShareState::kOffline)
    return fail(ErrorCode::kOffline, "cannot fetch " + displayPath(path) + " of share \"" +
                                         share().name + "\": the share is offline");
  auto report = runLocked({}, /*confirm_mass_delete=*/false, /*automatic=*/false,
                          /*write_back=*/true, {path});
  if (!report) return tl::unexpected(report.error().withContext("cannot fetch " +
                                                                displayPath(path)));
  if (cacheFs().lstat(path)) return {};
  return tl::unexpected(whyNotHydrated(*report, share().name, path));
}

}  // namespace hoard::sync
