// SPDX-License-Identifier: MIT
#pragma once

// Copies of one git repository directory as each side holds it, made in a
// temporary directory for the git-repo resolver to read (its
// ConflictView's Version::tree) and for the apply of its decision to take
// files from; removed when the object goes. Every remote read goes through
// the remote's RemoteFs (its deadlines, its fault injection).

#include <memory>
#include <string>

#include "common/Error.h"
#include "common/RelPath.h"
#include "remote/RemoteFs.h"

namespace hoard::sync {

class RepoCopies {
 public:
  // Copies the directory `p` of both sides (regular files and directories;
  // symlinks and others are left out). A side without a directory at `p`
  // gets an empty path. Errors: the sides' (kNotFound never: absent is
  // empty), kIo making the copies. Blocking; any thread.
  static Result<std::unique_ptr<RepoCopies>> make(remote::RemoteFs& local,
                                                  remote::RemoteFs& remote, const RelPath& p);
  ~RepoCopies();
  RepoCopies(const RepoCopies&) = delete;
  RepoCopies& operator=(const RepoCopies&) = delete;

  const std::string& local() const { return local_; }
  const std::string& remote() const { return remote_; }

 private:
  RepoCopies() = default;
  std::string root_, local_, remote_;
};

}  // namespace hoard::sync
