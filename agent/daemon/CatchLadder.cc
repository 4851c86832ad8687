// SPDX-License-Identifier: MIT
#include "daemon/CatchLadder.h"

#include <new>
#include <stdexcept>

#include "common/Error.h"
#include "daemon/Log.h"
#include "dbus/DbusErrors.h"

namespace hoard::daemon {

namespace {

sdbus::Error internal(std::string_view where, const std::string& what) {
  std::string message = std::string(where) + ": internal error in hoardd: " + what +
                        " (hoardd goes on; please report it)";
  log(3, message);
  return dbus::toDbus(Error(ErrorCode::kInternal, message));
}

}  // namespace

sdbus::Error currentAsBusError(std::string_view where) {
  try {
    throw;
  } catch (const sdbus::Error& e) {
    if (e.getName().rfind(std::string(dbus::kErrorPrefix), 0) == 0) return e;
    return internal(where, e.getName() + ": " + e.getMessage());
  } catch (const std::bad_alloc&) {
    return internal(where, "out of memory");
  } catch (const std::exception& e) {
    return internal(where, e.what());
  } catch (...) {
    return internal(where, "an unknown exception");
  }
}

void logCurrentException(std::string_view where) {
  try {
    throw;
  } catch (const sdbus::Error& e) {
    log(3, std::string(where) + ": " + e.getName() + ": " + e.getMessage());
  } catch (const std::exception& e) {
    log(3, std::string(where) + ": internal error: " + e.what());
  } catch (...) {
    log(3, std::string(where) + ": internal error: an unknown exception");
  }
}

}  // namespace hoard::daemon
