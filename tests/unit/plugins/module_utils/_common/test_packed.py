# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""pack_results' string: what goes in comes out, and a string cut, altered or inflated is a clear error."""
from __future__ import annotations

import base64
import zlib

import pytest

from ansible_collections.tlsops.handshake.plugins.module_utils._common import packed

RESULT = {"changed": False, "summary": {"total": 2, "ok": 1},
          "results": [{"target": "a:443", "ok": True, "chain": [{"subject": "CN=a", "sans": ["a", "ü.example"]}]},
                      {"target": "b:443", "ok": False, "cause": "plain_http", "timing": {"total_ms": 1.5}}]}


def test_packed_keys_come_back_as_they_went_in():
    result = packed.pack_keys(RESULT, ["results", "not_there"])
    assert set(result) == {"changed", "summary", "packed"}
    assert result["packed"].startswith(packed.PREFIX)
    assert packed.unpacked(result) == RESULT
    assert packed.unpack(result["packed"]) == {"results": RESULT["results"]}


def test_nothing_to_pack_or_unpack_leaves_the_result_as_it_is():
    assert packed.pack_keys({"summary": {}}, ["results"]) == {"summary": {}}
    for value in ({"results": []}, None, [], "text"):
        assert packed.unpacked(value) is value


def test_a_thousand_results_pack_into_a_tenth_of_their_json():
    many = {"results": [dict(RESULT["results"][0], target="u%04d:443" % i) for i in range(1000)]}
    text = packed.pack(many)
    assert len(text) < len(repr(many)) / 10
    assert packed.unpack(text) == many


def _packed_bytes(data):
    return packed.PREFIX + base64.b64encode(data).decode("ascii")


@pytest.mark.parametrize("text, message", [
    (None, "not a packed result"),
    ({"results": []}, "not a packed result"),
    ("eJwrSS0u", "not a packed result"),
    (packed.PREFIX + "not base64!", "not valid base64"),
    (packed.PREFIX + "é", "not valid base64"),
    (_packed_bytes(b"plain bytes, not zlib"), "not zlib data"),
    (_packed_bytes(zlib.compress(b'{"results": [1, 2, 3]}')[:-6]), "cut short"),
    (_packed_bytes(zlib.compress(b'{"results": [1, 2')), "not JSON"),
    (_packed_bytes(zlib.compress(b"[1, 2, 3]")), "not a dict"),
])
def test_a_string_that_is_not_a_packed_result_is_a_clear_error(text, message):
    with pytest.raises(packed.PackedError, match=message):
        packed.unpack(text)


def test_a_string_that_unpacks_beyond_the_bound_stops_there():
    # 64 MB of zeros compress to about 64 kB: a hostile host's string cannot fill the controller's memory
    bomb = _packed_bytes(zlib.compress(b"0" * (64 << 20), 9))
    assert len(bomb) < 200000
    with pytest.raises(packed.PackedError, match="more than 1048576 bytes"):
        packed.unpack(bomb, limit=1 << 20)


def test_a_packed_key_the_result_has_already_is_refused():
    result = dict(packed.pack_keys(RESULT, ["results"]), results=[])
    with pytest.raises(packed.PackedError, match="repeats the key 'results'"):
        packed.unpacked(result)


NGINX = {"changed": False, "summary": {"probe_targets": 2}, "servers": [{"listen": ["443 ssl"]}],
         "upstreams": [{"name": "app"}], "findings": [],
         "probe_targets": [{"host": "10.0.0.7", "port": 443, "name": "app"}, {"host": "10.0.0.8", "port": 8443}]}


def test_targets_packed_apart_come_back_with_the_rest():
    result = packed.pack_keys(packed.pack_keys(NGINX, ["upstreams", "findings"]), ["probe_targets"],
                              into=packed.TARGETS_KEY)
    assert set(result) == {"changed", "summary", "servers", "packed", "packed_targets"}
    assert packed.unpacked(result) == NGINX
    assert packed.unpack_targets(result["packed_targets"]) == NGINX["probe_targets"]


@pytest.mark.parametrize("values", [{"upstreams": [], "findings": []}, {"probe_targets": {"a": 1}},
                                    {"probe_targets": [], "upstreams": []}])
def test_only_a_packed_list_of_probe_targets_is_packed_targets(values):
    with pytest.raises(packed.PackedError, match="not nginx_tls_info's packed_targets"):
        packed.unpack_targets(packed.pack(values))
