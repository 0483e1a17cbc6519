# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The shape of cert_chain_info's result, as inspect_chain builds it (_chain/inspection.py).

TypedDicts: plain dicts at run time (the module returns them as they are; tests and the diagnosis
report index them), checked by mypy where inspection.py builds them.  One key per key of
cert_chain_info's RETURN (tests/unit/plugins/module_utils/_chain/test_chain_result_types.py holds
the two together).
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, TypedDict

from ansible_collections.tlsops.handshake.plugins.module_utils._common.findings import Finding


class ChainSource(TypedDict, total=False):
    """``source``: ``type`` is path, content or endpoint; the other keys depend on it."""

    type: str
    path: str
    host: str
    port: int
    server_name: Optional[str]
    tls_version: Optional[str]
    chain_read: str
    handshakes: int
    elapsed_ms: Optional[float]


class TrustStore(TypedDict):
    """``trust_store``: the anchors' file (or the system store's label) and how many there are."""

    file: str
    certificates: int


class ChainEntry(TypedDict, total=False):
    """One entry of ``chain``: the served certificate at ``position`` (a key is None when absent)."""

    position: int
    subject: str
    issuer: str
    serial: str
    not_before: str
    not_after: str
    days_left: int
    sans: List[str]
    key_type: str
    key_bits: Optional[int]
    curve: Optional[str]
    signature_algorithm: str
    is_ca: bool
    path_length: Optional[int]
    sha256: str
    aia_ca_issuers: List[str]
    ocsp_urls: List[str]
    subject_key_id: Optional[str]
    authority_key_id: Optional[str]
    key_usage: Optional[List[str]]
    extended_key_usage: Optional[List[str]]
    expired: bool
    not_yet_valid: bool
    version: int
    self_signed: bool


class PathEntry(TypedDict):
    """One entry of ``chosen_path``, leaf first; ``position`` only for a served certificate."""

    subject: str
    issuer: str
    sha256: str
    origin: str
    position: Optional[int]


class ServedExtra(TypedDict, total=False):
    """One entry of ``served_extra``: a served certificate the path does not use, and why."""

    position: int
    subject: str
    issuer: str
    sha256: str
    same_key_as: Optional[str]
    note: str


class MissingIssuer(TypedDict):
    """``missing_issuer``: the certificate whose issuer is missing, and where it was found if it was."""

    subject: str
    name: str
    aia_ca_issuers: List[str]
    authority_key_id: Optional[str]
    found_in: Optional[str]


class ChainVerification(TypedDict):
    """``verified`` and ``complete_chain_verified``: OpenSSL's verdict as nginx would log it."""

    ok: Optional[bool]
    code: Optional[int]
    message: str
    depth: Optional[int]
    errors: List[Dict[str, Any]]
    path: List[str]
    source: Optional[str]
    command: Optional[List[str]]
    webpki: Optional[Dict[str, Any]]
    note: Optional[str]


class NameCoverage(TypedDict):
    """One entry of ``names``: whether the leaf covers a wanted name, and by which SAN or CN."""

    name: str
    covered: bool
    matched: Optional[str]


class ChainResult(TypedDict):
    """inspect_chain's result: the module returns it as it is (plus ``changed``)."""

    source: ChainSource
    valid_at: str
    trust_store: TrustStore
    chain: List[ChainEntry]
    leaf_position: int
    order_ok: Optional[bool]
    chosen_path: List[PathEntry]
    path_ends_at_trusted: Optional[bool]
    served_extra: List[ServedExtra]
    complete: Optional[bool]
    missing_issuer: Optional[MissingIssuer]
    verified: ChainVerification
    complete_chain: Optional[str]
    complete_chain_verified: Optional[ChainVerification]
    expires_in_days: Optional[int]
    expiring: bool
    names: List[NameCoverage]
    key_matches: Optional[bool]
    findings: List[Finding]
