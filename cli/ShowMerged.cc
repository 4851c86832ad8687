// SPDX-License-Identifier: MIT
#include "ShowMerged.h"

#include <iostream>

#include <nlohmann/json.hpp>

#include "GitMerge.h"

namespace hoard::cli {

namespace {

// The version as hoardd opened it; `present` false: none to read (an empty fd).
resolvers::Version version(const sdbus::UnixFd& fd, bool present, const std::string& type) {
  resolvers::Version v;
  if (type == "file") v.type = FileType::kFile;
  else if (type == "dir") v.type = FileType::kDir;
  else if (type == "symlink") v.type = FileType::kSymlink;
  else if (type != "none") v.type = FileType::kOther;
  if (present) v.fd = fd.get();
  return v;
}

std::string sideType(const nlohmann::json& detail, const char* side, bool present) {
  if (detail.is_object() && detail.contains(side) && detail[side].contains("type"))
    return detail[side]["type"].get<std::string>();
  return present ? "file" : "none";  // a conflict recorded without detail
}

}  // namespace

int showMerged(Agent& a, uint64_t id, const std::string& style) {
  auto opts = resolvers::parseGitMergeOptions({{"style", style}});
  if (!opts) {
    std::cerr << "hoard: --style: expected merge, diff3 or zdiff3\n";
    return kUsage;
  }
  auto c = a.GetConflict(id);
  auto [base, local, remote, present] = a.OpenConflictVersions(id);
  nlohmann::json d = nlohmann::json::parse(c.at("detail").get<std::string>(), nullptr, false);
  resolvers::ConflictView v;
  v.id = static_cast<int64_t>(id);
  v.share = c.at("share").get<std::string>();
  auto path = c.at("path").get<std::vector<uint8_t>>();
  v.path.assign(path.begin(), path.end());
  v.kind = conflictKindFromName(c.at("kind").get<std::string>()).value_or(ConflictKind::kContent);
  v.base = version(base, std::get<0>(present), sideType(d, "base", std::get<0>(present)));
  v.local = version(local, std::get<1>(present), sideType(d, "local", std::get<1>(present)));
  v.remote = version(remote, std::get<2>(present), sideType(d, "remote", std::get<2>(present)));
  auto m = resolvers::mergeVersions(v, *opts);
  if (!m) {
    std::cerr << "hoard: " << m.error().message() << "\n";
    return kFailed;
  }
  if (m->not_merged) {
    std::cerr << "hoard: conflict #" << id << " at " << displayPath(v.path)
              << " cannot be merged: " << *m->not_merged << "\n";
    return kFailed;
  }
  std::cout.write(m->bytes.data(), static_cast<std::streamsize>(m->bytes.size()));
  std::cout.flush();
  if (m->conflicting_hunks == 0) return kOk;
  std::cerr << "hoard: " << resolvers::hunksConflict(m->conflicting_hunks)
            << " (between <<<<<<< cache and >>>>>>> remote)\n";
  return kConflictsRemain;
}

}  // namespace hoard::cli
