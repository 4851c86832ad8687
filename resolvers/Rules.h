// SPDX-License-Identifier: MIT
#pragma once

// The rules a user writes for bulk decisions (design.md, "Resolvers"): an
// ordered list, first match wins, each mapping conflicts to a resolver and
// its options. In config.json: "rules" (every share) and
// "shares": {"NAME": {"rules": [...]}} (one share's, tried before the global
// ones). A rule:
//
//   {"name": "objects",                       optional label
//    "match": "**/*.o" | ["*.o", "*.a"],      globs over the share-relative path;
//                                             one without '/' matches the name
//                                             in any directory
//    "under": "build",                        a subtree
//    "kinds": ["content", "create-create"],   conflict kinds
//    "changed": {"local": ["metadata"], "remote": ["content"]},
//                                             what each side did (none, metadata,
//                                             content, created, deleted, type)
//    "class": "text" | ["text", "sqlite"],    text, binary, sqlite, git, none
//    "size": {"min": 0, "max": 1048576},      the larger of the two versions
//    "resolver": "keep-remote",               what decides, and its options
//    "options": {...}}
//
// Every criterion given must hold; a rule with none matches everything.
// Instead of "resolver", "follow" decides a file from a related one:
//   {"match": "*.o", "follow": {"source": "$stem.c", "take": "newer"}}
// ($dir, $name, $stem, $ext name the conflict's directory, file name, name
// without its last extension, and that extension; a source without '/' is
// in the same directory). It is the `follow` resolver with those options.

#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "Conflict.h"
#include "ContentClass.h"
#include "Resolver.h"

namespace hoard::resolvers {

struct Rule {
  size_t index = 0;    // 0-based position in its list
  std::string origin;  // "config /home/u/.config/hoard/config.json /rules/2"
  std::string name;
  std::vector<std::string> globs;
  std::optional<RelPath> under;
  std::set<ConflictKind> kinds;
  std::set<SideChange> local_changed, remote_changed;
  std::set<ContentClass> classes;
  std::optional<uint64_t> size_min, size_max;
  std::string resolver;
  nlohmann::json options = nlohmann::json::object();

  // "rule 3 \"objects\"" or "rule 3": how messages name it (1-based).
  std::string label() const;
};

// Why a rule did or did not take a conflict, for `hoard rules explain` and
// the dry run.
struct RuleVerdict {
  const Rule* rule = nullptr;
  bool matched = false;
  std::string why;  // "path matches **/*.o, kind content" / "class is text, not binary"
};

class RuleSet {
 public:
  // Parses `rules` (a JSON array) found at `origin` (the file and the JSON
  // pointer of the array, for messages). kInvalidArgument naming the rule's
  // place, index and key: "config F /rules/2/kinds/0: \"contnet\" is not a
  // conflict kind". A resolver the registry knows checks its options; a
  // name it does not know is kept (an external resolver may register later)
  // and listed by unknownResolvers().
  static Result<RuleSet> parse(const nlohmann::json& rules, const std::string& origin,
                               const Registry& registry);

  // Appends `other`'s rules after this set's (a share's rules, then the global ones).
  void append(const RuleSet& other);

  // The first rule that takes `c`, or nullptr.
  const Rule* match(const ConflictView& c) const;
  // Every rule's verdict on `c`, in order, up to and including the first match.
  std::vector<RuleVerdict> explain(const ConflictView& c) const;

  const std::vector<Rule>& rules() const { return rules_; }
  // "rule 2 names \"my-prompt\", which is not registered (yet)".
  std::vector<std::string> unknownResolvers(const Registry& registry) const;

 private:
  std::vector<Rule> rules_;
};

// One rule's verdict on `c` (exposed for tests).
RuleVerdict judge(const Rule& rule, const ConflictView& c, ContentClass cls);

}  // namespace hoard::resolvers
