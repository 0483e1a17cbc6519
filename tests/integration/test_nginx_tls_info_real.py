# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What nginx really does, next to what nginx_tls_info says it does (issue #10).

This machine's nginx runs a configuration written here as a reverse proxy in front of the lab's
"recorder" peer (tests/lab/hostile.py: a loopback TLS server that writes down the SNI and the request
of every connection).  One GET per location goes through nginx; then one real ansible-playbook run
reads the same configuration with nginx_tls_info (``nginx -T``) and hands its probe targets to
tls_probe.  The name nginx sent must be the ``effective.ssl_name`` (and the probe target's
``server_name``/``sni``); a ``proxy_pass http://`` aimed at the recorder's TLS port must be flagged,
and its confirmation target must get a TLS handshake there.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import time

import pytest
import trustme

from tests.integration.playbook_cases import run_playbook
from tests.lab.hostile import HostilePeers
from tests.lab.lab import free_ports

NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None)
pytestmark = pytest.mark.skipif(not NGINX, reason="needs the nginx binary (make deps)")

CONFIG = """\
{user}worker_processes 1;
daemon off;
pid {d}/nginx.pid;
error_log {d}/error.log info;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {d}/tmp; proxy_temp_path {d}/tmp; fastcgi_temp_path {d}/tmp;
    uwsgi_temp_path {d}/tmp; scgi_temp_path {d}/tmp;
    proxy_ssl_server_name on;
    proxy_connect_timeout 2s;
    upstream recorder.upstream.test {{ server 127.0.0.1:{rec}; }}
    server {{
        listen 127.0.0.1:{port};
        server_name proxy.lab.test;
        location /block {{ proxy_pass https://recorder.upstream.test; }}
        location /port {{ proxy_pass https://localhost:{rec}; }}
        location /quoted {{ proxy_ssl_name "api.example"; proxy_pass https://127.0.0.1:{rec}; }}
        location /quoted-port {{ proxy_ssl_name "api.example:8443"; proxy_pass https://127.0.0.1:{rec}; }}
        location /ip {{ proxy_pass https://127.0.0.1:{rec}; }}
        location /plain {{ proxy_pass http://127.0.0.1:{tls}; }}
        location /conf-commands {{
            proxy_ssl_conf_command Groups secp384r1;
            proxy_ssl_conf_command Options UnsafeLegacyServerConnect;
            proxy_pass https://127.0.0.1:{rec};
        }}
    }}
    server {{
        listen 127.0.0.1:{tls} ssl;
        server_name tls.proxy.test;
        ssl_certificate {d}/tls.pem;
        ssl_certificate_key {d}/tls.pem;
        return 200 "tls";
    }}
}}
"""
# location -> the SNI nginx 1.22 sends there (None: no SNI, an IP literal)
SENT = {"/block": "recorder.upstream.test", "/port": "localhost", "/quoted": "api.example",
        "/quoted-port": "api.example", "/ip": None}


def _wait_port(port, proc, deadline):
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


def _get(port, path):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path, headers={"Host": "proxy.lab.test"})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def _run(d, name, tasks):
    """Run ``tasks`` in one playbook; the registered ``keep`` variables, read back."""
    out = os.path.join(d, name + ".json")
    keep = sorted(t["register"] for t in tasks if "register" in t)
    tasks = tasks + [{"name": "write", "ansible.builtin.copy": {
        "dest": out, "mode": "0600", "content": "{{ {%s} | to_json }}" % ", ".join("'%s': %s" % (k, k) for k in keep)}}]
    playbook = os.path.join(d, name + ".yml")
    with open(playbook, "w") as handle:
        json.dump([{"hosts": "localhost", "gather_facts": False, "tasks": tasks}], handle)
    returncode, output = run_playbook(playbook, timeout=300)
    assert returncode == 0, output[-6000:]
    with open(out) as handle:
        return json.load(handle)


