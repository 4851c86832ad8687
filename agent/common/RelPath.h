// SPDX-License-Identifier: MIT
#pragma once

// Share-relative paths. A POSIX name is bytes, not text: a RelPath is a
// std::string of raw bytes ("dir/sub/name"), '/'-separated, with no leading or
// trailing '/', no empty, "." or ".." component and no NUL. The empty string is
// the share root. Never assume UTF-8; use displayPath() to show one to a person.

#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "common/Error.h"

namespace hoard {

using RelPath = std::string;

// Ok if `p` is a well-formed RelPath as described above (the root "" is valid).
Status validateRelPath(std::string_view p);

// "a/b/c" -> "a/b"; "c" -> "" (the root); "" -> "".
std::string_view parentOf(std::string_view p);

// "a/b/c" -> "c"; "c" -> "c".
std::string_view baseName(std::string_view p);

// join("", "x") == "x"; join("a", "x") == "a/x".
RelPath joinPath(std::string_view dir, std::string_view name);

// True if `p` equals `dir` or lies beneath it. Every path is under the root "".
bool isUnder(std::string_view p, std::string_view dir);

// Replaces the leading `from` of `p` (which must satisfy isUnder(p, from)) with `to`.
RelPath rebase(std::string_view p, std::string_view from, std::string_view to);

// Orders paths the way a depth-first walk lists them: a directory, then
// everything beneath it, then its next sibling. Plain byte order is not that,
// because ' ', '-' and '.' sort before '/': "dir" < "dir-x" < "dir/a". Here
// '/' sorts before every other byte, so the entries at or beneath a path form
// one contiguous range that starts at the path itself (see subtreeOf), and a
// parent always comes before its children. Use it for every ordered container
// of paths that is walked by subtree.
struct PathLess {
  using is_transparent = void;
  bool operator()(std::string_view a, std::string_view b) const;
};

// The range [first, last) of the entries of `c` (a std::map or std::set keyed
// by RelPath and ordered by PathLess) that are `dir` or lie beneath it.
template <class C>
auto subtreeOf(C& c, std::string_view dir) {
  auto key = [](const auto& v) -> std::string_view {
    if constexpr (std::is_same_v<std::decay_t<decltype(v)>, std::string>) {
      return v;
    } else {
      return v.first;
    }
  };
  auto first = dir.empty() ? c.begin() : c.lower_bound(dir);
  auto last = first;
  while (last != c.end() && isUnder(key(*last), dir)) ++last;
  return std::pair{first, last};
}

// A printable, unambiguous rendering for messages and logs: bytes that are not
// printable ASCII or valid UTF-8 become \xNN, a newline \n, a backslash \\.
std::string displayPath(std::string_view p);

}  // namespace hoard
