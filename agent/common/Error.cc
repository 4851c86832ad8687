// SPDX-License-Identifier: MIT
#include "common/Error.h"

#include <cerrno>
#include <cstring>

namespace hoard {

std::string_view errorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kIo: return "IoError";
    case ErrorCode::kNotFound: return "NotFound";
    case ErrorCode::kExists: return "Exists";
    case ErrorCode::kInvalidArgument: return "InvalidArgument";
    case ErrorCode::kCorrupt: return "Corrupt";
    case ErrorCode::kTooNew: return "TooNew";
    case ErrorCode::kTimeout: return "Timeout";
    case ErrorCode::kOffline: return "Offline";
    case ErrorCode::kNoSpace: return "NoSpace";
    case ErrorCode::kPermission: return "PermissionDenied";
    case ErrorCode::kAuthExpired: return "AuthenticationRequired";
    case ErrorCode::kConflict: return "Conflict";
    case ErrorCode::kBusy: return "Busy";
    case ErrorCode::kOutsideRoot: return "OutsideRoot";
    case ErrorCode::kUnsupported: return "Unsupported";
    case ErrorCode::kAborted: return "Aborted";
    case ErrorCode::kInternal: return "Internal";
  }
  return "Internal";
}

ErrorCode errorCodeFromErrno(int err) {
  switch (err) {
    case ENOENT: case ENOTDIR: return ErrorCode::kNotFound;
    case EEXIST: case ENOTEMPTY: return ErrorCode::kExists;
    case EINVAL: case ENAMETOOLONG: return ErrorCode::kInvalidArgument;
    case ETIMEDOUT: return ErrorCode::kTimeout;
    case ENOTCONN: case EHOSTDOWN: case EHOSTUNREACH: case ENETDOWN: case ENETUNREACH:
    case ECONNRESET: case ECONNABORTED: case ESTALE: return ErrorCode::kOffline;
    case ENOSPC: case EDQUOT: return ErrorCode::kNoSpace;
    case EACCES: case EPERM: return ErrorCode::kPermission;
    case EKEYEXPIRED: case EKEYREJECTED: case EKEYREVOKED: return ErrorCode::kAuthExpired;
    case EBUSY: case ETXTBSY: return ErrorCode::kBusy;
    case EXDEV: case ELOOP: return ErrorCode::kOutsideRoot;
    case EOPNOTSUPP: case ENOSYS: return ErrorCode::kUnsupported;
    case EINTR: case ECANCELED: return ErrorCode::kAborted;
    default: return ErrorCode::kIo;
  }
}

Error Error::fromErrno(int sys_errno, std::string_view what) {
  std::string msg(what);
  msg += ": ";
  msg += std::strerror(sys_errno);
  return Error(errorCodeFromErrno(sys_errno), std::move(msg), sys_errno);
}

std::string Error::toString() const {
  std::string s(errorCodeName(code_));
  s += ": ";
  s += message_;
  return s;
}

Error Error::withContext(std::string_view context) const {
  std::string msg(context);
  msg += ": ";
  msg += message_;
  return Error(code_, std::move(msg), errno_);
}

}  // namespace hoard
