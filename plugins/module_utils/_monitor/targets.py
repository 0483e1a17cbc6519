# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the monitor probes: the targets file, the configured extra targets, and what ``nginx -T`` adds.

The targets file holds nginx_tls_info's ``probe_targets`` (computed on the controller by the role, with
nginx's effective settings for each upstream).  Each run re-reads it and, with ``refresh``, also reads
``nginx -T`` through the host-side reader (_nginx/tokens): a TLS upstream that appeared since the role
ran (``proxy_pass https://...``, ``grpc_pass grpcs://...``, the servers of the ``upstream {}`` block it
names) is probed with nginx's defaults (no SNI, no verification) until the role runs again.
Standard library only: this runs on managed hosts.
"""

from __future__ import annotations

import json

from ansible_collections.tlsops.handshake.plugins.module_utils._common import safe_files as safe
from ansible_collections.tlsops.handshake.plugins.module_utils._nginx import collect, tokens

MAX_TARGETS_FILE = 8 * 1024 * 1024
TLS_SCHEMES = {"https": 443, "grpcs": 443}
PASS_DIRECTIVES = ("proxy_pass", "grpc_pass")


def load_targets_file(path):
    """The list of the targets file (``[]`` when there is none yet)."""
    try:
        data = safe.read_text(path, MAX_TARGETS_FILE, where="targets_file", what="the monitor's targets file (JSON)")
    except FileNotFoundError:
        return []
    targets = json.loads(data)
    if not isinstance(targets, list):
        raise ValueError("targets_file: %s holds %s, expected a JSON list" % (path, type(targets).__name__))
    return targets


def _split_pass(value):
    """``(scheme, host, port)`` of a ``proxy_pass``/``grpc_pass`` value, None when not a fixed TLS upstream."""
    scheme, sep, rest = value.partition("://")
    if not sep or scheme.lower() not in TLS_SCHEMES or "$" in value:
        return None
    hostport = rest.split("/", 1)[0]
    host, port = hostport, None
    if hostport.startswith("["):
        host, _sep, tail = hostport[1:].partition("]")
        port = tail[1:] if tail.startswith(":") else None
    elif hostport.count(":") == 1:
        host, port = hostport.split(":")
    if port is not None and not port.isdigit():
        return None
    return scheme.lower(), host, int(port) if port else None


def targets_from_dump(text):
    """The TLS upstream servers ``nginx -T``'s text passes to, with nginx's default settings."""
    upstreams, current, passes = {}, None, []
    for statement in tokens.parse(text):
        if statement.name == "upstream" and statement.args:
            current = upstreams.setdefault(statement.args[0], [])
        elif statement.name == "server" and statement.context[-1:] == ("upstream",) and current is not None and statement.args:
            current.append(statement.args[0])
        elif statement.name in PASS_DIRECTIVES and statement.args:
            passes.append(statement.args[0])
    found, seen = [], set()
    for value in passes:
        split = _split_pass(value)
        if split is None:
            continue
        scheme, host, port = split
        servers = upstreams.get(host)
        entries = [(s, "%s (%s)" % (host, s)) for s in servers] if servers is not None and port is None else \
            [("%s:%d" % (host, port or TLS_SCHEMES[scheme]), None)]
        for server, label in entries:
            if server.startswith("unix:") or server in seen:
                continue
            seen.add(server)
            target = {"host": server, "server_name": host, "sni": False, "verify": False,
                      "http_request": False, "name": label or server}
            if scheme == "grpcs":
                target["alpn"] = ["h2"]
            found.append(target)
    return found


def from_nginx(nginx_path=None, config=None, timeout=20.0):
    """``(targets, error)`` read from ``nginx -T`` (``-c config`` when given; error: a text, targets then ``[]``)."""
    binary = collect.find_nginx(nginx_path)
    if not binary:
        return [], "nginx: no nginx binary found to run nginx -T"
    rc, out, err = collect.run([binary, "-T"] + (["-c", config] if config else []), timeout)
    if rc != 0:
        return [], "nginx -T failed (rc %s): %s" % (rc, (err or "").strip()[-300:])
    return targets_from_dump(out), None


def _key(target):
    if isinstance(target, str):
        return target
    host, port = target.get("host"), target.get("port")
    return "%s:%s" % (host, port) if port is not None else str(host)


def merge(file_targets, extra, discovered):
    """One list: the file's targets (minus nginx_tls_info's plaintext checks), extra ones, then newly
    discovered upstreams that neither lists."""
    out = [t for t in file_targets if not (isinstance(t, dict) and (t.get("origin") or {}).get("expect") == "plaintext")]
    out.extend(extra or [])
    known = set(_key(t) for t in out)
    for target in discovered:
        if _key(target) not in known and target["host"] not in known:
            known.add(target["host"])
            out.append(target)
    return out
