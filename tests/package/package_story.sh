#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Run by package_test.sh inside dbus-run-session: the installed hoardd and
# hoard (from ROOT/usr/bin only), the installed example config, the
# installed bash completion.   package_story.sh ROOT TMP
set -euo pipefail
root=$1 tmp=$2
export PATH=$root/usr/bin:/usr/bin:/bin
export HOME=$tmp/home XDG_CONFIG_HOME=$tmp/config XDG_STATE_HOME=$tmp/state
mkdir -p "$HOME" "$XDG_CONFIG_HOME/hoard" "$tmp/server/docs"
cp "$root/usr/share/doc/hoard/examples/config.json" "$XDG_CONFIG_HOME/hoard/config.json"
fail() { echo "story: $*" >&2; [ -f "$tmp/hoardd.log" ] && tail -20 "$tmp/hoardd.log" >&2; exit 1; }
[ "$(command -v hoard)" = "$root/usr/bin/hoard" ] || fail "hoard is not the installed one"

hoardd >"$tmp/hoardd.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  hoard __complete shares >/dev/null 2>&1 && break
  kill -0 $pid 2>/dev/null || fail "hoardd exited"
  sleep 0.1
done
hoard __complete shares >/dev/null 2>&1 || fail "hoardd did not take its bus name"

printf 'hello from the server\n' >"$tmp/server/hello.txt"
printf 'a\n' >"$tmp/server/docs/a.txt"
hoard share add docs "$tmp/server" "$tmp/cache" >/dev/null || fail "share add"
hoard preload docs >/dev/null || fail "preload"
cmp -s "$tmp/server/hello.txt" "$tmp/cache/hello.txt" || fail "hello.txt not in the cache"
cmp -s "$tmp/server/docs/a.txt" "$tmp/cache/docs/a.txt" || fail "docs/a.txt not in the cache"
hoard status docs --json | python3 -c 'import json,sys; s=json.load(sys.stdin); assert s' ||
  fail "status --json"

# A conflict: both sides edit hello.txt while the share is offline.
hoard offline docs >/dev/null
printf 'mine\n' >"$tmp/cache/hello.txt"
printf 'theirs\n' >"$tmp/server/hello.txt"
hoard online docs >/dev/null
rc=0
hoard sync docs >/dev/null 2>&1 || rc=$?
[ "$rc" = 3 ] || fail "sync with a conflict exited $rc, not 3"
listing=$(hoard conflicts docs --json) && fail "conflicts exited 0 with a conflict open" || true
id=$(python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])' <<<"$listing")

# The installed completion, against the running daemon.
# shellcheck disable=SC1091
source "$root/usr/share/bash-completion/completions/hoard"
expect() {  # expect WORD COMP_WORDS...: WORD is among the completions
  local want=$1
  shift
  COMP_WORDS=("$@")
  COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
  COMPREPLY=()
  _hoard
  local w
  for w in "${COMPREPLY[@]}"; do [ "$w" = "$want" ] && return 0; done
  fail "completing '$*' gave '${COMPREPLY[*]}', not '$want'"
}
expect sync hoard sy
expect snapshot hoard snap
expect add hoard share ""
expect docs hoard sync ""
expect docs hoard status d
expect docs hoard pin --share ""
expect --priority hoard pin --pr
expect --json hoard conflicts --j
expect keep-remote hoard resolve 1 --with keep-r
expect "$id" hoard show ""
expect "$id" hoard resolve ""
expect "$tmp/cache/docs/" hoard pin "$tmp/cache/d"
expect "$tmp/cache/docs/a.txt" hoard evict "$tmp/cache/docs/"
hoard resolve "$id" --with stash >/dev/null || fail "resolve"
echo "story: share added, preloaded, a conflict found and resolved, completion works"
