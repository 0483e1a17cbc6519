# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A whole TLS 1.2 server that predates RFC 5746: it never sends renegotiation_info.

OpenSSL (and so nginx, s_server and Python's ssl) always answers a client's
renegotiation_info, so the lab's legacy_reneg peer is written here with
``cryptography``: one suite (ECDHE-RSA-AES128-GCM-SHA256), x25519 or
secp256r1, no extended master secret, no session tickets.  A client that
refuses such servers (OpenSSL's default) fails right after the ServerHello
with "unsafe legacy renegotiation disabled"; one that allows them
(``proxy_ssl_conf_command Options UnsafeLegacyServerConnect``, s_client
``-legacy_server_connect``) finishes the handshake and gets ``200`` for its
request.  Test code; the records and handshake messages are the collection's codec.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import socket
import struct

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, x25519
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ansible_collections.tlsops.handshake.plugins.module_utils._tls.records import (
    CT_ALERT,
    CT_APPLICATION_DATA,
    CT_CHANGE_CIPHER_SPEC,
    CT_HANDSHAKE,
    EXT_EC_POINT_FORMATS,
    HS_SERVER_HELLO,
    HS_SERVER_HELLO_DONE,
    HS_SERVER_KEY_EXCHANGE,
    build_records,
    ext,
    handshake_message,
    iter_records,
    u16,
    vec8,
    vec16,
)

from . import tls_server

SUITE = 0xC02F                      # ECDHE-RSA-AES128-GCM-SHA256
X25519, SECP256R1 = 0x001D, 0x0017
RSA_PSS_SHA256, RSA_PKCS1_SHA256 = 0x0804, 0x0401
HS_CLIENT_KEY_EXCHANGE, HS_FINISHED = 16, 20
ALERT_HANDSHAKE_FAILURE, ALERT_DECRYPT_ERROR = 40, 51


class HandshakeFailed(Exception):
    """The client's flight was not what this server can finish."""


def _prf(secret, label, seed, size):
    """TLS 1.2 PRF with SHA-256 (RFC 5246 section 5)."""
    seed = label + seed
    out, a = b"", seed
    while len(out) < size:
        a = hmac.new(secret, a, hashlib.sha256).digest()
        out += hmac.new(secret, a + seed, hashlib.sha256).digest()
    return out[:size]


class _Stream(object):
    """Whole records from a socket, within a timeout."""

    def __init__(self, conn, rest=b""):
        self.conn = conn
        self.buf = rest

    def record(self):
        while True:
            records, _rest = iter_records(self.buf)
            if records:
                self.buf = self.buf[len(records[0].raw):]
                return records[0]
            if len(self.buf) > 1 << 16:
                raise HandshakeFailed("record larger than TLS allows")
            chunk = self.conn.recv(65536)
            if not chunk:
                raise HandshakeFailed("client closed the connection")
            self.buf += chunk


class _Cipher(object):
    """AES-128-GCM records of one direction (RFC 5288: 4-byte salt, 8-byte explicit nonce)."""

    def __init__(self, key, salt):
        self.aead, self.salt, self.seq = AESGCM(key), salt, 0

    def _aad(self, ctype, length):
        return struct.pack("!QBHH", self.seq, ctype, 0x0303, length)

    def seal(self, ctype, plaintext):
        explicit = struct.pack("!Q", self.seq)
        body = explicit + self.aead.encrypt(self.salt + explicit, plaintext, self._aad(ctype, len(plaintext)))
        self.seq += 1
        return struct.pack("!BHH", ctype, 0x0303, len(body)) + body

    def open(self, record):
        fragment = record.fragment
        if len(fragment) < 24:
            raise HandshakeFailed("encrypted record too short")
        explicit = fragment[:8]
        aad = self._aad(record.content_type, len(fragment) - 24)
        plaintext = self.aead.decrypt(self.salt + explicit, fragment[8:], aad)
        self.seq += 1
        return plaintext


def _key_exchange(group):
    if group == X25519:
        private = x25519.X25519PrivateKey.generate()
        public = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)

        def derive(peer):
            return private.exchange(x25519.X25519PublicKey.from_public_bytes(peer))
    else:
        private = ec.generate_private_key(ec.SECP256R1())
        public = private.public_key().public_bytes(serialization.Encoding.X962,
                                                   serialization.PublicFormat.UncompressedPoint)

        def derive(peer):
            return private.exchange(ec.ECDH(), ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), peer))
    return public, derive


