# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Properties of the SNTP client's packet parsing (plugins/module_utils/_clock/sntp.py).

A reply is any datagram a host on the path cares to send: it gives a sample or an SntpError whose
code is one of ERRORS, nothing else.  A reply built from known times gives back the offset and the
delay it was built with; the checks run in RFC 5905's order (this file states that order on its own).
"""

from __future__ import annotations

import json
import math
import socket
import struct
import threading

import pytest
from hypothesis import given, strategies as st

from ansible_collections.tlsops.handshake.plugins.module_utils._clock import sntp
from tests.unit.fuzz.fuzzing import examples

T1 = 1796160000.25  # 2026; the era boundary (2036) is covered by the round trip below


def check_sample_or_documented_error(data, transmit, t1, t4):
    try:
        got = sntp.evaluate_reply(data, transmit, t1, t4)
    except sntp.SntpError as exc:
        assert exc.code in sntp.ERRORS and str(exc), exc.code
        return exc
    json.dumps(got)
    assert all(math.isfinite(v) for v in got.values() if isinstance(v, float)), got
    assert got["delay"] >= 0 and got["leap"] in sntp.LEAP_NAMES.values()
    return got


@examples(500)
@given(data=st.binary(max_size=100), transmit=st.integers(0, 2 ** 64 - 1), echo=st.booleans(),
       t1=st.floats(0, 2 ** 33), elapsed=st.floats(0, 10))
def test_any_datagram_gives_a_sample_or_a_documented_error(data, transmit, echo, t1, elapsed):
    if echo and len(data) >= 48:  # get past the origin check to the deeper ones
        data = data[:24] + struct.pack("!Q", transmit) + data[32:]
    result = check_sample_or_documented_error(data, transmit, t1, t1 + elapsed)
    if len(data) < 48:
        assert isinstance(result, sntp.SntpError) and result.code == "truncated"
        assert result.fields["length"] == len(data)
    else:
        assert sntp.parse_packet(data) == sntp.parse_packet(data[:48])  # extension fields / MAC are not read


def expected_error(leap, version, mode, stratum, origin_ok, receive, transmit):
    """RFC 5905's checks of a server reply, in order (None: the reply is usable)."""
    if mode != 4 or not 1 <= version <= 4:
        return "invalid"
    if not origin_ok:
        return "bogus_origin"
    if stratum == 0:
        return "kiss_of_death"
    if leap == 3 or stratum > 15:
        return "unsynchronized"
    if receive == 0 or transmit == 0:
        return "invalid"
    return None


@examples(400)
@given(leap=st.integers(0, 3), version=st.integers(0, 7), mode=st.integers(0, 7), stratum=st.integers(0, 255),
       poll=st.integers(-128, 127), precision=st.integers(-128, 127), root_delay=st.integers(0, 2 ** 32 - 1),
       root_dispersion=st.integers(0, 2 ** 32 - 1), refid=st.binary(min_size=4, max_size=4),
       origin_ok=st.booleans(), offset=st.floats(-1e6, 1e6), delay=st.floats(0, 5), server_time=st.floats(0, 1),
       zero=st.sampled_from([None, "receive", "transmit"]))
