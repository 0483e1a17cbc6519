# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one vocabulary of handshake failure causes.

Every part of the collection (probe, log reader, report, metrics) names a
failure with a code from CAUSES and takes its nginx log text and its fix from
here, so a cause's wording changes in exactly one place.

Texts are templates: ``{host}``, ``{port}``, ``{server_name}`` and the other
fields of a probe result are filled in by ``render``; a field that is not known
is replaced by a neutral placeholder instead of failing.
"""

from __future__ import annotations

import re
from typing import Any, Dict

from ansible_collections.tlsops.handshake.plugins.module_utils._common import causes_reasons as reasons, text as _text

# Standard library only: this file runs on managed hosts.

_HS = "SSL_do_handshake() failed (SSL: {openssl}) while SSL handshaking to upstream"
_VERIFY = "upstream SSL certificate verify error: ({verify_code}:{verify_message}) while SSL handshaking to upstream"
_CONNECT = "connect() to {host}:{port} failed ({errno}) while connecting to upstream"


def _cause(code, title, layer, nginx_error, fix, verify=None):
    return {
        "code": code,
        "title": title,
        "layer": layer,
        "nginx_error": nginx_error,
        "fix": tuple(fix),
        "verify": verify,  # canonical X509 verify code/message for certificate causes
    }


# Fields a template may leave out: they render as "" rather than "<field>".
_OPTIONAL_FIELDS = {"reset_errno": ""}


CAUSES = {c["code"]: c for c in (
    _cause("ok", "handshake and verification succeeded", "none", "", []),
    _cause(
        "dns_failure", "the upstream name does not resolve", "network",
        'host not found in upstream "{host}"',
        ["Fix the name {host} or its DNS record; nginx resolves proxy_pass names at start/reload "
         "(or through `resolver` when the name is in a variable)."]),
    _cause(
        "connection_refused", "nothing listens on the upstream port", "network",
        "connect() failed (111: Connection refused) while connecting to upstream",
        ["Start the upstream service on {host}:{port} or point proxy_pass at the port it listens on; "
         "this is a network/service problem, not TLS."]),
    _cause(
        "connect_timeout", "the TCP connection is not answered (filtered or host down)", "network",
        "upstream timed out (110: Connection timed out) while connecting to upstream",
        ["Check routing and firewalls between this proxy and {host}:{port}; raise "
         "proxy_connect_timeout only if the path is known to be slow."]),
    _cause(
        "network_unreachable", "this host has no route to the upstream (network or host unreachable)", "network",
        _CONNECT.replace("{errno}", "113: No route to host"),
        ["This proxy's kernel has no route to {host}:{port} (also logged as 101: Network is unreachable, "
         "Host is unreachable or Network unreachable): check the address proxy_pass resolves to (an IPv6 "
         "address on a host without IPv6 routing: `resolver ... ipv6=off;` or an IPv4 upstream), this host's "
         "routes, and firewalls that reject with ICMP host-unreachable; ping or `ip route get` the address."]),
    _cause(
        "connect_forbidden", "this host may not open the connection (SELinux or a local firewall)", "network",
        _CONNECT.replace("{errno}", "13: Permission denied"),
        ["On SELinux hosts allow nginx to connect out: `setsebool -P httpd_can_network_connect 1` "
         "(`ausearch -m avc -c nginx` shows the denial); otherwise a local firewall rule or a prohibit "
         "route forbids {host}:{port}: allow it."]),
    _cause(
        "handshake_timeout", "TCP connects but the upstream never answers the ClientHello", "network",
        "upstream timed out (110: Connection timed out) while SSL handshaking to upstream",
        ["The service on {host}:{port} accepts connections but does not speak: check that it is "
         "healthy and that the port is its TLS port; look for a middlebox dropping large ClientHellos "
         "(post-quantum key shares exceed one MTU)."]),
    _cause(
        "connection_reset", "the upstream closed or reset the connection during the handshake", "network",
        "peer closed connection in SSL handshake{reset_errno} while SSL handshaking to upstream",
        ["Read the upstream's own log for why it dropped the handshake (overload, connection limits, "
         "a TLS terminator that rejects this client); check for middleboxes resetting large ClientHellos."]),
    _cause(
        "not_tls", "the upstream port speaks a protocol that is not TLS", "service",
        _HS.replace("{openssl}", "error:0A00010B:SSL routines::wrong version number"),
        ["{host}:{port} answers with a non-TLS protocol ({sniff}): point proxy_pass at the service's TLS port."]),
    _cause(
        "protocol_violation", "the peer breaks the TLS protocol (oversized, out-of-order or endless messages)",
        "service",
        _HS.replace("{openssl}", "error:0A000098:SSL routines::excessive message size"),
        ["{host}:{port} sends handshake messages no TLS client accepts ({raw_error}): the service there is broken "
         "or is not what proxy_pass should reach (a tarpit, an IDS, a faulty TLS terminator); fix or replace it, "
         "no proxy_ssl_* setting helps."]),
    _cause(
        "plain_http", "the upstream port speaks plain HTTP, not TLS", "service",
        _HS.replace("{openssl}", "error:0A00010B:SSL routines::wrong version number"),
        ["proxy_pass https:// points at a plain-HTTP port: use the upstream's TLS port "
         "(usually 443), or `proxy_pass http://{host}:{port};` if plaintext to this upstream is intended."]),
    _cause(
        "sni_required", "the upstream needs a server name (SNI) that the proxy does not send", "tls",
        _HS.replace("{openssl}", "error:0A000458:SSL routines::tlsv1 unrecognized name:SSL alert number 112"),
        ["proxy_ssl_server_name on;", "proxy_ssl_name {suggested_name};"]),
    _cause(
        "sni_unknown_name", "the upstream does not serve the server name the proxy sends", "tls",
        _HS.replace("{openssl}", "error:0A000458:SSL routines::tlsv1 unrecognized name:SSL alert number 112"),
        ["proxy_ssl_name <a name the upstream serves>;  # {server_name} is not configured on {host}:{port}",
         "or add {server_name} as a server_name on the upstream."]),
    _cause(
        "protocol_mismatch", "the proxy and the upstream share no TLS version", "tls",
        _HS.replace("{openssl}", "error:0A00042E:SSL routines::tlsv1 alert protocol version:SSL alert number 70"),
        ["proxy_ssl_protocols {suggested_protocols};  # the upstream accepts {server_protocols}"]),
    _cause(
        "cipher_mismatch", "the proxy and the upstream share no cipher suite", "tls",
        _HS.replace("{openssl}", "error:0A000410:SSL routines::sslv3 alert handshake failure:SSL alert number 40"),
        ["proxy_ssl_ciphers {suggested_ciphers};  # include a suite the upstream accepts"]),
    _cause(
        "group_mismatch", "the proxy and the upstream share no key-exchange group", "tls",
        _HS.replace("{openssl}", "error:0A000410:SSL routines::sslv3 alert handshake failure:SSL alert number 40"),
        ["proxy_ssl_conf_command Groups {suggested_groups};  # the upstream accepts {server_groups}"]),
    _cause(
        "signature_algorithm_mismatch", "the proxy and the upstream share no signature algorithm", "tls",
        _HS.replace("{openssl}", "error:0A000410:SSL routines::sslv3 alert handshake failure:SSL alert number 40"),
        ["proxy_ssl_conf_command SignatureAlgorithms <list including the upstream certificate's algorithm>;",
         "or give the upstream a certificate whose key type the proxy accepts (RSA or ECDSA P-256)."]),
    _cause(
        "key_share_violation", "a peer or middlebox broke the TLS 1.3 key_share rules", "tls",
        _HS.replace("{openssl}", "error:0A00006C:SSL routines::bad key share"),
        ["Something on the path to {host}:{port} rewrites or mangles the TLS 1.3 key exchange: "
         "bypass or fix the middlebox, or upgrade the upstream's TLS stack.",
         "Work-around: proxy_ssl_conf_command Groups {suggested_groups};"]),
    _cause(
        "client_cert_required", "the upstream requires a client certificate (mTLS)", "tls",
        "SSL_read() failed (SSL: error:0A00045C:SSL routines::tlsv13 alert certificate required:"
        "SSL alert number 116) while reading response header from upstream",
        ["proxy_ssl_certificate /etc/nginx/tls/client.crt;",
         "proxy_ssl_certificate_key /etc/nginx/tls/client.key;  # a certificate the upstream's CA issued"]),
    _cause(
        "legacy_renegotiation", "the upstream does not support secure renegotiation (RFC 5746)", "tls",
        _HS.replace("{openssl}", "error:0A000152:SSL routines::unsafe legacy renegotiation disabled"),
        ["Upgrade or reconfigure the upstream's TLS stack so it supports RFC 5746; as a last resort "
         "only: proxy_ssl_conf_command Options UnsafeLegacyServerConnect;"]),
    _cause(
        "alpn_mismatch", "the peers share no application protocol (ALPN)", "tls",
        _HS.replace("{openssl}", "error:0A000460:SSL routines::tlsv1 alert no application protocol:"
                                 "SSL alert number 120"),
        ["The upstream accepts none of the application protocols the proxy offers (grpc_pass grpcs:// offers "
         "h2): make the upstream accept h2, or proxy to it with proxy_pass https:// (HTTP/1.1)."]),
    _cause(
        "dh_too_small", "the upstream's Diffie-Hellman group is too small", "tls",
        _HS.replace("{openssl}", "error:0A00018A:SSL routines::dh key too small"),
        ["Give the upstream DH parameters of at least 2048 bits (or disable DHE there), or "
         "prefer ECDHE: proxy_ssl_ciphers ECDHE+AESGCM:ECDHE+CHACHA20;"]),
    _cause(
        "http_to_tls_port", "the proxy sends plain HTTP to an upstream port that speaks TLS", "local",
        "upstream prematurely closed connection while reading response header from upstream",
        ["proxy_pass https://{host}:{port};  # the port speaks TLS: a handshake with it succeeds",
         "proxy_ssl_server_name on;  proxy_ssl_verify on;  proxy_ssl_trusted_certificate <the CA of {host}>;"]),
    _cause(
        "local_config", "the probing side's own TLS settings can never work", "local",
        _HS.replace("{openssl}", "{openssl_error}"),
        ["Fix the proxy's own settings ({raw_error}): e.g. proxy_ssl_protocols must name a version "
         "this OpenSSL supports and proxy_ssl_conf_command Groups a group it knows."]),
    _cause(
        "cert_untrusted", "the upstream's certificate is not issued by a trusted CA", "certificate",
        _VERIFY,
        ["proxy_ssl_trusted_certificate /etc/nginx/tls/upstream-ca.pem;  # the CA that issued {issuer}",
         "or give the upstream a certificate from a CA the proxy trusts."],
        verify=(20, "unable to get local issuer certificate")),
    _cause(
        "cert_chain_incomplete", "the upstream does not serve its intermediate certificate(s)", "certificate",
        _VERIFY,
        ["Serve the full chain on {host}:{port}: ssl_certificate must hold the leaf followed by its "
         "intermediates (missing: {issuer})."],
        verify=(20, "unable to get local issuer certificate")),
    _cause(
        "cert_expired", "the upstream's certificate has expired", "certificate",
        _VERIFY,
        ["Renew the certificate on {host}:{port} (expired {not_after}); automate renewal with ACME."],
        verify=(10, "certificate has expired")),
    _cause(
        "cert_not_yet_valid", "the upstream's certificate is not valid yet", "certificate",
        _VERIFY,
        ["The certificate on {host}:{port} is valid only from {not_before}: check both clocks (NTP) "
         "and the certificate's issue date."],
        verify=(9, "certificate is not yet valid")),
    _cause(
        "clock_skew", "the certificate is fine, the clock judging it is not", "clock",
        _VERIFY,
        ["Synchronise the clock of {skewed_host} (chrony/NTP): it is off by {offset_s} s, so a valid "
         "certificate reads as {clock_effect}; apply tlsops.handshake.time_sync."],
        verify=(9, "certificate is not yet valid")),
    _cause(
        "hostname_mismatch", "the upstream's certificate does not cover the name the proxy checks", "certificate",
        'upstream SSL certificate does not match "{server_name}" while SSL handshaking to upstream',
        ["proxy_ssl_name <a name in the certificate: {sans}>;",
         "or reissue the upstream certificate with {server_name} in its subjectAltName."]),
    _cause(
        "verify_depth_exceeded", "the upstream's chain is longer than the verify depth allows", "certificate",
        _VERIFY,
        ["proxy_ssl_verify_depth {suggested_depth};  # the chain holds {intermediates} intermediate(s)"],
        # OpenSSL stops building at the depth limit, so nginx 1.22 logs the missing issuer (20), not 22.
        verify=(20, "unable to get local issuer certificate")),
    _cause(
        "cert_too_weak", "the upstream's certificate key or signature is too weak for this OpenSSL", "certificate",
        _VERIFY,
        ["Reissue the upstream certificate with RSA >= 2048 bits or ECDSA P-256 and SHA-256."],
        verify=(66, "EE certificate key too weak")),
    _cause(
        "unknown", "the handshake failed for a reason the probe could not name", "unknown",
        "{raw_error}",
        ["Raw error: {raw_error}. Compare with `openssl s_client -connect {host}:{port} -servername {server_name}`."]),
)}

CAUSE_CODES = tuple(CAUSES)

# X509 verify codes as OpenSSL numbers them (x509_vfy.h) -> cause.  Codes 2, 20
# and 21 mean "an issuer is missing"; whether the server failed to send an
# intermediate or the root is unknown needs the served chain (see the probe).
VERIFY_CODE_CAUSES = {
    2: "cert_chain_incomplete",
    9: "cert_not_yet_valid",
    10: "cert_expired",
    13: "cert_not_yet_valid",
    14: "cert_expired",
    18: "cert_untrusted",
    19: "cert_untrusted",
    20: "cert_chain_incomplete",
    21: "cert_chain_incomplete",
    22: "verify_depth_exceeded",
    62: "hostname_mismatch",
    66: "cert_too_weak",
    67: "cert_too_weak",
    68: "cert_too_weak",
}

# Alert 40 (handshake_failure) is all a client sees for several causes; only
# follow-up handshakes tell them apart.  Decided, with every other reason, in _causes_reasons.
HANDSHAKE_FAILURE_CANDIDATES = reasons.REASON_CAUSES["SSLV3_ALERT_HANDSHAKE_FAILURE"]["upstream"]

# What is not OpenSSL's wording: the system's (Python's) and nginx's own HTTP 400 pages for mTLS.
_OTHER_WORDS = (
    (r"unexpected eof|peer closed connection|eof occurred|connection reset|errno 104|broken pipe|\(104:",
     "connection_reset"),
    (r"no required ssl certificate was sent|the ssl certificate error", "client_cert_required"),
)
_OTHER_WORDS_RES = tuple((re.compile(p, re.IGNORECASE), c) for p, c in _OTHER_WORDS)

# TLS alert numbers as OpenSSL 3.0 spells them when it receives one, so a raw
# ClientHello's alert reads like the error nginx would log.
OPENSSL_ALERT_TEXTS = reasons.alert_texts()

# OpenSSL 3 reason numbers (include/openssl/sslerr.h) by their text: an alert's reason is 1000 + its
# number.  Used to print errors exactly as nginx does.
OPENSSL_REASON_CODES = reasons.reason_codes_3x()
_ALERT_BY_TEXT = {text: number for number, text in OPENSSL_ALERT_TEXTS.items()}

raw_reason = reasons.raw_reason


def alert_text(number):
    """OpenSSL 3's error for a received alert, e.g. 'error:0A000410:SSL routines::sslv3 alert
    handshake failure:SSL alert number 40'."""
    return openssl_error(OPENSSL_ALERT_TEXTS.get(number, "alert %d" % number), alert=number)