def _load(cert_file, key_file):
    with open(cert_file, "rb") as f:
        chain = [c.public_bytes(serialization.Encoding.DER) for c in x509.load_pem_x509_certificates(f.read())]
    with open(key_file, "rb") as f:
        key = serialization.load_pem_private_key(f.read(), password=None)
    return chain, key


def _alert(conn, description):
    try:
        conn.sendall(build_records(CT_ALERT, bytes((2, description)), version=0x0303))
    except OSError:
        pass


def serve(conn, cert_file, key_file, timeout=10.0, body=b"legacy_reneg ok\n"):
    """Run one connection: the handshake, one HTTP request, ``200``.  Returns what happened (text)."""
    conn.settimeout(timeout)
    raw = tls_server.read_client_hello_bytes(conn, timeout)
    hello = tls_server.parse_client_hello(raw)
    records, rest = iter_records(raw)
    transcript = b"".join(r.fragment for r in records if r.content_type == CT_HANDSHAKE)
    group = next((g for g in hello.groups if g in (X25519, SECP256R1)), None)
    if SUITE not in hello.ciphers or group is None or "TLSv1.2" not in (hello.versions or ["TLSv1.2"]):
        _alert(conn, ALERT_HANDSHAKE_FAILURE)
        return "no common suite/group/version"
    chain, key = _load(cert_file, key_file)
    server_random = os.urandom(32)
    extensions = b""
    if EXT_EC_POINT_FORMATS in hello.extensions:
        extensions = ext(EXT_EC_POINT_FORMATS, vec8(b"\x00"))
    # no renegotiation_info, no extended_master_secret: a server from before 2009
    server_hello = handshake_message(HS_SERVER_HELLO, u16(0x0303) + server_random + vec8(b"") + u16(SUITE)
                                     + b"\x00" + vec16(extensions))
    public, derive = _key_exchange(group)
    params = b"\x03" + u16(group) + vec8(public)
    signed = hello.random + server_random + params
    if RSA_PSS_SHA256 in hello.sigalgs:
        sigalg = RSA_PSS_SHA256
        signature = key.sign(signed, padding.PSS(padding.MGF1(hashes.SHA256()), 32), hashes.SHA256())
    else:
        sigalg = RSA_PKCS1_SHA256
        signature = key.sign(signed, padding.PKCS1v15(), hashes.SHA256())
    flight = (server_hello + tls_server.build_certificate(chain)
              + handshake_message(HS_SERVER_KEY_EXCHANGE, params + u16(sigalg) + vec16(signature))
              + handshake_message(HS_SERVER_HELLO_DONE, b""))
    transcript += flight
    conn.sendall(build_records(CT_HANDSHAKE, flight, version=0x0303))

    stream = _Stream(conn, rest)
    record = stream.record()
    if record.content_type != CT_HANDSHAKE or record.fragment[:1] != bytes((HS_CLIENT_KEY_EXCHANGE,)):
        return "the client gave up after the ServerHello (content type %d)" % record.content_type
    client_key_exchange = record.fragment
    transcript += client_key_exchange
    peer = client_key_exchange[5:5 + client_key_exchange[4]]
    master = _prf(derive(peer), b"master secret", hello.random + server_random, 48)
    block = _prf(master, b"key expansion", server_random + hello.random, 40)
    reader, writer = _Cipher(block[0:16], block[32:36]), _Cipher(block[16:32], block[36:40])
    if stream.record().content_type != CT_CHANGE_CIPHER_SPEC:
        raise HandshakeFailed("expected the client's ChangeCipherSpec")
    finished = reader.open(stream.record())
    if finished[4:] != _prf(master, b"client finished", hashlib.sha256(transcript).digest(), 12):
        _alert(conn, ALERT_DECRYPT_ERROR)
        raise HandshakeFailed("the client's Finished does not match")
    transcript += finished
    verify = _prf(master, b"server finished", hashlib.sha256(transcript).digest(), 12)
    conn.sendall(build_records(CT_CHANGE_CIPHER_SPEC, b"\x01", version=0x0303)
                 + writer.seal(CT_HANDSHAKE, handshake_message(HS_FINISHED, verify)))
    request = b""
    try:
        while b"\r\n\r\n" not in request and len(request) < 65536:
            record = stream.record()
            if record.content_type != CT_APPLICATION_DATA:
                break
            request += reader.open(record)
    except (HandshakeFailed, socket.timeout):
        return "handshake done, no request"
    response = (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\nConnection: close\r\n\r\n"
                % len(body)) + body
    conn.sendall(writer.seal(CT_APPLICATION_DATA, response) + writer.seal(CT_ALERT, b"\x01\x00"))
    return "answered %r" % request.split(b"\r\n", 1)[0][:80]
