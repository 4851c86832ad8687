// SPDX-License-Identifier: MIT
// org.hoard.Agent1: status, the change log, paths, properties.
#include "daemon/Agent.h"
#include "daemon/BusArgs.h"
#include "dbus/DbusErrors.h"
#include "sync/Retention.h"
#include "sync/ShareQueries.h"

namespace hoard::daemon {

namespace {
constexpr const char* kVersion = "0.1.0";

// Calls that reached the remote's mount, by operation (those made at least
// once).
std::map<std::string, uint64_t> remoteCallMap(const remote::RemoteCallCounts& c) {
  std::map<std::string, uint64_t> out;
  for (size_t i = 0; i < remote::kRemoteOpCount; ++i)
    if (c.calls[i] != 0) out[std::string(remote::remoteOpName(static_cast<remote::RemoteOp>(i)))] = c.calls[i];
  return out;
}
}  // namespace

std::map<std::string, sdbus::Variant> Agent::GetStatus(const std::string& share) {
  return call("GetStatus", [&] {
    auto e = engine(share);
    sync::ShareStatus s = e->engine->status();
    std::optional<sync::LastPass> last = e->engine->lastPass();
    journal::ShareRecord rec = shareRecord(share);
    sync::ShareCounts n = orRaise(sync::shareCounts(journal_, journal_mu_, rec.id));
    int64_t last_sync_ns = 0;
    if (s.last_pass && s.last_pass->ok)
      last_sync_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                         s.last_pass->at.time_since_epoch())
                         .count();
    std::vector<sdbus::Struct<std::vector<uint8_t>, std::string, std::string>> failed;
    uint32_t unavailable = 0;
    if (last) {
      unavailable = static_cast<uint32_t>(last->not_hoarded.size());
      for (const auto& [path, err] : last->failed)
        failed.emplace_back(bytes(path), dbus::errorName(err.code()), err.message());
    }
    std::map<std::string, sdbus::Variant> out = {
        {"state", sdbus::Variant(sync::shareStateLabel(s))},
        {"user_offline", sdbus::Variant(s.user_offline)},
        {"reason", sdbus::Variant(s.reason)},
        {"waiting_for_user", sdbus::Variant(s.waiting_for_user)},
        {"pending_changes", sdbus::Variant(static_cast<uint32_t>(n.pending_changes))},
        {"open_conflicts", sdbus::Variant(static_cast<uint32_t>(n.open_conflicts))},
        {"last_sync_ns", sdbus::Variant(last_sync_ns)},
        {"hoarded_bytes", sdbus::Variant(n.hoarded_bytes)},
        {"unavailable_offline", sdbus::Variant(unavailable)},
        {"failed", sdbus::Variant(failed)}};
    if (auto err = chain_->rulesError()) out["rules_error"] = sdbus::Variant(err->message());
    addAuthStatus(share, s, out);
    if (rec.onDemand()) {
      out["view_root"] = sdbus::Variant(bytes(rec.view_root));
      MutexLock lock(e->view_mu);
      out["view_mounted"] = sdbus::Variant(e->view != nullptr);
      if (!e->view) out["view_error"] = sdbus::Variant(e->view_error);
    }
    // The base store is shared by every share: its whole size.
    store::StoreUsage usage = sync::storeSize(store_);
    out["store_bytes"] = sdbus::Variant(static_cast<uint64_t>(usage.bytes));
    out["store_objects"] = sdbus::Variant(static_cast<uint64_t>(usage.objects));
    out["remote_calls"] = sdbus::Variant(remoteCallMap(e->engine->remoteCalls()));
    if (last && last->stopped && !last->mass_delete) {
      // Why the last pass stopped early (ENOSPC, the remote gone...); gone
      // with the next pass that gets through.
      out["stopped_error"] = sdbus::Variant(dbus::errorName(last->stopped->code()));
      out["stopped_message"] = sdbus::Variant(last->stopped->message());
    }
    if (last && last->mass_delete) {
      const sync::MassDelete& md = *last->mass_delete;
      std::vector<std::vector<uint8_t>> first;
      for (const RelPath& p : md.first) first.push_back(bytes(p));
      out["mass_delete_count"] = sdbus::Variant(static_cast<uint32_t>(md.count));
      out["mass_delete_total"] = sdbus::Variant(static_cast<uint32_t>(md.total));
      out["mass_delete_side"] = sdbus::Variant(std::string(md.on_remote ? "remote" : "cache"));
      out["mass_delete_paths"] = sdbus::Variant(first);
    }
    return out;
  });
}

std::vector<sdbus::Struct<uint64_t, std::string, std::vector<uint8_t>, std::vector<uint8_t>,
                          int64_t>>
Agent::ListChanges(const std::string& share) {
  return call("ListChanges", [&] {
    journal::ShareRecord rec = shareRecord(share);
    std::vector<sdbus::Struct<uint64_t, std::string, std::vector<uint8_t>, std::vector<uint8_t>,
                              int64_t>>
        out;
    MutexLock lock(journal_mu_);
    for (const auto& lc : orRaise(journal_.changes(rec.id, 0)))
      out.emplace_back(static_cast<uint64_t>(lc.seq), std::string(changeOpName(lc.change.op)),
                       bytes(lc.change.path), bytes(lc.change.to), lc.logged_at_ns);
    return out;
  });
}

std::tuple<std::string, std::vector<uint8_t>> Agent::ResolvePath(
    const std::vector<uint8_t>& local_path) {
  return call("ResolvePath", [&] {
    auto r = sync::shareOfLocalPath(journal_, journal_mu_, str(local_path));
    if (!r && r.error().code() == ErrorCode::kOutsideRoot)
      raise(dbus::kOutsideShare, r.error().message());
    auto in = orRaise(std::move(r));
    return std::tuple<std::string, std::vector<uint8_t>>{in.share, bytes(in.path)};
  });
}

std::string Agent::Version() {
  return call("Version", [&] { return std::string(kVersion); });
}

std::vector<std::string> Agent::Shares() {
  return call("Shares", [&] {
    std::vector<std::string> out;
    MutexLock lock(journal_mu_);
    for (const auto& r : orRaise(journal_.shares())) out.push_back(r.name);
    return out;
  });
}

uint32_t Agent::OpenConflicts() {
  return call("OpenConflicts", [&] {
    return static_cast<uint32_t>(orRaise(sync::openConflictCount(journal_, journal_mu_)));
  });
}

}  // namespace hoard::daemon
