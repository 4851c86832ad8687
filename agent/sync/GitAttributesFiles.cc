// SPDX-License-Identifier: MIT
#include "sync/GitAttributesFiles.h"

namespace hoard::sync {

Result<resolvers::GitAttributes> readGitAttributes(remote::RemoteFs& cache, const RelPath& path) {
  std::vector<resolvers::GitAttributes::File> files;
  for (const RelPath& f : resolvers::GitAttributes::filesFor(path)) {
    auto st = cache.lstat(f);
    if (!st) {
      if (st.error().code() == ErrorCode::kNotFound) continue;
      return tl::unexpected(st.error().withContext("read " + displayPath(f)));
    }
    if (st->meta.type != FileType::kFile) continue;  // git does not follow a symlinked one either
    if (st->meta.size > kMaxGitAttributesBytes)
      return fail(ErrorCode::kInvalidArgument,
                  displayPath(f) + " is " + std::to_string(st->meta.size) +
                      " bytes; .gitattributes files over 1 MiB are not read");
    auto text = cache.readSmallFile(f, kMaxGitAttributesBytes);
    if (!text) {
      if (text.error().code() == ErrorCode::kNotFound) continue;
      return tl::unexpected(text.error().withContext("read " + displayPath(f)));
    }
    files.push_back({std::string(parentOf(f)), std::move(*text)});
  }
  return resolvers::GitAttributes(std::move(files));
}

}  // namespace hoard::sync
