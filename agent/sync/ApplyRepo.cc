// SPDX-License-Identifier: MIT
// A repository merge applied (ApplyDecision.h, applyRepoMerge): the
// git-repo resolver's writes carried to each side in its order, then the
// repository's base recorded from what both sides hold.

#include <cerrno>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "sync/ApplyDecision.h"
#include "sync/GitRepoUnit.h"

namespace hoard::sync {

namespace {

// The bytes a write puts, as a descriptor read from offset 0.
Result<UniqueFd> sourceOf(const RepoWrite& w, const ConflictDecision& d) {
  if (w.from == RepoWrite::From::kBytes) {
    UniqueFd fd(::memfd_create("hoard-repo-write", MFD_CLOEXEC));
    if (!fd) return failErrno(errno, "memfd_create for " + displayPath(w.path));
    size_t at = 0;
    while (at < w.bytes.size()) {
      ssize_t n = ::write(fd.get(), w.bytes.data() + at, w.bytes.size() - at);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return failErrno(errno, "write " + displayPath(w.path));
      at += static_cast<size_t>(n);
    }
    return fd;
  }
  const std::string& dir = w.from == RepoWrite::From::kLocal ? d.copies_local : d.copies_remote;
  if (dir.empty())
    return fail(ErrorCode::kInvalidArgument,
                "a repository write of " + displayPath(w.path) + " names a copy that was not made");
  const std::string path = dir + "/" + w.path;
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd) return failErrno(errno, "open the copy of " + displayPath(w.path));
  return fd;
}

// Makes the directories leading to `q` (beneath the repository `top`) that
// `side` lacks.
Status makeParents(PassState& pass, remote::RemoteFs& fs, StatMap& side, bool is_local,
                   const RelPath& top, const RelPath& q) {
  std::vector<RelPath> missing;
  for (RelPath d(parentOf(q)); d.size() > top.size() && isUnder(d, top); d = RelPath(parentOf(d)))
    if (pass.find(side, d) == nullptr) missing.push_back(d);
  for (auto it = missing.rbegin(); it != missing.rend(); ++it) {
    if (is_local) pass.writingLocally(*it);
    Status made = fs.mkdir(*it, 0755);
    if (!made && made.error().code() != ErrorCode::kExists) return made;
    auto st = fs.lstat(*it);
    if (!st) return tl::unexpected(st.error());
    side[*it] = *st;
    if (is_local) pass.wroteLocally(*it, st->meta);
  }
  return {};
}

Status applyWrite(PassState& pass, const journal::ConflictRecord& c, const ConflictDecision& d,
                  const RepoWrite& w) {
  const bool is_local = !w.to_remote;
  remote::RemoteFs& fs = is_local ? pass.s.local : pass.s.remote;
  StatMap& side = is_local ? pass.local : pass.remote;
  const RelPath q = joinPath(c.path, w.path);
  if (Status v = validateRelPath(q); !v) return v;
  const remote::Stat* listed = pass.find(side, q);
  if (w.create_only && listed != nullptr) return {};  // an object is never overwritten
  if (w.remove) {
    if (listed == nullptr) return {};  // gone already (an earlier, cut run of this merge)
    Status gone = fs.unlink(q, Expect::version(listed->data_version));
    if (!gone && gone.error().code() != ErrorCode::kNotFound) return gone;
    side.erase(q);
    return {};
  }
  if (Status st = makeParents(pass, fs, side, is_local, c.path, q); !st) return st;
  auto src = sourceOf(w, d);
  if (!src) return tl::unexpected(src.error());
  remote::ReplaceOptions ro;
  ro.mode = w.mode & 07777;
  const Expect expect = listed ? Expect::version(listed->data_version) : Expect::absent();
  if (is_local) pass.writingLocally(q);
  auto put = fs.replaceFile(q, src->get(), expect, ro, nullptr);
  if (!put) return tl::unexpected(put.error());
  side[q] = *put;
  if (is_local) pass.wroteLocally(q, put->meta);
  return {};
}

// The base of every path of the repository directory both sides hold now.
Status recordRepoBase(PassState& pass, const RelPath& top) {
  for (StatMap* side : {&pass.local, &pass.remote}) {
    auto [first, last] = subtreeOf(*side, top);
    side->erase(first, last);
  }
  if (Status st = loadSide(pass.s.local, pass.local, top); !st) return st;
  if (Status st = loadSide(pass.s.remote, pass.remote, top); !st) return st;
  for (auto it = pass.local_hash.begin(); it != pass.local_hash.end();)
    it = isUnder(it->first, top) ? pass.local_hash.erase(it) : std::next(it);
  // What neither side holds any more (a deleted branch's ref and reflog)
  // leaves the base: the next merge must not take it for deleted again.
  std::vector<RelPath> gone;
  auto [bfirst, blast] = subtreeOf(pass.base, top);
  for (auto it = bfirst; it != blast; ++it)
    if (!pass.find(pass.local, it->first) && !pass.find(pass.remote, it->first))
      gone.push_back(it->first);
  for (const RelPath& p : gone)
    if (Status st = pass.dropBase(p, std::nullopt); !st) return st;
  auto [first, last] = subtreeOf(pass.local, top);
  for (auto it = first; it != last; ++it) {
    const remote::Stat* r = pass.find(pass.remote, it->first);
    if (r == nullptr || r->meta.type != it->second.meta.type) continue;  // the next pass sees it
    std::optional<ContentHash> hash, object;
    if (it->second.meta.type == FileType::kFile &&
        gitRankIn(pass.repos, it->first) == resolvers::kGitRefs) {
      // The refs' bytes are kept (PassState::keep): the next merge's base.
      auto staged = pass.stageCopy(pass.s.local, it->first, PassState::Keep::kPolicy);
      if (!staged) return tl::unexpected(staged.error());
      hash = staged->hash;
      object = staged->object;
    } else if (it->second.meta.type == FileType::kFile) {
      auto h = pass.hashLocal(it->first);
      if (!h) return tl::unexpected(h.error());
      hash = *h;
    }
    if (Status st = pass.putBase(pass.entryFrom(it->first, it->second, *r, hash, object),
                                 std::nullopt);
        !st)
      return st;
  }
  return {};
}

}  // namespace

Status applyRepoMerge(PassState& pass, const journal::ConflictRecord& c,
                      const ConflictDecision& decision) {
  if (gitRepoOf(pass.repos, c.path) == nullptr) pass.repos.push_back(c.path);  // its refs are kept
  for (const RepoWrite& w : decision.repo_writes) {
    if (Status st = applyWrite(pass, c, decision, w); !st)
      return tl::unexpected(st.error().withContext(
          std::string("merge the repository ") + displayPath(c.path) +
          (w.to_remote ? " into the remote" : " into the cache")));
  }
  return recordRepoBase(pass, c.path);
}

}  // namespace hoard::sync
