#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The hoard demo. Installs missing Debian packages, builds, starts a private
# session bus and hoardd, and tells the main story with the hoard CLI on an
# embedded default, a local folder standing in for the network share: pin and
# preload, go offline, edit, rename and delete while a colleague edits the
# server (one overlap), come back online, see the reintegration and the
# conflict, resolve it, both sides equal. Then the safety nets: kill -9 of
# hoardd mid-burst loses nothing, an absent share is not an empty one. Last,
# an on-demand share: the whole share visible, only pins kept, misses listed,
# a file evicted back to a placeholder, a read offline that asks whether to
# wait (offline_reads "ask") answered over the bus, the change log as the
# view reported it, and the share switched back to keeping its files.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${HOARD_DEMO_ON_BUS:-}" ]; then
  bash scripts/deps.sh
  echo "== building hoard =="
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build build --target hoardd hoard -j "$(nproc)" >/dev/null
  # A private session bus of our own for the story.
  exec env HOARD_DEMO_ON_BUS=1 dbus-run-session -- bash "$0" "$@" 2> >(grep -v 'fd limit' >&2)
fi

export PATH="$PWD/build/agent/daemon:$PWD/build/cli:$PATH"
WORK=$(mktemp -d /tmp/hoard-demo-XXXXXX)
export XDG_STATE_HOME="$WORK/state"
export XDG_CONFIG_HOME="$WORK/config"   # hoardd's config.json (the rules) lives here
SERVER="$WORK/server"      # stands in for the network share (NFS, SMB, sshfs...)
CACHE="$WORK/Documents"    # where the user works
HOARDD=
cleanup() {
  if [ -n "$HOARDD" ]; then kill "$HOARDD" 2>/dev/null; while kill -0 "$HOARDD" 2>/dev/null; do sleep 0.05; done; fi
  [ -n "${HOARD_DEMO_KEEP:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT
step() { printf '\n\033[1m== %s ==\033[0m\n' "$*"; }
say() { printf '   %s\n' "$*"; }
run() { printf '\033[2m$ %s\033[0m\n' "$*"; "$@"; }
start_hoardd() {
  hoardd 2>>"$WORK/hoardd.log" &
  HOARDD=$!
  disown "$HOARDD"
  for _ in $(seq 1 100); do hoard share list >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "demo: hoardd did not start" >&2; cat "$WORK/hoardd.log" >&2; return 1
}
until_true() {  # until_true DESCRIPTION COMMAND...: wait (at most 2 minutes) for a condition
  local what=$1; shift
  for _ in $(seq 1 1200); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "demo: gave up waiting for $what" >&2; return 1
}

step "The network share: $SERVER"
mkdir -p "$SERVER/thesis" "$SERVER/data" "$SERVER/archive"
printf 'Chapter 1\nIt was a dark and stormy night.\n' > "$SERVER/thesis/ch1.md"
printf 'Chapter 2\n' > "$SERVER/thesis/ch2.md"
printf 'id,value\n1,42\n' > "$SERVER/data/results.csv"
head -c 200000 /dev/urandom > "$SERVER/archive/old-scan.tiff"
find "$SERVER" -type f -printf '   %P (%s bytes)\n' | sort

step "hoardd starts on the session bus"
start_hoardd
say "hoardd is running (pid $HOARDD); its log: $WORK/hoardd.log"

step "Add the share, pin what you need offline, preload"
run hoard share add docs "$SERVER" "$CACHE" --pin thesis --pin data
run hoard pin "$CACHE/thesis" --priority 900
run hoard preload docs
say "(archive/ is not pinned: it stays on the server)"
find "$CACHE" -type f -printf '   cached: %P\n' | sort
run hoard status docs

step "Is my work offline-ready? (exit 0: everything pinned is here and every change is on the server)"
run hoard ready docs

step "The network goes away; you keep working"
run hoard offline docs
say "edit thesis/ch1.md";                          printf 'More words, written on the train.\n' >> "$CACHE/thesis/ch1.md"
say "rename thesis/ch2.md -> thesis/chapter2.md";  mv "$CACHE/thesis/ch2.md" "$CACHE/thesis/chapter2.md"
say "delete data/results.csv";                     rm "$CACHE/data/results.csv"
say "add thesis/ideas.txt";                        echo "call Bob about the proof" > "$CACHE/thesis/ideas.txt"
say "an editor's swap file comes and goes (it cancels out)"
echo swap > "$CACHE/thesis/.ch1.md.swp"; rm "$CACHE/thesis/.ch1.md.swp"
until_true "the change log to hold ideas.txt" bash -c "hoard changes docs | grep -q ideas.txt"
run hoard changes docs

step "Meanwhile a colleague edits the server"
say "appends to thesis/ch1.md too (the overlap)"; printf 'A colleague added this line.\n' >> "$SERVER/thesis/ch1.md"
say "revises thesis/ch2.md (which you renamed)";   printf 'Chapter 2, revised by a colleague\n' > "$SERVER/thesis/ch2.md"
say "adds data/new-results.csv";                   printf 'id,value\n2,43\n' > "$SERVER/data/new-results.csv"

step "The network is back: reintegration"
run hoard online docs
set +e; run hoard sync docs; rc=$?; set -e
say "(exit status $rc: 3 means a conflict waits for you; everything else went through)"
say "thesis/chapter2.md holds the colleague's revision under your new name:"
sed 's/^/      /' "$CACHE/thesis/chapter2.md"

step "The conflict"
set +e; run hoard conflicts docs; set -e
id=$( (hoard conflicts docs --json || true) | sed -n 's/.*"id": \([0-9]*\).*/\1/p' | head -n 1)
set +e; run hoard diff "$id"; set -e

step "The colleague saves again while you look: a decision on what you saw is refused"
say "appends another line to thesis/ch1.md on the server";  printf 'And one more, a minute later.\n' >> "$SERVER/thesis/ch1.md"
set +e; run hoard resolve "$id" --with keep-local; rc=$?; set -e
say "(exit status $rc: nothing was overwritten; the conflict now shows the colleague's newer version)"
grep -q 'a minute later' "$SERVER/thesis/ch1.md" && say "the server still has the colleague's second edit"

step "Resolve it: keep both (the colleague's version keeps the name, yours sits beside it)"
run hoard resolve "$id" --with stash
until_true "the share to be clean" bash -c "hoard status docs --json | grep -q '\"pending_changes\": 0'"
run hoard status docs

step "Both sides are equal"
(cd "$CACHE" && find thesis data -type f | sort | while read -r f; do
  if cmp -s "$CACHE/$f" "$SERVER/$f"; then echo "   same  $f"; else echo "   DIFFERENT  $f"; exit 1; fi
done)
[ ! -e "$SERVER/data/results.csv" ] && say "data/results.csv is gone from the server too (you deleted it)"

step "Rules decide for you: \"discard every local .o\" (keep the server's)"
mkdir -p "$XDG_CONFIG_HOME/hoard"
cat > "$XDG_CONFIG_HOME/hoard/config.json" <<'JSON'
{"rules": [{"name": "objects", "match": "**/*.o", "resolver": "keep-remote"}]}
JSON
run hoard rules check
run hoard rules reload
mkdir -p "$SERVER/thesis/build"; printf 'object v1\n' > "$SERVER/thesis/build/main.o"
until_true "main.o in the cache" test -f "$CACHE/thesis/build/main.o"
run hoard offline docs
say "you rebuild offline: thesis/build/main.o changes in the cache"; printf 'object built on the train\n' > "$CACHE/thesis/build/main.o"
until_true "the rebuild in the change log" bash -c "hoard changes docs | grep -q main.o"
say "the build server rebuilds it too";                         printf 'object built by the server\n' > "$SERVER/thesis/build/main.o"
run hoard online docs
until_true "the rule to decide" bash -c "grep -q 'built by the server' '$CACHE/thesis/build/main.o'"
say "the cache now holds the server's object, as the rule says: $(cat "$CACHE/thesis/build/main.o")"
run hoard conflicts --resolved
oid=$(hoard conflicts --resolved --json | /usr/bin/python3 -c 'import json,sys; print([r["conflict_id"] for r in json.load(sys.stdin) if r["path"].endswith("main.o")][0])')
step "Changed your mind? Undo puts both sides back and reopens the conflict"
run hoard undo "$oid"
say "cache: $(cat "$CACHE/thesis/build/main.o")   server: $(cat "$SERVER/thesis/build/main.o")"
run hoard resolve --dry-run "$oid" || true
run hoard resolve "$oid" --with keep-local
until_true "the share to be clean" bash -c "hoard status docs --json | grep -q '\"pending_changes\": 0'"

step "Safety net: kill -9 of hoardd in the middle of a burst of 500 new files"
mkdir -p "$CACHE/thesis/figures"
for i in $(seq 1 500); do
  echo "$i" > "$CACHE/thesis/figures/f$i.txt"
  if [ "$i" = 250 ]; then kill -KILL "$HOARDD"; HOARDD=; fi   # hoardd dies half-way; you go on
done
say "hoardd was killed at file 250; $(find "$SERVER/thesis/figures" -type f 2>/dev/null | wc -l) figures had reached the server"
say "starting hoardd again: it scans for what happened while it was down, and syncs"
start_hoardd
until_true "all 500 figures on the server" bash -c "[ \$(find '$SERVER/thesis/figures' -type f | wc -l) = 500 ]"
say "on the server: $(find "$SERVER/thesis/figures" -type f | wc -l) of 500 figures, none lost"

step "Safety net: an absent share is not an empty share"
say "the server folder disappears (as an unmounted share looks: an empty mountpoint)"
mv "$SERVER" "$WORK/server-away"; mkdir "$SERVER"
until_true "hoard to notice" bash -c "hoard status docs --json | grep -q '\"state\": \"offline\"'"
run hoard status docs || true
say "your files are all still here: $(find "$CACHE" -type f | wc -l) files"
rmdir "$SERVER"; mv "$WORK/server-away" "$SERVER"
until_true "the share to come back" bash -c "hoard status docs --json | grep -q '\"state\": \"online\"'"
run hoard status docs

step "Files on demand: the whole share visible, only what you pin kept on the laptop"
if ! { : <>/dev/fuse; } 2>/dev/null; then
  say "(skipped: /dev/fuse cannot be opened here, so no FUSE view can be mounted; as root it can)"
else
  LIBRARY="$WORK/library-server"; VIEW="$WORK/Library"
  mkdir -p "$LIBRARY/papers" "$LIBRARY/books" "$LIBRARY/books.old"
  printf 'A draft you need on the train.\n' > "$LIBRARY/papers/draft.txt"
  printf 'Call me Ishmael. Some years ago, never mind how long precisely...\n' > "$LIBRARY/books/novel.txt"
  head -c 3000000 /dev/urandom > "$LIBRARY/books/atlas.pdf"
  printf 'an old edition\n' > "$LIBRARY/books.old/novel.txt"
  run hoard share add library "$LIBRARY" "$VIEW" --on-demand --pin papers
  until_true "the view to show the share" test -e "$VIEW/books.old/novel.txt"
  run ls -l "$VIEW" "$VIEW/books"
  until_true "the pin to be kept" test -e "$XDG_STATE_HOME/hoard/backing/library/papers/draft.txt"
  say "kept on this laptop: $(cd "$XDG_STATE_HOME/hoard/backing/library" && find . -type f -printf '%P ')(papers/ is pinned); the rest is fetched when read:"
  run head -c 40 "$VIEW/books/novel.txt"; echo
  run hoard offline library
  say "offline, every name and size is still there:"
  run stat -c '%n: %s bytes' "$VIEW/books/atlas.pdf"
  say "the pinned draft reads as ever; a file never fetched fails at once, saying why:"
  run cat "$VIEW/papers/draft.txt"
  set +e; run cat "$VIEW/books/atlas.pdf" >/dev/null; set -e
  say "you work on what is kept; the change waits for the network:"
  run sh -c "printf 'Notes from the train.\n' >> '$VIEW/papers/draft.txt'"
  say "hoard remembers what you missed:"
  run hoard misses library
  run hoard online library
  until_true "the share to be online" bash -c "hoard status library --json | grep -q '\"state\": \"online\"'"
  run cmp "$VIEW/books/atlas.pdf" "$LIBRARY/books/atlas.pdf" && say "online again, atlas.pdf reads whole and equal to the server's"
  run hoard sync library
  say "the server has the draft written on the train:"
  run cat "$LIBRARY/papers/draft.txt"
  say "online, a file that is only a placeholder can be edited too (fetched first, then changed):"
  run sed -i 's/Ishmael/ISHMAEL/' "$VIEW/books/novel.txt"
  run hoard sync library
  run head -c 40 "$LIBRARY/books/novel.txt"; echo
  say "done with the atlas: evicting makes it a placeholder again, freeing the space; the name stays:"
  run hoard evict "$VIEW/books/atlas.pdf"
  run stat -c '%n: %s bytes' "$VIEW/books/atlas.pdf"
  run hoard share remove library
  say "the view is gone; what was kept is back in $VIEW: $(cd "$VIEW" && find . -type f -printf '%P ')"
  say "a share that keeps everything in your folder can switch to on demand later:"
  SHELF="$WORK/Shelf"
  run hoard share add shelf "$LIBRARY" "$SHELF"
  until_true "the share to be kept" test -e "$SHELF/books/atlas.pdf"
  run hoard share on-demand shelf
  run hoard evict "$SHELF/books/atlas.pdf"
  say "atlas.pdf is a placeholder now; kept on this laptop: $(cd "$XDG_STATE_HOME/hoard/backing/shelf" && find . -type f -printf '%P ')"
  run test -e "$LIBRARY/books/atlas.pdf" && say "(the server keeps atlas.pdf: evicting only frees the laptop's copy)"

  step "Files on demand: \"ask\" (the desktop prompt asks whether a read should wait for the network)"
  cat > "$XDG_CONFIG_HOME/hoard/config.json" <<'JSON'
{"rules": [{"name": "objects", "match": "**/*.o", "resolver": "keep-remote"}],
 "shares": {"shelf": {"offline_reads": "ask", "offline_wait_s": 60}}}
JSON
  say "shares.shelf.offline_reads is \"ask\" now; hoardd restarts to read it"
  kill "$HOARDD"; while kill -0 "$HOARDD" 2>/dev/null; do sleep 0.05; done
  start_hoardd
  until_true "the shelf's view" test -e "$SHELF/books/atlas.pdf"
  run hoard offline shelf
  dbus-monitor --session "type='signal',interface='org.hoard.Agent1',member='ReadWanted'" >"$WORK/questions.txt" 2>&1 &
  MONITOR=$!
  until_true "dbus-monitor" grep -q member=NameLost "$WORK/questions.txt"
  say "cat reads atlas.pdf (a placeholder) offline: it waits, and hoardd asks on the bus:"
  cat "$SHELF/books/atlas.pdf" >/dev/null 2>"$WORK/cat.err" &
  READER=$!
  until_true "the question" grep -q "member=ReadWanted" "$WORK/questions.txt"
  kill "$MONITOR"
  grep -A5 "member=ReadWanted" "$WORK/questions.txt" | tail -5
  question=$(grep -A1 "member=ReadWanted" "$WORK/questions.txt" | awk '/uint64/ {print $2; exit}')
  say "hoard-prompt would show \"cat wants atlas.pdf, which is not available offline\" with Wait for the network / Fail / Always fail for cat; a script answers here, as the prompt does:"
  run dbus-send --session --print-reply --dest=org.hoard.Agent1 /org/hoard/Agent1 org.hoard.Agent1.AnswerRead "uint64:$question" string:always-fail >/dev/null
  set +e; wait "$READER"; rc=$?; set -e
  say "cat ended at once (exit $rc): $(cat "$WORK/cat.err")"
  say "the answer is kept, for every on-demand share, until forgotten:"
  run hoard answers
  run hoard answers forget cat
  run hoard misses shelf
  say "still offline: what you change in the view is logged by the view itself, call by call (no inotify on the backing directory):"
  run sh -c "mkdir '$SHELF/notes' && printf 'an idea\n' > '$SHELF/notes/idea.txt' && mv '$SHELF/notes/idea.txt' '$SHELF/notes/plan.txt'"
  until_true "the change log" bash -c "sqlite3 -readonly '$XDG_STATE_HOME/hoard/journal.db' \"SELECT count(*) FROM change_log WHERE CAST(path AS TEXT) LIKE 'notes/%'\" | grep -qv '^0$'"
  run sqlite3 -readonly "$XDG_STATE_HOME/hoard/journal.db" "SELECT CASE op WHEN 1 THEN 'create' WHEN 2 THEN 'write' WHEN 3 THEN 'mkdir' WHEN 4 THEN 'rename' ELSE op END, CAST(path AS TEXT), ifnull(CAST(to_path AS TEXT), '') FROM change_log WHERE share_id = (SELECT id FROM shares WHERE name = 'shelf') ORDER BY seq"
  run hoard online shelf
  run hoard sync shelf
  run cat "$LIBRARY/notes/plan.txt"
  say "and back: the folder keeps what is kept again, without placeholders (the server keeps the rest):"
  run hoard share on-demand shelf --off
  say "in $SHELF now: $(cd "$SHELF" && find . -type f -printf '%P ')"
  run test ! -e "$SHELF/books/atlas.pdf" && say "(atlas.pdf was only a placeholder: it is on the server alone)"
  run hoard share remove shelf
fi

step "Done"
say "hoardd stops cleanly on SIGTERM; its journal is SQLite in WAL mode ($XDG_STATE_HOME/hoard/journal.db)."
