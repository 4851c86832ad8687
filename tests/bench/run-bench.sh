#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The one command for hoard's benchmarks against cp, rsync, find and unison
# (issue 5): installs what is missing, builds hoardd and hoard in Release into
# build-bench, and runs tests/bench/bench.py on a private session bus.
#   bash tests/bench/run-bench.sh            # 20,000 files, 3 runs
#   bash tests/bench/run-bench.sh --full     # 100,000 files
#   bash tests/bench/run-bench.sh --files N --runs R --only preload,writeback --keep
# Results: tests/bench/results/<UTC date>-<N>files/{results.md,results.json,chart.png}
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD

bash scripts/deps.sh   # installs only what is missing (rsync and unison among them)
if ! /usr/bin/python3 -c 'import matplotlib' 2>/dev/null; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends python3-matplotlib
fi

echo "== building hoardd and hoard (Release, build-bench) =="
cmake -S . -B build-bench -G Ninja -DCMAKE_BUILD_TYPE=Release -DHOARD_BUILD_TESTS=OFF >/dev/null
ninja -C build-bench -j"${HOARD_JOBS:-$(nproc)}" hoardd hoard >/dev/null

export PATH="$repo/build-bench/agent/daemon:$repo/build-bench/cli:$PATH"
export HOARD_BENCH_COMMAND="bash tests/bench/run-bench.sh${*:+ $*}"
exec dbus-run-session -- /usr/bin/python3 tests/bench/bench.py "$@" 2> >(grep -v "fd limit" >&2)
