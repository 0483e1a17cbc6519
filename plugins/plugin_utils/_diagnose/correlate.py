# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Whose fault is each failing pair: the upstream's, or the proxy's (its config, clock or path).

The rules, in the order they apply to a failing pair (proxy P -> upstream U, cause C):

1. clock: C is clock_skew (tls_probe corrected the clock with time_sync_info's offset), or the
   certificate reads expired / not yet valid on P while P's clock is off by more than its threshold
   and the certificate is valid at the controller's time -> clock_skew, side proxy, owner P.
2. U works from another pair (another proxy, or another location of P with other settings) ->
   side proxy, owner P; the evidence is how the working pair differs (SNI, name, protocols, ...,
   each with the file:line nginx set it at).
   A loopback U (127.0.0.1:8443, localhost: a local service of each proxy) is one service per network
   namespace: its pairs are compared (rules 2 and 3) only with the pairs of proxies whose tls_probe ran in
   the same namespace (network_namespace; each proxy on its own when that is unknown).
3. more than one proxy uses U and every pair to U fails with C -> side upstream, owner U.
4. otherwise (one proxy uses U, or the proxies fail with different causes) the cause's layer in
   _common/causes.py decides: SIDE_BY_LAYER; a finding of nginx_tls_info on P's upstream entry that names
   C (e.g. https_to_plain_port for plain_http) makes it P's config.
"""

from __future__ import annotations

import datetime

from ansible_collections.tlsops.handshake.plugins.module_utils._common import causes as _causes
from ansible_collections.tlsops.handshake.plugins.module_utils._common.net import is_loopback
from ansible_collections.tlsops.handshake.plugins.plugin_utils._diagnose.inputs import as_dict, number, text
from ansible_collections.tlsops.handshake.plugins.plugin_utils._diagnose.pairs import SETTINGS

# Where a cause is fixed when nothing else tells: network and service problems (nothing listens,
# wrong protocol), certificates and unknown failures are the upstream's; TLS parameters the proxy
# offers, its local settings and its clock are the proxy's.
SIDE_BY_LAYER = {
    "network": "upstream", "service": "upstream", "certificate": "upstream", "unknown": "upstream",
    "tls": "proxy", "local": "proxy", "clock": "proxy",
}
VALIDITY_CAUSES = ("cert_expired", "cert_not_yet_valid")


def parse_time(value):
    """An ISO 8601 time (``2026-12-06T00:11:05Z``, with or without zone) as aware UTC, or None."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=datetime.timezone.utc)
    return parsed.astimezone(datetime.timezone.utc)


def describe_offset(offset_ms):
    """``2.0 d ahead`` for a clock 2 days fast (offset = true minus local, so negative)."""
    seconds = abs(offset_ms) / 1000.0
    for unit, size in (("d", 86400.0), ("h", 3600.0), ("min", 60.0), ("s", 1.0)):
        if seconds >= size or unit == "s":
            amount = "%.1f %s" % (seconds / size, unit) if unit != "s" or seconds >= 1 else "%.0f ms" % abs(offset_ms)
            break
    return "%s %s" % (amount, "ahead" if offset_ms < 0 else "behind")


def clock_of(host):
    clock = host.get("clock") or {}
    return {
        "offset_ms": number(clock.get("offset_ms")),
        "source": text(clock.get("offset_source"), 200),
        "synchronized": clock.get("synchronized") if isinstance(clock.get("synchronized"), bool) else None,
        "skewed": clock.get("skewed") if isinstance(clock.get("skewed"), bool) else None,
        "max_offset_ms": number(clock.get("max_offset_ms")),
        "daemon": text(as_dict(clock.get("daemon")).get("name"), 50),
    }


def clock_fix(proxy, offset_ms, pair=None):
    """clock_skew's fix, from _causes.render, for host ``proxy``."""
    fields = {"skewed_host": proxy, "clock_effect": "expired" if offset_ms < 0 else "not yet valid",
              "offset_s": "%.1f" % (offset_ms / 1000.0)}
    if pair:
        host, _sep, port = pair["upstream"].rpartition(":")
        fields.update(host=host, port=port, server_name=pair.get("server_name"))
    return _causes.render("clock_skew", **fields)


def _valid_at(certificate, when):
    start, end = parse_time(certificate.get("not_before")), parse_time(certificate.get("not_after"))
    return start is not None and end is not None and start <= when <= end


def _clock_explains(pair, clock, now):
    if pair["cause"] == "clock_skew":
        return True
    if pair["cause"] not in VALIDITY_CAUSES:
        return False
    if pair["clock_could_be_cause"] is not None:      # tls_probe judged it with the same offset
        return pair["clock_could_be_cause"]
    return bool(clock["skewed"] and clock["offset_ms"] is not None and pair["certificate"]
                and _valid_at(pair["certificate"], now))


def _apply_clock(pair, clock):
    offset = clock["offset_ms"]
    pair.update(cause="clock_skew", title=_causes.title("clock_skew"), layer="clock", side="proxy", owner=pair["proxy"])
    if offset is None:
        pair["why"] = "tls_probe found the certificate valid by the NTP-corrected time of %s" % pair["proxy"]
        return
    nginx_error, fix = clock_fix(pair["proxy"], offset, pair)
    pair.update(fix=fix, nginx_error=pair["nginx_error"] or nginx_error)
    pair["why"] = "the clock of %s is %s (%s), so a valid certificate reads as %s there" % (
        pair["proxy"], describe_offset(offset), clock["source"] or "time_sync_info",
        "expired" if offset < 0 else "not yet valid")
    cert = pair["certificate"] or {}
    if cert.get("not_after"):
        pair["evidence"].append("certificate %s is valid from %s to %s" % (
            cert.get("subject") or "?", cert.get("not_before") or "?", cert["not_after"]))


def _value_text(value):
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, list):
        return " ".join(str(v) for v in value) or "(empty)"
    if value is None:
        return "(not set)"
    return str(value)


