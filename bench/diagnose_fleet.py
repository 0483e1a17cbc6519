# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fleet diagnosis cost: wall time of playbooks/diagnose.yml against hosts and upstreams per host.

    bash bench/run.sh diagnose_fleet [-- --quick] [-- --runs 2 --json FILE --keep]
    .venv/bin/python -m bench.diagnose_fleet [--quick] [--hosts 1,3,6] [--upstreams 10,100,1000]

Every cell of hosts x upstreams-per-host is one real ``ansible-playbook tlsops.handshake.diagnose`` run
against an inventory of proxies that all live on this machine (``ansible_connection: local``), each
with its own nginx prefix, configuration, error log and upstream blocks.  nginx_tls_info runs
``nginx -T`` on each host's configuration, so the proxies need not be running; the upstreams do: ONE
nginx of the bench listens on as many loopback ports as the largest cell has upstreams per host, TLS
on most of them, plain HTTP on every tenth (so a report holds two causes, ``ok`` and ``plain_http``).
Every host of a cell proxies to the same ports, through upstream blocks of its own.  An SNTP server on
loopback (tests/integration/ntp_lab.py) answers time_sync_info.

Correctness: after each run the report (report.json) must list exactly one pair per (host, upstream
block) with the expected cause, and nothing else; the benchmark FAILS otherwise.  A small callback
plugin records each task's wall time, so the table can say where the time goes (the probe, the
templating, the report).

Printed: one row per cell (wall time, median of ``--runs``, and the three biggest tasks), then the
growth ratios time(max upstreams)/time(min upstreams) per host count and time(max hosts)/time(1 host)
per upstream count.  No peer: the figure is the shape of the growth, see docs/benchmarks.md.  Beside
each cell, ``probe*``: the same pairs probed by tls_probe's engine alone (each host's targets as
nginx_tls_info gave them, one Python per host, ``--forks`` at a time), the handshakes any diagnosis
must make; ``rest`` is the wall time less that, what the playbook costs around them.  The upstream
nginx answers on the same cores, so on this machine the handshakes of six hosts queue behind each
other, which they do not on a fleet of separate machines.

Network: like bench/enumerate_scan.py, the run moves into a private loopback-only network namespace
when it may (``--netns auto``, as root).  Bounds: each playbook run has ``--run-timeout``, the whole
benchmark ``--max-seconds``; the upstream nginx and the SNTP server are stopped at the end, also on
error, SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import time

from bench.enumerate_scan import BenchError, add_session_options, check_ranges, session

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(REPO_ROOT, "build")
VENV_BIN = os.path.join(REPO_ROOT, ".venv", "bin")
PLAYBOOK = "tlsops.handshake.diagnose"
SERVER_NAME = "upstream.bench.test"
PLAIN_EVERY = 10                # upstream i is plain HTTP when i % PLAIN_EVERY == PLAIN_EVERY - 1
FULL = {"hosts": (1, 3, 6), "upstreams": (10, 100, 1000)}
QUICK = {"hosts": (1, 3), "upstreams": (10, 100)}
READY_TIMEOUT = 20.0

# events and the start of http, with every temporary path in the prefix: both configurations below
_HTTP_HEAD = """\
events {{
    worker_connections {connections};
}}
http {{
    access_log off;
    client_body_temp_path {dir}/tmp;
    proxy_temp_path {dir}/tmp;
    fastcgi_temp_path {dir}/tmp;
    uwsgi_temp_path {dir}/tmp;
    scgi_temp_path {dir}/tmp;"""

_UPSTREAM_CONF = """\
# the bench's upstream servers: TLS on {tls_count} ports, plain HTTP on {plain_count}
{user}worker_processes 1;
daemon off;
master_process on;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
{http_head}
    server {{
{tls_listen}
        server_name {server_name};
        ssl_certificate {cert};
        ssl_certificate_key {key};
        return 200 "ok\\n";
    }}
    server {{
{plain_listen}
        return 200 "plain\\n";
    }}
}}
"""

_PROXY_CONF = """\
# bench proxy {name}: {count} upstreams (written by bench/diagnose_fleet.py; never started: nginx -T reads it)
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/logs/error.log info;
{http_head}
{upstreams}
    server {{
        listen 127.0.0.1:{port} ssl;
        server_name {name}.bench.test;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        proxy_ssl_verify on;
        proxy_ssl_trusted_certificate {ca_file};
        proxy_ssl_server_name on;
        proxy_ssl_name {server_name};
        proxy_connect_timeout 3s;
{locations}
    }}
}}
"""

