// SPDX-License-Identifier: MIT
#pragma once

// The resolver chain of design.md: when a pass records a conflict (and when
// hoardd starts, and when the rules are reloaded) the rules are tried in
// order, first match wins; the resolver the rule names (or the default
// resolver an external program registered; also when the rule's resolver
// leaves the conflict open) decides; the decision is applied
// with the engine's one primitive (ShareEngine::apply: compare-and-swap
// against what each side held, so a side that changed since reopens the
// conflict). A deferral, an error or no rule at all leaves the conflict open
// and announced as before; the outcome is kept for `hoard conflicts`.
//
// It runs on the agent's resolver strand, off the passes: a resolver may
// take minutes (a person answering a prompt).

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>

#include "common/ThreadAnnotations.h"
#include "daemon/RulesConfig.h"
#include "journal/Journal.h"
#include "resolvers/Resolver.h"
#include "store/BaseStore.h"
#include "sync/ShareEngine.h"

namespace hoard::daemon {

struct ChainOutcome {
  int64_t id = 0;
  std::string share;
  RelPath path;
  std::string rule;      // the rule's label and place; "" if none took it
  std::string resolver;  // "" if nothing decided
  resolvers::Decision decision;
  bool applied = false;
  std::optional<Error> error;  // the resolver's, or the engine's when applying

  // Applied and closed: a "markers" decision is applied to the cache alone
  // and leaves the conflict open, merging.
  bool resolved() const {
    return applied && decision.kind != resolvers::DecisionKind::kMarkers;
  }

  // The resolution's recorded text: "keep-remote by keep-remote via rule 1
  // \"objects\"", "merged by git-merge via rule 3".
  std::string label() const;
  // One line for a person: what happened or would happen, and why.
  std::string summary() const;
};

class ResolverChain {
 public:
  ResolverChain(journal::Journal& journal, Mutex& journal_mu, store::BaseStore& store,
                std::string config_path);

  resolvers::Registry& registry() { return registry_; }

  // (Re)reads the rules from the config file. On an error every rule is
  // disabled until a good reload, and rulesError() says why.
  Status reload();
  std::optional<Error> rulesError() const;
  size_t ruleCount() const;
  std::vector<std::string> rulesWarnings() const;

  // The resolver for conflicts no rule takes ("" for none): an external
  // resolver registered as the default.
  void setDefaultResolver(std::string name);
  std::string defaultResolver() const;

  // Decides open conflict `c` of `share`: with `forced` (a resolver's name)
  // that resolver alone, else the rules and then the default resolver. In a
  // dry run nothing is written and a resolver that is not previewable is
  // not asked. Never throws.
  ChainOutcome run(sync::ShareEngine& engine, const journal::ConflictRecord& c,
                   const std::string& share, bool dry_run, const std::string& forced = {});

  // Every rule's verdict on conflict `c`, up to the first match, a line
  // each: "rule 2 \"objects\" -> keep-remote: yes: path matches *.o".
  Result<std::vector<std::string>> explain(sync::ShareEngine& engine,
                                           const journal::ConflictRecord& c,
                                           const std::string& share);
  // The rules' verdicts for a path without a conflict: only criteria that
  // need no conflict (globs, subtree) are judged.
  std::vector<std::string> explainPath(const std::string& share, const RelPath& path) const;

  // Conflict `id` was reopened by an undo: the rules and the default
  // resolver leave it to a person (a resolver named with --with still runs).
  void leaveForAPerson(int64_t id);

  // The last outcome of a conflict the chain ran on (not in dry runs).
  std::optional<ChainOutcome> last(int64_t id) const;

 private:
  struct Opened;
  Result<std::unique_ptr<Opened>> open(sync::ShareEngine& engine, const journal::ConflictRecord& c,
                                       const std::string& share, bool dry_run) const;
  ChainOutcome decide(sync::ShareEngine& engine, const journal::ConflictRecord& c,
                      const std::string& share, bool dry_run, const std::string& forced);
  Status applyDecision(sync::ShareEngine& engine, const ChainOutcome& o, int merged_fd,
                       const sync::RepoCopies* repo = nullptr);

  journal::Journal& journal_;
  Mutex& journal_mu_;
  store::BaseStore& store_;
  std::string config_path_;
  resolvers::Registry registry_;

  mutable Mutex mu_;
  LoadedRules rules_ HOARD_GUARDED_BY(mu_);
  std::optional<Error> rules_error_ HOARD_GUARDED_BY(mu_);
  std::string default_resolver_ HOARD_GUARDED_BY(mu_);
  std::map<int64_t, ChainOutcome> last_ HOARD_GUARDED_BY(mu_);
  std::set<int64_t> for_a_person_ HOARD_GUARDED_BY(mu_);
};

}  // namespace hoard::daemon
