# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Plaintext ``*_pass`` aimed at a port that speaks TLS: ``proxy_pass http://10.0.0.7:443``.

nginx then writes an HTTP request into a TLS server, which answers with an alert or a 400 "plain HTTP
request was sent to HTTPS port": nginx logs "upstream prematurely closed connection" or "upstream sent
no valid HTTP/1.0 header", never a handshake error.  Flagged by port: the ports of this nginx's own
``listen ... ssl`` for a local upstream (certain), else the usual TLS ports (likely).  Each flagged
upstream gets an entry shaped like upstreams.build_upstreams' (not listed in ``upstreams``) whose probe
targets (targets.plaintext_check_targets) carry ``origin.expect = "plaintext"``: a TLS handshake
that succeeds there confirms the fault.
"""

from __future__ import annotations

import json

from ansible_collections.tlsops.handshake.plugins.module_utils._common import findings as _findings
from ansible_collections.tlsops.handshake.plugins.plugin_utils._nginx import effective as eff

# Ports where a TLS service is the rule (HTTPS and its usual alternates, Kubernetes API, WinRM over HTTPS,
# Docker over TLS).
TLS_PORTS = (443, 2376, 4443, 5986, 6443, 8443, 9443, 10443)
# kind -> the scheme that speaks TLS instead
TLS_SCHEME = {"proxy": "https://", "grpc": "grpcs://"}


def _why(listeners, server):
    """Why ``server`` speaks TLS, and how sure that is: ``(why, severity)`` or ``(None, None)``."""
    socket = listeners.lookup(server["host"], server["port"])
    if socket is not None:
        if not socket["ssl"]:
            return None, None          # this nginx serves it in plaintext
        srv = socket["server"]
        return ("which this nginx serves with ssl (listen %s in the server at %s:%s)"
                % (socket["listen"]["raw"], srv["file"], srv["line"])), "error"
    if server["port"] in TLS_PORTS:
        return "a port where TLS is the rule", "warning"
    return None, None


def tls_port_entries(extracted, listeners, location_entry):
    """``[entry]`` for every plaintext proxy_pass / grpc_pass reaching a TLS port, each with ``findings``.

    ``location_entry(usage)`` is upstreams.location_entry: one place that uses a pass.
    """
    entries, index = [], {}
    for order, usage in enumerate(extracted["passes"]):
        kind, node = usage["kind"], usage["node"]
        if kind not in TLS_SCHEME:
            continue
        target = eff.parse_pass(kind, node.args[0])
        if target["tls"] is not False or target["host"] is None:
            continue
        blocks = extracted["upstream_blocks"][eff.KINDS[kind]["context"]]
        servers, block = eff.resolve_servers(kind, target, blocks)
        flagged = []
        for server in servers:
            if server.get("unix") or server.get("port") is None or server.get("down"):
                continue
            why, severity = _why(listeners, server)
            if why:
                flagged.append((server, why, severity))
        if not flagged:
            continue
        values, sources = eff.upstream_effective(usage["chain"], kind, None)
        timeout = {"connect_timeout": values["connect_timeout"]}
        key = json.dumps([kind, node.args[0], timeout], sort_keys=True)
        if key in index:
            index[key]["locations"].append(location_entry(usage))
            index[key]["_order"].append(order)
            continue
        name = block["name"] if block else "%s:%d" % (target["host"], flagged[0][0]["port"])
        entry = {"name": name, "kind": kind, "directive": eff.KINDS[kind]["pass"], "proxy_pass": node.args[0],
                 "tls": False, "expect": "plaintext", "upstream_block": block,
                 "servers": [server for server, dummy_why, dummy_sev in flagged], "effective": timeout,
                 "locations": [location_entry(usage)], "_order": [order], "findings": []}
        for server, why, severity in flagged:
            at = server if server.get("file") else usage["node"].where
            item = _findings.finding("http_to_tls_port", severity=severity, directive=entry["directive"],
                                     proxy_pass=node.args[0], host=server["host"], port=server["port"], why=why,
                                     tls_scheme=TLS_SCHEME[kind])
            item.update(file=at.get("file"), line=at.get("line"), upstream=name)
            entry["findings"].append(item)
        index[key] = entry
        entries.append(entry)
    return entries
