// SPDX-License-Identifier: MIT
// org.hoard.Agent1: the resolver chain (rules, resolvers, external ones):
// running it on new conflicts, previewing it, reloading and explaining rules.
#include "daemon/Agent.h"
#include "daemon/BusArgs.h"
#include "daemon/ExternalResolvers.h"
#include "daemon/Log.h"
#include "dbus/DbusErrors.h"
#include "sync/ShareQueries.h"

namespace hoard::daemon {

void Agent::postChain(const std::string& share, int64_t id) {
  MutexLock lock(post_mu_);
  if (closing_ || !resolve_) return;
  resolve_->post([this, share, id] {
    logged("resolver chain on conflict #" + std::to_string(id), [&] { runChain(share, id); });
  });
}

void Agent::postChainOnOpenConflicts() {
  std::vector<std::pair<std::string, int64_t>> open;
  {
    MutexLock lock(journal_mu_);
    auto shares = journal_.shares();
    if (!shares) return;
    for (const auto& s : *shares)
      if (auto cs = journal_.conflicts(s.id, true))
        for (const auto& c : *cs) open.emplace_back(s.name, c.id);
  }
  for (const auto& [share, id] : open) postChain(share, id);
}

void Agent::runChain(const std::string& share, int64_t id) {
  auto t = conflictOnEngine(id, /*open=*/true);
  if (!t || t->share != share) return;  // decided meanwhile, or its share stopped
  const journal::ConflictRecord& c = t->conflict;
  const std::shared_ptr<Engine>& e = t->engine;
  ChainOutcome o = chain_->run(*e->engine, c, share, false);
  if (o.resolver.empty() && !o.error) return;  // no rule: open, as announced
  LogFields where{share, c.path, static_cast<uint64_t>(id),
                  o.error ? dbus::errorName(o.error->code()) : std::string()};
  logMessage(o.error ? 4 : 6,
             "share " + share + ": conflict #" + std::to_string(id) + " at " + displayPath(c.path) +
                 ": " + o.summary(),
             where);
  if (o.resolved())
    signal([&] {
      emitConflictResolved(static_cast<uint64_t>(id), share, bytes(c.path), o.label(), o.resolver,
                           o.rule);
    });
}

Status Agent::reloadRules() {
  Status st = chain_->reload();
  if (!st)
    log(3, "rules disabled: " + st.error().message());
  else
    log(6, "rules: " + std::to_string(chain_->ruleCount()) + " loaded from " +
               options_.config_path);
  for (const auto& w : chain_->rulesWarnings()) log(4, "rules: " + w);
  if (st) postChainOnOpenConflicts();
  return st;
}

std::vector<journal::ConflictRecord> Agent::previewTargets(
    const std::vector<uint64_t>& ids, const std::string& share,
    const std::map<std::string, sdbus::Variant>& filter) {
  const std::string m = "PreviewResolve";
  std::vector<journal::ConflictRecord> out;
  if (!ids.empty()) {
    MutexLock lock(journal_mu_);
    for (uint64_t id : ids) {
      auto c = journal_.conflict(static_cast<int64_t>(id));
      if (!c || !c->open)
        raise(dbus::kUnknownConflict, "there is no open conflict #" + std::to_string(id) +
                                          "; `hoard conflicts` lists the open ones");
      out.push_back(*c);
    }
    return out;
  }
  onlyKeys(filter, {"glob", "under", "kind"}, m);
  std::optional<std::string> glob, under;
  if (auto g = option<std::vector<uint8_t>>(filter, "glob", m)) glob = str(*g);
  if (auto u = option<std::vector<uint8_t>>(filter, "under", m)) under = str(*u);
  auto kind = option<std::string>(filter, "kind", m);
  sync::ConflictFilter f = orRaise(
      sync::conflictFilter(glob, under, kind).map_error([&](Error e) { return e.withContext(m); }));
  std::vector<journal::ShareRecord> shares;
  if (share.empty()) {
    MutexLock lock(journal_mu_);
    shares = orRaise(journal_.shares());
  } else {
    shares.push_back(shareRecord(share));
  }
  for (const auto& s : shares) {
    auto matching = orRaise(sync::matchingConflicts(journal_, journal_mu_, s.id, f));
    MutexLock lock(journal_mu_);
    for (int64_t id : matching)
      if (auto c = journal_.conflict(id)) out.push_back(*c);
  }
  return out;
}

void Agent::checkResolverName(const std::string& name) {
  if (chain_->registry().find(name)) return;
  std::string names;
  for (const auto& n : chain_->registry().names()) names += (names.empty() ? "" : ", ") + n;
  raise(Error(ErrorCode::kInvalidArgument,
              "unknown resolver \"" + name + "\": use keep-local, keep-remote, stash or delete, or one of " +
                  names));
}

Result<std::vector<uint64_t>> Agent::resolveIdsWith(const std::vector<int64_t>& ids,
                                                    const std::string& name) {
  std::vector<uint64_t> done;
  auto before = [&] {
    return done.empty() ? std::string()
                        : " (" + std::to_string(done.size()) + " before it were resolved)";
  };
  for (int64_t id : ids) {
    auto t = conflictOnEngine(id, /*open=*/true);
    if (!t) return fail(t.error().code(), t.error().message() + before());
    const auto& [c, share, e] = *t;
    ChainOutcome o = chain_->run(*e->engine, c, share, false, name);
    if (o.error) return tl::unexpected(o.error->withContext("conflict #" + std::to_string(id) + before()));
    if (!o.resolved())
      return fail(ErrorCode::kConflict, "conflict #" + std::to_string(id) + " stays open: " +
                                            o.summary() + before());
    done.push_back(static_cast<uint64_t>(id));
    signal([&] {
      emitConflictResolved(static_cast<uint64_t>(id), share, bytes(c.path), o.label(), o.resolver,
                           o.rule);
    });
  }
  return done;
}

void Agent::PreviewResolve(
    sdbus::Result<std::vector<std::map<std::string, sdbus::Variant>>>&& result,
    std::vector<uint64_t> ids, std::string share, std::map<std::string, sdbus::Variant> filter,
    std::string resolver) {
  async(resolve_, "PreviewResolve", std::move(result),
        [this, ids, share, filter, resolver](auto& reply) {
          if (!resolver.empty() && !chain_->registry().find(resolver))
            raise(Error(ErrorCode::kInvalidArgument, "no resolver is named \"" + resolver + "\""));
          std::vector<std::map<std::string, sdbus::Variant>> out;
          for (const auto& c : previewTargets(ids, share, filter)) {
            std::string name;
            {
              MutexLock lock(journal_mu_);
              name = orRaise(journal_.share(c.share_id)).name;
            }
            auto e = engine(name);
            ChainOutcome o = chain_->run(*e->engine, c, name, true, resolver);
            std::map<std::string, sdbus::Variant> row = {
                {"id", sdbus::Variant(static_cast<uint64_t>(c.id))},
                {"share", sdbus::Variant(name)},
                {"path", sdbus::Variant(bytes(c.path))},
                {"kind", sdbus::Variant(std::string(conflictKindName(c.kind)))},
                {"rule", sdbus::Variant(o.rule)},
                {"resolver", sdbus::Variant(o.resolver)},
                {"decision",
                 sdbus::Variant(std::string(resolvers::decisionKindName(o.decision.kind)))},
                {"reason", sdbus::Variant(o.decision.reason)},
                {"conflicting_hunks", sdbus::Variant(static_cast<int32_t>(o.decision.conflicting_hunks))}};
            if (o.error) row["error"] = sdbus::Variant(o.error->message());
            out.push_back(std::move(row));
          }
          reply.returnResults(out);
        });
}

void Agent::ReloadRules(sdbus::Result<uint32_t, std::vector<std::string>>&& result) {
  async(control_, "ReloadRules", std::move(result), [this](auto& reply) {
    orRaise(reloadRules());
    reply.returnResults(static_cast<uint32_t>(chain_->ruleCount()), chain_->rulesWarnings());
  });
}

void Agent::ExplainRules(sdbus::Result<std::vector<std::string>>&& result, std::string share,
                         std::vector<uint8_t> path) {
  async(resolve_, "ExplainRules", std::move(result), [this, share, path](auto& reply) {
    journal::ShareRecord rec = shareRecord(share);
    RelPath p = relPath(path, "ExplainRules");
    std::optional<journal::ConflictRecord> open;
    {
      MutexLock lock(journal_mu_);
      for (const auto& c : orRaise(journal_.conflicts(rec.id, true)))
        if (c.path == p) open = c;
    }
    if (open) {
      auto e = engine(share);
      auto lines = orRaise(chain_->explain(*e->engine, *open, share));
      lines.insert(lines.begin(), "open conflict #" + std::to_string(open->id) + " (" +
                                      std::string(conflictKindName(open->kind)) + ") at " +
                                      displayPath(p) + ":");
      reply.returnResults(lines);
      return;
    }
    reply.returnResults(chain_->explainPath(share, p));
  });
}

void Agent::RegisterResolver(const sdbus::ObjectPath& object, const std::string& name,
                             const std::map<std::string, sdbus::Variant>& options) {
  call("RegisterResolver", [&] {
    const std::string m = "RegisterResolver";
    onlyKeys(options, {"default", "timeout_s"}, m);
    bool is_default = option<bool>(options, "default", m).value_or(false);
    uint32_t timeout_s = option<uint32_t>(options, "timeout_s", m).value_or(60);
    if (timeout_s < 1 || timeout_s > 86400)
      raise(Error(ErrorCode::kInvalidArgument,
                  m + ": option \"timeout_s\" must be 1 to 86400 seconds"));
    std::string sender = getObject().getCurrentlyProcessedMessage()->getSender();
    orRaise(external_->add(sender, object, name, is_default, std::chrono::seconds(timeout_s)));
    postChainOnOpenConflicts();  // rules naming it can decide now
  });
}

void Agent::UnregisterResolver(const sdbus::ObjectPath& object) {
  call("UnregisterResolver", [&] {
    std::string sender = getObject().getCurrentlyProcessedMessage()->getSender();
    orRaise(external_->remove(sender, object));
  });
}

}  // namespace hoard::daemon
