#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Builds hoard and runs its whole test suite, twice: a normal build, then the
# same suite under AddressSanitizer + UndefinedBehaviorSanitizer.
# Installs missing Debian packages first. Usage: scripts/test.sh [--no-sanitize]
set -euo pipefail
cd "$(dirname "$0")/.."

sanitize=1
for arg in "$@"; do
  case "$arg" in
    --no-sanitize) sanitize=0 ;;
    *) echo "usage: scripts/test.sh [--no-sanitize]" >&2; exit 2 ;;
  esac
done

bash scripts/deps.sh
jobs=$(nproc)

run_suite() {  # run_suite BUILD_DIR CTEST_ARGS -- CMAKE_ARGS...
  local dir=$1 ctest_args=$2; shift 2
  cmake -S . -B "$dir" -G Ninja -DHOARD_BUILD_BENCH=ON "$@" >/dev/null
  cmake --build "$dir" -j "$jobs"
  # shellcheck disable=SC2086
  ctest --test-dir "$dir" --output-on-failure -j "$jobs" --timeout 600 $ctest_args
}

echo "== hoard: build and test (RelWithDebInfo) =="
run_suite build "" -DCMAKE_BUILD_TYPE=RelWithDebInfo
if ((sanitize)); then
  # The lint and package checks look at the sources and the package, the
  # same in both builds: they run once, above.
  echo "== hoard: build and test under ASan+UBSan (less the lint and package checks) =="
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    run_suite build-asan "-LE lint|package" -DCMAKE_BUILD_TYPE=Debug -DHOARD_SANITIZE=ON
fi
