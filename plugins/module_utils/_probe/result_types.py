# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The shape of tls_probe's result, as the engine builds it (_probe/run.py).

TypedDicts: plain dicts at run time (the module returns them as they are; the integration tests,
bench/enumerate_scan.py and the roles index them), checked by mypy where run.py builds them.  One
key per key of tls_probe's RETURN (tests/unit/plugins/module_utils/_probe/test_probe_result_types.py
holds the two together), plus ``host``, ``port`` and ``sni``, which the result carries too; ``trace``
and ``trace_text`` only with ``trace: true``.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, TypedDict


class NegotiatedTls(TypedDict):
    """``tls``: what the handshake negotiated; None until it did."""

    version: Optional[str]
    cipher: Optional[str]
    group: Optional[str]
    alpn: Optional[str]


class Timing(TypedDict):
    """``timing``: the first connection's milliseconds."""

    connect_ms: Optional[float]
    handshake_ms: Optional[float]


class Verification(TypedDict):
    """``verification``: OpenSSL's verify result; ``ok`` is None when nothing was verified."""

    ok: Optional[bool]
    code: Optional[int]
    message: Optional[str]


class Capabilities(TypedDict, total=False):
    """``capabilities``: only what ``enumerate`` asked for (and the budget covered) is there."""

    protocols: List[str]
    ciphers: Dict[str, List[str]]
    groups: List[str]
    requires_sni: bool
    sni_changes_certificate: bool


class _EveryProbeResult(TypedDict):
    """The keys every entry of ``results`` has (None or empty when not known)."""

    target: str
    host: str
    port: int
    server_name: Optional[str]
    origin: Optional[Dict[str, Any]]
    sni: bool
    ok: bool
    handshake_ok: bool
    cause: str
    detail: str
    nginx_error: str
    fix: List[str]
    raw_error: Optional[str]
    tls: NegotiatedTls
    timing: Timing
    certificate: Optional[Dict[str, Any]]
    chain: List[Dict[str, Any]]
    verification: Verification
    hostname_match: Optional[bool]
    http_status: Optional[int]
    capabilities: Optional[Capabilities]
    clock_could_be_cause: Optional[bool]
    evidence: List[str]
    handshakes: int


class ProbeResult(_EveryProbeResult, total=False):
    """One entry of ``results``: the keys above, and the transcript with ``trace: true``."""

    trace: List[Dict[str, Any]]
    trace_text: List[str]


class ProbeSummary(TypedDict):
    """``summary``: counts over all targets."""

    total: int
    ok: int
    failed: int
    by_cause: Dict[str, int]
    processes: int
