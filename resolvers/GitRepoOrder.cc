// SPDX-License-Identifier: MIT
#include "GitRepoOrder.h"

#include <algorithm>

namespace hoard::resolvers {

namespace {

bool startsWith(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

bool endsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

bool isHex(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
  });
}

}  // namespace

bool isImmutableGitFile(std::string_view in) {
  if (startsWith(in, "objects/pack/")) {
    std::string_view name = in.substr(13);
    return startsWith(name, "pack-") && name.find('/') == std::string_view::npos;
  }
  if (!startsWith(in, "objects/") || in.size() < 8 + 3) return false;
  std::string_view rest = in.substr(8);  // "ab/cdef..."
  return rest.size() > 3 && rest[2] == '/' && isHex(rest.substr(0, 2)) && isHex(rest.substr(3));
}

GitRank gitRank(std::string_view in) {
  if (isImmutableGitFile(in)) {
    return startsWith(in, "objects/pack/") &&
                   (endsWith(in, ".idx") || endsWith(in, ".rev") || endsWith(in, ".bitmap"))
               ? kGitPackIndex
               : kGitObjects;
  }
  if (in == "objects" || startsWith(in, "objects/")) {
    // The fan-out directories and objects/pack itself come with the objects;
    // objects/info/* and a multi-pack-index describe them, so come after.
    bool is_dir_part = in == "objects" || in == "objects/pack" ||
                       (in.size() == 10 && isHex(in.substr(8)));
    return is_dir_part ? kGitObjects : kGitHead;
  }
  if (in == "refs" || startsWith(in, "refs/") || in == "packed-refs") return kGitRefs;
  if (in == "logs" || startsWith(in, "logs/")) return kGitLogs;
  return kGitHead;
}

}  // namespace hoard::resolvers
