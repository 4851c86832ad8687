// SPDX-License-Identifier: MIT
// A merge that still holds conflict markers, as git leaves one: the cache
// takes it (compare-and-swap against the cache's version the conflict
// recorded), the remote is untouched, and the conflict stays open, marked
// merging, its local version now the merge. The user edits the file; a
// keep-local then takes what the cache holds by then through the ordinary
// FileApply, unless the file still holds markers.
//
// No intent: only the cache changes, in one atomic replace; a crash before
// the conflict's detail is refreshed leaves a cache that differs from the
// recorded local version, which a later decision refreshes like any edit.

#include "GitMerge.h"
#include "sync/ApplyDecision.h"

namespace hoard::sync {

namespace {

Status copyInto(int from, int to, const RelPath& p) {
  char buf[1 << 16];
  for (off_t at = 0;;) {
    ssize_t n = ::pread(from, buf, sizeof buf, at);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return failErrno(errno, "read the merge with markers for " + displayPath(p));
    if (n == 0) return {};
    for (ssize_t done = 0; done < n;) {
      ssize_t w = ::write(to, buf + done, static_cast<size_t>(n - done));
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) return failErrno(errno, "stage the merge with markers for " + displayPath(p));
      done += w;
    }
    at += n;
  }
}

Result<std::string> readFd(int fd, const RelPath& p) {
  std::string s;
  char buf[1 << 16];
  for (off_t at = 0;;) {
    ssize_t n = ::pread(fd, buf, sizeof buf, at);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return failErrno(errno, "read " + displayPath(p) + " in the cache");
    if (n == 0) return s;
    s.append(buf, static_cast<size_t>(n));
    at += n;
  }
}

}  // namespace

Status applyMarkers(PassState& pass, const journal::ConflictRecord& c, const ConflictDetail& d,
                    const ConflictDecision& decision) {
  ShareSides& s = pass.s;
  const RelPath& p = c.path;
  const remote::Stat* st = pass.find(pass.local, p);
  if (!d.local.exists() || !d.remote.exists() || st == nullptr ||
      st->meta.type != FileType::kFile)
    return fail(ErrorCode::kInvalidArgument,
                displayPath(p) + " is not a file on both sides: it cannot take a merge");
  if (st->data_version != d.local.data_version) {
    auto h = pass.hashLocal(p);
    if (!h) return tl::unexpected(h.error());
    if (!d.local.hash || *h != *d.local.hash)
      return fail(ErrorCode::kConflict,
                  displayPath(p) + " changed in the cache since conflict " +
                      std::to_string(c.id) + " was detected; the merge was not written");
  }
  auto tmp = s.local.openTemp();
  if (!tmp) return tl::unexpected(tmp.error());
  if (Status copied = copyInto(decision.merged_fd, tmp->get(), p); !copied) return copied;
  remote::ReplaceOptions ro;
  ro.mode = st->meta.mode ? st->meta.mode : 0644;
  pass.writingLocally(p);
  auto placed = s.local.replaceFile(p, tmp->get(), Expect::version(st->data_version), ro, nullptr);
  if (!placed) return tl::unexpected(placed.error());
  pass.local[p] = *placed;
  pass.wroteLocally(p, placed->meta);
  // The conflict now speaks of the merge as the cache's version.
  ConflictDetail merging = d;
  std::optional<ContentHash> local_object;
  auto seen = pass.keepVersion(s.local, p, &pass.local[p], local_object);
  if (!seen) return tl::unexpected(seen.error());
  merging.local = *seen;
  merging.merging = true;
  merging.note = decision.label.empty()
                     ? "the cache holds a merge with conflict markers"
                     : decision.label;
  return pass.journal([&](journal::Journal& j) {
    return j.refreshConflict(c.id, encodeDetail(merging), local_object, c.remote_object);
  });
}

Status acceptMergeEdit(PassState& pass, const journal::ConflictRecord& c, ConflictDetail& d,
                       bool force) {
  ShareSides& s = pass.s;
  const RelPath& p = c.path;
  const remote::Stat* st = pass.find(pass.local, p);  // null: the user deleted it
  std::optional<ContentHash> object;
  auto seen = pass.keepVersion(s.local, p, st, object);
  if (!seen) return tl::unexpected(seen.error());
  if (!force && seen->type == FileType::kFile && object) {
    auto fd = s.store.open(*object);
    if (!fd) return tl::unexpected(fd.error());
    auto text = readFd(fd->get(), p);
    if (!text) return tl::unexpected(text.error());
    if (size_t line = resolvers::firstConflictMarker(*text); line != 0)
      return fail(ErrorCode::kBusy,
                  displayPath(p) + " still holds conflict markers (line " + std::to_string(line) +
                      "); edit it to the version you want, or keep it as it is with hoard "
                      "resolve " + std::to_string(c.id) + " --with keep-local --force");
  }
  d.local = *seen;
  return {};
}

}  // namespace hoard::sync
