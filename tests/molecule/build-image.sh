#!/usr/bin/env bash
# Build the local systemd image the molecule scenarios boot, once per machine.
#
#   tests/molecule/build-image.sh [IMAGE]     (default: $MOLECULE_IMAGE or the name below)
#
# No image registry is reachable: the root file system comes from debootstrap,
# from the Debian mirror this host already uses (read from its apt sources,
# never hard-coded), and is imported with `podman import`. Skipped when the
# image exists. Needs root, podman and debootstrap (tests/molecule/run.sh
# installs them).
set -euo pipefail

IMAGE=${1:-${MOLECULE_IMAGE:-localhost/tlsops-molecule-debian:bookworm-1}}
SUITE=${MOLECULE_IMAGE_SUITE:-bookworm}
PACKAGES=python3,python3-apt,systemd,systemd-sysv,dbus,ca-certificates,iproute2,procps,curl,openssl
SOURCES=/etc/apt/sources.list.d/debian.sources

if podman image exists "$IMAGE"; then
  echo "== image $IMAGE exists"
  exit 0
fi

# The first URI of a deb822 stanza whose suites include $SUITE (not -security, not -updates).
mirror=""
if [ -r "$SOURCES" ]; then
  mirror=$(awk -v suite="$SUITE" '
    function flush() { if (uri != "" && found && mirror == "") mirror = uri; uri = ""; found = 0 }
    /^[[:space:]]*$/ { flush(); next }
    /^URIs:/ { uri = $2 }
    /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == suite) found = 1 }
    END { flush(); print mirror }' "$SOURCES")
fi
if [ -z "$mirror" ]; then
  echo "build-image: no '$SUITE' mirror in $SOURCES; set MOLECULE_IMAGE_MIRROR" >&2
  [ -n "${MOLECULE_IMAGE_MIRROR:-}" ] || exit 1
fi
mirror=${MOLECULE_IMAGE_MIRROR:-$mirror}

work=$(mktemp -d "${TMPDIR:-/var/tmp}/tlsops-rootfs.XXXXXX")
trap 'rm -rf --one-file-system "$work"' EXIT
rootfs=$work/rootfs

echo "== debootstrap $SUITE from $mirror into $rootfs"
start=$SECONDS
debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 || {
  tail -n 30 "$work/debootstrap.log" >&2
  exit 1
}

# apt inside the containers uses the same sources as this host.
rm -f "$rootfs/etc/apt/sources.list"
if [ -r "$SOURCES" ]; then
  install -m 0644 "$SOURCES" "$rootfs/etc/apt/sources.list.d/debian.sources"
else
  echo "deb $mirror $SUITE main" >"$rootfs/etc/apt/sources.list"
fi
# Every container gets its own machine id at boot.
: >"$rootfs/etc/machine-id"
rm -f "$rootfs/var/lib/dbus/machine-id"
# No package lists in the image, and an old mtime on the lists directory so that
# the apt module's cache_valid_time does not skip the update.
apt_lists=$rootfs/var/lib/apt/lists
find "$apt_lists" -mindepth 1 -maxdepth 1 ! -name partial ! -name lock -exec rm -rf {} +
rm -rf "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb
touch -d @0 "$apt_lists"

echo "== podman import $IMAGE"
tar -C "$rootfs" -c . | podman import --quiet \
  --change 'CMD ["/sbin/init"]' \
  --change 'STOPSIGNAL SIGRTMIN+3' \
  --change 'ENV container=podman' \
  - "$IMAGE" >/dev/null
echo "== image $IMAGE built in $((SECONDS - start)) s"
