#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Builds the Debian package: dist/hoard_VERSION_amd64.deb (CPack's DEB
# generator, dependencies from dpkg-shlibdeps) holding hoardd, hoard, the
# systemd user unit, the D-Bus activation and interface files, the JSON
# Schemas, the man pages, the bash completion and an example config; then
# checks it with lintian (no errors allowed). Installs what it needs first.
#   HOARD_PACKAGE_BUILD_DIR  build folder (default build-package)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh

BUILD=${HOARD_PACKAGE_BUILD_DIR:-build-package}
launcher=()
if command -v ccache >/dev/null; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DHOARD_BUILD_TESTS=OFF -DHOARD_BUILD_BENCH=OFF "${launcher[@]}"
cmake --build "$BUILD"
rm -rf "$BUILD/package"
(cd "$BUILD" && cpack -G DEB -B "$PWD/package")
mkdir -p dist
deb=$(ls "$BUILD"/package/hoard_*_amd64.deb)
cp "$deb" dist/
deb=dist/$(basename "$deb")
rc=0
out=$(lintian --fail-on error "$deb" 2>&1) || rc=$?
grep -v 'running with root privileges' <<<"$out" || true
if [ "$rc" != 0 ]; then
  echo "hoard: lintian reports errors for $deb" >&2
  exit 1
fi
echo "hoard: built $deb"
