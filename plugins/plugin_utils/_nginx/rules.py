# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What nginx_tls_info's rule files share: a finding placed at a file:line, and the policy rules that judge
servers (server_rules.py) and upstreams (upstream_rules.py) alike."""

from __future__ import annotations

import re
from typing import Any, Callable, Dict, List, Mapping, Optional

from ansible_collections.tlsops.handshake.plugins.module_utils._common import findings as _findings
from ansible_collections.tlsops.handshake.plugins.module_utils._tls import wire


class NginxFinding(_findings.Finding):
    """A finding of _common/findings.py at the configuration file:line it is about (None: not one place)."""

    file: Optional[str]
    line: Optional[int]


def finding_at(code: str, at: Optional[Mapping[str, Any]] = None, **fields: Any) -> NginxFinding:
    """A finding of _common/findings.py, placed at ``at`` ({file, line} or anything with those keys)."""
    entry = _findings.finding(code, **fields)
    place = at or {}
    return NginxFinding(code=entry["code"], severity=entry["severity"], message=entry["message"], fix=entry["fix"],
                        cause=entry["cause"], file=place.get("file"), line=place.get("line"))


def node_at(node: Any) -> Dict[str, Any]:
    """Where a parsed directive (parse.py's Node) stands."""
    return {"file": node.file, "line": node.line}


def default_origin(source: Any, directive: str, version_label: str) -> str:
    """The words that say a value is nginx's default, or nothing when ``directive`` set it (``source``)."""
    return "" if source else " (nginx %s's default: %s is not set)" % (version_label, directive)


def group_key(name: str) -> Any:
    """A key under which two spellings of one TLS group compare equal (its code point when known)."""
    try:
        return wire.group_code(name)
    except (ValueError, KeyError):
        return name.lower()


def _cipher_list(text: Optional[str]) -> List[str]:
    return [c for c in re.split(r"[:\s]+", text or "") if c]


def policy_findings(policy: Optional[Mapping[str, Any]], protocols: List[str], ciphers: Optional[str],
                    groups: Optional[List[str]], subject: str, proto_directive: str, cipher_directive: str,
                    group_directive: str, sources: Mapping[str, Any], where: Callable[[str], Any], vlabel: str,
                    keys: Mapping[str, str]) -> List[NginxFinding]:
    """Where protocols, ciphers and groups differ from ``policy`` (``keys``: their names in ``sources``)."""
    found: List[NginxFinding] = []
    if not policy:
        return found
    if "protocols" in policy and set(protocols) != set(policy["protocols"]):
        found.append(finding_at("protocols_differ_from_policy", where(keys["protocols"]), directive=proto_directive,
                                subject=subject, actual=" ".join(protocols) or "(none)",
                                wanted=" ".join(policy["protocols"]),
                                origin=default_origin(sources.get(keys["protocols"]), proto_directive, vlabel)))
    if "ciphers" in policy and _cipher_list(ciphers) != _cipher_list(policy["ciphers"]):
        found.append(finding_at("ciphers_differ_from_policy", where(keys["ciphers"]), directive=cipher_directive,
                                subject=subject, actual=ciphers, wanted=policy["ciphers"],
                                origin=default_origin(sources.get(keys["ciphers"]), cipher_directive, vlabel)))
    if "groups" in policy:
        actual = [group_key(g) for g in groups] if groups else None
        if actual != [group_key(g) for g in policy["groups"]]:
            found.append(finding_at("groups_differ_from_policy", where(keys["groups"]), subject=subject,
                                    actual=":".join(groups) if groups else "OpenSSL's defaults",
                                    wanted=":".join(policy["groups"]),
                                    origin="" if groups else " (%s is not set)" % group_directive,
                                    directive_hint="%s %s;" % (group_directive, ":".join(policy["groups"]))))
    return found
