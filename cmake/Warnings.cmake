# SPDX-License-Identifier: MIT
# Warnings are errors for the project's own code (third-party headers are SYSTEM).
function(hoard_warnings target)
  target_compile_options(${target} PRIVATE
    -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast
    -Wcast-align -Woverloaded-virtual -Wimplicit-fallthrough -Werror)
endfunction()
