# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""nginx_tls_info's judgement, on the controller: ``analyse(raw, ...)`` makes the module's result.

It takes what the module collected on the host (module_utils/_nginx/collect.py), parses it with
crossplane (parse.py), reads each server's and pass's effective settings (effective.py), and composes:

    options.py         the ``policy`` and ``chains`` options, checked
    listeners.py       the listen sockets of this nginx, server labels
    upstreams.py       ``upstreams``: every TLS ``*_pass`` grouped by what it reaches
    targets.py         ``probe_targets`` (plaintext.py: plaintext passes aimed at TLS ports)
    upstream_rules.py  one rule function per finding of an upstream
    server_rules.py    the findings of the TLS servers and their CA files
    config_rules.py    ``nginx -T``'s verdict, duplicate directives

Plain Python: unit tests call it with configurations they write themselves.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

from ansible_collections.tlsops.handshake.plugins.module_utils._common import findings as _findings
from ansible_collections.tlsops.handshake.plugins.module_utils._nginx.collect import parse_version_output
from ansible_collections.tlsops.handshake.plugins.plugin_utils._nginx import effective as eff, parse as nparse, plaintext, targets as probe
from ansible_collections.tlsops.handshake.plugins.plugin_utils._nginx.config_rules import (
    config_test_findings,
    duplicate_findings,
    judged_by_nginx,
    rejected_message,
)
from ansible_collections.tlsops.handshake.plugins.plugin_utils._nginx.listeners import Listeners, server_label

# OptionError, check_policy, check_chains and build_upstreams are part of this module's interface (the action
# plugin and the tests use them through it).
from ansible_collections.tlsops.handshake.plugins.plugin_utils._nginx.options import OptionError, check_chains, check_policy  # noqa: F401
from ansible_collections.tlsops.handshake.plugins.plugin_utils._nginx.rules import NginxFinding, finding_at
from ansible_collections.tlsops.handshake.plugins.plugin_utils._nginx.server_rules import server_findings, unreadable_certificate_findings
from ansible_collections.tlsops.handshake.plugins.plugin_utils._nginx.upstream_rules import upstream_findings
from ansible_collections.tlsops.handshake.plugins.plugin_utils._nginx.upstreams import build_upstreams, location_entry, public_upstream  # noqa: F401


def _nginx_info(raw: Dict[str, Any], version_override: Optional[str]) -> Tuple[Dict[str, Any], Any, Optional[str]]:
    """The module's ``nginx`` (from ``nginx -V`` or ``nginx_version``), its version, and why it is unknown."""
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


def _read_error_findings(raw: Dict[str, Any]) -> List[NginxFinding]:
    found = []
    for err in raw.get("read_errors") or ():
        at = {"file": err["file"], "line": err["line"]} if err.get("file") else {"file": err["path"], "line": None}
        found.append(finding_at("config_file_unreadable", at, path=err["path"], error=err["error"]))
    return found


def analyse(raw: Dict[str, Any], policy: Any = None, chains: Any = None, local_addresses: Any = None,
            nginx_version: Optional[str] = None) -> Dict[str, Any]:
    """The module's result from the module's raw collection (see module_utils/_nginx/collect.py)."""
    policy = check_policy(policy)
    chains = check_chains(chains)
    nginx, version, version_reason = _nginx_info(raw, nginx_version)
    findings: List[Any] = list(config_test_findings(raw.get("config_test")))
    findings.extend(_read_error_findings(raw))
    result: Dict[str, Any] = {
        "changed": False, "source": raw.get("source"), "config_file": raw.get("config_file"),
        "files": [f["path"] for f in raw.get("files") or ()], "nginx": nginx,
        "config_test": raw.get("config_test"), "servers": [], "upstreams": [], "probe_targets": [],
        "findings": findings}
    if version is None:
        findings.append(finding_at("nginx_version_unknown", None, reason=version_reason,
                                   defaults="proxy_ssl_protocols %s" % " ".join(eff.default_protocols(None))))
    if not raw.get("files"):
        result["summary"] = summarise(result)
        return result
    refused = {err["path"] for err in raw.get("read_errors") or () if not err.get("missing")}
    accepted = raw.get("source") == "nginx -T" and bool((raw.get("config_test") or {}).get("ok"))
    config = nparse.parse(raw["files"], main=raw.get("config_file"), conf_prefix=raw.get("conf_prefix"),
                          refused=refused, nginx_accepted=accepted)
    if config.errors and not judged_by_nginx(raw.get("config_test"), findings):
        raise nparse.ParseError(rejected_message(config.errors), config.errors)
    for err in config.errors:
        findings.append(finding_at("config_syntax_error", err, error=err["error"]))
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
    plain = plaintext.tls_port_entries(extracted, ctx["listeners"], location_entry)
    # targets first: a `chains` key may be a target's name, and names need every entry
    result["probe_targets"] = probe.assign_probe_targets(entries + plain, config.conf_prefix)
    for entry in plain:
        findings.extend(entry["findings"])
    for entry in entries:
        entry["findings"] = upstream_findings(entry, ctx)
        for item in entry["findings"]:
            findings.append(dict(item, upstream=entry["name"]))
        result["upstreams"].append(public_upstream(entry))
    findings.extend(unreadable_certificate_findings(ctx["certificates"]))
    result["summary"] = summarise(result)
    return result


def summarise(result: Dict[str, Any]) -> Dict[str, Any]:
    """The module's ``summary``: counts of upstreams, servers, targets, findings by severity and code."""
    by_severity = {s: 0 for s in _findings.SEVERITIES}
    by_code: Dict[str, int] = {}
    for item in result["findings"]:
        by_severity[item["severity"]] = by_severity.get(item["severity"], 0) + 1
        by_code[item["code"]] = by_code.get(item["code"], 0) + 1
    test = result.get("config_test")
    return {"upstreams": len(result["upstreams"]), "servers": len(result["servers"]),
            "probe_targets": len(result["probe_targets"]), "findings": len(result["findings"]),
            "by_severity": by_severity, "by_code": by_code,
            "config_valid": None if not test else bool(test.get("ok"))}
