# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""cert_renewal's deploy hook (roles/cert_renewal/files/tlsops_cert_deploy.py), run as certbot runs it,
against this machine's nginx on loopback: the new pair is served, or the previous pair is back and
served, the step is named and the state file says so.

The certificates come from the lab PKI (tests/lab/pki.py): the leaf + intermediate a CA would send,
trusted through the lab root only. The probe gate is the collection's engine, as on a host."""

from __future__ import annotations

import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import time

import pytest

from tests.cert_renewal_scripts import DEPLOY, deploy_hook, write_config
from tests.lab.lab import free_ports
from tests.lab.pki import LabPKI

NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None)
pytestmark = pytest.mark.skipif(not NGINX, reason="needs the nginx binary (make deps)")
NAME = "site.lab.test"

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
    server {{
        listen 127.0.0.1:{port} ssl;
        server_name {name};
        ssl_certificate {d}/tls/site.pem;
        ssl_certificate_key {d}/tls/site.key;
        return 200 "site";
    }}
    server {{
        listen 127.0.0.1:{other} ssl;
        server_name {name};
        ssl_certificate {d}/other.pem;
        ssl_certificate_key {d}/other.key;
        return 200 "other";
    }}
}}
"""


def _copy(src, dest, mode=0o644):
    shutil.copyfile(src, dest)
    os.chmod(dest, mode)


def _wait_serial(port, serial, deadline):
    """The serial nginx serves on ``port`` once it is ``serial`` (or the last one seen at the deadline)."""
    seen = None
    while time.monotonic() < deadline:
        seen = deploy_hook.served_serial({"domains": [NAME], "probe": {"port": port}}, {})
        if seen == serial:
            break
        time.sleep(0.1)
    return seen


@pytest.fixture
def site(tmp_path):
    """nginx on loopback serving certificate A; ``lineage(...)`` makes what certbot would hand the hook."""
    d = str(tmp_path)
    os.makedirs(os.path.join(d, "tmp"))
    os.makedirs(os.path.join(d, "tls"))
    pki = LabPKI(os.path.join(d, "pki"))
    old_cert, old_key = pki.leaf("old", [NAME], key="ec")
    _copy(old_cert, os.path.join(d, "tls", "site.pem"))
    _copy(old_key, os.path.join(d, "tls", "site.key"), 0o600)
    other_cert, other_key = pki.leaf("other", [NAME])
    _copy(other_cert, os.path.join(d, "other.pem"))
    _copy(other_key, os.path.join(d, "other.key"), 0o600)
    port, other = free_ports(2)
    conf = os.path.join(d, "nginx.conf")
    with open(conf, "w") as fh:
        fh.write(CONFIG.format(user="user root;\n" if os.geteuid() == 0 else "", d=d, port=port, other=other,
                               name=NAME))
    nginx = [NGINX, "-p", d, "-c", conf]
    proc = subprocess.Popen(nginx, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
                            start_new_session=True)
    entry = {"name": "site", "domains": [NAME], "fullchain": os.path.join(d, "tls", "site.pem"),
             "key": os.path.join(d, "tls", "site.key"), "reload_commands": [nginx + ["-s", "reload"]], "probe": {}}

    def lineage(chain="int", key="ec", key_of=None):
        cert, key_path = pki.leaf("new-%d" % len(os.listdir(pki.dir)), [NAME], chain=chain, key=key)
        live = os.path.join(d, "letsencrypt", "live", "site")
        os.makedirs(live, exist_ok=True)
        _copy(cert, os.path.join(live, "fullchain.pem"))
        _copy(key_of or key_path, os.path.join(live, "privkey.pem"), 0o600)
        with open(cert, "rb") as fh:
            return live, deploy_hook.normal_serial(deploy_hook.leaf_of(fh.read(), cert)["serial"])

    with open(old_cert, "rb") as fh:
        old_serial = deploy_hook.normal_serial(deploy_hook.leaf_of(fh.read(), old_cert)["serial"])
    config_path, _config = write_config(d, [entry], nginx_test_command=nginx + ["-t"],
                                        probe={"host": "127.0.0.1", "port": port, "ca_file": pki.root_file,
                                               "timeout": 3, "attempts": 5, "delay": 0.3})
    try:
        assert _wait_serial(port, old_serial, time.monotonic() + 15) == old_serial, \
            open(os.path.join(d, "error.log")).read()
        yield {"dir": d, "port": port, "other": other, "config": config_path, "entry": entry, "old": old_serial,
               "old_chain": open(old_cert, "rb").read(), "lineage": lineage, "other_cert": other_cert, "pki": pki,
               "write_config": lambda **kw: write_config(d, [dict(entry, **kw)], nginx_test_command=nginx + ["-t"],
                                                         probe={"host": "127.0.0.1", "port": port,
                                                                "ca_file": pki.root_file, "timeout": 3,
                                                                "attempts": 3, "delay": 0.3})[0]}
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=15)


def _hook(config, live):
    proc = subprocess.run([sys.executable, DEPLOY, "--config", config], env=dict(os.environ, RENEWED_LINEAGE=live),
                          capture_output=True, text=True, timeout=120, check=False)
    with open(os.path.join(os.path.dirname(config), "state", "deploy", "site.json")) as fh:
        return proc, json.load(fh)


def test_a_new_pair_is_served_and_the_previous_pair_kept(site):
    live, serial = site["lineage"]()
    proc, state = _hook(site["config"], live)
    assert proc.returncode == 0, proc.stderr
    assert state["ok"] and state["served_serial"] == serial != site["old"]
    assert _wait_serial(site["port"], serial, time.monotonic() + 5) == serial
    key = os.path.join(site["dir"], "tls", "site.key")
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600 and os.stat(key).st_uid == os.geteuid()
    assert stat.S_IMODE(os.stat(key + ".previous").st_mode) == 0o600
    with open(os.path.join(site["dir"], "tls", "site.pem.previous"), "rb") as fh:
        assert fh.read() == site["old_chain"]
    assert [n for n in os.listdir(os.path.join(site["dir"], "tls")) if ".tlsops-" in n] == []


def _assert_restored(site, proc, state, step, probed_elsewhere=False):
    assert proc.returncode == 1
    assert "failed at step %s" % step in proc.stderr and "previous pair was restored" in proc.stderr
    assert not state["ok"] and state["step"] == step and state["restored"]
    with open(site["entry"]["fullchain"], "rb") as fh:
        assert fh.read() == site["old_chain"]
    assert _wait_serial(site["port"], site["old"], time.monotonic() + 5) == site["old"]
    if not probed_elsewhere:     # the hook waited until the restored certificate was served
        assert state["served_serial"] == site["old"]


def test_the_probe_gate_sees_another_serial_and_the_previous_pair_comes_back(site):
    live, serial = site["lineage"]()
    config = site["write_config"](probe={"port": site["other"]})   # that vhost serves another, trusted certificate
    proc, state = _hook(config, live)
    _assert_restored(site, proc, state, "probe", probed_elsewhere=True)
    assert "not the new %s" % serial in state["message"]


def test_nginx_t_refuses_the_new_pair_and_the_previous_pair_comes_back(site):
    wrong_key = os.path.join(site["dir"], "unrelated.key")       # a P-256 key that is not the certificate's
    subprocess.run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", wrong_key],
                   check=True, capture_output=True, timeout=30)
    live, _serial = site["lineage"](key_of=wrong_key)
    proc, state = _hook(site["config"], live)
    _assert_restored(site, proc, state, "nginx_test")
    assert "key values mismatch" in state["message"]


def test_an_incomplete_chain_is_refused_and_the_previous_pair_comes_back(site):
    live, _serial = site["lineage"](chain="leaf")      # cert.pem deployed instead of fullchain.pem
    proc, state = _hook(site["config"], live)
    _assert_restored(site, proc, state, "probe")
    assert "cert_chain_incomplete" in state["message"] and "deploy fullchain.pem" in state["message"]


def test_a_lineage_without_a_certificate_changes_nothing(site):
    live = os.path.join(site["dir"], "letsencrypt", "live", "site")
    os.makedirs(live)
    proc, state = _hook(site["config"], live)
    assert proc.returncode == 1 and "failed at step read" in proc.stderr and not state["restored"]
    assert not os.path.exists(site["entry"]["fullchain"] + ".previous")
