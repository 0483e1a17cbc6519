# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""handshake_lines: one line per result, from the results list or from the registered result, packed or not."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.tlsops.handshake.plugins.filter.handshake_lines import handshake_lines
from ansible_collections.tlsops.handshake.plugins.module_utils._common.packed import pack_keys

RESULTS = [{"target": "app (10.0.0.7:443)", "cause": "ok", "tls": {"version": "TLSv1.3", "cipher": "TLS_AES_256_GCM_SHA384"}},
           {"target": "db (10.0.0.8:443)", "cause": "sni_required", "detail": "alert 112",
            "fix": ["proxy_ssl_server_name on;", "proxy_ssl_name db.internal;"]}]
LINES = ["app (10.0.0.7:443): ok (TLSv1.3 TLS_AES_256_GCM_SHA384)",
         "db (10.0.0.8:443): sni_required - alert 112 | fix: proxy_ssl_server_name on; proxy_ssl_name db.internal;"]


def test_the_results_list_the_registered_result_and_the_packed_one_give_the_same_lines():
    registered = {"changed": False, "summary": {"total": 2}, "results": RESULTS}
    assert handshake_lines(RESULTS) == LINES
    assert handshake_lines(registered) == LINES
    assert handshake_lines(pack_keys(registered, ["results"])) == LINES


@pytest.mark.parametrize("value, message", [
    ({"packed": "tlsops-packed-1:AAAA"}, "handshake_lines: the packed result is not zlib data"),
    ({"summary": {}}, "handshake_lines expects the 'results' list"),
    ("a string", "handshake_lines expects the 'results' list"),
    ([1, 2], "handshake_lines expects the 'results' list"),
])
def test_anything_else_is_a_clear_error(value, message):
    with pytest.raises(AnsibleFilterError, match="^" + message):
        handshake_lines(value)
