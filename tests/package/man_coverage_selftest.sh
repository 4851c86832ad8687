#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The coverage check can fail: with one verb's section, one option and one
# config key removed from copies of the man sources, it must report each.
#   man_coverage_selftest.sh HOARD HOARDD CONFIG_SCHEMA DOC_DIR
set -euo pipefail
here=$(dirname "$0")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp "$4"/*.scd "$tmp"/
# Drop the evict section, the --priority entry and the poll_interval_s key.
awk '/^## evict/ { skip = 1; next } skip && /^#/ { skip = 0 } !skip { print }' "$4/hoard.1.scd" |
  sed 's/^\*--priority\* _N_$/(gone)/' >"$tmp/hoard.1.scd"
sed -i 's/^\*poll_interval_s\*/(gone)/' "$tmp/hoard-config.5.scd"
if out=$(bash "$here/man_coverage.sh" "$1" "$2" "$3" "$tmp" 2>&1); then
  echo "the coverage check passed on incomplete man pages:" >&2
  echo "$out" >&2
  exit 1
fi
for want in "verb 'evict'" "option --priority of 'hoard pin'" "key poll_interval_s"; do
  grep -qF -- "$want" <<<"$out" || { echo "not reported: $want" >&2; echo "$out" >&2; exit 1; }
done
echo "the coverage check reports a missing verb, option and key"
