// SPDX-License-Identifier: MIT
#pragma once

// Compare: the three versions of a conflicted file as read-only copies in a
// private folder (never the live files in the cache or on the server), and
// the tool that shows them: the configured one, else a three-way merge tool
// on PATH (meld, kdiff3), else `diff -u` of the server's version against
// the user's, opened in $VISUAL, $EDITOR or with xdg-open.

#include <cstdint>
#include <string>
#include <vector>

#include "common/Error.h"

namespace hoard::prompt {

struct Copies {
  std::string dir;   // 0700, made for this comparison
  std::string base, local, remote;  // 0444: NAME.base.EXT, NAME.mine.EXT, NAME.theirs.EXT
};

// Copies what the descriptors hold (read from offset 0; -1 or an empty file
// for a version that does not exist) into a new folder under `root`
// (created 0700 if missing) named for conflict `id`. `name` is the file's
// last path component (bytes). kIo naming the file on failure.
Result<Copies> writeCopies(const std::string& root, uint64_t id, const std::string& name,
                           int base_fd, int local_fd, int remote_fd);

// Where copies go: $XDG_RUNTIME_DIR/hoard-prompt, else /tmp/hoard-prompt-UID.
std::string copiesRoot();

struct ComparePlan {
  std::vector<std::string> argv;  // the program that shows the comparison
  std::string diff_file;          // if not empty: write `diff -u` here first
};

// What Compare runs on `c`: `configured` with {base} {local} {remote}
// replaced (appended as local, base, remote if it names none), else the
// default described above. kNotFound when nothing on PATH can show it.
// Reads PATH, VISUAL and EDITOR from the environment.
Result<ComparePlan> planCompare(const std::vector<std::string>& configured, const Copies& c);

// Runs the plan: the diff (waited for) and then the program, detached (not
// waited for; it outlives nothing of ours). kNotFound if the program is not
// on PATH, kIo if the diff cannot be written.
Status runCompare(const ComparePlan& plan, const Copies& c);

// The absolute path of `program` on $PATH ("" if absent; a name with a '/'
// is checked as it is).
std::string findOnPath(const std::string& program);

}  // namespace hoard::prompt