def openssl_error(reason, alert=None):
    """Spell an OpenSSL reason ('wrong version number') the way nginx logs it
    ('error:0A00010B:SSL routines::wrong version number'); unknown texts pass through."""
    reason = (reason or "").strip()
    if reason.startswith("error:"):
        return reason
    if alert is None:
        alert = _ALERT_BY_TEXT.get(reason)
    if alert is not None:
        return "error:0A%06X:SSL routines::%s:SSL alert number %d" % (1000 + alert, reason, alert)
    if reason in OPENSSL_REASON_CODES:
        return "error:0A%06X:SSL routines::%s" % (OPENSSL_REASON_CODES[reason], reason)
    return reason


def handshake_line(openssl_text):
    """The line nginx logs when SSL_do_handshake() fails with ``openssl_text``."""
    return _HS.replace("{openssl}", openssl_error(openssl_text))


def cause_for_reason(text, side="upstream"):
    """Name the cause an OpenSSL/nginx error text stands for on ``side``, or ``unknown``.

    The answer for an ambiguous reason (alert 40: ``cipher_mismatch``) is only the usual one of
    its candidates (reason_cause gives them all); callers that can run follow-up handshakes should.
    """
    return reason_cause(text, side)[0]


def reason_cause(text, side="upstream"):
    """``(cause, candidates)`` for the OpenSSL reason in ``text`` on ``side`` (``upstream``: nginx is
    the client; ``client``: nginx is the server); ``candidates`` has more than one cause only when
    the reason stands for several.  ``("unknown", ())`` when nothing names it."""
    candidates, _name = reasons.causes_for(reasons.reason_names(text), side)
    if candidates:
        return candidates[0], candidates
    for regex, code in _OTHER_WORDS_RES:
        if regex.search(text or ""):
            return code, (code,)
    return "unknown", ()


