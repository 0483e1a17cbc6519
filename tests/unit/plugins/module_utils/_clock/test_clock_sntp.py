# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The SNTP codec and offset arithmetic (pure), and one quick exchange on loopback."""

from __future__ import annotations

import struct

import pytest

from ansible_collections.tlsops.handshake.plugins.module_utils._clock import sntp
from tests.integration.ntp_lab import NtpServer

T1 = 1796160000.25  # a Unix time in 2026


def reply(request_transmit, t2, t3, leap=0, version=4, mode=4, stratum=2, refid=b"\x7f\x00\x00\x01", origin=None):
    return sntp.PACKET.pack((leap << 6) | (version << 3) | mode, stratum, 6, -20, 32, 64, refid, sntp.to_ntp(t2 - 8),
                            request_transmit if origin is None else origin, sntp.to_ntp(t2), sntp.to_ntp(t3))


def test_request_layout():
    packet, transmit = sntp.build_request(T1, nonce=0xABCD)
    assert len(packet) == 48 and packet[0] == 0x23  # LI 0, version 4, mode 3
    assert struct.unpack("!Q", packet[40:48])[0] == transmit
    assert transmit & 0xFFFF == 0xABCD
    assert abs(sntp.from_ntp(transmit, T1) - T1) < 2e-5  # the nonce costs at most 15 us


@pytest.mark.parametrize("offset", [0.0, 90.0, -3600.0, 0.0004])
def test_offset_and_delay(offset):
    packet, transmit = sntp.build_request(T1, nonce=0)
    t1 = sntp.from_ntp(transmit, T1)
    # 10 ms each way, 1 ms in the server, server clock `offset` ahead
    t2 = t1 + 0.010 + offset
    t3 = t2 + 0.001
    t4 = t1 + 0.021
    got = sntp.evaluate_reply(reply(transmit, t2, t3), transmit, t1, t4)
    assert got["offset"] == pytest.approx(offset, abs=1e-6)  # positive: the local clock is behind
    assert got["delay"] == pytest.approx(0.020, abs=1e-6)
    assert got["stratum"] == 2 and got["leap"] == "none" and got["reference_id"] == "127.0.0.1"


def test_era_rollover():
    # 2036-02-07 06:28:16 UTC: NTP seconds wrap to 0 (era 1)
    wrap = sntp.ERA_SECONDS - sntp.NTP_EPOCH_OFFSET
    for when in (wrap - 5.5, wrap + 5.5):
        assert sntp.from_ntp(sntp.to_ntp(when), when + 100) == pytest.approx(when, abs=1e-6)


@pytest.mark.parametrize("kwargs, code", [
    ({"stratum": 0, "refid": b"RATE"}, "kiss_of_death"),
    ({"stratum": 0, "refid": b"DENY", "leap": 3}, "kiss_of_death"),
    ({"leap": 3}, "unsynchronized"),
    ({"stratum": 16}, "unsynchronized"),
    ({"mode": 3}, "invalid"),
    ({"version": 0}, "invalid"),
    ({"origin": 12345}, "bogus_origin"),
])
def test_rejected_replies(kwargs, code):
    packet, transmit = sntp.build_request(T1)
    with pytest.raises(sntp.SntpError) as info:
        sntp.evaluate_reply(reply(transmit, T1, T1, **kwargs), transmit, T1, T1 + 0.001)
    assert info.value.code == code
    if code == "kiss_of_death":
        assert info.value.fields["kiss_code"] == kwargs["refid"].decode()
        assert "kiss-o'-death %s" % kwargs["refid"].decode() in str(info.value)


def test_truncated():
    with pytest.raises(sntp.SntpError) as info:
        sntp.parse_packet(b"\x24" * 47)
    assert info.value.code == "truncated" and "47 bytes" in str(info.value)


def test_zero_timestamps_are_invalid():
    packet, transmit = sntp.build_request(T1)
    data = bytearray(reply(transmit, T1, T1))
    data[32:48] = b"\0" * 16
    with pytest.raises(sntp.SntpError) as info:
        sntp.evaluate_reply(bytes(data), transmit, T1, T1)
    assert info.value.code == "invalid"


def test_refid_text():
    assert sntp.refid_text(1, b"GPS\0") == "GPS"
    assert sntp.refid_text(3, b"\xc0\x00\x02\x0a") == "192.0.2.10"
    assert sntp.refid_text(1, b"\x01\x02\x03\x04") == "01020304"


def test_query_server_on_loopback_picks_lowest_delay():
    with NtpServer(offset=-3600.0) as server:
        result = sntp.query_server("127.0.0.1", server.port, samples=3, timeout=0.5, interval=0.0)
    assert result["ok"] and result["samples_ok"] == 3 and result["error"] is None
    assert result["offset_ms"] == pytest.approx(-3600000, abs=200)
    assert result["server"] == "127.0.0.1:%d" % server.port and result["address"] == "127.0.0.1"


def test_query_server_stops_after_kiss():
    with NtpServer(mode="kiss", kiss_code="RSTR") as server:
        result = sntp.query_server("127.0.0.1", server.port, samples=4, timeout=0.5, interval=0.0)
        assert server.requests == 1
    assert result["error"] == "kiss_of_death" and result["kiss_code"] == "RSTR" and result["samples_sent"] == 1


def test_query_server_timeout_is_bounded():
    import time
    with NtpServer(mode="silent") as server:
        started = time.monotonic()
        result = sntp.query_server("127.0.0.1", server.port, samples=2, timeout=0.2, interval=0.05)
        took = time.monotonic() - started
    assert result["error"] == "timeout" and result["samples_sent"] == 2
    assert took < 2 * (0.2 + 0.05) + 0.3


def test_resolve_failure():
    result = sntp.query_server("name.invalid", 123, samples=1, timeout=0.2, interval=0)
    assert result["error"] == "resolve_failed" and result["address"] is None
