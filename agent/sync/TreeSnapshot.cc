// SPDX-License-Identifier: MIT
#include "sync/TreeSnapshot.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "sync/ApplyDecision.h"

namespace hoard::sync {

namespace {

using nlohmann::json;

FileType typeNamed(std::string_view n) {
  for (FileType t : {FileType::kFile, FileType::kDir, FileType::kSymlink, FileType::kOther})
    if (fileTypeName(t) == n) return t;
  return FileType::kNone;
}

json encodeEntry(const TreeEntry& e) {
  json j = {{"path", displayPath(e.path)},
            {"path_hex", toHex(e.path)},
            {"type", std::string(fileTypeName(e.type))},
            {"mode", e.mode},
            {"data_version_hex", toHex(e.data_version)}};
  if (e.hash) j["hash"] = e.hash->hex();
  if (e.object) j["object"] = e.object->hex();
  if (e.type == FileType::kSymlink) j["target_hex"] = toHex(e.link);
  if (e.xattrs) {
    json x = json::object();
    for (const auto& [name, value] : *e.xattrs) x[name] = toHex(value);
    j["xattrs_hex"] = std::move(x);
  }
  return j;
}

std::optional<ContentHash> hashAt(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_string()) return std::nullopt;
  auto h = ContentHash::fromHex(it->get<std::string>());
  if (!h) return std::nullopt;
  return *h;
}

// Throws json::exception on a malformed entry (decodeTrees catches it).
TreeEntry decodeEntry(const json& j) {
  TreeEntry e;
  e.path = fromHex(j.at("path_hex").get<std::string>());
  e.type = typeNamed(j.at("type").get<std::string>());
  e.mode = j.at("mode").get<uint32_t>();
  e.data_version = fromHex(j.at("data_version_hex").get<std::string>());
  e.hash = hashAt(j, "hash");
  e.object = hashAt(j, "object");
  if (j.contains("target_hex")) e.link = fromHex(j.at("target_hex").get<std::string>());
  if (auto it = j.find("xattrs_hex"); it != j.end()) {
    UserXattrs x;
    for (const auto& [name, value] : it->items()) x[name] = fromHex(value.get<std::string>());
    e.xattrs = std::move(x);
  }
  if (e.path.empty() || e.type == FileType::kNone) throw std::invalid_argument("entry");
  return e;
}

// Every entry of one side at and beneath the roots, parents first.
Result<std::vector<TreeEntry>> snapshotSide(PassState& pass, const std::vector<RelPath>& roots,
                                            bool local_side, TreeTake take) {
  remote::RemoteFs& fs = local_side ? pass.s.local : pass.s.remote;
  StatMap listed;
  for (const RelPath& root : roots)
    if (Status st = loadSide(fs, listed, root); !st) return tl::unexpected(st.error());
  std::vector<TreeEntry> out;
  for (const auto& [q, st] : listed) {
    TreeEntry e;
    e.path = q;
    e.type = st.meta.type;
    e.mode = st.meta.mode;
    e.data_version = st.data_version;
    e.link = st.symlink_target;
    if (take == TreeTake::kKeep && e.type == FileType::kFile) {
      auto seen = pass.keepVersion(fs, q, &st, e.object);
      if (!seen) return tl::unexpected(seen.error());
      if (!e.object)
        return fail(ErrorCode::kIo, "could not keep " + displayPath(q) +
                                        (local_side ? " of the cache" : " of the remote") +
                                        " in the store for an undo");
      e.hash = seen->hash;
      e.data_version = seen->data_version;
    }
    if (take != TreeTake::kCompare && (e.type == FileType::kFile || e.type == FileType::kDir)) {
      auto x = readUserXattrs(fs, q);
      if (x) {
        e.xattrs = std::move(*x);
      } else if (x.error().code() != ErrorCode::kUnsupported) {
        return tl::unexpected(x.error().withContext("read the xattrs of " + displayPath(q)));
      }
    }
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace

std::string encodeTrees(const TreeSides& t) {
  json roots = json::array();
  for (const RelPath& r : t.roots) roots.push_back(toHex(r));
  json local = json::array(), remote = json::array();
  for (const TreeEntry& e : t.local) local.push_back(encodeEntry(e));
  for (const TreeEntry& e : t.remote) remote.push_back(encodeEntry(e));
  return json{{"roots_hex", roots}, {"local", local}, {"remote", remote}}.dump();
}

std::optional<TreeSides> decodeTrees(std::string_view text) {
  if (text.empty()) return std::nullopt;
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  try {
    TreeSides t;
    for (const json& r : j.at("roots_hex")) t.roots.push_back(fromHex(r.get<std::string>()));
    for (const json& e : j.at("local")) t.local.push_back(decodeEntry(e));
    for (const json& e : j.at("remote")) t.remote.push_back(decodeEntry(e));
    if (t.roots.empty()) return std::nullopt;
    return t;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

Result<TreeSides> snapshotTrees(PassState& pass, const std::vector<RelPath>& roots,
                                TreeTake take) {
  TreeSides t;
  t.roots = roots;
  auto l = snapshotSide(pass, roots, /*local_side=*/true, take);
  if (!l) return tl::unexpected(l.error());
  auto r = snapshotSide(pass, roots, /*local_side=*/false, take);
  if (!r) return tl::unexpected(r.error());
  t.local = std::move(*l);
  t.remote = std::move(*r);
  return t;
}

std::vector<ContentHash> treeObjects(const TreeSides& t) {
  std::vector<ContentHash> out;
  for (const auto* side : {&t.local, &t.remote})
    for (const TreeEntry& e : *side)
      if (e.object && std::find(out.begin(), out.end(), *e.object) == out.end())
        out.push_back(*e.object);
  return out;
}

}  // namespace hoard::sync
