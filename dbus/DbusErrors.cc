// SPDX-License-Identifier: MIT
#include "dbus/DbusErrors.h"

#include <array>

namespace hoard::dbus {

namespace {
constexpr std::array kCodes = {
    ErrorCode::kIo,          ErrorCode::kNotFound,    ErrorCode::kExists,
    ErrorCode::kInvalidArgument, ErrorCode::kCorrupt, ErrorCode::kTooNew,
    ErrorCode::kTimeout,     ErrorCode::kOffline,     ErrorCode::kNoSpace,
    ErrorCode::kPermission,  ErrorCode::kAuthExpired, ErrorCode::kConflict,
    ErrorCode::kBusy,        ErrorCode::kOutsideRoot, ErrorCode::kUnsupported,
    ErrorCode::kAborted,     ErrorCode::kInternal,
};
}  // namespace

std::string errorName(ErrorCode code) {
  return std::string(kErrorPrefix) + std::string(errorCodeName(code));
}

sdbus::Error toDbus(const Error& e) { return sdbus::Error(errorName(e.code()), e.message()); }

sdbus::Error toDbus(std::string_view name, const std::string& message) {
  return sdbus::Error(std::string(name), message);
}

std::optional<ErrorCode> codeFromDbusName(std::string_view name) {
  if (name.substr(0, kErrorPrefix.size()) != kErrorPrefix) return std::nullopt;
  std::string_view rest = name.substr(kErrorPrefix.size());
  for (ErrorCode c : kCodes)
    if (errorCodeName(c) == rest) return c;
  if (name == kUnknownShare || name == kUnknownConflict) return ErrorCode::kNotFound;
  if (name == kOutsideShare) return ErrorCode::kOutsideRoot;
  return std::nullopt;
}

}  // namespace hoard::dbus