# Records each task's wall time (seconds, summed over hosts' results as the play sees them: from the
# task's start to its last result) into $BENCH_TASK_TIMES.
_CALLBACK = '''\
from __future__ import annotations

import json
import os
import time

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "bench_task_times"
    CALLBACK_NEEDS_ENABLED = False

    def __init__(self):
        super().__init__()
        self.times = []
        self.current = None

    def _close(self):
        if self.current is not None:
            self.times.append([self.current[0], round(time.monotonic() - self.current[1], 3)])
            self.current = None

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._close()
        self.current = (task.get_name(), time.monotonic())

    def v2_playbook_on_stats(self, stats):
        self._close()
        with open(os.environ["BENCH_TASK_TIMES"], "w") as handle:
            json.dump(self.times, handle)
'''


# --profile: ansible-playbook with cProfile in its main process AND in each forked worker (where a task's
# arguments are templated and an action plugin such as diagnose_report runs), one .prof file per process.
_PROFILED_PLAYBOOK = '''\
import cProfile
import os
import sys

from ansible.executor.process import worker

OUT = os.environ["BENCH_PROFILE_DIR"]
_worker_run = worker.WorkerProcess._run


def _profiled_worker_run(self):
    profile = cProfile.Profile()
    profile.enable()
    try:
        return _worker_run(self)
    finally:
        profile.disable()
        profile.dump_stats(os.path.join(OUT, "worker-%d.prof" % os.getpid()))


worker.WorkerProcess._run = _profiled_worker_run
from ansible.cli.playbook import main  # noqa: E402

sys.argv[0] = "ansible-playbook"
profile = cProfile.Profile()
profile.enable()
try:
    code = main()
finally:
    profile.disable()
    profile.dump_stats(os.path.join(OUT, "main.prof"))
sys.exit(code)
'''


def kill_group(proc, sig):
    try:
        os.killpg(proc.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def stop_process(proc):
    if proc is None or proc.poll() is not None:
        return
    kill_group(proc, signal.SIGTERM)
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        kill_group(proc, signal.SIGKILL)
        proc.wait(timeout=5)


def wait_for(what, ready, proc, log):
    deadline = time.monotonic() + READY_TIMEOUT
    while not ready():
        if proc.poll() is not None or time.monotonic() > deadline:
            try:
                with open(log, errors="replace") as handle:
                    tail = "".join(handle.readlines()[-20:])
            except OSError:
                tail = "(no log)"
            raise BenchError("%s did not come up (%s):\n%s" % (
                what, "exit %s" % proc.returncode if proc.returncode is not None else "timed out", tail))
        time.sleep(0.05)


class Servers:
    """The upstream nginx (TLS and plain ports) and the SNTP server; ``stop()`` ends both."""

    def __init__(self, workdir, port_count):
        # pylint: disable-next=import-outside-toplevel
        from tests.lab.lab import free_ports, ports_held_by
        from tests.lab.nginx import NGINX_BIN
        from tests.lab.pki import LabPKI
        self.dir = os.path.join(workdir, "servers")
        os.makedirs(os.path.join(self.dir, "tmp"), exist_ok=True)
        self.nginx_bin = NGINX_BIN
        pki = LabPKI(os.path.join(workdir, "pki"))
        self.ca_file = pki.root_file
        self.cert, self.key = pki.leaf("upstream", [SERVER_NAME], chain="int")
        self.proxy_cert, self.proxy_key = pki.leaf("proxy", ["proxy.bench.test"], chain="int")
        self.ports = free_ports(port_count + 6)
        self.proxy_ports = self.ports[port_count:]
        self.ports = self.ports[:port_count]
        self.procs = []
        self.ntp_server = None
        tls = [p for i, p in enumerate(self.ports) if not is_plain(i)]
        plain = [p for i, p in enumerate(self.ports) if is_plain(i)]
        conf = os.path.join(self.dir, "nginx.conf")
        with open(conf, "w") as handle:
            handle.write(_UPSTREAM_CONF.format(
                http_head=_HTTP_HEAD.format(connections=4096, dir=self.dir), tls_count=len(tls), plain_count=len(plain), dir=self.dir, server_name=SERVER_NAME,
                cert=self.cert, key=self.key, user="user root;\n" if os.geteuid() == 0 else "",
                tls_listen="\n".join("        listen 127.0.0.1:%d ssl;" % p for p in tls),
                plain_listen="\n".join("        listen 127.0.0.1:%d;" % p for p in plain)))
        nginx = self._spawn("nginx", [NGINX_BIN, "-p", self.dir, "-c", conf])
        wait_for("the upstream nginx", lambda: set(self.ports) <= set(ports_held_by(
            [nginx.pid] + children(nginx.pid))), nginx, os.path.join(self.dir, "error.log"))
        ready = os.path.join(self.dir, "ntp.ready")
        ntp = self._spawn("ntp", [sys.executable, "-m", "tests.integration.ntp_lab", "serve", "0", "0", ready])
        wait_for("the SNTP server", lambda: os.path.exists(ready) and os.path.getsize(ready) > 0, ntp,
                 os.path.join(self.dir, "ntp.log"))
        with open(ready) as handle:
            self.ntp_server = "127.0.0.1:%d" % int(handle.read().strip())

    def _spawn(self, name, cmd):
        with open(os.path.join(self.dir, name + ".log"), "ab") as log:
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                    cwd=REPO_ROOT, start_new_session=True)
        self.procs.append(proc)
        return proc

    def stop(self):
        for proc in self.procs:
            stop_process(proc)


