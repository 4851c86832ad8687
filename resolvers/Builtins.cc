// SPDX-License-Identifier: MIT
// The resolvers that decide without reading the versions: keep-local,
// keep-remote, stash, delete and defer; and the merging ones (GitMerge.h). What each means for every kind of
// conflict is the engine's (sync::Reconciler::apply) and the README's table.
#include <memory>

#include "GitMerge.h"
#include "GitRepo.h"
#include "Resolver.h"
#include "SqliteMerge.h"

namespace hoard::resolvers {

namespace {

class Fixed final : public Resolver {
 public:
  Fixed(std::string_view name, std::string_view summary, DecisionKind kind)
      : name_(name), summary_(summary), kind_(kind) {}
  std::string_view name() const override { return name_; }
  std::string_view summary() const override { return summary_; }
  Result<Decision> resolve(const ConflictView& c, const nlohmann::json&) override {
    if (!decisionAllowed(kind_, c.kind))
      return Decision::defer(std::string(name_) + " has no meaning for a " +
                             std::string(conflictKindName(c.kind)) + " conflict");
    return Decision{kind_, std::string(summary_), 0};
  }

 private:
  std::string_view name_;
  std::string_view summary_;
  DecisionKind kind_;
};

}  // namespace

std::shared_ptr<Resolver> makeFollow();  // Follow.cc

void registerBuiltins(Registry& registry) {
  struct Entry {
    std::string_view name, summary;
    DecisionKind kind;
  };
  static constexpr Entry kFixed[] = {
      {"keep-local", "the cache's version wins on both sides", DecisionKind::kKeepLocal},
      {"keep-remote", "the remote's version wins on both sides", DecisionKind::kKeepRemote},
      {"stash", "keep both: the loser is kept beside the winner under a conflict name",
       DecisionKind::kStash},
      {"delete", "delete on both sides (only where one side deleted it)", DecisionKind::kDelete},
      {"defer", "leave the conflict open for a person", DecisionKind::kDefer},
  };
  for (const auto& e : kFixed)
    (void)registry.add(std::make_shared<Fixed>(e.name, e.summary, e.kind));
  (void)registry.add(makeFollow());
  (void)registry.add(std::make_shared<GitMerge>());
  (void)registry.add(std::make_shared<GitRepo>());
  (void)registry.add(std::make_shared<SqliteMerge>());
}

}  // namespace hoard::resolvers