def _render_text(template, fields):
    return _text.fill(template, fields, missing="<%(field)s>")


def render(code, observed=None, **fields):
    """Return ``(nginx_error, fix_list)`` for a cause, filled from ``fields``.

    ``observed`` is the OpenSSL error a real handshake failed with: nginx logs
    what OpenSSL said, so for handshake-level causes it replaces the canonical
    text (the TLS 1.2 form of client_cert_required is alert 40, not 116).
    Unknown codes raise KeyError: a typo must never pass silently.
    """
    cause = CAUSES[code]
    values = dict(_OPTIONAL_FIELDS)
    values.update((k, v) for k, v in fields.items() if v is not None and v != "")
    if cause["verify"]:
        values.setdefault("verify_code", cause["verify"][0])
        values.setdefault("verify_message", cause["verify"][1])
    values.setdefault("suggested_name", values.get("server_name", "<upstream name>"))
    values.setdefault("openssl_error", values.get("raw_error", "<error>"))
    if observed and cause["layer"] in ("tls", "service", "local", "unknown"):
        nginx_error = handshake_line(observed)
    else:
        nginx_error = _render_text(cause["nginx_error"], values)
    fix = [_render_text(f, values) for f in cause["fix"]]
    return nginx_error, fix


def title(code):
    return CAUSES[code]["title"]


