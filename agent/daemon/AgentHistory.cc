// SPDX-License-Identifier: MIT
// org.hoard.Agent1: the history of resolutions and their undo.
#include "common/RelPath.h"
#include "daemon/Agent.h"
#include "daemon/BusArgs.h"
#include "dbus/DbusErrors.h"

namespace hoard::daemon {

std::vector<sdbus::Struct<uint64_t, uint64_t, std::string, std::vector<uint8_t>, std::string,
                          std::string, std::string, std::string, std::string, int64_t, int64_t>>
Agent::ListResolutions(const std::string& share) {
  return call("ListResolutions", [&] {
    std::vector<journal::ShareRecord> shares;
    if (share.empty()) {
      MutexLock lock(journal_mu_);
      shares = orRaise(journal_.shares());
    } else {
      shares.push_back(shareRecord(share));
    }
    std::vector<sdbus::Struct<uint64_t, uint64_t, std::string, std::vector<uint8_t>, std::string,
                              std::string, std::string, std::string, std::string, int64_t,
                              int64_t>>
        out;
    MutexLock lock(journal_mu_);
    for (const auto& s : shares) {
      for (const auto& r : orRaise(journal_.resolutions(s.id))) {
        std::string kind;
        if (auto c = journal_.conflict(r.conflict_id))
          kind = std::string(journal::conflictKindName(c->kind));
        out.emplace_back(static_cast<uint64_t>(r.id), static_cast<uint64_t>(r.conflict_id),
                         s.name, bytes(r.path), kind, r.decision, r.resolver, r.rule, r.label,
                         r.resolved_at_ns, r.undone_at_ns);
      }
    }
    return out;
  });
}

void Agent::Undo(sdbus::Result<>&& result, uint64_t id) {
  async(jobs_, "Undo", std::move(result), [this, id](auto& reply) {
    auto t = conflictOnEngine(static_cast<int64_t>(id), /*open=*/false);
    if (!t && t.error().code() == ErrorCode::kNotFound)
      raise(dbus::kUnknownConflict,
            t.error().message() + "; `hoard conflicts --resolved` lists what can be undone");
    std::shared_ptr<Engine> e = orRaise(std::move(t)).engine;
    // A person took the rule's decision back: the rules must not take it again.
    chain_->leaveForAPerson(static_cast<int64_t>(id));
    Status st = e->engine->undo(static_cast<int64_t>(id));
    if (!st && st.error().code() == ErrorCode::kNotFound)
      raise(dbus::kUnknownConflict, st.error().message());
    orRaise(std::move(st));
    reply.returnResults();
  });
}

}  // namespace hoard::daemon
