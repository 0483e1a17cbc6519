# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""nginx_tls_info's probe targets: tls_probe targets set up like nginx, each saying where nginx uses it.

One target per server of an upstream entry (_nginx_report.build_upstreams groups the ``*_pass``
directives by what they reach and with which effective settings).  Targets that are the same probe
(same kind, upstream, address and settings) are merged into one, whatever the number of locations
behind it.  Each target carries ``origin``::

    {"upstream": "backend", "proxy_pass": "https://backend", "kind": "http",   # or grpc, uwsgi, stream
     "locations": [{"file", "line", "location", "server_names", "listen", "proxy_pass"}, ...],
     "locations_omitted": 0}

and a ``name`` unique within one result:

* ``host:port`` (``upstream (host:port)`` for a server of an ``upstream {}`` block) when no other
  target has that label - the usual case, and the name tls_probe uses when given none;
* ``<label> @ <server name or "listen ..."> <location> (<file>:<line>)`` of the target's first
  location, the file relative to the configuration's directory, when several targets share the label
  (two locations reach one upstream with different ``proxy_ssl_*``);
* `` #2``, `` #3``... after that only when it is still ambiguous (one snippet included twice in
  servers with the same name and different settings).

Names follow the configuration's order, so they stay the same while the configuration does.
tls_probe bounds an origin to ORIGIN_MAX_BYTES of JSON: the first locations that fit are kept and
``locations_omitted`` counts the others.
"""

from __future__ import annotations

import json
from collections import Counter

from ansible_collections.tlsops.handshake.plugins.module_utils._common import net
from ansible_collections.tlsops.handshake.plugins.module_utils._probe import targets as probe_args
from ansible_collections.tlsops.handshake.plugins.module_utils._probe.targets import ORIGIN_MAX_BYTES, origin_size
from ansible_collections.tlsops.handshake.plugins.module_utils._tls import wire
from ansible_collections.tlsops.handshake.plugins.module_utils._tls.names import TLS_VERSIONS
from ansible_collections.tlsops.handshake.plugins.plugin_utils._nginx import effective as eff

# The proxy_ssl_conf_command names tls_probe reproduces: tls_probe owns the list.
SUPPORTED_CONF_COMMANDS = probe_args.SUPPORTED_CONF_COMMANDS
# tls_probe's own timeout; nginx's connect timeout (which also bounds its handshake) wins when shorter
PROBE_DEFAULT_TIMEOUT = probe_args.SETTINGS["timeout"]
# an OpenSSL Options value is a list of flags: two Options lines add up, other commands replace
_ADDITIVE_COMMANDS = ("options",)

# What one location may take of an origin: names and pass values are clipped (nginx accepts regex server
# names and locations of any length), a file path is kept whole so that file:line still points somewhere.
ORIGIN_TEXT_MAX = 256
ORIGIN_LIST_MAX = 16
# origin.kind names the context: proxy_pass in http{} is "http", in stream{} "stream"
ORIGIN_KINDS = {"proxy": "http"}


def full_path(path, conf_prefix):
    """``path`` as nginx opens it: relative paths from the main file's directory."""
    return path if path.startswith("/") else "%s/%s" % (conf_prefix.rstrip("/"), path)


def _probe_list(names, check):
    good, bad = [], []
    for name in names or ():
        try:
            check(name)
            good.append(name)
        except (ValueError, KeyError):
            bad.append(name)
    return good, bad


def conf_commands(commands):
    """``(probe's {command: value}, [commands it cannot reproduce])`` of the effective ``*_ssl_conf_command``s.

    nginx hands them to OpenSSL in order (SSL_CONF_cmd, names compared without case): a later command
    replaces an earlier one of the same name, except Options, whose flags add up.
    """
    probe, spelled, unsupported = {}, {}, []
    for cmd in commands or ():
        name, value = cmd["name"], cmd["value"]
        key = name.lower()
        if key not in SUPPORTED_CONF_COMMANDS:
            unsupported.append(cmd)
            continue
        if key in _ADDITIVE_COMMANDS and key in probe:
            value = "%s,%s" % (probe[key], value)
        probe[key], spelled[key] = value, name
    return {spelled[key]: value for key, value in probe.items()}, unsupported


def address_label(entry, server):
    """A target's plain name: ``host:port``, or ``upstream (host:port)`` for a server of an upstream block."""
    address = "%s:%s" % (server["host"], server["port"])
    return "%s (%s)" % (entry["name"], address) if entry["upstream_block"] else address


