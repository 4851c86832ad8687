#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Fails when a verb or option of the CLI, an option of hoardd or a key of the
# config schema has no entry in the man page sources (doc/*.scd):
#   man_coverage.sh HOARD HOARDD CONFIG_SCHEMA DOC_DIR
# Every leaf verb path P ("share add", "sync") that `hoard --help` and its
# subcommands' help list must have a heading "## P ..." in hoard.1.scd, and
# every option `hoard P --help` prints must appear as *--option* in that
# verb's section.
set -uo pipefail
HOARD=$1 HOARDD=$2 SCHEMA=$3 DOC=$4
missing=0
miss() { echo "man pages: missing $*" >&2; missing=$((missing + 1)); }

subcommands() {
  "$HOARD" "$@" --help 2>/dev/null |
    awk '/^Subcommands:/ { s = 1; next } s && /^  [a-z]/ { print $1 } s && /^$/ { exit }'
}
options() {
  "$HOARD" "$@" --help 2>/dev/null | grep -oE '(^|[ ,])--[a-zA-Z][-a-zA-Z]*' | sed 's/^[ ,]//' |
    grep -vx -- '--help' | sort -u
}
# The lines of hoard.1.scd from the heading "## $*" to the next heading.
section() {
  awk -v h="## $*" 'index($0, h) == 1 && (length($0) == length(h) || substr($0, length(h) + 1, 1) == " ") { s = 1; next }
                   s && /^#/ { exit } s { print }' "$DOC/hoard.1.scd"
}
leaves() {
  local subs
  subs=$(subcommands "$@")
  if [ -z "$subs" ]; then
    echo "$*"
    return
  fi
  local s
  for s in $subs; do leaves "$@" "$s"; done
}

verbs=$(leaves)
[ -n "$verbs" ] || { echo "man pages: could not list the verbs of $HOARD" >&2; exit 1; }
while read -r verb; do
  # shellcheck disable=SC2086
  text=$(section $verb)
  if ! grep -q "^## $verb\( \|$\)" "$DOC/hoard.1.scd"; then
    miss "hoard.1: verb '$verb' (a heading '## $verb ...')"
    continue
  fi
  # shellcheck disable=SC2086
  for opt in $(options $verb); do
    grep -qF -- "*$opt*" <<<"$text" || miss "hoard.1: option $opt of 'hoard $verb'"
  done
done <<<"$verbs"
for opt in --version --help; do
  grep -qF -- "*$opt*" "$DOC/hoard.1.scd" || miss "hoard.1: global option $opt"
done
for s in 0 1 2 3; do
  awk '/^# EXIT STATUS/ { s = 1; next } s && /^# / { exit } s { print }' "$DOC/hoard.1.scd" |
    grep -qx "\*$s\*" || miss "hoard.1: exit status $s"
done
grep -q '^# EXAMPLES' "$DOC/hoard.1.scd" || miss "hoard.1: EXAMPLES"

for opt in $("$HOARDD" --help | grep -oE '(^|[ ,])--[a-zA-Z][-a-zA-Z]*' | sed 's/^[ ,]//' | sort -u); do
  grep -qF -- "*$opt*" "$DOC/hoardd.8.scd" || miss "hoardd.8: option $opt"
done
for key in $(python3 -c 'import json,sys; print("\n".join(json.load(open(sys.argv[1]))["properties"]))' "$SCHEMA"); do
  grep -qF -- "*$key*" "$DOC/hoard-config.5.scd" || miss "hoard-config.5: key $key"
done
if [ "$missing" != 0 ]; then
  echo "man pages: $missing entr(y/ies) missing; document them in $DOC" >&2
  exit 1
fi
echo "man pages: every verb, option and key has its entry ($(wc -l <<<"$verbs") verbs)"
