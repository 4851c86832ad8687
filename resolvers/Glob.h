// SPDX-License-Identifier: MIT
#pragma once

// Path patterns for rules and bulk resolution: '/'-separated, matched one
// component at a time with fnmatch(3) ('*', '?', '[...]' never cross a '/'),
// and a component that is exactly "**" matches any number of components
// (zero included): "**/*.o", "src/**", "docs/**/draft-*.md". Names are bytes.

#include <string_view>

namespace hoard::resolvers {

bool globMatch(std::string_view pattern, std::string_view path);

}  // namespace hoard::resolvers
