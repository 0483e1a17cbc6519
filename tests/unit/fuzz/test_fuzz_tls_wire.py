# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Properties of the raw TLS codec (plugins/module_utils/_tls/wire.py) under hostile bytes.

The oracle for everything built is the lab's server half (tests/lab/tls_server.py): a ClientHello
we write must read back field for field, and a flight the lab writes must read back the same
whichever way the network cuts it.  What a server sends is never trusted: any bytes give a
classified ServerFlight, never an internal error, within max_bytes and in time linear in the input.
"""

from __future__ import annotations

import ipaddress
import socket
import struct

from hypothesis import example, given, strategies as st

from ansible_collections.tlsops.handshake.plugins.module_utils._tls import flight, names, wire as tw
from tests.lab import tls_server as srv
from tests.unit.fuzz.fuzzing import examples, timed

# What parse_server_flight may answer for bytes alone (the others need a socket).
FLIGHT_KINDS = ("server_hello", "hello_retry_request", "alert", "not_tls", "closed", "malformed")
# Fields that depend on how the bytes were cut, by design: a parser that decided stops counting, and
# a banner cut short sniffs differently (read_server_flight reads a little more for that).
CUT_DEPENDENT = ("bytes_read", "first_bytes", "not_tls_hint", "elapsed_ms")


def feed_in_pieces(data, cuts, max_bytes=tw.DEFAULT_MAX_BYTES):
    """What read_server_flight does with a socket: feed ``data`` cut at ``cuts``, then EOF."""
    parser = flight.FlightParser(max_bytes)
    pos = 0
    for cut in sorted(set(c for c in cuts if 0 < c < len(data))) + [len(data)]:
        parser.feed(bytearray(data[pos:cut]))
        pos = cut
    if not parser.done:
        parser.finish_eof("closed")
    return parser.flight


def comparable(flight):
    out = flight.as_dict(include_certificates=True)
    for key in CUT_DEPENDENT:
        out.pop(key)
    return out


def check_classified(flight, data, max_bytes):
    assert flight.kind in FLIGHT_KINDS, flight
    assert "internal" not in (flight.error or ""), (data, flight.error)
    assert flight.bytes_read <= max_bytes
    assert flight.first_bytes == bytes(data[:min(64, max_bytes)])
    if flight.kind in ("malformed", "not_tls"):
        assert flight.error
    flight.as_dict(include_certificates=True)  # JSON-friendly whatever came in


# ---------------------------------------------------------------------------
# Strategies: TLS-shaped bytes, so the deep parsers are reached, not only the first byte
# ---------------------------------------------------------------------------

def _u16(value):
    return struct.pack("!H", value)


def _handshake(msg_type, body):
    return bytes((msg_type,)) + struct.pack("!I", len(body))[1:] + body


_extension = st.builds(lambda code, body: _u16(code) + _u16(len(body)) + body,
                       st.sampled_from(sorted(tw.EXTENSION_NAMES) + [0x1234]), st.binary(max_size=12))
_server_hello_body = st.builds(
    lambda version, random, sid, cipher, exts, cut: (
        _u16(version) + random + bytes((len(sid),)) + sid + _u16(cipher) + b"\x00"
        + (b"" if exts is None else _u16(len(b"".join(exts))) + b"".join(exts)))[:cut],
    st.sampled_from([0x0300, 0x0301, 0x0302, 0x0303, 0x0304, 0x7F1C]),
    st.one_of(st.binary(min_size=32, max_size=32), st.just(tw.HRR_RANDOM),
              st.binary(min_size=24, max_size=24).map(lambda b: b + b"DOWNGRD\x01")),
    st.binary(max_size=32),
    st.sampled_from([0x1301, 0x1303, 0xC02F, 0xC030, 0x009E, 0x0033, 0xCCAA, 0x00A8, 0x1234]),
    st.one_of(st.none(), st.lists(_extension, max_size=5)),
    st.integers(0, 200))
_handshake_message = st.one_of(
    st.builds(_handshake, st.just(tw.HS_SERVER_HELLO), _server_hello_body),
    st.builds(_handshake, st.sampled_from([0, 1, 4, 11, 12, 13, 14, 22, 99]), st.binary(max_size=60)),
)
_record = st.builds(
    lambda ctype, version, payload, fragment: tw.build_records(ctype, payload, version=version, max_fragment=fragment),
    st.sampled_from([20, 21, 22, 22, 22, 23]),
    st.sampled_from([0x0300, 0x0301, 0x0303]),
    st.one_of(st.lists(_handshake_message, min_size=1, max_size=4).map(b"".join), st.binary(max_size=10)),
    st.integers(1, 300))
tls_shaped = st.lists(_record, max_size=6).map(b"".join)
cuts = st.lists(st.integers(0, 2000), max_size=20)


# ---------------------------------------------------------------------------
# Any bytes: classified, bounded, and the same however the network cuts them
# ---------------------------------------------------------------------------

@examples(1000)
@given(data=st.one_of(st.binary(max_size=300), tls_shaped), cuts=cuts)
def test_any_flight_is_classified_the_same_however_it_is_cut(data, cuts):
    whole = tw.parse_server_flight(data)
    check_classified(whole, data, tw.DEFAULT_MAX_BYTES)
    assert comparable(feed_in_pieces(data, cuts)) == comparable(whole)


@examples(300)
@given(data=st.one_of(st.binary(max_size=600), tls_shaped), max_bytes=st.integers(1, 700))
def test_bytes_read_never_exceeds_max_bytes(data, max_bytes):
    flight = tw.parse_server_flight(data, max_bytes=max_bytes)
    check_classified(flight, data, max_bytes)
    if flight.kind == "malformed" and "without a decision" in (flight.error or ""):
        assert len(data) >= max_bytes


@examples(100)
@given(data=st.one_of(st.binary(max_size=600), tls_shaped), max_bytes=st.integers(64, 700))
def test_the_socket_reader_agrees_with_the_parser_and_keeps_to_max_bytes(data, max_bytes):
    # read_server_flight on a real socket (a connected pair: the peer wrote everything and closed).
    # max_bytes from 64: below that, the extra read that sniffs a non-TLS banner may read past it
    # (up to 64 bytes in all; no caller sets max_bytes that low).
    ours, peer = socket.socketpair()
    with ours, peer:
        peer.sendall(data)
        peer.shutdown(socket.SHUT_WR)
        flight = tw.read_server_flight(ours, 2.0, max_bytes=max_bytes)
    assert flight.bytes_read <= max_bytes and flight.elapsed_ms < 2000
    assert comparable(flight) == comparable(tw.parse_server_flight(data, max_bytes=max_bytes))


@examples(10)
@given(filler=st.sampled_from([
    b"\x16\x03\x03\x00\x00",                                   # empty handshake records
    tw.build_records(tw.CT_HANDSHAKE, b"\x00\x00\x00\x00"),      # HelloRequest, one per record
    tw.build_records(tw.CT_ALERT, b"\x01\x70"),                  # warning alerts (unrecognized_name)
]), piece=st.sampled_from([1, 7, 4096, 65536]))
def test_a_flood_of_legal_records_costs_linear_time(filler, piece):
    # Each record alone is legal, so only max_bytes ends the flood; 256 kB in 1-byte pieces is
    # 262144 feed() calls, ~0.2 s here: a quadratic buffer would take minutes.
    data = filler * (tw.DEFAULT_MAX_BYTES // len(filler) + 1)
    seconds, flight = timed(feed_in_pieces, data[:tw.DEFAULT_MAX_BYTES], range(0, len(data), piece))
    assert flight.kind in ("closed", "alert", "malformed") and "internal" not in (flight.error or "")
    assert seconds < 5, seconds


# ---------------------------------------------------------------------------
# Valid flights from the lab's builders read back exactly, whatever the record and TCP cuts
# ---------------------------------------------------------------------------

def _client_hello():
    return srv.parse_client_hello(tw.build_client_hello(alpn=["h2", "http/1.1"]))


_CLIENT_HELLO = _client_hello()
_TLS12_ECDHE = [0xC02F, 0xC030, 0xCCA8, 0xC013]


@examples(200)
@given(cipher=st.sampled_from(_TLS12_ECDHE + [0x009C, 0x002F]),
       version=st.sampled_from(["TLSv1", "TLSv1.1", "TLSv1.2"]),
       renegotiation_info=st.booleans(),
       alpn=st.one_of(st.none(), st.sampled_from(["h2", "http/1.1"])),
       certificates=st.lists(st.binary(min_size=1, max_size=3000), max_size=4),
       ske_group=st.sampled_from([0x0017, 0x001D, 0x0018]),
       request_certificate=st.booleans(),
       fragment=st.integers(1, tw.MAX_FRAGMENT),
       cuts=cuts)
def test_tls12_flight_round_trip(cipher, version, renegotiation_info, alpn, certificates, ske_group,
                                 request_certificate, fragment, cuts):
    extensions = [(tw.EXT_ALPN, _u16(len(alpn) + 1) + bytes((len(alpn),)) + alpn.encode())] if alpn else []
    hello = srv.build_server_hello(_CLIENT_HELLO, version=version, cipher=cipher,
                                   include_renegotiation_info=renegotiation_info, extensions=extensions)
    messages = tw.iter_records(hello)[0][0].fragment + srv.build_certificate(certificates)
    ecdhe = cipher in _TLS12_ECDHE
    if ecdhe:  # named_curve, the group, a 65-byte point, then sigalg + signature (TLS 1.2 only)
        body = b"\x03" + _u16(ske_group) + bytes((65,)) + b"\x04" * 65
        if version == "TLSv1.2":
            body += _u16(0x0804) + _u16(256) + b"\x00" * 256
        messages += _handshake(tw.HS_SERVER_KEY_EXCHANGE, body)
    if request_certificate:
        messages += _handshake(tw.HS_CERTIFICATE_REQUEST, b"\x01\x01\x00\x00")
    messages += srv.build_server_hello_done()
    data = tw.build_records(tw.CT_HANDSHAKE, messages, max_fragment=fragment)

    flight = feed_in_pieces(data, cuts)
    assert comparable(flight) == comparable(tw.parse_server_flight(data))
    assert flight.kind == "server_hello" and flight.complete and not flight.error, flight
    assert flight.version == version and flight.cipher == cipher
    assert flight.certificates == certificates
    assert flight.renegotiation_info is renegotiation_info
    assert flight.extended_master_secret  # the client hello offered it, the lab echoes it
    assert flight.alpn == alpn
    assert flight.certificate_request is request_certificate
    assert flight.handshake_types == ([2, 11] + ([12] if ecdhe else []) + ([13] if request_certificate else []) + [14])
    if ecdhe:
        assert flight.group == ske_group and flight.server_key_exchange["public_key_length"] == 65
        assert flight.server_key_exchange.get("sigalg") == (0x0804 if version == "TLSv1.2" else None)


@examples(150)
@given(fragment=st.integers(1, 600), keep=st.floats(0, 1, exclude_max=True), garbage=st.binary(min_size=1, max_size=50))
def test_a_cut_flight_is_never_complete_and_what_follows_is_not_read(fragment, keep, garbage):
    messages = (tw.iter_records(srv.build_server_hello(_CLIENT_HELLO, cipher=0xC02F))[0][0].fragment
                + srv.build_certificate([b"\x30" * 700]) + srv.build_server_hello_done())
    data = tw.build_records(tw.CT_HANDSHAKE, messages, max_fragment=fragment)
    cut = tw.parse_server_flight(data[:int(len(data) * keep)])
    assert not cut.complete and cut.kind in ("closed", "server_hello"), cut
    if cut.kind == "server_hello":
        assert cut.error == "closed after ServerHello"
    whole = tw.parse_server_flight(data + garbage)
    assert whole.complete and comparable(whole) == comparable(tw.parse_server_flight(data))


@examples(150)
@given(warnings=st.lists(st.integers(1, 255), max_size=5), level=st.integers(1, 2), description=st.integers(0, 255),
       then_hello=st.booleans(), cuts=cuts)
def test_alerts_read_back(warnings, level, description, then_hello, cuts):
    # Warning alerts before the ServerHello (old servers' unrecognized_name) do not decide anything.
    data = b"".join(srv.build_alert(w, level=1) for w in warnings)
    if then_hello:
        data += srv.build_server_hello(_CLIENT_HELLO, version="TLSv1.3")
    else:
        data += srv.build_alert(description, level=level)
    flight = feed_in_pieces(data, cuts)
    if then_hello:
        assert flight.kind == "server_hello" and flight.complete
        assert flight.alert == ((1, warnings[-1], names.alert_name(warnings[-1])) if warnings else None)
    else:
        assert flight.kind == "alert", flight
        assert flight.alert == (level, description, names.alert_name(description))
    # An alert record shorter than 2 bytes is not an alert.
    assert tw.parse_server_flight(tw.build_records(tw.CT_ALERT, bytes((2,)))).kind == "malformed"


@examples(100)
@given(group=st.sampled_from([0x001D, 0x0017, 0x0018, 0x0100, 0x11EC]),
       retry=st.booleans(),
       cookie=st.binary(max_size=300),
       cipher=st.sampled_from(sorted(names.tls13_cipher_suites())),
       trailing=st.binary(max_size=100),
       cuts=cuts)
def test_tls13_server_hello_and_retry_round_trip(group, retry, cookie, cipher, trailing, cuts):
    if retry:
        record = srv.build_hello_retry_request(_CLIENT_HELLO, group, cipher=cipher, cookie=cookie)
    else:
        record = srv.build_server_hello(_CLIENT_HELLO, version="TLSv1.3", cipher=cipher, group=group)
    # what follows a TLS 1.3 ServerHello is encrypted: the parser must stop before reading it
    data = record + b"\x14\x03\x03\x00\x01\x01" + tw.build_records(tw.CT_APPLICATION_DATA, trailing)
    flight = feed_in_pieces(data, cuts)
    assert flight.kind == ("hello_retry_request" if retry else "server_hello") and flight.complete, flight
    assert flight.version == "TLSv1.3" and flight.cipher == cipher and flight.group == group
    assert flight.session_id == _CLIENT_HELLO.session_id and flight.handshake_types == [2]
    assert not flight.error and flight.downgrade is None


# ---------------------------------------------------------------------------
# The ClientHello we send reads back as we meant it (the lab's parser is the oracle)
# ---------------------------------------------------------------------------

_label = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?", fullmatch=True)
dns_names = st.lists(_label, min_size=1, max_size=4).map(".".join)
_VERSION_SETS = [("TLSv1.3",), ("TLSv1.2", "TLSv1.3"), ("TLSv1.2",), ("TLSv1", "TLSv1.2"), ("TLSv1.1",),
                 ("TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3")]
_SHARE_GROUPS = [g for g in sorted(names._GROUP_NAMES) if tw.can_make_key_share(g)]


def _is_ip(text):
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


@examples(150)
@given(server_name=st.one_of(st.none(), dns_names, dns_names.map(lambda n: n + "."),
                             st.sampled_from(["127.0.0.1", "::1", "[::1]"])),
       versions=st.sampled_from(_VERSION_SETS),
       ciphers=st.one_of(st.none(), st.lists(st.integers(1, 0xFFFE), min_size=1, max_size=40, unique=True)),
       groups=st.lists(st.sampled_from(sorted(names._GROUP_NAMES)), min_size=1, max_size=8, unique=True),
       share=st.lists(st.sampled_from(_SHARE_GROUPS), max_size=2, unique=True),
       sigalgs=st.lists(st.sampled_from(sorted(names.SIGALGS.values())), min_size=1, max_size=12, unique=True),
       alpn=st.lists(st.sampled_from(["h2", "http/1.1", "acme-tls/1", "x" * 255]), max_size=3, unique=True),
       renegotiation_info=st.sampled_from([True, "scsv", False]),
       session_id=st.binary(max_size=32),
       random=st.binary(min_size=32, max_size=32),
       pad_to=st.one_of(st.none(), st.integers(0, 2000), st.integers(16380, 16400)))
@example(server_name="0.0.0.0", versions=("TLSv1.3",), ciphers=None, groups=[19], share=[], sigalgs=[513], alpn=[],
         renegotiation_info=True, session_id=b"", random=bytes(32), pad_to=None).via("make fuzz: digit labels")
def test_client_hello_round_trip(server_name, versions, ciphers, groups, share, sigalgs, alpn, renegotiation_info,
                                 session_id, random, pad_to):
    if ciphers is not None:
        ciphers = [c for c in ciphers if c != names.SCSV_RENEGOTIATION] or [0xC02F]
    record = tw.build_client_hello(
        server_name=server_name, versions=versions, ciphers=ciphers, groups=groups, key_share_groups=share,
        sigalgs=sigalgs, alpn=alpn, renegotiation_info=renegotiation_info, session_id=session_id,
        random=random, pad_to=pad_to)
    hello = srv.parse_client_hello(record)
    offer13 = "TLSv1.3" in versions
    highest = max(names.version_code(v) for v in versions)

    assert hello.random == random and hello.session_id == session_id
    assert hello.legacy_version == (0x0303 if offer13 else highest)
    if offer13:
        assert hello.versions == sorted(versions, key=names.version_code, reverse=True)
        assert hello.key_share_groups == share and hello.psk_modes == [1]
    else:
        assert hello.versions[0] == names.version_name(highest) and not hello.key_shares
    if ciphers is not None:
        assert hello.ciphers[:len(ciphers)] == ciphers
    assert hello.has_scsv is (renegotiation_info == "scsv")
    assert hello.has_renegotiation_info is (renegotiation_info is True)
    assert hello.groups == groups
    assert hello.sigalgs == (sigalgs if highest >= 0x0303 else [])
    assert hello.alpn == alpn
    # no SNI for an IP literal (RFC 6066), also one the name strategy spells from digit labels
    is_ip = server_name is not None and _is_ip(server_name.strip("[]"))
    assert hello.server_name == (None if not server_name or is_ip else server_name.rstrip("."))
    if pad_to:
        # A padding extension makes the records at least pad_to bytes; exactly, except where the
        # size lands on a record boundary (a new 5-byte header): then at most 5 more.
        assert pad_to <= len(record) <= max(pad_to + 5, len(tw.build_client_hello(
            server_name=server_name, versions=versions, ciphers=ciphers, groups=groups, key_share_groups=share,
            sigalgs=sigalgs, alpn=alpn, renegotiation_info=renegotiation_info, session_id=session_id,
            random=random)))


# ---------------------------------------------------------------------------
# Records
# ---------------------------------------------------------------------------

@examples(200)
@given(ctype=st.integers(0, 255), version=st.integers(0, 0xFFFF), payload=st.binary(max_size=3000),
       fragment=st.integers(1, 2000), tail=st.binary(max_size=4))
def test_records_round_trip(ctype, version, payload, fragment, tail):
    records, rest = tw.iter_records(tw.build_records(ctype, payload, version=version, max_fragment=fragment) + tail)
    assert b"".join(r.fragment for r in records) == payload and rest == tail
    assert all(r.content_type == ctype and r.version == version and len(r.fragment) <= fragment for r in records)


@examples(200)
@given(data=st.one_of(st.binary(max_size=400), tls_shaped))
def test_iter_records_loses_no_byte(data):
    records, rest = tw.iter_records(data)
    assert b"".join(r.raw for r in records) + rest == data
    assert len(rest) < 5 or len(rest) < 5 + struct.unpack("!H", rest[3:5])[0]
