# SPDX-License-Identifier: MIT
# The version and the git commit hoard was configured from, for
# `hoard --version` and `hoardd --version` (generated/HoardVersion.h). Pass
# -DHOARD_GIT_COMMIT=... when building outside a git clone (a source tarball).
if(NOT DEFINED HOARD_GIT_COMMIT)
  set(HOARD_GIT_COMMIT "unknown")
  find_package(Git QUIET)
  if(GIT_FOUND)
    execute_process(COMMAND ${GIT_EXECUTABLE} -C ${PROJECT_SOURCE_DIR} rev-parse --short=12 HEAD
                    OUTPUT_VARIABLE commit RESULT_VARIABLE rc ERROR_QUIET
                    OUTPUT_STRIP_TRAILING_WHITESPACE)
    if(rc EQUAL 0)
      set(HOARD_GIT_COMMIT ${commit})
      execute_process(COMMAND ${GIT_EXECUTABLE} -C ${PROJECT_SOURCE_DIR} diff --quiet HEAD --
                      RESULT_VARIABLE dirty ERROR_QUIET)
      if(NOT dirty EQUAL 0)
        string(APPEND HOARD_GIT_COMMIT "-dirty")
      endif()
    endif()
  endif()
endif()
configure_file(${CMAKE_CURRENT_LIST_DIR}/HoardVersion.h.in
               ${PROJECT_BINARY_DIR}/generated/HoardVersion.h @ONLY)
include_directories(${PROJECT_BINARY_DIR}/generated)
