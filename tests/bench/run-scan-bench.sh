#!/bin/sh
# SPDX-License-Identifier: MIT
# Builds hoard_bench_scan in Release and runs it. Extra arguments go to the
# benchmark (e.g. --files 20000 --runs 7 --dir /var/tmp/hoard-bench --keep).
# Build directory: $HOARD_BENCH_BUILD_DIR (default build-bench in the repo).
set -eu
repo=$(cd "$(dirname "$0")/../.." && pwd)
build=${HOARD_BENCH_BUILD_DIR:-"$repo/build-bench"}
cmake -S "$repo" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DHOARD_BUILD_TESTS=ON -DHOARD_BUILD_BENCH=ON -DHOARD_SANITIZE=OFF >/dev/null
ninja -C "$build" -j"${HOARD_JOBS:-2}" hoard_bench_scan
exec "$build/tests/bench/hoard_bench_scan" "$@"
