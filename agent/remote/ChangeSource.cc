// SPDX-License-Identifier: MIT
#include "remote/ChangeSource.h"

namespace hoard::remote {

Result<RemoteChanges> WalkChangeSource::changes(const std::optional<std::string>& /*since*/) {
  auto walked = fs_.walk("");
  if (!walked) return tl::unexpected(walked.error());
  RemoteChanges out;
  out.entries = std::move(*walked);
  return out;
}

}  // namespace hoard::remote
