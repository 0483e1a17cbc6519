# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Hostile and broken TLS peers, all in one process: ``python -m tests.lab serve-faults FAULTS.json``.

FAULTS.json: {"ready_file": PATH, "hold": SECONDS,
              "faults": [{"name", "kind", "port", "target_port"?}, ...]}
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

from ansible_collections.tlsops.handshake.plugins.module_utils import _tls_names as names

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
    client_hello, _raw = tls_server.read_client_hello(conn)
    conn.sendall(tls_server.build_server_hello(client_hello, "TLSv1.2", include_renegotiation_info=False))
    hold(conn, 5)


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


HANDLERS = {"banner": f_banner, "garbage": f_garbage, "silent": f_silent, "stall": f_stall,
            "close": f_close, "reset": f_reset, "giant": f_giant, "legacy_reneg": f_legacy_reneg,
            "relay": f_relay, "alert": f_alert}


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
