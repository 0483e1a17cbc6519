# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Findings: the failing pairs grouped by (cause, side, owner), plus what the other modules found
(served certificates, clocks, intermittent and client-side log events), ranked.

Order (``rank`` 1 first): severity (error, then warning, then info), then impact = failing pairs x
hosts (more first), then pairs (more first), then side (upstream, proxy, client), then cause code,
then owner, both alphabetically.  Equal findings therefore always come out in the same order.
"""

from __future__ import annotations

from ansible_collections.tlsops.handshake.plugins.module_utils._common import causes as _causes
from ansible_collections.tlsops.handshake.plugins.plugin_utils._diagnose.correlate import clock_fix, describe_offset
from ansible_collections.tlsops.handshake.plugins.plugin_utils._diagnose.inputs import as_dict, as_list, text

SEVERITIES = ("error", "warning", "info")
SIDES = ("upstream", "proxy", "client")
MAX_WHERE = 20
MAX_EVIDENCE = 12


def _unique(items, limit=None):
    out = []
    for item in items:
        if item and item not in out:
            out.append(item)
    return out[:limit] if limit else out


def _finding(cause, side, owner, severity, what, where, why, fix, evidence, pair_ids=(), pairs=0, hosts=1,
             intermittent=False):
    return {
        "rank": 0, "severity": severity, "cause": cause, "title": _causes.title(cause), "side": side, "owner": owner,
        "intermittent": intermittent, "impact": {"pairs": pairs, "hosts": hosts},
        "what": what, "where": _unique(where, MAX_WHERE), "why": why, "fix": _unique(fix),
        "evidence": _unique(evidence, MAX_EVIDENCE), "pair_ids": list(pair_ids), "line": "",
    }


def _pair_where(pair):
    return "%s -> %s%s" % (pair["proxy"], pair["upstream"], " at " + pair["where"][0] if pair["where"] else "")


def pair_findings(pairs):
    groups = {}
    for pair in pairs:
        if not pair["ok"]:
            groups.setdefault((pair["cause"], pair["side"], pair["owner"]), []).append(pair)
    out = []
    for (cause, side, owner), group in groups.items():
        upstreams = _unique(p["upstream"] for p in group)
        proxies = _unique(p["proxy"] for p in group)
        if side == "upstream":
            what = "%s: %s (from %s)" % (owner, _causes.title(cause), ", ".join(proxies))
        else:
            what = "%s: %s (toward %s)" % (owner, _causes.title(cause), ", ".join(upstreams))
        out.append(_finding(
            cause, side, owner, "error", what, [_pair_where(p) for p in group], "; ".join(_unique(p["why"] for p in group)),
            [f for p in group for f in p["fix"]], [e for p in group for e in p["evidence"]],
            pair_ids=[p["id"] for p in group], pairs=len(group), hosts=len(proxies)))
    return out


def _served_at(host, path):
    """``(host, port, where)`` of the first nginx server block that serves the certificate ``path``."""
    for instance in host["nginx"]:
        for server in as_list(instance.get("servers")):
            server = as_dict(server)
            if path in as_list(server.get("ssl_certificates")):
                listen = [as_dict(item) for item in as_list(server.get("listen"))]
                port = listen[0].get("port") if listen else None
                return port, "%s:%s" % (server.get("file"), server.get("line"))
    return None, None


def chain_findings(hosts):
    """A served certificate's errors (cert_chain_info findings that lead to a cause), once per host and cause."""
    groups = {}
    for host in hosts:
        for result in host["chains"]:
            path = as_dict(result.get("source")).get("path")
            for item in as_list(result.get("findings")):
                item = as_dict(item)
                if item.get("severity") == "error" and item.get("cause") in _causes.CAUSES:
                    groups.setdefault((host["name"], item["cause"]), []).append((host, path, result, item))
    out = []
    for (name, cause), items in sorted(groups.items()):
        where, fix, evidence = [], [], []
        for host, path, result, item in items:
            port, server_at = _served_at(host, path)
            where.append("%s: %s%s" % (name, path or "?", " (server at %s)" % server_at if server_at else ""))
            missing = as_dict(result.get("missing_issuer")).get("name")
            chain = as_list(result.get("chain"))
            leaf = as_dict(chain[result.get("leaf_position") or 0] if len(chain) > (result.get("leaf_position") or 0) else {})
            fix.extend(_causes.render(cause, host=name, port=port, issuer=missing, not_after=leaf.get("not_after"),
                                      not_before=leaf.get("not_before"))[1])
            evidence.append("cert_chain_info on %s: %s" % (name, text(item.get("message"), 400)))
        what = "%s serves a certificate with this fault: %s" % (name, _causes.title(cause))
        why = "a certificate %s serves to its own clients; their handshakes fail or depend on the client" % name
        out.append(_finding(cause, "proxy", name, "error", what, where, why, fix, evidence, pairs=0, hosts=1))
    return out


