#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# lintian reports no errors for the Debian package built from this tree.
#   package_lintian.sh CPACK BUILD_DIR        (exit 77: lintian is missing)
set -euo pipefail
CPACK=$1 BUILD=$2
for tool in lintian dpkg-deb dpkg-shlibdeps file; do
  command -v "$tool" >/dev/null || { echo "SKIPPED: $tool is missing"; exit 77; }
done
tmp=$(mktemp -d /tmp/hoard-lintian-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
(cd "$BUILD" && "$CPACK" -G DEB -B "$tmp/pkg") >"$tmp/cpack.log" 2>&1 ||
  { cat "$tmp/cpack.log" >&2; exit 1; }
rc=0
out=$(lintian --fail-on error "$tmp"/pkg/hoard_*_amd64.deb 2>&1) || rc=$?
grep -v 'running with root privileges' <<<"$out" || true
exit "$rc"
