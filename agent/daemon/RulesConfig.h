// SPDX-License-Identifier: MIT
#pragma once

// The resolution rules of config.json (see resolvers/Rules.h for what a rule
// says): "rules" for every share, "shares": {"NAME": {"rules": [...]}} for
// one. They are read and checked apart from the rest of the file, at start,
// on SIGHUP and on `hoard rules reload`: a bad rule disables every rule
// (hoardd keeps running and says why), it never stops hoardd.

#include <map>
#include <string>
#include <vector>

#include "common/Error.h"
#include "resolvers/Rules.h"

namespace hoard::daemon {

struct LoadedRules {
  std::string path;  // the config file they came from
  resolvers::RuleSet global;
  std::map<std::string, resolvers::RuleSet> shares;

  // The share's own rules, then the global ones.
  resolvers::RuleSet forShare(const std::string& share) const;
  size_t count() const;
};

// The rules in the config file at `path` (none if it does not exist).
// kInvalidArgument naming the file, the rule's place and the key:
// "config F: /rules/2/kinds/0: \"contnet\" is not a conflict kind"; kIo if
// the file cannot be read.
Result<LoadedRules> loadRules(const std::string& path, const resolvers::Registry& registry);

// The embedded schemas/rules.schema.json.
const std::string& rulesSchema();

}  // namespace hoard::daemon
