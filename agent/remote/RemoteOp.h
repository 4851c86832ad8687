// SPDX-License-Identifier: MIT
#pragma once

// The operations of RemoteFs (and of its RemoteDir), as decorators that
// inject faults (FaultyRemoteFs) or count calls (CountingRemoteFs) name them.

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace hoard::remote {

enum class RemoteOp : uint8_t {
  kLstat,
  kListDir,
  kWalk,
  kFetchFile,
  kReadSmallFile,
  kReplaceFile,
  kMkdir,
  kRmdir,
  kUnlink,
  kRename,
  kSymlink,
  kChmod,
  kSetMtime,
  kGetXattr,
  kSetXattr,
  kRemoveXattr,
  kListXattrs,
  kStatfs,
  kDataVersion,
  kRemoveStaleTemps,
  kOpenDir,     // RemoteFs::openDir and RemoteDir::openDir
  kRemoveTemp,  // RemoteDir::removeTemp
  kOpenRead,
  kOpenTemp,
};
inline constexpr size_t kRemoteOpCount = static_cast<size_t>(RemoteOp::kOpenTemp) + 1;
std::string_view remoteOpName(RemoteOp op);

}  // namespace hoard::remote
