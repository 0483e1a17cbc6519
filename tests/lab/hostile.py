# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Hostile TLS peers on 127.0.0.1, without the rest of the lab (no nginx, no s_server).

    from tests.lab.hostile import HostilePeers
    with HostilePeers(workdir) as peers:
        port = peers.port("hello_request_flood")
        peers.ca_file                      # trust anchor of the peers that finish a handshake

The peers are the fault handlers of faults.py, served by one ``python -m tests.lab
serve-faults`` process in its own session (so a peer that floods costs its own CPU, not
the test's).  ``PEERS`` below says what each does; faults.py has the details.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

from .lab import REPO_ROOT, free_ports
from .pki import LabPKI

SERVER_NAME = "hostile.lab.test"

# name -> fault dict (kind + options); every one must end in a classified probe result.
PEERS = {
    "hello_request_flood": {"kind": "hello_request_flood", "per_record": 1},
    "hello_request_flood_packed": {"kind": "hello_request_flood", "per_record": 4096},
    "endless_warnings": {"kind": "endless_warnings"},
    "garbage_flood": {"kind": "garbage_flood"},
    "garbage": {"kind": "garbage"},
    "huge_message": {"kind": "huge_message"},
    "giant_record": {"kind": "giant"},
    "slowloris": {"kind": "slowloris", "interval": 0.3},
    "slow_refusal": {"kind": "slow_refusal", "delay": 2.5},
    "hrr_loop": {"kind": "hrr_loop"},
    "trickle_http": {"kind": "trickle_http", "interval": 0.5},
    "reset": {"kind": "reset"},
    "stall": {"kind": "stall"},
    "silent": {"kind": "silent"},
    "banner": {"kind": "banner"},
    "recorder": {"kind": "recorder"},
    "mtls_reset": {"kind": "mtls_reset"},
}


class HostilePeers(object):
    def __init__(self, workdir, hold=60.0, names=None):
        self.dir = os.path.abspath(workdir)
        self.hold = hold
        self.names = list(names or PEERS)
        self.ports = {}
        self.proc = None
        self.ca_file = None
        self.client_cert = self.client_key = None
        self.record_dir = os.path.join(self.dir, "received")

    def port(self, name):
        return self.ports[name]

    def received(self):
        """What the recorder peer received, one dict per connection, oldest first."""
        out = []
        for entry in sorted(n for n in os.listdir(self.record_dir) if n.endswith(".json")):
            with open(os.path.join(self.record_dir, entry)) as f:
                out.append(json.load(f))
        return out

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def start(self):
        os.makedirs(self.record_dir, exist_ok=True)
        pki = LabPKI(os.path.join(self.dir, "pki"))
        cert_file, key_file = pki.leaf("hostile", [SERVER_NAME])
        self.ca_file = pki.root_file
        self.client_cert, self.client_key = pki.client_cert, pki.client_key
        faults = []
        for name, port in zip(self.names, free_ports(len(self.names))):
            fault = dict(PEERS[name], name=name, port=port, cert_file=cert_file, key_file=key_file,
                         ca_file=pki.root_file, record_dir=self.record_dir)
            faults.append(fault)
            self.ports[name] = port
        config = os.path.join(self.dir, "hostile.json")
        ready = os.path.join(self.dir, "hostile.ready")
        if os.path.exists(ready):
            os.unlink(ready)
        with open(config, "w") as f:
            json.dump({"ready_file": ready, "hold": self.hold, "faults": faults}, f, indent=2)
        with open(os.path.join(self.dir, "hostile.log"), "ab") as log:
            self.proc = subprocess.Popen([sys.executable, "-m", "tests.lab", "serve-faults", config],
                                         stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                         cwd=REPO_ROOT, start_new_session=True)
        deadline = time.monotonic() + 15
        while not os.path.exists(ready):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("hostile peers did not start; see %s/hostile.log" % self.dir)
            time.sleep(0.02)
        return self

    def stop(self):
        if self.proc is None:
            return
        for sig, wait in ((signal.SIGTERM, 5), (signal.SIGKILL, 5)):
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                break
            try:
                self.proc.wait(wait)
                break
            except subprocess.TimeoutExpired:
                continue
        self.proc = None
