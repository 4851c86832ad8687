// SPDX-License-Identifier: MIT
#include "GitAttributes.h"

#include <fnmatch.h>

#include <algorithm>

#include "Glob.h"

namespace hoard::resolvers {

namespace {

constexpr std::string_view kSpace = " \t";

std::vector<std::string_view> fields(std::string_view line) {
  std::vector<std::string_view> out;
  size_t at = 0;
  while ((at = line.find_first_not_of(kSpace, at)) != std::string_view::npos) {
    size_t end = line.find_first_of(kSpace, at);
    if (end == std::string_view::npos) end = line.size();
    out.push_back(line.substr(at, end - at));
    at = end;
  }
  return out;
}

size_t depthOf(std::string_view dir) {
  return dir.empty() ? 0 : 1 + static_cast<size_t>(std::count(dir.begin(), dir.end(), '/'));
}

}  // namespace

GitAttributes::GitAttributes(std::vector<File> files) {
  // Shallower files first: a deeper file's lines come later and so win.
  std::stable_sort(files.begin(), files.end(), [](const File& a, const File& b) {
    return depthOf(a.dir) < depthOf(b.dir);
  });
  macros_["binary"] = {{"diff", "unset"}, {"merge", "unset"}, {"text", "unset"}};
  for (const File& f : files) parse(f, f.dir.empty());
}

void GitAttributes::parse(const File& f, bool root) {
  std::string_view text = f.text;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    std::vector<std::string_view> fs = fields(line);
    if (fs.empty() || fs[0].front() == '#') continue;
    std::vector<Assign> assigns;
    for (size_t i = 1; i < fs.size(); ++i) {
      std::string_view a = fs[i];
      if (a.front() == '-') {
        assigns.push_back({std::string(a.substr(1)), "unset"});
      } else if (a.front() == '!') {
        assigns.push_back({std::string(a.substr(1)), std::nullopt});
      } else if (size_t eq = a.find('='); eq != std::string_view::npos) {
        assigns.push_back({std::string(a.substr(0, eq)), std::string(a.substr(eq + 1))});
      } else {
        assigns.push_back({std::string(a), "set"});
      }
    }
    std::string_view pat = fs[0];
    if (pat.substr(0, 6) == "[attr]") {
      if (root) macros_[std::string(pat.substr(6))] = std::move(assigns);
      continue;  // git ignores macros outside the root file
    }
    // Negative patterns are forbidden in attributes; quoted ones not handled.
    if (pat.front() == '!' || pat.front() == '"') continue;
    Line l;
    l.dir = f.dir;
    l.anchored = pat.find('/') != std::string_view::npos && pat.find('/') != pat.size() - 1;
    if (pat.front() == '/') pat.remove_prefix(1);
    l.pattern = std::string(pat);
    l.assigns = std::move(assigns);
    lines_.push_back(std::move(l));
  }
}

bool GitAttributes::matches(const Line& l, std::string_view path) const {
  // A trailing '/' names a directory; attributes are asked for files only.
  if (l.pattern.empty() || l.pattern.back() == '/') return false;
  if (!l.dir.empty()) {
    if (path.size() <= l.dir.size() + 1 || path.substr(0, l.dir.size()) != l.dir ||
        path[l.dir.size()] != '/')
      return false;
    path.remove_prefix(l.dir.size() + 1);
  }
  if (!l.anchored) {
    std::string base(baseName(path));
    return fnmatch(l.pattern.c_str(), base.c_str(), 0) == 0;
  }
  // "dir/**" is what is inside dir, not dir itself.
  std::string_view pat = l.pattern;
  if (pat.size() >= 3 && pat.substr(pat.size() - 3) == "/**") {
    std::string_view inside = pat.substr(0, pat.size() - 3);
    if (globMatch(inside, path)) return false;
  }
  return globMatch(pat, path);
}

void GitAttributes::apply(std::map<std::string, std::optional<std::string>, std::less<>>& state,
                          const Assign& a, int depth) const {
  state[a.name] = a.value;
  // A macro set brings its attributes (git expands only a set macro).
  if (a.value != "set" || depth > 8) return;
  if (auto m = macros_.find(a.name); m != macros_.end())
    for (const Assign& inner : m->second) apply(state, inner, depth + 1);
}

std::optional<std::string> GitAttributes::lookup(std::string_view path,
                                                 std::string_view attr) const {
  std::map<std::string, std::optional<std::string>, std::less<>> state;
  for (const Line& l : lines_) {
    if (!matches(l, path)) continue;
    for (const Assign& a : l.assigns) apply(state, a, 0);
  }
  auto it = state.find(attr);
  if (it == state.end()) return std::nullopt;
  return it->second;
}

std::vector<RelPath> GitAttributes::filesFor(const RelPath& path) {
  std::vector<RelPath> out{RelPath(".gitattributes")};
  for (size_t at = path.find('/'); at != std::string::npos; at = path.find('/', at + 1))
    out.push_back(joinPath(std::string_view(path).substr(0, at), ".gitattributes"));
  return out;
}

}  // namespace hoard::resolvers
