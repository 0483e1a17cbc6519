# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A counting TCP relay on loopback, in a process of its own.

    python -m bench.relay [--max-seconds N] [--rtt-ms MS] UPSTREAM_PORT [UPSTREAM_PORT ...]

For each upstream port (on 127.0.0.1) it listens on a free port of 127.0.0.1 and
relays every accepted connection to the upstream, counting exactly what passes:
accepted connections, payload bytes in each direction (what the relay read
from the client, what it read from the server), and the peak of client
connections open at the same time (from accept to the client's EOF or reset).
One thread, one selector, non-blocking sockets: it never competes for the GIL of
the scanner it measures.

``--rtt-ms`` makes it a delay line, for kernels without netem: every chunk read
from either side is held RTT/2 before it is written to the other side (later
chunks are not held longer; order is kept), and a connection's first bytes from
the client are held one RTT more (they reach the server 1.5 RTT after connect()
returned), the TCP handshake a real path costs before the client can send.  Reading goes on while data is held.

Protocol on stdin/stdout, one JSON line per answer:
  first line out:  {"ports": {"UPSTREAM": LISTEN_PORT, ...}}
  ``reset``        zero the counters                   -> {"ok": true}
  ``stats``        the counters, once no relayed connection is open and the accept
                   queue is empty (at most 5 s later)   -> {"routes": {...}, "open": N}
EOF on stdin (the benchmark ended or died) or --max-seconds: close everything, exit.
"""

from __future__ import annotations

import argparse
import collections
import errno
import json
import os
import select
import selectors
import signal
import socket
import subprocess
import sys
import time

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

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
        self.counters = {"connections": 0, "bytes_to_server": 0, "bytes_to_client": 0, "upstream_failed": 0,
                         "peak_open": 0}
        self.client_open = 0

    def client_opened(self):
        self.client_open += 1
        self.counters["peak_open"] = max(self.counters["peak_open"], self.client_open)

    def client_closed(self):
        self.client_open = max(0, self.client_open - 1)


class Pipe:
    """A relayed connection: client <-> upstream, a send queue per socket (and with a delay, what is held)."""

    def __init__(self, route, client, upstream, delay=0.0):
        self.route = route
        self.client = client
        self.peer = {client: upstream, upstream: client}
        self.queue = {client: bytearray(), upstream: bytearray()}   # bytes still to write to that socket
        self.eof = {client: False, upstream: False}                 # that socket said EOF
        self.closing = {client: False, upstream: False}             # the EOF for that socket is due: shut it
        self.held = {client: collections.deque(), upstream: collections.deque()}  # (due, bytes or None = EOF)
        self.held_bytes = {client: 0, upstream: 0}
        self.delay = delay                                          # one way, seconds
        # the client's first bytes reach the server 1.5 RTT after connect() returned here: a real path's SYN,
        # SYN-ACK (connect() returns), then the data
        self.setup_due = time.monotonic() + 3 * delay
        self.client_counted = True
        self.closed = False

    def sockets(self):
        return list(self.peer)

    def interest(self, sock):
        events = 0
        peer = self.peer[sock]
        if not self.eof[sock] and len(self.queue[peer]) + self.held_bytes[peer] < HIGH_WATER:
            events |= selectors.EVENT_READ
        if self.queue[sock]:
            events |= selectors.EVENT_WRITE
        return events

    def hold(self, sock, data, now):
        """Data (None: EOF) read for ``sock``, written once the delay has passed."""
        due = now + self.delay
        if sock is not self.client:
            due = max(due, self.setup_due)
        if self.held[sock]:
            due = max(due, self.held[sock][-1][0])
        self.held[sock].append((due, data))
        self.held_bytes[sock] += len(data or b"")

    def next_due(self):
        dues = [h[0][0] for h in self.held.values() if h]
        return min(dues) if dues else None

    def release(self, now):
        """Move what is due into the send queues; returns the sockets whose EOF is now due."""
        ended = []
        for sock, held in self.held.items():
            while held and held[0][0] <= now:
                _due, data = held.popleft()
                if data is None:
                    self.closing[sock] = True
                    ended.append(sock)
                else:
                    self.held_bytes[sock] -= len(data)
                    self.queue[sock] += data
        return ended

    def done(self):
        return all(self.eof.values()) and not any(self.queue.values()) and not any(self.held.values())


class Relay:
    def __init__(self, upstream_ports, max_seconds, rtt=0.0):
        self.delay = rtt / 2.0
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
        # one connection per select round: a client's EOF that came before the next connection is then
        # always seen first (the round's events are sorted), so the peak of open connections is exact
        try:
            client, _addr = route.listener.accept()
        except (BlockingIOError, InterruptedError):
            return
        route.counters["connections"] += 1
        route.client_opened()
        try:
            upstream = socket.create_connection(route.upstream, timeout=CONNECT_TIMEOUT)
        except OSError:
            route.counters["upstream_failed"] += 1
            route.client_closed()
            client.close()
            return
        for sock in (client, upstream):
            sock.setblocking(False)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        pipe = Pipe(route, client, upstream, self.delay)
        self.pipes.add(pipe)
        for sock in pipe.sockets():
            self.sel.register(sock, selectors.EVENT_READ, ("pipe", pipe))

    def close(self, pipe):
        if pipe.closed:
            return
        pipe.closed = True
        self.client_gone(pipe)
        for sock in pipe.sockets():
            try:
                self.sel.unregister(sock)
            except (KeyError, ValueError):
                pass
            sock.close()
        self.pipes.discard(pipe)

    @staticmethod
    def client_gone(pipe):
        if pipe.client_counted:
            pipe.client_counted = False
            pipe.route.client_closed()

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
            if pipe.delay:
                pipe.hold(peer, data, time.monotonic())
            else:
                pipe.queue[peer] += data
        else:
            pipe.eof[sock] = True
            if sock is pipe.client:
                self.client_gone(pipe)
            if pipe.delay:
                pipe.hold(peer, None, time.monotonic())
            else:
                pipe.closing[peer] = True
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
        if not queue and pipe.closing[sock]:
            self.shut_write(sock)

    @staticmethod
    def shut_write(sock):
        try:
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def release_due(self):
        now = time.monotonic()
        for pipe in list(self.pipes):
            due = pipe.next_due()
            if pipe.closed or due is None or due > now:
                continue
            for sock in pipe.release(now):
                if not pipe.queue[sock]:
                    self.shut_write(sock)
            self.update(pipe)

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
            dues = [d for d in (p.next_due() for p in self.pipes) if d is not None]
            if dues:
                timeout = max(0.0, min(timeout, min(dues) - time.monotonic()))
            events = self.sel.select(timeout)
            # a client's EOF before the listener: a client that closed one connection before it opened the
            # next is never counted open twice
            events.sort(key=lambda event: event[0].data[0] == "listen")
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
            if dues:
                self.release_due()
            if self.stats_due is not None:
                quiet = not events and not self.pipes
                if quiet or time.monotonic() > self.stats_due:
                    self.stats_due = None
                    self.report()
        for pipe in list(self.pipes):
            self.close(pipe)
        for route in self.routes:
            route.listener.close()


# ---------------------------------------------------------------------- the benchmark's side

class RelayError(RuntimeError):
    """The relay process did not answer as it should."""


class RelayProcess:
    """bench/relay.py in its own process; ``reset()`` and ``stats()`` over its stdin/stdout.

    ``ports`` maps each upstream port to the relay's listening port.  A context manager: stopped on exit.
    """

    def __init__(self, upstream_ports, max_seconds, rtt_ms=0.0):
        cmd = [sys.executable, "-m", "bench.relay", "--max-seconds", str(int(max_seconds)), "--rtt-ms", str(rtt_ms)]
        # pylint: disable-next=consider-using-with
        self.proc = subprocess.Popen(cmd + [str(p) for p in upstream_ports], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, bufsize=0, cwd=REPO_ROOT, start_new_session=True)
        self.ports = {int(k): v for k, v in self._answer(10)["ports"].items()}

    def _answer(self, timeout):
        ready = select.select([self.proc.stdout], [], [], timeout)[0]
        if not ready:
            raise RelayError("the relay did not answer within %s s" % timeout)
        line = self.proc.stdout.readline()
        if not line:
            raise RelayError("the relay exited (%s)" % self.proc.poll())
        return json.loads(line)

    def _ask(self, command, timeout):
        self.proc.stdin.write(command.encode("ascii") + b"\n")
        return self._answer(timeout)

    def reset(self):
        self._ask("reset", 5)

    def stats(self):
        return self._ask("stats", 10)

    def stop(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()
            except OSError:
                pass
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        if self.proc.stdout:
            self.proc.stdout.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
        return False


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--max-seconds", type=float, default=1800.0, help="exit after this long (a bound)")
    parser.add_argument("--rtt-ms", type=float, default=0.0,
                        help="act as a delay line of this round-trip time (RTT/2 each way, one RTT more for setup)")
    parser.add_argument("upstream_ports", type=int, nargs="+")
    args = parser.parse_args(argv)
    if not 0 <= args.rtt_ms <= 5000:
        parser.error("--rtt-ms: 0 to 5000")
    try:
        Relay(args.upstream_ports, args.max_seconds, args.rtt_ms / 1000.0).run()
    except OSError as exc:
        if exc.errno != errno.EPIPE:     # the benchmark went away while we wrote: just exit
            raise
    return 0


if __name__ == "__main__":
    sys.exit(main())
