// SPDX-License-Identifier: MIT
#include "Resolver.h"

namespace hoard::resolvers {

Status Resolver::checkOptions(const nlohmann::json& options) const {
  if (options.is_null() || (options.is_object() && options.empty())) return {};
  return fail(ErrorCode::kInvalidArgument,
              "resolver \"" + std::string(name()) + "\" takes no options");
}

Status Registry::add(std::shared_ptr<Resolver> r) {
  std::lock_guard lock(mu_);
  std::string n(r->name());
  if (byName_.count(n))
    return fail(ErrorCode::kExists, "a resolver named \"" + n + "\" is already registered");
  byName_.emplace(std::move(n), std::move(r));
  return {};
}

bool Registry::remove(std::string_view name, const Resolver* r) {
  std::lock_guard lock(mu_);
  auto it = byName_.find(name);
  if (it == byName_.end() || (r && it->second.get() != r)) return false;
  byName_.erase(it);
  return true;
}

std::shared_ptr<Resolver> Registry::find(std::string_view name) const {
  std::lock_guard lock(mu_);
  auto it = byName_.find(name);
  return it == byName_.end() ? nullptr : it->second;
}

std::vector<std::string> Registry::names() const {
  std::lock_guard lock(mu_);
  std::vector<std::string> out;
  for (const auto& [n, r] : byName_) out.push_back(n);
  return out;
}

}  // namespace hoard::resolvers
