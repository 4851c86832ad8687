// SPDX-License-Identifier: MIT
#pragma once

// Early return of a Result's or Status's error (as Journal.cc has done
// privately): HOARD_TRY(status_expr); HOARD_TRY_ASSIGN(var, result_expr).

#include "common/Error.h"

#ifndef HOARD_TRY_ASSIGN
// Unwraps a Result into `var` or returns its error from the enclosing function.
#define HOARD_TRY_ASSIGN(var, expr)                               \
  auto var##_result = (expr);                                     \
  if (!var##_result) return tl::unexpected(var##_result.error()); \
  auto& var = *var##_result
#endif

#ifndef HOARD_TRY
#define HOARD_TRY(expr)                                                     \
  do {                                                                      \
    auto hoard_try_status = (expr);                                         \
    if (!hoard_try_status) return tl::unexpected(hoard_try_status.error()); \
  } while (0)
#endif
