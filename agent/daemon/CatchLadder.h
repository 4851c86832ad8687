// SPDX-License-Identifier: MIT
#pragma once

// The one catch ladder of hoardd's bus boundary (conventions.md, "Errors"):
// every bus method, every property, every task posted for an asynchronous
// method and every engine hook runs inside one of the wrappers below, so an
// exception from anywhere (sdbus-c++, the standard library, a bug) becomes a
// named org.hoard.Error.* reply or a log line, never the end of hoardd.

#include <exception>
#include <string>
#include <string_view>

#include <sdbus-c++/Error.h>

namespace hoard::daemon {

// The exception in flight as the D-Bus error to reply with. Must be called
// inside a catch block. An org.hoard.Error.* error passes unchanged; any
// other sdbus::Error, std::exception or unknown throw becomes
// org.hoard.Error.Internal naming `where` and what was thrown, and is logged.
sdbus::Error currentAsBusError(std::string_view where);

// Logs the exception in flight (inside a catch block) as an error of `where`.
void logCurrentException(std::string_view where);

// Runs `f` for a synchronous bus method or property: its result, or the
// error of currentAsBusError (thrown, for sdbus-c++ to reply with).
template <class F>
decltype(auto) guarded(std::string_view where, F&& f) {
  try {
    return f();
  } catch (...) {
    throw currentAsBusError(where);
  }
}

// Runs `f` (which replies through `reply` itself) for an asynchronous
// method; an exception becomes the reply's error. A reply that cannot be
// sent (the caller went away) is logged.
template <class Reply, class F>
void replying(std::string_view where, Reply& reply, F&& f) noexcept {
  try {
    f(reply);
  } catch (...) {
    try {
      reply.returnError(currentAsBusError(where));
    } catch (...) {
      logCurrentException(std::string(where) + ": sending the error reply");
    }
  }
}

// Runs `f` where nothing may escape (engine hooks, posted tasks): an
// exception is logged.
template <class F>
void logged(std::string_view where, F&& f) noexcept {
  try {
    f();
  } catch (...) {
    logCurrentException(where);
  }
}

}  // namespace hoard::daemon
