// SPDX-License-Identifier: MIT
#include "daemon/BusArgs.h"

#include "dbus/DbusErrors.h"

namespace hoard::daemon {

std::string str(const std::vector<uint8_t>& v) { return std::string(v.begin(), v.end()); }
std::vector<uint8_t> bytes(const std::string& s) { return std::vector<uint8_t>(s.begin(), s.end()); }

void raise(const Error& e) { throw dbus::toDbus(e); }
void raise(std::string_view name, const std::string& message) {
  throw dbus::toDbus(name, message);
}

RelPath relPath(const std::vector<uint8_t>& v, const std::string& what) {
  RelPath p = str(v);
  if (Status ok = validateRelPath(p); !ok) raise(ok.error().withContext(what));
  return p;
}

void onlyKeys(const std::map<std::string, sdbus::Variant>& options,
              std::initializer_list<std::string_view> known, const std::string& method) {
  for (const auto& [k, v] : options) {
    bool ok = false;
    for (std::string_view n : known) ok = ok || n == k;
    if (!ok)
      raise(Error(ErrorCode::kInvalidArgument,
                  method + ": unknown option \"" + k + "\"" +
                      (known.size() == 0 ? std::string(" (it takes none)") : std::string())));
  }
}

}  // namespace hoard::daemon
