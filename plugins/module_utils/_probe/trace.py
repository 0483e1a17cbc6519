# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""tls_probe's ``trace``: the handshake transcript of every connection of a target, the seed's
``openssl s_client -msg`` step without the hex dumps.

Two sources feed one ``Transcript`` per target:

* the probe's real handshakes (Python's ssl): ``SSLContext._msg_callback``, CPython's private hook
  over OpenSSL's message callback (3.8+).  It sees every record header and every handshake message
  after OpenSSL decrypted it, so TLS 1.3's EncryptedExtensions, Certificate and Finished are named
  too.  Where a Python lacks the hook the connection says so in one entry and nothing else is
  recorded for it (``MSG_CALLBACK``);
* the raw-ClientHello follow-ups (``_tls.wire.hello``): the bytes sent and received, decoded here
  with the record codec.  After a TLS 1.3 ServerHello (or a ChangeCipherSpec) records are
  encrypted: they are counted with their length, not decoded.

Nothing secret is kept: entries hold names, codes and lengths (``_tls.messages``), never bytes.
A target's transcript is capped (``max_messages`` entries, ``max_bytes`` of text); the entry
that hits the cap says so and the rest is only counted.
"""

from __future__ import annotations

import ssl
from typing import Any, Dict, List, Optional

from ansible_collections.tlsops.handshake.plugins.module_utils._tls.messages import (
    MessageDecoder,
    alert_fields,
    content_type_name,
    tls_version_label,
)
from ansible_collections.tlsops.handshake.plugins.module_utils._tls.records import (
    CT_ALERT,
    CT_APPLICATION_DATA,
    CT_CHANGE_CIPHER_SPEC,
    CT_HANDSHAKE,
    MAX_RECORD_PAYLOAD,
)

DEFAULT_MAX_MESSAGES = 200
DEFAULT_MAX_BYTES = 64 * 1024
# OpenSSL's pseudo content types in the message callback (ssl3.h SSL3_RT_HEADER / SSL3_RT_INNER_CONTENT_TYPE)
_RT_HEADER = 0x100
_RT_INNER_CONTENT_TYPE = 0x101
SENT, RECEIVED = "sent", "received"
_ARROWS = {SENT: ">>>", RECEIVED: "<<<"}
MSG_CALLBACK = hasattr(ssl.SSLContext, "_msg_callback")
NO_MSG_CALLBACK = ("this Python's ssl has no SSLContext._msg_callback: the messages of the handshake through "
                   "ssl are not recorded (the raw-ClientHello follow-ups are)")


class Transcript(object):
    """The entries and text lines of one target, within its caps."""

    def __init__(self, max_messages=DEFAULT_MAX_MESSAGES, max_bytes=DEFAULT_MAX_BYTES):
        self.max_messages = max_messages
        self.max_bytes = max_bytes
        self.entries: List[Dict[str, Any]] = []
        self.lines: List[str] = []
        self.size = 0
        self.dropped = 0
        self.connections = 0

    @property
    def full(self):
        return self.dropped > 0

    def connection(self, purpose):
        """Start the next connection's part of the transcript."""
        self.connections += 1
        conn = Connection(self, self.connections)
        self.add({"connection": conn.number, "direction": "none", "record": None, "message": "connection",
                  "fields": {"purpose": purpose}},
                 ["--- connection %d: %s ---" % (conn.number, purpose)])
        return conn

    def add(self, entry, lines):
        """Record ``entry`` and its text ``lines`` unless the cap was reached (then only count it)."""
        if self.dropped:
            self.dropped += 1
            return
        size = sum(len(line) + 1 for line in lines)
        if len(self.entries) + 1 >= self.max_messages or self.size + size > self.max_bytes:
            self.dropped = 1
            why = ("%d entries" % self.max_messages if len(self.entries) + 1 >= self.max_messages
                   else "%d bytes of text" % self.max_bytes)
            self.entries.append({"connection": entry.get("connection"), "direction": "none", "record": None,
                                 "message": "truncated", "fields": {"cap": why}})
            self.lines.append("--- trace truncated: its cap of %s per target was reached ---" % why)
            return
        self.entries.append(entry)
        self.lines.extend(lines)
        self.size += size

    def skip(self):
        """Count an entry the cap keeps out."""
        self.dropped += 1

    def result(self):
        """``(entries, text lines)``; the last line counts what the cap left out."""
        lines = list(self.lines)
        if self.dropped > 1:
            lines.append("--- %d more entries not recorded ---" % (self.dropped - 1))
            self.entries[-1]["fields"]["not_recorded"] = self.dropped - 1
        return self.entries, lines


