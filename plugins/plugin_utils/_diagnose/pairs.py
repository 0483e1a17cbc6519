# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Proxy -> upstream pairs: one per tls_probe result, tied back to where nginx uses the upstream.

A probe result carries ``origin`` (nginx_tls_info's probe target, passed through tls_probe) when the
modules are new enough; otherwise the result is matched to nginx_tls_info's probe targets by name
and address, in order (the playbook hands them over in that order).  Either way the pair gets the
nginx upstream entry's effective settings, their sources (file:line) and its findings: the evidence
the correlation compares between proxies.
"""

from __future__ import annotations

from ansible_collections.tlsops.handshake.plugins.module_utils._common import causes as _causes
from ansible_collections.tlsops.handshake.plugins.plugin_utils._diagnose.inputs import as_dict, as_list, text

# A failed pair's handshake transcript (tls_probe trace: true) in the report: at most this many lines of this length.
MAX_TRACE_LINES = 400
MAX_TRACE_LINE = 2000

# Effective settings compared between proxies, with the directive suffix nginx spells them with.
SETTINGS = (
    ("server_name_on", "ssl_server_name"),
    ("ssl_name_resolved", "ssl_name"),
    ("protocols", "ssl_protocols"),
    ("ciphers", "ssl_ciphers"),
    ("groups", "ssl_conf_command Groups"),
    ("verify", "ssl_verify"),
    ("trusted_certificate", "ssl_trusted_certificate"),
    ("verify_depth", "ssl_verify_depth"),
    ("certificate", "ssl_certificate"),
)
_CERT_KEYS = ("subject", "issuer", "not_before", "not_after", "days_left", "sha256")


def upstream_key(host, port):
    host = str(host if host is not None else "?")
    if ":" in host and not host.startswith("["):
        host = "[%s]" % host
    return "%s:%s" % (host, port if port is not None else "?")


def _nginx_targets(instances):
    """``[(target, upstream entry)]`` over every nginx instance's upstreams, in nginx_tls_info's order."""
    out = []
    for instance in instances:
        for upstream in as_list(instance.get("upstreams")):
            upstream = as_dict(upstream)
            for target in as_list(upstream.get("probe_targets")):
                out.append((as_dict(target), upstream))
    return out


def _same_address(target, result):
    return (target.get("host"), target.get("port")) == (result.get("host"), result.get("port"))


class _Unmatched(object):
    """nginx's probe targets not yet paired with a probe result.  The results come in the targets' order, so
    the search starts at the first target left: a match is then the first one tried (a thousand upstreams a
    host made a search from the start cost half a million comparisons)."""

    def __init__(self, candidates):
        self.candidates = candidates
        self.used = set()
        self.first = 0

    def take(self, rule):
        """The upstream entry of the first target left that ``rule(target)`` accepts (that target is then used),
        or None."""
        for index in range(self.first, len(self.candidates)):
            target, upstream = self.candidates[index]
            if index not in self.used and rule(target):
                self.used.add(index)
                while self.first in self.used:
                    self.first += 1
                return upstream
        return None


def _match(result, unmatched):
    """The nginx upstream entry a probe result belongs to, or None."""
    origin = as_dict(result.get("origin"))
    if origin:
        upstream = unmatched.take(lambda t: as_dict(t.get("origin")) == origin)
        if upstream is not None:
            return upstream
        for _target, upstream in unmatched.candidates:
            if upstream.get("name") == origin.get("upstream") and upstream.get("proxy_pass") == origin.get("proxy_pass"):
                return upstream
    for rule in (lambda t: t.get("name") == result.get("target") and _same_address(t, result),
                 lambda t: _same_address(t, result) and t.get("server_name") == result.get("server_name")):
        upstream = unmatched.take(rule)
        if upstream is not None:
            return upstream
    return None


def location_text(location):
    location = as_dict(location)
    names = ", ".join(str(n) for n in as_list(location.get("server_names"))[:3])
    parts = ["%s:%s" % (location.get("file") or "?", location.get("line") or "?")]
    if location.get("location"):
        parts.append("location %s" % location["location"])
    if names:
        parts.append("server %s" % names)
    return " ".join(parts)


def _origin(result, upstream):
    origin = result.get("origin")
    if isinstance(origin, dict):
        return origin
    if upstream is None:
        return None
    return {"upstream": upstream.get("name"), "proxy_pass": upstream.get("proxy_pass"), "kind": upstream.get("kind"),
            "locations": as_list(upstream.get("locations"))}


def _settings(upstream):
    if upstream is None:
        return None
    effective = as_dict(upstream.get("effective"))
    sources = as_dict(upstream.get("sources"))
    prefix = "grpc_" if upstream.get("kind") == "grpc" else "uwsgi_" if upstream.get("kind") == "uwsgi" else "proxy_"
    out = {}
    for key, suffix in SETTINGS:
        source = as_dict(sources.get(key if key != "ssl_name_resolved" else "ssl_name"))
        out[key] = {
            "value": effective.get(key),
            "directive": source.get("directive") or prefix + suffix,
            "where": ("%s:%s" % (source.get("file"), source.get("line"))) if source.get("file") else None,
        }
    return out


def _certificate(result):
    cert = as_dict(result.get("certificate"))
    if not cert:
        return None
    return {key: cert.get(key) for key in _CERT_KEYS}


def _cause(result):
    cause = result.get("cause")
    if cause in _causes.CAUSES:
        return cause, []
    return "unknown", ["tls_probe returned the cause %r, which this collection does not know" % text(cause, 80)]


# What a check target of nginx_tls_info's http_to_tls_port finding (origin.expect "plaintext": nginx sends
# plaintext there) proves: a TLS handshake that gets anywhere means the port speaks TLS, so nginx is wrong;
# plain_http means the port is plaintext, as nginx assumes; anything else proves nothing.
_SPEAKS_TLS_LAYERS = ("none", "tls", "certificate", "clock")


def _plaintext_check(result):
    """The cause a plaintext check target stands for: http_to_tls_port, or None (no pair: nginx is right,
    or the check proves nothing)."""
    cause = result.get("cause")
    if cause not in _causes.CAUSES or cause == "plain_http":
        return None
    if _causes.CAUSES[cause]["layer"] in _SPEAKS_TLS_LAYERS or result.get("handshake_ok") is True:
        return "http_to_tls_port"
    return None


def host_pairs(host):
    """Every pair of one reachable host, in probe order; ids are unique within the host."""
    probe = host.get("probe")
    if not probe:
        return []
    unmatched = _Unmatched(_nginx_targets(host["nginx"]))
    network = text(probe.get("network_namespace"), 200) or None
    pairs, seen = [], {}
    for result in as_list(probe.get("results")):
        result = as_dict(result)
        if as_dict(result.get("origin")).get("expect") == "plaintext":
            cause = _plaintext_check(result)
            if cause is None:
                continue
            result = dict(result, cause=cause, ok=False, fix=_causes.render(
                cause, host=result.get("host"), port=result.get("port"))[1],
                nginx_error=_causes.render(cause)[0],
                detail="nginx sends plaintext (%s) to %s:%s, which answered a TLS handshake (%s)" % (
                    as_dict(result.get("origin")).get("proxy_pass"), result.get("host"), result.get("port"),
                    result.get("detail") or result.get("cause")))
        upstream = _match(result, unmatched)
        cause, notes = _cause(result)
        target = text(result.get("target"), 300) or upstream_key(result.get("host"), result.get("port"))
        pair_id = "%s -> %s" % (host["name"], target)
        seen[pair_id] = seen.get(pair_id, 0) + 1
        if seen[pair_id] > 1:
            pair_id += " #%d" % seen[pair_id]
        origin = _origin(result, upstream)
        locations = as_list(as_dict(origin).get("locations"))
        tls = as_dict(result.get("tls"))
        pairs.append({
            "id": pair_id,
            "proxy": host["name"],
            "upstream": upstream_key(result.get("host"), result.get("port")),
            "target": target,
            "server_name": text(result.get("server_name"), 300),
            "sni": result.get("sni") if isinstance(result.get("sni"), bool) else None,
            "origin": origin,
            "where": [location_text(loc) for loc in locations[:10]],
            "cause": cause,
            "title": _causes.title(cause),
            "layer": _causes.CAUSES[cause]["layer"],
            "ok": result.get("ok") is True and cause == "ok",
            "side": None,
            "owner": None,
            "detail": text(result.get("detail"), 1000),
            "nginx_error": text(result.get("nginx_error"), 1000),
            "fix": [text(f, 1000) for f in as_list(result.get("fix"))],
            "evidence": [text(e, 500) for e in as_list(result.get("evidence"))] + notes,
            "tls": {k: tls.get(k) for k in ("version", "cipher", "group")} if tls else None,
            "settings": _settings(upstream),
            # internal (not in report.json): the upstream entry's findings, evidence for the correlation
            "_nginx_findings": [as_dict(f) for f in as_list(upstream.get("findings"))] if upstream else [],
            # internal: where the probe ran (tls_probe's network_namespace), which tells loopback upstreams apart
            "_network": network,
            "certificate": _certificate(result),
            "clock_could_be_cause": result.get("clock_could_be_cause")
            if isinstance(result.get("clock_could_be_cause"), bool) else None,
            "logged": None,
        })
        transcript = as_list(result.get("trace_text"))
        if transcript and not pairs[-1]["ok"]:
            # tls_probe trace: true; only failed pairs carry it (a working handshake needs no transcript)
            pairs[-1]["trace"] = [text(line, MAX_TRACE_LINE) for line in transcript[:MAX_TRACE_LINES]]
    return pairs