def children(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as handle:
            return [int(p) for p in handle.read().split()]
    except OSError:
        return []


def is_plain(index):
    return index % PLAIN_EVERY == PLAIN_EVERY - 1


def block_name(index):
    return "u%04d" % index


def write_fleet(celldir, servers, hosts, upstreams):
    """Write ``hosts`` proxies of ``upstreams`` upstream blocks each and their inventory; returns
    (inventory path, {(host, target name): expected cause})."""
    expected = {}
    inventory = {"proxies": {"vars": {
        "ansible_connection": "local",
        "ansible_python_interpreter": os.path.join(VENV_BIN, "python"),
        "tlsops_chain_ca_file": servers.ca_file,
        "diagnose_ntp_servers": [servers.ntp_server],
        "diagnose_time_sync_options": {"samples": 2, "sample_interval": 0.2},
    }, "hosts": {}}}
    for number in range(1, hosts + 1):
        name = "h%d" % number
        pdir = os.path.join(celldir, name)
        for sub in ("logs", "tmp"):
            os.makedirs(os.path.join(pdir, sub), exist_ok=True)
        with open(os.path.join(pdir, "logs", "error.log"), "w") as handle:
            handle.write("")
        blocks, locations = [], []
        for index in range(upstreams):
            block, port = block_name(index), servers.ports[index]
            blocks.append("    upstream %s {\n        server 127.0.0.1:%d;\n    }" % (block, port))
            locations.append("        location /%s/ {\n            proxy_pass https://%s/;\n        }" % (block, block))
            expected[name, "%s (127.0.0.1:%d)" % (block, port)] = "plain_http" if is_plain(index) else "ok"
        config = os.path.join(pdir, "nginx.conf")
        with open(config, "w") as handle:
            handle.write(_PROXY_CONF.format(
                http_head=_HTTP_HEAD.format(connections=256, dir=pdir), name=name, count=upstreams, dir=pdir,
                upstreams="\n".join(blocks), locations="\n".join(locations),
                port=servers.proxy_ports[number - 1], cert=servers.proxy_cert, key=servers.proxy_key,
                ca_file=servers.ca_file, server_name=SERVER_NAME))
        inventory["proxies"]["hosts"][name] = {"tlsops_nginx_path": servers.nginx_bin,
                                               "tlsops_nginx_config": config, "tlsops_nginx_prefix": pdir}
    path = os.path.join(celldir, "inventory.yml")
    with open(path, "w") as handle:
        json.dump(inventory, handle, indent=1)          # JSON is YAML
    return path, expected


def check_report(report_dir, expected):
    """The differences between report.json's pairs and ``expected`` (empty when identical)."""
    try:
        with open(os.path.join(report_dir, "report.json")) as handle:
            report = json.load(handle)
    except (OSError, ValueError) as exc:
        return ["no readable report.json: %s" % exc]
    found = {}
    problems = []
    for pair in report.get("pairs", []):
        key = (pair["proxy"], pair["target"])
        if key in found:
            problems.append("pair listed twice: %s -> %s" % key)
        found[key] = pair["cause"]
    for key in sorted(set(expected) | set(found)):
        want, got = expected.get(key), found.get(key)
        if want != got:
            problems.append("%s -> %s: expected %s, report says %s" % (key[0], key[1], want, got))
    return problems


PROBE_ALONE = r"""
import json, sys, time
from tests.collection_path import ensure_importable
ensure_importable()
from ansible_collections.tlsops.handshake.plugins.module_utils._common import forked
from ansible_collections.tlsops.handshake.plugins.module_utils._probe.run import probe_targets
with open(sys.argv[1]) as handle:
    targets = json.load(handle)
started = time.monotonic()
results, summary = probe_targets(targets, workers=forked.default_workers())   # tls_probe's default
json.dump({"seconds": time.monotonic() - started, "results": len(results)}, sys.stdout)
"""


def probe_alone(args, celldir, report_dir):
    """The floor: each host's probe targets (as nginx_tls_info gave them to tls_probe) probed by the engine
    alone, in one Python per host, ``--forks`` hosts at a time as Ansible runs them; the sum over the
    batches of the slowest host's probe time (its imports and start not counted)."""
    with open(os.path.join(report_dir, "hosts.json")) as handle:
        data = json.load(handle)
    files = []
    for name in sorted(data):
        # diagnose_report leaves the hosts' data as the modules returned it (packed results unpacked)
        targets = (data[name].get("nginx") or {}).get("probe_targets") or []
        path = os.path.join(celldir, "targets-%s.json" % name)
        with open(path, "w") as handle:
            json.dump(targets, handle)
        files.append(path)
    total = 0.0
    env = dict(os.environ, PYTHONPATH=REPO_ROOT)
    for start in range(0, len(files), args.forks):
        procs = [subprocess.Popen([sys.executable, "-c", PROBE_ALONE, path], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, cwd=REPO_ROOT, env=env, start_new_session=True)
                 for path in files[start:start + args.forks]]
        slowest = 0.0
        for proc in procs:
            try:
                out, err = proc.communicate(timeout=args.run_timeout)
            finally:
                stop_process(proc)
            if proc.returncode != 0:
                raise BenchError("the probe alone failed: %s" % err.decode(errors="replace")[-2000:])
            slowest = max(slowest, json.loads(out)["seconds"])
        total += slowest
    return round(total, 3)


def run_cell(args, workdir, servers, hosts, upstreams, run):
    celldir = os.path.join(workdir, "h%d-u%d-r%d" % (hosts, upstreams, run))
    inventory, expected = write_fleet(celldir, servers, hosts, upstreams)
    report_dir = os.path.join(celldir, "report")
    times_file = os.path.join(celldir, "task-times.json")
    env = dict(os.environ)
    env.update({
        "ANSIBLE_COLLECTIONS_PATH": os.path.join(BUILD, "collections"),
        "ANSIBLE_LOCAL_TEMP": os.path.join(BUILD, "ansible-tmp"),
        "ANSIBLE_CALLBACK_PLUGINS": os.path.join(workdir, "callback_plugins"),
        "ANSIBLE_CALLBACKS_ENABLED": "bench_task_times",
        "ANSIBLE_LOCALHOST_WARNING": "0", "ANSIBLE_INVENTORY_UNPARSED_WARNING": "0",
        "ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORKS": str(args.forks),
        "BENCH_TASK_TIMES": times_file, "PYTHONWARNINGS": "ignore::DeprecationWarning",
    })
    cmd = [os.path.join(VENV_BIN, "ansible-playbook")]
    if args.profile:
        env["BENCH_PROFILE_DIR"] = celldir
        cmd = [os.path.join(VENV_BIN, "python"), os.path.join(workdir, "profiled_playbook.py")]
    cmd += ["-i", inventory, PLAYBOOK,
            "-e", "diagnose_output_dir=%s" % report_dir, "-e", "diagnose_fail_on=never"]
    log = os.path.join(celldir, "ansible.log")
    started = time.monotonic()
    cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                cwd=celldir, env=env, start_new_session=True)
        try:
            proc.wait(timeout=args.run_timeout)
        except subprocess.TimeoutExpired:
            stop_process(proc)
            raise BenchError("hosts=%d upstreams=%d: ansible-playbook ran past --run-timeout %ds (log: %s)"
                             % (hosts, upstreams, args.run_timeout, log)) from None
        finally:
            stop_process(proc)
    seconds = time.monotonic() - started
    cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    # CPU of ansible-playbook and every process it waited for (workers, modules, nginx -T): less sensitive
    # than wall time to the other jobs on a shared machine
    cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
    if proc.returncode != 0:
        raise BenchError("hosts=%d upstreams=%d: ansible-playbook exited %d (log: %s)"
                         % (hosts, upstreams, proc.returncode, log))
    problems = check_report(report_dir, expected)
    if problems:
        raise BenchError("hosts=%d upstreams=%d: the report is wrong (%d differences), first: %s (log: %s)"
                         % (hosts, upstreams, len(problems), "; ".join(problems[:5]), log))
    try:
        with open(times_file) as handle:
            tasks = json.load(handle)
    except (OSError, ValueError):
        tasks = []
    alone = probe_alone(args, celldir, report_dir)
    if not args.keep:
        shutil.rmtree(celldir, ignore_errors=True)
    return {"hosts": hosts, "upstreams": upstreams, "run": run, "seconds": round(seconds, 3),
            "cpu_seconds": round(cpu, 3), "pairs": len(expected), "tasks": tasks, "probe_alone_seconds": alone}


