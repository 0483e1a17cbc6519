# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Follow-up handshakes that tell look-alike failures apart.

A proxy sees only alert 40 (handshake_failure) for a cipher, group,
signature-algorithm or TLS 1.2 client-certificate mismatch; only handshakes
that change one variable at a time name the real cause.  Each follow-up here
is a raw ClientHello (the wire codec), so the server's choice is read without
completing a handshake, and every one is counted in ``handshakes``.
"""

from __future__ import annotations

import ssl

from ansible_collections.tlsops.handshake.plugins.module_utils._common.deadline import DeadlineReached
from ansible_collections.tlsops.handshake.plugins.module_utils._tls import wire, x509_lite as x509
from ansible_collections.tlsops.handshake.plugins.module_utils._tls.names import TLS_VERSIONS

OPENSSL_DEFAULT_TLS13_SUITES = ("TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256", "TLS_AES_128_GCM_SHA256")
_ACCEPTED = ("server_hello", "hello_retry_request")


def _tls13_codes(names):
    by_name = {v: k for k, v in wire.tls13_cipher_suites().items()}
    return [by_name[n] for n in names if n in by_name]


def offer(spec, versions=None, open_ciphers=False, open_groups=False, open_sigalgs=False):
    """ClientHello settings that reproduce the probe's (nginx's) offer, with
    chosen dimensions opened to everything the codec knows."""
    versions = list(versions or spec["protocols"])
    if open_ciphers:
        ciphers = list(wire.tls12_cipher_suites())
        suites = list(wire.tls13_cipher_suites())
    else:
        ciphers = wire.cipher_codes(spec.get("ciphers") or "DEFAULT")
        suites = _tls13_codes(spec.get("ciphersuites") or OPENSSL_DEFAULT_TLS13_SUITES)
    if "TLSv1.3" in versions:
        ciphers = suites + [c for c in ciphers if c not in suites]
    if open_groups:
        # every group of the table, the TLS 1.2-only curves and FFDHE included: the server picks
        groups = wire.all_groups()
        key_shares = []  # no share: a TLS 1.3 server names its choice in a HelloRetryRequest
    else:
        # without proxy_ssl_conf_command Groups nginx offers OpenSSL's default list
        groups = [wire.group_code(g) for g in spec["groups"]] if spec.get("groups") else list(wire.DEFAULT_GROUPS)
        key_shares = None
    kwargs = {"versions": tuple(versions), "ciphers": ciphers, "groups": groups, "key_share_groups": key_shares,
              "alpn": spec.get("alpn") or None}
    if spec.get("sigalgs") and not open_sigalgs:
        kwargs["sigalgs"] = [wire.sigalg_code(s) for s in spec["sigalgs"]]
    elif open_sigalgs:
        kwargs["sigalgs"] = sorted(set(wire.SIGALGS.values()))
    return kwargs


def accepted(flight):
    return flight.kind in _ACCEPTED


def alert_name(flight):
    alert = getattr(flight, "alert", None)
    if not alert:
        return None
    if isinstance(alert, dict):
        return alert.get("name")
    if isinstance(alert, (tuple, list)):
        return alert[-1]
    return getattr(alert, "name", str(alert))


def _describe(flight):
    if accepted(flight):
        return "%s %s %s" % (flight.kind, flight.version or "", flight.cipher_name or "")
    if flight.kind == "alert":
        return "alert %s" % alert_name(flight)
    return flight.kind


def negotiated_details(run, out, need_chain, need_group=True):
    """Group of a completed handshake, and the served chain (DER list) when
    this Python cannot read it from ssl: read from the ServerHello (TLS 1.3)
    or the plaintext TLS 1.2 Certificate/ServerKeyExchange messages."""
    spec = run.spec
    group, chain = None, []
    try:
        if out.version == "TLSv1.3":
            if need_group:
                flight = run.hello(**offer(spec, versions=["TLSv1.3"]))
                group = flight.group_name if accepted(flight) else None
            if need_chain:
                flight12 = run.hello(**offer(spec, versions=["TLSv1.2"], open_ciphers=True, open_sigalgs=True))
                chain = list(getattr(flight12, "certificates", None) or [])
        elif out.version:
            codes = wire.cipher_codes(out.cipher) if out.cipher else None
            kwargs = offer(spec, versions=[out.version])
            if codes:
                kwargs["ciphers"] = codes
            flight = run.hello(**kwargs)
            chain = list(getattr(flight, "certificates", None) or [])
            group = _ske_group(flight)
    except DeadlineReached as exc:
        run.note("negotiated group/chain not read: %s" % exc)
    except (ValueError, OSError) as exc:
        run.note("could not read the negotiated group/chain: %s" % exc)
    return group, chain


def served_chain(run, out):
    """The certificates the server sent, in its order (DER), or [] when only an
    encrypted TLS 1.3 Certificate message was seen (Python < 3.13)."""
    if out.chain_der:
        return list(out.chain_der)
    return negotiated_details(run, out, need_chain=True, need_group=False)[1]


def _ske_group(flight):
    """The TLS 1.2 key exchange as a group name: the ECDHE curve, DH-<bits>, or None (RSA)."""
    ske = getattr(flight, "server_key_exchange", None) or {}
    if ske.get("group") is not None:
        return wire.group_name(ske["group"])
    if ske.get("dh_bits"):
        return "DH-%d" % ske["dh_bits"]
    return None


def after_failure(run, out, cause):
    """Refine the cause of a failed handshake; returns ``(cause, detail)``."""
    handler = _HANDLERS.get(cause)
    detail = out.error
    if handler is None:
        return cause, detail
    try:
        return handler(run, out, cause, detail)
    except DeadlineReached as exc:
        run.out_of_time(exc)
        return cause, detail
    except (ValueError, OSError) as exc:
        run.note("follow-up handshake failed: %s" % exc)
        return cause, detail


def _sniff(run, out, cause, detail):
    flight = run.hello(**offer(run.spec))
    first = bytes(getattr(flight, "first_bytes", b"") or b"")
    shown = first[:40].decode("latin-1").encode("unicode_escape").decode("ascii")
    run.fields["sniff"] = '"%s"' % shown
    run.note('plaintext sniff of the first bytes: "%s"' % shown)
    if first.startswith(b"HTTP/") or b"<html" in first.lower():
        return "plain_http", 'the upstream answered the ClientHello in plain HTTP ("%s")' % shown
    if flight.kind == "malformed":
        return "not_tls", "the upstream sent a malformed TLS record (%s)" % (getattr(flight, "error", "") or shown)
    if first:
        return "not_tls", 'the upstream speaks another protocol; its first bytes: "%s"' % shown
    return cause, detail


def _sni(run, out, cause, detail):
    spec = run.spec
    name = spec.get("server_name")
    if spec["sni"] and name:
        return "sni_unknown_name", ("the upstream rejects the server name %s (alert 112 unrecognized_name): "
                                    "it is not configured there" % name)
    if not name:
        return "sni_required", ("the upstream needs a server name (alert 112 unrecognized_name without SNI); "
                                "give server_name to find one that works")
    retry = run.handshake(sni=True, verify=False, http_request=False)
    run.note("retry with SNI %s: %s" % (name, "handshake ok" if retry.handshake_ok else retry.error))
    if retry.handshake_ok:
        run.fields["suggested_name"] = name
        return "sni_required", "the upstream rejects handshakes without SNI; with SNI %s it works" % name
    return "sni_required", "the upstream rejects handshakes without SNI, and also rejects %s" % name


def _alert40(run, out, cause, detail):
    spec = run.spec
    same = run.hello(**offer(spec))
    run.note("same offer as a raw ClientHello: %s" % _describe(same))
    if accepted(same):
        if getattr(same, "certificate_request", False) and not spec.get("client_cert"):
            return "client_cert_required", ("the upstream asks for a client certificate (TLS 1.2 "
                                            "CertificateRequest) and fails the handshake without one")
        return cause, detail + " (a raw ClientHello with the same offer is accepted)"
    steps = (
        ("cipher_mismatch", dict(open_ciphers=True), "cipher"),
        ("group_mismatch", dict(open_groups=True), "group"),
        ("signature_algorithm_mismatch", dict(open_sigalgs=True), "signature algorithm"),
    )
    for code, opened, what in steps:
        if code == "signature_algorithm_mismatch" and not spec.get("sigalgs"):
            continue
        flight = run.hello(**offer(spec, **opened))
        run.note("offering every %s: %s" % (what, _describe(flight)))
        if accepted(flight):
            return code, _explain(run, code, flight)
        if code == "group_mismatch" and _offers_both(spec):
            # a server that speaks TLS 1.3 but holds only curves TLS 1.3 forbids (brainpool*r1, the
            # binary curves) refuses any TLS 1.3 hello: ask again in TLS 1.2 alone
            flight = run.hello(**offer(spec, versions=["TLSv1.2"], open_groups=True))
            run.note("offering every group in TLS 1.2 alone: %s" % _describe(flight))
            if accepted(flight):
                return code, _explain(run, code, flight, tls12_only=True)
    if spec.get("client_cert") is None:
        everything = run.hello(**offer(spec, open_ciphers=True, open_groups=True, open_sigalgs=True))
        run.note("offering everything: %s" % _describe(everything))
        if accepted(everything):
            return cause, detail + " (several settings conflict: the upstream accepts only a wider offer)"
    return "unknown", detail


def _offers_both(spec):
    return "TLSv1.2" in spec["protocols"] and "TLSv1.3" in spec["protocols"]


def _explain(run, code, flight, tls12_only=False):
    if code == "cipher_mismatch":
        run.fields["suggested_ciphers"] = flight.cipher_name
        return ("no cipher suite in common: offered every suite, the upstream chose %s (%s)"
                % (flight.cipher_name, flight.version))
    if code == "group_mismatch":
        return _explain_group(run, flight, tls12_only)
    return ("no signature algorithm in common: the upstream refuses %s but accepts the handshake when every "
            "algorithm is offered (its certificate needs another one)" % ", ".join(run.spec.get("sigalgs") or []))


def _explain_group(run, flight, tls12_only):
    """Name the group the upstream chose and a Groups value that works for nginx with these protocols.

    OpenSSL fails locally ("no suitable groups") when TLS 1.3 is enabled and no group of the
    list is allowed in TLS 1.3, so a TLS 1.2-only curve joins the configured (or OpenSSL's
    default) groups instead of replacing them.
    """
    spec = run.spec
    name = flight.group_name or _ske_group(flight)
    code = flight.group  # None for a DHE key exchange (name is then DH-<bits>)
    versions = wire.group_versions(code) if code is not None else ()
    suggested = [name]
    if name and "TLSv1.3" in spec["protocols"] and not tls12_only and "TLSv1.3" not in versions:
        base = list(spec.get("groups") or [wire.group_name(g) for g in wire.DEFAULT_GROUPS if "TLSv1.2" in wire.group_versions(g)])
        suggested = base + [n for n in suggested if n not in base]
    run.fields["suggested_groups"] = ":".join(n for n in suggested if n)
    run.fields["server_groups"] = name
    detail = "no key-exchange group in common: offered every group, the upstream chose %s" % name
    if code is not None and code not in wire.local_groups():
        detail += "; this OpenSSL (%s) cannot negotiate %s, so nginx here cannot either" % (ssl.OPENSSL_VERSION, name)
    if tls12_only:
        run.fields["server_groups"] = ("%s, and only in TLS 1.2: it answers every TLS 1.3 hello with alert 40, "
                                       "so also set proxy_ssl_protocols TLSv1.2" % name)
        detail += (" in TLS 1.2 (%s is not allowed in TLS 1.3, and the upstream, which also speaks TLS 1.3, "
                   "offers no TLS 1.3 group): nginx needs TLSv1.2 alone for it" % name)
    elif code is not None and "TLSv1.3" not in versions and flight.version == "TLSv1.2":
        detail += " in TLS 1.2 (%s is not allowed in TLS 1.3)" % name
    return detail


def _protocols(run, out, cause, detail):
    spec = run.spec
    server = []
    for version in TLS_VERSIONS:
        if version in spec["protocols"]:
            continue
        flight = run.hello(**offer(spec, versions=[version], open_ciphers=True))
        if accepted(flight) and (flight.version or version) == version:
            server.append(version)
    run.fields["server_protocols"] = " ".join(server) or "none of TLSv1-TLSv1.3"
    modern = [v for v in server if v in ("TLSv1.2", "TLSv1.3")]
    ours = [p for p in spec["protocols"] if p in ("TLSv1.2", "TLSv1.3")]
    suggested = sorted(set(modern + ours), key=TLS_VERSIONS.index)
    run.fields["suggested_protocols"] = " ".join(suggested) or "TLSv1.2 TLSv1.3"
    return cause, "no TLS version in common: the probe offers %s, the upstream accepts %s" % (
        " ".join(spec["protocols"]), run.fields["server_protocols"])


def _key_share(run, out, cause, detail):
    spec = run.spec
    kwargs = offer(spec, versions=["TLSv1.3"])
    flight = run.hello(**kwargs)
    run.note("TLS 1.3 ClientHello: %s" % _describe(flight))
    if accepted(flight) and flight.group_name:
        run.fields["suggested_groups"] = flight.group_name
        return cause, ("the ServerHello selected %s, for which the ClientHello sent no key share: a peer or "
                       "middlebox broke RFC 8446 section 4.2.8" % flight.group_name)
    return cause, detail


def _dh(run, out, cause, detail):
    dhe = [c for c, n in wire.tls12_cipher_suites().items() if n.startswith(("DHE-", "EDH-"))]
    flight = run.hello(versions=("TLSv1.2",), ciphers=dhe, groups=list(wire.DEFAULT_GROUPS))
    bits = (getattr(flight, "server_key_exchange", None) or {}).get("dh_bits")
    if bits:
        return cause, "the upstream's Diffie-Hellman group has %d bits; this OpenSSL requires 2048" % bits
    return cause, detail


def sni_changes_things(run, out, cause, detail):
    """Without SNI an upstream often returns its default certificate: if the
    same handshake with SNI verifies, the real cause is the missing SNI."""
    spec = run.spec
    name = spec.get("server_name")
    if spec["sni"] or not name:
        return cause, detail
    try:
        retry = run.handshake(sni=True, http_request=False)
    except DeadlineReached as exc:
        run.out_of_time(exc)
        return cause, detail
    if retry.handshake_ok and retry.peer_der:
        try:
            leaf = x509.parse_certificate(retry.peer_der)
        except ValueError:
            return cause, detail
        if x509.hostname_matches(leaf, name, allow_trailing_dot=False):
            run.fields["suggested_name"] = name
            run.note("with SNI %s the upstream returns a certificate that verifies" % name)
            return "sni_required", ("without SNI the upstream returns its default certificate (%s); with SNI %s "
                                    "it returns one that verifies" % (detail, name))
    return cause, detail


_HANDLERS = {
    "not_tls": _sniff,
    "sni_required": _sni,
    "cipher_mismatch": _alert40,
    "group_mismatch": _alert40,
    "signature_algorithm_mismatch": _alert40,
    "protocol_mismatch": _protocols,
    "key_share_violation": _key_share,
    "dh_too_small": _dh,
}