def test_a_reply_reads_back_and_is_judged_in_rfc_order(
        leap, version, mode, stratum, poll, precision, root_delay, root_dispersion, refid, origin_ok, offset, delay,
        server_time, zero):
    request, transmit = sntp.build_request(T1, nonce=0x1234)
    t1 = sntp.from_ntp(transmit, T1)
    t2 = t1 + delay / 2 + offset          # the server's clock is `offset` ahead
    t3 = t2 + server_time
    t4 = t1 + delay + server_time
    receive = 0 if zero == "receive" else sntp.to_ntp(t2)
    transmit_field = 0 if zero == "transmit" else sntp.to_ntp(t3)
    reply = sntp.PACKET.pack((leap << 6) | (version << 3) | mode, stratum, poll, precision, root_delay,
                             root_dispersion, refid, sntp.to_ntp(t1 - 60), transmit if origin_ok else transmit ^ 1,
                             receive, transmit_field)

    fields = sntp.parse_packet(reply)
    assert (fields["leap"], fields["version"], fields["mode"], fields["stratum"]) == (leap, version, mode, stratum)
    assert (fields["poll"], fields["precision"], fields["refid"]) == (poll, precision, refid)
    assert fields["root_delay"] == root_delay / 65536.0 and fields["root_dispersion"] == root_dispersion / 65536.0

    result = check_sample_or_documented_error(reply, transmit, t1, t4)
    want = expected_error(leap, version, mode, stratum, origin_ok, receive, transmit_field)
    if want is not None:
        assert isinstance(result, sntp.SntpError) and result.code == want, (want, result)
        if want == "kiss_of_death":
            assert result.fields["kiss_code"] == refid.rstrip(b"\0").decode("ascii", "replace")
        return
    assert not isinstance(result, sntp.SntpError), result
    # NTP timestamps resolve 2^-32 s; a float near 1.8e9 s about 2.4e-7 s.
    assert result["offset"] == pytest.approx(offset, abs=1e-5)
    assert result["delay"] == pytest.approx(delay, abs=1e-5)
    assert result["stratum"] == stratum and result["version"] == version
    assert isinstance(result["reference_id"], str) and result["reference_id"].isprintable()


@examples(300)
@given(unix=st.floats(0, 2 ** 33), skew=st.floats(-60 * 365.25 * 86400, 60 * 365.25 * 86400))
def test_timestamps_round_trip_across_eras(unix, skew):
    # Any clock within 68 years of the truth picks the right NTP era (2036 wraps era 0 to 1).
    assert sntp.from_ntp(sntp.to_ntp(unix), unix + skew) == pytest.approx(unix, abs=1e-5)


@examples(100)
@given(unix=st.floats(0, 2 ** 32), nonce=st.integers(0, 0xFFFF))
def test_requests_are_client_packets_carrying_the_nonce(unix, nonce):
    packet, transmit = sntp.build_request(unix, nonce=nonce)
    fields = sntp.parse_packet(packet)
    assert len(packet) == 48 and (fields["mode"], fields["version"], fields["leap"]) == (3, 4, 0)
    assert fields["transmit"] == transmit and transmit & 0xFFFF == nonce
    assert abs(sntp.from_ntp(transmit, unix) - unix) < 2e-5


class _AnsweringServer:
    """A UDP socket on loopback that answers each request with the next datagram of a script."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(2)
        self.address = self.sock.getsockname()
        self.replies = []

    def answer_once(self):
        try:
            request, peer = self.sock.recvfrom(1024)
        except socket.timeout:
            return
        for reply in self.replies:
            if reply == "echo":  # a valid reply: stratum 2, every timestamp the request's transmit time
                reply = struct.pack("!BBbbII4s", 0x24, 2, 6, -20, 32, 64, b"\x7f\0\0\1") + request[40:48] * 4
            self.sock.sendto(reply, peer)


@pytest.fixture(scope="module")
def server():
    srv = _AnsweringServer()
    yield srv
    srv.sock.close()


@examples(30)
@given(replies=st.lists(st.one_of(st.binary(max_size=100), st.just("echo")), min_size=1, max_size=3))
def test_sample_over_loopback_gives_a_sample_or_a_documented_error(server, replies):
    server.replies = replies
    thread = threading.Thread(target=server.answer_once)
    thread.start()
    try:
        got = sntp.sample(socket.AF_INET, server.address, 0.3)
    except sntp.SntpError as exc:
        assert exc.code in sntp.ERRORS
        got = None
    finally:
        thread.join(5)
    # The echo is the only reply that can carry our origin timestamp: a sample comes from it or from nothing.
    if got is not None:
        assert "echo" in replies and got["stratum"] == 2