def server_name_and_sni(ssl_name, host, server_name_on):
    """``(server_name, sni)`` of a probe target for a server at ``host``, as nginx handshakes with it.

    The name nginx checks is ``ssl_name`` (``*_ssl_name``), else the host; an IP literal host needs no
    server_name (None: tls_probe checks the host itself), and nginx sends no SNI for an IP literal.
    """
    if ssl_name and ssl_name.startswith("[") and net.is_ip_literal(ssl_name):
        ssl_name = ssl_name.strip("[]")      # tls_probe takes an IPv6 literal bare
    server_name = ssl_name or (None if net.is_ip_literal(host) else host)
    sni = bool(server_name_on and server_name and not net.is_ip_literal(server_name))
    if server_name and net.is_ip_literal(server_name) and server_name == host:
        server_name = None
    return server_name, sni


def probe_targets(entry, conf_prefix="/"):
    """tls_probe targets that reproduce nginx's handshakes for ``entry``, and notes on what is left out.

    Relative file paths are made absolute the way nginx reads them (from the main file's directory).
    """
    values, notes, targets = entry["effective"], [], []
    if entry.get("expect") == "plaintext":
        return plaintext_check_targets(entry), notes
    if entry["tls"] is not True:
        return targets, notes
    protocols = [p for p in values["protocols"] if p in TLS_VERSIONS]
    if not protocols:
        notes.append("no probe target: %s enables no protocol tls_probe can offer" % " ".join(values["protocols"]))
        return targets, notes
    groups, bad_groups = _probe_list(values["groups"], wire.group_code)
    sigalgs, bad_sigalgs = _probe_list(values["sigalgs"], wire.sigalg_code)
    known13 = set(wire.tls13_cipher_suites().values())
    suites = [s for s in values["ciphersuites"] or () if s in known13]
    bad_suites = [s for s in values["ciphersuites"] or () if s not in known13]
    for label, bad in (("groups", bad_groups), ("sigalgs", bad_sigalgs), ("ciphersuites", bad_suites)):
        if bad:
            notes.append("%s %s not known to tls_probe: left out of the probe targets" % (label, ", ".join(bad)))
    commands, unsupported = conf_commands(values["conf_commands"])
    if unsupported:
        notes.append("%s not reproduced by tls_probe: left out of the probe targets" % ", ".join(
            "%s_ssl_conf_command %s" % (eff.KINDS[entry["kind"]]["prefix"], c["name"]) for c in unsupported))
    for server in entry["servers"]:
        if server.get("unix") or server.get("port") is None or not server.get("host"):
            notes.append("no probe target for %s: %s" % (
                server.get("host"), "a unix socket" if server.get("unix") else "no port"))
            continue
        if server.get("down"):
            notes.append("no probe target for %s:%s: marked down" % (server["host"], server["port"]))
            continue
        server_name, sni = server_name_and_sni(values["ssl_name"], server["host"], values["server_name_on"])
        target = {"name": address_label(entry, server), "host": server["host"], "port": server["port"]}
        if server_name:
            target["server_name"] = server_name
        target["sni"] = sni
        target["protocols"] = protocols
        target["ciphers"] = values["ciphers"]
        if groups:
            target["groups"] = groups
        if sigalgs:
            target["sigalgs"] = sigalgs
        if suites:
            target["ciphersuites"] = suites
        target["verify"] = bool(values["verify"])
        if values["verify"]:
            target["verify_depth"] = values["verify_depth"]
            if values["trusted_certificate"] and "$" not in values["trusted_certificate"]:
                target["ca_file"] = full_path(values["trusted_certificate"], conf_prefix)
        if (values["certificate"] and values["certificate_key"]
                and not any("$" in v or v.startswith("data:") for v in (values["certificate"], values["certificate_key"]))):
            target["client_cert"] = full_path(values["certificate"], conf_prefix)
            target["client_key"] = full_path(values["certificate_key"], conf_prefix)
        target["alpn"] = ["h2"] if entry["kind"] == "grpc" else []
        if entry["kind"] != "proxy":
            target["http_request"] = False
        if commands:
            target["conf_commands"] = dict(commands)
        _set_timeout(target, values)
        targets.append(target)
    return targets, notes


def _set_timeout(target, values):
    timeout = values.get("connect_timeout")
    if timeout is not None and timeout < PROBE_DEFAULT_TIMEOUT:
        target["timeout"] = max(timeout, 0.001)     # nginx's 0 gives up at once; tls_probe needs > 0


def plaintext_check_targets(entry):
    """Targets that check a plaintext ``*_pass`` aimed at a TLS port: a TLS handshake that succeeds there
    proves the port speaks TLS (origin.expect is "plaintext": success is the fault).  Verification off and
    no HTTP request: only whether TLS answers matters."""
    targets = []
    for server in entry["servers"]:
        host = server["host"]
        target = {"name": "%s (plaintext in %s)" % (address_label(entry, server), entry["directive"]),
                  "host": host, "port": server["port"], "verify": False, "http_request": False,
                  "protocols": list(TLS_VERSIONS)}
        server_name, sni = server_name_and_sni(None, host, True)
        if server_name:
            target["server_name"] = server_name
        target["sni"] = sni
        _set_timeout(target, entry["effective"])
        targets.append(target)
    return targets


