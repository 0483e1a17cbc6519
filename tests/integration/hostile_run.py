# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Probe one hostile peer in a fresh process: ``python -m tests.integration.hostile_run JSON``.

JSON: {"port", "server_name", "ca_file", "timeout"}.  Runs tls_probe's engine with diagnose
on and off, then cert_chain_info's host mode (fetch_served_chain), and prints one JSON line:
per mode the cause (or the error), the elapsed seconds, and the growth of the process's peak
RSS over the whole run.  A fresh process, so that the peak RSS belongs to these probes only
and a hang can be killed from outside (the test's hard timeout).
"""

from __future__ import annotations

import json
import resource
import sys
import time

from tests.collection_path import ensure_importable


def _peak_kb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def main(argv):
    ensure_importable()
    from ansible_collections.tlsops.handshake.plugins.module_utils._chain.source import ChainInputError, fetch_served_chain
    from ansible_collections.tlsops.handshake.plugins.module_utils._probe.run import probe_targets

    args = json.loads(argv[0])
    target = {"host": "127.0.0.1", "port": args["port"], "server_name": args["server_name"],
              "ca_file": args["ca_file"], "timeout": args["timeout"]}
    # warm up: imports, ssl contexts, the watchdog thread - everything but the peer
    probe_targets([dict(target, port=1)])
    base = _peak_kb()
    report = {}
    for mode, diagnose in (("probe_diagnose", True), ("probe_no_diagnose", False)):
        started = time.monotonic()
        result = probe_targets([dict(target, diagnose=diagnose)])[0][0]
        report[mode] = {"elapsed": time.monotonic() - started, "cause": result["cause"],
                        "detail": result["detail"], "raw_error": result["raw_error"],
                        "evidence": result["evidence"], "http_status": result["http_status"]}
    started = time.monotonic()
    try:
        ders, details = fetch_served_chain("127.0.0.1", args["port"], args["server_name"], args["timeout"])
        outcome = {"chain_length": len(ders), "chain_read": details["chain_read"]}
    except ChainInputError as exc:
        outcome = {"error": str(exc)}
    outcome["elapsed"] = time.monotonic() - started
    report["chain_host_mode"] = outcome
    report["peak_rss_growth_kb"] = _peak_kb() - base
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
