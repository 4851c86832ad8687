#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The hoard demo. Installs missing Debian packages, builds, and shows the
# local half of hoard at work on a folder: the journal, the live tracker, the
# start-up scan, the base store and snapshots, and a kill -9 that loses nothing.
# (The daemon, the remote side and conflicts join the demo as they are built.)
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/deps.sh
echo "== building hoard =="
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build --target hoard-local -j "$(nproc)" >/dev/null
H="$PWD/build/demo/hoard-local"

WORK=$(mktemp -d /tmp/hoard-demo-XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT
CACHE="$WORK/Documents"
hl() { "$H" --journal "$WORK/state/journal.db" --store "$WORK/state/objects" "$@"; }
step() { printf '\n\033[1m== %s ==\033[0m\n' "$*"; }
say() { printf '   %s\n' "$*"; }
wait_for_log() {  # wait until the change log mentions $1 (the tracker is asynchronous)
  for _ in $(seq 1 100); do hl log docs | grep -qF -- "$1" && return 0; sleep 0.1; done
  echo "demo: the tracker never logged '$1'" >&2; return 1
}

step "A working set: $CACHE"
mkdir -p "$CACHE/thesis" "$CACHE/data" "$WORK/state"
printf 'Chapter 1\nIt was a dark and stormy night.\n' > "$CACHE/thesis/ch1.md"
printf 'Chapter 2\n' > "$CACHE/thesis/ch2.md"
printf 'id,value\n1,42\n' > "$CACHE/data/results.csv"
head -c 4096 /dev/urandom > "$CACHE/data/figure.png"
find "$CACHE" -type f -printf '   %P (%s bytes)\n'

step "hoard records it as share 'docs' and adopts it as the base"
hl init docs "$CACHE"
say "(text files keep their base content in the store for three-way merges; the PNG keeps only its hash)"

step "Snapshot before going offline"
hl snapshot docs pre-disconnection

step "Working offline while hoard tracks live"
"$H" --journal "$WORK/state/journal.db" --store "$WORK/state/objects" watch docs > "$WORK/watch.log" 2>&1 &
WATCH=$!
for _ in $(seq 1 50); do grep -q '^watching' "$WORK/watch.log" && break; sleep 0.1; done
say "edit thesis/ch1.md";               printf 'More words.\n' >> "$CACHE/thesis/ch1.md"
say "edit it again (writes coalesce)";  printf 'Even more.\n' >> "$CACHE/thesis/ch1.md"
say "rename ch2.md -> draft.md -> chapter2.md (a rename chain collapses)"
mv "$CACHE/thesis/ch2.md" "$CACHE/thesis/draft.md"; mv "$CACHE/thesis/draft.md" "$CACHE/thesis/chapter2.md"
say "an editor's swap file appears and vanishes (create + delete cancel)"
echo swap > "$CACHE/thesis/.ch1.md.swp"; rm "$CACHE/thesis/.ch1.md.swp"
say "a new folder with a file in it";    mkdir -p "$CACHE/notes/2026"; echo "call Bob" > "$CACHE/notes/2026/todo.txt"
say "make results.csv private";          chmod 600 "$CACHE/data/results.csv"
wait_for_log "notes/2026/todo.txt"
kill -TERM "$WATCH"; wait "$WATCH" || true
sed 's/^/   tracker: /' "$WORK/watch.log"
hl log docs

step "Changes made while hoard was not running"
say "delete data/figure.png, add a file with a non-UTF-8 name and a newline in it"
rm "$CACHE/data/figure.png"
printf 'x' > "$CACHE/$(printf 'caf\xe9\nmenu.txt')"
say "start hoard again: the start-up scan finds exactly what the log is missing"
hl watch docs --seconds 0.5 | sed 's/^/   /'
hl log docs

step "kill -9 in the middle of a burst of 2,000 new files"
"$H" --journal "$WORK/state/journal.db" --store "$WORK/state/objects" watch docs > "$WORK/watch2.log" 2>&1 &
WATCH=$!
disown "$WATCH"   # no job-control chatter when it is killed
for _ in $(seq 1 50); do grep -q '^watching' "$WORK/watch2.log" && break; sleep 0.1; done
mkdir -p "$CACHE/burst"
for i in $(seq 1 2000); do
  echo "$i" > "$CACHE/burst/f$i.txt"
  if [ "$i" = 1000 ]; then kill -KILL "$WATCH"; fi   # hoard dies half-way; the user goes on
done
while kill -0 "$WATCH" 2>/dev/null; do sleep 0.05; done
say "killed at file 1000. The log holds $(hl log docs | grep -c 'create  burst/f' || true) of the 2000 creates; restarting..."
hl watch docs --seconds 0.5 | sed 's/^/   /'
logged=$(hl log docs | grep -c 'create  burst/f' || true)
say "now the log holds $logged of 2000 creates: nothing lost"
[ "$logged" = 2000 ] || { echo "demo: expected 2000 creates in the log, found $logged" >&2; exit 1; }

step "The snapshot still holds the state from before we went offline"
hl snapshots docs

step "Done"
say "Everything above is in the journal ($WORK/state/journal.db, SQLite, WAL)."
say "Next: reintegration against the network share, conflicts, hoardd and the hoard CLI."
