// SPDX-License-Identifier: MIT
#include "Rules.h"

#include <algorithm>

#include "Glob.h"

namespace hoard::resolvers {

namespace {

using nlohmann::json;

// Reads one rule; every failure names the key below the rule's pointer.
class RuleReader {
 public:
  RuleReader(const json& j, std::string at, const Registry& registry)
      : j_(j), at_(std::move(at)), registry_(registry) {}

  Result<Rule> read(size_t index) {
    Rule r;
    r.index = index;
    r.origin = at_;
    if (!j_.is_object()) return bad("", "a rule is an object");
    static const std::set<std::string> kKeys = {"name",  "match", "under",    "kinds",   "changed",
                                                "class", "size",  "resolver", "options", "follow"};
    for (const auto& [k, v] : j_.items())
      if (!kKeys.count(k)) return bad("/" + k, "unknown key (a rule has " + keyList(kKeys) + ")");
    if (auto s = text("name", r.name); !s) return tl::unexpected(s.error());
    if (auto s = globs(r); !s) return tl::unexpected(s.error());
    if (j_.contains("under")) {
      std::string u;
      if (auto s = text("under", u); !s) return tl::unexpected(s.error());
      while (!u.empty() && u.back() == '/') u.pop_back();
      if (auto v = validateRelPath(u); !v) return bad("/under", v.error().message());
      r.under = u;
    }
    if (auto s = names<ConflictKind>("/kinds", j_.value("kinds", json()), r.kinds, conflictKindFromName,
                                     "a conflict kind");
        !s)
      return tl::unexpected(s.error());
    if (auto s = changed(r); !s) return tl::unexpected(s.error());
    if (auto s = names<ContentClass>("/class", j_.value("class", json()), r.classes,
                                     contentClassFromName, "a class (text, binary, sqlite, git, none)");
        !s)
      return tl::unexpected(s.error());
    if (auto s = size(r); !s) return tl::unexpected(s.error());
    if (auto s = decider(r); !s) return tl::unexpected(s.error());
    return r;
  }

