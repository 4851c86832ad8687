// SPDX-License-Identifier: MIT
// git-merge: the versions read from their descriptors, the cases git itself
// would not merge (binary, attributes) and a missing base turned away first,
// then one git_merge_file call; the conflicting hunks are counted from the
// markers it wrote.

#include "GitMerge.h"

#include <git2.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <utility>

namespace hoard::resolvers {

namespace {

constexpr const char* kOurLabel = "cache";
constexpr const char* kTheirLabel = "remote";
constexpr const char* kBaseLabel = "base";
constexpr size_t kBinaryProbe = 8000;  // git's buffer_is_binary looks this far

template <typename E, size_t N>
using Choices = std::array<std::pair<std::string_view, E>, N>;

using Opt = GitMergeOptions;
constexpr Choices<Opt::Favor, 4> kFavor{{{"none", Opt::Favor::kNone},
                                         {"ours", Opt::Favor::kOurs},
                                         {"theirs", Opt::Favor::kTheirs},
                                         {"union", Opt::Favor::kUnion}}};
// libgit2 1.5 has all three styles (GIT_MERGE_FILE_STYLE_ZDIFF3 came in 1.4).
constexpr Choices<Opt::Style, 3> kStyle{{{"merge", Opt::Style::kMerge},
                                         {"diff3", Opt::Style::kDiff3},
                                         {"zdiff3", Opt::Style::kZdiff3}}};
constexpr Choices<Opt::Whitespace, 4> kWhitespace{{{"none", Opt::Whitespace::kNone},
                                                   {"ignore-all", Opt::Whitespace::kIgnoreAll},
                                                   {"ignore-change", Opt::Whitespace::kIgnoreChange},
                                                   {"ignore-eol", Opt::Whitespace::kIgnoreEol}}};
constexpr Choices<Opt::OnConflict, 2> kOnConflict{{{"defer", Opt::OnConflict::kDefer},
                                                   {"markers", Opt::OnConflict::kMarkers}}};

template <typename E, size_t N>
Status pick(const nlohmann::json& v, std::string_view key, const Choices<E, N>& choices, E& out) {
  std::string expected;
  for (const auto& [name, value] : choices) {
    if (v.is_string() && v.get_ref<const std::string&>() == name) {
      out = value;
      return {};
    }
    expected += (expected.empty() ? "" : ", ") + std::string(name);
  }
  return fail(ErrorCode::kInvalidArgument, "git-merge option /" + std::string(key) +
                                               ": expected one of " + expected + "; got " +
                                               v.dump());
}

Result<std::string> readAll(int fd, const ConflictView& c, std::string_view side) {
  std::string out;
  char buf[1 << 16];
  for (off_t at = 0;;) {
    ssize_t n = ::pread(fd, buf, sizeof buf, at);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0)
      return failErrno(errno, "git-merge: read the " + std::string(side) + " version of " +
                                  displayPath(c.path));
    if (n == 0) return out;
    out.append(buf, static_cast<size_t>(n));
    at += n;
  }
}

bool looksBinary(const std::string& s) {
  return s.find('\0', 0) < std::min(s.size(), kBinaryProbe);
}

// Lines that open a conflict block: "<<<<<<< cache" then the line's end.
int countMarkers(std::string_view merged) {
  const std::string open = std::string(7, '<') + " " + kOurLabel;
  int n = 0;
  for (size_t at = 0; at < merged.size();) {
    size_t nl = merged.find('\n', at);
    std::string_view line = merged.substr(at, nl == std::string_view::npos ? nl : nl - at);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line == open) ++n;
    if (nl == std::string_view::npos) break;
    at = nl + 1;
  }
  return n;
}

// Why .gitattributes keeps this path from a text merge, if it does; may
// turn a merge into a union. (merge=text cannot make libgit2 merge content
// with NUL bytes: git_merge_file takes such content as binary whatever it
// is told, so binary content defers even then.)
std::optional<std::string> fromAttributes(const ConflictView& c, Opt& opts) {
  if (!c.git_attr) return std::nullopt;
  if (c.git_attr("binary") == "set") return ".gitattributes marks it binary";
  auto merge = c.git_attr("merge");
  if (merge == "unset") return ".gitattributes marks it -merge";
  if (merge == "binary") return ".gitattributes marks it merge=binary";
  if (merge == "union") opts.favor = Opt::Favor::kUnion;
  return std::nullopt;
}

