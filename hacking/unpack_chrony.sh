#!/usr/bin/env bash
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# chrony for the time_sync tests (time_sync_info, the role's rendered config), called by `make chrony` (make deps, make unit):
#   bash hacking/unpack_chrony.sh BUILD_DIR
# Never installed into the system: the package would start chronyd with Debian's config, which talks
# to public pools. Downloaded and unpacked into BUILD_DIR/chrony/; the tests run that chronyd with a
# loopback-only config (tests/integration/ntp_lab.py). Libraries chronyd or chronyc lack are installed
# from chrony's Depends (needs root then).
set -euo pipefail

build=${1:?usage: $0 BUILD_DIR}
target="$build/chrony"
work="$build/chrony.tmp"

if [ -x "$target/usr/sbin/chronyd" ] && [ -x "$target/usr/bin/chronyc" ]; then
  echo "== deps: chrony already unpacked in build/chrony"
  exit 0
fi
echo "== deps: unpacking Debian's chrony into build/chrony (not installed, no service started)"
rm -rf "$work"
mkdir -p "$work"
if ! (cd "$work" && apt-get download chrony >/dev/null 2>&1); then
  DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null
  (cd "$work" && apt-get download chrony >/dev/null 2>&1)
fi
dpkg-deb -x "$work"/chrony_*.deb "$work/root"
libs=$(ldd "$work/root/usr/sbin/chronyd" "$work/root/usr/bin/chronyc" | awk '/not found/ {print $1}' | sort -u)
if [ -n "$libs" ]; then
  pkgs=$(apt-cache show chrony | awk -F': ' '/^Depends:/ {print $2; exit}' | tr ',' '\n' | sed 's/[ (|].*//;s/^ *//' | grep '^lib' | tr '\n' ' ')
  # shellcheck disable=SC2086 # one word per library
  echo "== deps: chrony needs$(printf ' %s' $libs): installing $pkgs"
  # shellcheck disable=SC2086 # one argument per package
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $pkgs
fi
rm -rf "$target"
mv "$work/root" "$target"
rm -rf "$work"
"$target/usr/bin/chronyc" -v