def clock_findings(hosts, clocks, findings):
    """A skewed clock: evidence on the clock_skew finding of that host, or a warning of its own."""
    out = []
    for host in hosts:
        clock = clocks[host["name"]]
        if not clock["skewed"] or clock["offset_ms"] is None:
            continue
        evidence = "time_sync_info on %s: the clock is %s (%s; threshold %s ms)" % (
            host["name"], describe_offset(clock["offset_ms"]), clock["source"] or "?", clock["max_offset_ms"])
        existing = [f for f in findings if f["cause"] == "clock_skew" and f["owner"] == host["name"]]
        if existing:
            existing[0]["evidence"].insert(0, evidence)
            continue
        what = "%s: its clock is %s" % (host["name"], describe_offset(clock["offset_ms"]))
        why = "no pair fails because of it yet; certificates near their start or end read wrong there"
        out.append(_finding("clock_skew", "proxy", host["name"], "warning", what, [host["name"]], why,
                            clock_fix(host["name"], clock["offset_ms"])[1], [evidence]))
    return out


def intermittent_findings(entries):
    groups = {}
    for entry in entries:
        if entry["intermittent"] and entry["causes"]:
            cause = sorted(entry["causes"].items(), key=lambda kv: (-kv[1], kv[0]))[0][0]
            groups.setdefault((cause, entry["upstream"]), []).append(entry)
    out = []
    for (cause, upstream), group in sorted(groups.items()):
        host, _sep, port = upstream.rpartition(":")
        proxies = _unique(e["host"] for e in group)
        counts = ", ".join("%s %d" % (e["host"], e["count"]) for e in group)
        what = "%s: intermittent - %s (logged by %s)" % (upstream, _causes.title(cause), ", ".join(proxies))
        why = ("nginx logged %s failure(s) (%s), first %s, last %s, but the probe succeeds now"
               % (sum(e["count"] for e in group), counts, min(e["first_seen"] or "?" for e in group),
                  max(e["last_seen"] or "?" for e in group)))
        evidence = [s for e in group for s in e["samples"][:1]]
        out.append(_finding(cause, "upstream", upstream, "warning", what, ["%s -> %s" % (e["host"], upstream) for e in group],
                            why, _causes.render(cause, host=host, port=port)[1], evidence,
                            pairs=len(group), hosts=len(proxies), intermittent=True))
    return out


def client_findings(entries):
    by_host = {}
    for entry in entries:
        by_host.setdefault(entry["host"], []).append(entry)
    out = []
    for host, group in sorted(by_host.items()):
        group = sorted(group, key=lambda e: (-e["count"], e["cause"]))
        total = sum(e["count"] for e in group)
        what = "%s: %d client-side handshake failure(s) (%s)" % (
            host, total, ", ".join("%s %d" % (e["cause"], e["count"]) for e in group))
        why = "on nginx's listening side (its clients: scanners, old software, plain HTTP to a TLS port), not toward an upstream"
        evidence = ["%s: top clients %s" % (e["cause"], ", ".join("%s (%d)" % (c["address"], c["count"])
                                                                  for c in e["top_clients"]) or "?") for e in group]
        out.append(_finding(group[0]["cause"], "client", host, "info", what, [host], why, [_causes.CLIENT_SIDE_FIX],
                            evidence, pairs=0, hosts=1))
    return out


def _one_line(finding):
    where = finding["where"][0] if finding["where"] else finding["owner"]
    if len(finding["where"]) > 1:
        where += " (+%d more)" % (len(finding["where"]) - 1)
    fix = finding["fix"][0] if finding["fix"] else "-"
    return "%d. [%s] %s | where: %s | why: %s | fix: %s" % (
        finding["rank"], finding["severity"], finding["what"], where, finding["why"], fix)


def rank(findings):
    def key(f):
        impact = f["impact"]
        return (SEVERITIES.index(f["severity"]), -impact["pairs"] * impact["hosts"], -impact["pairs"],
                SIDES.index(f["side"]), f["cause"], f["owner"])
    findings = sorted(findings, key=key)
    for index, finding in enumerate(findings, 1):
        finding["rank"] = index
        finding["line"] = _one_line(finding)
    return findings
