// SPDX-License-Identifier: MIT
#pragma once

// The error type of every layer. Failures that are part of life (remote I/O
// errors, timeouts, conflicts, bad input) are returned as Result<T>, never
// thrown. Exceptions from libraries are caught at one boundary each and turned
// into an Error there.

#include <string>
#include <string_view>

#include <tl/expected.hpp>

namespace hoard {

// Stable codes. The D-Bus layer maps each to `org.hoard.Error.<Name>` (see
// errorCodeName), so never renumber or rename one; add new ones at the end.
enum class ErrorCode {
  kIo,               // an I/O call failed; errno says which
  kNotFound,         // the named thing does not exist
  kExists,           // the named thing already exists
  kInvalidArgument,  // the caller passed something malformed
  kCorrupt,          // stored data is damaged or inconsistent
  kTooNew,           // stored data was written by a newer hoard
  kTimeout,          // a deadline passed
  kOffline,          // the remote is not reachable or not the right filesystem
  kNoSpace,          // ENOSPC / EDQUOT / budget exhausted
  kPermission,       // EACCES / EPERM
  kAuthExpired,      // EKEYEXPIRED: credentials need renewing
  kConflict,         // both sides changed; the path waits for a decision
  kBusy,             // the thing is in use or has unreplayed changes
  kOutsideRoot,      // a path would leave its share root
  kUnsupported,      // the filesystem or platform cannot do this
  kAborted,          // the operation was cancelled or stopped for the user
  kInternal,         // a bug: an invariant of hoard itself was broken
};

// "IoError", "NotFound", ...: the suffix of the D-Bus error name.
std::string_view errorCodeName(ErrorCode code);

// Maps an errno value to the closest ErrorCode (ENOENT -> kNotFound, ...).
ErrorCode errorCodeFromErrno(int err);

class Error {
 public:
  Error(ErrorCode code, std::string message, int sys_errno = 0)
      : code_(code), errno_(sys_errno), message_(std::move(message)) {}

  // An error from a failed system call: code from errno, message
  // "<what>: <strerror>" where `what` names the call and the path.
  static Error fromErrno(int sys_errno, std::string_view what);

  ErrorCode code() const { return code_; }
  int sysErrno() const { return errno_; }
  const std::string& message() const { return message_; }

  // "NotFound: <message>"; for logs and the CLI's fallback output.
  std::string toString() const;

  // Returns a copy whose message is "<context>: <message>".
  Error withContext(std::string_view context) const;

 private:
  ErrorCode code_;
  int errno_;
  std::string message_;
};

template <class T>
using Result = tl::expected<T, Error>;
using Status = tl::expected<void, Error>;

inline tl::unexpected<Error> fail(ErrorCode code, std::string message, int sys_errno = 0) {
  return tl::unexpected<Error>(Error(code, std::move(message), sys_errno));
}
inline tl::unexpected<Error> failErrno(int sys_errno, std::string_view what) {
  return tl::unexpected<Error>(Error::fromErrno(sys_errno, what));
}

}  // namespace hoard
