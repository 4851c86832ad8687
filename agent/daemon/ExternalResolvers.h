// SPDX-License-Identifier: MIT
#pragma once

// Resolvers in other programs (org.hoard.Resolver1), registered over D-Bus
// as BlueZ agents are: RegisterResolver puts one into the chain's registry
// under its name; it leaves with UnregisterResolver or when its owner's bus
// name goes away (NameOwnerChanged), and a conflict it was deciding stays
// open. It is handed sealed copies of the three versions (memfds no one can
// write, so not even a resolver running as the same user can reach the
// store through them) and a fresh memfd for a merged result: never a path.

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include <sdbus-c++/sdbus-c++.h>

#include "common/Error.h"
#include "common/ThreadAnnotations.h"
#include "daemon/ResolverChain.h"

namespace hoard::daemon {

class ExternalResolvers {
 public:
  ExternalResolvers(sdbus::IConnection& connection, ResolverChain& chain);
  // Drops every registration (each resolver is sent Release, not waited for).
  ~ExternalResolvers();

  // `sender` (a unique bus name) offers its object `object` as resolver
  // `name`. kExists if the name is taken (a built-in, or another
  // registration), kInvalidArgument for an empty or malformed name.
  Status add(const std::string& sender, const std::string& object, const std::string& name,
             bool is_default, std::chrono::milliseconds timeout);
  // kNotFound if `sender` registered no `object`.
  Status remove(const std::string& sender, const std::string& object);

  class Remote;

 private:
  void onNameOwnerChanged(const std::string& name, const std::string& new_owner);
  void drop(const std::string& key) HOARD_REQUIRES(mu_);

  sdbus::IConnection& connection_;
  ResolverChain& chain_;
  std::unique_ptr<sdbus::IProxy> bus_;  // org.freedesktop.DBus, for NameOwnerChanged
  Mutex mu_;
  // By sender + " " + object.
  std::map<std::string, std::shared_ptr<Remote>> byKey_ HOARD_GUARDED_BY(mu_);
};

}  // namespace hoard::daemon
