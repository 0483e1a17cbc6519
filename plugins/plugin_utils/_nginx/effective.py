# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""nginx's rules, applied to a parsed configuration: defaults by version, inheritance, upstreams.

* Defaults follow the nginx version (``proxy_ssl_protocols``: TLSv1 TLSv1.1 TLSv1.2 until
  1.23.4, which adds TLSv1.3; TLSv1.2 TLSv1.3 from 1.27.3); an unknown version is taken as
  the newest.
* Inheritance is nginx's merge: a directive set at a lower level (http > server > location
  > nested location / ``if``) replaces the upper value; array directives
  (``proxy_ssl_conf_command``, ``ssl_certificate``) are inherited only when the lower
  level sets none.  stream{} has its own ``proxy_ssl_*`` (stream > server), with TLS
  switched on by ``proxy_ssl on``.
* ``proxy_pass https://`` uses ``proxy_ssl_*``; ``grpc_pass grpcs://`` uses ``grpc_ssl_*``;
  ``uwsgi_pass suwsgi://`` uses ``uwsgi_ssl_*``.
"""

from __future__ import annotations

import re
from typing import Any, Dict

from ansible_collections.tlsops.handshake.plugins.module_utils._common import net
from ansible_collections.tlsops.handshake.plugins.module_utils._tls.names import NGINX_PROTOCOLS

# kind -> how it is written and which directives configure it
KINDS: Dict[str, Dict[str, Any]] = {
    "proxy": {"context": "http", "pass": "proxy_pass", "prefix": "proxy", "tls_schemes": ("https",),
              "plain_schemes": ("http",), "default_ports": {"https": 443, "http": 80},
              "default_name": "$proxy_host"},
    "grpc": {"context": "http", "pass": "grpc_pass", "prefix": "grpc", "tls_schemes": ("grpcs",),
             "plain_schemes": ("grpc", ""), "default_ports": {}, "default_name": None},
    "uwsgi": {"context": "http", "pass": "uwsgi_pass", "prefix": "uwsgi", "tls_schemes": ("suwsgi",),
              "plain_schemes": ("uwsgi", ""), "default_ports": {}, "default_name": None},
    "stream": {"context": "stream", "pass": "proxy_pass", "prefix": "proxy", "tls_schemes": (),
               "plain_schemes": ("",), "default_ports": {}, "default_name": None},
}
HTTP_PASS = {"proxy_pass": "proxy", "grpc_pass": "grpc", "uwsgi_pass": "uwsgi"}
# what *_ssl_name defaults to: the host of the *_pass without its port
PROXY_HOST = ("$proxy_host", "${proxy_host}")

# effective key -> (directive suffix after "<prefix>_", type)
UPSTREAM_SETTINGS = (
    ("server_name_on", "ssl_server_name", "flag"),
    ("ssl_name", "ssl_name", "str"),
    ("protocols", "ssl_protocols", "list"),
    ("ciphers", "ssl_ciphers", "str"),
    ("conf_commands", "ssl_conf_command", "array"),
    ("verify", "ssl_verify", "flag"),
    ("trusted_certificate", "ssl_trusted_certificate", "str"),
    ("verify_depth", "ssl_verify_depth", "int"),
    ("certificate", "ssl_certificate", "str"),
    ("certificate_key", "ssl_certificate_key", "str"),
    ("session_reuse", "ssl_session_reuse", "flag"),
    ("crl", "ssl_crl", "str"),
)

SERVER_SETTINGS = (
    ("ssl_protocols", "ssl_protocols", "list"),
    ("ssl_ciphers", "ssl_ciphers", "str"),
    ("ssl_ecdh_curve", "ssl_ecdh_curve", "str"),
    ("ssl_certificates", "ssl_certificate", "array_values"),
    ("ssl_certificate_keys", "ssl_certificate_key", "array_values"),
    ("ssl_reject_handshake", "ssl_reject_handshake", "flag"),
    ("ssl_prefer_server_ciphers", "ssl_prefer_server_ciphers", "flag"),
    ("ssl_conf_commands", "ssl_conf_command", "array"),
    ("ssl_on", "ssl", "flag"),
)
SERVER_DEFAULTS = {"ssl_ciphers": "HIGH:!aNULL:!MD5", "ssl_ecdh_curve": "auto", "ssl_certificates": [],
                   "ssl_certificate_keys": [], "ssl_reject_handshake": False, "ssl_prefer_server_ciphers": False,
                   "ssl_conf_commands": [], "ssl_on": False}

# blocks whose children are not directives (tables) or may legitimately repeat
TABLE_BLOCKS = ("map", "types", "geo", "split_clients", "charset_map", "match", "upstream", "limit_except")
LOCATION_BLOCKS = ("location", "if", "limit_except")


# --------------------------------------------------------------------------- versions

def parse_version(text):
    """``"1.22.1"`` -> ``(1, 22, 1)``; None when there is no version."""
    match = re.match(r"(\d+)\.(\d+)(?:\.(\d+))?", str(text or "").strip())
    if not match:
        return None
    return tuple(int(x) if x else 0 for x in match.groups())


def default_protocols(version):
    """The protocols nginx ``version`` enables when ``*ssl_protocols`` is unset (None: the newest)."""
    if version is None or version >= (1, 27, 3):
        return ["TLSv1.2", "TLSv1.3"]
    if version >= (1, 23, 4):
        return ["TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"]
    return ["TLSv1", "TLSv1.1", "TLSv1.2"]


def version_text(version):
    return ".".join(str(v) for v in version) if version else "newest"


# --------------------------------------------------------------------------- small parsers

def host_and_port(text):
    """``host:port`` / ``[v6]:port`` / ``host`` -> ``(host, port number or None)``: nginx has refused what
    is malformed already, so a port that is absent or not a number is None and a stray ``[`` is dropped."""
    try:
        host, port = net.split_host_port(text)
    except net.HostPortError as exc:
        return exc.host, None
    return host, (int(port) if port and port.isdigit() else None)


def strip_name_port(name):
    """The name nginx sends and verifies for an ``*_ssl_name`` value: cut at the first ':' (after the ']' of an
    IPv6 literal), as ngx_http_upstream_ssl_name() does - ``$proxy_host`` holds ``host:port``."""
    start = 0
    if name.startswith("["):
        start = max(name.find("]"), 0)
    colon = name.find(":", start)
    return name if colon < 0 else name[:colon]


def ssl_name(directive, pass_host):
    """``(name, how)``: the name nginx sends (SNI) and verifies, and how it is chosen.

    ``directive`` is the ``*_ssl_name`` value as written (None when unset), ``pass_host`` the host of the
    ``*_pass`` or the ``upstream {}`` block's name (nginx's ``uscf->host``; IPv6 in brackets).  ``how`` is
    ``default`` (unset, or ``$proxy_host``: the host of the pass), ``explicit`` or ``variable`` (a request
    variable decides: name None).
    """
    if directive is None or directive.strip() in PROXY_HOST:
        return (strip_name_port(pass_host) if pass_host else None), "default"
    if "$" in directive:
        return None, "variable"
    return strip_name_port(directive), "explicit"


def parse_pass(kind, value):
    """What a ``*_pass`` value points at.

    Returns ``{scheme, tls, host, port, uri, variable, unix}``: ``tls`` is None when a variable
    hides the scheme, ``host`` None when a variable hides the host.
    """
    spec = KINDS[kind]
    out: Dict[str, Any] = {"scheme": None, "tls": False, "host": None, "port": None, "uri": "", "variable": "$" in value,
                           "unix": None}
    rest = value
    if "://" in value:
        scheme, rest = value.split("://", 1)
        out["scheme"] = scheme.lower()
    elif kind == "proxy":
        out["scheme"] = None
    else:
        out["scheme"] = ""
    if out["scheme"] is not None and "$" in out["scheme"]:
        out["tls"] = None
    elif out["scheme"] is None:
        out["tls"] = None if "$" in value else False
    else:
        out["tls"] = out["scheme"] in spec["tls_schemes"]
    if rest.lower().startswith("unix:"):
        path = rest[5:]
        out["unix"] = path.split(":", 1)[0]
        out["uri"] = path.split(":", 1)[1] if ":" in path else ""
        return out
    slash = rest.find("/")
    authority, out["uri"] = (rest, "") if slash < 0 else (rest[:slash], rest[slash:])
    if "$" in authority:
        return out
    out["host"], out["port"] = host_and_port(authority)
    return out


def parse_listen(args):
    """One ``listen`` directive -> ``{address, port, ssl, http2, default_server, unix, raw}``."""
    addr = args[0] if args else "80"
    flags = [a.lower() for a in args[1:]]
    entry: Dict[str, Any] = {"raw": " ".join(args), "address": None, "port": None, "ssl": "ssl" in flags,
                             "http2": "http2" in flags, "quic": "quic" in flags,
                             "default_server": "default_server" in flags or "default" in flags,
                             "proxy_protocol": "proxy_protocol" in flags, "unix": None}
    if addr.lower().startswith("unix:"):
        entry["unix"] = addr[5:]
        return entry
    if addr.isdigit():
        entry["address"], entry["port"] = "*", int(addr)
        return entry
    host, port = host_and_port(addr)
    entry["address"] = host or "*"
    entry["port"] = port if port is not None else 80
    return entry


# ngx_parse_time()'s units, in seconds; a number without a unit is seconds
TIME_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "M": 2592000, "y": 31536000}
_TIME_PART = re.compile(r"\s*(\d+)(ms|[smhdwMy]?)\s*")
DEFAULT_CONNECT_TIMEOUT = 60.0


def parse_time(text):
    """nginx's time syntax (``500ms``, ``3s``, ``1m30s``, ``2``) in seconds; None when nginx would refuse it."""
    text, total, pos, used = str(text or ""), 0.0, 0, set()
    while pos < len(text):
        match = _TIME_PART.match(text, pos)
        if not match or match.end() == pos or (match.group(2) or "s") in used:
            return None
        unit = match.group(2) or "s"
        used.add(unit)
        total += int(match.group(1)) * TIME_UNITS[unit]
        pos = match.end()
    return total if text.strip() else None


