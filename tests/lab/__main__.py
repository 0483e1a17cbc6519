# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""python -m tests.lab start|stop|status --dir D [--base-port N];  fleet start|stop|status --dir D;
serve-faults FAULTS.json (internal)."""

from __future__ import annotations

import argparse
import os
import sys


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tests.lab", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for name, text in (("start", "start the lab in the background, write D/lab.json"),
                       ("stop", "stop the lab of D (idempotent)"),
                       ("status", "show the lab of D; exit 1 if anything is down")):
        p = sub.add_parser(name, help=text)
        p.add_argument("--dir", required=True, help="lab work directory (kept after stop)")
        if name == "start":
            p.add_argument("--base-port", type=int, default=None,
                           help="use ports BASE, BASE+1, ... instead of free ports")
    fleet = sub.add_parser("fleet", help="the lab fleet: proxies p1 p2 p3 in front of the lab (D/inventory.yml)")
    fleet.add_argument("action", choices=("start", "stop", "status"))
    fleet.add_argument("--dir", required=True, help="fleet work directory (kept after stop)")
    p = sub.add_parser("serve-faults", help="internal: run the Python fault peers")
    p.add_argument("config")
    args = parser.parse_args(argv)

    if args.command == "serve-faults":
        from ..collection_path import ensure_importable
        ensure_importable()   # the fault peers run the collection's TLS codec
        from .faults import serve
        serve(args.config)
        return 0

    if args.command == "fleet":
        return _fleet(args.action, args.dir)
    from .lab import Lab, LabError
    if args.command == "start":
        try:
            lab = Lab(args.dir, base_port=args.base_port).start()
        except LabError as exc:
            print(exc, file=sys.stderr)
            return 1
        print(lab.table())
        print("lab running: %s (started in %.1f s)" % (lab.info_file, lab.info["start_seconds"]))
        return 0
    if not os.path.exists(os.path.join(args.dir, "lab.json")):
        print("no lab in %s" % args.dir, file=sys.stderr)
        return 0 if args.command == "stop" else 1
    lab = Lab.load(args.dir)
    if args.command == "stop":
        lab.stop()
        print("lab stopped: %s" % args.dir)
        return 0
    components, ports = lab.status()
    print(lab.table())
    for c, alive in sorted(components.items()):
        print("%-24s %s" % (c, "running" if alive else "DOWN"))
    down = [n for n, ok in ports.items() if not ok]
    if down:
        print("not listening: %s" % " ".join(down))
    return 0 if components and all(components.values()) and not down else 1


def _fleet(action, workdir):
    from .fleet import Fleet
    from .lab import LabError
    if action == "start":
        try:
            fleet = Fleet(workdir).start()
        except LabError as exc:
            print(exc, file=sys.stderr)
            return 1
        print(fleet.table())
        print("fleet running: inventory %s (started in %.1f s)" % (fleet.inventory, fleet.info["start_seconds"]))
        return 0
    if not os.path.exists(os.path.join(workdir, "fleet.json")):
        print("no fleet in %s" % workdir, file=sys.stderr)
        return 0 if action == "stop" else 1
    fleet = Fleet.load(workdir)
    if action == "stop":
        fleet.stop()
        print("fleet stopped: %s" % workdir)
        return 0
    own, (lab_components, lab_ports) = fleet.status()
    print(fleet.table())
    for component, alive in sorted(list(own.items()) + list(lab_components.items())):
        print("%-24s %s" % (component, "running" if alive else "DOWN"))
    down = [n for n, ok in lab_ports.items() if not ok]
    if down:
        print("lab scenarios not listening: %s" % " ".join(down))
    return 0 if own and all(own.values()) and lab_components and all(lab_components.values()) and not down else 1


if __name__ == "__main__":
    sys.exit(main())