def differences(failing, working):
    """What ``failing``'s proxy does differently, one phrase each (``p1 has proxy_ssl_server_name off (f:12)``)."""
    out = []
    fs, ws = failing["settings"], working["settings"]
    if fs and ws:
        for key, _suffix in SETTINGS:
            if fs[key]["value"] != ws[key]["value"]:
                where = " (%s)" % fs[key]["where"] if fs[key]["where"] else " (nginx's default)"
                out.append("%s has %s %s%s" % (failing["proxy"], fs[key]["directive"], _value_text(fs[key]["value"]), where))
        return out
    if failing["sni"] != working["sni"] and failing["sni"] is not None:
        out.append("%s sends %s" % (failing["proxy"], "SNI %s" % failing["server_name"] if failing["sni"] else "no SNI"))
    elif failing["server_name"] != working["server_name"]:
        out.append("%s sends the name %s" % (failing["proxy"], failing["server_name"]))
    return out


def _works_with(pair):
    parts = []
    if pair["sni"] is True:
        parts.append("SNI %s" % pair["server_name"])
    elif pair["sni"] is False:
        parts.append("no SNI")
    if pair["tls"] and pair["tls"].get("version"):
        parts.append(pair["tls"]["version"])
    where = " (%s)" % pair["where"][0] if pair["where"] else ""
    return "works from %s%s%s" % (pair["proxy"], where, " with " + ", ".join(parts) if parts else "")


def _pick_working(pair, working):
    others = [w for w in working if w["proxy"] != pair["proxy"]] or working
    return sorted(others, key=lambda w: (w["proxy"], w["id"]))[0]


def _finding_evidence(pair):
    out = []
    for finding in pair["_nginx_findings"]:
        if finding.get("cause") == pair["cause"]:
            where = " (%s:%s)" % (finding.get("file"), finding.get("line")) if finding.get("file") else ""
            out.append("nginx_tls_info on %s: %s%s" % (pair["proxy"], text(finding.get("message"), 300), where))
    return out