 private:
  tl::unexpected<Error> bad(const std::string& key, const std::string& problem) const {
    return fail(ErrorCode::kInvalidArgument, at_ + key + ": " + problem);
  }
  static std::string keyList(const std::set<std::string>& keys) {
    std::string out;
    for (const auto& k : keys) out += (out.empty() ? "" : ", ") + k;
    return out;
  }
  Status text(const char* key, std::string& out) const {
    if (!j_.contains(key)) return {};
    if (!j_[key].is_string()) return bad(std::string("/") + key, "expected a string");
    out = j_[key].get<std::string>();
    return {};
  }
  // A string or an array of strings.
  Result<std::vector<std::string>> strings(const std::string& key, const json& v) const {
    std::vector<std::string> out;
    if (v.is_string()) return std::vector<std::string>{v.get<std::string>()};
    if (!v.is_array()) return bad(key, "expected a string or an array of strings");
    for (size_t i = 0; i < v.size(); ++i) {
      if (!v[i].is_string()) return bad(key + "/" + std::to_string(i), "expected a string");
      out.push_back(v[i].get<std::string>());
    }
    return out;
  }
  template <class T, class F>
  Status names(const std::string& key, const json& v, std::set<T>& out, F from,
               const char* what) const {
    if (v.is_null()) return {};
    auto list = strings(key, v);
    if (!list) return tl::unexpected(list.error());
    for (size_t i = 0; i < list->size(); ++i) {
      auto t = from((*list)[i]);
      if (!t)
        return bad(key + (v.is_array() ? "/" + std::to_string(i) : ""),
                   "\"" + (*list)[i] + "\" is not " + what);
      out.insert(*t);
    }
    return {};
  }
  Status globs(Rule& r) const {
    if (!j_.contains("match")) return {};
    auto list = strings("/match", j_["match"]);
    if (!list) return tl::unexpected(list.error());
    for (size_t i = 0; i < list->size(); ++i) {
      const std::string& g = (*list)[i];
      std::string key = "/match" + (j_["match"].is_array() ? "/" + std::to_string(i) : "");
      if (g.empty() || g.front() == '/' || g.back() == '/')
        return bad(key, "\"" + g + "\": a glob is share-relative: no leading or trailing '/'");
      if (std::count(g.begin(), g.end(), '[') != std::count(g.begin(), g.end(), ']'))
        return bad(key, "\"" + g + "\": unbalanced '[' ... ']'");
      r.globs.push_back(g);
    }
    return {};
  }
  Status changed(Rule& r) const {
    if (!j_.contains("changed")) return {};
    const json& c = j_["changed"];
    if (!c.is_object()) return bad("/changed", "expected an object with \"local\" and/or \"remote\"");
    for (const auto& [k, v] : c.items()) {
      if (k != "local" && k != "remote")
        return bad("/changed/" + k, "unknown side (use \"local\" or \"remote\")");
      auto& out = k == "local" ? r.local_changed : r.remote_changed;
      if (auto s = names<SideChange>("/changed/" + k, v, out, sideChangeFromName,
                                     "a change (none, metadata, content, created, deleted, type)");
          !s)
        return s;
    }
    return {};
  }
  Status size(Rule& r) const {
    if (!j_.contains("size")) return {};
    const json& s = j_["size"];
    if (!s.is_object()) return bad("/size", "expected an object with \"min\" and/or \"max\"");
    for (const auto& [k, v] : s.items()) {
      if (k != "min" && k != "max") return bad("/size/" + k, "unknown key (use \"min\" or \"max\")");
      if (!v.is_number_unsigned() && !(v.is_number_integer() && v.get<int64_t>() >= 0))
        return bad("/size/" + k, "expected a number of bytes (an integer, 0 or more)");
      (k == "min" ? r.size_min : r.size_max) = v.get<uint64_t>();
    }
    if (r.size_min && r.size_max && *r.size_min > *r.size_max)
      return bad("/size", "min is above max: no file can match");
    return {};
  }
  Status decider(Rule& r) const {
    bool has_resolver = j_.contains("resolver"), has_follow = j_.contains("follow");
    if (has_resolver == has_follow)
      return bad("", "a rule names exactly one of \"resolver\" or \"follow\"");
    if (has_follow) {
      if (j_.contains("options")) return bad("/options", "\"follow\" takes its options itself");
      r.resolver = "follow";
      r.options = j_["follow"];
      return checkWith(r, "/follow");
    }
    if (auto s = text("resolver", r.resolver); !s) return s;
    if (r.resolver.empty()) return bad("/resolver", "empty resolver name");
    if (j_.contains("options")) {
      if (!j_["options"].is_object()) return bad("/options", "expected an object");
      r.options = j_["options"];
    }
    return checkWith(r, "/options");
  }
  Status checkWith(const Rule& r, const std::string& key) const {
    auto resolver = registry_.find(r.resolver);
    if (!resolver) return {};  // an external resolver may register later
    if (auto s = resolver->checkOptions(r.options); !s) {
      std::string m = s.error().message();
      if (!m.empty() && m.front() == '/') return bad(key + m.substr(0, m.find(':')), m.substr(m.find(':') + 2));
      return bad(key, m);
    }
    return {};
  }

