# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Capability scan of one server by elimination.

Offer many, remove what the server picks, repeat until it refuses: a scan
costs (accepted items + 1) ClientHellos per list instead of one per
candidate.  Groups are scanned with an empty key_share so a TLS 1.3 server
names its choice in a HelloRetryRequest without any key exchange.
"""

from __future__ import annotations

from ansible_collections.tlsops.handshake.plugins.module_utils._common.deadline import DeadlineReached
from ansible_collections.tlsops.handshake.plugins.module_utils._probe.diagnose import accepted
from ansible_collections.tlsops.handshake.plugins.module_utils._tls import wire, x509_lite as x509
from ansible_collections.tlsops.handshake.plugins.module_utils._tls.names import TLS_VERSIONS

# A bound on elimination rounds, so a server that keeps accepting garbage
# cannot keep the probe busy.
_MAX_ROUNDS = 200


def _eliminate(run, candidates, pick, **hello_kwargs):
    """Offer ``candidates``; drop whatever the server picks until it refuses."""
    remaining = list(candidates)
    found = []
    for _round in range(_MAX_ROUNDS):
        if not remaining:
            break
        flight = run.hello(**dict(hello_kwargs, **pick(remaining)))
        if not accepted(flight):
            break
        chosen = flight.cipher if "ciphers" in pick(remaining) else flight.group
        if chosen not in remaining:
            run.note("the server picked %r, which was not offered: stopping the scan" % (chosen,))
            break
        found.append(chosen)
        remaining.remove(chosen)
    return found


def _protocols(run):
    versions = []
    for version in TLS_VERSIONS:
        # every group, so a server with only uncommon curves still shows its versions
        flight = run.hello(versions=(version,), ciphers=_ciphers_for(version), groups=_all_groups(),
                           key_share_groups=[wire.group_code("x25519")] if version == "TLSv1.3" else None)
        if accepted(flight) and (flight.version or version) == version:
            versions.append(version)
    return versions


def _ciphers_for(version, tls12=None):
    suites13 = list(wire.tls13_cipher_suites())
    if version == "TLSv1.3":
        return suites13
    return list(tls12 if tls12 is not None else wire.tls12_cipher_suites())


def _all_groups():
    return wire.all_groups()


def _ciphers(run, versions):
    result = {}
    for version in versions:
        codes = _ciphers_for(version)
        names = wire.tls13_cipher_suites() if version == "TLSv1.3" else wire.tls12_cipher_suites()
        found = _eliminate(run, codes, lambda rest: {"ciphers": rest}, versions=(version,),
                           groups=_all_groups(), key_share_groups=[wire.group_code("x25519")])
        result[version] = [names.get(c, wire.cipher_name(c)) for c in found]
    return result


def _groups(run, versions):
    """Every group the server accepts: the TLS 1.3 scan (HelloRetryRequests), then a TLS 1.2 scan of what
    is left (ECDHE suites, the curve read from the ServerKeyExchange), so curves OpenSSL allows only
    in TLS 1.2 (brainpool*r1, the binary curves) count too.  Each scan costs one refusal."""
    found = []
    if "TLSv1.3" in versions:
        found = _eliminate(run, _all_groups(), lambda rest: {"groups": rest}, versions=("TLSv1.3",),
                           ciphers=_ciphers_for("TLSv1.3"), key_share_groups=[])
    legacy = [v for v in ("TLSv1.2", "TLSv1.1", "TLSv1") if v in versions]
    if legacy:
        # the groups a TLS 1.2 ECDHE key exchange can use (OpenSSL does not negotiate FFDHE there)
        remaining = [g for g in wire.all_groups(legacy[0]) if g not in found]
        ecdhe = [c for c, n in wire.tls12_cipher_suites().items() if n.startswith("ECDHE-")]
        for _round in range(_MAX_ROUNDS):
            if not remaining:
                break
            flight = run.hello(versions=(legacy[0],), ciphers=ecdhe, groups=remaining)
            ske = getattr(flight, "server_key_exchange", None) or {}
            chosen = ske.get("group")
            if not accepted(flight) or chosen not in remaining:
                break
            found.append(chosen)
            remaining.remove(chosen)
    return [wire.group_name(g) for g in found]


def _sni(run):
    spec = run.spec
    with_sni = run.handshake(sni=True, verify=False, http_request=False)
    without = run.handshake(sni=False, verify=False, http_request=False)
    changes = None
    if with_sni.handshake_ok and without.handshake_ok:
        changes = x509.parse_certificate(with_sni.peer_der)["sha256"] != x509.parse_certificate(without.peer_der)["sha256"]
    return {
        "requires_sni": bool(spec.get("server_name")) and with_sni.handshake_ok and not without.handshake_ok,
        "sni_changes_certificate": changes,
    }


def capabilities(run, items):
    """The scan of ``items``; what the budget did not cover is left out and noted in the evidence."""
    caps = {}
    try:
        versions = _protocols(run) if ("protocols" in items or "ciphers" in items or "groups" in items) else []
        if "protocols" in items:
            caps["protocols"] = versions
        if "ciphers" in items:
            caps["ciphers"] = _ciphers(run, versions)
        if "groups" in items:
            caps["groups"] = _groups(run, versions)
        if "sni" in items:
            caps.update(_sni(run))
    except DeadlineReached as exc:
        run.note("capability scan incomplete (%s): reported only %s" % (exc, ", ".join(sorted(caps)) or "nothing"))
    return caps
