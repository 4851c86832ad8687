#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The network benchmark (issue 17): hoard over sshfs to our own sshd in a
# network namespace, across 2 and 20 ms round trips, against rsync -a over
# ssh, unison's ssh mode and a 64-way parallel stat walk, in the same run.
# Needs root (network namespaces, TUN devices, FUSE). Builds hoardd, hoard and
# the e2e harness in Release into build-netbench.
#   bash tests/bench/run-netbench.sh                    # 1,000 files at 2 and 20 ms
#   bash tests/bench/run-netbench.sh --files 5000 --rtts 2,20,60
# Results: tests/bench/results/<UTC date>-net-<N>files/{results.md,results.json}
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD

bash scripts/deps.sh   # rsync, unison, sshfs, openssh-server among them

echo "== building hoardd, hoard and the network harness (Release, build-netbench) =="
cmake -S . -B build-netbench -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
ninja -C build-netbench -j"${HOARD_JOBS:-$(nproc)}" hoardd hoard hoard-lister hoard_net_harness hoard_delayline >/dev/null

export PATH="$repo/build-netbench/agent/daemon:$repo/build-netbench/cli:$PATH"
export HOARD_BENCH_COMMAND="bash tests/bench/run-netbench.sh${*:+ $*}"
dbus-run-session -- /usr/bin/python3 tests/bench/netbench.py \
  --harness "$repo/build-netbench/tests/e2e/hoard_net_harness" \
  --lister "$repo/build-netbench/lister/hoard-lister" "$@"
