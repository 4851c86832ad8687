// SPDX-License-Identifier: MIT
// The ref phase of a repository merge: each side's refs read with libgit2,
// each merged (equal, fast-forward, or diverged and kept side by side), the
// result written as each side's ref files (packed-refs from one side, a
// loose file wherever a ref's value is not what that packed-refs says), and
// HEAD taken from the side whose HEAD is kept.

#include <git2.h>

#include <cctype>
#include <memory>
#include <sstream>

#include "GitRepoState.h"

namespace hoard::resolvers::gitrepo {

namespace {

template <class T, void (*Free)(T*)>
struct Git {
  T* p = nullptr;
  ~Git() {
    if (p) Free(p);
  }
};
using Repo = Git<git_repository, git_repository_free>;
using Odb = Git<git_odb, git_odb_free>;
using Object = Git<git_object, git_object_free>;
using RefIter = Git<git_reference_iterator, git_reference_iterator_free>;
using Ref = Git<git_reference, git_reference_free>;

Error gitError(const std::string& what) {
  const git_error* e = git_error_last();
  return Error(ErrorCode::kCorrupt, what + ": " + (e && e->message ? e->message : "libgit2 failed"));
}

Status readRefs(Side& side) {
  if (side.dir.empty()) return {};
  Repo repo;
  if (git_repository_open_ext(&repo.p, side.dir.c_str(),
                              GIT_REPOSITORY_OPEN_NO_SEARCH | GIT_REPOSITORY_OPEN_BARE, nullptr) != 0)
    return tl::unexpected(gitError("open " + side.name() + " repository"));
  RefIter it;
  if (git_reference_iterator_new(&it.p, repo.p) != 0)
    return tl::unexpected(gitError("list " + side.name() + " refs"));
  for (;;) {
    Ref ref;
    int rc = git_reference_next(&ref.p, it.p);
    if (rc == GIT_ITEROVER) break;
    if (rc != 0) return tl::unexpected(gitError("read " + side.name() + " refs"));
    RefValue v;
    if (git_reference_type(ref.p) == GIT_REFERENCE_SYMBOLIC) {
      v.symbolic = true;
      v.target = git_reference_symbolic_target(ref.p);
    } else {
      char hex[GIT_OID_HEXSZ + 1];
      git_oid_tostr(hex, sizeof hex, git_reference_target(ref.p));
      v.target = hex;
    }
    side.refs[git_reference_name(ref.p)] = v;
  }
  return {};
}

// Both sides' objects in one repository, for ancestry.
struct Ancestry {
  Odb odb;
  Repo repo;
  Status open(const MergeState& m) {
    if (git_odb_new(&odb.p) != 0) return tl::unexpected(gitError("make an object database"));
    for (const Side* s : {&m.local, &m.remote}) {
      if (s->dir.empty()) continue;
      if (git_odb_add_disk_alternate(odb.p, (s->dir + "/objects").c_str()) != 0)
        return tl::unexpected(gitError("read " + s->name() + " objects"));
    }
    if (git_repository_wrap_odb(&repo.p, odb.p) != 0)
      return tl::unexpected(gitError("open both sides' objects"));
    return {};
  }
  // The commit `hex` names (peeling tags), or nullopt.
  std::optional<git_oid> commitOf(const std::string& hex) {
    git_oid oid;
    if (git_oid_fromstr(&oid, hex.c_str()) != 0) return std::nullopt;
    Object obj, commit;
    if (git_object_lookup(&obj.p, repo.p, &oid, GIT_OBJECT_ANY) != 0) return std::nullopt;
    if (git_object_peel(&commit.p, obj.p, GIT_OBJECT_COMMIT) != 0) return std::nullopt;
    return *git_object_id(commit.p);
  }
  // True if `a` descends from `b` (both commits; a tag is peeled).
  bool descends(const std::string& a, const std::string& b) {
    auto ca = commitOf(a), cb = commitOf(b);
    if (!ca || !cb) return false;
    return git_graph_descendant_of(repo.p, &*ca, &*cb) == 1;
  }
};

// A share's name as a ref name component: what git forbids becomes '-'.
std::string refSafe(const std::string& share) {
  std::string out;
  for (unsigned char c : share)
    out += (std::isalnum(c) || c == '-' || c == '_' || c == '.') ? static_cast<char>(c) : '-';
  while (!out.empty() && out.front() == '.') out.erase(0, 1);
  if (out.empty()) out = "share";
  return out;
}

// refs/heads/main -> refs/remotes/hoard/<share>/main; refs/tags/v1 ->
// refs/remotes/hoard/<share>/tags/v1; refs/other/x -> .../other/x.
std::string keptAs(const std::string& share, const std::string& ref) {
  std::string rest = ref.rfind("refs/heads/", 0) == 0 ? ref.substr(11) : ref.substr(5);
  return "refs/remotes/hoard/" + refSafe(share) + "/" + rest;
}

// The packed-refs file's refs (name -> id), without the peeled lines.
std::map<std::string, std::string> parsePacked(const std::string& text) {
  std::map<std::string, std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#' || line[0] == '^') continue;
    size_t sp = line.find(' ');
    if (sp == std::string::npos) continue;
    out[line.substr(sp + 1)] = line.substr(0, sp);
  }
  return out;
}

// A loose ref file's value ("<hex>\n" or "ref: <name>\n").
RefValue looseValue(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  if (text.rfind("ref: ", 0) == 0) return {true, text.substr(5)};
  return {false, text};
}

// The base's refs as git would read them from base_dir: packed-refs, then
// the loose files under refs/ over them. nullopt where base_dir is "".
Result<std::optional<std::map<std::string, RefValue>>> readBaseRefs(const std::string& dir) {
  if (dir.empty()) return std::optional<std::map<std::string, RefValue>>();
  Side base;
  base.dir = dir;
  if (Status st = listFiles(base); !st) return tl::unexpected(st.error());
  std::map<std::string, RefValue> refs;
  if (base.has("packed-refs")) {
    auto text = readFile(base, "packed-refs");
    if (!text) return tl::unexpected(text.error());
    for (auto& [name, id] : parsePacked(*text)) refs[name] = {false, id};
  }
  for (const auto& [p, info] : base.files) {
    if (p.rfind("refs/", 0) != 0) continue;
    auto text = readFile(base, p);
    if (!text) return tl::unexpected(text.error());
    refs[p] = looseValue(*text);
  }
  return std::optional(std::move(refs));
}

// packed-refs' text without the refs this merge deletes (and their peeled
// "^" lines).
std::string withoutGone(const std::string& text, const std::set<std::string>& gone) {
  std::string out;
  bool dropping = false;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line[0] == '^') {
      if (!dropping) out += line + "\n";
      continue;
    }
    dropping = false;
    size_t sp = line.find(' ');
    if (!line.empty() && line[0] != '#' && sp != std::string::npos &&
        gone.count(line.substr(sp + 1))) {
      dropping = true;
      continue;
    }
    out += line + "\n";
  }
  return out;
}

