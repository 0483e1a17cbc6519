# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Real per-host data for the report engine: the five modules run once, through ansible-playbook,
against the single-host lab (tests/lab), collected in the shape diagnose_report takes
(DESIGN-9 Contract 2).

The lab is one nginx (its reverse proxy in front of every broken upstream), so this makes ONE real
host.  ``capture_host`` runs the modules as the diagnose playbook would (nginx_tls_info, then
time_sync_info against a loopback SNTP server whose clock offset the caller picks, then one tls_probe
call with nginx's own probe targets and that clock offset, cert_chain_info on served certificates,
handshake_log_info on the lab's error logs).  Tests that need a fleet build 2-3 "hosts" from such
captures (tests/integration/test_diagnose_report.py says where it does).

    python -m tests.integration.diagnose_capture OUT.json   # start a lab, capture one host, stop
"""

from __future__ import annotations

import json
import os
import socket
import sys
import tempfile
import urllib.error
import urllib.request

from tests.integration.helpers import REPO_ROOT
from tests.integration.ntp_lab import NtpServer
from tests.integration.playbook_cases import run_playbook

# Scenarios whose proxy location is requested before the logs are read, so nginx logs real upstream
# failures (and one success).
PROXIED = ("healthy", "expired", "sni_required", "missing_intermediate", "plain_http", "closed_port")
# Served certificates read by cert_chain_info (a healthy one, an expired one, one without its intermediate).
CERTIFICATES = ("healthy", "expired", "missing_intermediate")
# Scenarios probed: a few of every kind, so the run stays short (the silent/filtered ones cost the timeout).
PROBED = ("healthy", "healthy_tls12", "expired", "not_yet_valid", "sni_required", "missing_intermediate",
          "plain_http", "closed_port", "hostname_mismatch", "tls13_only", "unknown_root")


def proxy_requests(lab, names=PROXIED):
    """GET the lab proxy's location of each scenario: nginx logs what it meets upstream."""
    for name in names:
        try:
            with urllib.request.urlopen(lab.info["proxy"]["url"] + name, timeout=15) as resp:
                resp.read()
        except urllib.error.HTTPError as exc:
            exc.read()
            exc.close()


def client_noise(lab, count=3):
    """Plain HTTP and garbage to a TLS listener of the lab: nginx logs client-side handshake failures."""
    scenario = lab.scenarios["healthy"]
    for i in range(count):
        with socket.create_connection((scenario["host"], scenario["port"]), timeout=5) as sock:
            sock.sendall(b"GET / HTTP/1.0\r\n\r\n" if i % 2 == 0 else b"\x16\x03\x01\x00\x05garbage-noise")
            sock.settimeout(5)
            try:
                while sock.recv(4096):
                    pass
            except OSError:
                pass


def _tasks(lab, ntp_address, names, overrides):
    nginx_conf = os.path.join(lab.dir, "nginx.conf")
    paths = [os.path.join(lab.dir, "pki", name + ".pem") for name in CERTIFICATES]
    logs = [lab.info["proxy"]["error_log"], lab.info["nginx_error_log"]]
    return [
        {"name": "nginx", "tlsops.handshake.nginx_tls_info": {"config": nginx_conf, "prefix": lab.dir},
         "register": "nginx"},
        {"name": "clock", "tlsops.handshake.time_sync_info": {
            "servers": [ntp_address], "samples": 1, "sample_interval": 0.1, "timeout": 2},
         "register": "clock"},
        {"name": "probe", "tlsops.handshake.tls_probe": {
            # the lab proxy's targets, one per location; only the scenarios asked for
            "targets": "{{ nginx.probe_targets | selectattr('port', 'in', %s) | map('combine', %s) | list }}" % (
                json.dumps(sorted(set(lab.scenarios[n]["port"] for n in names))), json.dumps(overrides or {})),
            "clock_offset_ms": "{{ clock.offset_ms }}", "timeout": 3},
         "register": "probe"},
        {"name": "chains", "tlsops.handshake.cert_chain_info": {"path": "{{ item }}", "ca_file": lab.info["ca_file"]},
         "loop": paths, "register": "chains"},
        {"name": "logs", "tlsops.handshake.handshake_log_info": {"paths": logs, "since": "24h"}, "register": "logs"},
    ]


def capture_host(lab, workdir, ntp_offset_s=0.0, names=PROBED, overrides=None):
    """One host's data (Contract 2) from real module runs on the lab; ``ntp_offset_s``: how far the
    loopback NTP server's clock is from ours (true minus local, as time_sync_info reports it);
    ``overrides``: settings merged into every probe target (a proxy configured otherwise)."""
    os.makedirs(str(workdir), exist_ok=True)
    out = os.path.join(str(workdir), "host.json")
    with NtpServer(offset=ntp_offset_s) as ntp:
        tasks = _tasks(lab, ntp.address, names, overrides)
        tasks.append({"name": "write", "ansible.builtin.copy": {
            "content": "{{ {'nginx': nginx, 'clock': clock, 'probe': probe,"
                       " 'chains': chains.results, 'logs': logs} | to_json }}",
            "dest": out, "mode": "0600"}})
        playbook = os.path.join(str(workdir), "capture.yml")
        with open(playbook, "w") as handle:
            json.dump([{"hosts": "localhost", "gather_facts": False, "tasks": tasks}], handle, indent=1)
        returncode, output = run_playbook(playbook, timeout=300)
    assert returncode == 0 and os.path.exists(out), output[-6000:]
    with open(out) as handle:
        data = json.load(handle)
    data.update(reachable=True, unreachable_msg=None)
    return data


def main(argv):
    from tests.lab import Lab
    workdir = tempfile.mkdtemp(prefix="diagnose-capture-", dir=os.path.join(REPO_ROOT, "build"))
    with Lab(os.path.join(workdir, "lab")) as lab:
        proxy_requests(lab)
        client_noise(lab)
        data = capture_host(lab, workdir, ntp_offset_s=float(argv[2]) if len(argv) > 2 else 0.0)
    with open(argv[1], "w") as handle:
        json.dump(data, handle, indent=1, sort_keys=True)


if __name__ == "__main__":
    main(sys.argv)
