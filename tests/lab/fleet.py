# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lab FLEET: three nginx reverse proxies (p1 p2 p3) on loopback in front of the lab's upstreams.

    python -m tests.lab fleet start --dir D     # D/inventory.yml, D/fleet.json; D/upstreams is the lab
    python -m tests.lab fleet stop  --dir D

Each proxy is its own nginx (prefix D/pN, config D/pN/nginx.conf, error log D/pN/logs/error.log,
TLS listener on 127.0.0.1) with three locations toward three lab upstreams.  The planted faults
(``FAULTS`` below, copied into fleet.json) need several proxies to be told apart:

* ``legacy_backend`` (the lab's plain_http upstream) fails from every proxy: the upstream's fault;
* p2 lacks ``proxy_ssl_server_name on`` toward ``search_backend`` (sni_required), which works from p1;
* p3's clock is 3 days behind: its nginx and every module Ansible runs there run with libfaketime
  preloaded (``FAKETIME=-3d``; D/p3/bin/python is its interpreter), so the upstreams' valid certificates
  look not yet valid from p3 only.  An SNTP server on loopback (tests/integration/ntp_lab.py, real
  time) lets time_sync_info measure the offset.  The machine's clock is never touched;
* p1 serves its own certificate without the intermediate;
* p2's error log holds client-side noise made by real bad clients (tests/lab/noise.py).

Before the inventory is written, one GET per proxy and location makes every proxy log what
nginx itself meets, and the bad clients visit p2.
"""

from __future__ import annotations

import glob
import json
import os
import re
import signal
import sys
import time

from .lab import REPO_ROOT, Lab, LabError, ProcessDir, free_ports, lab_processes, ports_held_by, process_group as _pgid
from .nginx import NGINX_BIN
from .noise import client_noise, requests_through
from .pki import LabPKI

START_TIMEOUT = 10.0
# p3's processes get libfaketime by LD_PRELOAD, not through the `faketime` wrapper: the wrapper makes a
# POSIX semaphore and a shared-memory object named after its own pid and cannot remove them when it is
# killed (the fleet's stop), so a later wrapper that gets the same pid fails with "sem_open: File exists"
# (seen: a module run on p3 failing once in ten diagnoses after a few hundred lab runs).
LIBFAKETIME_PATHS = ("/usr/lib/*/faketime/libfaketime.so.1", "/usr/lib/faketime/libfaketime.so.1",
                     "/usr/local/lib/faketime/libfaketime.so.1")
# libfaketime itself still makes a semaphore and a shared-memory object per process that starts a preloaded chain
# (named after its pid, shared by its children), and removes them only when that process exits normally: every
# preloaded process the fleet's stop or a test kills leaves two entries in /dev/shm.  stop() removes those.
SHM_DIR = "/dev/shm"
FAKETIME_SHM_NAME = re.compile(r"^(?:faketime_shm_|sem\.faketime_sem_)(\d+)$")
SKEW_LAUNCHER = "env"               # starts p3's nginx with the preload (a test of a failed start uses `false`)
SKEW = "-3d"                        # libfaketime's offset: p3's clock is 3 days behind
SKEW_SECONDS = -3 * 86400

# (upstream block, location, lab scenario)
UPSTREAMS = (
    ("app_backend", "/app/", "healthy"),
    ("legacy_backend", "/legacy/", "plain_http"),
    ("search_backend", "/search/", "sni_required"),
)

PROXIES = (
    {"name": "p1", "served_chain": "leaf", "sni": True, "skew": None, "noise": False,
     "about": "the reference configuration; serves its own certificate without the intermediate"},
    {"name": "p2", "served_chain": "int", "sni": False, "skew": None, "noise": True,
     "about": "no proxy_ssl_server_name on (nginx's default is off); bad clients in its error log"},
    {"name": "p3", "served_chain": "int", "sni": True, "skew": SKEW, "noise": False,
     "about": "like p1 with the full chain, but its clock is 3 days behind (libfaketime)"},
)

# What a diagnosis must find, and from where (the integration test and the report engine's tests
# read this from fleet.json).  "pairs": (proxy, upstream block) -> cause tls_probe must name.
FAULTS = (
    {"fault": "upstream_plain_http", "side": "upstream", "owner": "legacy_backend", "cause": "plain_http",
     "hosts": ["p1", "p2", "p3"], "upstream": "legacy_backend",
     "why": "the upstream port speaks plain HTTP: it fails from every proxy that uses it"},
    {"fault": "sni_off", "side": "proxy", "owner": "p2", "cause": "sni_required", "hosts": ["p2"],
     "upstream": "search_backend",
     "why": "p2 has no proxy_ssl_server_name on; the same upstream works from p1, which sends SNI"},
    {"fault": "clock_skew", "side": "proxy", "owner": "p3", "cause": "clock_skew", "hosts": ["p3"],
     "upstream": ["app_backend", "search_backend"], "offset_ms": -SKEW_SECONDS * 1000,
     "why": "p3's clock is 3 days behind: valid certificates look not yet valid from p3 only"},
    {"fault": "served_chain_incomplete", "side": "proxy", "owner": "p1", "cause": "cert_chain_incomplete",
     "hosts": ["p1"], "upstream": None,
     "why": "p1's ssl_certificate holds the leaf without the intermediate"},
    {"fault": "client_noise", "side": "client", "owner": "p2", "cause": None, "hosts": ["p2"], "upstream": None,
     "why": "bad clients (plain HTTP, TLS 1.0, no shared cipher, scanners) in p2's error log"},
)


def expected_pairs():
    """{(proxy, upstream block): cause} for every pair of the fleet: the faults above, else ok."""
    pairs = {(p["name"], u[0]): "ok" for p in PROXIES for u in UPSTREAMS}
    for (proxy, upstream) in pairs:
        if upstream == "legacy_backend":
            pairs[proxy, upstream] = "plain_http"
        elif proxy == "p3":
            pairs[proxy, upstream] = "clock_skew"
        elif proxy == "p2" and upstream == "search_backend":
            pairs[proxy, upstream] = "sni_required"
    return pairs


_NGINX_CONF = """\
# {name}: a proxy of the tlsops lab fleet ({about}).
# Written by `python -m tests.lab fleet start`; started as `nginx -p {dir} -c {dir}/nginx.conf`{skew_note}.
{user}worker_processes 1;
daemon off;
master_process on;
pid {dir}/nginx.pid;
# info: nginx logs the handshake failures of its clients at info level
error_log {dir}/logs/error.log info;

events {{
    worker_connections 256;
}}

http {{
    access_log {dir}/logs/access.log;
    client_body_temp_path {dir}/tmp/body;
    proxy_temp_path {dir}/tmp/proxy;
    fastcgi_temp_path {dir}/tmp/fastcgi;
    uwsgi_temp_path {dir}/tmp/uwsgi;
    scgi_temp_path {dir}/tmp/scgi;
    default_type text/plain;
    server_tokens off;

{upstreams}

    server {{
        listen 127.0.0.1:{port} ssl;
        server_name {name}.fleet.lab.test;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        ssl_protocols TLSv1.2 TLSv1.3;

        # every upstream is verified against the lab's root
        proxy_ssl_verify on;
        proxy_ssl_trusted_certificate {ca_file};
        proxy_ssl_verify_depth 2;
        proxy_ssl_protocols TLSv1.2 TLSv1.3;
        proxy_ssl_session_reuse off;
{sni}        proxy_connect_timeout 3s;
        proxy_read_timeout 3s;
        proxy_send_timeout 3s;

        location = / {{
            return 200 "{name}\\n";
        }}
{locations}
    }}
}}
"""

_INVENTORY_HEAD = """\
# The tlsops lab fleet: three nginx reverse proxies on 127.0.0.1, written by
#   python -m tests.lab fleet start --dir {dir}
# Diagnose them all:
#   ansible-playbook -i {dir}/inventory.yml tlsops.handshake.diagnose
#
# Host variables read by playbooks/diagnose.yml:
#   tlsops_nginx_path     the nginx binary of this host (default: nginx_tls_info's search)
#   tlsops_nginx_config   its main configuration file (default: nginx's compiled-in conf path)
#   tlsops_nginx_prefix   its prefix (-p), the base of relative paths in the configuration
#   tlsops_chain_ca_file  trust anchors that judge the certificates this host serves
#                         (default: the host's system store; here the fleet's own root)
# Group variables (playbook settings):
#   diagnose_ntp_servers          the NTP servers time_sync_info asks: the lab's, on loopback, real time
#   diagnose_time_sync_options    more time_sync_info options (quick sampling: it is all loopback)
#
"""


def remove_faketime_leftovers(since, shm_dir=SHM_DIR):
    """Unlink libfaketime's semaphores and shared-memory objects made since ``since`` (epoch seconds) whose
    process is gone (see SHM_DIR); the names removed.  A child still attached keeps its mapping."""
    removed = []
    try:
        names = os.listdir(shm_dir)
    except OSError:
        return removed
    for name in names:
        found = FAKETIME_SHM_NAME.match(name)
        path = os.path.join(shm_dir, name)
        try:
            if not found or os.stat(path).st_mtime < since or _alive(int(found.group(1))):
                continue
            os.unlink(path)
            removed.append(name)
        except OSError:
            pass
    return removed


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def libfaketime():
    """The path of libfaketime.so.1 (LAB_LIBFAKETIME, else the first of LIBFAKETIME_PATHS), or None."""
    named = os.environ.get("LAB_LIBFAKETIME")
    if named:
        return named if os.path.isfile(named) else None
    for pattern in LIBFAKETIME_PATHS:
        found = sorted(glob.glob(pattern))
        if found:
            return found[0]
    return None


class Fleet(ProcessDir):
    """``Fleet(workdir).start()`` ... ``.stop()``; ``Fleet.load(workdir)`` for one started elsewhere."""

    STATE_FILE = "fleet.json"

    def __init__(self, workdir):
        super(Fleet, self).__init__(workdir)
        self.lab = Lab(self.path("upstreams"))

    @property
    def inventory(self):
        return self.path("inventory.yml")

    @classmethod
    def load(cls, workdir):
        fleet = cls(workdir)
        with open(fleet.info_file) as handle:
            fleet.info = json.load(handle)
        fleet._pids = dict(fleet.info.get("pids", {}))
        if os.path.exists(fleet.lab.info_file):
            fleet.lab = Lab.load(fleet.lab.dir)
        return fleet

    def start(self):
        if os.path.exists(self.info_file):
            old = Fleet.load(self.dir)
            if lab_processes(self.dir, set(old._pids.values())):
                raise LabError("a fleet is already running in %s (stop it first)" % self.dir)
        faketime = libfaketime()
        if faketime is None:
            raise LabError("the fleet needs libfaketime for p3's clock (none of %s): apt-get install faketime "
                           "(make deps and make demo install it), or name it in LAB_LIBFAKETIME"
                           % ", ".join(LIBFAKETIME_PATHS))
        os.makedirs(self.dir, exist_ok=True)
        try:
            self._start(faketime)
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self, faketime):
        t0 = time.monotonic()
        self.info = {"dir": self.dir, "inventory": self.inventory, "proxies": {}, "faults": list(FAULTS),
                     "upstreams": {}, "skew": SKEW, "skew_seconds": SKEW_SECONDS, "started_at": time.time()}
        self._save("starting")
        self.lab.start()
        ca_file = self.lab.info["ca_file"]
        for block, location, scenario in UPSTREAMS:
            sc = self.lab.scenarios[scenario]
            self.info["upstreams"][block] = {"scenario": scenario, "location": location, "host": sc["host"],
                                             "port": sc["port"], "server_name": sc["server_name"],
                                             "expected_cause_alone": sc["expected_cause"]}
        pki = LabPKI(self.path("pki"))
        ports = free_ports(len(PROXIES))
        for spec, port in zip(PROXIES, ports):
            self.info["proxies"][spec["name"]] = self._write_proxy(spec, port, pki, ca_file, faketime)
        self._spawn("ntp", [sys.executable, "-m", "tests.integration.ntp_lab", "serve", "0", "0",
                            self.path("ntp.ready")], cwd=REPO_ROOT)
        for name, proxy in self.info["proxies"].items():
            self._spawn(name, proxy["command"], env=proxy.get("env"))
        for name, proxy in self.info["proxies"].items():
            self._wait_ready(name, lambda p=proxy, n=name: p["port"] in ports_held_by(self._group(n)),
                             proxy["error_log"])
        self._wait_ready("ntp", lambda: os.path.exists(self.path("ntp.ready")))
        with open(self.path("ntp.ready")) as handle:
            self.info["ntp_server"] = "127.0.0.1:%d" % int(handle.read().strip())
        self._save("starting")

        requests = [(p["port"], u[1], p["server_name"]) for p in self.info["proxies"].values() for u in UPSTREAMS]
        statuses = requests_through(requests)
        self.info["traffic"] = [{"proxy": r[2].split(".")[0], "path": r[1], "status": s}
                                for r, s in zip(requests, statuses)]
        self.info["noise"] = {name: client_noise(p["port"]) for name, p in self.info["proxies"].items()
                              if p["noise"]}
        self.info["expected_pairs"] = ["%s %s %s" % (p, u, c) for (p, u), c in sorted(expected_pairs().items())]
        self._write_inventory()
        self.info["start_seconds"] = round(time.monotonic() - t0, 2)
        self._save("running")

    def _write_proxy(self, spec, port, pki, ca_file, faketime):
        name = spec["name"]
        pdir = self.path(name)
        for sub in ("logs", "tmp", "bin"):
            os.makedirs(os.path.join(pdir, sub), exist_ok=True)
        cert, key = pki.leaf(name, [name + ".fleet.lab.test"], chain=spec["served_chain"])
        upstreams, locations = [], []
        for block, location, scenario in UPSTREAMS:
            sc = self.lab.scenarios[scenario]
            upstreams.append("    # lab scenario %s: %s\n    upstream %s {\n        server 127.0.0.1:%d;\n    }"
                             % (scenario, sc["description"], block, sc["port"]))
            locations.append("        location %s {\n            proxy_pass https://%s/;\n"
                             "            proxy_ssl_name %s;\n            proxy_set_header Host %s;\n        }"
                             % (location, block, sc["server_name"], sc["server_name"]))
        skew_note = ""
        command = [NGINX_BIN, "-p", pdir, "-c", os.path.join(pdir, "nginx.conf")]
        env = None
        interpreter = sys.executable
        if spec["skew"]:
            skew_note = " with libfaketime, FAKETIME=%s (its clock is off)" % spec["skew"]
            command = [SKEW_LAUNCHER, "LD_PRELOAD=" + faketime, "FAKETIME=" + spec["skew"]] + command
            env = {"FAKETIME_DONT_FAKE_MONOTONIC": "1"}
            interpreter = self._faketime_python(pdir, faketime, spec["skew"])
        text = _NGINX_CONF.format(
            name=name, about=spec["about"], dir=pdir, skew_note=skew_note, port=port, cert=cert, key=key,
            ca_file=ca_file, user="user root;\n" if os.geteuid() == 0 else "",
            upstreams="\n".join(upstreams), locations="\n".join(locations),
            sni="        proxy_ssl_server_name on;\n" if spec["sni"] else "")
        config = os.path.join(pdir, "nginx.conf")
        with open(config, "w") as handle:
            handle.write(text)
        return {"port": port, "server_name": name + ".fleet.lab.test", "prefix": pdir, "config": config,
                "nginx": NGINX_BIN, "error_log": os.path.join(pdir, "logs", "error.log"), "certificate": cert,
                "served_chain": spec["served_chain"], "sni": spec["sni"], "skew": spec["skew"],
                "noise": spec["noise"], "about": spec["about"], "interpreter": interpreter,
                "command": command, "env": env}

    @staticmethod
    def _faketime_python(pdir, faketime, skew):
        """The Python Ansible runs modules with on a skewed host: this one, under libfaketime."""
        path = os.path.join(pdir, "bin", "python")
        with open(path, "w") as handle:
            handle.write("#!/bin/sh\n"
                         "# This host's clock is off by %s: every module Ansible runs here sees that time\n"
                         "# (libfaketime, this process tree only; the machine's clock is not touched).\n"
                         "# The monotonic clock is faked too: with FAKETIME_DONT_FAKE_MONOTONIC=1, libfaketime\n"
                         "# 0.9.10 makes Python's time.sleep() fail with EINVAL.\n"
                         "LD_PRELOAD='%s' FAKETIME='%s'\n"
                         "export LD_PRELOAD FAKETIME\n"
                         "exec %s \"$@\"\n" % (skew, faketime, skew, sys.executable))
        os.chmod(path, 0o755)
        return path

    def _write_inventory(self):
        lines = [_INVENTORY_HEAD.format(dir=self.dir), "proxies:", "  vars:",
                 "    ansible_connection: local",
                 "    ansible_python_interpreter: %s" % sys.executable,
                 "    tlsops_chain_ca_file: %s" % self.path("pki", "lab-root.pem"),
                 "    diagnose_ntp_servers:",
                 "      - %s" % self.info["ntp_server"],
                 "    diagnose_time_sync_options:",
                 "      samples: 2",
                 "      sample_interval: 0.2",
                 "  hosts:"]
        for name, proxy in self.info["proxies"].items():
            lines += ["    # %s" % proxy["about"], "    %s:" % name]
            if proxy["skew"]:
                lines.append("      # modules run with libfaketime, FAKETIME=%s (see the script)" % proxy["skew"])
                lines.append("      ansible_python_interpreter: %s" % proxy["interpreter"])
            lines += ["      tlsops_nginx_path: %s" % proxy["nginx"],
                      "      tlsops_nginx_config: %s" % proxy["config"],
                      "      tlsops_nginx_prefix: %s" % proxy["prefix"]]
        with open(self.inventory, "w") as handle:
            handle.write("\n".join(lines) + "\n")

    def _group(self, component):
        """Pids of the process group of ``component`` (nginx's master and workers)."""
        pgid = self._pids[component]
        return [pid for pid in lab_processes(self.dir, {pgid}) if _pgid(pid) == pgid]

    def _wait_ready(self, component, ready, *logs):
        proc = self._procs[component]
        deadline = time.monotonic() + START_TIMEOUT
        while not ready():
            if proc.poll() is not None or time.monotonic() > deadline:
                why = "exited with %s" % proc.returncode if proc.returncode is not None else "timed out"
                tails = []
                for log in (self.path("logs", component + ".log"),) + logs:
                    try:
                        with open(log, errors="replace") as handle:
                            tails.append("--- %s\n%s" % (log, "".join(handle.readlines()[-20:])))
                    except OSError:
                        tails.append("--- %s (none)" % log)
                raise LabError("fleet component %s failed to come up (%s):\n%s" % (component, why, "\n".join(tails)))
            time.sleep(0.02)

    # ----------------------------------------------------------------- stop / status
    def stop(self):
        """Stop every process of the fleet and its lab (idempotent); AssertionError if one survives."""
        if not self._pids and os.path.exists(self.info_file):
            with open(self.info_file) as handle:
                self._pids = dict(json.load(handle).get("pids", {}))
        groups = set(self._pids.values())
        for sig, wait in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 3.0)):
            alive = {pid for pid in lab_processes(self.dir, groups) if _pgid(pid) in groups}
            if not alive:
                break
            for pgid in groups & {_pgid(pid) for pid in alive}:
                try:
                    os.killpg(pgid, sig)
                except (ProcessLookupError, PermissionError):
                    pass
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline:
                for proc in self._procs.values():
                    proc.poll()
                if not any(_pgid(pid) in groups for pid in lab_processes(self.dir, groups)):
                    break
                time.sleep(0.02)
        for proc in self._procs.values():
            proc.poll()
        try:
            if os.path.exists(self.lab.info_file):
                self.lab.stop()
        finally:
            left = {pid: cmd for pid, cmd in lab_processes(self.dir, groups).items() if _pgid(pid) in groups}
            if self.info or os.path.exists(self.info_file):
                self._pids = {}
                if not self.info:
                    with open(self.info_file) as handle:
                        self.info = json.load(handle)
                self._save("stopped")
            if self.info.get("started_at"):
                remove_faketime_leftovers(self.info["started_at"])
        assert not left, "fleet processes left after stop(): %r" % left

    def status(self):
        """{component: alive} for the fleet's own processes, and the lab's (components, ports)."""
        live = lab_processes(self.dir, set(self._pids.values()))
        pgids = {_pgid(pid) for pid in live}
        return {c: pid in pgids for c, pid in self._pids.items()}, self.lab.status()

    def table(self):
        rows = ["%-4s %-6s %-28s %s" % ("host", "port", "nginx config", "planted")]
        for name, p in self.info["proxies"].items():
            rows.append("%-4s %-6s %-28s %s" % (name, p["port"], os.path.relpath(p["config"], self.dir), p["about"]))
        rows.append("upstreams: " + ", ".join("%s -> %s (127.0.0.1:%d)" % (b, u["scenario"], u["port"])
                                              for b, u in self.info["upstreams"].items()))
        rows.append("ntp server (real time): %s" % self.info.get("ntp_server"))
        return "\n".join(rows)