unsigned int gitFlags(const Opt& o) {
  unsigned int f = 0;
  switch (o.style) {
    case Opt::Style::kMerge: f |= GIT_MERGE_FILE_STYLE_MERGE; break;
    case Opt::Style::kDiff3: f |= GIT_MERGE_FILE_STYLE_DIFF3; break;
    case Opt::Style::kZdiff3: f |= GIT_MERGE_FILE_STYLE_ZDIFF3; break;
  }
  switch (o.whitespace) {
    case Opt::Whitespace::kNone: break;
    case Opt::Whitespace::kIgnoreAll: f |= GIT_MERGE_FILE_IGNORE_WHITESPACE; break;
    case Opt::Whitespace::kIgnoreChange: f |= GIT_MERGE_FILE_IGNORE_WHITESPACE_CHANGE; break;
    case Opt::Whitespace::kIgnoreEol: f |= GIT_MERGE_FILE_IGNORE_WHITESPACE_EOL; break;
  }
  return f;
}

git_merge_file_favor_t gitFavor(Opt::Favor f) {
  switch (f) {
    case Opt::Favor::kOurs: return GIT_MERGE_FILE_FAVOR_OURS;
    case Opt::Favor::kTheirs: return GIT_MERGE_FILE_FAVOR_THEIRS;
    case Opt::Favor::kUnion: return GIT_MERGE_FILE_FAVOR_UNION;
    case Opt::Favor::kNone: break;
  }
  return GIT_MERGE_FILE_FAVOR_NORMAL;
}

Result<MergeOutcome> runMerge(const ConflictView& c, const std::string& base,
                              const std::string& ours, const std::string& theirs, const Opt& o) {
  auto input = [](const std::string& s) {
    git_merge_file_input in = GIT_MERGE_FILE_INPUT_INIT;
    in.ptr = s.data();
    in.size = s.size();
    return in;
  };
  git_merge_file_input b = input(base), l = input(ours), r = input(theirs);
  git_merge_file_options mo = GIT_MERGE_FILE_OPTIONS_INIT;
  mo.ancestor_label = kBaseLabel;
  mo.our_label = kOurLabel;
  mo.their_label = kTheirLabel;
  mo.favor = gitFavor(o.favor);
  mo.flags = gitFlags(o);
  git_merge_file_result res{};
  if (git_merge_file(&res, &b, &l, &r, &mo) != 0) {
    const git_error* e = git_error_last();
    return fail(ErrorCode::kInternal, "git-merge: libgit2 could not merge " +
                                          displayPath(c.path) + ": " +
                                          (e && e->message ? e->message : "unknown error"));
  }
  MergeOutcome out;
  out.bytes.assign(res.ptr ? res.ptr : "", res.len);
  if (!res.automergeable) out.conflicting_hunks = std::max(1, countMarkers(out.bytes));
  git_merge_file_result_free(&res);
  return out;
}

}  // namespace

Result<GitMergeOptions> parseGitMergeOptions(const nlohmann::json& options) {
  GitMergeOptions o;
  if (options.is_null()) return o;
  if (!options.is_object())
    return fail(ErrorCode::kInvalidArgument,
                "git-merge options: expected an object; got " + options.dump());
  for (const auto& [key, v] : options.items()) {
    Status st;
    if (key == "favor") st = pick(v, key, kFavor, o.favor);
    else if (key == "style") st = pick(v, key, kStyle, o.style);
    else if (key == "whitespace") st = pick(v, key, kWhitespace, o.whitespace);
    else if (key == "on_conflict") st = pick(v, key, kOnConflict, o.on_conflict);
    else
      st = fail(ErrorCode::kInvalidArgument,
                "git-merge option /" + key +
                    ": unknown (git-merge takes favor, style, whitespace, on_conflict)");
    if (!st) return tl::unexpected(st.error());
  }
  return o;
}

size_t firstConflictMarker(std::string_view text) {
  size_t line = 1;
  for (size_t at = 0; at < text.size(); ++line) {
    size_t nl = text.find('\n', at);
    std::string_view l = text.substr(at, nl == std::string_view::npos ? nl : nl - at);
    if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
    for (char c : {'<', '>'}) {
      if (l.size() >= 7 && l.substr(0, 7) == std::string(7, c) && (l.size() == 7 || l[7] == ' '))
        return line;
    }
    if (nl == std::string_view::npos) break;
    at = nl + 1;
  }
  return 0;
}

