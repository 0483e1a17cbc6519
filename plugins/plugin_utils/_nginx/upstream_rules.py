# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The findings of one upstream entry (upstreams.py), one rule function per finding.

Each rule takes an ``Upstream`` (the entry and the analysis context) and returns its findings, possibly
none.  ``RULES`` runs them in the order the module reports them; a new check is a new function in that
list, its words a new code in module_utils/_common/findings.py.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional, Tuple, cast

from ansible_collections.tlsops.handshake.plugins.module_utils._common import net
from ansible_collections.tlsops.handshake.plugins.module_utils._tls.names import LEGACY_PROTOCOLS
from ansible_collections.tlsops.handshake.plugins.plugin_utils._nginx import effective as eff, targets as probe
from ansible_collections.tlsops.handshake.plugins.plugin_utils._nginx.listeners import server_label
from ansible_collections.tlsops.handshake.plugins.plugin_utils._nginx.rules import NginxFinding, default_origin, finding_at, policy_findings
from ansible_collections.tlsops.handshake.plugins.plugin_utils._nginx.targets import full_path

# effective.py's table of pass kinds, as mypy should see it (until effective.py annotates it).
KINDS = cast(Dict[str, Dict[str, Any]], eff.KINDS)

# kind -> what makes that pass plaintext (the fix of https_to_plain_port)
PLAIN_HINTS = {"proxy": "http://", "grpc": "grpc://", "uwsgi": "uwsgi://", "stream": "proxy_ssl off;"}


class Upstream:
    """One upstream entry as the rules read it, with the analysis context ``ctx`` (report.analyse)."""

    def __init__(self, entry: Dict[str, Any], ctx: Dict[str, Any]) -> None:
        self.entry = entry
        self.ctx = ctx
        self.values: Dict[str, Any] = entry["effective"]
        self.sources: Dict[str, Any] = entry["sources"]
        self.kind: str = entry["kind"]
        self.prefix: str = KINDS[self.kind]["prefix"]
        self.directive: str = entry["directive"]
        self.at_pass: Dict[str, Any] = entry["_pass"]
        self.target: Dict[str, Any] = entry["_target"]
        self.block: Optional[Dict[str, Any]] = entry["upstream_block"]
        self.name: str = entry["name"]
        self.origin: str = entry["_origin"]
        # the servers named by DNS name (not IP literals, not unix sockets)
        self.hostnames: List[str] = [s["host"] for s in entry["servers"]
                                     if s.get("host") and not s.get("unix") and not net.is_ip_literal(s["host"])]

    def where(self, key: str) -> Dict[str, Any]:
        """The file:line that set ``key``, else the pass itself."""
        return self.sources.get(key) or self.at_pass

    def at_server(self, server: Dict[str, Any]) -> Dict[str, Any]:
        return server if server.get("file") else self.at_pass


Rule = Callable[[Upstream], List[NginxFinding]]


# --------------------------------------------------------------------------- any pass

def pass_has_variables(up: Upstream) -> List[NginxFinding]:
    if up.entry["tls"] is None or (up.target["host"] is None and up.target["unix"] is None):
        return [finding_at("pass_has_variables", up.at_pass, directive=up.directive, proxy_pass=up.entry["proxy_pass"],
                           resolver=" (through `resolver`)" if up.target["host"] is None else "")]
    return []


def upstream_without_port(up: Upstream) -> List[NginxFinding]:
    return [finding_at("upstream_without_port", up.at_server(server), directive=up.directive,
                       proxy_pass=up.entry["proxy_pass"], host=server["host"], scheme=up.target["scheme"] or "grpcs")
            for server in up.entry["servers"]
            if server.get("port") is None and not server.get("unix") and server.get("host")]


# --------------------------------------------------------------------------- TLS passes only

def _plain_port_why(up: Upstream, server: Dict[str, Any], port: int) -> Optional[str]:
    """Why ``server``'s port speaks plaintext, or None."""
    socket = up.ctx["listeners"].lookup(server["host"], port)
    if socket is not None and not socket["ssl"]:
        srv = socket["server"]
        return "which this nginx serves without ssl (server %s at %s:%s)" % (server_label(srv), srv["file"], srv["line"])
    if socket is None and port == 80:
        if up.block and not server.get("port_explicit"):
            return "port 80: the server %s of upstream %s has no port, so nginx uses 80" % (
                server["host"], up.block["name"])
        return "the plain-HTTP port"
    return None


