# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Findings: the smaller facts the inspection modules report (a chain that is
misordered, a clock that is off, an nginx setting that breaks handshakes), each
with a severity, a message and a fix.

Like the causes in causes.py, every finding's words live here only; engines
call ``finding(code, **fields)`` and get a ``Finding``.  ``cause`` links a
finding to the handshake cause it produces, so a report can group them.
"""

from __future__ import annotations

from typing import Any, Optional, TypedDict

from ansible_collections.tlsops.handshake.plugins.module_utils._common import text as _text

# The closed set of severities, mildest first (reports count and sort by it).
SEVERITIES = ("info", "warning", "error")


class Finding(TypedDict):
    """One finding as the modules return it (a plain dict at run time; keys in this order)."""

    code: str
    severity: str
    message: str
    fix: str
    cause: Optional[str]


def _f(code, severity, message, fix, cause=None):
    return code, {"code": code, "severity": severity, "message": message, "fix": fix, "cause": cause}


FINDINGS = dict((
    # --- certificate chains (cert_chain_info) --------------------------------------
    _f("chain_incomplete", "error",
       "the chain stops at {subject}: its issuer {issuer} is not served{aia_hint}{found_hint}",
       "Serve the full chain: append the intermediate(s) to the certificate file (ssl_certificate), "
       "leaf first.{fix_hint}", "cert_chain_incomplete"),
    _f("chain_misordered", "warning",
       "the certificates are not in order (leaf first, then each issuer): {problem}",
       "Order the file leaf first, then each issuer in turn; some clients refuse a misordered chain."),
    _f("root_included", "info",
       "the chain includes the root {subject}, which clients must already have",
       "Drop the self-signed root from the served chain: it only costs bytes in every handshake."),
    _f("duplicate_certificate", "warning",
       "{subject} appears {count} times in the chain",
       "Remove the duplicate copies from the certificate file."),
    _f("expired", "error",
       "{subject} expired on {not_after} ({ago})",
       "Renew the certificate and reload; automate renewal with ACME.", "cert_expired"),
    _f("not_yet_valid", "error",
       "{subject} is valid only from {not_before}",
       "Check the clock of this host and of the issuer; wait or reissue with a valid start date.",
       "cert_not_yet_valid"),
    _f("expiring_soon", "warning",
       "{subject} expires in {days} days ({not_after})",
       "Renew before {not_after}; alert when fewer than {warn_days} days remain."),
    _f("hostname_mismatch", "error",
       "the certificate does not cover {name} (it covers {sans})",
       "Reissue the certificate with {name} in its subjectAltName, or use a name it covers "
       "(proxy_ssl_name on the proxy).", "hostname_mismatch"),
    _f("key_mismatch", "error",
       "the private key {key_path} does not belong to the certificate {subject}",
       "Point ssl_certificate_key at the key the certificate was issued for; nginx -t would fail with "
       "\"key values mismatch\"."),
    _f("weak_signature", "error",
       "{subject} is signed with {signature_algorithm}, which OpenSSL 3 rejects at every security level "
       "above 0 (CA signature digest algorithm too weak)",
       "Reissue the certificate signed with SHA-256 or better.", "cert_too_weak"),
    _f("weak_key", "error",
       "{subject} has a {key_type} key of {key_bits} bits (at least 2048 needed)",
       "Reissue with an RSA 2048+ or ECDSA P-256 key.", "cert_too_weak"),
    _f("self_signed_leaf", "error",
       "{subject} is self-signed: no client can verify it unless it is pinned",
       "Use a certificate from a CA the clients trust, or trust this one explicitly "
       "(proxy_ssl_trusted_certificate).", "cert_untrusted"),
    _f("untrusted_root", "error",
       "the chain ends at {root}, which is not in the trust store {ca_file}{note}",
       "Trust that root (proxy_ssl_trusted_certificate) or get a certificate from a trusted CA.",
       "cert_untrusted"),
    _f("intermediate_expired", "error",
       "the intermediate {subject} expired on {not_after}",
       "Replace the intermediate with the CA's current one (download it from the CA) and reload.",
       "cert_expired"),
    _f("chain_too_deep", "error",
       "the chain holds {intermediates} intermediate certificate(s), more than verify_depth {verify_depth} allows",
       "Raise the proxy's verify depth to at least {intermediates} (the fix of cause verify_depth_exceeded), "
       "or serve a chain with fewer intermediates.", "verify_depth_exceeded"),
    _f("verify_error", "error",
       "OpenSSL rejects the chain: error {verify_code} at depth {depth} ({subject}): {verify_message}",
       "Reproduce with `openssl verify -purpose sslserver -CAfile {ca_file} -untrusted <the chain> <the leaf>` "
       "and reissue the certificate it names."),
    # --- clocks (time_sync_info) ----------------------------------------------------
    _f("no_time_daemon", "error",
       "no time synchronisation daemon (chrony, systemd-timesyncd, ntpd) runs on this host",
       "Install and enable chrony: apply the tlsops.handshake.time_sync role.", "clock_skew"),
    _f("daemon_not_synchronized", "error",
       "{daemon} runs but is not synchronised{reason}",
       "Check that {daemon} can reach its servers (UDP 123) and has at least one usable source.",
       "clock_skew"),
    _f("offset_exceeds_threshold", "error",
       "the clock is off by {offset_ms} ms{direction} (threshold {max_offset_ms} ms) according to {source}",
       "Step the clock once (chronyc makestep) and keep it synchronised; certificates read as expired or "
       "not yet valid when the clock is wrong.", "clock_skew"),
    _f("all_servers_unreachable", "error",
       "none of the NTP servers answered: {servers}",
       "Open UDP 123 to {servers}, or configure reachable servers."),
    _f("competing_daemons", "warning",
       "several time daemons run at once: {daemons}",
       "Keep one (chrony) and disable the others; competing daemons fight over the clock."),
    _f("leap_pending", "info",
       "a leap second is pending ({leap})",
       "Nothing to do unless applications mishandle leap seconds; consider leap smearing."),
    _f("server_kiss_of_death", "warning",
       "the NTP server {server} sent a kiss-o'-death {kiss_code} ({meaning})",
       "Query {server} less often (RATE) or ask its operator for access (DENY, RSTR); use another server meanwhile."),
    _f("server_unsynchronized", "warning",
       "the NTP server {server} is not synchronised itself: {detail}",
       "Do not use {server} as a time source until it synchronises; check its own upstream servers."),
    _f("server_unusable", "warning",
       "the NTP server {server} gave no usable time: {error}",
       "Check that {server} runs an NTP server and that UDP 123 (or its port) is open to it."),
    _f("compare_disagrees", "warning",
       "{url} says the clock is off by {compare_ms} ms (+/- {uncertainty_ms} ms), but {source} says {offset_ms} ms",
       "Find out which source is wrong: a server with a wrong clock makes certificates look expired for everyone "
       "who trusts it."),
    _f("compare_failed", "warning",
       "{url} gave no usable Date header ({error_code}): {error}",
       "Point compare_url at a web server that answers a HEAD request promptly with a Date header, or drop it; "
       "the NTP servers are the better witness."),
    # --- nginx configuration (nginx_tls_info) ----------------------------------------
    # {prefix} is the directive family: proxy, grpc or uwsgi (stream{} uses proxy).
    _f("https_to_plain_port", "error",
       "{directive} {proxy_pass} opens TLS to {host}:{port}, {why}",
       "Point {directive} at the upstream's TLS port (usually 443{port_hint}), or use {plain_hint} "
       "if plaintext to {host}:{port} is intended.", "plain_http"),
    _f("http_to_tls_port", "error",
       "{directive} {proxy_pass} sends plaintext to {host}:{port}, {why}: a TLS server answers an HTTP request "
       "with an alert or a 400 (\"The plain HTTP request was sent to HTTPS port\"), which nginx logs as "
       "\"upstream prematurely closed connection\" or \"upstream sent no valid HTTP/1.0 header\"",
       "Write {tls_scheme} in {directive} (and its *_ssl_* settings) when {host}:{port} speaks TLS - the probe "
       "target whose origin.expect is \"plaintext\" tells: a TLS handshake that succeeds there proves it; "
       "otherwise point {directive} at the upstream's plaintext port.", "http_to_tls_port"),
    _f("conf_command_not_probed", "info",
       "{prefix}_ssl_conf_command {name} {value} changes nginx's handshakes, but tls_probe cannot apply it: "
       "the probe targets leave it out, so a probe may succeed where nginx fails (or the reverse)",
       "Keep it in mind when a probe and nginx disagree; check this command by hand with "
       "`openssl s_client` and the same setting."),
    _f("sni_off_for_hostname", "warning",
       "{prefix}_ssl_server_name is off, so nginx sends no SNI to {name}{hosts}: an upstream with name-based "
       "virtual hosts (CDNs, ingress controllers, shared TLS terminators) then fails with alert 112 or "
       "serves its default certificate",
       "{prefix}_ssl_server_name on;  {prefix}_ssl_name {suggested_name};", "sni_required"),
    _f("ssl_name_is_upstream_block", "warning",
       "{prefix}_ssl_name is not set, so nginx uses the upstream{{}} block name \"{name}\" as the {use}, "
       "not a name of the servers in it ({hosts})",
       "{prefix}_ssl_name {suggested_name};  # a name the upstream serves and its certificate covers",
       "sni_unknown_name"),
    _f("verify_off", "warning",
       "{prefix}_ssl_verify is off{origin}: nginx accepts any certificate from {name} (expired, self-signed, "
       "issued for another name), so a failing or intercepted upstream goes unnoticed",
       "{prefix}_ssl_verify on;  {prefix}_ssl_trusted_certificate <the CA bundle that issued {name}'s "
       "certificate>;  {prefix}_ssl_verify_depth 2;"),
    _f("verify_without_trusted_certificate", "error",
       "{prefix}_ssl_verify is on for {name} but no {prefix}_ssl_trusted_certificate is set (nginx never uses "
       "the system store for upstreams): nginx refuses this configuration with "
       "[emerg] \"no {prefix}_ssl_trusted_certificate for {prefix}_ssl_verify\"",
       "{prefix}_ssl_trusted_certificate /etc/ssl/certs/ca-certificates.crt;  # or the CA that issued "
       "{name}'s certificate"),
    _f("verify_depth_too_small", "error",
       "{prefix}_ssl_verify_depth {depth} accepts at most {depth} intermediate certificate(s) (OpenSSL counts "
       "depth N as N intermediates): {chain_state}",
       "{prefix}_ssl_verify_depth {suggested_depth};", "verify_depth_exceeded"),
    _f("legacy_protocols", "warning",
       "{directive} {subject} enables {legacy}{origin}",
       "{directive} TLSv1.2 TLSv1.3;"),
    _f("protocols_differ_from_policy", "warning",
       "{directive} {subject} is {actual}{origin}; the policy says {wanted}",
       "{directive} {wanted};"),
    _f("ciphers_differ_from_policy", "warning",
       "{directive} {subject} is {actual}{origin}; the policy says {wanted}",
       "{directive} {wanted};"),
    _f("groups_differ_from_policy", "warning",
       "the key-exchange groups {subject} are {actual}{origin}; the policy says {wanted}",
       "{directive_hint}"),
    _f("certificate_not_full_chain", "error",
       "{path} holds only the leaf {subject}: its issuer {issuer} is not in the file and is not a root "
       "this host knows{known}, so clients fail with (20:unable to get local issuer certificate)",
       "Append the intermediate certificate(s) to {path}, leaf first (with ACME: use fullchain.pem, "
       "not cert.pem).", "cert_chain_incomplete"),
    _f("certificate_unreadable", "warning",
       "{path} ({directive}) could not be read here: {error}",
       "Run the task with become: true, or fix the path; nginx fails to start when it cannot read it."),
    _f("duplicate_directive", "error",
       "\"{directive}\" is set twice in the same {block} block (first at {first}); nginx refuses this "
       "configuration: [emerg] \"{directive}\" directive is duplicate",
       "Remove one of the two: distribution defaults (nginx.conf) and included snippets often both set "
       "{directive}."),
    _f("config_rejected", "error",
       "nginx rejects this configuration: {nginx_message}",
       "Fix the configuration{where} and check it with `nginx -t`; a reload keeps the old configuration "
       "and a restart fails until then."),
    _f("config_not_tested", "warning",
       "nginx could not test the configuration ({reason}); it was read from the files instead",
       "Run the task with become: true: nginx -T opens every log and certificate file it names."),
    _f("config_syntax_error", "error",
       "the configuration cannot be parsed: {error}",
       "Fix the syntax there; `nginx -t` reports the same place."),
    _f("config_file_unreadable", "warning",
       "{path} could not be read: {error}",
       "Run the task with become: true, or fix the include pattern that names it."),
    _f("pass_has_variables", "info",
       "{directive} {proxy_pass} contains variables: nginx picks the upstream per request{resolver}, so it "
       "cannot be named here and no probe target is made",
       "Probe the upstreams the variables stand for with tls_probe, using the effective settings shown here."),
    _f("ssl_name_has_variables", "info",
       "{prefix}_ssl_name {ssl_name} depends on the request; the probe targets use {fallback} instead",
       "Pass the real name as server_name when probing, or set {prefix}_ssl_name to a fixed name."),
    _f("upstream_without_port", "error",
       "{directive} {proxy_pass} has no port and {host} is not an upstream{{}} block: nginx refuses it with "
       "[emerg] no port in upstream \"{host}\"",
       "Write the port: {directive} {scheme}://{host}:<port>;"),
    _f("nginx_version_unknown", "info",
       "the nginx version is not known ({reason}): the defaults of the newest nginx are assumed "
       "({defaults})",
       "Give nginx_version, or nginx_path where nginx is installed."),
))


def finding(code: str, severity: Optional[str] = None, **fields: Any) -> Finding:
    """The finding ``code`` with ``fields`` filled in (KeyError for an unknown code: typos must fail)."""
    entry = FINDINGS[code]
    values = {k: v for k, v in fields.items() if v is not None}
    return Finding(
        code=code,
        severity=severity or entry["severity"],
        message=_text.fill(entry["message"], values),
        fix=_text.fill(entry["fix"], values),
        cause=entry["cause"],
    )
