# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet report's data model (report.json, schema_version 1) from the per-host module results.

    report = build_report(hosts, {"group": "proxies", "since": "24h", "fail_on": "failure"})

Plain Python (no Ansible): the action plugin diagnose_report calls it, unit tests call it with data
they write.  The schema is report.schema.json next to this file (SCHEMA_PATH); rendering
is in _diagnose_render_md.py and _diagnose_render_html.py.  Cause codes, titles and fixes come
from module_utils/_causes.py; this adds only the correlation (see _diagnose_correlate.py).
"""

from __future__ import annotations

import datetime
import os

from ansible_collections.tlsops.handshake.plugins.plugin_utils._diagnose import rank as ranking, sections
from ansible_collections.tlsops.handshake.plugins.plugin_utils._diagnose.correlate import attach_logs, correlate
from ansible_collections.tlsops.handshake.plugins.plugin_utils._diagnose.inputs import InputError, normalise_hosts, text
from ansible_collections.tlsops.handshake.plugins.plugin_utils._diagnose.pairs import host_pairs

SCHEMA_VERSION = 1
SCHEMA_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "report.schema.json")
FAIL_ON = ("never", "failure", "warning")
STATUSES = ("ok", "warning", "failure")
MAX_LINES = 60

__all__ = ["InputError", "build_report", "check_options", "fails", "lines", "SCHEMA_PATH"]


def check_options(options):
    """``{group, since, fail_on}`` checked; raises InputError naming the option."""
    options = dict(options or {})
    fail_on = options.get("fail_on") or "failure"
    if fail_on not in FAIL_ON:
        raise InputError("fail_on: %r is not one of %s" % (fail_on, ", ".join(FAIL_ON)))
    out = {"group": options.get("group"), "since": options.get("since"), "fail_on": fail_on}
    for key in ("group", "since"):
        if out[key] is not None and not isinstance(out[key], str):
            raise InputError("%s: expected a string, got %s" % (key, type(out[key]).__name__))
    return out


def _status(findings, hosts):
    severities = set(f["severity"] for f in findings)
    if "error" in severities:
        return "failure"
    if "warning" in severities or any(not h["reachable"] or h["error"] for h in hosts):
        return "warning"
    return "ok"


def _public_pair(pair):
    return dict((k, v) for k, v in pair.items() if not k.startswith("_"))


def build_report(hosts, options=None, now=None):
    """report.json's content.  ``hosts``: inventory name -> Contract 2 data; ``now``: an aware datetime."""
    options = check_options(options)
    now = now or datetime.datetime.now(datetime.timezone.utc)
    normalised = normalise_hosts(hosts)
    pairs = [p for h in normalised if h["reachable"] for p in host_pairs(h)]
    clocks = correlate(normalised, pairs, now)
    upstream_logs, client_logs = sections.log_entries(normalised)
    attach_logs(pairs, upstream_logs)
    findings = ranking.pair_findings(pairs) + ranking.chain_findings(normalised)
    findings += ranking.clock_findings(normalised, clocks, findings)
    findings += ranking.intermittent_findings(upstream_logs) + ranking.client_findings(client_logs)
    findings = ranking.rank(findings)
    by_cause = {}
    for pair in pairs:
        if not pair["ok"]:
            by_cause[pair["cause"]] = by_cause.get(pair["cause"], 0) + 1
    certificates = [c for h in normalised for c in sections.served_certificates(h)] + sections.upstream_certificates(pairs)
    return {
        "schema_version": SCHEMA_VERSION,
        "generated_at": now.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "options": options,
        "summary": {
            "hosts": len(normalised),
            "hosts_unreachable": sum(1 for h in normalised if not h["reachable"]),
            "pairs": len(pairs),
            "pairs_failed": sum(1 for p in pairs if not p["ok"]),
            "findings": len(findings),
            "by_cause": dict(sorted(by_cause.items())),
            "status": _status(findings, normalised),
        },
        "hosts": sections.host_rows(normalised, clocks),
        "pairs": [_public_pair(p) for p in pairs],
        "findings": findings,
        "certificates": certificates,
        "clocks": sections.clock_rows(normalised, clocks),
        "logs": {"upstream": upstream_logs, "client": client_logs},
    }


def fails(report):
    """Whether the report's status reaches its fail_on option."""
    fail_on = report["options"]["fail_on"]
    status = report["summary"]["status"]
    return fail_on != "never" and STATUSES.index(status) >= STATUSES.index(fail_on)


def lines(report, limit=MAX_LINES):
    """The play's short table: host, upstream, cause, fix - one line per failing pair, then the other findings."""
    rows = [(p["proxy"], p["upstream"], p["cause"], p["fix"][0] if p["fix"] else "-")
            for p in report["pairs"] if not p["ok"]]
    rows += [(f["owner"], "(%s)" % f["side"], f["cause"], f["fix"][0] if f["fix"] else "-")
             for f in report["findings"] if not f["pair_ids"] and f["severity"] != "info"]
    rows += [(h["name"], "(unreachable)", "-", text(h["error"], 200) or "-")
             for h in report["hosts"] if not h["reachable"]]
    if not rows:
        return ["all %d pair(s) on %d host(s) are ok" % (report["summary"]["pairs"], report["summary"]["hosts"])]
    header = ("host", "upstream", "cause", "fix")
    shown = rows[:limit]
    widths = [min(40, max(len(str(r[i])) for r in [header] + shown)) for i in range(3)]
    out = ["  ".join(str(c).ljust(w) for c, w in zip(row[:3], widths)) + "  " + str(row[3]) for row in [header] + shown]
    if len(rows) > limit:
        out.append("... %d more in the report" % (len(rows) - limit))
    return out
