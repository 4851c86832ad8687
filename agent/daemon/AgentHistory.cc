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
      std::lock_guard lock(journal_mu_);
      shares = orRaise(journal_.shares());
    } else {
      shares.push_back(shareRecord(share));
    }
    std::vector<sdbus::Struct<uint64_t, uint64_t, std::string, std::vector<uint8_t>, std::string,
                              std::string, std::string, std::string, std::string, int64_t,
                              int64_t>>
        out;
    std::lock_guard lock(journal_mu_);
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
    std::string share;
    {
      std::lock_guard lock(journal_mu_);
      auto c = journal_.conflict(static_cast<int64_t>(id));
      if (!c)
        raise(dbus::kUnknownConflict, "there is no conflict #" + std::to_string(id) +
                                          "; `hoard conflicts --resolved` lists what can be undone");
      if (c->open)
        raise(dbus::kUnknownConflict, "conflict #" + std::to_string(id) +
                                          " is open: there is no resolution to undo");
      share = orRaise(journal_.share(c->share_id)).name;
    }
    std::shared_ptr<Engine> e = engine(share);
    Status st = e->engine->undo(static_cast<int64_t>(id));
    if (!st && st.error().code() == ErrorCode::kNotFound)
      raise(dbus::kUnknownConflict, st.error().message());
    orRaise(std::move(st));
    reply.returnResults();
  });
}

}  // namespace hoard::daemon
