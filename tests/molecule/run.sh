#!/usr/bin/env bash
# Run the molecule scenarios of the collection's roles in real podman containers.
#
#   tests/molecule/run.sh [ROLE...]     default: every roles/*/ that has a molecule/ directory
#                                       (`make molecule` runs this; ROLES="a b" there)
#   MOLECULE_SCENARIO=NAME              only the scenarios of that name
#   MOLECULE_JOBS=N                     scenarios run at once (default 3), each with its own log
#
# From a fresh clone, as root on Debian: installs podman, runc, debootstrap, netavark and
# aardvark-dns from apt when missing, builds the local systemd image once per machine
# (build-image.sh), extracts the containers.podman collection from the `ansible` wheel on
# PyPI into build/molecule/collections (Galaxy is not reachable), then runs
# `molecule test --all` in each role. molecule and molecule-plugins[podman] come from
# requirements/controller.txt (`make venv`).
#
# Containers and networks carry a run id in their names (MOLECULE_RUN_ID, set here); on
# exit, also after a failure or Ctrl-C, whatever still carries this run id is removed, by name.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$REPO/build
VBIN=${VBIN:-$REPO/.venv/bin}
MOLECULE_COLLECTIONS=$BUILD/molecule/collections
ANSIBLE_WHEEL_SPEC=${ANSIBLE_WHEEL_SPEC:-ansible>=12,<13}
HOST_PACKAGES=(podman runc conmon debootstrap netavark aardvark-dns iptables slirp4netns uidmap catatonit)

log() { printf '== molecule: %s\n' "$*"; }

# ---------------------------------------------------------------- host packages
missing=()
for pkg in "${HOST_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "molecule: need root to apt-get install ${missing[*]}" >&2
    exit 1
  fi
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# ---------------------------------------------------------------- podman settings and image
export CONTAINERS_CONF=$REPO/tests/molecule/containers.conf
export MOLECULE_IMAGE=${MOLECULE_IMAGE:-localhost/tlsops-molecule-debian:bookworm-1}
"$REPO/tests/molecule/build-image.sh" "$MOLECULE_IMAGE"

# ---------------------------------------------------------------- containers.podman
if [ ! -f "$MOLECULE_COLLECTIONS/ansible_collections/containers/podman/MANIFEST.json" ]; then
  log "extracting containers.podman from the $ANSIBLE_WHEEL_SPEC wheel"
  wheels=$BUILD/molecule/wheels
  mkdir -p "$wheels"
  "$VBIN/python" -m pip download --disable-pip-version-check -q --no-deps "$ANSIBLE_WHEEL_SPEC" -d "$wheels"
  wheel=$(find "$wheels" -maxdepth 1 -name 'ansible-*.whl' -printf '%T@ %p\n' | sort -rn | head -n 1 | cut -d' ' -f2-)
  rm -rf "$MOLECULE_COLLECTIONS.tmp"
  "$VBIN/python" - "$wheel" "$MOLECULE_COLLECTIONS.tmp" <<'PY'
import sys, zipfile
wheel, dest = sys.argv[1:]
prefix = "ansible_collections/containers/podman/"
with zipfile.ZipFile(wheel) as z:
    names = [n for n in z.namelist() if n.startswith(prefix)]
    if not names:
        sys.exit("no %s in %s" % (prefix, wheel))
    z.extractall(dest, names)
PY
  rm -rf "$MOLECULE_COLLECTIONS"
  mv "$MOLECULE_COLLECTIONS.tmp" "$MOLECULE_COLLECTIONS"
fi

# ---------------------------------------------------------------- environment
# build/collections holds tlsops.handshake (a symlink to the repo, `make collection`).
export ANSIBLE_COLLECTIONS_PATH=$BUILD/collections:$MOLECULE_COLLECTIONS
export HOME=${MOLECULE_HOME:-$BUILD/home}
export XDG_CACHE_HOME=$HOME/.cache XDG_CONFIG_HOME=$HOME/.config
export ANSIBLE_LOCAL_TEMP=$BUILD/ansible-tmp
export PATH=$VBIN:$PATH
export MOLECULE_RUN_ID=${MOLECULE_RUN_ID:-$(date +%s)$$}
mkdir -p "$HOME" "$ANSIBLE_LOCAL_TEMP"
if [ ! -e "$BUILD/collections/ansible_collections/tlsops/handshake" ]; then
  echo "molecule: $BUILD/collections/ansible_collections/tlsops/handshake is missing (make collection)" >&2
  exit 1
