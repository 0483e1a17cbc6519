# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Findings: the smaller facts the inspection modules report (a chain that is
misordered, a clock that is off), each with a severity, a message and a fix.

Like the causes in _causes.py, every finding's words live here only; modules
call ``finding(code, **fields)``.  ``cause`` links a finding to the handshake
cause it produces, so a report can group them.
"""

from __future__ import annotations

import string

SEVERITIES = ("info", "warning", "error")


def _f(code, severity, message, fix, cause=None):
    return code, {"code": code, "severity": severity, "message": message, "fix": fix, "cause": cause}


FINDINGS = dict((
    # --- certificate chains (cert_chain_info) --------------------------------------
    _f("chain_incomplete", "error",
       "the chain stops at {subject}: its issuer {issuer} is not served{aia_hint}",
       "Serve the full chain: append the intermediate(s) to the certificate file (ssl_certificate), "
       "leaf first.", "cert_chain_incomplete"),
    _f("chain_misordered", "warning",
       "the certificates are not in order: position {position} ({subject}) does not issue the one before it",
       "Order the file leaf first, then each issuer in turn; some clients refuse a misordered chain."),
    _f("root_included", "info",
       "the chain includes the root {subject}, which clients must already have",
       "Drop the self-signed root from the served chain: it only costs bytes in every handshake."),
    _f("duplicate_certificate", "warning",
       "{subject} appears {count} times in the chain",
       "Remove the duplicate copies from the certificate file."),
    _f("expired", "error",
       "{subject} expired on {not_after} ({days} days ago)",
       "Renew the certificate and reload; automate renewal (tlsops.handshake ACME role).", "cert_expired"),
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
       "{subject} is signed with {signature_algorithm}, which OpenSSL rejects",
       "Reissue the certificate signed with SHA-256 or better.", "cert_too_weak"),
    _f("weak_key", "error",
       "{subject} has a {key_type} key of {key_bits} bits (at least 2048 needed)",
       "Reissue with an RSA 2048+ or ECDSA P-256 key.", "cert_too_weak"),
    _f("self_signed_leaf", "error",
       "{subject} is self-signed: no client can verify it unless it is pinned",
       "Use a certificate from a CA the clients trust, or trust this one explicitly "
       "(proxy_ssl_trusted_certificate).", "cert_untrusted"),
    _f("untrusted_root", "error",
       "the chain ends at {subject}, which is not in the trust store {ca_file}",
       "Trust that root (proxy_ssl_trusted_certificate) or get a certificate from a trusted CA.",
       "cert_untrusted"),
    _f("intermediate_expired", "error",
       "the intermediate {subject} expired on {not_after}",
       "Replace the intermediate with the CA's current one (download it from the CA) and reload.",
       "cert_expired"),
    # --- clocks (time_sync_info) ----------------------------------------------------
    _f("no_time_daemon", "error",
       "no time synchronisation daemon (chrony, systemd-timesyncd, ntpd) runs on this host",
       "Install and enable chrony: apply the tlsops.handshake.time_sync role.", "clock_skew"),
    _f("daemon_not_synchronized", "error",
       "{daemon} runs but is not synchronised{reason}",
       "Check that {daemon} can reach its servers (UDP 123) and has at least one usable source.",
       "clock_skew"),
    _f("offset_exceeds_threshold", "error",
       "the clock is off by {offset_ms} ms (threshold {max_offset_ms} ms) according to {source}",
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
))


class _Defaults(dict):
    def __missing__(self, key):
        return ""


_FORMATTER = string.Formatter()


def finding(code, severity=None, **fields):
    """A finding dict for ``code`` (KeyError for an unknown code: typos must fail)."""
    entry = FINDINGS[code]
    values = _Defaults((k, v) for k, v in fields.items() if v is not None)
    return {
        "code": code,
        "severity": severity or entry["severity"],
        "message": _FORMATTER.vformat(entry["message"], (), values),
        "fix": _FORMATTER.vformat(entry["fix"], (), values),
        "cause": entry["cause"],
    }