// Merges ref `name`; a diverged one's remote value goes into `kept`.
void mergeOneRef(MergeState& m, Ancestry& anc, const std::string& name,
                 std::map<std::string, RefValue>& kept) {
  auto l = m.local.refs.find(name), r = m.remote.refs.find(name);
  if (l == m.local.refs.end() || r == m.remote.refs.end()) {
    // On one side only: new there, or deleted on the other. Deleted where
    // the base had it and the side that has it left it as it was.
    const bool in_cache = l == m.local.refs.end();
    const RefValue& v = in_cache ? r->second : l->second;
    if (m.base_refs) {
      auto b = m.base_refs->find(name);
      if (b != m.base_refs->end() && b->second == v) {
        m.gone.insert(name);
        m.out.deleted.push_back({name, in_cache});
        return;
      }
      if (b != m.base_refs->end()) m.out.kept.push_back({name, in_cache});
    }
    m.merged_refs[name] = v;
    return;
  }
  if (l->second == r->second) {
    m.merged_refs[name] = l->second;
    return;
  }
  const RefValue& lv = l->second;
  const RefValue& rv = r->second;
  const bool is_tag = name.rfind("refs/tags/", 0) == 0;
  if (!lv.symbolic && !rv.symbolic && !is_tag) {
    if (anc.descends(rv.target, lv.target)) {
      m.merged_refs[name] = rv;
      m.out.fast_forwarded.push_back({name, true});
      return;
    }
    if (anc.descends(lv.target, rv.target)) {
      m.merged_refs[name] = lv;
      m.out.fast_forwarded.push_back({name, false});
      return;
    }
  }
  m.merged_refs[name] = lv;
  if (rv.symbolic) return;  // a symbolic ref names no commit to keep
  const std::string as = keptAs(m.share, name);
  kept[as] = rv;
  m.out.diverged.push_back({name, as});
}

