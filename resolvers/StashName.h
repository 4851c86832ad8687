// SPDX-License-Identifier: MIT
#pragma once

// The name under which the `stash` resolver keeps the losing version of a
// conflicted file beside the winner (design.md):
//
//   NAME.conflict-HOST-YYYYMMDD-HHMMSS.EXT
//
// "report.txt" -> "report.conflict-laptop-20261124-031500.txt". The extension
// is what follows the last '.' of the name, unless that dot starts the name
// (".bashrc" has none) or ends it; a name without one gets the suffix at the
// end ("Makefile.conflict-laptop-20261124-031500"). Names are bytes; the
// result never exceeds 255 bytes (NAME_MAX): the stem is shortened, never
// cutting a UTF-8 sequence in half, and an extension too long to keep is
// treated as part of the stem.

#include <ctime>
#include <functional>
#include <string>
#include <string_view>

namespace hoard::resolvers {

inline constexpr size_t kNameMax = 255;

// `name` is one path component (no '/'). `host` is the machine's name: bytes
// that cannot appear in a file name ('/', NUL) become '_', and '.' too so the
// extension stays recognisable. `when` is shown in local time.
std::string stashName(std::string_view name, std::string_view host, std::time_t when);

// As stashName(), adding "-2", "-3", ... before the extension while `exists`
// says the name is taken (two conflicts in one second, or a leftover).
std::string uniqueStashName(std::string_view name, std::string_view host, std::time_t when,
                            const std::function<bool(const std::string&)>& exists);

}  // namespace hoard::resolvers
