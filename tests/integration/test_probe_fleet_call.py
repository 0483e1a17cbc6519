# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One tls_probe call, many targets, against the real lab (issue #15, the fleet call).

The SSLContexts of a call are shared by targets whose settings are equal: a target's trust
store, client certificate or protocols must never reach another target's handshake, in either
order and at any concurrency.  And a healthy target costs at most 2 connections, counted by a
real counting relay (bench/relay.py, a process of its own) in front of the lab's servers.
"""

from __future__ import annotations

import pytest

from ansible_collections.tlsops.handshake.plugins.module_utils._probe.run import probe_targets
from bench.enumerate_scan import RelayProcess
from tests.integration.helpers import probe_args


def _causes(targets, concurrency):
    results, _summary = probe_targets(targets, concurrency=concurrency)
    return [(r["target"], r["cause"]) for r in results]


def _named(target, name):
    return dict(target, name=name)


@pytest.mark.parametrize("concurrency", [1, 8])
def test_targets_that_differ_only_in_ca_file_keep_their_own_trust(lab, concurrency):
    trusted = _named(probe_args(lab, "healthy"), "trusted")
    other = _named(probe_args(lab, "healthy", ca_file=lab.info["other_root_file"]), "other_root")
    targets = [trusted, other, dict(trusted, name="trusted_again"), dict(other, name="other_again")]
    assert _causes(targets, concurrency) == [("trusted", "ok"), ("other_root", "cert_untrusted"),
                                             ("trusted_again", "ok"), ("other_again", "cert_untrusted")]
    assert _causes(targets[::-1], concurrency) == [("other_again", "cert_untrusted"), ("trusted_again", "ok"),
                                                   ("other_root", "cert_untrusted"), ("trusted", "ok")]


def test_the_default_store_is_not_the_ca_file_of_another_target(lab):
    # the lab root is in no system store: only the target that names it may trust the lab
    with_ca = _named(probe_args(lab, "healthy"), "with_ca_file")
    default = {k: v for k, v in with_ca.items() if k != "ca_file"}
    default["name"] = "default_store"
    assert _causes([with_ca, default, dict(with_ca, name="again")], 1) == [
        ("with_ca_file", "ok"), ("default_store", "cert_untrusted"), ("again", "ok")]


@pytest.mark.parametrize("concurrency", [1, 8])
def test_a_client_certificate_serves_only_the_target_that_has_it(lab, concurrency):
    bare = _named(probe_args(lab, "mtls_nginx"), "no_client_cert")
    with_cert = _named(probe_args(lab, "mtls_nginx", client_cert=lab.info["client_cert"],
                                  client_key=lab.info["client_key"]), "client_cert")
    targets = [with_cert, bare, dict(with_cert, name="client_cert_again"), dict(bare, name="bare_again")]
    assert _causes(targets, concurrency) == [("client_cert", "ok"), ("no_client_cert", "client_cert_required"),
                                             ("client_cert_again", "ok"), ("bare_again", "client_cert_required")]


@pytest.mark.parametrize("concurrency", [1, 8])
def test_protocols_of_one_target_do_not_leak_into_another(lab, concurrency):
    tls12 = _named(probe_args(lab, "tls12_only", protocols=["TLSv1.2"]), "tls12")
    tls13 = _named(probe_args(lab, "tls12_only", protocols=["TLSv1.3"]), "tls13")
    targets = [tls12, tls13, dict(tls12, name="tls12_again"), dict(tls13, name="tls13_again")]
    assert _causes(targets, concurrency) == [("tls12", "ok"), ("tls13", "protocol_mismatch"),
                                             ("tls12_again", "ok"), ("tls13_again", "protocol_mismatch")]


def test_verify_off_does_not_switch_verification_off_for_the_others(lab):
    other = probe_args(lab, "healthy", ca_file=lab.info["other_root_file"])
    targets = [dict(other, name="unverified", verify=False), dict(other, name="verified")]
    assert _causes(targets, 1) == [("unverified", "ok"), ("verified", "cert_untrusted")]


# A healthy target: which connections it costs (tls_probe's DOCUMENTATION, `handshakes`).
HEALTHY = [
    ("healthy", {}, 1),                                                     # TLS 1.3
    ("tls12_only", {"protocols": ["TLSv1.2"]}, 1),                          # TLS 1.2
    ("healthy", {"groups": ["x25519", "secp384r1"]}, 2),                    # + the raw ClientHello ssl cannot send
]


@pytest.fixture(scope="module")
def relay(lab):
    ports = sorted({lab.scenarios[name]["port"] for name, _extra, _want in HEALTHY})
    counting = RelayProcess(ports, 300)
    try:
        yield counting
    finally:
        counting.stop()


@pytest.mark.parametrize("scenario,extra,connections", HEALTHY, ids=["tls13", "tls12", "groups_wire_check"])
def test_a_healthy_target_costs_at_most_two_connections(lab, relay, scenario, extra, connections):
    upstream = lab.scenarios[scenario]["port"]
    target = probe_args(lab, scenario, port=relay.ports[upstream], **extra)
    relay.reset()
    results, _summary = probe_targets([target])
    counted = relay.stats()["routes"][str(upstream)]["connections"]
    result = results[0]
    assert result["ok"], result
    assert result["tls"]["group"] and len(result["chain"]) == 2, result  # read from the handshake itself
    assert counted == result["handshakes"] == connections <= 2, (counted, result["handshakes"], result["evidence"])
