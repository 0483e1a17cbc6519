# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A small SNTP client (RFC 4330 / RFC 5905 client mode), standard library only.

Sign convention, used throughout the clock engine: ``offset`` is how far the
local clock must move to be right, ``true time - local time`` (the NTP theta).
Positive means the local clock is behind.

    T1 = client transmit (local clock)   T2 = server receive (server clock)
    T3 = server transmit (server clock)  T4 = client receive (local clock)
    offset = ((T2 - T1) + (T3 - T4)) / 2      delay = (T4 - T1) - (T3 - T2)

T4 is T1 plus the elapsed monotonic time, so a clock step during a query does
not corrupt the sample.
"""

from __future__ import annotations

import os
import socket
import struct
import time

from ansible_collections.tlsops.handshake.plugins.module_utils._common import text as _text

NTP_EPOCH_OFFSET = 2208988800  # seconds from 1900-01-01 (NTP era 0) to 1970-01-01
ERA_SECONDS = 1 << 32
PACKET = struct.Struct("!BBbbII4sQQQQ")
PACKET_LEN = PACKET.size  # 48
MODE_CLIENT = 3
MODE_SERVER = 4
MAX_STRATUM = 15

LEAP_NAMES = {0: "none", 1: "insert_second", 2: "delete_second", 3: "unsynchronized"}

# RFC 5905 section 7.4: kiss codes.  DENY and RSTR mean "stop asking", RATE "ask less often".
KISS_CODES = {
    "ACST": "the association belongs to an anycast server",
    "AUTH": "server authentication failed",
    "AUTO": "autokey sequence failed",
    "BCST": "the association belongs to a broadcast server",
    "CRYP": "cryptographic authentication or identification failed",
    "DENY": "access denied by the server",
    "DROP": "lost peer in symmetric mode",
    "RSTR": "access denied due to local policy",
    "INIT": "the association has not yet synchronized for the first time",
    "MCST": "the association belongs to a dynamically discovered server",
    "NKEY": "no key found",
    "NTSN": "NTS negative acknowledgement",
    "RATE": "rate exceeded: the server asks for fewer queries",
    "RMOT": "alteration of association from a remote host running ntpdc",
    "STEP": "a step change in system time has occurred",
}

# Per-server error codes (servers[].error).
ERRORS = {
    "timeout": "no reply within {timeout} s",
    "kiss_of_death": "kiss-o'-death {kiss_code}: {kiss_meaning}",
    "unsynchronized": "the server is not synchronised itself ({detail})",
    "bogus_origin": "replies did not echo our transmit timestamp (a stale or spoofed packet)",
    "truncated": "reply of {length} bytes, shorter than the 48-byte NTP header",
    "invalid": "invalid reply: {detail}",
    "resolve_failed": "could not resolve {host}: {detail}",
    "network_error": "{detail}",
}


class SntpError(Exception):
    """One sample failed; ``code`` is a key of ERRORS, ``fields`` fill its text."""

    def __init__(self, code, **fields):
        self.code = code
        self.fields = fields
        super(SntpError, self).__init__(_text.fill(ERRORS[code], fields, missing="?"))


def to_ntp(unix_time):
    """64-bit NTP timestamp (era folded into 32 bits) for a Unix time."""
    ntp = unix_time + NTP_EPOCH_OFFSET
    seconds = int(ntp)
    fraction = int((ntp - seconds) * ERA_SECONDS) & 0xFFFFFFFF
    return ((seconds % ERA_SECONDS) << 32) | fraction


def from_ntp(value, near):
    """Unix time of a 64-bit NTP timestamp, picking the NTP era closest to ``near`` (a Unix time).

    That resolves era 0/era 1 (2036) correctly for any clock within 68 years of the truth.
    """
    seconds = value >> 32
    fraction = (value & 0xFFFFFFFF) / float(ERA_SECONDS)
    near_ntp = near + NTP_EPOCH_OFFSET
    era = int(near_ntp // ERA_SECONDS)
    best = min((candidate_era * ERA_SECONDS + seconds + fraction for candidate_era in (era - 1, era, era + 1)),
               key=lambda candidate: abs(candidate - near_ntp))
    return best - NTP_EPOCH_OFFSET


def short_to_seconds(value):
    """NTP short format (16.16 fixed point) to seconds."""
    return value / 65536.0


def build_request(unix_time, nonce=None):
    """A 48-byte client request (LI 0, version 4, mode 3).

    The transmit timestamp carries ``unix_time``; its lowest 16 fraction bits (15 us) are
    replaced by a random nonce so a reply can be matched to its request, as RFC 5905 advises.
    Returns ``(packet, transmit_field)``.
    """
    if nonce is None:
        nonce = struct.unpack("!H", os.urandom(2))[0]
    transmit = (to_ntp(unix_time) & ~0xFFFF) | (nonce & 0xFFFF)
    packet = PACKET.pack((0 << 6) | (4 << 3) | MODE_CLIENT, 0, 0, 0, 0, 0, b"\0\0\0\0", 0, 0, 0, transmit)
    return packet, transmit


def refid_text(stratum, refid):
    """The reference ID as people read it: ASCII for stratum 0/1, a dotted IPv4 address above."""
    if stratum <= 1:
        text = refid.rstrip(b"\0").decode("ascii", "replace")
        return text if text.isprintable() else refid.hex().upper()
    return socket.inet_ntoa(refid)


def parse_packet(data):
    """Fields of an NTP header as a dict (``truncated`` SntpError when shorter than 48 bytes)."""
    if len(data) < PACKET_LEN:
        raise SntpError("truncated", length=len(data))
    (flags, stratum, poll, precision, root_delay, root_dispersion, refid,
     reference, origin, receive, transmit) = PACKET.unpack_from(data)
    return {
        "leap": flags >> 6,
        "version": (flags >> 3) & 7,
        "mode": flags & 7,
        "stratum": stratum,
        "poll": poll,
        "precision": precision,
        "root_delay": short_to_seconds(root_delay),
        "root_dispersion": short_to_seconds(root_dispersion),
        "refid": refid,
        "reference": reference,
        "origin": origin,
        "receive": receive,
        "transmit": transmit,
    }


def evaluate_reply(data, transmit_field, t1, t4):
    """Check one reply against our request and compute the sample.

    ``t1``/``t4`` are local Unix times of sending and receiving.  Raises SntpError for a reply
    that must not be used (kiss-o'-death, unsynchronised server, wrong origin, malformed).
    """
    pkt = parse_packet(data)
    if pkt["mode"] != MODE_SERVER:
        raise SntpError("invalid", detail="mode %d, expected 4 (server)" % pkt["mode"])
    if not 1 <= pkt["version"] <= 4:
        raise SntpError("invalid", detail="version %d" % pkt["version"])
    if pkt["origin"] != transmit_field:
        raise SntpError("bogus_origin")
    if pkt["stratum"] == 0:
        code = pkt["refid"].rstrip(b"\0").decode("ascii", "replace")
        raise SntpError("kiss_of_death", kiss_code=code,
                        kiss_meaning=KISS_CODES.get(code, "unknown kiss code"))
    if pkt["leap"] == 3:
        raise SntpError("unsynchronized", detail="leap indicator 3, stratum %d" % pkt["stratum"],
                        stratum=pkt["stratum"], leap=LEAP_NAMES[3])
    if pkt["stratum"] > MAX_STRATUM:
        raise SntpError("unsynchronized", detail="stratum %d" % pkt["stratum"], stratum=pkt["stratum"],
                        leap=LEAP_NAMES[pkt["leap"]])
    if pkt["transmit"] == 0 or pkt["receive"] == 0:
        raise SntpError("invalid", detail="zero receive or transmit timestamp")
    t2 = from_ntp(pkt["receive"], t1)
    t3 = from_ntp(pkt["transmit"], t1)
    offset = ((t2 - t1) + (t3 - t4)) / 2.0
    delay = (t4 - t1) - (t3 - t2)
    return {
        "offset": offset,
        "delay": max(delay, 0.0),
        "stratum": pkt["stratum"],
        "leap": LEAP_NAMES[pkt["leap"]],
        "version": pkt["version"],
        "poll": pkt["poll"],
        "precision": pkt["precision"],
        "root_delay": pkt["root_delay"],
        "root_dispersion": pkt["root_dispersion"],
        "reference_id": refid_text(pkt["stratum"], pkt["refid"]),
    }


def resolve(host, port):
    """First UDP address of ``host``: ``(family, sockaddr)``."""
    try:
        infos = socket.getaddrinfo(host, port, 0, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
    except (socket.gaierror, UnicodeError) as exc:
        raise SntpError("resolve_failed", host=host, detail=str(exc))
    if not infos:
        raise SntpError("resolve_failed", host=host, detail="no address")
    return infos[0][0], infos[0][4]


def sample(family, sockaddr, timeout, clock=time.time, monotonic=time.monotonic):
    """One request/reply exchange with a resolved server; the sample dict or SntpError.

    Waits at most ``timeout`` seconds.  Replies that are not ours (wrong origin timestamp) are
    skipped while time remains; if only such replies came, the error is ``bogus_origin``.
    """
    sock = socket.socket(family, socket.SOCK_DGRAM)
    try:
        # connect(): the kernel drops datagrams from any other address or port
        sock.connect(sockaddr)
        t1 = clock()
        m1 = monotonic()
        packet, transmit_field = build_request(t1)
        sock.send(packet)
        deadline = m1 + timeout
        bogus = None
        while True:
            remaining = deadline - monotonic()
            if remaining <= 0:
                if bogus is not None:
                    raise bogus
                raise SntpError("timeout", timeout=_num(timeout))
            sock.settimeout(remaining)
            try:
                data = sock.recv(1024)
            except socket.timeout:
                continue
            t4 = t1 + (monotonic() - m1)
            try:
                return evaluate_reply(data, transmit_field, t1, t4)
            except SntpError as exc:
                if exc.code != "bogus_origin":
                    raise
                bogus = exc
    except OSError as exc:
        raise SntpError("network_error", detail=_os_error_text(exc))
    finally:
        sock.close()


def _os_error_text(exc):
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused (ICMP port unreachable): nothing listens on that UDP port"
    return exc.strerror or str(exc)


def _num(value):
    return ("%g" % value) if isinstance(value, float) else str(value)


def query_server(host, port, samples, timeout, interval, label=None, sleep=time.sleep,
                 monotonic=time.monotonic):
    """Query one server ``samples`` times; the best sample (lowest delay) and the errors.

    Stops early on a kiss-o'-death (RFC 5905: a client must stop or slow down) and after a
    network error (nothing listens).  Takes at most ``samples * (timeout + interval)`` seconds.
    """
    result = {
        "server": label or _label(host, port),
        "host": host,
        "port": port,
        "address": None,
        "ok": False,
        "offset_ms": None,
        "delay_ms": None,
        "stratum": None,
        "leap": None,
        "reference_id": None,
        "root_delay_ms": None,
        "root_dispersion_ms": None,
        "precision": None,
        "version": None,
        "samples_sent": 0,
        "samples_ok": 0,
        "error": None,
        "error_message": None,
        "kiss_code": None,
        "sample_errors": [],
    }
    try:
        family, sockaddr = resolve(host, port)
    except SntpError as exc:
        return _fail(result, exc)
    result["address"] = sockaddr[0]
    best = None
    last_error = None
    started = monotonic()
    budget = samples * (timeout + interval)
    for index in range(samples):
        if index:
            sleep(interval)
        if monotonic() - started > budget:
            break
        result["samples_sent"] += 1
        try:
            got = sample(family, sockaddr, timeout)
        except SntpError as exc:
            last_error = exc
            result["sample_errors"].append(exc.code)
            if exc.code == "kiss_of_death":
                result["kiss_code"] = exc.fields.get("kiss_code")
                break
            if exc.code == "network_error":
                break
            continue
        result["samples_ok"] += 1
        if best is None or got["delay"] < best["delay"]:
            best = got
    if best is None:
        return _fail(result, last_error or SntpError("timeout", timeout=_num(timeout)))
    result.update({
        "ok": True,
        "offset_ms": round(best["offset"] * 1000.0, 3),
        "delay_ms": round(best["delay"] * 1000.0, 3),
        "stratum": best["stratum"],
        "leap": best["leap"],
        "reference_id": best["reference_id"],
        "root_delay_ms": round(best["root_delay"] * 1000.0, 3),
        "root_dispersion_ms": round(best["root_dispersion"] * 1000.0, 3),
        "precision": best["precision"],
        "version": best["version"],
    })
    if last_error is not None and last_error.code == "kiss_of_death":
        result["error"] = last_error.code
        result["error_message"] = str(last_error)
    return result


def _fail(result, exc):
    result["error"] = exc.code
    result["error_message"] = str(exc)
    if exc.code == "unsynchronized":
        result["stratum"] = exc.fields.get("stratum")
        result["leap"] = exc.fields.get("leap")
    if exc.code == "kiss_of_death":
        result["kiss_code"] = exc.fields.get("kiss_code")
        result["stratum"] = 0
    return result


def _label(host, port):
    if ":" in host:
        return "[%s]:%d" % (host, port)
    return "%s:%d" % (host, port)