  const json& j_;
  std::string at_;
  const Registry& registry_;
};

bool globTakes(const std::string& glob, const RelPath& path) {
  if (glob.find('/') == std::string::npos) return globMatch(glob, baseName(path));
  return globMatch(glob, path);
}

template <class T, class N>
std::string setText(const std::set<T>& s, N name) {
  std::string out;
  for (const T& t : s) out += (out.empty() ? "" : " or ") + std::string(name(t));
  return out;
}

}  // namespace

std::string Rule::label() const {
  std::string l = "rule " + std::to_string(index + 1);
  if (!name.empty()) l += " \"" + name + "\"";
  return l;
}

Result<RuleSet> RuleSet::parse(const json& rules, const std::string& origin,
                               const Registry& registry) {
  if (!rules.is_array())
    return fail(ErrorCode::kInvalidArgument, origin + ": expected an array of rules");
  RuleSet set;
  for (size_t i = 0; i < rules.size(); ++i) {
    RuleReader reader(rules[i], origin + "/" + std::to_string(i), registry);
    auto r = reader.read(i);
    if (!r) return tl::unexpected(r.error());
    set.rules_.push_back(std::move(*r));
  }
  return set;
}

void RuleSet::append(const RuleSet& other) {
  rules_.insert(rules_.end(), other.rules_.begin(), other.rules_.end());
}

RuleVerdict judge(const Rule& rule, const ConflictView& c, ContentClass cls) {
  RuleVerdict v{&rule, false, {}};
  std::vector<std::string> held;
  auto no = [&](std::string why) {
    v.why = std::move(why);
    return v;
  };
  if (!rule.globs.empty()) {
    auto it = std::find_if(rule.globs.begin(), rule.globs.end(),
                           [&](const std::string& g) { return globTakes(g, c.path); });
    if (it == rule.globs.end()) return no("the path matches none of its globs");
    held.push_back("path matches " + *it);
  }
  if (rule.under) {
    if (!isUnder(c.path, *rule.under) || c.path == *rule.under)
      return no("the path is not beneath " + *rule.under);
    held.push_back("beneath " + *rule.under);
  }
  if (!rule.kinds.empty()) {
    if (!rule.kinds.count(c.kind))
      return no("kind is " + std::string(conflictKindName(c.kind)) + ", not " +
                setText(rule.kinds, conflictKindName));
    held.push_back("kind " + std::string(conflictKindName(c.kind)));
  }
  for (int side = 0; side < 2; ++side) {
    const auto& want = side == 0 ? rule.local_changed : rule.remote_changed;
    if (want.empty()) continue;
    SideChange got = sideChange(c.base, side == 0 ? c.local : c.remote);
    std::string who = side == 0 ? "local" : "remote";
    if (!want.count(got))
      return no("the " + who + " change is " + std::string(sideChangeName(got)) + ", not " +
                setText(want, sideChangeName));
    held.push_back(who + " changed " + std::string(sideChangeName(got)));
  }
  if (!rule.classes.empty()) {
    if (!rule.classes.count(cls))
      return no("class is " + std::string(contentClassName(cls)) + ", not " +
                setText(rule.classes, contentClassName));
    held.push_back("class " + std::string(contentClassName(cls)));
  }
  if (rule.size_min || rule.size_max) {
    uint64_t size = std::max(c.local.size, c.remote.size);
    if (rule.size_min && size < *rule.size_min)
      return no("size " + std::to_string(size) + " is below " + std::to_string(*rule.size_min));
    if (rule.size_max && size > *rule.size_max)
      return no("size " + std::to_string(size) + " is above " + std::to_string(*rule.size_max));
    held.push_back("size " + std::to_string(size));
  }
  v.matched = true;
  for (const auto& h : held) v.why += (v.why.empty() ? "" : ", ") + h;
  if (v.why.empty()) v.why = "it has no criteria: it takes every conflict";
  return v;
}

const Rule* RuleSet::match(const ConflictView& c) const {
  ContentClass cls = classify(c);
  for (const Rule& r : rules_)
    if (judge(r, c, cls).matched) return &r;
  return nullptr;
}

std::vector<RuleVerdict> RuleSet::explain(const ConflictView& c) const {
  ContentClass cls = classify(c);
  std::vector<RuleVerdict> out;
  for (const Rule& r : rules_) {
    out.push_back(judge(r, c, cls));
    if (out.back().matched) break;
  }
  return out;
}

std::vector<std::string> RuleSet::unknownResolvers(const Registry& registry) const {
  std::vector<std::string> out;
  for (const Rule& r : rules_)
    if (!registry.find(r.resolver))
      out.push_back(r.origin + " (" + r.label() + ") names \"" + r.resolver +
                    "\", which is not registered (an external resolver must register "
                    "before it can decide)");
  return out;
}

}  // namespace hoard::resolvers
