// SPDX-License-Identifier: MIT
#pragma once

// `hoard __complete WHAT [ARG]`: words for the bash completion
// (completion/hoard.bash), one per line on stdout, from the running daemon:
//   shares             the share names
//   conflicts [SHARE]  the ids of open conflicts (of SHARE, or of every share)
//   paths PREFIX       entries inside cache roots that start with PREFIX
//                      (directories end in '/'); outside every cache root,
//                      the cache roots that start with PREFIX
// A Tab press must never start hoardd nor print an error: when the daemon is
// not running (its bus name has no owner) or any call fails, nothing is
// printed and the status is 1. Unknown WHAT: status 2.

namespace hoard::cli {

int complete(int argc, char** argv);

}  // namespace hoard::cli