@pytest.fixture(scope="module")
def real(tmp_path_factory):
    """``{"sent": {location: [SNI seen by the recorder]}, "plain": (status, body) of GET /plain, "info":
    nginx_tls_info, "checks": tls_probe on its plaintext-check targets, "dir", "config"}``."""
    d = str(tmp_path_factory.mktemp("nginx_real"))
    os.makedirs(os.path.join(d, "tmp"))
    leaf = trustme.CA().issue_cert("tls.proxy.test")
    leaf.private_key_and_cert_chain_pem.write_to_path(os.path.join(d, "tls.pem"))
    with HostilePeers(os.path.join(d, "peers"), hold=120, names=["recorder"]) as peers:
        rec = peers.port("recorder")
        port, tls = free_ports(2)
        config = os.path.join(d, "nginx.conf")
        with open(config, "w") as handle:
            handle.write(CONFIG.format(user="user root;\n" if os.geteuid() == 0 else "", d=d, rec=rec, port=port,
                                       tls=tls))
        proc = subprocess.Popen([NGINX, "-p", d, "-c", config], stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            assert _wait_port(port, proc, time.monotonic() + 15), open(os.path.join(d, "error.log")).read()
            for location in SENT:
                status, body = _get(port, location)
                assert (status, body) == (200, b"ok"), (location, status, body)
            result = {"plain": _get(port, "/plain"), "dir": d, "config": config, "sent": {}}
            deadline = time.monotonic() + 10     # the recorder writes its record after it has answered
            while len(peers.received()) < len(SENT) and time.monotonic() < deadline:
                time.sleep(0.05)
            for seen in peers.received():
                path = seen["request"].split(" ")[1] if seen.get("request") else None
                result["sent"].setdefault(path, []).append(seen["sni"])
            result.update(_run(d, "real", [
                {"name": "read", "tlsops.handshake.nginx_tls_info": {"config": config, "prefix": d}, "register": "info"},
                {"name": "check", "tlsops.handshake.tls_probe": {
                    "targets": "{{ info.probe_targets | selectattr('origin.expect', 'defined') }}"},
                 "register": "checks"},
                # the same two calls with pack_results, and the filter that gives their results back
                {"name": "read packed",
                 "tlsops.handshake.nginx_tls_info": {"config": config, "prefix": d, "pack_results": True},
                 "register": "info_packed"},
                {"name": "check packed", "tlsops.handshake.tls_probe": {
                    "targets": "{{ info.probe_targets | selectattr('origin.expect', 'defined') }}", "pack_results": True},
                 "register": "checks_packed"},
                {"name": "unpack", "ansible.builtin.debug": {
                    "msg": "{{ [info_packed, checks_packed] | tlsops.handshake.unpack_result }}"},
                 "register": "unpacked"},
                # every target, as a list and as nginx_tls_info's packed_targets string handed on unread
                {"name": "probe all", "tlsops.handshake.tls_probe": {
                    "targets": "{{ info.probe_targets }}", "timeout": 3}, "register": "probe_all"},
                {"name": "probe all packed", "tlsops.handshake.tls_probe": {
                    "packed_targets": "{{ info_packed.packed_targets }}", "timeout": 3},
                 "register": "probe_all_packed"},
                {"name": "packed targets cut short", "tlsops.handshake.tls_probe": {
                    "packed_targets": "{{ info_packed.packed_targets[:-8] }}"},
                 "register": "probe_cut", "ignore_errors": True},
                {"name": "the report's packed string is no targets", "tlsops.handshake.tls_probe": {
                    "packed_targets": "{{ info_packed.packed }}"},
                 "register": "probe_wrong", "ignore_errors": True}]))
            yield result
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(10)


def _entry(info, location):
    (entry,) = [u for u in info["upstreams"] if any(loc["location"] == location for loc in u["locations"])]
    return entry


@pytest.mark.parametrize("location", sorted(SENT))
def test_ssl_name_is_what_nginx_sent(real, location):
    assert real["info"]["source"] == "nginx -T"
    assert real["sent"].get(location) == [SENT[location]], real["sent"]
    entry = _entry(real["info"], location)
    effective = entry["effective"]
    if SENT[location] is not None:
        assert effective["ssl_name"] == SENT[location]
    (target,) = entry["probe_targets"]
    assert target["sni"] is (SENT[location] is not None)
    assert target.get("server_name") == SENT[location]


def test_plaintext_to_a_tls_port_is_flagged_and_the_check_proves_the_port_speaks_tls(real):
    status, body = real["plain"]        # what nginx really does there: the TLS server refuses the request
    assert status == 400 and b"The plain HTTP request was sent to HTTPS port" in body, (status, body)
    (found,) = [f for f in real["info"]["findings"] if f["code"] == "http_to_tls_port"]
    (check,) = real["checks"]["results"]
    assert (found["severity"], found["file"]) == ("error", real["config"])
    assert found["upstream"] == "127.0.0.1:%d" % check["port"] and "which this nginx serves with ssl" in found["message"]
    assert check["origin"]["expect"] == "plaintext" and check["origin"]["proxy_pass"].startswith("http://127.0.0.1:")
    assert check["cause"] == "ok" and check["handshake_ok"] is True     # ok here is the fault: it speaks TLS


def test_conf_commands_reach_tls_probe(real):
    entry = _entry(real["info"], "/conf-commands")
    (target,) = entry["probe_targets"]
    assert target["conf_commands"] == {"Groups": "secp384r1", "Options": "UnsafeLegacyServerConnect"}
    probed = _run(real["dir"], "conf-commands", [
        {"name": "read", "tlsops.handshake.nginx_tls_info": {"config": real["config"], "prefix": real["dir"]},
         "register": "info"},
        {"name": "probe", "tlsops.handshake.tls_probe": {
            "targets": "{{ info.probe_targets | selectattr('origin.locations.0.location', 'equalto', "
                       "'/conf-commands') }}"}, "register": "probe"}])
    (result,) = probed["probe"]["results"]
    assert result["cause"] == "ok" and result["tls"]["group"] == "secp384r1", result


def _without(result, *keys):
    return {key: value for key, value in result.items() if key not in keys}


def _untimed(results):
    return [_without(r, "timing") for r in results]


def test_pack_results_returns_the_same_result_in_one_string(real):
    """nginx_tls_info and tls_probe with pack_results: the bulky keys in one string, everything else as it is;
    the unpack_result filter gives back the result of the same call without the option (tls_probe's timings
    aside: they are measured anew)."""
    info, info_packed = real["info"], real["info_packed"]
    assert info["upstreams"] and info["findings"]
    assert "upstreams" not in info_packed and "findings" not in info_packed
    assert info_packed["packed"].startswith("tlsops-packed-1:")
    assert "probe_targets" not in info_packed and info_packed["packed_targets"].startswith("tlsops-packed-1:")
    for key in ("servers", "summary", "config_file", "nginx", "files"):
        assert info_packed[key] == info[key], key
    checks, checks_packed = real["checks"], real["checks_packed"]
    assert len(checks["results"]) >= 1 and "results" not in checks_packed
    assert checks_packed["summary"] == checks["summary"]
    info_unpacked, checks_unpacked = real["unpacked"]["msg"]
    assert _without(info_unpacked, "invocation") == _without(info, "invocation")
    assert _untimed(checks_unpacked["results"]) == _untimed(checks["results"])
    assert "packed" not in info_unpacked and "packed" not in checks_unpacked


def test_tls_probe_takes_nginx_tls_infos_packed_targets_as_they_are(real):
    """packed_targets probes what targets given as nginx_tls_info's probe_targets probes; a string cut short or
    of another kind fails, naming the option."""
    listed, packed = real["probe_all"], real["probe_all_packed"]
    assert len(packed["results"]) == len(real["info"]["probe_targets"]) >= 3
    assert _untimed(packed["results"]) == _untimed(listed["results"])
    assert packed["summary"] == listed["summary"]
    assert real["probe_cut"]["failed"] and real["probe_cut"]["msg"].startswith("packed_targets: "), real["probe_cut"]
    assert real["probe_wrong"]["failed"]
    assert real["probe_wrong"]["msg"].startswith("packed_targets: not nginx_tls_info's packed_targets"), real["probe_wrong"]
