# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Raw TLS, client side: one ClientHello out, the server's flight in (``hello``), and the names the probe uses.

Python's ``ssl`` module cannot offer a list of key-exchange groups, TLS 1.3
cipher suites or signature algorithms, and before Python 3.13 it cannot return
the served certificate chain.  The probe writes a ClientHello byte by byte and
reads the server's answer *without* completing the handshake, which is enough to
learn the server's choice (version, cipher, group), its refusal (alert), a
HelloRetryRequest, and in TLS <= 1.2 the plaintext Certificate and
ServerKeyExchange messages.

The parts live beside this module: ``_tls.records`` (record layer, code points, vectors),
``_tls.key_share``, ``_tls.client_hello`` (the builder), ``_tls.flight`` (``ServerFlight`` and its
parser) and ``_tls.names`` (name <-> code tables).  The probe reads all it needs from here
(``__all__``).  The server half (parsing ClientHellos, building ServerHellos for deliberately broken
peers) is test code: ``tests/lab/tls_server.py``.

Design rules:

* standard library only (this file is shipped to managed hosts);
* the reading side faces hostile peers: every result is a classified
  ``ServerFlight`` returned within the deadline, memory is capped
  (``max_bytes``) and no exception escapes ``read_server_flight``/``hello``.
"""

from __future__ import annotations

import socket
import time

from ansible_collections.tlsops.handshake.plugins.module_utils._common.deadline import Deadline
from ansible_collections.tlsops.handshake.plugins.module_utils._tls.client_hello import build_client_hello
from ansible_collections.tlsops.handshake.plugins.module_utils._tls.flight import (
    DEFAULT_MAX_BYTES,
    FlightKind,
    ServerFlight,
    parse_server_flight,
    read_server_flight,
    sniff,
)
from ansible_collections.tlsops.handshake.plugins.module_utils._tls.key_share import can_make_key_share, make_key_share
from ansible_collections.tlsops.handshake.plugins.module_utils._tls.names import (
    DEFAULT_GROUPS,
    GROUPS,
    SIGALGS,
    all_groups,
    cipher_codes,
    cipher_name,
    group_code,
    group_name,
    group_versions,
    local_groups,
    sigalg_code,
    tls12_cipher_suites,
    tls13_cipher_suites,
)
from ansible_collections.tlsops.handshake.plugins.module_utils._tls.records import (
    CONTENT_TYPES,
    CT_ALERT,
    CT_APPLICATION_DATA,
    CT_CHANGE_CIPHER_SPEC,
    CT_HANDSHAKE,
    EXT_ALPN,
    EXT_COOKIE,
    EXT_EC_POINT_FORMATS,
    EXT_ENCRYPT_THEN_MAC,
    EXT_EXTENDED_MASTER_SECRET,
    EXT_KEY_SHARE,
    EXT_PADDING,
    EXT_PSK_KEY_EXCHANGE_MODES,
    EXT_RENEGOTIATION_INFO,
    EXT_SERVER_NAME,
    EXT_SESSION_TICKET,
    EXT_SIGNATURE_ALGORITHMS,
    EXT_STATUS_REQUEST,
    EXT_SUPPORTED_GROUPS,
    EXT_SUPPORTED_VERSIONS,
    EXTENSION_NAMES,
    HRR_RANDOM,
    HS_CERTIFICATE,
    HS_CERTIFICATE_REQUEST,
    HS_CERTIFICATE_STATUS,
    HS_CLIENT_HELLO,
    HS_HELLO_REQUEST,
    HS_NEW_SESSION_TICKET,
    HS_SERVER_HELLO,
    HS_SERVER_HELLO_DONE,
    HS_SERVER_KEY_EXCHANGE,
    MAX_FRAGMENT,
    MAX_RECORD_PAYLOAD,
    Alert,
    Record,
    build_records,
    handshake_message,
    iter_records,
)

__all__ = [
    "DEFAULT_MAX_BYTES", "MAX_FRAGMENT", "MAX_RECORD_PAYLOAD", "CONTENT_TYPES", "EXTENSION_NAMES",
    "HRR_RANDOM", "Alert", "FlightKind", "Record", "ServerFlight", "build_client_hello", "build_records",
    "can_make_key_share", "handshake_message", "hello", "iter_records", "make_key_share",
    "parse_server_flight", "read_server_flight", "sniff",
    "CT_ALERT", "CT_APPLICATION_DATA", "CT_CHANGE_CIPHER_SPEC", "CT_HANDSHAKE",
    "HS_CERTIFICATE", "HS_CERTIFICATE_REQUEST", "HS_CERTIFICATE_STATUS", "HS_CLIENT_HELLO", "HS_HELLO_REQUEST",
    "HS_NEW_SESSION_TICKET", "HS_SERVER_HELLO", "HS_SERVER_HELLO_DONE", "HS_SERVER_KEY_EXCHANGE",
    "EXT_ALPN", "EXT_COOKIE", "EXT_EC_POINT_FORMATS", "EXT_ENCRYPT_THEN_MAC", "EXT_EXTENDED_MASTER_SECRET",
    "EXT_KEY_SHARE", "EXT_PADDING", "EXT_PSK_KEY_EXCHANGE_MODES", "EXT_RENEGOTIATION_INFO", "EXT_SERVER_NAME",
    "EXT_SESSION_TICKET", "EXT_SIGNATURE_ALGORITHMS", "EXT_STATUS_REQUEST", "EXT_SUPPORTED_GROUPS",
    "EXT_SUPPORTED_VERSIONS",
    # from _tls.names: the probe reads them from here
    "DEFAULT_GROUPS", "GROUPS", "SIGALGS", "all_groups", "cipher_codes", "cipher_name", "group_code", "group_name",
    "group_versions", "local_groups", "sigalg_code", "tls12_cipher_suites", "tls13_cipher_suites",
]


def hello(host, port, server_name=None, timeout=5.0, max_bytes=DEFAULT_MAX_BYTES, on_bytes=None,
          **client_hello_kwargs):
    """Connect, send one ClientHello, read the answer, close -> ServerFlight (never raises).

    ``timeout`` is the total budget for connect + send + read.  SNI is sent only
    when ``server_name`` is given (and is not an IP literal), like nginx with
    proxy_ssl_server_name on.  Connection problems become kinds: refused,
    connect_timeout, dns_error, connect_error (error has the text).
    """
    start = time.monotonic()
    deadline = start + max(0.0, float(timeout))
    try:
        record = build_client_hello(server_name=server_name, **client_hello_kwargs)
    except (TypeError, ValueError) as exc:
        # Bad probe parameters are the caller's bug; still report instead of raising.
        fl = ServerFlight()
        fl.kind = FlightKind.MALFORMED
        fl.error = "cannot build ClientHello: %s" % exc
        fl.elapsed_ms = 0.0
        return fl
    sock = None
    try:
        try:
            sock = socket.create_connection((host, port), timeout=max(0.001, deadline - time.monotonic()))
        except socket.gaierror as exc:
            return _early(start, FlightKind.DNS_ERROR, exc)
        except ConnectionRefusedError as exc:
            return _early(start, FlightKind.REFUSED, exc)
        except socket.timeout as exc:
            return _early(start, FlightKind.CONNECT_TIMEOUT, exc)
        except OSError as exc:
            return _early(start, FlightKind.CONNECT_ERROR, exc)
        connect_ms = round((time.monotonic() - start) * 1000.0, 1)
        try:
            sock.settimeout(max(0.001, deadline - time.monotonic()))
            sock.sendall(record)
            if on_bytes is not None:
                on_bytes("sent", record)
        except socket.timeout as exc:
            fl = _early(start, FlightKind.TIMEOUT, exc)
            fl.connect_ms = connect_ms
            return fl
        except OSError as exc:
            # Reset while sending: the server read part of the hello and dropped us.
            fl = _early(start, FlightKind.RESET, exc)
            fl.connect_ms = connect_ms
            return fl
        # the read loop checks the deadline between reads; the watchdog ends it even if a read never returns
        guard = Deadline(deadline - time.monotonic()).guard(sock)
        with guard:
            fl = read_server_flight(sock, deadline - time.monotonic(), max_bytes=max_bytes, on_bytes=on_bytes)
        if guard.fired and fl.kind == FlightKind.CLOSED:
            fl.kind, fl.error = FlightKind.TIMEOUT, "the deadline's watchdog shut the connection down"
        fl.connect_ms = connect_ms
        fl.elapsed_ms = round((time.monotonic() - start) * 1000.0, 1)
        return fl
    except Exception as exc:  # pylint: disable=broad-except
        return _early(start, FlightKind.CONNECT_ERROR, exc)
    finally:
        if sock is not None:
            try:
                sock.close()
            except OSError:
                pass


def _early(start, kind, exc):
    fl = ServerFlight()
    fl.kind = kind
    fl.error = "%s: %s" % (type(exc).__name__, exc)
    fl.elapsed_ms = round((time.monotonic() - start) * 1000.0, 1)
    return fl
