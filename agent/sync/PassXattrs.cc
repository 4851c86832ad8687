// SPDX-License-Identifier: MIT
// Extended attributes travelling with the files a pass moves, with as few
// remote calls as that takes: the remote's read with the copy (on the
// transfer's thread, not one after the other at install), nothing listed on
// a file hoard has just created, and a remote without xattrs asked once.

#include "sync/PassState.h"

namespace hoard::sync {

Result<PassState::Staged> PassState::stageNew(const RelPath& p) {
  auto staged = stageCopy(s.remote, p, Keep::kPolicy);
  if (!staged || staged->is_db) return staged;  // a database is installed in place: compared then
  auto x = remoteXattrs(p);
  if (!x) return tl::unexpected(x.error());
  staged->xattrs = std::move(*x);
  return staged;
}

Result<UserXattrs> PassState::remoteXattrs(const RelPath& p) {
  if (remote_keeps_no_xattrs) return UserXattrs{};
  auto x = readUserXattrs(s.remote, p);
  if (!x && x.error().code() == ErrorCode::kUnsupported) {
    remote_keeps_no_xattrs = true;
    return UserXattrs{};
  }
  return x;
}

Result<bool> PassState::userXattrsDiffer(const RelPath& p) {
  if (remote_keeps_no_xattrs) return false;
  auto mine = readUserXattrs(s.local, p);
  if (!mine) {
    // Gone or replaced since it was hashed (an editor's save): the next
    // look at it decides.
    ErrorCode c = mine.error().code();
    if (c == ErrorCode::kUnsupported || c == ErrorCode::kNotFound) return false;
    return tl::unexpected(mine.error());
  }
  auto theirs = remoteXattrs(p);
  if (!theirs) {
    if (theirs.error().code() == ErrorCode::kNotFound) return false;  // the remote's side decides
    return tl::unexpected(theirs.error());
  }
  return remote_keeps_no_xattrs ? false : *mine != *theirs;
}

Result<bool> PassState::carryXattrsOut(const RelPath& p, bool fresh) {
  auto want = readUserXattrs(s.local, p);
  if (!want) {
    // The cache file was removed or replaced since it was staged (an
    // editor's save): the bytes sent stand, and the next pass sees the
    // cache's change and carries its attributes then.
    ErrorCode c = want.error().code();
    if (c == ErrorCode::kUnsupported || c == ErrorCode::kNotFound) return false;
    return tl::unexpected(want.error());
  }
  if (!fresh) return makeUserXattrs(s.remote, p, *want);
  if (want->empty() || remote_keeps_no_xattrs) return false;
  return setUserXattrs(s.remote, p, *want);
}

}  // namespace hoard::sync
