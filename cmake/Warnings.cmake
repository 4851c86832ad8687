# SPDX-License-Identifier: MIT
# Warnings are errors for the project's own code (third-party headers are SYSTEM).
function(hoard_warnings target)
  target_compile_options(${target} PRIVATE
    -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast
    -Wcast-align -Woverloaded-virtual -Wimplicit-fallthrough -Werror)
  # GCC 12 at -O3 (Release) reports std::string concatenation as overlapping
  # memcpy (GCC bug 105651, a false positive): keep it a warning there.
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
    target_compile_options(${target} PRIVATE -Wno-error=restrict)
  endif()
endfunction()