# --------------------------------------------------------------------------- origin and names

def _clip(text):
    if text is None:
        return None
    text = str(text)
    return text if len(text) <= ORIGIN_TEXT_MAX else text[:ORIGIN_TEXT_MAX - 3] + "..."


def _origin_location(location, proxy_pass):
    return {"file": location["file"], "line": location["line"], "location": _clip(location["location"]),
            "server_names": [_clip(n) for n in location["server_names"][:ORIGIN_LIST_MAX]],
            "listen": [_clip(l) for l in location["listen"][:ORIGIN_LIST_MAX]], "proxy_pass": _clip(proxy_pass)}


def fit_origin(origin, locations):
    """``origin`` with the first ``locations`` that fit in ORIGIN_MAX_BYTES; ``locations_omitted`` counts the rest."""
    out = dict(origin, locations=[], locations_omitted=len(locations))
    used = origin_size(dict(out, locations_omitted=10 ** 9))   # room for any count
    for location in locations:
        size = origin_size(location) + (1 if out["locations"] else 0)   # the comma
        if used + size > ORIGIN_MAX_BYTES:
            break
        out["locations"].append(location)
        used += size
    out["locations_omitted"] = len(locations) - len(out["locations"])
    return out


def _relative(path, conf_prefix):
    prefix = (conf_prefix or "/").rstrip("/") + "/"
    return path[len(prefix):] if path and path.startswith(prefix) else path


def where_label(location, conf_prefix):
    """``api.example.com /v1 (sites/api.conf:12)``: the server, the location and the file:line of a ``*_pass``."""
    names = [n for n in location["server_names"] if n and n != "_"]
    what = [names[0] if names else ("listen " + location["listen"][0] if location["listen"] else "")]
    what.append(location["location"] or "")
    at = "%s:%s" % (_relative(location["file"], conf_prefix), location["line"])
    text = " ".join(w for w in what if w)
    return "%s (%s)" % (text, at) if text else at


def _name_targets(groups, conf_prefix):
    labels = [g["target"]["name"] for g in groups]
    shared = {label for label, count in Counter(labels).items() if count > 1}
    wanted = [("%s @ %s" % (label, where_label(g["locations"][0], conf_prefix)) if label in shared else label)
              for label, g in zip(labels, groups)]
    taken = set()
    for name, group in zip(wanted, groups):
        unique, number = name, 1
        while unique in taken:       # ends: each turn tries a new number, and taken is finite
            number += 1
            unique = "%s #%d" % (name, number)
        taken.add(unique)
        group["target"]["name"] = unique


def assign_probe_targets(entries, conf_prefix="/"):
    """The result's ``probe_targets``: every entry's targets, merged when they are the same probe, with
    ``origin`` and a unique ``name``.  Sets ``probe_targets`` (the same dicts) and ``notes`` of each entry."""
    groups, by_key = [], {}
    for entry in entries:
        targets, entry["notes"] = probe_targets(entry, conf_prefix)
        entry["probe_targets"] = []
        for target in targets:
            key = json.dumps([entry["kind"], entry["name"], target], sort_keys=True)
            group = by_key.get(key)
            if group is None:
                origin = {"upstream": _clip(entry["name"]), "proxy_pass": _clip(entry["proxy_pass"]),
                          "kind": ORIGIN_KINDS.get(entry["kind"], entry["kind"])}
                if entry.get("expect"):
                    origin["expect"] = entry["expect"]
                group = by_key[key] = {"target": target, "origin": origin, "locations": [], "seen": set()}
                groups.append(group)
            for order, location in zip(entry.get("_order") or range(len(entry["locations"])), entry["locations"]):
                placed = _origin_location(location, entry["proxy_pass"])
                seen = json.dumps(placed, sort_keys=True)
                if seen not in group["seen"]:
                    group["seen"].add(seen)
                    group["locations"].append((order, placed))
            if not any(t is group["target"] for t in entry["probe_targets"]):
                entry["probe_targets"].append(group["target"])
    for group in groups:      # in the configuration's order, whichever upstream entry came first
        group["locations"] = [placed for dummy, placed in sorted(group["locations"], key=lambda pair: pair[0])]
    _name_targets(groups, conf_prefix)
    for group in groups:
        group["target"]["origin"] = fit_origin(group["origin"], group["locations"])
    return [g["target"] for g in groups]
