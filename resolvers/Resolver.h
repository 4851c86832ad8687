// SPDX-License-Identifier: MIT
#pragma once

// A resolver turns a conflict into a decision (design.md, "Resolvers"). The
// built-ins live here; hoardd adds one per external resolver registered over
// D-Bus (org.hoard.Resolver1) to the same registry, so rules name either
// kind the same way. The registry is filled explicitly (registerBuiltins),
// never by static constructors.

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "Conflict.h"
#include "Decision.h"
#include "common/Error.h"

namespace hoard::resolvers {

class Resolver {
 public:
  virtual ~Resolver() = default;
  virtual std::string_view name() const = 0;
  // One line for `hoard rules explain` and the README's table.
  virtual std::string_view summary() const = 0;
  // Checks a rule's options for this resolver when the rules are loaded:
  // kInvalidArgument naming the key ("/on_conflict: expected \"defer\" or
  // \"markers\""). The default accepts only an empty object.
  virtual Status checkOptions(const nlohmann::json& options) const;
  // Decides. Errors leave the conflict open (as a deferral does) and are
  // reported with the resolver's name. With `c.output_fd` == -1 (a dry run)
  // a merging resolver reports what it would do without writing.
  virtual Result<Decision> resolve(const ConflictView& c, const nlohmann::json& options) = 0;
  // False for a resolver that must not be asked in a dry run (an external
  // one may prompt a person or act on its answer): the dry run then says
  // "would ask <name>".
  virtual bool previewable() const { return true; }
};

// Thread-safe: hoardd's bus thread registers external resolvers while the
// resolver chain looks them up.
class Registry {
 public:
  // kExists if a resolver of that name is registered.
  Status add(std::shared_ptr<Resolver> r);
  // Removes `name` if `r` is the one registered under it (an external
  // resolver that re-registered is not removed by its old registration).
  bool remove(std::string_view name, const Resolver* r = nullptr);
  std::shared_ptr<Resolver> find(std::string_view name) const;
  std::vector<std::string> names() const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<Resolver>, std::less<>> byName_;  // GUARDED_BY(mu_)
};

// keep-local, keep-remote, stash, delete, defer (and the merging built-ins
// as they are added: git-merge, sqlite).
void registerBuiltins(Registry& registry);

}  // namespace hoard::resolvers
