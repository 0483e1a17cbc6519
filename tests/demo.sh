#!/usr/bin/env bash
# make demo: start the lab of broken upstreams on loopback, diagnose every one with the collection's
# own playbook (one line per upstream: its cause and its fix), write the report, stop the lab.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
demo=$repo/build/demo
py=$repo/.venv/bin/python
export ANSIBLE_COLLECTIONS_PATH=$repo/build/collections
export ANSIBLE_LOCALHOST_WARNING=0 ANSIBLE_INVENTORY_UNPARSED_WARNING=0
export ANSIBLE_PYTHON_INTERPRETER=$py

rm -rf "$demo"
mkdir -p "$demo"
stop_lab() { "$py" -m tests.lab stop --dir "$demo/lab" >/dev/null 2>&1 || true; }
trap stop_lab EXIT
"$py" -m tests.lab start --dir "$demo/lab"
"$py" -m tests.demo_targets "$demo/lab" > "$demo/vars.json"
"$repo/.venv/bin/ansible-playbook" -i localhost, -c local tlsops.handshake.probe \
  -e @"$demo/vars.json" -e probe_report="$demo/report.json"
echo
echo "Report written to $demo/report.json"
