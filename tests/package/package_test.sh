#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The Debian package, as a user gets it: built with CPack from this build
# tree, unpacked with `dpkg-deb -x` into a temporary root, every file in
# Debian's place, every runtime library resolved (ldd), `--version` of the
# programs, and a short story (share add, preload, a conflict, completion)
# run from the installed paths on a private session bus.
#   package_test.sh CPACK BUILD_DIR
# Exit 77 (ctest's skip) only when a tool it needs is missing.
set -euo pipefail
CPACK=$1 BUILD=$2
here=$(cd "$(dirname "$0")" && pwd)
for tool in dpkg-deb dpkg-shlibdeps ldd dbus-run-session dbus-daemon python3 file; do
  command -v "$tool" >/dev/null || { echo "SKIPPED: $tool is missing"; exit 77; }
done
tmp=$(mktemp -d /tmp/hoard-package-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "package: $*" >&2; exit 1; }

(cd "$BUILD" && "$CPACK" -G DEB -B "$tmp/pkg") >"$tmp/cpack.log" 2>&1 ||
  { cat "$tmp/cpack.log" >&2; fail "cpack failed"; }
debs=("$tmp"/pkg/hoard_*_amd64.deb)
[ -f "${debs[0]}" ] || fail "no hoard_VERSION_amd64.deb in $tmp/pkg"
deb=${debs[0]}
version=$(dpkg-deb -f "$deb" Version)
[ "$(basename "$deb")" = "hoard_${version}_amd64.deb" ] || fail "file name $(basename "$deb")"
depends=$(dpkg-deb -f "$deb" Depends)
for lib in libsdbus-c++1 libsqlite3-0 libsystemd0 libc6; do
  grep -q "$lib" <<<"$depends" || fail "Depends lacks $lib: $depends"
done

root=$tmp/root
dpkg-deb -x "$deb" "$root"
for f in usr/bin/hoard usr/bin/hoardd usr/bin/hoard-prompt \
  usr/lib/systemd/user/hoardd.service usr/lib/systemd/user/hoard-prompt.service \
  usr/share/dbus-1/services/org.hoard.Agent1.service usr/share/man/man1/hoard-prompt.1.gz \
  usr/share/applications/hoard-ready.desktop \
  usr/share/dbus-1/interfaces/org.hoard.Agent1.xml \
  usr/share/man/man1/hoard.1.gz usr/share/man/man8/hoardd.8.gz usr/share/man/man5/hoard-config.5.gz \
  usr/share/bash-completion/completions/hoard usr/share/hoard/schemas/config.schema.json \
  usr/share/hoard/schemas/cli/status.schema.json usr/share/doc/hoard/examples/config.json \
  usr/share/doc/hoard/copyright usr/share/doc/hoard/changelog.gz; do
  [ -e "$root/$f" ] || fail "missing /$f"
done
grep -qx 'ExecStart=/usr/bin/hoardd' "$root/usr/lib/systemd/user/hoardd.service" ||
  fail "the unit does not start /usr/bin/hoardd"
grep -qx 'ExecStart=/usr/bin/hoard-prompt' "$root/usr/lib/systemd/user/hoard-prompt.service" ||
  fail "the prompt's unit does not start /usr/bin/hoard-prompt"
grep -qx 'Exec=hoard-prompt --ready' "$root/usr/share/applications/hoard-ready.desktop" ||
  fail "the menu entry does not run hoard-prompt --ready"
grep -qx 'Exec=/usr/bin/hoardd' "$root/usr/share/dbus-1/services/org.hoard.Agent1.service" ||
  fail "the activation file does not start /usr/bin/hoardd"
zcat "$root/usr/share/man/man1/hoard.1.gz" | grep -q '^\.TH "hoard" "1"' || fail "hoard.1 is no man page"

for bin in "$root"/usr/bin/*; do
  ! ldd "$bin" | grep 'not found' || fail "$bin: a runtime library does not resolve"
  file "$bin" | grep -q 'stripped' || true
done

"$root/usr/bin/hoard" --version | grep -qE "^hoard $version \(git [0-9a-f]{7,}" ||
  fail "hoard --version: $("$root/usr/bin/hoard" --version)"
"$root/usr/bin/hoardd" --version | grep -qE "^hoardd $version \(git [0-9a-f]{7,}" ||
  fail "hoardd --version: $("$root/usr/bin/hoardd" --version)"

"$root/usr/bin/hoard-prompt" --version | grep -qE "^hoard-prompt $version \(git [0-9a-f]{7,}" ||
  fail "hoard-prompt --version: $("$root/usr/bin/hoard-prompt" --version)"

dbus-run-session -- bash "$here/package_story.sh" "$root" "$tmp" || fail "the story failed"
echo "package: $(basename "$deb") installs, resolves its libraries and runs"