// Which side's HEAD stays: the remote's where HEAD's branch (or a detached
// HEAD) moved to the remote's commit, else the cache's.
Status chooseHead(MergeState& m, Ancestry& anc) {
  if (m.local.dir.empty() || !m.local.has("HEAD")) {
    m.out.head_from_remote = true;
    return {};
  }
  if (m.remote.dir.empty() || !m.remote.has("HEAD")) return {};
  auto lh = readFile(m.local, "HEAD");
  if (!lh) return tl::unexpected(lh.error());
  auto rh = readFile(m.remote, "HEAD");
  if (!rh) return tl::unexpected(rh.error());
  auto trim = [](std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
    return s;
  };
  const std::string l = trim(*lh), r = trim(*rh);
  if (l != r) {
    // Detached on both sides at other commits, or on other branches: the
    // remote's only where it descends from the cache's detached commit.
    m.out.head_from_remote = l.rfind("ref: ", 0) != 0 && r.rfind("ref: ", 0) != 0 &&
                             anc.descends(r, l);
  } else if (l.rfind("ref: ", 0) == 0) {
    const std::string branch = l.substr(5);
    for (const auto& ff : m.out.fast_forwarded)
      if (ff.ref == branch && ff.to_remote_value) m.out.head_from_remote = true;
  }
  Side& kept = m.out.head_from_remote ? m.remote : m.local;
  Side& other = m.out.head_from_remote ? m.local : m.remote;
  auto bytes = readFile(kept, "HEAD");
  if (!bytes) return tl::unexpected(bytes.error());
  m.settled.insert("HEAD");
  return putBytes(m, other, "HEAD", *bytes, kept.files["HEAD"].mode);
}

// packed-refs from the cache (or the remote where the cache has none), and
// a loose file for every ref whose value that file does not give, or that
// either side keeps loose.
Status writeRefFiles(MergeState& m) {
  const Side* packed_from = m.local.has("packed-refs")    ? &m.local
                            : m.remote.has("packed-refs") ? &m.remote
                                                          : nullptr;
  std::map<std::string, std::string> packed;
  if (packed_from != nullptr) {
    auto read = readFile(*packed_from, "packed-refs");
    if (!read) return tl::unexpected(read.error());
    const std::string text = withoutGone(*read, m.gone);
    packed = parsePacked(text);
    for (Side* s : {&m.local, &m.remote})
      if (Status st = putBytes(m, *s, "packed-refs", text, packed_from->files.at("packed-refs").mode); !st)
        return st;
    m.settled.insert("packed-refs");
  }
  for (const std::string& name : m.gone) {
    for (const Side* s : {&m.local, &m.remote}) removeFile(m, *s, name);
    m.settled.insert(name);
  }
  for (const auto& [name, value] : m.merged_refs) {
    auto p = packed.find(name);
    const bool packed_right = !value.symbolic && p != packed.end() && p->second == value.target;
    const bool loose_somewhere = m.local.has(name) || m.remote.has(name);
    if (packed_right && !loose_somewhere) continue;
    for (Side* s : {&m.local, &m.remote})
      if (Status st = putBytes(m, *s, name, value.fileText(), 0644); !st) return st;
    m.settled.insert(name);
  }
  return {};
}

}  // namespace

Status mergeRefs(MergeState& m) {
  for (Side* s : {&m.local, &m.remote})
    if (Status st = readRefs(*s); !st) return st;
  auto base = readBaseRefs(m.base_dir);
  if (!base) return tl::unexpected(base.error().withContext("read the base's refs"));
  m.base_refs = std::move(*base);
  Ancestry anc;
  if (Status st = anc.open(m); !st) return st;
  std::set<std::string> names;
  for (const Side* s : {&m.local, &m.remote})
    for (const auto& [n, v] : s->refs) names.insert(n);
  // The kept-as refs of an earlier merge are refs like any other; a new
  // divergence overwrites them (they hold the remote's latest value).
  std::map<std::string, RefValue> kept;
  for (const std::string& n : names) mergeOneRef(m, anc, n, kept);
  for (auto& [n, v] : kept) m.merged_refs[n] = v;
  if (Status st = writeRefFiles(m); !st) return st;
  return chooseHead(m, anc);
}

}  // namespace hoard::resolvers::gitrepo
