// SPDX-License-Identifier: MIT
// A folder's files as bytes, for the crash and power-loss tests: what a
// user would compare on each side after a restart.
#pragma once

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace hoard::sync {

inline std::string readAll(const std::string& abs) {
  std::ifstream in(abs, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void writeAll(const std::string& abs, const std::string& bytes) {
  std::filesystem::create_directories(std::filesystem::path(abs).parent_path());
  std::ofstream(abs, std::ios::binary | std::ios::trunc) << bytes;
}

// Regular files beneath a root (relative path -> bytes) and its directories;
// hoard's temporaries are listed separately, its share marker not at all.
struct Tree {
  std::map<std::string, std::string> files;
  std::set<std::string> dirs;
  std::vector<std::string> temps;
};

inline Tree scan(const std::string& root) {
  Tree t;
  for (auto& e : std::filesystem::recursive_directory_iterator(root)) {
    std::string rel = std::filesystem::relative(e.path(), root);
    std::string name = e.path().filename();
    if (name.rfind(".hoard-tmp-", 0) == 0) {
      t.temps.push_back(rel);
    } else if (name == ".hoard-share-id") {
      continue;
    } else if (e.is_directory()) {
      t.dirs.insert(rel);
    } else if (e.is_regular_file()) {
      t.files[rel] = readAll(e.path());
    }
  }
  return t;
}

}  // namespace hoard::sync
