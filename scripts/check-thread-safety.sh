#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Checks the lock annotations (agent/common/ThreadAnnotations.h) with clang's
# thread-safety analysis: every source of the annotated directories is
# compiled with clang++-16 -fsyntax-only -Wthread-safety
# -Werror=thread-safety, with the include paths and defines the build uses
# (from BUILD_DIR/compile_commands.json, so run it after a build: the D-Bus
# headers are generated there). gcc stays the compiler of the build; this
# only analyses. Exit 0 clean, 1 on a finding, 77 (skipped) without clang-16.
# Usage: scripts/check-thread-safety.sh [BUILD_DIR]   (default: build)
set -euo pipefail
cd "$(dirname "$0")/.."

build=${1:-build}
clang=${CLANGXX:-clang++-16}
annotated=(agent/daemon agent/sync agent/remote agent/store agent/journal agent/common agent/view)

if ! command -v "$clang" >/dev/null; then
  echo "check-thread-safety: $clang not found (apt-get install clang-16); skipped" >&2
  exit 77
fi
if [ ! -f "$build/compile_commands.json" ]; then
  echo "check-thread-safety: $build/compile_commands.json missing: configure and build first" >&2
  exit 1
fi

# One line per file: the file, then the build's -I/-D/-std flags.
python3 - "$build/compile_commands.json" "$PWD" "${annotated[@]}" > "$build/thread-safety.args" <<'PY'
import json, shlex, sys
db, root, dirs = sys.argv[1], sys.argv[2], sys.argv[3:]
for e in json.load(open(db)):
    f = e["file"]
    rel = f[len(root) + 1:] if f.startswith(root + "/") else f
    if not any(rel.startswith(d + "/") for d in dirs):
        continue
    args = shlex.split(e["command"])
    keep = [a for a in args if a.startswith(("-I", "-D", "-std=", "-isystem"))]
    print(" ".join(shlex.quote(a) for a in [f] + keep))
PY

if [ ! -s "$build/thread-safety.args" ]; then
  echo "check-thread-safety: no sources of ${annotated[*]} in $build/compile_commands.json" >&2
  exit 1
fi
count=$(wc -l < "$build/thread-safety.args")
echo "check-thread-safety: $count files of ${annotated[*]} with $clang"
# shellcheck disable=SC2016
xargs -P "${JOBS:-2}" -L 1 sh -c '"$0" -fsyntax-only -Wthread-safety -Werror=thread-safety \
  -Wno-unknown-warning-option "$@" || exit 255' "$clang" < "$build/thread-safety.args"
echo "check-thread-safety: clean"
