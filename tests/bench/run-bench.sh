#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The one command for hoard's benchmarks against cp, rsync, find and unison
# (issue 5): installs what is missing, builds hoardd and hoard in Release into
# build-bench, and runs tests/bench/bench.py on a private session bus.
#   bash tests/bench/run-bench.sh            # 20,000 files, 3 runs
#   bash tests/bench/run-bench.sh --full     # 100,000 files
#   bash tests/bench/run-bench.sh --files N --runs R --only preload,writeback --keep
#   HOARD_BENCH_FS_GIB=48 bash tests/bench/run-bench.sh   # on a fresh ext4 image (root)
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
prefix=""
[ -n "${HOARD_BENCH_FS_GIB:-}" ] && prefix="HOARD_BENCH_FS_GIB=$HOARD_BENCH_FS_GIB "
export HOARD_BENCH_COMMAND="${prefix}bash tests/bench/run-bench.sh${*:+ $*}"

# HOARD_BENCH_FS_GIB=N: run on a fresh journaled ext4 of N GiB (a sparse image
# in /var/tmp on a loop device, needs root), so every contestant writes to
# the same kind of filesystem a laptop has, whatever /var/tmp sits on.
extra=()
if [ -n "${HOARD_BENCH_FS_GIB:-}" ]; then
  img=/var/tmp/hoard-bench-fs.img mnt=/var/tmp/hoard-bench-fs
  if mountpoint -q "$mnt"; then umount "$mnt"; fi
  rm -f "$img"
  truncate -s "${HOARD_BENCH_FS_GIB}G" "$img"
  mkfs.ext4 -q -F -E lazy_itable_init=0,lazy_journal_init=0 "$img"
  mkdir -p "$mnt"
  mount -o loop "$img" "$mnt"
  trap 'umount "$mnt" 2>/dev/null; rm -f "$img"' EXIT
  extra=(--work "$mnt/work")
fi
dbus-run-session -- /usr/bin/python3 tests/bench/bench.py "${extra[@]}" "$@" 2> >(grep -v "fd limit" >&2)
