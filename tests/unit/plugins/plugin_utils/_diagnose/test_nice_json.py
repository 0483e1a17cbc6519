# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""nice_json.dumps gives json.dumps' text (indent, sorted keys, ", " / ": " separators, default) byte for byte,
or json's own error, for any value; nice_json.dump writes the same text to a stream."""

from __future__ import annotations

import datetime
import enum
import io
import json
import math
from collections import OrderedDict, UserDict
from unittest import mock

import pytest
from hypothesis import given, strategies as st

from ansible_collections.tlsops.handshake.plugins.plugin_utils._diagnose import nice_json
from tests.unit.fuzz.fuzzing import examples


def _json(value, indent=4, default=str):
    try:
        return json.dumps(value, indent=indent, sort_keys=True, separators=(",", ": "), default=default)
    except Exception as exc:        # pylint: disable=broad-exception-caught
        return ("error", type(exc), str(exc))


def _ours(value, indent=4, default=str):
    try:
        return nice_json.dumps(value, indent, default=default)
    except Exception as exc:        # pylint: disable=broad-exception-caught
        return ("error", type(exc), str(exc))


class Number(int):
    pass


class Ratio(float):
    pass


class Text(str):
    pass


class Colour(enum.IntEnum):
    RED = 1


SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.integers(min_value=-2 ** 80, max_value=2 ** 80),
                    st.floats(allow_nan=True, allow_infinity=True), st.text(), st.text(alphabet="\x00\x1f\"\\\u2028é😀"),
                    st.builds(Number, st.integers()), st.builds(Ratio, st.floats()), st.builds(Text, st.text()),
                    st.just(Colour.RED), st.just(datetime.date(2026, 12, 7)), st.just({1, 2}))
KEYS = st.one_of(st.text(), st.integers(), st.floats(allow_nan=False), st.booleans(), st.none())
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=5), st.lists(inner, max_size=3).map(tuple),
    st.dictionaries(st.text(max_size=6), inner, max_size=5),
    st.dictionaries(KEYS, inner, max_size=3)), max_leaves=40)


@examples(400)
@given(VALUES, st.sampled_from([0, 1, 2, 4]))
def test_the_text_is_jsons(value, indent):
    assert _ours(value, indent) == _json(value, indent)


@examples(100)
@given(VALUES)
def test_without_default_the_error_is_jsons(value):
    assert _ours(value, default=None) == _json(value, default=None)


@pytest.mark.parametrize("value", [
    {}, [], (), "", {"b": {}, "a": []}, [[[]]], {"k": [{"x": None}]}, math.nan, -math.inf, 10 ** 30,
    {1: "int", 2.5: "float"}, {True: 1, None: 2}, {1: "a", "b": 2}, OrderedDict(b=1, a=2),
    UserDict(a=1), {("tuple", "key"): 1}, [object()],
])
def test_edges_are_jsons(value):
    assert _ours(value) == _json(value)
    assert _ours(value, default=None) == _json(value, default=None)


def test_a_cycle_is_jsons_error():
    cycle = []
    cycle.append(cycle)
    assert _ours(cycle) == _json(cycle)
    assert _ours(cycle)[1] is ValueError


def _dumped(value, indent=4, default=str):
    stream = io.StringIO()
    stream.write("text of an earlier, longer attempt that the fallback must not leave behind " * 3)
    stream.seek(0)
    try:
        nice_json.dump(value, stream, indent, default=default)
    except Exception as exc:        # pylint: disable=broad-exception-caught
        return ("error", type(exc), str(exc))
    stream.truncate()
    return stream.getvalue()


@examples(200)
@given(VALUES, st.sampled_from([0, 1, 4]))
def test_dump_writes_dumps_text_block_by_block(value, indent):
    with mock.patch.object(nice_json, "_BLOCK", 3):      # a block of a few pieces: every container flushes
        assert _dumped(value, indent) == _json(value, indent)
        assert _dumped(value, indent, default=None) == _json(value, indent, default=None)


def test_dump_of_what_it_leaves_to_json_rewrites_the_stream():
    deep = [{"x": 1}]
    for _level in range(600):       # deeper than this encoder's recursion goes, not json's
        deep = [deep]
    value = {"a": [{"x": 1}, {"y": [2, 3]}], "b": deep}
    with mock.patch.object(nice_json, "_BLOCK", 1):     # "a" is written out before "b" sends it to json
        assert _dumped(value) == _json(value)
    assert _dumped(value)[0] == "{"
