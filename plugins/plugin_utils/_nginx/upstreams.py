# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""nginx_tls_info's ``upstreams``: every TLS ``*_pass`` grouped by what it reaches and how (effective.py
gives each pass its settings; upstream_rules.py judges the entries)."""

from __future__ import annotations

import json
from typing import Any, Dict, List, Optional, cast

from ansible_collections.tlsops.handshake.plugins.plugin_utils._nginx import effective as eff
from ansible_collections.tlsops.handshake.plugins.plugin_utils._nginx.listeners import listen_label
from ansible_collections.tlsops.handshake.plugins.plugin_utils._nginx.rules import node_at

# effective.py's table of pass kinds, as mypy should see it (until effective.py annotates it).
KINDS = cast(Dict[str, Dict[str, Any]], eff.KINDS)

# An upstream entry: the keys of the module's ``upstreams[]``, and private ones (``_target``, ``_origin``,
# ``_pass``, ``_order``) that the rules and the probe targets read and public_upstream() drops.
Entry = Dict[str, Any]


def pass_host(target: Dict[str, Any], block: Optional[Dict[str, Any]]) -> Any:
    """What nginx takes as the upstream's name (``uscf->host``): the block's name or the pass's host, an IPv6
    literal in brackets."""
    if block:
        return block["name"]
    host = target["host"]
    return "[%s]" % host if host and ":" in host else host


def location_entry(usage: Dict[str, Any]) -> Dict[str, Any]:
    """One place that uses a pass: file:line, location and the server it is in."""
    server = usage["server"]
    return {"file": usage["node"].file, "line": usage["node"].line, "location": usage["location"],
            "server_names": list(server["server_names"]),
            "listen": [listen_label(l) for l in server["listen"]]}


def _entry_name(target: Dict[str, Any], block: Optional[Dict[str, Any]], servers: List[Dict[str, Any]],
                value: str) -> str:
    if block:
        return block["name"]
    if target["host"] is not None and servers and servers[0]["port"] is not None:
        return "%s:%d" % (target["host"], servers[0]["port"])
    if target["unix"] is not None:
        return "unix:" + target["unix"]
    return target["host"] or value


def build_upstreams(extracted: Dict[str, Any], version: Any) -> List[Entry]:
    """Group every TLS ``*_pass`` by what it reaches and how (its effective settings)."""
    entries: List[Entry] = []
    index: Dict[str, Entry] = {}
    for order, usage in enumerate(extracted["passes"]):
        kind, node = usage["kind"], usage["node"]
        value = node.args[0]
        target = eff.parse_pass(kind, value)
        values, sources = eff.upstream_effective(usage["chain"], kind, version)
        if kind == "stream":
            if not values.pop("tls"):
                continue
            sources.pop("tls", None)
            target["tls"], target["scheme"] = True, "tls"
        elif target["tls"] is False:
            continue
        blocks = extracted["upstream_blocks"][KINDS[kind]["context"]]
        servers, block = eff.resolve_servers(kind, target, blocks)
        directive = values["ssl_name"] if sources.get("ssl_name") else None
        resolved, origin = eff.ssl_name(directive, pass_host(target, block))
        values["ssl_name"] = values["ssl_name_resolved"] = resolved
        values["ssl_name_directive"] = directive
        sources["ssl_name_directive"] = sources.get("ssl_name")
        key = json.dumps([kind, value, values], sort_keys=True, default=str)
        if key in index:
            index[key]["locations"].append(location_entry(usage))
            index[key]["_order"].append(order)
            continue
        entry = {"name": _entry_name(target, block, servers, value), "kind": kind,
                 "context": KINDS[kind]["context"],
                 "directive": KINDS[kind]["pass"], "proxy_pass": value, "scheme": target["scheme"],
                 "tls": target["tls"], "variables": target["variable"],
                 "upstream_block": ({"name": block["name"], "file": block["file"], "line": block["line"]}
                                    if block else None),
                 "servers": servers, "locations": [location_entry(usage)], "effective": values,
                 "sources": sources, "_target": target, "_origin": origin, "_pass": node_at(node),
                 "_order": [order]}
        index[key] = entry
        entries.append(entry)
    return entries


def public_upstream(entry: Entry) -> Dict[str, Any]:
    """The entry as the module returns it: without the private keys."""
    return {k: v for k, v in entry.items() if not k.startswith("_")}
