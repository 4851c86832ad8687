// SPDX-License-Identifier: MIT
#include "prompt/Texts.h"

#include "common/RelPath.h"

namespace hoard::prompt {

namespace {

std::string nameOf(const ConflictInfo& c) { return shown(std::string(baseName(c.path))); }

// "a folder", "a file", "a link".
std::string aType(const std::string& t) {
  if (t == "dir") return "a folder";
  if (t == "file") return "a file";
  if (t == "symlink") return "a link";
  if (t == "none") return "gone";
  return "something else";
}

std::string ids(const std::vector<ConflictInfo>& cs) {
  std::string out;
  for (const auto& c : cs) out += std::to_string(c.id) + " ";
  return out;
}

// The commands a person types where the server has no buttons.
std::string commandsFor(const std::string& id_list) {
  return "To keep yours: hoard resolve " + id_list + "--with keep-local\n" +
         "To keep theirs: hoard resolve " + id_list + "--with keep-remote\n" +
         "To keep both: hoard resolve " + id_list + "--with stash";
}

bool hasFile(const ConflictInfo& c) { return c.local_type == "file" || c.remote_type == "file"; }

}  // namespace

std::string shown(const std::string& path_bytes) { return displayPath(path_bytes); }

std::string escapeMarkup(const std::string& s) {
  std::string out;
  for (char ch : s) {
    if (ch == '&') out += "&amp;";
    else if (ch == '<') out += "&lt;";
    else if (ch == '>') out += "&gt;";
    else out += ch;
  }
  return out;
}

std::string whatHappened(const ConflictInfo& c) {
  const std::string n = nameOf(c);
  const std::string& k = c.kind;
  if (k == "content") return "You edited " + n + " offline; someone changed it on the server.";
  if (k == "modify-delete") return "You edited " + n + " offline; someone deleted it on the server.";
  if (k == "delete-modify") return "You deleted " + n + " offline; someone changed it on the server.";
  if (k == "create-create")
    return "You created " + n + " offline; someone created a different " + n + " on the server.";
  if (k == "type")
    return n + " is " + aType(c.local_type) + " in your copy but someone made it " +
           aType(c.remote_type) + " on the server.";
  if (k == "metadata")
    return "You changed the permissions of " + n +
           " offline; someone changed them differently on the server.";
  if (k == "dir-delete")
    return c.local_type == "none"
               ? "You deleted the folder " + n + " offline; someone added to it on the server."
               : "You changed the folder " + n + " offline; someone deleted it on the server.";
  if (k == "rename-rename")
    return "You renamed " + n + " offline; someone renamed it differently on the server.";
  return n + " changed both in your copy and on the server (" + k + ").";
}

NoteText singleText(const ConflictInfo& c, ServerCaps caps) {
  NoteText t;
  t.summary = "Conflict in " + c.share + ": " + nameOf(c);
  std::string body = whatHappened(c) + "\n" + shown(c.path) + " in share " + c.share +
                     " (conflict " + std::to_string(c.id) + ")";
  if (caps.actions) {
    t.actions = {kKeepLocal, "Keep mine", kKeepRemote, "Keep theirs", kStash, "Keep both"};
    if (hasFile(c)) {
      t.actions.push_back(kCompare);
      t.actions.push_back("Compare");
    }
  } else {
    body += "\n" + commandsFor(std::to_string(c.id) + " ");
  }
  t.body = caps.markup ? escapeMarkup(body) : body;
  return t;
}

NoteText batchText(const std::string& share, const std::vector<ConflictInfo>& cs,
                   ServerCaps caps) {
  NoteText t;
  t.summary = std::to_string(cs.size()) + " conflicts in " + share;
  std::string names;
  const size_t kNamed = 3;
  for (size_t i = 0; i < cs.size() && i < kNamed; ++i)
    names += (i ? ", " : "") + nameOf(cs[i]);
  if (cs.size() > kNamed) names += " and " + std::to_string(cs.size() - kNamed) + " more";
  std::string body = "Files you changed offline were also changed on the server: " + names + ".";
  if (caps.actions) {
    t.actions = {kKeepAllLocal, "Keep all mine", kKeepAllRemote, "Keep all theirs", kShowThem,
                 "Show them"};
  } else {
    body += "\n" + commandsFor(ids(cs)) + "\nTo see them: hoard conflicts " + share;
  }
  t.body = caps.markup ? escapeMarkup(body) : body;
  return t;
}

NoteText failureText(const ConflictInfo& c, const std::string& how, const std::string& why,
                     ServerCaps caps) {
  NoteText t;
  std::string what = how == kKeepLocal    ? "keep your version of "
                     : how == kKeepRemote ? "keep the server's version of "
                     : how == kCompare    ? "compare the versions of "
                                          : "keep both versions of ";
  t.summary = "Could not " + what + nameOf(c);
  std::string body = why + "\nThe conflict stays open: hoard conflicts " + c.share;
  t.body = caps.markup ? escapeMarkup(body) : body;
  return t;
}

}  // namespace hoard::prompt
