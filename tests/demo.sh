#!/usr/bin/env bash
# make demo: start the lab FLEET (three nginx proxies p1 p2 p3 on loopback in front of the lab's broken
# and healthy upstreams, with planted faults: see tests/lab/fleet.py), diagnose it with the collection's
# playbook tlsops.handshake.diagnose from the fleet's inventory file, print the summary and where the
# data and the report are, stop the fleet (also on failure).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
demo=$repo/build/demo
py=$repo/.venv/bin/python
export ANSIBLE_COLLECTIONS_PATH=$repo/build/collections
export ANSIBLE_LOCAL_TEMP=$repo/build/ansible-tmp
export ANSIBLE_LOCALHOST_WARNING=0 ANSIBLE_INVENTORY_UNPARSED_WARNING=0
export PYTHONWARNINGS=ignore::DeprecationWarning

# a fleet left running by an interrupted demo is stopped before its directory goes
[ -f "$demo/fleet/fleet.json" ] && "$py" -m tests.lab fleet stop --dir "$demo/fleet" >/dev/null
rm -rf "$demo"
mkdir -p "$demo"
stop_fleet() {
  "$py" -m tests.lab fleet stop --dir "$demo/fleet" >/dev/null || echo "demo: the fleet did not stop cleanly (see $demo/fleet/logs)" >&2
}
trap stop_fleet EXIT
"$py" -m tests.lab fleet start --dir "$demo/fleet"
echo
echo "== inventory: $demo/fleet/inventory.yml"
# the planted faults are expected: the demo never fails on them (diagnose_fail_on=never)
"$repo/.venv/bin/ansible-playbook" -i "$demo/fleet/inventory.yml" tlsops.handshake.diagnose \
  -e diagnose_output_dir="$demo/report" -e diagnose_fail_on=never
echo
echo "Report: $demo/report/report.html"
echo "        $demo/report/report.md"
echo "        $demo/report/report.json"
