// SPDX-License-Identifier: MIT
// The `follow` resolver: decides a derived file from the file it is made
// from, as a rule `{"match": "*.o", "follow": {"source": "$stem.c"}}` asks.
// Options:
//   source  the related path, with $dir, $name, $stem, $ext of the conflict's
//           path substituted; without '/' it is in the same directory
//   take    "newer" (default): the side whose source was modified last;
//           "resolution": the side the source's own conflict resolution
//           kept, or the newer one if the source had no conflict
#include <cctype>
#include <memory>

#include "Resolver.h"

namespace hoard::resolvers {

namespace {

using nlohmann::json;

struct Names {
  std::string dir, name, stem, ext;
};

Names namesOf(const RelPath& path) {
  Names n{std::string(parentOf(path)), std::string(baseName(path)), {}, {}};
  size_t dot = n.name.rfind('.');
  if (dot == std::string::npos || dot == 0) {
    n.stem = n.name;
  } else {
    n.stem = n.name.substr(0, dot);
    n.ext = n.name.substr(dot + 1);
  }
  return n;
}

// The source's share-relative path, or an error naming an unknown variable.
Result<RelPath> sourceOf(const std::string& pattern, const RelPath& path) {
  Names n = namesOf(path);
  std::string out;
  for (size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] != '$') {
      out += pattern[i];
      continue;
    }
    size_t end = i + 1;
    while (end < pattern.size() && std::isalpha(static_cast<unsigned char>(pattern[end]))) ++end;
    std::string var = pattern.substr(i + 1, end - i - 1);
    if (var == "dir") out += n.dir;
    else if (var == "name") out += n.name;
    else if (var == "stem") out += n.stem;
    else if (var == "ext") out += n.ext;
    else
      return fail(ErrorCode::kInvalidArgument,
                  "/source: unknown variable $" + var + " (use $dir, $name, $stem or $ext)");
    i = end - 1;
  }
  if (pattern.find('/') == std::string::npos) out = joinPath(n.dir, out);
  while (!out.empty() && out.front() == '/') out.erase(0, 1);
  return out;
}

class Follow final : public Resolver {
 public:
  std::string_view name() const override { return "follow"; }
  std::string_view summary() const override {
    return "decide a derived file from its source: the side whose source is newer, or the side "
           "the source's resolution kept";
  }

  Status checkOptions(const json& o) const override {
    if (!o.is_object()) return fail(ErrorCode::kInvalidArgument, "expected an object");
    for (const auto& [k, v] : o.items())
      if (k != "source" && k != "take")
        return fail(ErrorCode::kInvalidArgument, "/" + k + ": unknown key (use source, take)");
    if (!o.contains("source") || !o["source"].is_string() || o["source"].get<std::string>().empty())
      return fail(ErrorCode::kInvalidArgument, "/source: expected the related path, e.g. \"$stem.c\"");
    std::string src = o["source"].get<std::string>();
    if (src == "$name")
      return fail(ErrorCode::kInvalidArgument, "/source: a file cannot follow itself");
    if (auto p = sourceOf(src, "d/x.o"); !p) return tl::unexpected(p.error());
    if (o.contains("take")) {
      const json& t = o["take"];
      if (!t.is_string() || (t != "newer" && t != "resolution"))
        return fail(ErrorCode::kInvalidArgument, "/take: expected \"newer\" or \"resolution\"");
    }
    return {};
  }

  Result<Decision> resolve(const ConflictView& c, const json& o) override {
    auto src = sourceOf(o.value("source", std::string()), c.path);
    if (!src) return tl::unexpected(src.error());
    if (!c.related) return Decision::defer("the related file " + *src + " cannot be looked up");
    auto rel = c.related(*src);
    if (!rel) return Decision::defer("the related file " + *src + " cannot be looked up");
    if (o.value("take", std::string("newer")) == "resolution") {
      // A resolution's text starts with the decision ("keep-local by follow via rule 2").
      auto was = [&](std::string_view d) {
        return rel->resolution.compare(0, d.size(), d) == 0 &&
               (rel->resolution.size() == d.size() || rel->resolution[d.size()] == ' ');
      };
      if (was("keep-local"))
        return Decision{DecisionKind::kKeepLocal, *src + " was resolved keep-local", 0};
      if (was("keep-remote"))
        return Decision{DecisionKind::kKeepRemote, *src + " was resolved keep-remote", 0};
      if (!rel->resolution.empty())
        return Decision::defer(*src + " was resolved " + rel->resolution +
                               ": neither side's version follows it");
    }
    return newer(*src, *rel);
  }

 private:
  static Decision newer(const RelPath& src, const Related& r) {
    if (!r.local && !r.remote) return Decision::defer(src + " exists on neither side");
    if (!r.remote) return Decision{DecisionKind::kKeepLocal, src + " exists only in the cache", 0};
    if (!r.local) return Decision{DecisionKind::kKeepRemote, src + " exists only on the remote", 0};
    if (r.local->mtime_ns > r.remote->mtime_ns)
      return Decision{DecisionKind::kKeepLocal, src + " is newer in the cache", 0};
    if (r.remote->mtime_ns > r.local->mtime_ns)
      return Decision{DecisionKind::kKeepRemote, src + " is newer on the remote", 0};
    return Decision::defer(src + " has the same modification time on both sides");
  }
};

}  // namespace

std::shared_ptr<Resolver> makeFollow() { return std::make_shared<Follow>(); }

}  // namespace hoard::resolvers
