# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""x509_lite remembers what a fleet's leaves share (issuer name, the CA's extensions, algorithms, OIDs):
a certificate read with those memos must read exactly as without them, whatever came before it."""

from __future__ import annotations

import datetime
import os

import pytest

from ansible_collections.tlsops.handshake.plugins.module_utils._common.memo import BoundedMemo
from ansible_collections.tlsops.handshake.plugins.module_utils._tls import x509_lite as xl

cryptography = pytest.importorskip("cryptography")

# pylint: disable=wrong-import-position
from cryptography import x509  # noqa: E402
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec, rsa  # noqa: E402
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID, NameOID  # noqa: E402

UTC = datetime.timezone.utc
NOW = datetime.datetime(2026, 12, 1, tzinfo=UTC)
MEMOS = ("_OID_TEXTS", "_NAMES_READ", "_RDNS_READ", "_EXTENSIONS_READ", "_ALGORITHMS_READ")
SCT_LIST = x509.ObjectIdentifier("1.3.6.1.4.1.11129.2.4.2")


def _name(common_name):
    return x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Fleet CA Inc."),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


AIA = [x509.AccessDescription(AuthorityInformationAccessOID.OCSP, x509.UniformResourceIdentifier("http://ocsp.fleet.test")),
       x509.AccessDescription(AuthorityInformationAccessOID.CA_ISSUERS,
                              x509.UniformResourceIdentifier("http://ca.fleet.test/e1.der"))]


@pytest.fixture(scope="module")
def fleet():
    """Leaves of one CA as a public CA issues them: the CA's extensions on each, and a CN, key,
    SKI, SAN and SCT list of their own (their organization shared); an RSA and an EC key, different lifetimes."""
    ca_key = ec.generate_private_key(ec.SECP384R1())
    keys = [ec.generate_private_key(ec.SECP256R1()), rsa.generate_private_key(65537, 2048)]
    leaves = []
    for number in range(6):
        host = "svc%d.fleet.test" % number
        leaf_key = keys[number % 2]
        builder = (
            x509.CertificateBuilder().subject_name(x509.Name([
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Fleet Services"), x509.NameAttribute(NameOID.COMMON_NAME, host)]))
            .issuer_name(_name("Fleet E1")).public_key(leaf_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(NOW - datetime.timedelta(days=number))
            .not_valid_after(NOW + datetime.timedelta(days=90 - number))
            .add_extension(x509.KeyUsage(True, False, number % 2 == 1, False, False, False, False, False, False),
                           critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(leaf_key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .add_extension(x509.AuthorityInformationAccess(AIA), critical=False)
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(host), x509.DNSName("www." + host),
                                                        x509.RFC822Name("ops@fleet.test")]), critical=False)
            .add_extension(x509.UnrecognizedExtension(SCT_LIST, b"\x04\x40" + os.urandom(64)), critical=False))
        leaves.append(builder.sign(ca_key, hashes.SHA384()).public_bytes(serialization.Encoding.DER))
    return leaves


@pytest.fixture
def fresh_memos(monkeypatch):
    for memo in MEMOS:
        monkeypatch.setattr(xl, memo, BoundedMemo(getattr(xl, memo).limit))


def _read_without_memos(der):
    saved = {memo: getattr(xl, memo) for memo in MEMOS}
    try:
        for memo in MEMOS:
            setattr(xl, memo, BoundedMemo(0))     # keeps nothing: every part read from the bytes
        return xl.parse_certificate(der, now=NOW)
    finally:
        for memo, value in saved.items():
            setattr(xl, memo, value)


def test_every_leaf_reads_the_same_with_the_memos_as_without(fleet, fresh_memos):
    for round_number in range(2):
        for der in fleet:
            with_memos = xl.parse_certificate(der, now=NOW)
            assert with_memos == _read_without_memos(der), round_number
    info = xl.parse_certificate(fleet[1], now=NOW)
    assert info["key_usage"] == ["digitalSignature", "keyEncipherment"]
    assert info["extended_key_usage"] == ["serverAuth", "clientAuth"]
    assert info["ocsp_urls"] == ["http://ocsp.fleet.test"]
    assert info["aia_ca_issuers"] == ["http://ca.fleet.test/e1.der"]
    assert info["sans"] == info["san_dns"] == ["svc1.fleet.test", "www.svc1.fleet.test"]
    assert info["san_email"] == ["ops@fleet.test"]
    assert info["issuer"] == "CN=Fleet E1,O=Fleet CA Inc.,C=US"
    assert info["subject"] == "CN=svc1.fleet.test,O=Fleet Services" and info["subject_cns"] == ["svc1.fleet.test"]
    assert info["critical_extensions"] == ["2.5.29.15", "2.5.29.19"]


def test_what_one_leaf_alone_has_is_not_kept_what_the_ca_puts_on_all_is(fleet, fresh_memos):
    for der in fleet:
        xl.parse_certificate(der, now=NOW)
    kept = {oid for oid, dummy_critical, dummy_found in xl._EXTENSIONS_READ.values.values()}
    assert kept == {"2.5.29.15", "2.5.29.37", "2.5.29.19", "2.5.29.35", "1.3.6.1.5.5.7.1.1"}
    assert len(xl._EXTENSIONS_READ.values) == 6      # two key usages, one each of the other four
    assert [name for name, dummy in xl._NAMES_READ.values.values()] == ["CN=Fleet E1,O=Fleet CA Inc.,C=US"]
    # of the names' parts, those of an organization (a CN names one server)
    assert sorted(text for text, dummy in xl._RDNS_READ.values.values()) == ["C=US", "O=Fleet CA Inc.", "O=Fleet Services"]


def test_a_caller_changing_a_returned_dict_does_not_change_the_next_read(fleet, fresh_memos):
    first = xl.parse_certificate(fleet[0], now=NOW)
    expected = _read_without_memos(fleet[0])
    for key, value in first.items():
        if isinstance(value, list):
            value.append("changed")
    assert xl.parse_certificate(fleet[0], now=NOW) == expected


def test_the_memos_stay_bounded(fleet, monkeypatch):
    for memo in MEMOS:
        monkeypatch.setattr(xl, memo, BoundedMemo(2))
    for der in fleet:
        assert xl.parse_certificate(der, now=NOW) == _read_without_memos(der)
    assert all(len(getattr(xl, memo).values) <= 2 for memo in MEMOS)


def test_a_refused_extension_is_refused_again_and_never_kept(fleet, fresh_memos):
    basic_constraints = bytes.fromhex("0603551d130101ff04023000")     # 2.5.29.19, critical, SEQUENCE {}
    assert basic_constraints in fleet[0]
    broken = fleet[0].replace(basic_constraints, basic_constraints[:-2] + b"\x31\x00")      # a SET instead
    for dummy_attempt in range(2):
        with pytest.raises(ValueError, match="basicConstraints"):
            xl.parse_certificate(broken, now=NOW)
    assert not any(oid == "2.5.29.19" for oid, dummy_c, dummy_f in xl._EXTENSIONS_READ.values.values())
    assert xl.parse_certificate(fleet[0], now=NOW)["is_ca"] is False


def _time(tag, text):
    data = bytes([tag, len(text)]) + text.encode("ascii")
    return xl._read_tlv(data, 0, len(data))


@pytest.mark.parametrize("text,expected", [
    ("260101000000Z", datetime.datetime(2026, 1, 1, tzinfo=UTC)),
    ("491231235959Z", datetime.datetime(2049, 12, 31, 23, 59, 59, tzinfo=UTC)),
    ("500101000000Z", datetime.datetime(1950, 1, 1, tzinfo=UTC)),
    ("2601010000Z", datetime.datetime(2026, 1, 1, tzinfo=UTC)),                  # no seconds: read as before
    ("260101000000+0100", datetime.datetime(2025, 12, 31, 23, tzinfo=UTC)),       # an offset: read as before
])
def test_utc_times_read_the_short_way_and_the_long_way_agree(text, expected):
    assert xl._parse_time(_time(0x17, text)) == expected


@pytest.mark.parametrize("text", ["261301000000Z", "260230000000Z", "26010100000aZ", "2601010000001", "+60101000000Z"])
def test_a_utc_time_that_is_no_date_is_refused(text):
    with pytest.raises(xl.X509Error):
        xl._parse_time(_time(0x17, text))
