// SPDX-License-Identifier: MIT
#include "sync/GitRepoUnit.h"

#include <algorithm>

namespace hoard::sync {

namespace {

bool isType(const GitStatMap& side, const RelPath& p, FileType t) {
  auto it = side.find(p);
  return it != side.end() && it->second.meta.type == t;
}

bool looksLikeRepo(const GitStatMap& side, const RelPath& dir) {
  return isType(side, joinPath(dir, "HEAD"), FileType::kFile) &&
         isType(side, joinPath(dir, "objects"), FileType::kDir) &&
         isType(side, joinPath(dir, "refs"), FileType::kDir);
}

}  // namespace

std::vector<RelPath> findGitRepos(const GitStatMap& local, const GitStatMap& remote) {
  std::vector<RelPath> found;
  for (const GitStatMap* side : {&local, &remote}) {
    for (const auto& [p, st] : *side) {
      if (baseName(p) != "HEAD" || st.meta.type != FileType::kFile) continue;
      RelPath dir(parentOf(p));
      if (looksLikeRepo(*side, dir)) found.push_back(std::move(dir));
    }
  }
  std::sort(found.begin(), found.end(), PathLess());
  found.erase(std::unique(found.begin(), found.end()), found.end());
  std::vector<RelPath> outermost;
  for (RelPath& r : found)
    if (outermost.empty() || !isUnder(r, outermost.back())) outermost.push_back(std::move(r));
  return outermost;
}

const RelPath* gitRepoOf(const std::vector<RelPath>& repos, const RelPath& p) {
  for (const RelPath& r : repos)
    if (isUnder(p, r)) return &r;
  return nullptr;
}

RelPath insideRepo(const RelPath& repo, const RelPath& p) {
  if (repo.empty()) return p;
  if (p.size() <= repo.size()) return RelPath();
  return p.substr(repo.size() + 1);
}

resolvers::GitRank gitRankIn(const std::vector<RelPath>& repos, const RelPath& p) {
  const RelPath* repo = gitRepoOf(repos, p);
  if (repo == nullptr || *repo == p) return resolvers::kGitObjects;
  return resolvers::gitRank(insideRepo(*repo, p));
}

}  // namespace hoard::sync