# --------------------------------------------------------------------------- inheritance

def _flag(node):
    return bool(node.args) and node.args[0].lower() == "on"


def lookup(chain, directive, array=False):
    """The nodes that set ``directive`` for the innermost level of ``chain`` (nginx's merge).

    Returns the nodes of the innermost level that has the directive (all of them for an array
    directive, else the first), or ``[]`` when no level sets it.
    """
    for level in reversed(chain):
        nodes = level.children(directive)
        if nodes:
            return nodes if array else nodes[:1]
    return []


def _value(nodes, kind):
    if kind == "flag":
        return _flag(nodes[0])
    if kind == "int":
        try:
            return int(nodes[0].args[0])
        except (IndexError, ValueError):
            return None
    if kind == "list":
        return list(nodes[0].args)
    if kind == "array":
        return [{"name": n.args[0] if n.args else "", "value": " ".join(n.args[1:])} for n in nodes]
    if kind == "array_values":
        return [n.args[0] for n in nodes if n.args]
    return " ".join(nodes[0].args)


def resolve_settings(chain, table, prefix, defaults):
    """``(values, sources)`` for ``table`` entries; sources map key -> {file, line} or None (default)."""
    values: Dict[str, Any] = {}
    sources: Dict[str, Any] = {}
    for key, suffix, kind in table:
        directive = "%s_%s" % (prefix, suffix) if prefix else suffix
        nodes = lookup(chain, directive, array=kind.startswith("array"))
        if nodes:
            values[key] = _value(nodes, kind)
            sources[key] = {"file": nodes[0].file, "line": nodes[0].line, "directive": directive}
        else:
            value = defaults.get(key)
            values[key] = list(value) if isinstance(value, list) else value
            sources[key] = None
    return values, sources


