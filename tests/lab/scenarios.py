# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The scenario table: one broken (or healthy) upstream per entry.

Each spec names the cause a probe must report (a code of _causes.CAUSES), the
probe parameter overrides that produce it, and how the upstream is built:

    backend "nginx":    cert / directives / plain / http2 / sni_gate (one server block per port)
    backend "s_server": cert + args for ``openssl s_server``
    backend "python":   fault kind (+ options) served by ``python -m tests.lab serve-faults``
    backend "none":     nothing listens (closed_port) or nothing resolves (dns_failure)

``cert`` is a dict of LabPKI.leaf options (chain, key, sans, days); the default
is an RSA-2048 leaf for the scenario's server name plus the lab intermediate.
The probe defaults are in PROBE_DEFAULTS; ``server_name`` is the name the
upstream is configured for and the default SNI/verification name.

``nginx_log`` (level, text[, alternatives]) is what an nginx 1.22 reverse proxy configured like
the probe really logs for the scenario (the lab's own proxy, GET /NAME, proves
it in tests/integration/test_lab.py); ``nginx_reproducible`` is true exactly
when such a line exists.  Note where nginx differs from ``openssl s_client
-verify_return_error``: nginx's verify callback never stops the chain walk, so it
logs the LAST verify error: 21 (not 20) for a leaf served alone and 20 (not 22)
for a chain longer than proxy_ssl_verify_depth.
"""

from __future__ import annotations

NGINX, S_SERVER, PYTHON, NONE = "nginx", "s_server", "python", "none"

PROBE_DEFAULTS = {"protocols": ["TLSv1.2", "TLSv1.3"], "verify": True, "sni": True, "alpn": [],
                  "timeout": 3}
PROBE_KEYS = frozenset(("server_name", "sni", "protocols", "ciphers", "ciphersuites", "groups",
                        "sigalgs", "alpn", "verify", "ca_file", "verify_depth", "client_cert",
                        "client_key", "timeout", "conf_commands"))

ENUMERATE_KNOWN = {
    "protocols": ["TLSv1.2", "TLSv1.3"],
    "ciphers": {"TLSv1.2": ["ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-RSA-CHACHA20-POLY1305"],
                "TLSv1.3": ["TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"]},
    # brainpoolP256r1 only in TLS 1.2: OpenSSL does not allow it in TLS 1.3
    "groups": ["x25519", "secp384r1", "brainpoolP256r1"],
}

# A server that accepts many items (the capability-scan benchmark's server; issue #15's "27 TLS 1.2 suites,
# 3 TLS 1.3 suites, 5 EC groups"): every group here is one TLS 1.3 allows too, so every scanner can see it.
ENUMERATE_WIDE_KNOWN = {
    "protocols": ["TLSv1.2", "TLSv1.3"],
    "ciphers": {"TLSv1.2": ["ECDHE-RSA-AES256-GCM-SHA384", "ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-RSA-CHACHA20-POLY1305",
                            "ECDHE-RSA-AES256-SHA384", "ECDHE-RSA-AES128-SHA256", "ECDHE-RSA-AES256-SHA",
                            "ECDHE-RSA-AES128-SHA", "ECDHE-RSA-CAMELLIA256-SHA384", "ECDHE-RSA-CAMELLIA128-SHA256",
                            "ECDHE-ARIA256-GCM-SHA384", "ECDHE-ARIA128-GCM-SHA256",
                            "AES256-GCM-SHA384", "AES128-GCM-SHA256", "AES256-SHA256", "AES128-SHA256", "AES256-SHA",
                            "AES128-SHA", "CAMELLIA256-SHA256", "CAMELLIA128-SHA256", "CAMELLIA256-SHA",
                            "CAMELLIA128-SHA", "ARIA256-GCM-SHA384", "ARIA128-GCM-SHA256", "AES256-CCM", "AES128-CCM",
                            "AES256-CCM8", "AES128-CCM8"],
                "TLSv1.3": ["TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256", "TLS_AES_128_GCM_SHA256"]},
    "groups": ["x25519", "secp256r1", "secp384r1", "secp521r1", "x448"],
}


# What an nginx 1.22 reverse proxy configured like the probe logs (checked through the lab's proxy).
_HS = "SSL_do_handshake() failed (SSL: error:%s) while SSL handshaking to upstream"
_VERIFY = "upstream SSL certificate verify error: (%s) while SSL handshaking to upstream"
WRONG_VERSION = ("error", _HS % "0A00010B:SSL routines::wrong version number")
ALERT_112 = ("crit", _HS % "0A000458:SSL routines::tlsv1 unrecognized name:SSL alert number 112")
ALERT_70 = ("error", _HS % "0A00042E:SSL routines::tlsv1 alert protocol version:SSL alert number 70")
ALERT_40 = ("error", _HS % "0A000410:SSL routines::sslv3 alert handshake failure:SSL alert number 40")
HS_TIMEOUT = ("error", "upstream timed out (110: Connection timed out) while SSL handshaking to upstream")


def _s(name, cause, backend, description, **kw):
    kw.update(name=name, expected_cause=cause, backend=backend, description=description)
    kw.setdefault("probe", {})
    kw["nginx_reproducible"] = "nginx_log" in kw
    kw.setdefault("server_name", name.replace("_", "-") + ".lab.test")
    if backend in (NGINX, S_SERVER) and not kw.get("plain") and "port_of" not in kw:
        kw.setdefault("cert", {})
    assert set(kw["probe"]) <= PROBE_KEYS, kw["probe"]
    return kw


SPECS = [
    # --- healthy upstreams -------------------------------------------------------------
    _s("healthy", "ok", NGINX, "full chain (leaf + intermediate), TLSv1.2+1.3, ALPN h2, 200 on GET /",
       cert={}, http2=True, probe={"alpn": ["h2", "http/1.1"]}),
    _s("healthy_tls12", "ok", NGINX, "like healthy but TLSv1.2 only: the served chain is plaintext",
       cert={}, directives=["ssl_protocols TLSv1.2;"]),
    _s("enumerate", "ok", NGINX, "known set of protocols, ciphers and groups (see 'known')",
       cert={}, known=ENUMERATE_KNOWN, directives=[
           "ssl_protocols TLSv1.2 TLSv1.3;",
           "ssl_ciphers ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-CHACHA20-POLY1305;",
           "ssl_ecdh_curve X25519:secp384r1:brainpoolP256r1;",
           "ssl_conf_command Ciphersuites TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256;"]),
    _s("enumerate_wide", "ok", NGINX, "a server that accepts many suites and groups (see 'known')",
       cert={}, known=ENUMERATE_WIDE_KNOWN, directives=[
           "ssl_protocols TLSv1.2 TLSv1.3;",
           "ssl_ciphers %s;" % ":".join(ENUMERATE_WIDE_KNOWN["ciphers"]["TLSv1.2"]),
           "ssl_ecdh_curve X25519:prime256v1:secp384r1:secp521r1:X448;",
           "ssl_conf_command Ciphersuites %s;" % ":".join(ENUMERATE_WIDE_KNOWN["ciphers"]["TLSv1.3"])]),
    # --- service / SNI -------------------------------------------------------------
    _s("plain_http", "plain_http", NGINX, "plain HTTP listener (proxy_pass https:// to an http port)",
       plain=True,
       nginx_log=WRONG_VERSION),
    _s("sni_required", "sni_required", NGINX,
       "default server rejects handshakes without SNI (ssl_reject_handshake on, alert 112)",
       sni_gate=True, server_name="sni.lab.test", probe={"server_name": "sni.lab.test", "sni": False},
       nginx_log=ALERT_112),
    _s("sni_unknown_name", "sni_unknown_name", NGINX,
       "serves only known.lab.test; any other SNI gets alert 112",
       sni_gate=True, server_name="known.lab.test", probe={"server_name": "wanted.lab.test"},
       nginx_log=ALERT_112),
    # --- certificates ------------------------------------------------------------------
    _s("self_signed", "cert_untrusted", NGINX, "self-signed leaf", cert={"chain": "self"},
       nginx_log=("error", _VERIFY % "18:self-signed certificate")),
    _s("unknown_root", "cert_untrusted", NGINX, "leaf + intermediate of a root not in ca_file",
       cert={"chain": "other"},
       nginx_log=("error", _VERIFY % "20:unable to get local issuer certificate")),
    _s("missing_intermediate", "cert_chain_incomplete", NGINX,
       "leaf issued by the lab intermediate, served alone", cert={"chain": "leaf"},
       nginx_log=("error", _VERIFY % "21:unable to verify the first certificate")),
    _s("expired", "cert_expired", NGINX, "leaf expired yesterday", cert={"days": (-60, -1)},
       nginx_log=("error", _VERIFY % "10:certificate has expired")),
    _s("not_yet_valid", "cert_not_yet_valid", NGINX, "leaf valid from +30 days", cert={"days": (30, 120)},
       nginx_log=("error", _VERIFY % "9:certificate is not yet valid")),
    _s("hostname_mismatch", "hostname_mismatch", NGINX,
       "server block answers mismatch.lab.test with a certificate for other.lab.test only",
       cert={"sans": ["other.lab.test"]}, server_name="mismatch.lab.test",
       probe={"server_name": "mismatch.lab.test"},
       nginx_log=("error", 'upstream SSL certificate does not match "mismatch.lab.test" '
                           "while SSL handshaking to upstream")),
    _s("deep_chain", "verify_depth_exceeded", NGINX,
       "leaf + two intermediates served; probe verify_depth 1 (nginx's default)",
       cert={"chain": "deep"}, probe={"verify_depth": 1},
       nginx_log=("error", _VERIFY % "20:unable to get local issuer certificate")),
    _s("rsa1024", "cert_too_weak", S_SERVER,
       "RSA-1024 leaf from the lab intermediate (server at @SECLEVEL=0; nginx refuses to load it)",
       cert={"key": "rsa1024"}, args=["-cipher", "DEFAULT:@SECLEVEL=0"],
       nginx_log=("error", _VERIFY % "66:EE certificate key too weak")),
    # --- negotiation -------------------------------------------------------------------
    _s("tls13_only", "protocol_mismatch", NGINX, "ssl_protocols TLSv1.3; probe TLSv1.2 only",
       cert={}, directives=["ssl_protocols TLSv1.3;"], probe={"protocols": ["TLSv1.2"]},
       nginx_log=ALERT_70),
    _s("tls12_only", "protocol_mismatch", NGINX, "ssl_protocols TLSv1.2; probe TLSv1.3 only",
       cert={}, directives=["ssl_protocols TLSv1.2;"], probe={"protocols": ["TLSv1.3"]},
       nginx_log=ALERT_70),
    _s("cipher_disjoint", "cipher_mismatch", NGINX,
       "TLSv1.2 only with ECDHE-RSA-AES256-GCM-SHA384; probe offers ECDHE-RSA-AES128-GCM-SHA256",
       cert={}, directives=["ssl_protocols TLSv1.2;", "ssl_ciphers ECDHE-RSA-AES256-GCM-SHA384;"],
       probe={"protocols": ["TLSv1.2"], "ciphers": "ECDHE-RSA-AES128-GCM-SHA256"},
       nginx_log=ALERT_40),
    _s("group_disjoint", "group_mismatch", NGINX, "ssl_ecdh_curve secp384r1; probe offers x25519 only",
       cert={}, directives=["ssl_ecdh_curve secp384r1;"], probe={"groups": ["x25519"]},
       nginx_log=ALERT_40),
    _s("brainpool_tls12", "group_mismatch", NGINX,
       "TLSv1.2 only, ECDHE suites only, ssl_ecdh_curve brainpoolP256r1 (a curve OpenSSL allows only in TLS 1.2, "
       "which no client offers by default)",
       cert={}, directives=["ssl_protocols TLSv1.2;", "ssl_ciphers ECDHE+AESGCM;", "ssl_ecdh_curve brainpoolP256r1;"],
       nginx_log=ALERT_40),
    _s("brainpool_only", "group_mismatch", NGINX,
       "TLSv1.2 and TLSv1.3, ECDHE suites only, ssl_ecdh_curve brainpoolP256r1: every TLS 1.3 hello fails (no group "
       "TLS 1.3 allows), so only a TLS 1.2-only client with brainpoolP256r1 gets in",
       cert={}, directives=["ssl_protocols TLSv1.2 TLSv1.3;", "ssl_ciphers ECDHE+AESGCM;",
                            "ssl_ecdh_curve brainpoolP256r1;"],
       nginx_log=ALERT_40),
    _s("ffdhe_only", "group_mismatch", NGINX, "TLSv1.3 with the FFDHE group ffdhe2048 only; probe offers x25519 only",
       cert={}, directives=["ssl_protocols TLSv1.3;", "ssl_ecdh_curve ffdhe2048;"], probe={"groups": ["x25519"]},
       nginx_log=ALERT_40),
    _s("sigalg_mismatch", "signature_algorithm_mismatch", NGINX,
       "ECDSA P-256 certificate only; probe offers RSA signature algorithms only",
       cert={"key": "ec"}, probe={"sigalgs": ["rsa_pss_rsae_sha256", "rsa_pkcs1_sha256"]},
       nginx_log=ALERT_40),
    _s("dh1024", "dh_too_small", S_SERVER,
       "TLSv1.2, DHE-RSA-AES128-GCM-SHA256 only, 1024-bit DH group (RFC 2409 group 2)",
       cert={}, args=["-tls1_2", "-cipher", "DHE-RSA-AES128-GCM-SHA256:@SECLEVEL=0", "-dhparam", "{dh1024}"],
       nginx_log=("crit", _HS % "0A00018A:SSL routines::dh key too small")),
    _s("local_config", "local_config", NGINX,
       "the healthy upstream, probed with TLSv1 only and AEAD-only ciphers: the client has no "
       "cipher for its only protocol and fails before sending anything ('no ciphers available')",
       port_of="healthy", server_name="healthy.lab.test",
       probe={"protocols": ["TLSv1"], "ciphers": "ECDHE+AESGCM"},
       nginx_log=("crit", _HS % ("0A0000B5:SSL routines::no ciphers available:"
                                 "No ciphers enabled for max supported SSL/TLS version"))),
    # --- client certificates -------------------------------------------------------------
    _s("mtls13", "client_cert_required", S_SERVER,
       "s_server -tls1_3 -Verify 1: handshake completes, alert 116 on the first read",
       cert={}, args=["-tls1_3", "-Verify", "1", "-CAfile", "{ca_file}"],
       nginx_log=("crit", "SSL_read() failed (SSL: error:0A00045C:SSL routines::tlsv13 alert certificate "
                          "required:SSL alert number 116) while reading response header from upstream")),
    _s("mtls12", "client_cert_required", S_SERVER,
       "s_server -tls1_2 -Verify 1: alert 40 after the client's empty Certificate",
       cert={}, args=["-tls1_2", "-Verify", "1", "-CAfile", "{ca_file}"],
       nginx_log=ALERT_40),
    _s("mtls_nginx", "client_cert_required", NGINX,
       "ssl_verify_client on: handshake completes, HTTP 400 'No required SSL certificate was sent'",
       cert={},
       directives=["ssl_verify_client on;", "ssl_client_certificate {ca_file};"]),
    # --- hostile / broken peers ----------------------------------------------------------
    _s("banner", "not_tls", PYTHON, "sends an SSH banner on accept", fault="banner",
       nginx_log=WRONG_VERSION + (["upstream prematurely sent response while reading response header "
                                   "from upstream"],)),  # when the banner beats nginx's ClientHello
    _s("garbage", "not_tls", PYTHON, "answers the ClientHello with random non-TLS bytes", fault="garbage",
       nginx_log=WRONG_VERSION),
    _s("silent", "handshake_timeout", PYTHON, "accepts TCP, never answers", fault="silent",
       nginx_log=HS_TIMEOUT),
    _s("stall_mid_hello", "handshake_timeout", PYTHON,
       "sends the first 10 bytes of a ServerHello record, then stalls", fault="stall",
       nginx_log=HS_TIMEOUT),
    _s("close_mid_handshake", "connection_reset", PYTHON, "reads the ClientHello, closes with FIN",
       fault="close",
       nginx_log=("error", "peer closed connection in SSL handshake while SSL handshaking to upstream")),
    _s("reset_mid_handshake", "connection_reset", PYTHON, "reads the ClientHello, resets (SO_LINGER 0)",
       fault="reset",
       nginx_log=("error", "peer closed connection in SSL handshake (104: Connection reset by peer) "
                           "while SSL handshaking to upstream")),
    _s("giant_record", "not_tls", PYTHON,
       "handshake record header with length 0xFFFF (message length 16 MB), then trickles: "
       "OpenSSL fails at once with 'packet length too long'", fault="giant",
       nginx_log=("crit", _HS % "0A0000C6:SSL routines::packet length too long")),
    _s("huge_message", "protocol_violation", PYTHON,
       "a ServerHello announced as 16 MB (length 0xFFFFFF), streamed in legal 16 kB records: "
       "OpenSSL refuses 'excessive message size'", fault="huge_message",
       nginx_log=("error", _HS % "0A000098:SSL routines::excessive message size")),
    _s("key_share_relay", "key_share_violation", PYTHON,
       "relay to the healthy upstream that rewrites the TLS1.3 ServerHello key_share group",
       fault="relay", target="healthy",
       nginx_log=("crit", _HS % "0A00006C:SSL routines::bad key share")),
    _s("legacy_reneg", "legacy_renegotiation", PYTHON,
       "a whole TLS1.2 server without renegotiation_info (no RFC 5746, tests/lab/legacy_tls12.py): "
       "with Options UnsafeLegacyServerConnect (conf_commands) the handshake completes and GET / is 200",
       fault="legacy_reneg", cert={},
       nginx_log=("error", _HS % "0A000152:SSL routines::unsafe legacy renegotiation disabled")),
    _s("legacy_reneg_allowed", "ok", PYTHON,
       "legacy_reneg's server, probed with conf_commands Options UnsafeLegacyServerConnect (the lab's proxy: "
       "proxy_ssl_conf_command Options UnsafeLegacyServerConnect;): the handshake completes, GET / is 200",
       fault="legacy_reneg", port_of="legacy_reneg", server_name="legacy-reneg.lab.test",
       probe={"conf_commands": {"Options": "UnsafeLegacyServerConnect"}}),
    _s("internal_error", "unknown", PYTHON,
       "answers the ClientHello with alert 80 internal_error: a failure with no better name",
       fault="alert", alert=80,
       nginx_log=("error", _HS % "0A000438:SSL routines::tlsv1 alert internal error:SSL alert number 80")),
    # --- network -------------------------------------------------------------------------
    _s("closed_port", "connection_refused", NONE, "a free port left closed",
       nginx_log=("error", "connect() failed (111: Connection refused) while connecting to upstream")),
    _s("filtered", "connect_timeout", PYTHON,
       "listen backlog 0, never accepts, accept queue filled by the lab: further SYNs are dropped",
       fault="filtered",
       nginx_log=("error", "upstream timed out (110: Connection timed out) while connecting to upstream")),
    _s("dns_failure", "dns_failure", NONE,
       "name in .invalid: resolve it only inside `unshare -n` (no DNS query may leave the machine)",
       host="upstream.lab.invalid", port_of=None, isolated_dns=True, server_name="upstream.lab.invalid",
       nginx_log=("emerg", 'host not found in upstream "upstream.lab.invalid"')),
]

SCENARIO_NAMES = tuple(s["name"] for s in SPECS)


def needs_port(spec):
    return "port_of" not in spec


def public(spec, port, lab_files):
    """The lab.json entry of one scenario."""
    entry = {
        "host": spec.get("host", "127.0.0.1"),
        "port": port,
        "server_name": spec["server_name"],
        "expected_cause": spec["expected_cause"],
        "probe": dict(spec["probe"]),
        "backend": spec["backend"],
        "nginx_reproducible": spec["nginx_reproducible"],
        "description": spec["description"],
    }
    for key in ("known", "isolated_dns"):
        if key in spec:
            entry[key] = spec[key]
    if "nginx_log" in spec:
        log = spec["nginx_log"]
        entry["nginx_log"] = {"level": log[0], "text": log[1]}
        if len(log) > 2:
            entry["nginx_log"]["alternatives"] = log[2]
    if "cert_file" in lab_files:
        entry["cert_file"] = lab_files["cert_file"]
    return entry
