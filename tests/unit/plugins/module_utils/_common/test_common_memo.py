# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""_common/memo: the one bounded memo of the certificate reader, the target checks and the probe's call."""
from __future__ import annotations

from ansible_collections.tlsops.handshake.plugins.module_utils._common.memo import BoundedMemo
from ansible_collections.tlsops.handshake.plugins.module_utils._probe import run, targets


def test_a_memo_keeps_up_to_its_limit_then_nothing_new():
    kept = BoundedMemo(2)
    assert kept.keep("a", 1) == 1 and kept.keep("b", None) is None
    assert kept.keep("c", 3) == 3                   # given back, not kept: the memo is full
    assert "a" in kept and "b" in kept and "c" not in kept and len(kept) == 2
    assert kept.get("b", "missing") is None and kept.get("c", "missing") == "missing" and kept.get("c") is None
    assert kept.keep("a", 9) == 9 and kept.get("a") == 1     # full: not even a key it holds changes


def test_a_memo_of_no_room_keeps_nothing():
    nothing = BoundedMemo(0)
    assert nothing.keep("a", 1) == 1 and "a" not in nothing and len(nothing) == 0


def test_the_call_reads_a_certificate_once_and_remembers_one_that_does_not_parse(monkeypatch):
    reads = []
    real = run.x509.parse_certificate

    def counted(der):
        reads.append(der)
        return real(der)

    monkeypatch.setattr(run.x509, "parse_certificate", counted)
    shared = run.CallShared()
    assert shared.parse(b"\x30\x03\x02\x01\x00") is None and shared.parse(bytearray(b"\x30\x03\x02\x01\x00")) is None
    assert len(reads) == 1


def test_a_name_checked_once_is_not_checked_again_and_the_bound_holds(monkeypatch):
    monkeypatch.setattr(targets, "_NAMES_CHECKED", BoundedMemo(1))
    checks = []
    real = targets._check_name_text
    monkeypatch.setattr(targets, "_check_name_text", lambda *a: checks.append(a[0]) or real(*a))
    for name in ("a.example", "a.example", "b.example", "b.example"):
        targets.build_targets([{"host": name, "port": 443}], {})
    assert checks == ["a.example", "b.example", "b.example"]    # b.example found no room: checked each time
