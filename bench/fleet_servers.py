# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Many healthy TLS upstreams on loopback for bench/fleet_call.py: one nginx, one ``listen`` per port.

``HealthyFleet(workdir, count)`` makes the lab's PKI (tests/lab/pki.py) in ``workdir``, one
server certificate (leaf + lab intermediate, SAN ``fleet.lab.test``) and one nginx master (the
lab's main configuration, tests/lab/nginx.py: one worker, 512 connections) whose single server
block listens on ``count`` free ports of 127.0.0.1.  ``cert_per_target=True`` issues a leaf per
port instead (its own serial, CN and first SAN ``p<port>.fleet.lab.test``, ``fleet.lab.test``
second; the lab's one key), one server block each, as a fleet whose upstreams each have their own
certificate.  Setup time is bounded (one config, one process; ``START_TIMEOUT``) whatever ``count`` is.  ``stop()`` ends the
process group; the fleet is also a context manager.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time

from tests.lab.lab import free_ports, ports_held_by
from tests.lab.nginx import NGINX_BIN, write_config
from tests.lab.pki import LabPKI

SERVER_NAME = "fleet.lab.test"
START_TIMEOUT = 30.0
PORTS_PER_BATCH = 500      # free_ports binds them all at once: keep below the open-files limit

_SERVER = """\
    server {{
{listens}
        server_name {server_name};
        ssl_certificate {cert};
        ssl_certificate_key {key};
        ssl_protocols TLSv1.2 TLSv1.3;
        location / {{ return 200 "fleet ok\\n"; }}
    }}"""


class FleetError(RuntimeError):
    pass


class HealthyFleet:
    """``count`` healthy TLS upstreams (``self.ports``) behind one nginx; ``ca_file`` is the lab root."""

    def __init__(self, workdir, count, cert_per_target=False):
        self.dir = workdir
        self.count = count
        self.cert_per_target = cert_per_target
        self.server_name = SERVER_NAME
        self.ports = []
        self.proc = None
        self.ca_file = None
        self.cert_file = self.key_file = None
        self.start_seconds = None

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def start(self):
        started = time.monotonic()
        pki = LabPKI(os.path.join(self.dir, "pki"))
        self.ca_file = pki.root_file
        self.cert_file, self.key_file = pki.leaf("fleet", [SERVER_NAME])
        self.ports = []
        while len(self.ports) < self.count:
            batch = free_ports(min(PORTS_PER_BATCH, self.count - len(self.ports)))
            self.ports.extend(p for p in batch if p not in self.ports)
        if self.cert_per_target:
            leaves = [pki.leaf("fleet-%d" % port, ["p%d.%s" % (port, SERVER_NAME), SERVER_NAME])
                      for port in self.ports]
            servers = [_SERVER.format(server_name=SERVER_NAME, cert=cert, key=key,
                                      listens="        listen 127.0.0.1:%d ssl;" % port)
                       for port, (cert, key) in zip(self.ports, leaves)]
        else:
            servers = [_SERVER.format(server_name=SERVER_NAME, cert=self.cert_file, key=self.key_file,
                                      listens="\n".join("        listen 127.0.0.1:%d ssl;" % p for p in self.ports))]
        # each listener holds one worker connection; the rest serve the tools' concurrent handshakes
        conf = write_config(self.dir, servers, os.path.join(self.dir, "logs", "error.log"),
                            worker_connections=len(self.ports) + 1024)
        log = open(os.path.join(self.dir, "logs", "nginx.out"), "wb")  # pylint: disable=consider-using-with
        # pylint: disable-next=consider-using-with
        self.proc = subprocess.Popen([NGINX_BIN, "-p", self.dir, "-c", conf], stdin=subprocess.DEVNULL,
                                     stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        wanted = set(self.ports)
        deadline = time.monotonic() + START_TIMEOUT
        while not wanted <= ports_held_by([self.proc.pid]):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise FleetError("nginx with %d listeners did not come up: see %s/logs" % (self.count, self.dir))
            time.sleep(0.05)
        self.start_seconds = round(time.monotonic() - started, 2)
        return self

    def stop(self):
        if self.proc is None:
            return
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(self.proc.pid, sig)
            except (ProcessLookupError, PermissionError):
                pass
            try:
                self.proc.wait(5)
                break
            except subprocess.TimeoutExpired:
                continue
        self.proc = None