fi

cleanup() {
  local rc=$? name
  trap - EXIT INT TERM
  for name in $(podman ps -a --format '{{.Names}}' 2>/dev/null); do
    case $name in *-"$MOLECULE_RUN_ID") log "removing container $name"; podman rm -f -t 5 "$name" >/dev/null || true ;; esac
  done
  for name in $(podman network ls --format '{{.Name}}' 2>/dev/null); do
    case $name in *-"$MOLECULE_RUN_ID") log "removing network $name"; podman network rm -f "$name" >/dev/null || true ;; esac
  done
  exit "$rc"
}
# molecule runs in the background so that a signal reaches this script at once: stop
# every running scenario, then clean up.
on_signal() {
  local pid
  for pid in $(jobs -p); do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  exit "$1"
}
trap cleanup EXIT
trap 'on_signal 130' INT
trap 'on_signal 143' TERM

# ---------------------------------------------------------------- scenarios
if [ $# -gt 0 ]; then
  roles=("$@")
else
  roles=()
  for dir in "$REPO"/roles/*/molecule; do
    [ -d "$dir" ] && roles+=("$(basename "$(dirname "$dir")")")
  done
fi
if [ ${#roles[@]} -eq 0 ]; then
  log "no scenarios"
  exit 0
fi

# One unit of work is one scenario of one role; MOLECULE_JOBS of them run at once (default 3:
# a scenario mostly waits on systemd, apt and Ansible's round trips, so three share two cores
# well).  Each unit writes its own log, printed whole when it ends, so the output stays readable.
units=()
for role in "${roles[@]}"; do
  for scenario_dir in "$REPO/roles/$role"/molecule/*/; do
    scenario=$(basename "$scenario_dir")
    [ -f "$scenario_dir/molecule.yml" ] || continue
    [ -z "${MOLECULE_SCENARIO:-}" ] || [ "$scenario" = "$MOLECULE_SCENARIO" ] || continue
    units+=("$role/$scenario")
  done
done
# The longest scenarios start first, so the last slot does not begin a 15-minute scenario while the
# others sit idle (minutes on 2 cores: enforce ~15-20, cert_renewal/renew ~15-20, cert_renewal/default ~14).
slow_first=(tls_policy/enforce cert_renewal/renew cert_renewal/default)
ordered=()
for unit in "${slow_first[@]}"; do
  for u in "${units[@]}"; do [ "$u" = "$unit" ] && ordered+=("$u"); done
done
for u in "${units[@]}"; do
  [[ " ${slow_first[*]} " == *" $u "* ]] || ordered+=("$u")
done
units=("${ordered[@]}")
jobs_max=${MOLECULE_JOBS:-3}
# one directory per run: two runs at once (make molecule ROLES=a, ROLES=b) keep their own logs
logs=$BUILD/molecule/logs/$MOLECULE_RUN_ID
mkdir -p "$logs"
log "run id $MOLECULE_RUN_ID, image $MOLECULE_IMAGE, $jobs_max at once: ${units[*]}"
declare -A unit_of=() started_at=()
failed=()
finish_one() {
  local pid rc=0 unit
  wait -n -p pid "${!unit_of[@]}" || rc=$?
  unit=${unit_of[$pid]}
  unset "unit_of[$pid]"
  cat "$logs/${unit/\//-}.log"
  if [ "$rc" = 0 ]; then
    log "$unit: passed in $((SECONDS - started_at[$unit])) s"
  else
    log "$unit: FAILED after $((SECONDS - started_at[$unit])) s (log: $logs/${unit/\//-}.log)"
    failed+=("$unit")
  fi
}
for unit in "${units[@]}"; do
  while [ ${#unit_of[@]} -ge "$jobs_max" ]; do finish_one; done
  started_at[$unit]=$SECONDS
  log "$unit: molecule test -s ${unit#*/}"
  (cd "$REPO/roles/${unit%%/*}" && exec molecule test -s "${unit#*/}") >"$logs/${unit/\//-}.log" 2>&1 &
  unit_of[$!]=$unit
done
while [ ${#unit_of[@]} -gt 0 ]; do finish_one; done
if [ ${#failed[@]} -gt 0 ]; then
  log "failed: ${failed[*]}"
  exit 1
fi
log "all scenarios passed"
