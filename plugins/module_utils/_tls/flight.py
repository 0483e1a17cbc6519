# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reading the server's answer to a ClientHello, without completing the handshake.

Enough to learn the server's choice (version, cipher, group), its refusal (alert), a
HelloRetryRequest, and in TLS <= 1.2 the plaintext Certificate and ServerKeyExchange messages.
The reading side faces hostile peers: every answer becomes a classified ``ServerFlight`` within
the deadline, memory is capped (``max_bytes``) and no exception escapes ``read_server_flight``.
Standard library only (shipped to managed hosts).
"""

from __future__ import annotations

import socket
import struct
import time
from dataclasses import dataclass, field, fields
from typing import Any, Dict, List, Optional

from ansible_collections.tlsops.handshake.plugins.module_utils._tls.names import (
    alert_name,
    cipher_kx,
    cipher_name,
    group_name,
    sigalg_name,
    version_name,
)
from ansible_collections.tlsops.handshake.plugins.module_utils._tls.records import (
    CONTENT_TYPES,
    CT_ALERT,
    CT_CHANGE_CIPHER_SPEC,
    CT_HANDSHAKE,
    DOWNGRADE_TLS11,
    DOWNGRADE_TLS12,
    EXT_ALPN,
    EXT_EXTENDED_MASTER_SECRET,
    EXT_KEY_SHARE,
    EXT_RENEGOTIATION_INFO,
    EXT_SUPPORTED_VERSIONS,
    HRR_RANDOM,
    HS_CERTIFICATE,
    HS_CERTIFICATE_REQUEST,
    HS_CERTIFICATE_STATUS,
    HS_HELLO_REQUEST,
    HS_SERVER_HELLO,
    HS_SERVER_HELLO_DONE,
    HS_SERVER_KEY_EXCHANGE,
    MAX_RECORD_PAYLOAD,
    Alert,
    Reader,
    parse_alpn,
    parse_extensions,
)

DEFAULT_MAX_BYTES = 256 * 1024
# finish_eof's reason when max_bytes were read without a decision (reported as malformed)
_OVERFLOW = "overflow"


class FlightKind:
    """The closed set of ServerFlight.kind values (plain strings: results carry them as they are)."""

    SERVER_HELLO = "server_hello"
    HELLO_RETRY_REQUEST = "hello_retry_request"
    ALERT = "alert"
    NOT_TLS = "not_tls"
    TIMEOUT = "timeout"
    CLOSED = "closed"
    RESET = "reset"
    MALFORMED = "malformed"
    # before any byte was read, from wire.hello
    REFUSED = "refused"
    CONNECT_TIMEOUT = "connect_timeout"
    DNS_ERROR = "dns_error"
    CONNECT_ERROR = "connect_error"
    ALL = (SERVER_HELLO, HELLO_RETRY_REQUEST, ALERT, NOT_TLS, TIMEOUT, CLOSED, RESET, MALFORMED,
           REFUSED, CONNECT_TIMEOUT, DNS_ERROR, CONNECT_ERROR)


def sniff(first_bytes):
    """Label a non-TLS answer from its first bytes: http, ssh, smtp_or_ftp, pop3, imap, sslv2, empty, binary, text."""
    data = bytes(first_bytes or b"")
    if not data:
        return "empty"
    if data[:5] == b"HTTP/" or data[:1] == b"<":
        return "http"
    if data[:4] == b"SSH-":
        return "ssh"
    if data[:4] in (b"220 ", b"220-") or data[:4] in (b"421 ", b"554 "):
        return "smtp_or_ftp"
    if data[:3] == b"+OK" or data[:4] == b"-ERR":
        return "pop3"
    if data[:4] == b"* OK" or data[:9] == b"* PREAUTH":
        return "imap"
    if len(data) >= 3 and data[0] & 0x80 and data[2] == 4:
        return "sslv2"
    if all(32 <= b < 127 or b in (9, 10, 13) for b in data):
        return "text"
    return "binary"


@dataclass(eq=False, repr=False)
class ServerFlight:
    """What a server answered to one ClientHello; ``kind`` is one of FlightKind.ALL."""

    kind: Optional[str] = None
    version: Optional[str] = None          # negotiated version name ("TLSv1.2"), supported_versions wins
    version_code: Optional[int] = None
    legacy_version: Optional[int] = None   # ServerHello.legacy_version code
    record_version: Optional[int] = None   # version field of the first record
    cipher: Optional[int] = None
    cipher_name: Optional[str] = None
    group: Optional[int] = None            # key_share (1.3), HRR key_share, or TLS 1.2 ECDHE curve
    group_name: Optional[str] = None
    alert: Optional[Alert] = None
    random: Optional[bytes] = None
    session_id: Optional[bytes] = None
    downgrade: Optional[str] = None        # "TLSv1.2" / "TLSv1.1" when the random carries an RFC 8446 sentinel
    extensions: Dict[int, bytes] = field(default_factory=dict)
    extension_order: List[int] = field(default_factory=list)
    renegotiation_info: bool = False
    extended_master_secret: bool = False
    alpn: Optional[str] = None
    certificates: List[bytes] = field(default_factory=list)    # DER, TLS <= 1.2 only
    server_key_exchange: Optional[Dict[str, Any]] = None       # kind ecdhe/dhe, group/dh_bits, sigalg
    dh_bits: Optional[int] = None
    certificate_request: bool = False
    ocsp_stapled: bool = False
    handshake_types: List[int] = field(default_factory=list)   # handshake message types seen, in order
    complete: bool = False                 # reached the natural end (1.3 SH/HRR, 1.2 ServerHelloDone)
    first_bytes: bytes = b""
    not_tls_hint: Optional[str] = None     # sniff() label for not_tls
    bytes_read: int = 0
    elapsed_ms: Optional[float] = None
    connect_ms: Optional[float] = None
    error: Optional[str] = None

    @property
    def alert_description(self):
        return self.alert.description if self.alert else None

    @property
    def alert_name(self):
        return self.alert.name if self.alert else None

    def as_dict(self, include_certificates=False):
        """Plain, JSON-friendly dict (bytes as hex)."""
        out: Dict[str, Any] = {}
        for item in fields(self):
            key, value = item.name, getattr(self, item.name)
            if key == "certificates":
                out["certificate_count"] = len(value)
                if include_certificates:
                    out[key] = [v.hex() for v in value]
                continue
            if key == "extensions":
                value = {str(k): v.hex() for k, v in value.items()}
            elif key == "alert":
                value = value._asdict() if value else None
            elif isinstance(value, (bytes, bytearray)):
                value = bytes(value).hex()
            out[key] = value
        return out

    def __repr__(self):
        parts = ["kind=%r" % self.kind]
        for key in ("version", "cipher_name", "group_name", "alert", "error"):
            value = getattr(self, key)
            if value is not None:
                parts.append("%s=%r" % (key, value))
        return "ServerFlight(%s)" % ", ".join(parts)


class FlightParser:
    """Incremental parser fed with raw bytes; sets ``done`` when the flight decides.

    Kept separate from the socket loop so it can be fuzzed with plain bytes.
    """

    def __init__(self, max_bytes=DEFAULT_MAX_BYTES):
        self.flight = ServerFlight()
        self.max_bytes = max_bytes
        self.buf = bytearray()
        self.hs_buf = bytearray()
        self.done = False
        self.seen_server_hello = False
        self.tls13 = False

    # -- outcome helpers -------------------------------------------------
    def _finish(self, kind=None, error=None):
        if kind is not None and not self.seen_server_hello:
            self.flight.kind = kind
        if error and not self.flight.error:
            self.flight.error = error
        self.done = True

    def finish_eof(self, reason, error=None):
        """The stream ended (timeout/closed/reset/overflow) before the flight decided."""
        if self.done:
            return
        if self.seen_server_hello:
            self.flight.error = self.flight.error or "%s after ServerHello" % reason
            self._finish()
            return
        if reason == _OVERFLOW:
            self._finish(FlightKind.MALFORMED, error or "more than %d bytes without a decision" % self.max_bytes)
            return
        if self.flight.alert is not None:  # a warning alert, then nothing
            self._finish(FlightKind.ALERT, error)
            return
        self._finish(reason, error)

    # -- feeding ---------------------------------------------------------
    def feed(self, data):
        if self.done or not data:
            return
        fl = self.flight
        if len(fl.first_bytes) < 64:
            fl.first_bytes = bytes(fl.first_bytes + bytes(data[:64 - len(fl.first_bytes)]))
        fl.bytes_read += len(data)
        self.buf += data
        try:
            self._drain_records()
        except (ValueError, IndexError, struct.error, UnicodeError) as exc:
            if self.seen_server_hello:
                fl.error = "after ServerHello: %s" % exc
                self._finish()
            else:
                self._finish(FlightKind.MALFORMED, str(exc))

    def _not_tls(self, why):
        self.flight.not_tls_hint = sniff(self.flight.first_bytes)
        self._finish(FlightKind.NOT_TLS, why)

    def _drain_records(self):
        while not self.done:
            buf = self.buf
            # Sniff as early as possible so a banner is classified even if short.
            if len(buf) >= 1 and buf[0] not in CONTENT_TYPES:
                self._not_tls("first byte 0x%02X is not a TLS content type" % buf[0])
                return
            if len(buf) >= 2 and buf[1] != 0x03:
                self._not_tls("record version major byte 0x%02X is not TLS" % buf[1])
                return
            if len(buf) >= 3 and buf[2] > 0x04:
                self._not_tls("record version 0x03%02X is not TLS" % buf[2])
                return
            if len(buf) < 5:
                return
            ctype, rversion, length = struct.unpack_from("!BHH", buf, 0)
            if length > MAX_RECORD_PAYLOAD:
                self._finish(FlightKind.MALFORMED, "record length %d exceeds 2^14+2048" % length)
                return
            if len(buf) < 5 + length:
                return
            fragment = bytes(buf[5:5 + length])
            del buf[:5 + length]
            if self.flight.record_version is None:
                self.flight.record_version = rversion
            self._on_record(ctype, fragment)

    def _on_record(self, ctype, fragment):
        fl = self.flight
        if ctype == CT_ALERT:
            if len(fragment) < 2:
                raise ValueError("alert record of %d bytes" % len(fragment))
            level, desc = fragment[0], fragment[1]
            fl.alert = Alert(level, desc, alert_name(desc))
            if self.seen_server_hello:
                self._finish()
            elif level == 1 and desc != 0:
                # Warning alerts (e.g. unrecognized_name from old servers) do not end
                # the handshake: keep reading, the ServerHello may follow.
                return
            else:
                self._finish(FlightKind.ALERT)
            return
        if ctype == CT_HANDSHAKE:
            if self.hs_buf and not fragment:
                raise ValueError("empty handshake record")
            self.hs_buf += fragment
            self._drain_handshake()
            return
        if ctype == CT_CHANGE_CIPHER_SPEC and self.seen_server_hello:
            # TLS <= 1.2 abbreviated handshake, or TLS 1.3 compatibility CCS: nothing plaintext follows.
            fl.complete = True
            self._finish()
            return
        if self.seen_server_hello:
            fl.error = "unexpected record type %d after ServerHello" % ctype
            self._finish()
            return
        raise ValueError("unexpected record type %d before ServerHello" % ctype)

    def _drain_handshake(self):
        while not self.done and len(self.hs_buf) >= 4:
            msg_type = self.hs_buf[0]
            length = struct.unpack("!I", b"\x00" + bytes(self.hs_buf[1:4]))[0]
            if length > self.max_bytes:
                raise ValueError("handshake message of %d bytes exceeds the %d-byte limit" % (length, self.max_bytes))
            if len(self.hs_buf) < 4 + length:
                return
            body = bytes(self.hs_buf[4:4 + length])
            del self.hs_buf[:4 + length]
            self.flight.handshake_types.append(msg_type)
            self._on_handshake(msg_type, body)

    def _on_handshake(self, msg_type, body):
        fl = self.flight
        if not self.seen_server_hello:
            if msg_type == HS_HELLO_REQUEST:
                return
            if msg_type != HS_SERVER_HELLO:
                raise ValueError("handshake message %d before ServerHello" % msg_type)
            self._parse_server_hello(body)
            return
        if msg_type == HS_CERTIFICATE:
            reader = Reader(body)
            chain = Reader(reader.vec24())
            certs = []
            while chain.remaining():
                certs.append(chain.vec24())
            fl.certificates = certs
        elif msg_type == HS_SERVER_KEY_EXCHANGE:
            self._parse_server_key_exchange(body)
        elif msg_type == HS_CERTIFICATE_REQUEST:
            fl.certificate_request = True
        elif msg_type == HS_CERTIFICATE_STATUS:
            fl.ocsp_stapled = True
        elif msg_type == HS_SERVER_HELLO_DONE:
            fl.complete = True
            self._finish()

    def _parse_server_hello(self, body):
        fl = self.flight
        reader = Reader(body)
        fl.legacy_version = reader.u16()
        fl.random = reader.take(32)
        fl.session_id = reader.vec8()
        fl.cipher = reader.u16()
        reader.u8()  # compression method
        fl.extensions, fl.extension_order = parse_extensions(reader)
        exts = fl.extensions
        code = fl.legacy_version
        if EXT_SUPPORTED_VERSIONS in exts:
            code = Reader(exts[EXT_SUPPORTED_VERSIONS]).u16()
        fl.version_code = code
        fl.version = version_name(code)
        fl.cipher_name = cipher_name(fl.cipher)
        fl.renegotiation_info = EXT_RENEGOTIATION_INFO in exts
        fl.extended_master_secret = EXT_EXTENDED_MASTER_SECRET in exts
        if EXT_ALPN in exts:
            protos = parse_alpn(exts[EXT_ALPN])
            fl.alpn = protos[0] if protos else None
        is_hrr = fl.random == HRR_RANDOM
        if EXT_KEY_SHARE in exts:
            # ServerHello: group + key_exchange; HelloRetryRequest: group only.
            fl.group = Reader(exts[EXT_KEY_SHARE]).u16()
            fl.group_name = group_name(fl.group)
        tail = fl.random[-8:]
        if tail == DOWNGRADE_TLS12:
            fl.downgrade = "TLSv1.2"
        elif tail == DOWNGRADE_TLS11:
            fl.downgrade = "TLSv1.1"
        self.seen_server_hello = True
        if is_hrr:
            fl.kind = FlightKind.HELLO_RETRY_REQUEST
            fl.complete = True
            self._finish()
            return
        fl.kind = FlightKind.SERVER_HELLO
        if code >= 0x0304:
            # Everything after a TLS 1.3 ServerHello is encrypted.
            self.tls13 = True
            fl.complete = True
            self._finish()

    def _parse_server_key_exchange(self, body):
        fl = self.flight
        kx = cipher_kx(fl.cipher, fl.cipher_name)
        reader = Reader(body)
        if "PSK" in (fl.cipher_name or "").upper():
            reader.vec16()  # psk_identity_hint precedes the DH parameters
        if kx is None:
            # Unknown suite: guess from the shape (named_curve type 3 + short point vector).
            kx = "ecdhe" if body[:1] == b"\x03" and len(body) >= 4 and 4 + body[3] <= len(body) else "dhe"
        ske = {"kind": kx}
        if kx == "ecdhe":
            curve_type = reader.u8()
            if curve_type != 3:
                raise ValueError("ServerKeyExchange curve type %d is not named_curve" % curve_type)
            ske["group"] = reader.u16()
            ske["group_name"] = group_name(ske["group"])
            ske["public_key_length"] = len(reader.vec8())
            fl.group = ske["group"]
            fl.group_name = ske["group_name"]
        else:
            prime = reader.vec16()
            reader.vec16()  # generator
            reader.vec16()  # server public value
            ske["dh_bits"] = int.from_bytes(prime, "big").bit_length()
            fl.dh_bits = ske["dh_bits"]
        # TLS 1.2 prefixes the signature with its algorithm; TLS 1.0/1.1 do not.
        if (fl.version_code or 0) >= 0x0303 and reader.remaining() >= 4:
            ske["sigalg"] = reader.u16()
            ske["sigalg_name"] = sigalg_name(ske["sigalg"])
        fl.server_key_exchange = ske


def parse_server_flight(data, max_bytes=DEFAULT_MAX_BYTES):
    """Classify a captured byte string as if it were the whole server answer (end = closed)."""
    parser = FlightParser(max_bytes)
    try:
        parser.feed(bytes(data[:max_bytes]))
        if not parser.done:
            parser.finish_eof(_OVERFLOW if len(data) >= max_bytes else FlightKind.CLOSED)
    except Exception as exc:  # pylint: disable=broad-except
        parser.flight.kind = parser.flight.kind or FlightKind.MALFORMED
        parser.flight.error = "internal parser error: %r" % (exc,)
    return parser.flight


def read_server_flight(sock, timeout, max_bytes=DEFAULT_MAX_BYTES, on_bytes=None):
    """Read the server's answer from a connected socket until it decides; never raises.

    Stops after a TLS 1.3 ServerHello / HelloRetryRequest, a TLS <= 1.2
    ServerHelloDone, a fatal alert, a non-TLS first byte, the deadline
    (``timeout`` seconds from now), EOF, or ``max_bytes`` read.  ``on_bytes("received", chunk)``
    sees each chunk read, before the parser does.
    """
    start = time.monotonic()
    deadline = start + max(0.0, float(timeout))
    parser = FlightParser(max_bytes)
    fl = parser.flight
    try:
        while not parser.done:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                parser.finish_eof(FlightKind.TIMEOUT)
                break
            room = max_bytes - fl.bytes_read
            if room <= 0:
                parser.finish_eof(_OVERFLOW)
                break
            sock.settimeout(remaining)
            try:
                chunk = sock.recv(min(65536, room))
            except socket.timeout:
                parser.finish_eof(FlightKind.TIMEOUT)
                break
            except ConnectionResetError as exc:
                parser.finish_eof(FlightKind.RESET, str(exc))
                break
            except OSError as exc:
                parser.finish_eof(FlightKind.RESET, "%s: %s" % (type(exc).__name__, exc))
                break
            if not chunk:
                parser.finish_eof(FlightKind.CLOSED)
                break
            if on_bytes is not None:
                on_bytes("received", chunk)
            parser.feed(chunk)
        if fl.kind == FlightKind.NOT_TLS and len(fl.first_bytes) < 64:
            # One short extra read so a banner split over segments is still recognisable.
            _drain_for_sniff(sock, parser, min(0.05, max(0.0, deadline - time.monotonic())))
    except Exception as exc:  # pylint: disable=broad-except
        fl.kind = fl.kind or FlightKind.MALFORMED
        fl.error = "internal error: %r" % (exc,)
    fl.elapsed_ms = round((time.monotonic() - start) * 1000.0, 1)
    return fl


def _drain_for_sniff(sock, parser, wait):
    fl = parser.flight
    if wait <= 0:
        return
    try:
        sock.settimeout(wait)
        chunk = sock.recv(64 - len(fl.first_bytes))
    except (OSError, ValueError):
        return
    if chunk:
        fl.first_bytes = bytes(fl.first_bytes + chunk)[:64]
        fl.bytes_read += len(chunk)
        fl.not_tls_hint = sniff(fl.first_bytes)
