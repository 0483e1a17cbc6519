# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Hostile and broken TLS peers, all in one process: ``python -m tests.lab serve-faults FAULTS.json``.

FAULTS.json: {"ready_file": PATH, "hold": SECONDS,
              "faults": [{"name", "kind", "port", "target_port"?, "cert_file"?, "key_file"?}, ...]}
Every listener binds 127.0.0.1 only; every connection is held at most ``hold``
seconds; the ready file is written once all listeners are up (and the filtered
port's accept queue is full).  SIGTERM ends the process.
"""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import struct
import sys
import threading
import time

from ansible_collections.tlsops.handshake.plugins.module_utils._tls import names

from . import tls_server

SSH_BANNER = b"SSH-2.0-OpenSSH_9.2p1\r\n"
HOLD = 30.0


def log(*args):
    print(time.strftime("%H:%M:%S"), *args, file=sys.stderr, flush=True)


def read_client_hello(conn, timeout=5.0):
    """Wait for one whole ClientHello (it may span records); return its bytes, unparsed."""
    return tls_server.read_client_hello_bytes(conn, timeout)


def hold(conn, seconds):
    """Keep the connection open, discarding input, until the peer closes or time is up."""
    end = time.monotonic() + seconds
    conn.setblocking(False)
    while time.monotonic() < end:
        readable = select.select([conn], [], [], min(1.0, max(0.0, end - time.monotonic())))[0]
        if readable:
            try:
                if not conn.recv(65536):
                    return
            except OSError:
                return


# --- one handler per fault kind: handler(conn, fault, hold_seconds) ------------------------


def f_banner(conn, fault, secs):
    conn.sendall(SSH_BANNER)
    hold(conn, secs)


def f_garbage(conn, fault, secs):
    read_client_hello(conn)
    junk = bytearray(os.urandom(64))
    junk[0] = 0x40 | (junk[0] & 0x3F)   # no TLS content type (20..24) ...
    junk[1] = 0x80 | (junk[1] & 0x7F)   # ... and no TLS major version (3)
    conn.sendall(bytes(junk))
    hold(conn, secs)


def f_silent(conn, fault, secs):
    hold(conn, secs)


def f_stall(conn, fault, secs):
    read_client_hello(conn)
    # record header announcing 122 bytes, then the ServerHello header and version only
    conn.sendall(bytes.fromhex("160303007a 02000076 0303"))
    hold(conn, secs)


def f_close(conn, fault, secs):
    read_client_hello(conn)
    conn.shutdown(socket.SHUT_WR)   # FIN (nothing unread is left, so no RST)
    hold(conn, 5)


def f_reset(conn, fault, secs):
    read_client_hello(conn)
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()                    # RST


def f_giant(conn, fault, secs):
    read_client_hello(conn)
    # handshake record of 0xFFFF bytes (> 2^14 + 2048: illegal) holding a 16 MB ServerHello
    conn.sendall(bytes.fromhex("160303ffff 02ffffff"))
    end = time.monotonic() + secs
    while time.monotonic() < end:   # trickle: one byte every half second
        time.sleep(0.5)
        try:
            conn.sendall(b"\x00")
        except OSError:
            return


def f_legacy_reneg(conn, fault, secs):
    """A whole TLS 1.2 server without RFC 5746 (legacy_tls12): refused by default, ``200`` for a client
    that allows legacy servers (Options UnsafeLegacyServerConnect)."""
    from . import legacy_tls12  # needs cryptography, like the lab's PKI
    try:
        legacy_tls12.serve(conn, fault["cert_file"], fault["key_file"], timeout=min(secs, 10))
    except (legacy_tls12.HandshakeFailed, ValueError, socket.timeout) as exc:
        log("%s: %s" % (fault["name"], exc))


def f_alert(conn, fault, secs):
    """Answer the ClientHello with a fatal alert the probe has no name for (a broken TLS terminator)."""
    tls_server.read_client_hello(conn)
    conn.sendall(tls_server.build_alert(fault.get("alert", 80)))
    hold(conn, 5)


def rewrite_key_share(record):
    """ServerHello record with a key_share group the client sent no share for."""
    group = tls_server.server_hello_group(record)
    x25519, secp256r1 = names.group_code("x25519"), names.group_code("secp256r1")
    new = secp256r1 if group == x25519 else x25519
    return tls_server.rewrite_server_hello_key_share(record, new), group, new


def f_relay(conn, fault, secs):
    """TCP relay to target_port that rewrites the TLS 1.3 ServerHello key_share group."""
    up = socket.create_connection(("127.0.0.1", fault["target_port"]), timeout=5)
    end = time.monotonic() + secs

    def rewrite(record):
        rec, group, new = rewrite_key_share(record)
        log("relay %s: key_share group 0x%04x -> 0x%04x" % (fault["name"], group, new))
        return rec

    try:
        tls_server.relay_rewriting_first_record(conn, up, rewrite, lambda: time.monotonic() < end)
    finally:
        up.close()


# --- hostile peers (tests/lab/hostile.py starts them; tests/integration/test_probe_hostile.py) ---------


def _pace(conn, chunks, interval, secs):
    """Send ``chunks`` (an iterable of bytes) one per ``interval`` seconds until time is up or the peer goes."""
    end = time.monotonic() + secs
    for chunk in chunks:
        if time.monotonic() >= end:
            return
        try:
            conn.sendall(chunk)
        except OSError:
            return
        if interval:
            time.sleep(interval)


def _forever(data):
    while True:
        yield data


def _bytewise(data):
    for index in range(len(data)):
        yield data[index:index + 1]


def f_hello_request_flood(conn, fault, secs):
    """Answer the ClientHello with an endless stream of TLS HelloRequest records.

    A client ignores a HelloRequest during its handshake and reads on: OpenSSL's
    SSL_do_handshake() loops in C as long as the records keep coming.
    """
    read_client_hello(conn)
    per_record = fault.get("per_record", 1)
    record = struct.pack("!BHH", 22, 0x0303, 4 * per_record) + b"\x00\x00\x00\x00" * per_record
    _pace(conn, _forever(record * max(1, 4096 // len(record))), 0, secs)


def f_endless_warnings(conn, fault, secs):
    """Answer the ClientHello with warning alerts (unrecognized_name), one after another, forever."""
    read_client_hello(conn)
    _pace(conn, _forever(tls_server.build_alert(112, level=1) * 256), 0.001, secs)


def f_garbage_flood(conn, fault, secs):
    """Answer the ClientHello with random non-TLS bytes as fast as the peer reads them."""
    read_client_hello(conn)
    junk = bytearray(os.urandom(65536))
    junk[0] = 0x40
    _pace(conn, _forever(bytes(junk)), 0, secs)


def f_huge_message(conn, fault, secs):
    """A ServerHello announced as 16 MB (0xFFFFFF bytes), streamed in legal 16 kB records."""
    read_client_hello(conn)
    body = b"\x02\xff\xff\xff" + b"\x03\x03" + b"\x00" * (2 ** 14 - 6)
    first = struct.pack("!BHH", 22, 0x0303, len(body)) + body
    filler = struct.pack("!BHH", 22, 0x0303, 2 ** 14) + b"\x00" * 2 ** 14
    _pace(conn, [first] + [filler] * (2 ** 24 // 2 ** 14 + 1), 0, secs)


def f_slowloris(conn, fault, secs):
    """A real TLS 1.2 ServerHello, one byte per ``interval`` seconds (never done inside a probe's timeout)."""
    client_hello, _raw = tls_server.read_client_hello(conn)
    flight = tls_server.build_server_hello(client_hello, "TLSv1.2") * 64
    _pace(conn, _bytewise(flight), fault.get("interval", 0.3), secs)


def f_slow_refusal(conn, fault, secs):
    """Answer every ClientHello after ``delay`` seconds with a fatal alert (40 handshake_failure).

    Alert 40 makes the probe run its follow-ups, each against this same slow peer.
    """
    read_client_hello(conn)
    time.sleep(fault.get("delay", 2.5))
    conn.sendall(tls_server.build_alert(fault.get("alert", 40)))
    hold(conn, 5)


def f_hrr_loop(conn, fault, secs):
    """Answer every ClientHello on the connection with another HelloRetryRequest."""
    end = time.monotonic() + secs
    groups = [names.group_code("secp384r1"), names.group_code("secp256r1")]
    turn = 0
    while time.monotonic() < end:
        conn.settimeout(max(0.1, end - time.monotonic()))
        if conn.recv(6, socket.MSG_PEEK)[:1] == b"\x14":   # the client's middlebox-compatibility CCS
            conn.recv(6)
            continue
        client_hello, _raw = tls_server.read_client_hello(conn, timeout=max(0.1, end - time.monotonic()))
        conn.sendall(tls_server.build_hello_retry_request(client_hello, groups[turn % 2]))
        turn += 1


def _tls_accept(conn, fault):
    import ssl  # the fault peers that finish a handshake are real OpenSSL servers
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(fault["cert_file"], fault["key_file"])
    ctx.set_alpn_protocols(["http/1.1"])
    conn.settimeout(10)
    return ctx.wrap_socket(conn, server_side=True)


def _read_request(tls, secs):
    data = b""
    end = time.monotonic() + min(secs, 10)
    while b"\r\n\r\n" not in data and len(data) < 65536 and time.monotonic() < end:
        chunk = tls.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def f_trickle_http(conn, fault, secs):
    """Finish the handshake, then answer the request one byte per ``interval`` seconds, endlessly."""
    tls = _tls_accept(conn, fault)
    _read_request(tls, secs)
    response = (b"HTTP/1.1 200 OK\r\nServer: trickle\r\n" + b"X-Pad: " + b"." * 100000 + b"\r\n\r\n")
    _pace(tls, _bytewise(response), fault.get("interval", 0.5), secs)


def f_recorder(conn, fault, secs):
    """A TLS server that writes what it received (SNI and request bytes) to ``record_dir``, answers 200."""
    import ssl
    seen = {"sni": None}

    def on_sni(sslobj, name, ctx):
        seen["sni"] = name

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(fault["cert_file"], fault["key_file"])
    ctx.sni_callback = on_sni
    conn.settimeout(10)
    try:
        tls = ctx.wrap_socket(conn, server_side=True)
    except (OSError, ValueError) as exc:
        seen["error"] = str(exc)
        tls = None
    request = b""
    if tls is not None:
        request = _read_request(tls, secs)
        tls.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
    seen["request"] = request.decode("latin-1")
    path = os.path.join(fault["record_dir"], "%d-%d.json" % (time.time() * 1e6, threading.get_ident()))
    with open(path + ".tmp", "w") as f:
        json.dump(seen, f)
    os.rename(path + ".tmp", path)


def f_mtls_reset(conn, fault, secs):
    """A TLS 1.3 server that requires a client certificate, sends alert 116 without one, then resets.

    The reset (SO_LINGER 0) can reach the client before it writes its request: its write fails
    while alert 116 still waits in its receive buffer.
    """
    import ssl
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.load_cert_chain(fault["cert_file"], fault["key_file"])
    ctx.load_verify_locations(cafile=fault["ca_file"])
    ctx.verify_mode = ssl.CERT_REQUIRED
    conn.settimeout(10)
    try:
        tls = ctx.wrap_socket(conn, server_side=True)
        tls.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")  # a client certificate was sent
    except (ssl.SSLError, OSError):
        pass
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


HANDLERS = {"banner": f_banner, "garbage": f_garbage, "silent": f_silent, "stall": f_stall,
            "close": f_close, "reset": f_reset, "giant": f_giant, "legacy_reneg": f_legacy_reneg,
            "relay": f_relay, "alert": f_alert,
            "hello_request_flood": f_hello_request_flood, "endless_warnings": f_endless_warnings,
            "garbage_flood": f_garbage_flood, "huge_message": f_huge_message, "slowloris": f_slowloris,
            "slow_refusal": f_slow_refusal, "hrr_loop": f_hrr_loop, "trickle_http": f_trickle_http,
            "recorder": f_recorder, "mtls_reset": f_mtls_reset}


def _serve_conn(conn, fault, secs):
    try:
        HANDLERS[fault["kind"]](conn, fault, secs)
    except Exception as exc:  # a fault peer must never die of its client
        log("%s: %s: %s" % (fault["name"], type(exc).__name__, exc))
    finally:
        try:
            conn.close()
        except OSError:
            pass


def _accept_loop(sock, fault, secs):
    while True:
        try:
            conn = sock.accept()[0]
        except OSError:
            return
        threading.Thread(target=_serve_conn, args=(conn, fault, secs), daemon=True).start()


def _listen(port, backlog=64):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen(backlog)
    return s


def filtered(port):
    """A listener that never accepts, with its accept queue (backlog 0: one entry) filled by us.

    Linux then drops further SYNs to it, so a client's connect() times out: a loopback-only
    stand-in for a firewall that drops packets.  Returns the sockets to keep alive.
    """
    ls = _listen(port, backlog=0)
    fillers = []
    for _attempt in range(2):
        c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        c.setblocking(False)
        c.connect_ex(("127.0.0.1", port))
        fillers.append(c)
    writable = select.select([fillers[0]], [fillers[0]], [], 2.0)[1]
    if not writable or fillers[0].getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
        raise RuntimeError("could not fill the accept queue of the filtered port %d" % port)
    return [ls] + fillers


def serve(config_path):
    with open(config_path) as f:
        config = json.load(f)
    secs = float(config.get("hold", HOLD))
    signal.signal(signal.SIGTERM, lambda *a: os._exit(0))
    keep = []
    for fault in config["faults"]:
        if fault["kind"] == "filtered":
            keep += filtered(fault["port"])
            continue
        sock = _listen(fault["port"])
        keep.append(sock)
        threading.Thread(target=_accept_loop, args=(sock, fault, secs), daemon=True).start()
    log("serving %d faults" % len(config["faults"]))
    tmp = config["ready_file"] + ".tmp"
    with open(tmp, "w") as f:
        json.dump({"pid": os.getpid()}, f)
    os.rename(tmp, config["ready_file"])
    while True:
        time.sleep(3600)