class Connection(object):
    """One connection's messages: fed by the ssl message callback or by the raw bytes of each direction."""

    def __init__(self, transcript, number):
        self.transcript = transcript
        self.number = number
        self.decoder = MessageDecoder()
        self.encrypted = {SENT: False, RECEIVED: False}   # a ChangeCipherSpec or a TLS 1.3 ServerHello went by
        self.header: Dict[str, Optional[tuple]] = {SENT: None, RECEIVED: None}
        self.buffers = {SENT: bytearray(), RECEIVED: bytearray()}
        self.handshake_buffers = {SENT: bytearray(), RECEIVED: bytearray()}

    # -- the entries ----------------------------------------------------------
    def _emit(self, direction, version, ctype, message, length, fields, encrypted=False):
        entry = {"connection": self.number, "direction": direction, "version": version,
                 "record": content_type_name(ctype), "message": message, "length": length,
                 "encrypted": encrypted, "fields": fields}
        line = "%s %s, %s [length %04x]%s" % (_ARROWS[direction], version, content_type_name(ctype), length,
                                              _suffix(ctype, message, fields))
        details = _details(fields)
        self.transcript.add(entry, [line, "    " + details] if details else [line])

    def note(self, text):
        """A line about this connection that is not a message (how it ended, what was not recorded)."""
        self.transcript.add({"connection": self.number, "direction": "none", "record": None, "message": "note",
                             "fields": {"note": text}}, ["    (%s)" % text])

    def _message(self, direction, version, ctype, data, encrypted):
        if ctype == CT_HANDSHAKE:
            name, fields = self.decoder.handshake(data)
            self._emit(direction, version, ctype, name, len(data), fields, encrypted)
            if name == "ServerHello" and (self.decoder.version or 0) >= 0x0304:
                self.encrypted = {SENT: True, RECEIVED: True}
        elif ctype == CT_ALERT:
            self._emit(direction, version, ctype, "Alert", len(data), alert_fields(data), encrypted)
        elif ctype == CT_CHANGE_CIPHER_SPEC:
            self._emit(direction, version, ctype, "ChangeCipherSpec", len(data), {}, encrypted)
            if (self.decoder.version or 0) < 0x0304:
                self.encrypted[direction] = True
        else:
            self._emit(direction, version, ctype, content_type_name(ctype), len(data), {}, encrypted)

    # -- source 1: OpenSSL's message callback ---------------------------------
    def msg_callback(self, _conn, direction, version, content_type, _msg_type, data):
        """SSLContext._msg_callback: never raises (an exception here would surface inside ssl)."""
        try:
            self._on_callback(SENT if direction == "write" else RECEIVED, int(version), int(content_type),
                              bytes(data))
        except Exception as exc:  # pylint: disable=broad-except
            self.note("could not decode a message: %r" % (exc,))

    def _on_callback(self, direction, version, ctype, data):
        if self.transcript.full:
            self.transcript.skip()
            return
        label = tls_version_label(version)
        if ctype == _RT_HEADER:
            if len(data) >= 5:
                length = int.from_bytes(data[3:5], "big")
                self.header[direction] = (data[0], length)
                if data[0] == CT_APPLICATION_DATA and (self.decoder.version or 0) < 0x0304:
                    self._count_encrypted(direction, label, length)
                elif data[0] == CT_CHANGE_CIPHER_SPEC:
                    # OpenSSL 3 reports a ChangeCipherSpec it reads by its record header only: name it from there
                    self._message(direction, label, CT_CHANGE_CIPHER_SPEC, b"\x01" * length, False)
            return
        if ctype == CT_CHANGE_CIPHER_SPEC:
            return  # named from its record header, above
        if ctype == _RT_INNER_CONTENT_TYPE:
            # TLS 1.3: what a protected record held; its handshake message or alert is reported next
            header = self.header[direction]
            if data[:1] == bytes([CT_APPLICATION_DATA]) and header:
                self._count_encrypted(direction, label, header[1])
            return
        header = self.header[direction]
        encrypted = bool(header and header[0] == CT_APPLICATION_DATA) or (
            self.encrypted[direction] and ctype != CT_CHANGE_CIPHER_SPEC)
        self._message(direction, label, ctype, data, encrypted)

    def _count_encrypted(self, direction, label, length, ctype=CT_APPLICATION_DATA):
        self._emit(direction, label, ctype, "encrypted", length, {}, True)

    # -- source 2: the raw bytes of a wire.hello exchange ---------------------
    def wire_bytes(self, direction, data):
        """Bytes sent or received on a raw connection, in order; complete records are decoded."""
        if self.transcript.full:
            self.transcript.skip()
            return
        buf = self.buffers[direction]
        buf += data
        while len(buf) >= 5:
            ctype, length = buf[0], int.from_bytes(buf[3:5], "big")
            if ctype not in (CT_CHANGE_CIPHER_SPEC, CT_ALERT, CT_HANDSHAKE, CT_APPLICATION_DATA) or buf[1] != 3 \
                    or length > MAX_RECORD_PAYLOAD:
                self.note("%d byte(s) %s that are not TLS records" % (len(buf), direction))
                buf.clear()
                return
            if len(buf) < 5 + length:
                return
            version = int.from_bytes(buf[1:3], "big")
            fragment = bytes(buf[5:5 + length])
            del buf[:5 + length]
            self._on_record(direction, version, ctype, fragment)

    def _on_record(self, direction, record_version, ctype, fragment):
        label = tls_version_label(self.decoder.version or record_version)
        if ctype == CT_APPLICATION_DATA or (self.encrypted[direction] and ctype != CT_CHANGE_CIPHER_SPEC):
            self._count_encrypted(direction, label, len(fragment), ctype)
            return
        if ctype != CT_HANDSHAKE:
            self._message(direction, label, ctype, fragment, False)
            return
        pending = self.handshake_buffers[direction]
        pending += fragment
        while len(pending) >= 4 and not self.encrypted[direction]:
            size = 4 + int.from_bytes(pending[1:4], "big")
            if len(pending) < size:
                return
            message = bytes(pending[:size])
            del pending[:size]
            self._message(direction, label, ctype, message, False)
            label = tls_version_label(self.decoder.version or record_version)

    def finish(self, outcome=None):
        """Close this connection's part: what is left undecoded, and how the connection ended."""
        for direction in (SENT, RECEIVED):
            left = len(self.buffers[direction]) + len(self.handshake_buffers[direction])
            if left and not self.transcript.full:
                self.note("%d byte(s) %s in an incomplete record or message" % (left, direction))
        if outcome:
            self.note(outcome)


def _suffix(ctype, message, fields):
    if ctype == CT_HANDSHAKE:
        return ", " + message
    if ctype == CT_ALERT and "description" in fields:
        return ", %s %s" % (fields["level"], fields["description"])
    if message == "encrypted":
        return ", encrypted"
    return ""


def _details(fields):
    parts = []
    for key, value in fields.items():
        if key in ("level", "description", "code"):
            continue
        if key == "certificates":
            value = "; ".join(c.get("subject") or "?" for c in value)
        elif isinstance(value, list):
            value = ",".join(str(v) for v in value)
        parts.append("%s=%s" % (key, value))
    return " ".join(parts)


def observe(context, connection):
    """Point ``context``'s message callback at ``connection``; False when this Python has no hook."""
    if not MSG_CALLBACK:
        connection.note(NO_MSG_CALLBACK)
        return False
    context._msg_callback = connection.msg_callback  # pylint: disable=protected-access
    return True
