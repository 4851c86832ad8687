#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The hoard demo: installs missing Debian packages, builds, and tells the main
# story end to end on an embedded default, a local folder standing in for the
# network share: pin and preload, work offline (tracked live, durably), a
# colleague edits the server meanwhile, reconnect and reintegrate, one
# conflict, resolve it, both sides equal. Then the safety nets: a kill -9
# mid-burst loses nothing, and an emptied share is not taken for deletions.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/deps.sh
echo "== building hoard =="
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build --target hoard-local -j "$(nproc)" >/dev/null
H="$PWD/build/demo/hoard-local"

WORK=$(mktemp -d /tmp/hoard-demo-XXXXXX)
cleanup() { [ -n "${WATCH:-}" ] && kill "$WATCH" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
SERVER="$WORK/server"      # stands in for the network share (NFS, SMB, sshfs...)
CACHE="$WORK/Documents"    # where the user works
STATE=(--journal "$WORK/state/journal.db" --store "$WORK/state/objects")
hl() { "$H" "${STATE[@]}" "$@"; }
step() { printf '\n\033[1m== %s ==\033[0m\n' "$*"; }
say() { printf '   %s\n' "$*"; }
start_watch() {  # hoard-local watch in the background, as hoardd will run
  "$H" "${STATE[@]}" watch docs > "$WORK/watch.log" 2>&1 &
  WATCH=$!
  disown "$WATCH"
  for _ in $(seq 1 100); do grep -q '^watching' "$WORK/watch.log" && return 0; sleep 0.1; done
  echo "demo: the tracker did not start" >&2; cat "$WORK/watch.log" >&2; return 1
}
stop_watch() { kill -TERM "$WATCH"; while kill -0 "$WATCH" 2>/dev/null; do sleep 0.05; done; WATCH=; }
wait_for_log() {  # the tracker is asynchronous: wait until the change log mentions $1
  for _ in $(seq 1 100); do hl log docs | grep -qF -- "$1" && return 0; sleep 0.1; done
  echo "demo: the tracker never logged '$1'" >&2; return 1
}

step "The network share: $SERVER"
mkdir -p "$SERVER/thesis" "$SERVER/data" "$SERVER/archive" "$WORK/state"
printf 'Chapter 1\nIt was a dark and stormy night.\n' > "$SERVER/thesis/ch1.md"
printf 'Chapter 2\n' > "$SERVER/thesis/ch2.md"
printf 'id,value\n1,42\n' > "$SERVER/data/results.csv"
head -c 200000 /dev/urandom > "$SERVER/archive/old-scan.tiff"
find "$SERVER" -type f -printf '   %P (%s bytes)\n' | sort

step "Add it as share 'docs', pin what you need offline, preload"
hl share-add docs "$SERVER" "$CACHE"
hl pin docs thesis --priority 900
hl pin docs data --priority 500
hl sync docs
say "(archive/ is not pinned: it stays on the server)"
find "$CACHE" -type f -printf '   cached: %P\n' | sort

step "The network goes away. You keep working; hoard records every change"
start_watch
say "edit thesis/ch1.md";                 printf 'More words, written on the train.\n' >> "$CACHE/thesis/ch1.md"
say "rename thesis/ch2.md -> thesis/chapter2.md"; mv "$CACHE/thesis/ch2.md" "$CACHE/thesis/chapter2.md"
say "delete data/results.csv";            rm "$CACHE/data/results.csv"
say "add thesis/ideas.txt";               echo "call Bob about the proof" > "$CACHE/thesis/ideas.txt"
say "an editor's swap file comes and goes (it cancels out)"
echo swap > "$CACHE/thesis/.ch1.md.swp"; rm "$CACHE/thesis/.ch1.md.swp"
wait_for_log "thesis/ideas.txt"
hl log docs

step "Meanwhile a colleague edits the server"
say "appends to thesis/ch1.md too (the overlap)"; printf 'A colleague added this line.\n' >> "$SERVER/thesis/ch1.md"
say "edits thesis/ch2.md (which you renamed)";   printf 'Chapter 2, revised by a colleague\n' > "$SERVER/thesis/ch2.md"
say "adds data/new-results.csv";                 printf 'id,value\n2,43\n' > "$SERVER/data/new-results.csv"

step "The network is back: reintegrate"
stop_watch
set +e; hl sync docs; rc=$?; set -e
say "(exit status $rc: 3 means conflicts wait for you; everything else went through)"
say "thesis/chapter2.md now holds the colleague's revision under your new name:"
sed 's/^/      /' "$CACHE/thesis/chapter2.md"

step "The conflict"
set +e; hl conflicts docs; set -e
say "local thesis/ch1.md:";  sed 's/^/      /' "$CACHE/thesis/ch1.md"
say "server thesis/ch1.md:"; sed 's/^/      /' "$SERVER/thesis/ch1.md"

step "Resolve it: keep both (the colleague's version keeps the name, yours sits beside it)"
id=$( (hl conflicts docs || true) | awk '/#[0-9]+/ {sub("#", "", $1); print $1; exit}')
hl resolve docs "$id" --with stash
hl sync docs

step "Both sides are equal"
(cd "$CACHE" && find thesis data -type f | sort | while read -r f; do
  if cmp -s "$CACHE/$f" "$SERVER/$f"; then echo "   same  $f"; else echo "   DIFFERENT  $f"; exit 1; fi
done)
[ ! -e "$SERVER/data/results.csv" ] && say "data/results.csv is gone from the server too (you deleted it)"

step "Safety net: kill -9 in the middle of a burst of 2,000 new files"
start_watch
mkdir -p "$CACHE/thesis/figures"
for i in $(seq 1 2000); do
  echo "$i" > "$CACHE/thesis/figures/f$i.txt"
  if [ "$i" = 1000 ]; then kill -KILL "$WATCH"; fi   # hoard dies half-way; you go on
done
while kill -0 "$WATCH" 2>/dev/null; do sleep 0.05; done; WATCH=
say "killed at file 1000: the log holds $(hl log docs | grep -c 'create  thesis/figures/f' || true) creates; restarting..."
"$H" "${STATE[@]}" watch docs --seconds 0.5 | sed 's/^/   /'
logged=$(hl log docs | grep -c 'create  thesis/figures/f' || true)
say "the log now holds $logged of 2000 creates"
[ "$logged" = 2000 ] || { echo "demo: expected 2000 creates in the log, found $logged" >&2; exit 1; }
hl sync docs
say "on the server: $(find "$SERVER/thesis/figures" -type f | wc -l) files in thesis/figures"

step "Safety net: an absent share is not an empty share"
say "the server folder is emptied (as an unmounted share looks: an empty mountpoint)"
mv "$SERVER" "$WORK/server-away"; mkdir "$SERVER"
set +e; hl sync docs; set -e
say "your files are all still here: $(find "$CACHE" -type f | wc -l) files"
rmdir "$SERVER"; mv "$WORK/server-away" "$SERVER"
hl sync docs

step "Done"
say "Everything above is in the journal ($WORK/state/journal.db, SQLite, WAL) and the base store."
say "Next: hoardd on the session bus and the hoard CLI drive the same engine."
