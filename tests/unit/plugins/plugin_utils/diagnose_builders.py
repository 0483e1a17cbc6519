# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Small hand-made module results for the diagnose engine's unit tests, in the shape the modules
return them (the keys the engine reads; fixes and titles from _causes.render like the modules)."""

from __future__ import annotations

import datetime

from ansible_collections.tlsops.handshake.plugins.module_utils._common import causes as _causes

NOW = datetime.datetime(2026, 6, 1, 12, 0, 0, tzinfo=datetime.timezone.utc)
SITE = "/etc/nginx/conf.d/site.conf"
DEFAULTS = {"server_name_on": True, "ssl_name": "$proxy_host", "ssl_name_resolved": None, "protocols": ["TLSv1.2", "TLSv1.3"],
            "ciphers": "DEFAULT", "groups": None, "verify": True, "trusted_certificate": "/etc/ssl/certs/ca.pem",
            "verify_depth": 1, "certificate": None}
# effective key -> (directive, line) where a test's override is "written"
DIRECTIVES = {"server_name_on": ("proxy_ssl_server_name", 13), "ssl_name_resolved": ("proxy_ssl_name", 14),
              "protocols": ("proxy_ssl_protocols", 15), "ciphers": ("proxy_ssl_ciphers", 16), "verify": ("proxy_ssl_verify", 17)}


def cert(not_before="2026-01-01T00:00:00Z", not_after="2026-12-31T00:00:00Z", subject="CN=api.example.com"):
    return {"subject": subject, "issuer": "CN=Example CA", "not_before": not_before, "not_after": not_after,
            "days_left": 213, "sha256": "AA:" + subject}


def probe(upstream, cause="ok", server_name=None, sni=True, name=None, certificate=None, clock_could_be_cause=None,
          origin=None):
    host, port = upstream.rsplit(":", 1)
    server_name = server_name or host
    nginx_error, fix = _causes.render(cause, host=host, port=port, server_name=server_name) if cause != "ok" else ("", [])
    result = {"target": name or upstream, "host": host, "port": int(port), "server_name": server_name, "sni": sni,
              "ok": cause == "ok", "handshake_ok": cause == "ok", "cause": cause, "detail": "detail of %s" % cause,
              "nginx_error": nginx_error, "fix": fix, "evidence": [],
              "tls": {"version": "TLSv1.3", "cipher": "TLS_AES_256_GCM_SHA384", "group": "x25519"} if cause == "ok" else None,
              "certificate": certificate, "clock_could_be_cause": clock_could_be_cause}
    if origin is not None:
        result["origin"] = origin
    return result


def upstream_entry(upstream, location="/api", findings=(), **settings):
    host, port = upstream.rsplit(":", 1)
    effective = dict(DEFAULTS, ssl_name_resolved=host, **settings)
    sources = dict((key, None) for key in DEFAULTS)
    for key in settings:
        directive, line = DIRECTIVES.get(key, ("proxy_ssl_" + key, 20))
        sources[key if key != "ssl_name_resolved" else "ssl_name"] = {"directive": directive, "file": SITE, "line": line}
    target = {"name": upstream, "host": host, "port": int(port), "server_name": host, "sni": effective["server_name_on"]}
    return {"name": upstream, "kind": "proxy", "proxy_pass": "https://%s/" % upstream,
            "locations": [{"file": SITE, "line": 12, "location": location, "server_names": ["www.example.com"]}],
            "effective": effective, "sources": sources, "findings": list(findings), "probe_targets": [target]}


def nginx(*entries, servers=()):
    return {"nginx": {"version": "1.22.1"}, "config_file": "/etc/nginx/nginx.conf", "upstreams": list(entries),
            "servers": list(servers), "probe_targets": [t for e in entries for t in e["probe_targets"]]}


def clock(offset_ms=3.0, max_offset_ms=1000.0):
    return {"offset_ms": offset_ms, "offset_source": "NTP server 10.0.0.123:123", "synchronized": abs(offset_ms) < max_offset_ms,
            "skewed": abs(offset_ms) > max_offset_ms, "max_offset_ms": max_offset_ms, "daemon": {"name": "chrony"}}


def host(results, entries=None, offset_ms=3.0, logs=None, chains=None, network_namespace=None):
    """One reachable host: ``results`` tls_probe results; ``entries`` nginx upstream entries (default: one
    per result, nginx's defaults); ``network_namespace`` tls_probe's (left out when None)."""
    if entries is None:
        entries = [upstream_entry("%s:%s" % (r["host"], r["port"])) for r in results]
    probed = {"results": results, "summary": {}}
    if network_namespace is not None:
        probed["network_namespace"] = network_namespace
    return {"reachable": True, "unreachable_msg": None, "nginx": nginx(*entries), "clock": clock(offset_ms),
            "probe": probed, "chains": chains, "logs": logs}


def logs(by_upstream=None, client=None, clients=()):
    """handshake_log_info: ``by_upstream`` {upstream: {cause: count}}; ``client`` {cause: count}."""
    by_up = {}
    for upstream, causes in (by_upstream or {}).items():
        by_up[upstream] = {"count": sum(causes.values()), "causes": causes, "first_seen": "2026-06-01T08:00:00",
                           "last_seen": "2026-06-01T11:30:00", "samples": ["2026/06/01 08:00:00 [error] 1#1: *1 sample line"]}
    by_cause = {}
    for cause, count in (client or {}).items():
        by_cause[cause] = {"count": count, "sides": {"client": count}, "first_seen": "2026-06-01T01:00:00",
                           "last_seen": "2026-06-01T11:00:00"}
    return {"events": {"by_upstream": by_up, "by_cause": by_cause, "by_side": {}}, "clients": list(clients)}