# ---------------------------------------------------------------------------------------------------
# Reading nginx's error log (tlsops.handshake.handshake_log_info).  nginx's own words, not OpenSSL's,
# for failures around the handshake, checked before the OpenSSL reasons above.  Named groups become
# render() fields; ``None`` means "the X509 verify code names the cause" (VERIFY_CODE_CAUSES).
# strerror() of a failed connect(), glibc's and musl's (Alpine) -> cause
_CONNECT_ERRNO_TEXTS = (
    (r"Connection refused", "connection_refused"),
    (r"(?:Connection|Operation) timed out", "connect_timeout"),
    (r"No route to host|Host is unreachable|Network is unreachable|Network unreachable|Host is down|Network is down",
     "network_unreachable"),
    (r"Permission denied|Operation not permitted", "connect_forbidden"),
)
_CONNECT_ERRNO_RES = tuple((re.compile(words), code) for words, code in _CONNECT_ERRNO_TEXTS)
_CONNECT_FAILED = r"connect\(\)(?: to [^ ]{1,300})? failed \(\d{1,4}: (?:%s)\) while connecting to upstream"
_NGINX_LOG_PATTERNS = (
    # at most 9 digits: int() of thousands (a forged line) raises on Python's int-to-str limit
    (r"SSL certificate verify error: \((?P<verify_code>\d{1,9}):(?P<verify_message>[^)]*)\)", None),
    (r'upstream SSL certificate does not match "(?P<server_name>[^"]*)"', "hostname_mismatch"),
    (r"timed out \(\d+: [^)]*\) while SSL handshaking", "handshake_timeout"),
    (r"timed out \(\d+: [^)]*\) while connecting to upstream", "connect_timeout"),
    # connect() fails at once ("connect() to 10.0.0.7:443 failed") or later ("connect() failed")
) + tuple((_CONNECT_FAILED % words, code) for words, code in _CONNECT_ERRNO_TEXTS) + (
    (r"peer closed connection in SSL handshake", "connection_reset"),
    # a peer that speaks first (an SSH banner) when its bytes beat nginx's ClientHello
    (r"upstream prematurely sent response", "not_tls"),
    (r"client sent plain HTTP request to HTTPS port", "not_tls"),
    (r'host not found in upstream "(?P<host>[^"]*)"', "dns_failure"),
    # ssl_reject_handshake on a listener: the client sent no server name, or one not served there
    (r"handshake rejected while SSL handshaking", "sni_required"),
)
_NGINX_LOG_RES = tuple((re.compile(p), c) for p, c in _NGINX_LOG_PATTERNS)
# nginx's words for a failed connection to an upstream: the only way a line without TLS wording ("SSL",
# "handshak", "HTTPS port") names a cause, since every pattern above that needs none of those has one of
# these (a unit test holds both lists to that).  The log reader looks at no other line without TLS wording.
NETWORK_LOG_WORDS = ("while connecting to upstream", "host not found in upstream", "upstream prematurely sent response")