def summarize(runs):
    cells = {}
    for run in runs:
        cells.setdefault((run["hosts"], run["upstreams"]), []).append(run)
    summary = []
    for (hosts, upstreams), group in sorted(cells.items()):
        tasks = {}
        for run in group:
            for name, seconds in run["tasks"]:
                tasks.setdefault(name, []).append(seconds)
        task_medians = sorted(((statistics.median(v), k) for k, v in tasks.items()), reverse=True)
        summary.append({"hosts": hosts, "upstreams": upstreams, "pairs": group[0]["pairs"],
                        "seconds": round(statistics.median(r["seconds"] for r in group), 2),
                        "cpu_seconds": round(statistics.median(r["cpu_seconds"] for r in group), 2),
                        "probe_alone_seconds": round(statistics.median(r["probe_alone_seconds"] for r in group), 2),
                        "beyond_probe_seconds": round(statistics.median(r["seconds"] - r["probe_alone_seconds"]
                                                                        for r in group), 2),
                        "min": min(r["seconds"] for r in group), "max": max(r["seconds"] for r in group),
                        "top_tasks": [[k, round(v, 2)] for v, k in task_medians[:3]]})
    return summary


def ratios(summary, hosts_list, upstreams_list):
    """Growth, for wall time and for CPU time: most upstreams / fewest per host count, most hosts / fewest
    per upstream count."""
    lo_u, hi_u = min(upstreams_list), max(upstreams_list)
    lo_h, hi_h = min(hosts_list), max(hosts_list)
    out = {"upstreams": [lo_u, hi_u], "hosts": [lo_h, hi_h]}
    for measure in ("seconds", "cpu_seconds", "beyond_probe_seconds"):
        value = {(c["hosts"], c["upstreams"]): c[measure] for c in summary}
        out[measure] = {
            "per_host_count": {h: round(value[h, hi_u] / value[h, lo_u], 2) for h in hosts_list if lo_u != hi_u},
            "per_upstream_count": {u: round(value[hi_h, u] / value[lo_h, u], 2) for u in upstreams_list if lo_h != hi_h},
        }
    return out