def sort_protocols(names):
    known = [p for p in NGINX_PROTOCOLS if p in names]
    return known + [n for n in names if n not in NGINX_PROTOCOLS]


def conf_command_values(commands):
    """The conf commands that matter to a handshake, by OpenSSL's (case-insensitive) names."""
    out = {}
    for cmd in commands or ():
        name = cmd["name"].lower()
        if name in ("groups", "curves"):
            out["groups"] = [g for g in re.split(r"[:,]", cmd["value"]) if g]
        elif name == "ciphersuites":
            out["ciphersuites"] = [s for s in cmd["value"].split(":") if s]
        elif name in ("signaturealgorithms", "sigalgs"):
            out["sigalgs"] = [s for s in cmd["value"].split(":") if s]
        elif name == "minprotocol":
            out["min_protocol"] = cmd["value"]
        elif name == "maxprotocol":
            out["max_protocol"] = cmd["value"]
    return out


def _apply_min_max(protocols, min_protocol, max_protocol):
    order = {"tlsv1": 2, "tlsv1.0": 2, "tlsv1.1": 3, "tlsv1.2": 4, "tlsv1.3": 5, "sslv3": 1}
    low = order.get(str(min_protocol or "").lower(), 0)
    high = order.get(str(max_protocol or "").lower(), 99)
    return [p for p in protocols if p not in NGINX_PROTOCOLS or low <= NGINX_PROTOCOLS.index(p) <= high]


