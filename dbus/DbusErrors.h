// SPDX-License-Identifier: MIT
#pragma once

// The one place where hoard's errors become D-Bus error names, and back
// (org.hoard.Error.<Name>; see the table in DbusErrors.cc). The daemon throws
// toDbus(e) from a method; the CLI reads the name with codeFromDbusName.

#include <optional>
#include <string>
#include <string_view>

#include <sdbus-c++/Error.h>

#include "common/Error.h"

namespace hoard::dbus {

inline constexpr std::string_view kErrorPrefix = "org.hoard.Error.";

// Names that exist only on the bus: the daemon's own lookups.
inline constexpr std::string_view kUnknownShare = "org.hoard.Error.UnknownShare";
inline constexpr std::string_view kUnknownConflict = "org.hoard.Error.UnknownConflict";
inline constexpr std::string_view kOutsideShare = "org.hoard.Error.OutsideShare";

// "org.hoard.Error.NotFound" for kNotFound, ...
std::string errorName(ErrorCode code);
sdbus::Error toDbus(const Error& e);
sdbus::Error toDbus(std::string_view name, const std::string& message);

// The ErrorCode of an org.hoard.Error.* name, or nullopt for a name from
// elsewhere (org.freedesktop.DBus.Error.ServiceUnknown, ...).
std::optional<ErrorCode> codeFromDbusName(std::string_view name);

}  // namespace hoard::dbus
