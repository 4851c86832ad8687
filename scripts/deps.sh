#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs the Debian 12 packages hoard needs to build, test and run its demo,
# but only those missing (so a second run costs nothing). Needs root or sudo.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config
  libsqlite3-dev sqlite3 libb2-dev libexpected-dev
  libsdbus-c++-dev libsdbus-c++-bin libsystemd-dev
  libgit2-dev nlohmann-json3-dev libvalijson-dev libcli11-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  dbus-daemon dbus python3-dbusmock python3-dbus python3-gi libglib2.0-bin
  sshfs openssh-server openssh-client fuse3 libfuse3-dev iproute2
  rsync unison hyperfine systemd
  scdoc lintian dpkg-dev file gzip desktop-file-utils
  clang-16  # only for scripts/check-thread-safety.sh (the build uses gcc)
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if ((${#missing[@]})); then
  echo "hoard: installing missing Debian packages: ${missing[*]}"
  SUDO=""
  if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y --no-install-recommends "${missing[@]}"
fi
