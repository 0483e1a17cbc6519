# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The certificates an endpoint serves, read by the probe engine (cert_chain_info's host mode).

One real handshake with verification off, through the probe's ssl set-up, gives the whole chain: its
own Certificate message, seen decrypted by OpenSSL's message callback (or ssl's own on Python 3.13+);
on a Python without the callback the probe's raw TLS 1.2 ClientHello reads the plaintext Certificate
message.  Nothing is diagnosed: a failure is reported as it happened.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import List, Optional

from ansible_collections.tlsops.handshake.plugins.module_utils._probe import diagnose
from ansible_collections.tlsops.handshake.plugins.module_utils._probe.run import ProbeRun, resolve
from ansible_collections.tlsops.handshake.plugins.module_utils._probe.targets import build_target
from ansible_collections.tlsops.handshake.plugins.module_utils._tls.names import MODERN_VERSIONS


class ChainRead:
    """How much of the chain was read (``ServedChain.chain_read``)."""

    FULL = "full"
    # a TLS 1.3-only server on a Python whose ssl has no message callback (< 3.8): its Certificate
    # message is encrypted on the wire, and ssl shows the leaf only
    LEAF_ONLY = "leaf_only"


class FailedAt:
    """Where fetching stopped (``ServedChain.failed_at``); None when a handshake was made."""

    RESOLVE = "resolve"
    HANDSHAKE = "handshake"


@dataclass
class ServedChain:
    """What ``fetch`` read; ``ders`` is empty when it failed (``failed_at``, ``error``) or nothing was sent."""

    host: str
    port: int
    server_name: Optional[str]
    ders: List[bytes] = field(default_factory=list)
    chain_read: str = ChainRead.FULL
    tls_version: Optional[str] = None
    handshakes: int = 0
    elapsed_ms: Optional[float] = None
    failed_at: Optional[str] = None
    error: Optional[str] = None


def fetch(host, port, server_name=None, timeout=5.0):
    """Read the certificates ``host:port`` serves, in its order; never more than ``timeout`` x DEADLINE_FACTOR.

    ProbeConfigError (a ValueError) names the bad parameter by its key (``port: ...``).
    """
    target = {"host": host, "port": port, "verify": False, "diagnose": False, "http_request": False,
              "timeout": timeout, "protocols": list(MODERN_VERSIONS)}
    if server_name:
        target["server_name"] = server_name
    spec = build_target(target)
    run = ProbeRun(spec)
    served = ServedChain(host=host, port=port, server_name=spec.get("server_name"))
    problem = resolve(run)
    if problem:
        served.failed_at, served.error = FailedAt.RESOLVE, problem
        return served
    run.restart_clock()  # everything below ends within timeout x DEADLINE_FACTOR, whatever the peer does
    started = time.monotonic()
    out = run.handshake(verify=False, http_request=False)
    if not out.handshake_ok:
        served.failed_at, served.error, served.handshakes = FailedAt.HANDSHAKE, out.error, run.handshakes
        return served
    served.ders = diagnose.served_chain(run, out)
    if not served.ders and out.peer_der:
        served.ders, served.chain_read = [out.peer_der], ChainRead.LEAF_ONLY
    served.tls_version = out.version
    served.handshakes = run.handshakes
    served.elapsed_ms = round((time.monotonic() - started) * 1000, 1)
    return served
