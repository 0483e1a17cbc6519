# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A counting TCP relay on loopback, in a process of its own.

    python -m bench.relay [--max-seconds N] UPSTREAM_PORT [UPSTREAM_PORT ...]

For each upstream port (on 127.0.0.1) it listens on a free port of 127.0.0.1 and
relays every accepted connection to the upstream, counting exactly what passes:
accepted connections and payload bytes in each direction (what the relay read
from the client, what it read from the server).  One thread, one selector,
non-blocking sockets: it never competes for the GIL of the scanner it measures.

Protocol on stdin/stdout, one JSON line per answer:
  first line out:  {"ports": {"UPSTREAM": LISTEN_PORT, ...}}
  ``reset``        zero the counters                   -> {"ok": true}
  ``stats``        the counters, once no relayed connection is open and the accept
                   queue is empty (at most 5 s later)   -> {"routes": {...}, "open": N}
EOF on stdin (the benchmark ended or died) or --max-seconds: close everything, exit.
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import selectors
import socket
import sys
import time

CHUNK = 65536
HIGH_WATER = 1 << 20        # stop reading a side while this much is queued for the other
STATS_WAIT = 5.0
CONNECT_TIMEOUT = 3.0


class Route:
    """One listener and its counters."""

    def __init__(self, upstream_port):
        self.upstream = ("127.0.0.1", upstream_port)
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(256)
        self.listener.setblocking(False)
        self.port = self.listener.getsockname()[1]
        self.counters = {}
        self.reset()

    def reset(self):
        self.counters = {"connections": 0, "bytes_to_server": 0, "bytes_to_client": 0, "upstream_failed": 0}


class Pipe:
    """A relayed connection: client <-> upstream, a send queue per socket."""

    def __init__(self, route, client, upstream):
        self.route = route
        self.client = client
        self.peer = {client: upstream, upstream: client}
        self.queue = {client: bytearray(), upstream: bytearray()}   # bytes still to write to that socket
        self.eof = {client: False, upstream: False}                 # that socket said EOF
        self.closed = False

    def sockets(self):
        return list(self.peer)

    def interest(self, sock):
        events = 0
        if not self.eof[sock] and len(self.queue[self.peer[sock]]) < HIGH_WATER:
            events |= selectors.EVENT_READ
        if self.queue[sock]:
            events |= selectors.EVENT_WRITE
        return events

    def done(self):
        return all(self.eof.values()) and not any(self.queue.values())


class Relay:
    def __init__(self, upstream_ports, max_seconds):
        self.sel = selectors.DefaultSelector()
        self.routes = [Route(p) for p in upstream_ports]
        self.pipes = set()
        self.deadline = time.monotonic() + max_seconds
        self.stats_due = None
        self.stdin_buf = b""
        self.running = True
        for route in self.routes:
            self.sel.register(route.listener, selectors.EVENT_READ, ("listen", route))
        self.sel.register(sys.stdin.fileno(), selectors.EVENT_READ, ("control", None))

    # ------------------------------------------------------------------ output
    @staticmethod
    def say(obj):
        sys.stdout.write(json.dumps(obj, sort_keys=True) + "\n")
        sys.stdout.flush()

    def report(self):
        self.say({"routes": {str(r.upstream[1]): dict(r.counters) for r in self.routes}, "open": len(self.pipes)})

    # ------------------------------------------------------------------ events
    def accept(self, route):
        while True:
            try:
                client, _addr = route.listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            route.counters["connections"] += 1
            try:
                upstream = socket.create_connection(route.upstream, timeout=CONNECT_TIMEOUT)
            except OSError:
                route.counters["upstream_failed"] += 1
                client.close()
                continue
            for sock in (client, upstream):
                sock.setblocking(False)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            pipe = Pipe(route, client, upstream)
            self.pipes.add(pipe)
            for sock in pipe.sockets():
                self.sel.register(sock, selectors.EVENT_READ, ("pipe", pipe))

    def close(self, pipe):
        if pipe.closed:
            return
        pipe.closed = True
        for sock in pipe.sockets():
            try:
                self.sel.unregister(sock)
            except (KeyError, ValueError):
                pass
            sock.close()
        self.pipes.discard(pipe)

    def update(self, pipe):
        if pipe.done():
            self.close(pipe)
            return
        for sock in pipe.sockets():
            events = pipe.interest(sock)
            key = self.sel.get_map().get(sock)
            if events and key is None:
                self.sel.register(sock, events, ("pipe", pipe))
            elif events and key.events != events:
                self.sel.modify(sock, events, ("pipe", pipe))
            elif not events and key is not None:
                self.sel.unregister(sock)

    def readable(self, pipe, sock):
        peer = pipe.peer[sock]
        try:
            data = sock.recv(CHUNK)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:          # reset: drop the pair (what was read is already counted)
            self.close(pipe)
            return
        if data:
            key = "bytes_to_server" if sock is pipe.client else "bytes_to_client"
            pipe.route.counters[key] += len(data)
            pipe.queue[peer] += data
        else:
            pipe.eof[sock] = True
            if not pipe.queue[peer]:
                self.shut_write(peer)

    def writable(self, pipe, sock):
        queue = pipe.queue[sock]
        try:
            sent = sock.send(queue)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self.close(pipe)
            return
        del queue[:sent]
        if not queue and pipe.eof[pipe.peer[sock]]:
            self.shut_write(sock)

    @staticmethod
    def shut_write(sock):
        try:
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def control(self):
        chunk = os.read(sys.stdin.fileno(), 4096)
        if not chunk:
            self.running = False
            return
        self.stdin_buf += chunk
        while b"\n" in self.stdin_buf:
            line, self.stdin_buf = self.stdin_buf.split(b"\n", 1)
            command = line.strip().decode("ascii", "replace")
            if command == "reset":
                for route in self.routes:
                    route.reset()
                self.say({"ok": True})
            elif command == "stats":
                self.stats_due = time.monotonic() + STATS_WAIT
            elif command:
                self.say({"error": "unknown command %r" % command})

    # ------------------------------------------------------------------ loop
    def run(self):
        self.say({"ports": {str(r.upstream[1]): r.port for r in self.routes}})
        while self.running and time.monotonic() < self.deadline:
            timeout = 0.05 if self.stats_due is not None else 1.0
            events = self.sel.select(timeout)
            for key, mask in events:
                kind, obj = key.data
                if kind == "listen":
                    self.accept(obj)
                elif kind == "control":
                    self.control()
                elif not obj.closed:
                    if mask & selectors.EVENT_WRITE:
                        self.writable(obj, key.fileobj)
                    if not obj.closed and mask & selectors.EVENT_READ:
                        self.readable(obj, key.fileobj)
                    if not obj.closed:
                        self.update(obj)
            if self.stats_due is not None:
                quiet = not events and not self.pipes
                if quiet or time.monotonic() > self.stats_due:
                    self.stats_due = None
                    self.report()
        for pipe in list(self.pipes):
            self.close(pipe)
        for route in self.routes:
            route.listener.close()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--max-seconds", type=float, default=1800.0, help="exit after this long (a bound)")
    parser.add_argument("upstream_ports", type=int, nargs="+")
    args = parser.parse_args(argv)
    try:
        Relay(args.upstream_ports, args.max_seconds).run()
    except OSError as exc:
        if exc.errno != errno.EPIPE:     # the benchmark went away while we wrote: just exit
            raise
    return 0


if __name__ == "__main__":
    sys.exit(main())
