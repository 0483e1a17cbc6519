# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Print a short summary of the per-host data diagnose.yml wrote (hosts.json), for `make demo`.

    python -m tests.demo_summary OUTPUT_DIR

Stands in for the report engine's table (tlsops.handshake.diagnose_report) while that is not
part of the collection; it only reads what the modules returned, it does not correlate.
"""

from __future__ import annotations

import json
import os
import sys


def lines(hosts):
    out = ["%-6s %-40s %s" % ("host", "upstream (as nginx_tls_info names it)", "cause")]
    for name, rec in sorted(hosts.items()):
        if not rec.get("reachable"):
            out.append("%-6s %-40s %s" % (name, "-", "UNREACHABLE: %s" % rec.get("unreachable_msg")))
            continue
        for result in (rec.get("probe") or {}).get("results") or []:
            out.append("%-6s %-40s %s" % (name, result.get("target"), result.get("cause")))
    out.append("")
    for name, rec in sorted(hosts.items()):
        clock = rec.get("clock") or {}
        if clock.get("offset_ms") is not None:
            out.append("clock  %-6s off by %+.0f ms%s" % (name, clock["offset_ms"], " (skewed)" if clock.get("skewed") else ""))
    for name, rec in sorted(hosts.items()):
        for chain in rec.get("chains") or []:
            if chain.get("complete") is False or chain.get("findings"):
                codes = ", ".join(f["code"] for f in chain.get("findings") or [])
                out.append("cert   %-6s %s: %s" % (name, chain.get("item"), codes or "incomplete chain"))
    for name, rec in sorted(hosts.items()):
        client = (((rec.get("logs") or {}).get("events") or {}).get("by_side") or {}).get("client")
        if client:
            top = ", ".join("%s x%d" % (c["address"], c["count"]) for c in (rec["logs"].get("clients") or [])[:3])
            out.append("logs   %-6s %d client-side handshake failures (top clients: %s)" % (name, client["count"], top))
    return out


def main(argv):
    outdir = argv[1]
    with open(os.path.join(outdir, "hosts.json")) as handle:
        hosts = json.load(handle)
    print("\n".join(lines(hosts)))
    print("")
    print("Per-host data: %s" % os.path.join(outdir, "hosts.json"))
    for name in ("report.html", "report.md", "report.json"):
        path = os.path.join(outdir, name)
        if os.path.exists(path):
            print("Report:        %s" % path)


if __name__ == "__main__":
    main(sys.argv)
