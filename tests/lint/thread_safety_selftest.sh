#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The thread-safety check can fail: GuardedCounter.cc passes the analysis
# as written and is refused, naming the member and the mutex, when the lock
# is left out. Usage: thread_safety_selftest.sh SOURCE_DIR
set -uo pipefail
src=${1:?usage: thread_safety_selftest.sh SOURCE_DIR}
clang=${CLANGXX:-clang++-16}
command -v "$clang" >/dev/null || { echo "$clang not found; skipped" >&2; exit 77; }
check() { "$clang" -std=c++20 -fsyntax-only -Wthread-safety -Werror=thread-safety \
  -I "$src/agent" "$@" "$src/tests/lint/GuardedCounter.cc" 2>&1; }

if ! out=$(check); then
  echo "FAIL: the guarded read was refused:"; echo "$out"; exit 1
fi
if out=$(check -DHOARD_UNGUARDED); then
  echo "FAIL: an unguarded read of n_ passed the analysis"; exit 1
fi
if ! grep -q "reading variable 'n_' requires holding mutex 'mu_'" <<<"$out"; then
  echo "FAIL: the analysis refused it, but not for the unguarded read:"; echo "$out"; exit 1
fi
echo "ok: the unguarded read is reported:"; grep error <<<"$out"
