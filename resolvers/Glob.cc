// SPDX-License-Identifier: MIT
#include "Glob.h"

#include <fnmatch.h>

#include <string>
#include <vector>

namespace hoard::resolvers {

namespace {

std::vector<std::string> split(std::string_view s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t end = s.find('/', start);
    if (end == std::string_view::npos) end = s.size();
    out.emplace_back(s.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

bool matchFrom(const std::vector<std::string>& pat, size_t i, const std::vector<std::string>& path,
               size_t j) {
  if (i == pat.size()) return j == path.size();
  if (pat[i] == "**") {
    for (size_t k = j; k <= path.size(); ++k)
      if (matchFrom(pat, i + 1, path, k)) return true;
    return false;
  }
  if (j == path.size()) return false;
  if (fnmatch(pat[i].c_str(), path[j].c_str(), 0) != 0) return false;
  return matchFrom(pat, i + 1, path, j + 1);
}

}  // namespace

bool globMatch(std::string_view pattern, std::string_view path) {
  return matchFrom(split(pattern), 0, split(path), 0);
}

}  // namespace hoard::resolvers
