# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The findings of the TLS servers of the nginx being read (its ``listen ... ssl`` side), and of the CA files
they name."""

from __future__ import annotations

import re
from typing import Any, Dict, List, Optional

from ansible_collections.tlsops.handshake.plugins.module_utils._tls.names import LEGACY_PROTOCOLS
from ansible_collections.tlsops.handshake.plugins.plugin_utils._nginx.listeners import server_label
from ansible_collections.tlsops.handshake.plugins.plugin_utils._nginx.rules import NginxFinding, default_origin, finding_at, policy_findings
from ansible_collections.tlsops.handshake.plugins.plugin_utils._nginx.targets import full_path

# The server's settings under the names policy_findings() compares.
_POLICY_KEYS = {"protocols": "ssl_protocols", "ciphers": "ssl_ciphers", "groups": "ssl_ecdh_curve"}


def _server_groups(server: Dict[str, Any]) -> Optional[List[str]]:
    for cmd in server["ssl_conf_commands"]:
        if cmd["name"].lower() in ("groups", "curves"):
            return [g for g in re.split(r"[:,]", cmd["value"]) if g]
    curve = server["ssl_ecdh_curve"]
    return None if not curve or curve.lower() == "auto" else [g for g in curve.split(":") if g]


def _certificate_findings(server: Dict[str, Any], ctx: Dict[str, Any], where: Any) -> List[NginxFinding]:
    """certificate_unreadable and certificate_not_full_chain for the server's ssl_certificate files."""
    found = []
    for path in server["ssl_certificates"]:
        if "$" in path or path.startswith("data:"):
            continue
        info = ctx["certificates"].get(full_path(path, ctx["conf_prefix"]))
        if info is None:
            continue
        if info.get("error"):
            found.append(finding_at("certificate_unreadable", where("ssl_certificates"), path=path,
                                    directive="ssl_certificate", error=info["error"]))
            continue
        certs = info["certificates"]
        if len(certs) != 1 or certs[0]["self_issued"]:
            continue
        issuers = info.get("issuer_found_in") or []
        if any(i["self_issued"] for i in issuers):
            continue
        known = (" (it is in %s, but as an intermediate)" % issuers[0]["file"]) if issuers else ""
        found.append(finding_at("certificate_not_full_chain", where("ssl_certificates"), path=path,
                                subject=certs[0]["subject"], issuer=certs[0]["issuer"], known=known))
    return found


def server_findings(server: Dict[str, Any], ctx: Dict[str, Any]) -> List[NginxFinding]:
    """Findings of one server that terminates TLS (none for a plain or ``ssl_reject_handshake`` server)."""
    found: List[NginxFinding] = []
    if not server["ssl"] or server["ssl_reject_handshake"]:
        return found
    sources = server["sources"]
    at_server = {"file": server["file"], "line": server["line"]}

    def where(key):
        return sources.get(key) or at_server

    label = "of server %s" % server_label(server)
    legacy = [p for p in server["ssl_protocols"] if p in LEGACY_PROTOCOLS]
    if legacy:
        found.append(finding_at("legacy_protocols", where("ssl_protocols"), directive="ssl_protocols", subject=label,
                                legacy=" ".join(legacy),
                                origin=default_origin(sources.get("ssl_protocols"), "ssl_protocols",
                                                      ctx["version_label"])))
    found.extend(policy_findings(ctx["policy"], server["ssl_protocols"], server["ssl_ciphers"],
                                 _server_groups(server), label, "ssl_protocols", "ssl_ciphers", "ssl_ecdh_curve",
                                 sources, where, ctx["version_label"], _POLICY_KEYS))
    found.extend(_certificate_findings(server, ctx, where))
    return found


def unreadable_certificate_findings(certificates: Dict[str, Dict[str, Any]]) -> List[NginxFinding]:
    """The servers' CA files (ssl_client_certificate, ssl_trusted_certificate) that could not be read, at the
    file:line that names them; certificates and upstream CA files are judged per server and upstream."""
    found = []
    for path, info in sorted(certificates.items()):
        if (info.get("error") and not info.get("missing")
                and info.get("directive") in ("ssl_client_certificate", "ssl_trusted_certificate")):
            found.append(finding_at("certificate_unreadable", info, path=path, directive=info["directive"],
                                    error=info["error"]))
    return found