def https_to_plain_port(up: Upstream) -> List[NginxFinding]:
    found = []
    for server in up.entry["servers"]:
        port = server.get("port")
        if port is None or server.get("unix"):
            continue
        why = _plain_port_why(up, server, port)
        if why:
            found.append(finding_at("https_to_plain_port", up.at_server(server),
                                    directive=up.directive, proxy_pass=up.entry["proxy_pass"], host=server["host"],
                                    port=port, why=why, plain_hint=PLAIN_HINTS[up.kind],
                                    port_hint=(": server %s:443; in upstream %s" % (server["host"], up.block["name"])
                                               if up.block else "")))
    return found


def sni_off_for_hostname(up: Upstream) -> List[NginxFinding]:
    if up.values["server_name_on"]:
        return []
    resolved, target, block = up.values["ssl_name"], up.target, up.block
    sni_name, hosts, suggested = None, "", None
    if up.origin == "explicit" and resolved and not net.is_ip_literal(resolved):
        sni_name, suggested = resolved, resolved
    elif up.origin == "default" and not block and target["host"] and not net.is_ip_literal(target["host"]):
        sni_name, suggested = target["host"], target["host"]
    elif block and up.hostnames:
        sni_name, hosts, suggested = block["name"], " (servers %s)" % ", ".join(up.hostnames), up.hostnames[0]
    if not sni_name:
        return []
    return [finding_at("sni_off_for_hostname", up.where("server_name_on"), prefix=up.prefix, name=sni_name,
                       hosts=hosts, suggested_name=suggested)]


_NAME_USES = {(True, True): "SNI and the name checked in its certificate", (True, False): "SNI",
              (False, True): "name checked in its certificate"}


def ssl_name_is_upstream_block(up: Upstream) -> List[NginxFinding]:
    block, values = up.block, up.values
    if not block or up.origin != "default" or not (values["server_name_on"] or values["verify"]):
        return []
    if block["name"].lower() in [h.lower() for h in up.hostnames]:
        return []   # named like one of its servers: the name is right
    use = _NAME_USES[(bool(values["server_name_on"]), bool(values["verify"]))]
    hosts = ", ".join("%s:%s" % (s.get("host"), s.get("port")) for s in up.entry["servers"]) or "none"
    return [finding_at("ssl_name_is_upstream_block", block, severity="info" if "." in block["name"] else None,
                       prefix=up.prefix, name=block["name"], use=use, hosts=hosts,
                       suggested_name=up.hostnames[0] if up.hostnames else "<the upstream's DNS name>")]


def conf_command_not_probed(up: Upstream) -> List[NginxFinding]:
    return [finding_at("conf_command_not_probed", up.where("conf_commands"), prefix=up.prefix, name=cmd["name"],
                       value=cmd["value"])
            for cmd in probe.conf_commands(up.values["conf_commands"])[1]]


def ssl_name_has_variables(up: Upstream) -> List[NginxFinding]:
    if up.origin != "variable":
        return []
    return [finding_at("ssl_name_has_variables", up.where("ssl_name"), prefix=up.prefix,
                       ssl_name=up.values["ssl_name_directive"], fallback="the host of each server")]


def _certificate_info(ctx: Dict[str, Any], path: Optional[str]) -> Optional[Dict[str, Any]]:
    """What the host read of the certificate file ``path`` (as configured), or None."""
    if not path or "$" in path or path.startswith("data:"):
        return None
    return ctx["certificates"].get(full_path(path, ctx["conf_prefix"]))


def certificate_unreadable(up: Upstream) -> List[NginxFinding]:
    found = []
    for key in ("trusted_certificate", "certificate"):
        info = _certificate_info(up.ctx, up.values[key])
        if info and info.get("error") and not info.get("missing"):     # a copied tree lacks them: no noise
            found.append(finding_at("certificate_unreadable", up.where(key), path=up.values[key],
                                    directive="%s_ssl_%s" % (up.prefix, key), error=info["error"]))
    return found


# --------------------------------------------------------------------------- verification

