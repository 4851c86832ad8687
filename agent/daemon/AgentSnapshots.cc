// SPDX-License-Identifier: MIT
// org.hoard.Agent1: pre-disconnection snapshots.
#include "daemon/Agent.h"
#include "daemon/BusArgs.h"

namespace hoard::daemon {

std::vector<sdbus::Struct<uint64_t, std::string, int64_t, uint32_t>> Agent::ListSnapshots(
    const std::string& share) {
  return call("ListSnapshots", [&] {
    journal::ShareRecord rec = shareRecord(share);
    std::vector<sdbus::Struct<uint64_t, std::string, int64_t, uint32_t>> out;
    MutexLock lock(journal_mu_);
    for (const auto& s : orRaise(journal_.snapshots(rec.id))) {
      auto n = static_cast<uint32_t>(orRaise(journal_.snapshotEntries(s.id)).size());
      out.emplace_back(static_cast<uint64_t>(s.id), s.label, s.taken_at_ns, n);
    }
    return out;
  });
}

std::vector<sdbus::Struct<std::vector<uint8_t>, std::string, uint32_t, uint64_t, int64_t,
                          std::string>>
Agent::ReadSnapshot(const uint64_t& id) {
  return call("ReadSnapshot", [&] {
    std::vector<sdbus::Struct<std::vector<uint8_t>, std::string, uint32_t, uint64_t, int64_t,
                              std::string>>
        out;
    MutexLock lock(journal_mu_);
    for (const auto& e : orRaise(journal_.snapshotEntries(static_cast<int64_t>(id))))
      out.emplace_back(bytes(e.path), std::string(fileTypeName(e.local.type)), e.local.mode,
                       e.local.size, e.local.mtime_ns, e.hash ? e.hash->hex() : std::string());
    return out;
  });
}

}  // namespace hoard::daemon
