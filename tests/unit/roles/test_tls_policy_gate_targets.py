# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The post-reload gate's first probe (tasks/probe_before.yml), run by a real ansible-playbook against a
real TLS server on 127.0.0.1: an upstream given by IP address is probed the way nginx handshakes with it,
without SNI and without a server name (the rule nginx_tls_info's probe targets apply), while a named
upstream on the same server gets both.  Only resolve.yml and probe_before.yml run; nothing touches this
machine's nginx."""

from __future__ import annotations

import json
import socket
import ssl
import threading

import pytest
import trustme

from tests.unit.roles._playbook import run_playbook


@pytest.fixture
def tls_server(tmp_path):
    """A loopback TLS server for 127.0.0.1 and localhost that records the SNI of each handshake."""
    ca = trustme.CA()
    leaf = ca.issue_cert("127.0.0.1", "localhost")
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    leaf.configure_cert(ctx)
    seen = []
    ctx.sni_callback = lambda sock, name, _ctx: seen.append(name)
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.5)
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            try:
                raw, _addr = listener.accept()
            except socket.timeout:
                continue
            raw.settimeout(5)
            try:
                with ctx.wrap_socket(raw, server_side=True) as conn:
                    conn.recv(4096)
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            except (OSError, ssl.SSLError):
                pass
            finally:
                raw.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield {"port": listener.getsockname()[1], "seen": seen}
    stop.set()
    thread.join(10)
    listener.close()


def test_the_gate_probes_an_ip_upstream_without_sni_like_nginx(tls_server, tmp_path):
    out = str(tmp_path / "out.json")
    upstreams = [{"name": "by_ip", "host": "127.0.0.1", "port": tls_server["port"]},
                 {"name": "by_name", "host": "127.0.0.1", "port": tls_server["port"], "server_name": "localhost"}]
    play = [{"hosts": "localhost", "gather_facts": False, "vars": {
        "tls_policy_upstreams": upstreams, "tls_policy_conf_dir": str(tmp_path / "conf.d"),
        "tls_policy_snippets_dir": str(tmp_path / "snippets"), "tls_policy_verify_timeout": 5,
        "tls_policy_upstream_verify": False}, "tasks": [
        {"ansible.builtin.set_fact": {"__tls_policy_nginx_version": "1.24.0", "__tls_policy_openssl_version": "3.0.2",
                                      "__tls_policy_snapshot": {}}},
        {"ansible.builtin.include_role": {"name": "tlsops.handshake.tls_policy", "tasks_from": "resolve.yml",
                                          "public": True}},
        # the settings before this run are nginx 1.24's defaults: no SNI (proxy_ssl_server_name off)
        # the new policy turns SNI on: the IP upstream still gets none, the named one gets "localhost"
        {"ansible.builtin.include_role": {"name": "tlsops.handshake.tls_policy", "tasks_from": "probe_before.yml"}},
        {"ansible.builtin.copy": {"dest": out, "mode": "0644", "content": "{{ {'pairs': __tls_policy_probe_pairs, "
                                  "'before': __tls_policy_before.results} | to_json }}"}},
    ]}]
    run = run_playbook(str(tmp_path), play)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    with open(out) as fh:
        got = json.load(fh)
    by_ip, by_name = (p["after"] for p in got["pairs"])
    assert by_ip["sni"] is False and "server_name" not in by_ip, by_ip
    assert by_name["sni"] is True and by_name["server_name"] == "localhost", by_name
    assert [r["handshake_ok"] for r in got["before"]] == [True, True], got["before"]
    # before: nginx 1.24's defaults, proxy_ssl_name $proxy_host (the address) and no SNI, for both
    assert [(r["sni"], r["server_name"]) for r in got["before"]] == [(False, None), (False, None)]
    assert tls_server["seen"] and set(tls_server["seen"]) == {None}     # the server saw no SNI at all
