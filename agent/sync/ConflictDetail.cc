// SPDX-License-Identifier: MIT
#include "sync/ConflictDetail.h"

#include <nlohmann/json.hpp>

namespace hoard::sync {

std::string toHex(std::string_view bytes) {
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char ch : bytes) {
    out.push_back(kHex[ch >> 4]);
    out.push_back(kHex[ch & 0xF]);
  }
  return out;
}

std::string fromHex(std::string_view hex) {
  auto nib = [](char ch) -> int {
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    return -1;
  };
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    int hi = nib(hex[i]), lo = nib(hex[i + 1]);
    if (hi < 0 || lo < 0) return {};
    out.push_back(static_cast<char>(hi << 4 | lo));
  }
  return out;
}

namespace {

using nlohmann::json;

json encodeSide(const SideSeen& s) {
  if (!s.exists()) return {{"type", "none"}};
  json j = {{"type", std::string(fileTypeName(s.type))},
            {"size", s.size},
            {"mode", s.mode},
            {"mtime_ns", s.mtime_ns},
            {"ctime_ns", s.ctime_ns},
            {"inode", s.inode},
            {"data_version_hex", toHex(s.data_version)}};
  if (!s.subtree_digest.empty()) j["subtree_digest"] = s.subtree_digest;
  if (s.hash) j["hash"] = s.hash->hex();
  if (s.type == FileType::kSymlink) {
    j["target"] = displayPath(s.symlink_target);
    j["target_hex"] = toHex(s.symlink_target);
  }
  return j;
}

FileType typeFromName(const std::string& n) {
  for (FileType t : {FileType::kFile, FileType::kDir, FileType::kSymlink, FileType::kOther})
    if (fileTypeName(t) == n) return t;
  return FileType::kNone;
}

template <class T>
T get(const json& j, const char* key, T fallback) {
  auto it = j.find(key);
  if (it == j.end()) return fallback;
  try {
    return it->get<T>();
  } catch (const json::exception&) {
    return fallback;
  }
}

SideSeen decodeSide(const json& j) {
  SideSeen s;
  if (!j.is_object()) return s;
  s.type = typeFromName(get<std::string>(j, "type", "none"));
  s.size = get<uint64_t>(j, "size", 0);
  s.mode = get<uint32_t>(j, "mode", 0);
  s.mtime_ns = get<int64_t>(j, "mtime_ns", 0);
  s.ctime_ns = get<int64_t>(j, "ctime_ns", 0);
  s.inode = get<uint64_t>(j, "inode", 0);
  s.data_version = fromHex(get<std::string>(j, "data_version_hex", ""));
  s.recorded = s.type == FileType::kNone || j.contains("data_version_hex");
  s.subtree_digest = get<std::string>(j, "subtree_digest", "");
  if (auto h = ContentHash::fromHex(get<std::string>(j, "hash", ""))) s.hash = *h;
  s.symlink_target = fromHex(get<std::string>(j, "target_hex", ""));
  return s;
}

json encodeBeneath(const std::vector<SubtreeChange>& v) {
  json a = json::array();
  for (const SubtreeChange& c : v)
    a.push_back({{"path", displayPath(c.path)}, {"path_hex", toHex(c.path)}, {"what", c.what}});
  return a;
}

std::vector<SubtreeChange> decodeBeneath(const json& j, const char* key) {
  std::vector<SubtreeChange> out;
  auto it = j.find(key);
  if (it == j.end() || !it->is_array()) return out;
  for (const json& e : *it) {
    if (!e.is_object()) continue;
    out.push_back({fromHex(get<std::string>(e, "path_hex", "")), get<std::string>(e, "what", "")});
  }
  return out;
}

}  // namespace

std::string encodeDetail(const ConflictDetail& d) {
  json j = {{"local", encodeSide(d.local)},
            {"remote", encodeSide(d.remote)},
            {"base", encodeSide(d.base)}};
  if (d.from) {
    j["from"] = displayPath(*d.from);
    j["from_hex"] = toHex(*d.from);
  }
  if (d.remote_to) {
    j["remote_to"] = displayPath(*d.remote_to);
    j["remote_to_hex"] = toHex(*d.remote_to);
  }
  if (!d.local_beneath.empty()) j["local_beneath"] = encodeBeneath(d.local_beneath);
  if (!d.remote_beneath.empty()) j["remote_beneath"] = encodeBeneath(d.remote_beneath);
  if (!d.note.empty()) j["note"] = d.note;
  if (d.merging) j["merging"] = true;
  return j.dump();
}

ConflictDetail decodeDetail(std::string_view text) {
  ConflictDetail d;
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return d;
  if (auto it = j.find("local"); it != j.end()) d.local = decodeSide(*it);
  if (auto it = j.find("remote"); it != j.end()) d.remote = decodeSide(*it);
  if (auto it = j.find("base"); it != j.end()) d.base = decodeSide(*it);
  if (j.contains("from_hex")) d.from = fromHex(get<std::string>(j, "from_hex", ""));
  if (j.contains("remote_to_hex")) d.remote_to = fromHex(get<std::string>(j, "remote_to_hex", ""));
  d.local_beneath = decodeBeneath(j, "local_beneath");
  d.remote_beneath = decodeBeneath(j, "remote_beneath");
  d.note = get<std::string>(j, "note", "");
  d.merging = get<bool>(j, "merging", false);
  return d;
}

}  // namespace hoard::sync
