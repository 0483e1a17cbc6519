# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""nginx_tls_info's engine on a configuration of 1000 upstreams (issue 15, bench/diagnose_fleet.py).

The effective settings are looked up per upstream in every enclosing block; the http block of such a
configuration has 2000 children, and scanning them for each directive of each upstream made the
engine quadratic (3 of its 4.5 s at 1000 upstreams).  These tests prove the result is the same as the
plain scan's (the engine before the index) and that the http block is no longer scanned per upstream.
"""

from __future__ import annotations

import os

from ansible_collections.tlsops.handshake.plugins.module_utils._nginx.collect import collect
from ansible_collections.tlsops.handshake.plugins.plugin_utils._nginx import parse as nparse, report

UPSTREAMS = 1000


def write_config(directory):
    """1000 upstream blocks and a location each; settings at every level, overridden here and there."""
    blocks, locations = [], []
    for index in range(UPSTREAMS):
        blocks.append("    upstream u%04d {\n        server 127.0.0.1:%d;\n    }" % (index, 20000 + index))
        extra = ""
        if index % 7 == 0:
            extra += "            proxy_ssl_name n%d.example.test;\n" % index
        if index % 11 == 0:
            extra += "            proxy_ssl_protocols TLSv1.2;\n            proxy_ssl_conf_command Groups X25519;\n"
        if index % 13 == 0:
            extra += "            proxy_ssl_verify off;\n"
        locations.append("        location /u%04d/ {\n%s            proxy_pass https://u%04d/;\n        }"
                         % (index, extra, index))
    text = ("events {}\nhttp {\n    proxy_ssl_verify on;\n    proxy_ssl_trusted_certificate %s/ca.pem;\n"
            "    proxy_ssl_conf_command Options -SessionTicket;\n%s\n"
            "    proxy_ssl_server_name on;\n"
            "    server {\n        listen 127.0.0.1:8443;\n        proxy_ssl_verify_depth 3;\n%s\n    }\n"
            "    proxy_ssl_conf_command Ciphersuites TLS_AES_128_GCM_SHA256;\n}\n"
            % (directory, "\n".join(blocks), "\n".join(locations)))
    path = os.path.join(directory, "nginx.conf")
    with open(path, "w") as handle:
        handle.write(text)
    return path


def linear_children(self, *names):
    """Node.children as it was: a scan of the block for every call."""
    return [n for n in self.block or () if not names or n.name in names]


def linear_first(self, name):
    for node in self.block or ():
        if node.name == name:
            return node
    return None


def test_1000_upstreams_give_the_same_result_as_a_plain_scan_of_each_block(tmp_path, monkeypatch):
    raw = collect(config=write_config(str(tmp_path)), source="files")
    indexed = report.analyse(raw, nginx_version="1.22.1")
    monkeypatch.setattr(nparse.Node, "children", linear_children)
    monkeypatch.setattr(nparse.Node, "first", linear_first)
    scanned = report.analyse(raw, nginx_version="1.22.1")
    assert indexed == scanned
    assert len(indexed["upstreams"]) == UPSTREAMS and len(indexed["probe_targets"]) == UPSTREAMS
    # the settings really come from their levels: overrides per location, the rest from http / server
    by_name = {u["name"]: u for u in indexed["upstreams"]}
    u0, u1 = by_name["u0000"]["effective"], by_name["u0001"]["effective"]
    assert u0["verify"] is False and u0["ssl_name"] == "n0.example.test" and u0["protocols"] == ["TLSv1.2"]
    assert u0["groups"] == ["X25519"]
    assert u1["verify"] is True and u1["protocols"] != ["TLSv1.2"] and u1["verify_depth"] == 3
    assert [c["name"] for c in u1["conf_commands"]] == ["Options", "Ciphersuites"]    # an array, in order


class CountingBlock(list):
    """A block that counts how often it is scanned whole."""

    scans = 0

    def __iter__(self):
        CountingBlock.scans += 1
        return super().__iter__()


def test_the_http_block_is_not_scanned_once_per_upstream(tmp_path, monkeypatch):
    raw = collect(config=write_config(str(tmp_path)), source="files")
    parse = nparse.parse

    def counted_parse(*args, **kwargs):
        config = parse(*args, **kwargs)
        http = config.root.first("http")
        http.block = CountingBlock(http.block)
        return config

    monkeypatch.setattr(report.nparse, "parse", counted_parse)
    CountingBlock.scans = 0
    result = report.analyse(raw, nginx_version="1.22.1")
    assert len(result["upstreams"]) == UPSTREAMS
    # a dozen directives per upstream were each a scan of the 2000 children (about 13 000 scans)
    assert CountingBlock.scans < 50, CountingBlock.scans