def verify_off(up: Upstream) -> List[NginxFinding]:
    if up.values["verify"]:
        return []
    return [finding_at("verify_off", up.where("verify"), prefix=up.prefix, name=up.name,
                       origin=" (nginx's default)" if not up.sources.get("verify") else "")]


def verify_without_trusted_certificate(up: Upstream) -> List[NginxFinding]:
    if not up.values["verify"] or up.values["trusted_certificate"]:
        return []
    return [finding_at("verify_without_trusted_certificate", up.where("verify"), prefix=up.prefix, name=up.name)]


def _chain_for(entry: Dict[str, Any], server: Dict[str, Any], chains: Dict[str, int]) -> Tuple[Optional[str], Optional[int]]:
    names = [t["name"] for t in entry.get("probe_targets") or ()
             if (t["host"], t["port"]) == (server.get("host"), server.get("port"))]
    for key in names + [probe.address_label(entry, server), "%s:%s" % (server.get("host"), server.get("port")),
                        entry["name"], str(server.get("host"))]:
        if key in chains:
            return key, chains[key]
    return None, None


def verify_depth_too_small(up: Upstream) -> List[NginxFinding]:
    if not up.values["verify"]:
        return []
    depth = up.values["verify_depth"] if up.values["verify_depth"] is not None else 1
    known = []
    for server in up.entry["servers"]:
        key, count = _chain_for(up.entry, server, up.ctx["chains"])
        if key is not None and count is not None:
            known.append((key, count))
    found = [finding_at("verify_depth_too_small", up.where("verify_depth"), prefix=up.prefix, depth=depth,
                        chain_state="the chain of %s holds %d, so verification fails with "
                                    "(20:unable to get local issuer certificate)" % (key, count),
                        suggested_depth=count)
             for key, count in known if count > depth]
    if not known and depth < 2:   # depth 2 and more covers the chains public CAs serve
        found.append(finding_at("verify_depth_too_small", up.where("verify_depth"), severity="info", prefix=up.prefix,
                                depth=depth, suggested_depth=max(depth + 1, 2),
                                chain_state="needs probe: the chain of %s is not known yet (probe it with "
                                            "tls_probe, or pass its intermediates in chains)" % up.name))
    return found


# --------------------------------------------------------------------------- protocols, ciphers, groups

def legacy_protocols(up: Upstream) -> List[NginxFinding]:
    proto_directive = "%s_ssl_protocols" % up.prefix
    legacy = [p for p in up.values["protocols"] if p in LEGACY_PROTOCOLS]
    if not legacy:
        return []
    return [finding_at("legacy_protocols", up.where("protocols"), directive=proto_directive, subject="for %s" % up.name,
                       legacy=" ".join(legacy),
                       origin=default_origin(up.sources.get("protocols"), proto_directive, up.ctx["version_label"]))]


def differs_from_policy(up: Upstream) -> List[NginxFinding]:
    """protocols_differ_from_policy, ciphers_differ_from_policy, groups_differ_from_policy."""
    values, prefix = up.values, up.prefix
    return policy_findings(up.ctx["policy"], values["protocols"], values["ciphers"], values["groups"],
                           "for %s" % up.name, "%s_ssl_protocols" % prefix, "%s_ssl_ciphers" % prefix,
                           "%s_ssl_conf_command Groups" % prefix, up.sources, up.where, up.ctx["version_label"],
                           {"protocols": "protocols", "ciphers": "ciphers", "groups": "groups"})


# Rules for every pass, then (for a pass that speaks TLS) the TLS rules, each in the order of the output.
ANY_PASS_RULES: Tuple[Rule, ...] = (pass_has_variables, upstream_without_port)
TLS_RULES: Tuple[Rule, ...] = (
    https_to_plain_port, sni_off_for_hostname, ssl_name_is_upstream_block, conf_command_not_probed,
    ssl_name_has_variables, certificate_unreadable, verify_off, verify_without_trusted_certificate,
    verify_depth_too_small, legacy_protocols, differs_from_policy,
)


def upstream_findings(entry: Dict[str, Any], ctx: Dict[str, Any]) -> List[NginxFinding]:
    """Findings of one upstream entry (see module_utils/_common/findings.py for the words)."""
    up = Upstream(entry, ctx)
    rules = ANY_PASS_RULES + (TLS_RULES if entry["tls"] is True else ())
    return [item for rule in rules for item in rule(up)]
