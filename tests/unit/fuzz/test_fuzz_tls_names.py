# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Properties of the TLS name tables (plugins/module_utils/_tls/names.py).

Names come from users (tls_probe's groups, sigalgs, ciphers) and codes from servers: a name gives
a code that fits the 16 bits it is written in, or a ValueError naming it; a code always has a name,
and the name of a code reads back as that code.
"""

from __future__ import annotations

from hypothesis import example, given, strategies as st

from ansible_collections.tlsops.handshake.plugins.module_utils._tls import names, wire as tw
from tests.unit.fuzz.fuzzing import examples

LOOKUPS = {
    "group": (names.group_code, names.group_name, names.GROUPS),
    "sigalg": (names.sigalg_code, names.sigalg_name, names.SIGALGS),
}


def _respelled(name, draw_case, pad):
    return pad + "".join(c.upper() if up else c.lower() for c, up in zip(name, draw_case)) + pad


# A user's spelling: a table name in any case with blanks around it, hex of any size, or any text.
def spellings(table):
    return st.one_of(
        st.builds(_respelled, st.sampled_from(sorted(table)), st.lists(st.booleans(), min_size=40, max_size=40),
                  st.sampled_from(["", " ", "\t"])),
        st.integers(0, 2 ** 40).map(lambda n: "0x%x" % n),
        st.text(max_size=20),
        st.text(alphabet="0123456789abcdefxX_+-", max_size=12).map(lambda t: "0x" + t),
    )


@examples(300)
@given(case=st.sampled_from(sorted(LOOKUPS)).flatmap(lambda kind: st.tuples(st.just(kind), spellings(LOOKUPS[kind][2]))))
@example(case=("group", "0x10000")).via("hypothesis: 0x10000 passed the option check, then hello() raised struct.error")
@example(case=("sigalg", "0x1_0000_0804"))
def test_a_name_gives_a_16_bit_code_or_a_value_error(case):
    kind, spelled = case
    to_code, _to_name, table = LOOKUPS[kind]
    try:
        code = to_code(spelled)
    except ValueError as exc:
        assert repr(spelled) in str(exc)
        return
    assert 0 <= code <= 0xFFFF, (spelled, code)
    lower = {n.lower(): c for n, c in table.items()}
    if spelled.strip().lower() in lower:
        assert code == lower[spelled.strip().lower()]


@examples(200)
@given(kind=st.sampled_from(sorted(LOOKUPS)), code=st.integers(0, 0xFFFF))
def test_every_code_has_a_name_that_reads_back(kind, code):
    to_code, to_name, _table = LOOKUPS[kind]
    name = to_name(code)
    assert isinstance(name, str) and name
    assert to_code(name) == code


@examples(100)
@given(code=st.integers(0, 0xFFFF))
def test_version_cipher_and_alert_names(code):
    version = names.version_name(code)
    if code in (0x0300, 0x0301, 0x0302, 0x0303, 0x0304):
        assert names.version_code(version) == code and names.version_code(version.upper()) == code
    else:
        assert version == "0x%04X" % code
    assert names.cipher_name(code)
    if code <= 0xFF:
        alert = names.alert_name(code)
        assert alert and (alert == "alert_%d" % code or names.alert_code(alert) == code)


@examples(100)
@given(text=st.one_of(st.text(max_size=40), st.lists(st.sampled_from(
    ["ECDHE+AESGCM", "!SHA1", "HIGH", "TLS_AES_128_GCM_SHA256", "DEFAULT", "@SECLEVEL=2", "nonsense", "\x00"]),
    max_size=4).map(":".join)))
@example(text="TLS_AES_128_GCM_SHA256:TLS_AES_128_GCM_SHA256").via("hypothesis: the suite was offered twice")
def test_cipher_strings_give_codes_or_a_value_error(text):
    try:
        codes = names.cipher_codes(text)
    except ValueError:
        return
    assert codes and all(0 <= c <= 0xFFFF for c in codes) and len(set(codes)) == len(codes)


def test_a_hex_group_too_big_for_16_bits_is_refused_before_the_hello():
    """Regression: "0x10000" passed the option check, then hello() raised struct.error (a traceback)."""
    for spelled in ("0x10000", "0x1_0000_0000"):
        try:
            names.group_code(spelled)
        except ValueError as exc:
            assert spelled in str(exc)
        else:
            raise AssertionError("%s was accepted as a group" % spelled)
    flight = tw.hello("127.0.0.1", 9, groups=["0x10000"], timeout=0.5)  # fails before connecting
    assert flight.kind == "malformed" and "cannot build ClientHello" in flight.error
    assert names.sigalg_code("0x0804") == 0x0804
    try:
        names.sigalg_code("0x10804")
    except ValueError as exc:
        assert "0x10804" in str(exc)
    else:
        raise AssertionError("0x10804 was accepted as a signature algorithm")
