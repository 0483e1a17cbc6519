# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Findings about the configuration as a whole: what ``nginx -T`` said of it, and directives set twice."""

from __future__ import annotations

import re
from typing import Any, Dict, List, Optional

from ansible_collections.tlsops.handshake.plugins.plugin_utils._nginx import effective as eff
from ansible_collections.tlsops.handshake.plugins.plugin_utils._nginx.rules import NginxFinding, finding_at, node_at

# Directives nginx accepts once per block ("is duplicate" otherwise).  Array directives
# (ssl_certificate, ssl_conf_command, proxy_set_header, listen, ...) may repeat.  The upstream
# TLS directives come from the tables of effective.py, for each of proxy_, grpc_ and uwsgi_.
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


def duplicate_findings(config: Any) -> List[NginxFinding]:
    """duplicate_directive: a directive of DUPLICATE_CHECKED set twice in one block."""
    found = []
    blocks = [(config.root, ())] + [(n, p) for n, p in config.walk() if n.block is not None]
    for node, dummy in blocks:
        if node.name in eff.TABLE_BLOCKS:
            continue
        seen: Dict[str, Any] = {}
        for child in node.block:
            if child.name not in DUPLICATE_CHECKED:
                continue
            if child.name in seen:
                first = seen[child.name]
                label = node.name if node.name != "location" else "location %s" % " ".join(node.args)
                found.append(finding_at("duplicate_directive", node_at(child), directive=child.name,
                                        block="main" if node.name == "main" else label,
                                        first="%s:%s" % (first.file, first.line)))
            else:
                seen[child.name] = child
    return found


def config_test_findings(test: Optional[Dict[str, Any]]) -> List[NginxFinding]:
    """config_not_tested or config_rejected from the host's ``nginx -T`` run (none when it passed)."""
    if not test or test.get("ok"):
        return []
    messages = test.get("messages") or []
    serious = [m for m in messages if m.startswith(("[emerg]", "[alert]", "[crit]"))] or messages
    text = serious[0] if serious else (test.get("stderr") or "").strip() or "nginx -T exited with %s" % test.get("rc")
    if test.get("rc") is None or "(13: Permission denied)" in text:
        return [finding_at("config_not_tested", None, reason=text)]
    where = None
    match = re.search(r" in (/\S+):(\d+)$", text)
    if match:
        where = {"file": match.group(1), "line": int(match.group(2))}
    return [finding_at("config_rejected", where, nginx_message=text,
                       where=" at %s:%s" % (where["file"], where["line"]) if where else "")]


def judged_by_nginx(test: Optional[Dict[str, Any]], findings: List[NginxFinding]) -> bool:
    """Did nginx itself test this configuration (``nginx -T`` ran to the end, with the rights it needs)?"""
    if not test:
        return False
    return test.get("rc") is not None and not test.get("skipped") and not any(
        f["code"] == "config_not_tested" for f in findings)


def rejected_message(errors: List[Dict[str, Any]], shown: int = 5) -> str:
    """The failure of a configuration nginx would reject, read without nginx: each error at its file:line."""
    listed = "; ".join(err["error"] if " in %s:" % err["file"] in err["error"] or err["line"] is None
                       else "%s in %s:%s" % (err["error"], err["file"], err["line"]) for err in errors[:shown])
    more = " (and %d more)" % (len(errors) - shown) if len(errors) > shown else ""
    return ("the nginx configuration cannot be parsed, and nginx would reject it: %s%s. Fix it there and check it "
            "with `nginx -t`; nothing else is reported for a configuration nginx cannot load (crossplane)"
            % (listed, more))