def _by_layer(pair, users, failing):
    config = _finding_evidence(pair)
    layer = pair["layer"]
    if config:
        side, reason = "proxy", "%s's configuration leads to it (nginx_tls_info names this cause)" % pair["proxy"]
    else:
        side = SIDE_BY_LAYER.get(layer, "upstream")
        reason = "a %s-layer cause is fixed on the %s" % (layer, side)
    if len(users) == 1:
        local = " (a loopback address: each machine has its own)" if _on_loopback(pair) else ""
        why = "only %s uses %s%s: %s" % (pair["proxy"], pair["upstream"], local, reason)
    else:
        causes = sorted(set(p["cause"] for p in failing))
        why = "every proxy that uses %s fails, with different causes (%s): %s" % (pair["upstream"], ", ".join(causes), reason)
    return side, why


def _on_loopback(pair):
    return is_loopback(pair["upstream"].rpartition(":")[0])


def service_key(pair):
    """The pairs with the same key reach the same service: the upstream's host:port, and for a loopback
    upstream also where the probe ran (the proxy's own namespace when tls_probe did not say)."""
    if _on_loopback(pair):
        return pair["upstream"], pair.get("_network") or "the host " + pair["proxy"]
    return pair["upstream"], None


def correlate(hosts, pairs, now):
    """Set side, owner, why (and evidence, fix for clock_skew) on every failing pair; ok pairs get side None."""
    clocks = dict((h["name"], clock_of(h)) for h in hosts)
    for pair in pairs:
        pair["why"] = None
        if not pair["ok"] and _clock_explains(pair, clocks[pair["proxy"]], now):
            _apply_clock(pair, clocks[pair["proxy"]])
    by_service = {}
    for pair in pairs:
        by_service.setdefault(service_key(pair), []).append(pair)
    for (upstream, _where), group in by_service.items():
        users = sorted(set(p["proxy"] for p in group))
        group = [p for p in group if p["side"] is None]     # the clock's pairs are decided: compare the rest
        working = [p for p in group if p["ok"]]
        failing = [p for p in group if not p["ok"]]
        for pair in failing:
            pair["evidence"].extend(_finding_evidence(pair))
            if working:
                best = _pick_working(pair, working)
                diff = differences(pair, best) or ["same nginx settings on both: %s's network path or clock differs"
                                                   % pair["proxy"]]
                pair["evidence"].insert(0, "%s; %s" % (_works_with(best), "; ".join(diff)))
                pair.update(side="proxy", owner=pair["proxy"])
                okay = sorted(set(w["proxy"] for w in working if w["proxy"] != pair["proxy"]))
                if any(w["proxy"] == pair["proxy"] for w in working):
                    okay.append("another location of %s" % pair["proxy"])
                pair["why"] = "%s fails from %s while it works from %s" % (upstream, pair["proxy"], ", ".join(okay))
            elif len(users) > 1 and all(p["cause"] == pair["cause"] for p in failing):
                pair.update(side="upstream", owner=upstream)
                pair["why"] = "%s fails with the same cause from every proxy that uses it (%s)" % (upstream, ", ".join(users))
            else:
                side, why = _by_layer(pair, users, failing)
                pair.update(side=side, owner=upstream if side == "upstream" else pair["proxy"], why=why)
    return clocks


def attach_logs(pairs, log_entries):
    """Give failing pairs the error-log counts of their (proxy, upstream); mark the log entries whose
    upstream probes fine now from that proxy as intermittent."""
    index = {}
    for pair in pairs:
        index.setdefault((pair["proxy"], pair["upstream"]), []).append(pair)
    for entry in log_entries:
        probed = index.get((entry["host"], entry["upstream"]), [])
        entry["probe_ok"] = all(p["ok"] for p in probed) if probed else None
        entry["intermittent"] = bool(probed) and entry["probe_ok"]
        for pair in probed:
            if not pair["ok"]:
                pair["logged"] = {k: entry[k] for k in ("count", "causes", "first_seen", "last_seen")}
                pair["evidence"].append("nginx's error log on %s: %d failure(s) to %s (%s), first %s, last %s" % (
                    entry["host"], entry["count"], entry["upstream"],
                    ", ".join("%s %d" % kv for kv in sorted(entry["causes"].items())),
                    entry["first_seen"] or "?", entry["last_seen"] or "?"))
    return log_entries
