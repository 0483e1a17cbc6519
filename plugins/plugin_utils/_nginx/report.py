# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""nginx_tls_info's judgement, on the controller: upstreams, servers, findings (probe targets: _nginx_targets.py).

``analyse(raw, ...)`` takes what the module collected on the host
(module_utils/_nginx_collect.py) and returns the module's result.  Plain Python:
unit tests call it with configurations they write themselves.
"""

from __future__ import annotations

import ipaddress
import json
import re

from ansible_collections.tlsops.handshake.plugins.module_utils._common import findings as _findings
from ansible_collections.tlsops.handshake.plugins.module_utils._common import net
from ansible_collections.tlsops.handshake.plugins.module_utils._tls import wire
from ansible_collections.tlsops.handshake.plugins.module_utils._tls.names import LEGACY_PROTOCOLS, NGINX_PROTOCOLS
from ansible_collections.tlsops.handshake.plugins.module_utils._nginx.collect import parse_version_output
from ansible_collections.tlsops.handshake.plugins.plugin_utils._nginx import effective as eff
from ansible_collections.tlsops.handshake.plugins.plugin_utils._nginx import parse as nparse
from ansible_collections.tlsops.handshake.plugins.plugin_utils._nginx import plaintext
from ansible_collections.tlsops.handshake.plugins.plugin_utils._nginx import targets as probe
from ansible_collections.tlsops.handshake.plugins.plugin_utils._nginx.targets import full_path as _full_path

POLICY_KEYS = ("protocols", "ciphers", "groups")
PLAIN_HINTS = {"proxy": "http://", "grpc": "grpc://", "uwsgi": "uwsgi://", "stream": "proxy_ssl off;"}
WILDCARDS = ("*", "0.0.0.0", "::")

# Directives nginx accepts once per block ("is duplicate" otherwise).  Array directives
# (ssl_certificate, ssl_conf_command, proxy_set_header, listen, ...) may repeat.  The upstream
# TLS directives come from the tables of _nginx_effective, for each of proxy_, grpc_ and uwsgi_.
DUPLICATE_CHECKED = frozenset("""
ssl ssl_protocols ssl_ciphers ssl_prefer_server_ciphers ssl_ecdh_curve ssl_dhparam ssl_session_cache
ssl_session_timeout ssl_session_tickets ssl_stapling ssl_stapling_verify ssl_stapling_file
ssl_stapling_responder ssl_trusted_certificate ssl_client_certificate ssl_verify_client ssl_verify_depth
ssl_crl ssl_buffer_size ssl_early_data ssl_reject_handshake ssl_ocsp ssl_ocsp_responder ssl_ocsp_cache
ssl_password_file ssl_handshake_timeout ssl_preread proxy_ssl
proxy_pass grpc_pass uwsgi_pass fastcgi_pass scgi_pass
proxy_connect_timeout proxy_read_timeout proxy_send_timeout proxy_http_version proxy_buffering
root alias server_tokens sendfile tcp_nopush tcp_nodelay keepalive_timeout client_max_body_size default_type
types_hash_max_size server_names_hash_bucket_size gzip worker_processes worker_connections pid user
worker_rlimit_nofile resolver
""".split()) | frozenset(
    "%s_%s" % (prefix, suffix)
    for prefix in ("proxy", "grpc", "uwsgi")
    for suffix in [s for dummy, s, kind in eff.UPSTREAM_SETTINGS if kind != "array"] + ["ssl_password_file"])


class OptionError(ValueError):
    """A controller-side option (policy, chains, nginx_version) is wrong; the message names it."""


# --------------------------------------------------------------------------- options

def check_policy(policy):
    """``policy`` as ``{protocols: [...], ciphers: str, groups: [...]}`` (missing keys: not checked)."""
    if policy is None:
        return None
    if not isinstance(policy, dict):
        raise OptionError("policy: expected a dict with protocols, ciphers and/or groups, got %r" % (policy,))
    unknown = sorted(set(policy) - set(POLICY_KEYS))
    if unknown:
        raise OptionError("policy: unknown key(s) %s; allowed: %s" % (", ".join(unknown), ", ".join(POLICY_KEYS)))
    out = {}
    for key in ("protocols", "groups"):
        value = policy.get(key)
        if value is None:
            continue
        if isinstance(value, str):
            value = [v for v in re.split(r"[\s:,]+", value) if v]
        if not isinstance(value, (list, tuple)) or not value or not all(isinstance(v, str) and v for v in value):
            raise OptionError("policy.%s: expected a non-empty list of names, got %r" % (key, value))
        if key == "protocols":
            bad = [v for v in value if v not in NGINX_PROTOCOLS]
            if bad:
                raise OptionError("policy.protocols: unknown protocol(s) %s; choose from %s"
                                  % (", ".join(bad), ", ".join(NGINX_PROTOCOLS)))
            value = eff.sort_protocols(list(dict.fromkeys(value)))
        out[key] = list(value)
    if policy.get("ciphers") is not None:
        if not isinstance(policy["ciphers"], str) or not policy["ciphers"].strip():
            raise OptionError("policy.ciphers: expected an OpenSSL cipher string, got %r" % (policy["ciphers"],))
        out["ciphers"] = policy["ciphers"].strip()
    return out


def chain_intermediates(value, where):
    """Intermediates in a chain given as a count, a tls_probe ``chain`` list or a tls_probe result
    (None when it tells nothing: an empty chain)."""
    if isinstance(value, bool):
        raise OptionError("%s: expected a number of intermediates, got %r" % (where, value))
    if isinstance(value, int):
        if value < 0:
            raise OptionError("%s: %d intermediates is negative" % (where, value))
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    if isinstance(value, dict):
        if "intermediates" in value:
            return chain_intermediates(value["intermediates"], where + ".intermediates")
        if "chain" in value:
            return chain_intermediates(value["chain"], where + ".chain")
    if value is None or value == []:
        return None   # nothing known (a probe that got no certificate)
    if isinstance(value, list) and all(isinstance(c, dict) for c in value):
        return sum(1 for c in value[1:] if not c.get("self_issued"))
    raise OptionError("%s: expected a number of intermediate certificates, a tls_probe results[].chain list or a "
                      "tls_probe result, got %r" % (where, value))


def check_chains(chains):
    if chains is None:
        return {}
    if not isinstance(chains, dict):
        raise OptionError("chains: expected a dict {upstream name or host:port: intermediates}, got %r" % (chains,))
    counts = {str(k): chain_intermediates(v, "chains[%s]" % k) for k, v in chains.items()}
    return {k: v for k, v in counts.items() if v is not None}


# --------------------------------------------------------------------------- helpers

def _finding(code, at=None, **fields):
    """A finding of _findings.py, placed at ``at`` ({file, line} or anything with those keys)."""
    entry = _findings.finding(code, **fields)
    entry["file"] = (at or {}).get("file")
    entry["line"] = (at or {}).get("line")
    return entry


def _where(node):
    return {"file": node.file, "line": node.line}


def _norm_host(host):
    return str(host or "").strip("[]").lower()


def _listen_label(listen):
    return listen["raw"] if not listen.get("implicit") else "80 (default)"


def server_label(server):
    name = (server["server_names"] or ["_"])[0]
    return "%s (%s)" % (name, ", ".join(_listen_label(l) for l in server["listen"]) or "no listen")


def _group_key(name):
    try:
        return wire.group_code(name)
    except (ValueError, KeyError):
        return name.lower()


def _origin(source, directive, version_label):
    return "" if source else " (nginx %s's default: %s is not set)" % (version_label, directive)


class Listeners:
    """The http listen sockets of this nginx: which (address, port) it serves with or without TLS."""

    def __init__(self, servers, local_addresses=()):
        self.sockets = {}
        self.local = {"localhost"} | {_norm_host(a) for a in local_addresses or ()}
        for server in servers:
            if server["context"] != "http":
                continue
            for listen in server["listen"]:
                if listen["unix"] or listen["port"] is None:
                    continue
                address = _norm_host(listen["address"])
                address = "*" if address in WILDCARDS else address
                if address != "*":
                    self.local.add(address)
                entry = self.sockets.setdefault((address, listen["port"]),
                                                {"ssl": False, "server": server, "listen": listen})
                entry["ssl"] = entry["ssl"] or listen["ssl"]

    def _is_local(self, host):
        if host in self.local:
            return True
        try:
            return ipaddress.ip_address(host).is_loopback
        except ValueError:
            return False

    def lookup(self, host, port):
        host = _norm_host(host)
        hosts = [host] + (["127.0.0.1", "::1"] if host == "localhost" else [])
        for candidate in hosts:
            if (candidate, port) in self.sockets:
                return self.sockets[(candidate, port)]
        if any(self._is_local(h) for h in hosts) and ("*", port) in self.sockets:
            return self.sockets[("*", port)]
        return None


# --------------------------------------------------------------------------- upstreams

def _pass_host(target, block):
    """What nginx takes as the upstream's name (``uscf->host``): the block's name or the pass's host, an IPv6
    literal in brackets."""
    if block:
        return block["name"]
    host = target["host"]
    return "[%s]" % host if host and ":" in host else host


def _location_entry(usage):
    server = usage["server"]
    return {"file": usage["node"].file, "line": usage["node"].line, "location": usage["location"],
            "server_names": list(server["server_names"]),
            "listen": [_listen_label(l) for l in server["listen"]]}


def build_upstreams(extracted, version):
    """Group every TLS ``*_pass`` by what it reaches and how (its effective settings)."""
    entries, index = [], {}
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
        blocks = extracted["upstream_blocks"][eff.KINDS[kind]["context"]]
        servers, block = eff.resolve_servers(kind, target, blocks)
        directive = values["ssl_name"] if sources.get("ssl_name") else None
        resolved, origin = eff.ssl_name(directive, _pass_host(target, block))
        values["ssl_name"] = values["ssl_name_resolved"] = resolved
        values["ssl_name_directive"] = directive
        sources["ssl_name_directive"] = sources.get("ssl_name")
        if block:
            name = block["name"]
        elif target["host"] is not None and servers and servers[0]["port"] is not None:
            name = "%s:%d" % (target["host"], servers[0]["port"])
        elif target["unix"] is not None:
            name = "unix:" + target["unix"]
        else:
            name = target["host"] or value
        key = json.dumps([kind, value, values], sort_keys=True, default=str)
        if key in index:
            index[key]["locations"].append(_location_entry(usage))
            index[key]["_order"].append(order)
            continue
        entry = {"name": name, "kind": kind, "context": eff.KINDS[kind]["context"],
                 "directive": eff.KINDS[kind]["pass"], "proxy_pass": value, "scheme": target["scheme"],
                 "tls": target["tls"], "variables": target["variable"],
                 "upstream_block": ({"name": block["name"], "file": block["file"], "line": block["line"]}
                                    if block else None),
                 "servers": servers, "locations": [_location_entry(usage)], "effective": values,
                 "sources": sources, "_target": target, "_origin": origin, "_pass": _where(node),
                 "_order": [order]}
        index[key] = entry
        entries.append(entry)
    return entries


def _chain_for(entry, server, chains):
    names = [t["name"] for t in entry.get("probe_targets") or ()
             if (t["host"], t["port"]) == (server.get("host"), server.get("port"))]
    for key in names + [probe.address_label(entry, server), "%s:%s" % (server.get("host"), server.get("port")),
                        entry["name"], str(server.get("host"))]:
        if key in chains:
            return key, chains[key]
    return None, None


def upstream_findings(entry, ctx):
    """Findings of one upstream entry (see _findings.py for the words)."""
    values, sources, kind = entry["effective"], entry["sources"], entry["kind"]
    prefix = eff.KINDS[kind]["prefix"]
    directive = entry["directive"]
    at_pass = entry["_pass"]
    target, block = entry["_target"], entry["upstream_block"]
    name = entry["name"]
    found = []

    def where(key):
        return sources.get(key) or at_pass

    if entry["tls"] is None or (target["host"] is None and target["unix"] is None):
        found.append(_finding("pass_has_variables", at_pass, directive=directive, proxy_pass=entry["proxy_pass"],
                              resolver=" (through `resolver`)" if target["host"] is None else ""))
    for server in entry["servers"]:
        if server.get("port") is None and not server.get("unix") and server.get("host"):
            found.append(_finding("upstream_without_port", server if server.get("file") else at_pass,
                                  directive=directive, proxy_pass=entry["proxy_pass"], host=server["host"],
                                  scheme=target["scheme"] or "grpcs"))
    if entry["tls"] is not True:
        return found

    # plaintext ports
    for server in entry["servers"]:
        port = server.get("port")
        if port is None or server.get("unix"):
            continue
        socket = ctx["listeners"].lookup(server["host"], port)
        why = None
        if socket is not None and not socket["ssl"]:
            srv = socket["server"]
            why = "which this nginx serves without ssl (server %s at %s:%s)" % (
                server_label(srv), srv["file"], srv["line"])
        elif socket is None and port == 80:
            why = "the plain-HTTP port"
            if block and not server.get("port_explicit"):
                why = "port 80: the server %s of upstream %s has no port, so nginx uses 80" % (
                    server["host"], block["name"])
        if why:
            found.append(_finding("https_to_plain_port", server if server.get("file") else at_pass,
                                  directive=directive, proxy_pass=entry["proxy_pass"], host=server["host"],
                                  port=port, why=why, plain_hint=PLAIN_HINTS[kind],
                                  port_hint=(": server %s:443; in upstream %s" % (server["host"], block["name"])
                                             if block else "")))

    # SNI and the name
    origin = entry["_origin"]
    resolved = values["ssl_name"]
    hostnames = [s["host"] for s in entry["servers"]
                 if s.get("host") and not s.get("unix") and not net.is_ip_literal(s["host"])]
    if not values["server_name_on"]:
        sni_name, hosts, suggested = None, "", None
        if origin == "explicit" and resolved and not net.is_ip_literal(resolved):
            sni_name, suggested = resolved, resolved
        elif origin == "default" and not block and target["host"] and not net.is_ip_literal(target["host"]):
            sni_name, suggested = target["host"], target["host"]
        elif block and hostnames:
            sni_name, hosts, suggested = block["name"], " (servers %s)" % ", ".join(hostnames), hostnames[0]
        if sni_name:
            found.append(_finding("sni_off_for_hostname", where("server_name_on"), prefix=prefix, name=sni_name,
                                  hosts=hosts, suggested_name=suggested))
    named_like_a_server = block and block["name"].lower() in [h.lower() for h in hostnames]
    if block and origin == "default" and (values["server_name_on"] or values["verify"]) and not named_like_a_server:
        uses = {(True, True): "SNI and the name checked in its certificate", (True, False): "SNI",
                (False, True): "name checked in its certificate"}
        use = uses[(bool(values["server_name_on"]), bool(values["verify"]))]
        hosts = ", ".join("%s:%s" % (s.get("host"), s.get("port")) for s in entry["servers"]) or "none"
        found.append(_finding("ssl_name_is_upstream_block", block, severity="info" if "." in block["name"] else None,
                              prefix=prefix, name=block["name"], use=use, hosts=hosts,
                              suggested_name=hostnames[0] if hostnames else "<the upstream's DNS name>"))
    for cmd in probe.conf_commands(values["conf_commands"])[1]:
        found.append(_finding("conf_command_not_probed", where("conf_commands"), prefix=prefix, name=cmd["name"],
                              value=cmd["value"]))
    if origin == "variable":
        found.append(_finding("ssl_name_has_variables", where("ssl_name"), prefix=prefix,
                              ssl_name=values["ssl_name_directive"],
                              fallback="the host of each server"))

    for key in ("trusted_certificate", "certificate"):
        info = _certificate_info(ctx, values[key])
        if info and info.get("error") and not info.get("missing"):     # a copied tree lacks them: no noise
            found.append(_finding("certificate_unreadable", where(key), path=values[key],
                                  directive="%s_ssl_%s" % (prefix, key), error=info["error"]))

    # verification
    if not values["verify"]:
        found.append(_finding("verify_off", where("verify"), prefix=prefix, name=name,
                              origin=" (nginx's default)" if not sources.get("verify") else ""))
    else:
        if not values["trusted_certificate"]:
            found.append(_finding("verify_without_trusted_certificate", where("verify"), prefix=prefix, name=name))
        depth = values["verify_depth"] if values["verify_depth"] is not None else 1
        known = []
        for server in entry["servers"]:
            key, count = _chain_for(entry, server, ctx["chains"])
            if key is not None:
                known.append((key, count))
        too_long = [(k, c) for k, c in known if c > depth]
        for key, count in too_long:
            found.append(_finding("verify_depth_too_small", where("verify_depth"), prefix=prefix, depth=depth,
                                  chain_state="the chain of %s holds %d, so verification fails with "
                                              "(20:unable to get local issuer certificate)" % (key, count),
                                  suggested_depth=count))
        if not known and depth < 2:   # depth 2 and more covers the chains public CAs serve
            found.append(_finding("verify_depth_too_small", where("verify_depth"), severity="info", prefix=prefix,
                                  depth=depth, suggested_depth=max(depth + 1, 2),
                                  chain_state="needs probe: the chain of %s is not known yet (probe it with "
                                              "tls_probe, or pass its intermediates in chains)" % name))

    # protocols, ciphers, groups
    proto_directive = "%s_ssl_protocols" % prefix
    vlabel = ctx["version_label"]
    legacy = [p for p in values["protocols"] if p in LEGACY_PROTOCOLS]
    subject = "for %s" % name
    if legacy:
        found.append(_finding("legacy_protocols", where("protocols"), directive=proto_directive, subject=subject,
                              legacy=" ".join(legacy), origin=_origin(sources.get("protocols"), proto_directive,
                                                                      vlabel)))
    found.extend(_policy_findings(ctx["policy"], values["protocols"], values["ciphers"], values["groups"],
                                  subject, proto_directive, "%s_ssl_ciphers" % prefix,
                                  "%s_ssl_conf_command Groups" % prefix, sources, where, vlabel,
                                  {"protocols": "protocols", "ciphers": "ciphers", "groups": "groups"}))
    return found


def _policy_findings(policy, protocols, ciphers, groups, subject, proto_directive, cipher_directive,
                     group_directive, sources, where, vlabel, keys):
    found = []
    if not policy:
        return found
    if "protocols" in policy and set(protocols) != set(policy["protocols"]):
        found.append(_finding("protocols_differ_from_policy", where(keys["protocols"]), directive=proto_directive,
                              subject=subject, actual=" ".join(protocols) or "(none)",
                              wanted=" ".join(policy["protocols"]),
                              origin=_origin(sources.get(keys["protocols"]), proto_directive, vlabel)))
    if "ciphers" in policy:
        def split(text):
            return [c for c in re.split(r"[:\s]+", text or "") if c]
        if split(ciphers) != split(policy["ciphers"]):
            found.append(_finding("ciphers_differ_from_policy", where(keys["ciphers"]), directive=cipher_directive,
                                  subject=subject, actual=ciphers, wanted=policy["ciphers"],
                                  origin=_origin(sources.get(keys["ciphers"]), cipher_directive, vlabel)))
    if "groups" in policy:
        actual = [_group_key(g) for g in groups] if groups else None
        if actual != [_group_key(g) for g in policy["groups"]]:
            found.append(_finding("groups_differ_from_policy", where(keys["groups"]), subject=subject,
                                  actual=":".join(groups) if groups else "OpenSSL's defaults",
                                  wanted=":".join(policy["groups"]),
                                  origin="" if groups else " (%s is not set)" % group_directive,
                                  directive_hint="%s %s;" % (group_directive, ":".join(policy["groups"]))))
    return found


# --------------------------------------------------------------------------- servers

def _server_groups(server):
    for cmd in server["ssl_conf_commands"]:
        if cmd["name"].lower() in ("groups", "curves"):
            return [g for g in re.split(r"[:,]", cmd["value"]) if g]
    curve = server["ssl_ecdh_curve"]
    return None if not curve or curve.lower() == "auto" else [g for g in curve.split(":") if g]


def server_findings(server, ctx):
    found = []
    if not server["ssl"] or server["ssl_reject_handshake"]:
        return found
    sources = server["sources"]
    at_server = {"file": server["file"], "line": server["line"]}

    def where(key):
        return sources.get(key) or at_server

    label = "of server %s" % server_label(server)
    legacy = [p for p in server["ssl_protocols"] if p in LEGACY_PROTOCOLS]
    if legacy:
        found.append(_finding("legacy_protocols", where("ssl_protocols"), directive="ssl_protocols", subject=label,
                              legacy=" ".join(legacy),
                              origin=_origin(sources.get("ssl_protocols"), "ssl_protocols", ctx["version_label"])))
    found.extend(_policy_findings(ctx["policy"], server["ssl_protocols"], server["ssl_ciphers"],
                                  _server_groups(server), label, "ssl_protocols", "ssl_ciphers", "ssl_ecdh_curve",
                                  sources, where, ctx["version_label"],
                                  {"protocols": "ssl_protocols", "ciphers": "ssl_ciphers",
                                   "groups": "ssl_ecdh_curve"}))
    for path in server["ssl_certificates"]:
        if "$" in path or path.startswith("data:"):
            continue
        info = ctx["certificates"].get(_full_path(path, ctx["conf_prefix"]))
        if info is None:
            continue
        if info.get("error"):
            found.append(_finding("certificate_unreadable", where("ssl_certificates"), path=path,
                                  directive="ssl_certificate", error=info["error"]))
            continue
        certs = info["certificates"]
        if len(certs) != 1 or certs[0]["self_issued"]:
            continue
        issuers = info.get("issuer_found_in") or []
        if any(i["self_issued"] for i in issuers):
            continue
        known = (" (it is in %s, but as an intermediate)" % issuers[0]["file"]) if issuers else ""
        found.append(_finding("certificate_not_full_chain", where("ssl_certificates"), path=path,
                              subject=certs[0]["subject"], issuer=certs[0]["issuer"], known=known))
    return found


# --------------------------------------------------------------------------- whole configuration

def duplicate_findings(config):
    found = []
    blocks = [(config.root, ())] + [(n, p) for n, p in config.walk() if n.block is not None]
    for node, dummy in blocks:
        if node.name in eff.TABLE_BLOCKS:
            continue
        seen = {}
        for child in node.block:
            if child.name not in DUPLICATE_CHECKED:
                continue
            if child.name in seen:
                first = seen[child.name]
                label = node.name if node.name != "location" else "location %s" % " ".join(node.args)
                found.append(_finding("duplicate_directive", _where(child), directive=child.name,
                                      block="main" if node.name == "main" else label,
                                      first="%s:%s" % (first.file, first.line)))
            else:
                seen[child.name] = child
    return found


def _config_test_findings(test):
    if not test or test.get("ok"):
        return []
    messages = test.get("messages") or []
    serious = [m for m in messages if m.startswith(("[emerg]", "[alert]", "[crit]"))] or messages
    text = serious[0] if serious else (test.get("stderr") or "").strip() or "nginx -T exited with %s" % test.get("rc")
    if test.get("rc") is None or "(13: Permission denied)" in text:
        return [_finding("config_not_tested", None, reason=text)]
    where = None
    match = re.search(r" in (/\S+):(\d+)$", text)
    if match:
        where = {"file": match.group(1), "line": int(match.group(2))}
    return [_finding("config_rejected", where, nginx_message=text,
                     where=" at %s:%s" % (where["file"], where["line"]) if where else "")]


def _judged_by_nginx(test, findings):
    """Did nginx itself test this configuration (``nginx -T`` ran to the end, with the rights it needs)?"""
    return bool(test) and test.get("rc") is not None and not test.get("skipped") and not any(
        f["code"] == "config_not_tested" for f in findings)


def rejected_message(errors, shown=5):
    """The failure of a configuration nginx would reject, read without nginx: each error at its file:line."""
    listed = "; ".join(err["error"] if " in %s:" % err["file"] in err["error"] or err["line"] is None
                       else "%s in %s:%s" % (err["error"], err["file"], err["line"]) for err in errors[:shown])
    more = " (and %d more)" % (len(errors) - shown) if len(errors) > shown else ""
    return ("the nginx configuration cannot be parsed, and nginx would reject it: %s%s. Fix it there and check it "
            "with `nginx -t`; nothing else is reported for a configuration nginx cannot load (crossplane)"
            % (listed, more))


def _nginx_info(raw, version_override):
    collected = raw.get("nginx") or {}
    info = parse_version_output(collected.get("version_output") or "")
    reason = None
    version_string = version_override or info.get("version")
    version = eff.parse_version(version_string)
    if version_override and version is None:
        raise OptionError("nginx_version: %r is not a version such as 1.22.1" % version_override)
    if version is None:
        reason = ("nginx -V did not name a version" if collected.get("path")
                  else "no nginx binary on the host; the configuration was read from the files")
    return {
        "path": collected.get("path"),
        "product": info.get("product"),
        "version": version_string if version else None,
        "version_assumed": version is None,
        "version_from": "nginx_version" if version_override else ("nginx -V" if info.get("version") else None),
        "openssl_built": info.get("openssl_built"),
        "openssl_running": info.get("openssl_running"),
        "conf_path": info.get("conf_path"),
        "prefix": info.get("prefix"),
        "defaults": dict(eff.default_directives(version), ssl_protocols=eff.default_protocols(version)),
    }, version, reason


def _public_upstream(entry):
    return {k: v for k, v in entry.items() if not k.startswith("_")}


def analyse(raw, policy=None, chains=None, local_addresses=None, nginx_version=None):
    """The module's result from the module's raw collection (see module_utils/_nginx_collect.py)."""
    policy = check_policy(policy)
    chains = check_chains(chains)
    nginx, version, version_reason = _nginx_info(raw, nginx_version)
    findings = _config_test_findings(raw.get("config_test"))
    for err in raw.get("read_errors") or ():
        at = {"file": err["file"], "line": err["line"]} if err.get("file") else {"file": err["path"], "line": None}
        findings.append(_finding("config_file_unreadable", at, path=err["path"], error=err["error"]))
    result = {"changed": False, "source": raw.get("source"), "config_file": raw.get("config_file"),
              "files": [f["path"] for f in raw.get("files") or ()], "nginx": nginx,
              "config_test": raw.get("config_test"), "servers": [], "upstreams": [], "probe_targets": [],
              "findings": findings}
    if version is None:
        findings.append(_finding("nginx_version_unknown", None, reason=version_reason,
                                 defaults="proxy_ssl_protocols %s" % " ".join(eff.default_protocols(None))))
    if not raw.get("files"):
        result["summary"] = summarise(result)
        return result
    refused = {err["path"] for err in raw.get("read_errors") or () if not err.get("missing")}
    config = nparse.parse(raw["files"], main=raw.get("config_file"), conf_prefix=raw.get("conf_prefix"),
                          refused=refused)
    if config.errors and not _judged_by_nginx(raw.get("config_test"), findings):
        raise nparse.ParseError(rejected_message(config.errors), config.errors)
    for err in config.errors:
        findings.append(_finding("config_syntax_error", err, error=err["error"]))
    findings.extend(duplicate_findings(config))

    extracted = eff.extract(config, version)
    ctx = {"listeners": Listeners(extracted["servers"], local_addresses), "chains": chains, "policy": policy,
           "certificates": raw.get("certificates") or {}, "conf_prefix": config.conf_prefix,
           "version_label": eff.version_text(version) if version else "newest"}
    for server in extracted["servers"]:
        server["findings"] = server_findings(server, ctx)
        for item in server["findings"]:
            findings.append(dict(item, server=server_label(server)))
        result["servers"].append(server)
    entries = build_upstreams(extracted, version)
    plain = plaintext.tls_port_entries(extracted, ctx["listeners"], _location_entry)
    # targets first: a `chains` key may be a target's name, and names need every entry
    result["probe_targets"] = probe.assign_probe_targets(entries + plain, config.conf_prefix)
    for entry in plain:
        findings.extend(entry["findings"])
    for entry in entries:
        entry["findings"] = upstream_findings(entry, ctx)
        for item in entry["findings"]:
            findings.append(dict(item, upstream=entry["name"]))
        result["upstreams"].append(_public_upstream(entry))
    findings.extend(unreadable_certificate_findings(ctx["certificates"]))
    result["summary"] = summarise(result)
    return result


def _certificate_info(ctx, path):
    """What the host read of the certificate file ``path`` (as configured), or None."""
    if not path or "$" in path or path.startswith("data:"):
        return None
    return ctx["certificates"].get(_full_path(path, ctx["conf_prefix"]))


def unreadable_certificate_findings(certificates):
    """The servers' CA files (ssl_client_certificate, ssl_trusted_certificate) that could not be read, at the
    file:line that names them; certificates and upstream CA files are judged per server and upstream."""
    found = []
    for path, info in sorted(certificates.items()):
        if (info.get("error") and not info.get("missing")
                and info.get("directive") in ("ssl_client_certificate", "ssl_trusted_certificate")):
            found.append(_finding("certificate_unreadable", info, path=path, directive=info["directive"],
                                  error=info["error"]))
    return found


def summarise(result):
    by_severity = {s: 0 for s in _findings.SEVERITIES}
    by_code = {}
    for item in result["findings"]:
        by_severity[item["severity"]] = by_severity.get(item["severity"], 0) + 1
        by_code[item["code"]] = by_code.get(item["code"], 0) + 1
    test = result.get("config_test")
    return {"upstreams": len(result["upstreams"]), "servers": len(result["servers"]),
            "probe_targets": len(result["probe_targets"]), "findings": len(result["findings"]),
            "by_severity": by_severity, "by_code": by_code,
            "config_valid": None if not test else bool(test.get("ok"))}