def upstream_defaults(kind, version):
    """nginx's defaults of the upstream TLS settings (effective keys) for ``kind`` and ``version``."""
    return {"server_name_on": False, "ssl_name": KINDS[kind]["default_name"],
            "protocols": default_protocols(version), "ciphers": "DEFAULT", "conf_commands": [], "verify": False,
            "trusted_certificate": None, "verify_depth": 1, "certificate": None, "certificate_key": None,
            "session_reuse": True, "crl": None}


def default_directives(version, kind="proxy"):
    """The same defaults keyed by directive name (``proxy_ssl_protocols``: [...]), unset ones left out."""
    defaults = upstream_defaults(kind, version)
    return {"%s_%s" % (KINDS[kind]["prefix"], suffix): defaults[key] for key, suffix, dummy in UPSTREAM_SETTINGS
            if defaults[key] not in (None, [])}


def upstream_effective(chain, kind, version):
    """Effective ``<prefix>_ssl_*`` settings at the innermost level of ``chain``."""
    spec = KINDS[kind]
    values, sources = resolve_settings(chain, UPSTREAM_SETTINGS, spec["prefix"], upstream_defaults(kind, version))
    values["protocols"] = sort_protocols(values["protocols"])
    commands = conf_command_values(values["conf_commands"])
    if "min_protocol" in commands or "max_protocol" in commands:
        values["protocols"] = _apply_min_max(values["protocols"], commands.get("min_protocol"),
                                             commands.get("max_protocol"))
    values["groups"] = commands.get("groups")
    values["ciphersuites"] = commands.get("ciphersuites")
    values["sigalgs"] = commands.get("sigalgs")
    sources["groups"] = sources["ciphersuites"] = sources["sigalgs"] = sources["conf_commands"]
    for key in ("trusted_certificate", "certificate", "certificate_key", "crl"):
        if values[key] == "":
            values[key] = None
    nodes = lookup(chain, "%s_connect_timeout" % spec["prefix"])
    values["connect_timeout"] = parse_time(nodes[0].args[0]) if nodes and nodes[0].args else None
    if values["connect_timeout"] is None:
        values["connect_timeout"] = DEFAULT_CONNECT_TIMEOUT
    sources["connect_timeout"] = dict(nodes[0].where, directive=nodes[0].name) if nodes else None
    if kind == "stream":
        nodes = lookup(chain, "proxy_ssl")
        values["tls"] = bool(nodes) and _flag(nodes[0])
        sources["tls"] = nodes[0].where if nodes else None
    return values, sources


def server_effective(chain, version):
    defaults = dict(SERVER_DEFAULTS, ssl_protocols=default_protocols(version))
    values, sources = resolve_settings(chain, SERVER_SETTINGS, "", defaults)
    values["ssl_protocols"] = sort_protocols(values["ssl_protocols"])
    return values, sources


# --------------------------------------------------------------------------- the configuration's shape

