// SPDX-License-Identifier: MIT
#pragma once

// Reading what a bus caller sent: byte arrays as paths, option dictionaries
// with known keys of known types. Every refusal is org.hoard.Error.
// InvalidArgument naming the method, the key and what was expected, thrown
// as an sdbus::Error for the catch ladder (CatchLadder.h) to pass on.

#include <cstdint>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <sdbus-c++/sdbus-c++.h>

#include "common/Error.h"
#include "common/RelPath.h"

namespace hoard::daemon {

std::string str(const std::vector<uint8_t>& v);
std::vector<uint8_t> bytes(const std::string& s);

[[noreturn]] void raise(const Error& e);
[[noreturn]] void raise(std::string_view name, const std::string& message);
template <class T>
T orRaise(Result<T> r) {
  if (!r) raise(r.error());
  return std::move(*r);
}
inline void orRaise(Status s) {
  if (!s) raise(s.error());
}

// A share-relative path; InvalidArgument (with `what` as context) if malformed.
RelPath relPath(const std::vector<uint8_t>& v, const std::string& what);

// Refuses option keys `method` does not know (unknown keys are an error).
void onlyKeys(const std::map<std::string, sdbus::Variant>& options,
              std::initializer_list<std::string_view> known, const std::string& method);

// The value of option `key` as a T, nullopt if absent; InvalidArgument if it
// holds another type (a caller sending "force" as a string, ...).
template <class T>
std::optional<T> option(const std::map<std::string, sdbus::Variant>& options,
                        const std::string& key, const std::string& method) {
  auto it = options.find(key);
  if (it == options.end()) return std::nullopt;
  if (!it->second.containsValueOfType<T>())
    raise(Error(ErrorCode::kInvalidArgument,
                method + ": option \"" + key + "\" must have D-Bus type '" +
                    sdbus::signature_of<T>::str() + "', not '" + it->second.peekValueType() +
                    "'"));
  return it->second.get<T>();
}

}  // namespace hoard::daemon
