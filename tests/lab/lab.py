# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Start and stop the lab: one nginx master, a few ``openssl s_server``, one Python fault process.

Everything listens on 127.0.0.1 only.  Every process is started in its own
session (process group == its pid); stop() signals whole groups, waits, and
asserts that no lab process is left.  The work directory is kept (logs, PKI,
lab.json) so a failing test can be read afterwards.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time

from . import nginx, scenarios
from .pki import LabPKI

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OPENSSL_BIN = os.environ.get("LAB_OPENSSL", "openssl")
START_TIMEOUT = 10.0


class LabError(RuntimeError):
    pass


def _tail(path, lines=25):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-lines:])
    except OSError:
        return "(no log at %s)" % path


def listening_ports():
    """Local TCP ports in LISTEN state on 127.0.0.1 or any address (from /proc/net/tcp)."""
    ports = set()
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            addr, port = local.split(":")
            if state == "0A" and addr in ("0100007F", "00000000"):
                ports.add(int(port, 16))
    return ports


def ports_held_by(pids):
    """Ports in LISTEN state whose socket is open in one of ``pids`` (not merely listening)."""
    inodes = {}
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            fields = line.split()
            if fields[3] == "0A":
                inodes[fields[9]] = int(fields[1].split(":")[1], 16)
    held = set()
    for pid in pids:
        try:
            fds = os.listdir("/proc/%d/fd" % pid)
        except OSError:
            continue
        for fd in fds:
            try:
                target = os.readlink("/proc/%d/fd/%s" % (pid, fd))
            except OSError:
                continue
            if target.startswith("socket:[") and target[8:-1] in inodes:
                held.add(inodes[target[8:-1]])
    return held


def free_ports(count):
    """``count`` distinct free ports on 127.0.0.1 (bound together, then released)."""
    socks = []
    try:
        for _port in range(count):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _proc_table():
    """{pid: (pgid, state, cmdline)} for every process we can see."""
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as f:
                stat = f.read()
            with open("/proc/%s/cmdline" % entry, "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        table[int(entry)] = (int(fields[2]), fields[0], cmd)
    return table


def _is_lab_program(cmd, workdir):
    return workdir + "/" in cmd and ("serve-faults" in cmd or cmd.startswith("nginx:") or "s_server" in cmd
                                     or "ntp_lab serve" in cmd or cmd.startswith(nginx.NGINX_BIN))


def lab_processes(workdir, pgids=()):
    """Live (non-zombie) processes of the lab in workdir: a lab program (nginx, s_server,
    serve-faults, the fleet's NTP server) whose command line names workdir, and the other members of its process
    group (nginx workers).  A recorded group counts only while such a program is in it, or
    when only nginx workers are left in it: a recycled pid is never taken for the lab."""
    me = os.getpid()
    table = {pid: row for pid, row in _proc_table().items() if pid != me and row[1] not in ("Z", "X")}
    groups = {}
    for pid, (pgid, _state, cmd) in table.items():
        groups.setdefault(pgid, []).append((pid, cmd))
    found = {}
    for pgid, members in groups.items():
        named = [p for p, cmd in members if _is_lab_program(cmd, workdir)]
        orphaned_nginx = pgid in pgids and all(cmd.startswith(("nginx: worker", "nginx: cache"))
                                               for _pid, cmd in members)
        if named and pgid in pgids or orphaned_nginx:
            found.update(members)
        else:
            found.update((p, cmd) for p, cmd in members if p in named)
    return found


def process_group(pid):
    """The process group of ``pid``, or None when it is gone."""
    try:
        return os.getpgid(pid)
    except OSError:
        return None


class ProcessDir(object):
    """A directory holding processes this run started, each in its own session, and a JSON state file
    (``STATE_FILE``: state, pids by component) so another process (the CLI) can stop them."""

    STATE_FILE = "state.json"

    def __init__(self, workdir):
        self.dir = os.path.abspath(workdir)
        self.info = {}
        self._procs = {}          # component -> Popen (only in the process that started them)
        self._pids = {}           # component -> pid (== pgid)

    def path(self, *parts):
        return os.path.join(self.dir, *parts)

    @property
    def info_file(self):
        return self.path(self.STATE_FILE)

    def _save(self, state):
        self.info["state"] = state
        self.info["pids"] = dict(self._pids)
        tmp = self.info_file + ".tmp"
        with open(tmp, "w") as f:
            json.dump(self.info, f, indent=2, sort_keys=True)
        os.replace(tmp, self.info_file)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def start(self):
        raise NotImplementedError

    def stop(self):
        raise NotImplementedError

    def _spawn(self, component, cmd, cwd=None, env=None):
        os.makedirs(self.path("logs"), exist_ok=True)
        log = open(self.path("logs", component + ".log"), "ab")
        try:
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                    cwd=cwd or self.dir, start_new_session=True,
                                    env=dict(os.environ, **env) if env else None)
        finally:
            log.close()
        self._procs[component] = proc
        self._pids[component] = proc.pid
        self._save("starting")