def print_summary(summary, growth):
    print()
    print("%5s %9s %6s %8s %11s %7s %7s %7s  %s" % ("hosts", "upstreams", "pairs", "wall s", "min-max", "cpu s",
                                                    "probe*", "rest", "biggest tasks (wall s)"))
    for c in summary:
        tops = ", ".join("%s %.1f" % (name[:30], sec) for name, sec in c["top_tasks"])
        print("%5d %9d %6d %8.2f %11s %7.1f %7.2f %7.2f  %s"
              % (c["hosts"], c["upstreams"], c["pairs"], c["seconds"], "%.1f-%.1f" % (c["min"], c["max"]),
                 c["cpu_seconds"], c["probe_alone_seconds"], c["beyond_probe_seconds"], tops))
    print("probe*: the same pairs probed by tls_probe's engine alone, --forks hosts at a time; rest: wall - probe*")
    lo_u, hi_u = growth["upstreams"]
    lo_h, hi_h = growth["hosts"]
    wall, cpu = growth["seconds"], growth["cpu_seconds"]
    print()
    rest = growth["beyond_probe_seconds"]
    for hosts, ratio in wall["per_host_count"].items():
        print("time(%d upstreams)/time(%d upstreams), %d host(s): wall %.2f, cpu %.2f, rest %.2f"
              % (hi_u, lo_u, hosts, ratio, cpu["per_host_count"][hosts], rest["per_host_count"][hosts]))
    for upstreams, ratio in wall["per_upstream_count"].items():
        print("time(%d hosts)/time(%d host), %d upstreams per host: wall %.2f, cpu %.2f"
              % (hi_h, lo_h, upstreams, ratio, cpu["per_upstream_count"][upstreams]))