std::string hunksConflict(int n) {
  return std::to_string(n) + (n == 1 ? " hunk conflicts" : " hunks conflict");
}

Result<MergeOutcome> mergeVersions(const ConflictView& c, const GitMergeOptions& options) {
  // libgit2 must be initialised before git_merge_file (its allocator); the
  // CLI calls this without a GitMerge object. Once per process, never shut
  // down: the library's own count keeps GitMerge's init/shutdown pairs safe.
  static const int initialised = git_libgit2_init();
  (void)initialised;
  GitMergeOptions o = options;
  MergeOutcome out;
  if (c.local.type != FileType::kFile || c.remote.type != FileType::kFile) {
    out.not_merged = "git-merge merges a file on both sides";
    return out;
  }
  if (c.local.fd < 0 || c.remote.fd < 0) {
    out.not_merged = std::string(c.local.fd < 0 ? "the cache's" : "the remote's") +
                     " version was not kept";
    return out;
  }
  if (auto why = fromAttributes(c, o)) {
    out.not_merged = std::move(why);
    return out;
  }
  auto l = readAll(c.local.fd, c, "cache's");
  if (!l) return tl::unexpected(l.error());
  auto r = readAll(c.remote.fd, c, "remote's");
  if (!r) return tl::unexpected(r.error());
  // Binary first: the keep policy rarely keeps a binary file's base, and
  // "binary content" is the reason that matters then.
  if (looksBinary(*l) || looksBinary(*r)) {
    out.not_merged = "binary content";
    return out;
  }
  if (c.base.exists() && (c.base.type != FileType::kFile || c.base.fd < 0)) {
    out.not_merged = "no base version was kept";
    return out;
  }
  std::string base;
  if (c.base.exists()) {
    auto b = readAll(c.base.fd, c, "base");
    if (!b) return tl::unexpected(b.error());
    base = std::move(*b);
  }
  if (looksBinary(base)) {
    out.not_merged = "binary content";
    return out;
  }
  return runMerge(c, base, *l, *r, o);
}

GitMerge::GitMerge() { git_libgit2_init(); }
GitMerge::~GitMerge() { git_libgit2_shutdown(); }

Status GitMerge::checkOptions(const nlohmann::json& options) const {
  auto o = parseGitMergeOptions(options);
  if (!o) return tl::unexpected(o.error());
  return {};
}

namespace {

Status writeAll(int fd, std::string_view bytes, const ConflictView& c) {
  for (size_t done = 0; done < bytes.size();) {
    ssize_t w = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) return failErrno(errno, "git-merge: write the merge of " + displayPath(c.path));
    done += static_cast<size_t>(w);
  }
  return {};
}

}  // namespace

Result<Decision> GitMerge::resolve(const ConflictView& c, const nlohmann::json& options) {
  auto o = parseGitMergeOptions(options);
  if (!o) return tl::unexpected(o.error());
  if (!decisionAllowed(DecisionKind::kMerged, c.kind))
    return Decision::defer("git-merge has no meaning for a " +
                           std::string(conflictKindName(c.kind)) + " conflict");
  auto m = mergeVersions(c, *o);
  if (!m) return tl::unexpected(m.error());
  if (m->not_merged) return Decision::defer(*m->not_merged);
  Decision d;
  if (m->conflicting_hunks == 0) {
    d = {DecisionKind::kMerged, "merged cleanly", 0};
  } else if (o->on_conflict == GitMergeOptions::OnConflict::kDefer) {
    return Decision{DecisionKind::kDefer, hunksConflict(m->conflicting_hunks),
                    m->conflicting_hunks};
  } else {
    d = {DecisionKind::kMarkers,
         hunksConflict(m->conflicting_hunks) + ": the cache gets the merge with markers",
         m->conflicting_hunks};
  }
  if (c.output_fd >= 0) {
    if (Status st = writeAll(c.output_fd, m->bytes, c); !st) return tl::unexpected(st.error());
  }
  return d;
}

}  // namespace hoard::resolvers