def resolve_servers(kind, target, blocks):
    """``(servers, block)`` that a parsed ``*_pass`` reaches."""
    if target["unix"] is not None:
        return [{"host": "unix:" + target["unix"], "port": None, "unix": target["unix"]}], None
    if target["host"] is None:
        return [], None
    block = blocks.get(target["host"].lower()) if target["port"] is None else None
    if block:
        return [dict(s) for s in block["servers"]], block
    port = target["port"]
    if port is None:
        port = KINDS[kind]["default_ports"].get(target["scheme"] or "")
    return [{"host": target["host"], "port": port, "port_explicit": target["port"] is not None,
             "unix": None}], None


def upstream_blocks(context_node, context):
    """``{name_lower: block}`` of the ``upstream {}`` blocks of an http or stream block."""
    blocks = {}
    for node in context_node.children("upstream"):
        if not node.args or node.block is None:
            continue
        servers = []
        for srv in node.children("server"):
            if not srv.args:
                continue
            params = [a.lower() for a in srv.args[1:]]
            entry = {"host": None, "port": None, "port_explicit": False, "unix": None,
                     "backup": "backup" in params, "down": "down" in params, "file": srv.file, "line": srv.line}
            if srv.args[0].lower().startswith("unix:"):
                entry["unix"] = srv.args[0][5:]
                entry["host"] = srv.args[0]
            else:
                entry["host"], port = host_and_port(srv.args[0])
                entry["port_explicit"] = port is not None
                entry["port"] = port if port is not None else (80 if context == "http" else None)
            servers.append(entry)
        blocks[node.args[0].lower()] = {"name": node.args[0], "file": node.file, "line": node.line,
                                        "context": context, "servers": servers}
    return blocks


def _listens(server_node, context):
    listens = [parse_listen(n.args) for n in server_node.children("listen")]
    if not listens and context == "http":
        entry = parse_listen(["80"])
        entry["implicit"] = True
        listens.append(entry)
    return listens


def _server_names(server_node):
    names = []
    for node in server_node.children("server_name"):
        names.extend(node.args)
    return names


def server_info(chain, context, version):
    """One server block (``chain`` ends with it): listen, names and its effective ssl_* settings."""
    node = chain[-1]
    values, sources = server_effective(chain, version)
    listens = _listens(node, context)
    if values.pop("ssl_on"):
        for listen in listens:
            listen["ssl"] = True
    sources.pop("ssl_on", None)
    info = {"context": context, "file": node.file, "line": node.line, "listen": listens,
            "ssl": any(l["ssl"] for l in listens), "server_names": _server_names(node)}
    info.update(values)
    info["sources"] = sources
    return info


def _walk_locations(node, chain):
    """``(pass_node, chain)`` for every ``*_pass`` under ``node`` (locations, nested ones, ``if``)."""
    for child in node.block or ():
        if child.name in LOCATION_BLOCKS and child.block is not None:
            yield from _walk_locations(child, chain + (child,))
        elif child.name in HTTP_PASS and child.args:
            yield child, chain


def _location_label(chain):
    for level in reversed(chain):
        if level.name == "location":
            return " ".join(level.args)
    return None


def extract(config, version):
    """Servers, upstream blocks and every ``*_pass`` with its chain of levels.

    Returns ``{"servers": [...], "upstream_blocks": {context: {name: block}}, "passes": [...]}``;
    each pass is ``{kind, node, chain, server}`` where ``server`` is the server_info of its server.
    """
    out: Dict[str, Any] = {"servers": [], "upstream_blocks": {"http": {}, "stream": {}}, "passes": []}
    for top in config.root.children("http", "stream"):
        if top.block is None:
            continue
        context = top.name
        out["upstream_blocks"][context].update(upstream_blocks(top, context))
        for server in top.children("server"):
            if server.block is None:
                continue
            chain = (top, server)
            info = server_info(chain, context, version)
            out["servers"].append(info)
            if context == "http":
                for node, pass_chain in _walk_locations(server, chain):
                    out["passes"].append({"kind": HTTP_PASS[node.name], "node": node, "chain": pass_chain,
                                          "server": info, "location": _location_label(pass_chain)})
            else:
                for node in server.children("proxy_pass"):
                    if node.args:
                        out["passes"].append({"kind": "stream", "node": node, "chain": chain, "server": info,
                                              "location": None})
    return out