class Lab(ProcessDir):
    """The lab of broken upstreams.  ``Lab(workdir, base_port=None).start()``; see README in __init__."""

    STATE_FILE = "lab.json"

    def __init__(self, workdir, base_port=None):
        super(Lab, self).__init__(workdir)
        self.base_port = base_port
        self.scenarios = {}

    @classmethod
    def load(cls, workdir):
        """A Lab handle for a lab started elsewhere (e.g. by the CLI), from its lab.json."""
        lab = cls(workdir)
        with open(lab.info_file) as f:
            lab.info = json.load(f)
        lab.scenarios = lab.info.get("scenarios", {})
        lab._pids = dict(lab.info.get("pids", {}))
        return lab

    def start(self):
        if os.path.exists(self.info_file):
            old = Lab.load(self.dir)
            if lab_processes(self.dir, set(old._pids.values())):
                raise LabError("a lab is already running in %s (stop it first)" % self.dir)
        os.makedirs(self.path("logs"), exist_ok=True)
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _ports(self):
        count = sum(1 for s in scenarios.SPECS if scenarios.needs_port(s)) + 1   # + the proxy
        if not self.base_port:
            return free_ports(count)
        ports = [self.base_port + i for i in range(count)]
        busy = sorted(set(ports) & listening_ports())
        if busy:
            raise LabError("ports already in use: %s (base port %d needs %d free ports)"
                           % (" ".join(map(str, busy)), self.base_port, count))
        return ports

    def _start(self):
        t0 = time.monotonic()
        pki = LabPKI(self.path("pki"))
        common = {"ca_file": pki.root_file, "dh1024": pki.dhparams(), "dir": self.dir}
        ports = iter(self._ports())
        port_of = {}
        for spec in scenarios.SPECS:
            if scenarios.needs_port(spec):
                port_of[spec["name"]] = next(ports)
        self.info = {
            "dir": self.dir,
            "ca_file": pki.root_file,
            "client_cert": pki.client_cert,
            "client_key": pki.client_key,
            "other_root_file": pki.other_root_file,
            "intermediate_file": pki.int_file,
            "nginx_error_log": self.path("logs", "nginx-error.log"),
            "logs": self.path("logs"),
            "probe_defaults": dict(scenarios.PROBE_DEFAULTS, ca_file=pki.root_file),
            "scenarios": {},
        }
        blocks, s_servers, faults = [], [], []
        for spec in scenarios.SPECS:
            name = spec["name"]
            port = port_of.get(name) or port_of.get(spec.get("port_of"), 443)
            files = dict(common)
            if "cert" in spec:
                c = spec["cert"]
                files["cert_file"], files["key_file"] = pki.leaf(
                    name, c.get("sans", [spec["server_name"]]), chain=c.get("chain", "int"),
                    key=c.get("key", "rsa"), days_valid=c.get("days", (-1, 90)))
            if spec["backend"] == scenarios.NGINX and name in port_of:
                blocks.append(nginx.server_blocks(spec, port, files))
            elif spec["backend"] == scenarios.S_SERVER:
                s_servers.append((name, port, self._s_server_cmd(spec, port, files, pki)))
            elif spec["backend"] == scenarios.PYTHON and name in port_of:  # port_of: another's peer
                fault = {"name": name, "kind": spec["fault"], "port": port}
                if "target" in spec:
                    fault["target_port"] = port_of[spec["target"]]
                if "alert" in spec:
                    fault["alert"] = spec["alert"]
                if "cert" in spec:  # a peer that finishes the handshake serves the lab's chain
                    fault.update(cert_file=files["cert_file"], key_file=files["key_file"])
                faults.append(fault)
            self.scenarios[name] = scenarios.public(spec, port, files)
        proxy_port = next(ports)
        self.info["proxy"] = {
            "port": proxy_port, "url": "http://127.0.0.1:%d/" % proxy_port,
            "error_log": self.path("logs", "proxy-error.log"),
            "description": "nginx reverse proxy in front of every scenario, configured like its probe: "
                           "GET /<scenario> makes nginx log the upstream error it gets"}
        blocks.append(nginx.proxy_server(proxy_port, self.scenarios, pki.root_file,
                                         self.info["proxy"]["error_log"]))
        for name, sc in self.scenarios.items():
            if sc["host"] == "127.0.0.1":
                sc["proxy_path"] = "/" + name
        self.info["scenarios"] = self.scenarios
        self._save("starting")

        nginx_ports = {s["port"] for n, s in self.scenarios.items()
                       if s["backend"] == scenarios.NGINX and n in port_of} | {proxy_port}
        nginx.write_config(self.dir, blocks, self.info["nginx_error_log"])
        self._spawn("nginx", nginx.command(self.dir))
        for name, port, cmd in s_servers:
            self._spawn("s_server_" + name, cmd)
        faults_file = self.path("faults.json")
        ready = self.path("faults.ready")
        if os.path.exists(ready):
            os.unlink(ready)
        with open(faults_file, "w") as f:
            json.dump({"ready_file": ready, "faults": faults}, f, indent=2)
        self._spawn("faults", [sys.executable, "-m", "tests.lab", "serve-faults", faults_file],
                    cwd=REPO_ROOT)

        # a port counts only when the component's own process holds it: another lab or
        # program listening there must not make a failing nginx look ready
        self._wait_ready("nginx", lambda: nginx_ports <= ports_held_by([self._pids["nginx"]]))
        for name, port, _cmd in s_servers:
            pid = self._pids["s_server_" + name]
            self._wait_ready("s_server_" + name, lambda p=port, pid=pid: p in ports_held_by([pid]))
        self._wait_ready("faults", lambda: os.path.exists(ready))
        self.info["start_seconds"] = round(time.monotonic() - t0, 2)
        self._save("running")

    def _s_server_cmd(self, spec, port, files, pki):
        args = [a.format(**files) for a in spec.get("args", [])]
        return [OPENSSL_BIN, "s_server", "-accept", "127.0.0.1:%d" % port, "-www",
                "-cert", files["cert_file"], "-key", files["key_file"],
                "-cert_chain", pki.int_file] + args

    def _wait_ready(self, component, ready):
        proc = self._procs[component]
        deadline = time.monotonic() + START_TIMEOUT
        while not ready():
            if proc.poll() is not None or time.monotonic() > deadline:
                logs = [self.path("logs", component + ".log")]
                if component == "nginx":
                    logs.append(self.info["nginx_error_log"])
                why = "exited with %s" % proc.returncode if proc.returncode is not None else "timed out"
                raise LabError("lab component %s failed to come up (%s):\n%s" % (
                    component, why, "\n".join("--- %s\n%s" % (p, _tail(p)) for p in logs)))
            time.sleep(0.02)

    # ----------------------------------------------------------------- stop / status
    def stop(self):
        """Stop every lab process (idempotent); raise AssertionError if one survives."""
        if not self._pids and os.path.exists(self.info_file):
            with open(self.info_file) as f:
                self._pids = dict(json.load(f).get("pids", {}))
        groups = set(self._pids.values())
        for sig, wait in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 3.0)):
            alive = lab_processes(self.dir, groups)
            if not alive:
                break
            for pgid in groups & {self._pgid(pid) for pid in alive}:   # only groups still ours
                self._signal_group(pgid, sig)
            for pid in alive:
                self._signal(pid, sig)
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline:
                self._reap()
                if not lab_processes(self.dir, groups):
                    break
                time.sleep(0.02)
        self._reap()
        left = lab_processes(self.dir, groups)
        if self.info or os.path.exists(self.info_file):
            self._pids = {}
            if self.info:
                self._save("stopped")
        assert not left, "lab processes left after stop(): %r" % left

    _pgid = staticmethod(process_group)

    @staticmethod
    def _signal_group(pgid, sig):
        try:
            os.killpg(pgid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    @staticmethod
    def _signal(pid, sig):
        try:
            os.kill(pid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    def _reap(self):
        for proc in self._procs.values():
            proc.poll()

    def status(self):
        """{component: alive} and {scenario: listening} for a lab started in this workdir."""
        live = lab_processes(self.dir, set(self._pids.values()))
        listening = listening_ports()
        components = {c: pid in live for c, pid in self._pids.items()}
        ports = {n: (s["port"] in listening) for n, s in self.scenarios.items()
                 if s["host"] == "127.0.0.1" and s["backend"] != scenarios.NONE}
        return components, ports

    def table(self):
        rows = ["%-22s %-22s %5s  %-8s %s" % ("scenario", "expected_cause", "port", "backend", "server_name")]
        for name, s in self.scenarios.items():
            rows.append("%-22s %-22s %5s  %-8s %s" % (name, s["expected_cause"], s["port"], s["backend"],
                                                      s["server_name"]))
        return "\n".join(rows)