def cause_for_connect_error(text):
    """The network cause a failed connect()'s error names (``[Errno 113] No route to host``), or None."""
    for regex, code in _CONNECT_ERRNO_RES:
        if regex.search(text or ""):
            return code
    return None


def cause_for_nginx_message(message):
    """``(cause, fields)`` for nginx's own wording of a failure, or ``(None, {})``.

    ``fields`` are what the line gives for render(): verify_code (int) and verify_message,
    server_name, host.  OpenSSL's part of a line is for cause_for_reason.
    """
    for regex, code in _NGINX_LOG_RES:
        match = regex.search(message or "")
        if match:
            fields: Dict[str, Any] = {k: v for k, v in match.groupdict().items() if v}
            if code is None:
                fields["verify_code"] = int(fields["verify_code"])
                code = VERIFY_CODE_CAUSES.get(fields["verify_code"], "unknown")
            return code, fields
    return None, {}


def reason_for_error_code(text):
    """The reason text OpenSSL's tables give the first SSL-library error code in ``text``
    (``error:0A000410:...`` from 3.x, ``error:14094410:...`` from 1.x), or None: for lines whose
    reason string is missing (``reason(1040)``) or spelled in a way the tables do not know."""
    return reasons.reason_for_error_code(text)


# What one log line cannot tell apart: the causes it may stand for and what can decide.  OpenSSL's
# reasons carry theirs (log_reason); nginx's verify errors are decided here.
_ISSUER_MISSING = ("cert_chain_incomplete", "cert_untrusted", "verify_depth_exceeded")
_VERIFY_AMBIGUITIES = {
    2: (_ISSUER_MISSING[:2], "verify error 2: the issuer is missing - an intermediate the upstream "
                             "does not serve, or a CA the proxy does not trust."),
    20: (_ISSUER_MISSING,
         "verify error 20 is logged alike for an untrusted root, a missing intermediate and a chain "
         "longer than proxy_ssl_verify_depth (nginx logs the last error of the chain walk); "
         "tlsops.handshake.tls_probe reads the served chain and tells them apart."),
    21: (_ISSUER_MISSING[:2], "verify error 21: the leaf came alone and its issuer is unknown - a "
                              "missing intermediate, or a leaf from a CA the proxy does not trust."),
    9: (("cert_not_yet_valid", "clock_skew"),
        "verify error 9: the certificate is not valid yet, or a clock (this proxy's) is wrong; "
        "check time sync (tlsops.handshake.time_sync_info)."),
    10: (("cert_expired", "clock_skew"),
         "verify error 10: the certificate expired, or a clock (this proxy's) is wrong; "
         "check time sync (tlsops.handshake.time_sync_info)."),
}


def log_ambiguity(message, verify_code=None, side="upstream"):
    """``(candidate causes, note)`` when one nginx log line cannot name a single cause, else None."""
    if verify_code is not None:
        return _VERIFY_AMBIGUITIES.get(verify_code)
    return log_reason(message, side)[1]


def log_reason(message, side):
    """``(cause, ambiguity)`` for the OpenSSL reason of an nginx SSL line on ``side``; ``ambiguity`` is
    ``(candidates, note)`` when the reason stands for several causes, else None."""
    names = reasons.reason_names(message)
    candidates, name = reasons.causes_for(names, side)
    if not candidates:
        return reason_cause(message, side)[0], None
    if len(candidates) == 1:
        return candidates[0], None
    return candidates[0], (candidates, reasons.ambiguity_note(name, side, candidates))


# The fix for failures on nginx's listening side (its clients, not its upstreams).
CLIENT_SIDE_FIX = (
    "These handshakes failed on nginx's listening side: the clients (old software, bots, scanners) "
    "could not or would not complete TLS with this server. Change ssl_protocols / ssl_ciphers only if "
    "real users are among them; otherwise rate-limit or block the top addresses."
)
