// SPDX-License-Identifier: MIT
#pragma once

// What hoard-prompt says: the summary, body and actions of its
// notifications, in words a person understands ("You edited report.txt
// offline; someone changed it on the server"). Pure functions, no bus.

#include <cstdint>
#include <string>
#include <vector>

namespace hoard::prompt {

// One open conflict as the prompt knows it (from org.hoard.Resolver1's
// Resolve call).
struct ConflictInfo {
  uint64_t id = 0;
  std::string share;
  std::string path;         // share-relative, bytes (need not be UTF-8)
  std::string kind;         // design.md's names: content, modify-delete, ...
  std::string local_type;   // "file", "dir", "symlink", "none", "other"
  std::string remote_type;
};

// Action keys (ActionInvoked's action_key).
inline constexpr const char* kKeepLocal = "keep-local";
inline constexpr const char* kKeepRemote = "keep-remote";
inline constexpr const char* kStash = "stash";
inline constexpr const char* kCompare = "compare";
inline constexpr const char* kKeepAllLocal = "keep-all-local";
inline constexpr const char* kKeepAllRemote = "keep-all-remote";
inline constexpr const char* kShowThem = "show";

// How the server shows text: `actions` if it has buttons, `markup` if its
// body is parsed as markup (so & < > must be escaped).
struct ServerCaps {
  bool actions = false;
  bool markup = false;
};

struct NoteText {
  std::string summary;
  std::string body;
  std::vector<std::string> actions;  // pairs: key, label (empty without actions)
  std::string icon = "dialog-warning";
  // Notify's expire_timeout: 0 stays until the person acts, -1 the server's default.
  int32_t expire_timeout = 0;
};

// The sentence for what happened: "You edited report.txt offline; someone
// changed it on the server." The file is named by its last component,
// printable (non-UTF-8 bytes as \xNN).
std::string whatHappened(const ConflictInfo& c);

// A notification for one conflict: summary "Conflict in SHARE: NAME", the
// sentence and where the file is, and Keep mine / Keep theirs / Keep both
// (stash) / Compare (Compare only where a side is a file). Without actions
// the body names the exact commands (`hoard resolve ID --with keep-local`).
NoteText singleText(const ConflictInfo& c, ServerCaps caps);

// One notification for many conflicts of `share`: "40 conflicts in work",
// the first few files named, Keep all mine / Keep all theirs / Show them;
// without actions the `hoard resolve ID... --with keep-local` command.
NoteText batchText(const std::string& share, const std::vector<ConflictInfo>& cs,
                   ServerCaps caps);

// A failure to apply a choice: "Could not keep your version of report.txt".
NoteText failureText(const ConflictInfo& c, const std::string& how, const std::string& why,
                     ServerCaps caps);

// `s` with & < > escaped as entities (for a body-markup server).
std::string escapeMarkup(const std::string& s);

// A path for a person: printable UTF-8, never invalid on the bus.
std::string shown(const std::string& path_bytes);

}  // namespace hoard::prompt