def run_benchmark(args, isolation, workdir):
    callbacks = os.path.join(workdir, "callback_plugins")
    os.makedirs(callbacks)
    with open(os.path.join(callbacks, "bench_task_times.py"), "w") as handle:
        handle.write(_CALLBACK)
    with open(os.path.join(workdir, "profiled_playbook.py"), "w") as handle:
        handle.write(_PROFILED_PLAYBOOK)
    print("== diagnose.yml: hosts %s x upstreams per host %s, %d run(s) each, forks %d, network: %s"
          % (args.hosts, args.upstreams, args.runs, args.forks,
             "private namespace" if isolation is None else "host (%s)" % isolation))
    servers = Servers(workdir, max(args.upstreams))
    runs = []
    try:
        for run in range(1, args.runs + 1):
            for hosts in args.hosts:
                for upstreams in args.upstreams:
                    result = run_cell(args, workdir, servers, hosts, upstreams, run)
                    print("run %d: hosts %d upstreams %4d: %6.2f s (cpu %.1f s), %d pairs as expected"
                          % (run, hosts, upstreams, result["seconds"], result["cpu_seconds"], result["pairs"]),
                          flush=True)
                    runs.append(result)
    finally:
        servers.stop()
    summary = summarize(runs)
    growth = ratios(summary, args.hosts, args.upstreams)
    print_summary(summary, growth)
    return {"date": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "network": "netns" if isolation is None else "host",
            "machine": {"platform": platform.platform(), "cpus": os.cpu_count(),
                        "python": platform.python_version(), "load": os.getloadavg()},
            "forks": args.forks, "runs": runs, "summary": summary, "growth": growth}


def int_list(text, name, parser, low, high):
    try:
        values = sorted({int(v) for v in text.split(",") if v.strip()})
    except ValueError:
        parser.error("%s: a comma-separated list of numbers, e.g. %s" % (name, ",".join(map(str, FULL[name[2:]]))))
    if not values or values[0] < low or values[-1] > high:
        parser.error("%s: numbers from %d to %d" % (name, low, high))
    return values


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m bench.diagnose_fleet", description=__doc__.split("\n", 1)[0])
    parser.add_argument("--hosts", help="host counts, comma-separated; default %s" % ",".join(map(str, FULL["hosts"])))
    parser.add_argument("--upstreams", help="upstreams per host, comma-separated; default %s"
                        % ",".join(map(str, FULL["upstreams"])))
    parser.add_argument("--quick", action="store_true", help="hosts 1,3 x upstreams 10,100 (a few minutes)")
    parser.add_argument("--runs", type=int, default=1, help="runs per cell (median reported); default 1")
    parser.add_argument("--forks", type=int, default=5, help="ansible-playbook forks; default 5 (Ansible's)")
    parser.add_argument("--run-timeout", type=int, default=900, help="bound for one playbook run; default 900 s")
    parser.add_argument("--profile", action="store_true",
                        help="cProfile ansible-playbook's main process and each worker (CELL/*.prof; use with --keep)")
    add_session_options(parser, max_seconds=3000)
    args = parser.parse_args(argv)
    plan = QUICK if args.quick else FULL
    args.hosts = int_list(args.hosts, "--hosts", parser, 1, 6) if args.hosts else list(plan["hosts"])
    args.upstreams = (int_list(args.upstreams, "--upstreams", parser, 1, 2000) if args.upstreams
                      else list(plan["upstreams"]))
    check_ranges(parser, args, {"runs": (1, 10), "forks": (1, 50), "run_timeout": (30, 3600), "max_seconds": (30, 7200)})
    return args


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if not os.access(os.path.join(VENV_BIN, "ansible-playbook"), os.X_OK):
        print("bench.diagnose_fleet: %s/ansible-playbook is missing (make venv)" % VENV_BIN, file=sys.stderr)
        return 2
    os.makedirs(os.path.join(BUILD, "ansible-tmp"), exist_ok=True)
    # every cell's report is checked inside run_benchmark (a wrong report raises BenchError)
    return session(args, "diagnose-fleet-", run_benchmark, lambda _report: [])


if __name__ == "__main__":
    sys.exit(main())
