// SPDX-License-Identifier: MIT
// org.hoard.Agent1: on-demand shares. Their FUSE views (ShareView.h) are
// mounted once their engine runs, unmounted before it stops, and their
// misses listed.
#include <cerrno>
#include <cstdio>
#include <filesystem>

#include "common/RelPath.h"
#include "daemon/Agent.h"
#include "daemon/BusArgs.h"
#include "daemon/Log.h"
#include "dbus/DbusErrors.h"

namespace hoard::daemon {

Status Agent::startView(const std::shared_ptr<Engine>& e, const journal::ShareRecord& share) {
  ShareViewPolicy policy = options_.default_view;
  if (auto p = options_.views.find(share.name); p != options_.views.end()) policy = p->second;
  // A placeholder a program changes is hoarded first. The view calls on a
  // thread of its own that may outlive it: no reference that keeps the
  // engine (and so the view) alive past its stop.
  std::weak_ptr<Engine> weak = e;
  auto hydrate = [weak, name = share.name](const RelPath& path) -> Status {
    auto engine = weak.lock();
    if (!engine || !engine->engine)
      return fail(ErrorCode::kAborted, "share \"" + name + "\" is stopping");
    return engine->engine->hydrate(path);
  };
  // Progress of the data programs wait for, on the bus (a file manager's bar).
  auto on_fetch = [this, name = share.name](const view::FetchProgress& p) {
    signal([&] { emitFetchProgress(name, bytes(p.path), p.program, p.bytes_done, p.bytes_total); });
  };
  auto v = ShareView::mount(journal_, journal_mu_, share, e->engine->remoteFs(),
                            partsDir(options_.state_dir, share.name), policy, std::move(hydrate),
                            std::move(on_fetch));
  if (!v) {
    Error err = v.error().withContext("share \"" + share.name + "\": on-demand view");
    {
      MutexLock lock(e->view_mu);
      e->view_error = err.message();
    }
    logMessage(3, err.message() + "; the share syncs what is pinned, but " +
                      displayPath(share.view_root) + " shows nothing until hoardd restarts",
               LogFields{share.name, {}, 0, dbus::errorName(err.code())});
    return tl::unexpected(err);
  }
  std::shared_ptr<ShareView> view = std::move(*v);
  {
    MutexLock lock(e->view_mu);
    e->view = view;
    e->view_error.clear();
  }
  // A state change or a listing the hooks saw before the view was set.
  view->stateChanged(e->engine->status().state);
  if (Status s = view->reloadListing(); !s)
    log(4, "share " + share.name + ": view listing: " + s.error().message());
  return {};
}

void Agent::returnBackingFiles(const journal::ShareRecord& rec) {
  namespace fs = std::filesystem;
  std::error_code ec;
  size_t moved = 0, left = 0;
  for (const auto& entry : fs::directory_iterator(rec.cache_root, ec)) {
    fs::path to = fs::path(rec.view_root) / entry.path().filename();
    std::error_code mv;
    if (fs::exists(fs::symlink_status(to, mv))) {
      ++left;  // never over something the user put there since
      continue;
    }
    fs::rename(entry.path(), to, mv);
    if (mv) {
      ++left;
      continue;
    }
    ++moved;
  }
  if (ec) left = 1;
  if (left == 0) {
    fs::remove(rec.cache_root, ec);
    log(5, "share " + rec.name + ": its " + std::to_string(moved) +
               " locally kept entries are back in " + displayPath(rec.view_root));
  } else {
    logMessage(4,
               "share " + rec.name + ": " + std::to_string(left) +
                   " locally kept entries could not be moved to " + displayPath(rec.view_root) +
                   " (another filesystem, or a name taken there); they are in " +
                   displayPath(rec.cache_root),
               LogFields{rec.name, {}, 0, {}});
  }
  fs::remove_all(partsDir(options_.state_dir, rec.name), ec);
}

std::vector<sdbus::Struct<std::vector<uint8_t>, std::string, int64_t, std::string>>
Agent::ListMisses(const std::string& share) {
  return call("ListMisses", [&] {
    journal::ShareRecord rec = shareRecord(share);
    std::vector<journal::MissRecord> misses;
    {
      MutexLock lock(journal_mu_);
      misses = orRaise(journal_.misses(rec.id));
    }
    std::vector<sdbus::Struct<std::vector<uint8_t>, std::string, int64_t, std::string>> out;
    out.reserve(misses.size());
    for (const auto& m : misses) out.emplace_back(bytes(m.path), m.program, m.at_ns, m.outcome);
    return out;
  });
}

}  // namespace hoard::daemon
