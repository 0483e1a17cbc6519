# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The report's sections beside the pairs: certificates, clocks and the error logs' events."""

from __future__ import annotations

from ansible_collections.tlsops.handshake.plugins.module_utils._common import causes as _causes
from ansible_collections.tlsops.handshake.plugins.plugin_utils._diagnose.inputs import as_dict, as_list, number, text

TOP_CLIENTS = 5
MAX_SAMPLES = 3


def _status(leaf, result):
    if leaf.get("expired"):
        return "expired"
    if leaf.get("not_yet_valid"):
        return "not_yet_valid"
    if result.get("complete") is False:
        return "incomplete"
    if any(as_dict(f).get("severity") == "error" for f in as_list(result.get("findings"))):
        return "error"
    if result.get("expiring"):
        return "expiring"
    return "ok"


def served_certificates(host):
    out = []
    for result in host["chains"]:
        chain = [as_dict(c) for c in as_list(result.get("chain"))]
        position = result.get("leaf_position") if isinstance(result.get("leaf_position"), int) else 0
        leaf = chain[position] if 0 <= position < len(chain) else (chain[0] if chain else {})
        source = as_dict(result.get("source"))
        out.append({
            "host": host["name"], "source": "served",
            "path": text(source.get("path") or (as_dict(result.get("invocation")).get("module_args") or {}).get("path"), 500),
            "upstream": None,
            "subject": text(leaf.get("subject"), 300), "not_before": leaf.get("not_before"), "not_after": leaf.get("not_after"),
            "days_left": number(result.get("expires_in_days")) if number(result.get("expires_in_days")) is not None
            else number(leaf.get("days_left")),
            "status": _status(leaf, result),
            "findings": [text(as_dict(f).get("code"), 80) for f in as_list(result.get("findings"))],
        })
    return out


_UPSTREAM_STATUS = {"cert_expired": "expired", "cert_not_yet_valid": "not_yet_valid", "cert_chain_incomplete": "incomplete",
                    "clock_skew": "ok"}


def upstream_certificates(pairs):
    """The leaf each upstream served, once per upstream and fingerprint."""
    out, seen = [], set()
    for pair in pairs:
        cert = pair["certificate"]
        if not cert or not cert.get("not_after"):
            continue
        key = (pair["upstream"], cert.get("sha256") or cert.get("subject"))
        if key in seen:
            continue
        seen.add(key)
        days = number(cert.get("days_left"))
        status = _UPSTREAM_STATUS.get(pair["cause"], "error" if pair["layer"] == "certificate" else "ok")
        if status == "ok" and days is not None and days < 30:
            status = "expiring"
        out.append({"host": pair["upstream"], "source": "upstream", "path": None, "upstream": pair["upstream"],
                    "subject": text(cert.get("subject"), 300), "not_before": cert.get("not_before"),
                    "not_after": cert.get("not_after"), "days_left": days, "status": status, "findings": []})
    return out


def log_entries(hosts):
    """``(upstream_entries, client_entries)`` over every host's handshake_log_info result."""
    upstream, client = [], []
    for host in hosts:
        logs = host.get("logs")
        if not logs:
            continue
        events = as_dict(logs.get("events"))
        for name, entry in sorted(as_dict(events.get("by_upstream")).items()):
            entry = as_dict(entry)
            causes = dict((c, n) for c, n in as_dict(entry.get("causes")).items() if c in _causes.CAUSES and number(n))
            upstream.append({
                "host": host["name"], "upstream": text(name, 300), "count": number(entry.get("count")) or 0,
                "causes": causes, "first_seen": text(entry.get("first_seen"), 40), "last_seen": text(entry.get("last_seen"), 40),
                "samples": [text(s, 1000) for s in as_list(entry.get("samples"))[:MAX_SAMPLES]],
                "probe_ok": None, "intermittent": False,
            })
        clients = [as_dict(c) for c in as_list(logs.get("clients"))]
        for cause, group in sorted(as_dict(events.get("by_cause")).items()):
            group = as_dict(group)
            count = number(as_dict(group.get("sides")).get("client")) or 0
            if cause not in _causes.CAUSES or not count:
                continue
            top = sorted(((text(c.get("address"), 100), number(as_dict(c.get("causes")).get(cause)) or 0) for c in clients),
                         key=lambda item: (-item[1], item[0] or ""))
            client.append({
                "host": host["name"], "cause": cause, "title": _causes.title(cause), "count": count,
                "first_seen": text(group.get("first_seen"), 40), "last_seen": text(group.get("last_seen"), 40),
                "top_clients": [{"address": a, "count": n} for a, n in top if n][:TOP_CLIENTS],
            })
    return upstream, client


def host_rows(hosts, clocks):
    rows = []
    for host in hosts:
        first = host["nginx"][0] if host["nginx"] else {}
        clock = clocks[host["name"]]
        rows.append({
            "name": host["name"], "reachable": host["reachable"], "error": host["error"],
            "nginx": {"version": text(as_dict(first.get("nginx")).get("version"), 50) if first else None,
                      "config_file": text(first.get("config_file"), 500) if first else None,
                      "instances": len(host["nginx"])},
            "clock": {"offset_ms": clock["offset_ms"], "synchronized": clock["synchronized"], "skewed": clock["skewed"]},
        })
    return rows


def clock_rows(hosts, clocks):
    return [dict(clocks[h["name"]], host=h["name"]) for h in hosts if h["reachable"] and h.get("clock")]
