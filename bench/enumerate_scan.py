# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Capability scan cost: tls_probe's ``enumerate`` against sslyze and testssl.sh, same server, same run.

    bash bench/run.sh [--runs 3] [--tools tls_probe,sslyze,testssl] [--rtt-ms 0,20] [--max-connections 8]
                      [--scenario enumerate_wide|enumerate] [--json FILE] [--keep]
    .venv/bin/python -m bench.enumerate_scan [same options]

Starts the lab (tests/lab) in a fresh directory under build/bench/ and scans its
``enumerate_wide`` nginx (27 + 3 suites, 5 groups; ``--scenario``) with each tool,
``--runs`` times, round robin, under each network condition of ``--rtt-ms``: 0 is
plain loopback, any other value a path of that round-trip time.  Each condition
puts a counting TCP relay (bench/relay.py, a process of its own) in front of the
server; for an RTT the relay is the delay line (this kernel has no netem).  Per
tool: accepted connections, the peak open at once, payload bytes in each
direction (exact, counted by the relay), wall time, and whether the protocols /
ciphers / groups it found equal the scenario's ``known`` set.  Then medians, the
ratios peer / tls_probe and whether issue #15's targets are met (wall time >= 5x
sslyze's, >= 20x testssl.sh's).  A tool that errs or finds another set fails the
benchmark (exit 1).  See docs/benchmarks.md.

Network: the whole run moves into a network namespace of its own holding only
loopback (``--netns auto``, the default, when this process may unshare, as root):
no packet of any tool can leave the machine.  testssl.sh runs only there, because
it looks names up itself (``openssl s_client -connect invalid.`` while it probes its
local openssl) even with ``--nodns none --ip 127.0.0.1``.  tls_probe and sslyze are
given 127.0.0.1 and never resolve a name.

sslyze lives in build/bench-venv (bash bench/run.sh makes it from
requirements/bench.txt); run from another Python without sslyze, this script
re-executes itself with that venv's Python when it exists.

Bounds: every run of a tool has a time limit, the whole benchmark has
``--max-seconds``, and the relay exits by itself when this process goes away.
The lab, the relays and any tool still running are stopped at the end, also on
error, SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import ctypes
import fcntl
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time

from bench.relay import RelayError, RelayProcess

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(REPO_ROOT, "build")
BENCH_VENV_PYTHON = os.path.join(BUILD, "bench-venv", "bin", "python")
REEXEC_MARK = "TLSOPS_BENCH_REEXEC"

# the lab scenarios with a known capability set; enumerate_wide accepts what every tool can see
SCENARIOS = ("enumerate_wide", "enumerate")
GROUP_ALIASES = {"prime256v1": "secp256r1", "prime192v1": "secp192r1"}
ALL_TOOLS = ("tls_probe", "sslyze", "testssl")
# issue #15: wall time of the peer / tls_probe's, in the same run
WALL_TARGETS = {"sslyze": 5.0, "testssl": 20.0}
PROBE_TIMEOUT = 5              # per handshake, seconds (tls_probe)
TESTSSL_TIMEOUT = 300          # one testssl.sh run, seconds

CLONE_NEWNET = 0x40000000
SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 0x1
IFREQ = "16sH22x"              # struct ifreq: name, flags, rest of the union (40 bytes)


class BenchError(RuntimeError):
    pass


class BenchTimeout(Exception):
    """--max-seconds ran out: aborts the benchmark (never counted as one tool's failure)."""


# ---------------------------------------------------------------------- environment

def sslyze_importable():
    try:
        import sslyze  # noqa: F401  pylint: disable=import-outside-toplevel,unused-import
    except ImportError:
        return False
    return True


def maybe_reexec(tools, module="bench.enumerate_scan"):
    """Run ``python -m module`` again with build/bench-venv's Python when sslyze is wanted but not importable here."""
    if "sslyze" not in tools or sslyze_importable() or os.environ.get(REEXEC_MARK):
        return
    if not os.access(BENCH_VENV_PYTHON, os.X_OK):
        return
    os.environ[REEXEC_MARK] = "1"
    os.chdir(REPO_ROOT)
    os.execv(BENCH_VENV_PYTHON, [BENCH_VENV_PYTHON, "-m", module] + sys.argv[1:])


def isolate_network():
    """Move this process, and so every process it starts, into a new network namespace
    with only loopback, up.  Returns None when done, else why not."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWNET) != 0:
        return "unshare(CLONE_NEWNET): %s" % os.strerror(ctypes.get_errno())
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        got = fcntl.ioctl(sock, SIOCGIFFLAGS, struct.pack(IFREQ, b"lo", 0))
        flags = struct.unpack(IFREQ, got)[1]
        fcntl.ioctl(sock, SIOCSIFFLAGS, struct.pack(IFREQ, b"lo", flags | IFF_UP))
    names = sorted(entry[1] for entry in socket.if_nameindex())
    if names != ["lo"]:
        raise BenchError("the new network namespace holds %s, expected only lo" % names)
    return None


def _alarm(_signum, _frame):
    raise BenchTimeout("the benchmark ran past --max-seconds")


def _terminate(signum, _frame):
    raise SystemExit(128 + signum)


def command_output(cmd, timeout=20):
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return out.stdout.strip()


def nginx_version():
    # pylint: disable-next=import-outside-toplevel
    from tests.lab.nginx import NGINX_BIN
    try:
        out = subprocess.run([NGINX_BIN, "-v"], capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return "nginx ?"
    return (out.stderr or out.stdout).strip().split(": ", 1)[-1]


def package_version(dist):
    try:
        from importlib.metadata import PackageNotFoundError, version  # pylint: disable=import-outside-toplevel
    except ImportError:
        return "?"
    try:
        return version(dist)
    except PackageNotFoundError:
        return "?"


def collection_version():
    version = "?"
    with open(os.path.join(REPO_ROOT, "galaxy.yml"), encoding="utf-8") as f:
        for line in f:
            if line.startswith("version:"):
                version = line.split(":", 1)[1].strip().strip("'\"")
    commit = command_output(["git", "-C", REPO_ROOT, "rev-parse", "--short", "HEAD"])
    dirty = command_output(["git", "-C", REPO_ROOT, "status", "--porcelain"])
    return "%s (%s%s)" % (version, commit or "no git", ", modified tree" if dirty else "")


# ---------------------------------------------------------------------- results

def _group(name):
    name = name.strip().lower()
    return GROUP_ALIASES.get(name, name)


def normalize(protocols, ciphers, groups):
    """One shape for every tool: versions in order, cipher names per version, group names."""
    # pylint: disable-next=import-outside-toplevel
    from ansible_collections.tlsops.handshake.plugins.module_utils._tls.names import TLS_VERSIONS  # after main()'s sys.path
    return {
        "protocols": sorted(set(protocols), key=TLS_VERSIONS.index),
        "ciphers": {v: sorted(set(c)) for v, c in sorted(ciphers.items()) if c},
        "groups": sorted({_group(g) for g in groups}),
    }


def differences(found, known):
    if found is None:
        return ["no result"]
    diffs = []
    for key in ("protocols", "ciphers", "groups"):
        if found.get(key) != known.get(key):
            diffs.append("%s: found %s, known %s" % (key, json.dumps(found.get(key)), json.dumps(known.get(key))))
    return diffs


# ---------------------------------------------------------------------- the relay

def kill_group(proc, sig):
    try:
        os.killpg(proc.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def run_bounded(cmd, timeout, cwd, env):
    """Run cmd in its own session; on timeout or any exception kill the whole group."""
    # pylint: disable-next=consider-using-with
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, start_new_session=True)
    try:
        out = proc.communicate(timeout=timeout)[0]
    except subprocess.TimeoutExpired as exc:
        raise BenchError("%s ran past %d s" % (os.path.basename(cmd[0]), timeout)) from exc
    finally:
        if proc.poll() is None:
            kill_group(proc, signal.SIGTERM)
            try:
                proc.wait(3)
            except subprocess.TimeoutExpired:
                kill_group(proc, signal.SIGKILL)
                proc.wait(3)
        kill_group(proc, signal.SIGKILL)     # children left in the group (openssl s_client)
        if proc.stdout:
            proc.stdout.close()
    return proc.returncode, out.decode("utf-8", "replace")


# ---------------------------------------------------------------------- the tools

class Target:
    def __init__(self, host, port, server_name, ca_file, max_connections=8):
        self.host, self.port, self.server_name, self.ca_file = host, port, server_name, ca_file
        self.max_connections = max_connections


class TlsProbe:
    name = "tls_probe"

    def __init__(self, workdir):
        self.workdir = workdir

    @staticmethod
    def unavailable(_isolated):
        return None

    @staticmethod
    def version():
        return "tlsops.handshake %s" % collection_version()

    @staticmethod
    def warm():
        # pylint: disable-next=import-outside-toplevel,unused-import
        from ansible_collections.tlsops.handshake.plugins.module_utils._probe import run  # noqa: F401

    @staticmethod
    def scan(target):
        # pylint: disable-next=import-outside-toplevel
        from ansible_collections.tlsops.handshake.plugins.module_utils._probe.run import probe_targets
        results = probe_targets([{"host": target.host, "port": target.port, "server_name": target.server_name,
                                  "ca_file": target.ca_file, "timeout": PROBE_TIMEOUT,
                                  "enumerate": ["protocols", "ciphers", "groups"]}],
                                max_connections_per_server=target.max_connections)[0]
        res = results[0]
        caps = res.get("capabilities")
        if not res["ok"] or not caps:
            raise BenchError("tls_probe: %s: %s" % (res["cause"], res["detail"]))
        return (normalize(caps["protocols"], caps["ciphers"], caps["groups"]),
                "its own count: %d handshakes" % res["handshakes"])


class Sslyze:
    name = "sslyze"

    def __init__(self, workdir):
        self.workdir = workdir

    @staticmethod
    def unavailable(_isolated):
        if not sslyze_importable():
            return "not installed here (bash bench/run.sh puts it in build/bench-venv)"
        return None

    @staticmethod
    def version():
        return "sslyze %s (nassl %s)" % (package_version("sslyze"), package_version("nassl"))

    @staticmethod
    def warm():
        import sslyze  # noqa: F401  pylint: disable=import-outside-toplevel,unused-import

    @staticmethod
    def scan(target):
        # pylint: disable-next=import-outside-toplevel
        from sslyze import ScanCommand, Scanner, ServerNetworkConfiguration, ServerNetworkLocation, ServerScanRequest, ServerScanStatusEnum
        per_version = {
            "TLSv1": ScanCommand.TLS_1_0_CIPHER_SUITES, "TLSv1.1": ScanCommand.TLS_1_1_CIPHER_SUITES,
            "TLSv1.2": ScanCommand.TLS_1_2_CIPHER_SUITES, "TLSv1.3": ScanCommand.TLS_1_3_CIPHER_SUITES,
        }
        request = ServerScanRequest(
            server_location=ServerNetworkLocation(hostname=target.server_name, port=target.port,
                                                  ip_address=target.host),
            network_configuration=ServerNetworkConfiguration(tls_server_name_indication=target.server_name),
            scan_commands=set(per_version.values()) | {ScanCommand.ELLIPTIC_CURVES})
        scanner = Scanner()
        scanner.queue_scans([request])
        results = list(scanner.get_results())
        if len(results) != 1 or results[0].scan_status != ServerScanStatusEnum.COMPLETED:
            raise BenchError("sslyze: scan did not complete: %s" % (results and results[0].connectivity_error_trace))
        scan = results[0].scan_result
        attrs = {"TLSv1": "tls_1_0_cipher_suites", "TLSv1.1": "tls_1_1_cipher_suites",
                 "TLSv1.2": "tls_1_2_cipher_suites", "TLSv1.3": "tls_1_3_cipher_suites"}
        ciphers = {}
        for version, attr in attrs.items():
            attempt = getattr(scan, attr)
            if attempt.result is None:
                raise BenchError("sslyze: %s failed: %s" % (attr, attempt.error_trace))
            ciphers[version] = [a.cipher_suite.openssl_name for a in attempt.result.accepted_cipher_suites]
        curves = scan.elliptic_curves
        if curves.result is None:
            raise BenchError("sslyze: elliptic_curves failed: %s" % curves.error_trace)
        groups = [c.name for c in curves.result.supported_curves or []]
        return normalize([v for v, c in ciphers.items() if c], ciphers, groups), ""


class TestSSL:
    name = "testssl"
    ids = {"TLS1": "TLSv1", "TLS1_1": "TLSv1.1", "TLS1_2": "TLSv1.2", "TLS1_3": "TLSv1.3"}
    cipher_ids = {"cipher-tls1_": "TLSv1", "cipher-tls1_1_": "TLSv1.1", "cipher-tls1_2_": "TLSv1.2",
                  "cipher-tls1_3_": "TLSv1.3"}

    def __init__(self, workdir):
        self.workdir = workdir
        self.runs = 0

    @staticmethod
    def unavailable(isolated):
        if not shutil.which("testssl"):
            return "not installed (apt-get install testssl.sh)"
        if not isolated:
            return ("no private network namespace: testssl.sh looks names up itself even with "
                    "--nodns none --ip, so it runs only where nothing can leave loopback")
        return None

    @staticmethod
    def warm():
        pass        # a new process per scan: its start-up is part of its cost

    @staticmethod
    def version():
        version = command_output(["dpkg-query", "-W", "-f", "${Version}", "testssl.sh"])
        return "testssl.sh %s (openssl %s)" % (version or "?", command_output(["openssl", "version"]).split(" ")[1])

    def scan(self, target):
        self.runs += 1
        out_dir = os.path.join(self.workdir, "testssl-%d" % self.runs)
        os.makedirs(os.path.join(out_dir, "tmp"))
        json_file = os.path.join(out_dir, "result.json")
        env = dict(os.environ, HOME=out_dir, TMPDIR=os.path.join(out_dir, "tmp"))
        cmd = ["testssl", "--quiet", "--color", "0", "--warnings", "off", "--nodns", "none",
               "--ip", target.host, "--connect-timeout", "5", "--openssl-timeout", "5",
               "-p", "-E", "-f", "--jsonfile", json_file, "%s:%d" % (target.server_name, target.port)]
        code, out = run_bounded(cmd, TESTSSL_TIMEOUT, out_dir, env)
        with open(os.path.join(out_dir, "output.txt"), "w", encoding="utf-8") as f:
            f.write(out)
        if not os.path.exists(json_file):
            raise BenchError("testssl exited %s without a JSON file; see %s" % (code, out_dir))
        with open(json_file, encoding="utf-8") as f:
            findings = json.load(f)
        protocols, ciphers, groups = [], {}, []
        for finding in findings:
            fid, text = finding.get("id", ""), finding.get("finding", "")
            if fid in self.ids and text.startswith("offered"):
                protocols.append(self.ids[fid])
            elif fid.startswith("cipher-tls1_"):
                prefix = fid[:fid.rindex("_") + 1]
                version = self.cipher_ids.get(prefix)
                if version:
                    ciphers.setdefault(version, []).append(text.split()[3])
            elif fid in ("PFS_ECDHE_curves", "FS_ECDHE_curves"):
                groups.extend(text.split())
        return normalize(protocols, ciphers, groups), "exit %s" % code


TOOL_CLASSES = {"tls_probe": TlsProbe, "sslyze": Sslyze, "testssl": TestSSL}


# ---------------------------------------------------------------------- measuring

def measure(tool, target, relay, upstream_port):
    relay.reset()
    start = time.perf_counter()
    error, found, note = None, None, ""
    try:
        found, note = tool.scan(target)
    except BenchError as exc:
        error = str(exc)
    wall = time.perf_counter() - start
    stats = relay.stats()
    route = stats["routes"][str(upstream_port)]
    return {"tool": tool.name, "wall_s": wall, "connections": route["connections"],
            "bytes_to_server": route["bytes_to_server"], "bytes_to_client": route["bytes_to_client"],
            "upstream_failed": route["upstream_failed"], "left_open": stats["open"], "peak_open": route["peak_open"],
            "found": found, "error": error, "note": note}


def fmt_int(number):
    return "{:,}".format(int(round(number)))


def summarize(runs, known):
    summary = {}
    for name in dict.fromkeys(r["tool"] for r in runs):
        mine = [r for r in runs if r["tool"] == name]
        equal = [not differences(r["found"], known) for r in mine]
        summary[name] = {
            "runs": len(mine),
            "connections": statistics.median(r["connections"] for r in mine),
            "connections_range": [min(r["connections"] for r in mine), max(r["connections"] for r in mine)],
            "bytes_to_server": statistics.median(r["bytes_to_server"] for r in mine),
            "bytes_to_client": statistics.median(r["bytes_to_client"] for r in mine),
            "wall_s": statistics.median(r["wall_s"] for r in mine),
            "wall_s_range": [min(r["wall_s"] for r in mine), max(r["wall_s"] for r in mine)],
            "equals_known": "yes" if all(equal) else ("no" if not any(equal) else "%d/%d" % (sum(equal), len(equal))),
        }
    return summary


def print_summary(summary, skipped):
    print()
    print("medians over %s run(s) each (connections and bytes counted by the relay)" %
          "/".join(str(s["runs"]) for s in summary.values()))
    columns = ("tool", "connections", "bytes c->s", "bytes s->c", "wall s", "result == known")
    head = "%-10s %11s %15s %15s %10s  %s" % columns
    print(head)
    print("-" * len(head))
    for name, s in summary.items():
        conns = fmt_int(s["connections"])
        if s["connections_range"][0] != s["connections_range"][1]:
            conns += " (%d-%d)" % tuple(s["connections_range"])
        row = (name, conns, fmt_int(s["bytes_to_server"]), fmt_int(s["bytes_to_client"]), s["wall_s"],
               s["equals_known"])
        print("%-10s %11s %15s %15s %10.3f  %s" % row)
    for name, why in skipped.items():
        print("%-10s skipped: %s" % (name, why))
    base = summary.get("tls_probe")
    peers = [n for n in summary if n != "tls_probe"]
    if base and peers:
        print()
        print("ratios peer / tls_probe (medians)")
        print("%-10s %11s %10s %11s" % ("peer", "connections", "wall time", "bytes total"))
        base_bytes = base["bytes_to_server"] + base["bytes_to_client"]
        for name in peers:
            s = summary[name]
            ratio = {
                "connections": s["connections"] / base["connections"] if base["connections"] else float("nan"),
                "wall": s["wall_s"] / base["wall_s"] if base["wall_s"] else float("nan"),
                "bytes": ((s["bytes_to_server"] + s["bytes_to_client"]) / base_bytes) if base_bytes else float("nan"),
            }
            s["ratios_vs_tls_probe"] = ratio
            goal = WALL_TARGETS.get(name)
            s["wall_target"] = goal
            s["wall_target_met"] = None if goal is None else ratio["wall"] >= goal
            verdict = "" if goal is None else "   target >= %gx: %s" % (goal, "met" if ratio["wall"] >= goal else "NOT met")
            print("%-10s %10.1fx %9.1fx %10.1fx%s" % (name, ratio["connections"], ratio["wall"], ratio["bytes"], verdict))


def run_benchmark(args, isolation, workdir):
    # pylint: disable-next=import-outside-toplevel
    from tests.lab import Lab
    tools, skipped = [], {}
    for name in args.tools:
        tool = TOOL_CLASSES[name](workdir)
        why = tool.unavailable(isolation is None)
        if why:
            skipped[name] = why
        else:
            tools.append(tool)
    print("== network: %s" % ("private namespace, loopback only" if isolation is None
                              else "host network (%s)" % isolation))
    machine = (platform.platform(), platform.python_version(), os.cpu_count(), time.strftime("%Y-%m-%d %H:%M %Z"))
    print("== %s, Python %s, %d CPUs, %s" % machine)
    for tool in tools:
        print("== %-9s %s" % (tool.name, tool.version()))
        tool.warm()     # imports are not the scan's cost: the first run must not pay them
    lab = Lab(os.path.join(workdir, "lab"))
    conditions = {}
    try:
        lab.start()
        scenario = lab.scenarios[args.scenario]
        known = normalize(scenario["known"]["protocols"], scenario["known"]["ciphers"], scenario["known"]["groups"])
        print("== lab up in %ss; scenario %r: nginx on 127.0.0.1:%d (%s)" % (
            lab.info.get("start_seconds"), args.scenario, scenario["port"], nginx_version()))
        print("== known: %s" % json.dumps(known))
        print("== tls_probe: max_connections_per_server=%d" % args.max_connections)
        for rtt in args.rtt_ms:
            conditions[_condition(rtt)] = run_condition(args, tools, scenario, lab, known, rtt)
    finally:
        lab.stop()
    for label, condition in conditions.items():
        print()
        print("== %s" % label)
        condition["summary"] = summarize(condition["runs"], known)
        print_summary(condition["summary"], skipped)
    return {"date": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "network": "netns" if isolation is None else "host",
            "versions": {t.name: t.version() for t in tools}, "known": known, "skipped": skipped,
            "scenario": args.scenario,
            "max_connections_per_server": args.max_connections, "conditions": conditions}


def _condition(rtt):
    return "loopback" if not rtt else "+%g ms RTT (relay delay line)" % rtt


def run_condition(args, tools, scenario, lab, known, rtt):
    """Every tool ``--runs`` times, round robin, through one relay of round-trip time ``rtt`` ms."""
    runs = []
    with RelayProcess([scenario["port"]], args.max_seconds + 60, rtt_ms=rtt) as relay:
        target = Target("127.0.0.1", relay.ports[scenario["port"]], scenario["server_name"], lab.info["ca_file"],
                        args.max_connections)
        print()
        print("== %s: relay 127.0.0.1:%d -> 127.0.0.1:%d" % (_condition(rtt), target.port, scenario["port"]))
        for index in range(args.runs):
            for tool in tools:
                row = measure(tool, target, relay, scenario["port"])
                row["run"] = index + 1
                runs.append(row)
                diffs = differences(row["found"], known)
                print("run %d  %-9s conns %5d (peak %3d open)  c->s %9s B  s->c %9s B  wall %8.3f s  "
                      "result==known %s%s%s" % (
                          index + 1, tool.name, row["connections"], row["peak_open"], fmt_int(row["bytes_to_server"]),
                          fmt_int(row["bytes_to_client"]), row["wall_s"], "yes" if not diffs else "NO",
                          ("  [%s]" % row["note"]) if row["note"] else "",
                          "".join("\n      %s" % d for d in ([row["error"]] if row["error"] else diffs))))
                if row["left_open"] or row["upstream_failed"]:
                    print("      relay: %d connection(s) still open, %d upstream connect(s) failed"
                          % (row["left_open"], row["upstream_failed"]))
                sys.stdout.flush()
    return {"rtt_ms": rtt, "runs": runs}


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m bench.enumerate_scan", description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=3, help="runs per tool (median reported); default 3")
    parser.add_argument("--tools", default=",".join(ALL_TOOLS),
                        help="comma-separated, from %s; default all" % ",".join(ALL_TOOLS))
    add_session_options(parser, 900)
    parser.add_argument("--rtt-ms", default="0,20",
                        help="network conditions, comma-separated round-trip times in ms (0: plain loopback); the "
                             "relay is a delay line for the others (this kernel has no netem); default 0,20")
    parser.add_argument("--scenario", choices=SCENARIOS, default=SCENARIOS[0],
                        help="the lab server scanned: enumerate_wide (27 + 3 suites, 5 groups; default) or enumerate "
                             "(2 + 2 suites, 3 groups, one of them TLS 1.2 only, which sslyze 6 does not see)")
    parser.add_argument("--max-connections", type=int, default=8,
                        help="tls_probe's max_connections_per_server; default 8 (1: the sequential scan)")
    args = parser.parse_args(argv)
    args.tools = [t.strip() for t in args.tools.split(",") if t.strip()]
    unknown = sorted(set(args.tools) - set(ALL_TOOLS))
    if unknown or "tls_probe" not in args.tools:
        parser.error("--tools: unknown %s (tls_probe is the base and always needed)" % unknown if unknown
                     else "--tools must include tls_probe, the base of every ratio")
    try:
        args.rtt_ms = [float(r) for r in args.rtt_ms.split(",") if r.strip()]
    except ValueError:
        parser.error("--rtt-ms: numbers, comma-separated, e.g. 0,20")
    if not args.rtt_ms or not all(0 <= r <= 1000 for r in args.rtt_ms):
        parser.error("--rtt-ms: 0 to 1000 each")
    check_ranges(parser, args, {"max_connections": (1, 64), "runs": (1, 20), "max_seconds": (10, 3600)})
    return args


def check_ranges(parser, args, ranges):
    """``parser.error`` naming the first option outside its range: ranges = {"max_seconds": (10, 3600), ...}."""
    for dest, (low, high) in ranges.items():
        if not low <= getattr(args, dest) <= high:
            parser.error("--%s: %s to %s" % (dest.replace("_", "-"), low, high))


def add_session_options(parser, max_seconds):
    """The options ``session`` reads: --netns, --max-seconds, --json, --keep."""
    parser.add_argument("--netns", choices=("auto", "require", "off"), default="auto",
                        help="run in a private loopback-only network namespace (auto: when allowed)")
    parser.add_argument("--max-seconds", type=int, default=max_seconds,
                        help="bound for the whole benchmark; default %d" % max_seconds)
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument("--keep", action="store_true", help="keep the work directory under build/bench/")


def session(args, prefix, run, failures_of):
    """Run ``run(args, isolation, workdir)`` the way every bench runs: in a private loopback-only
    network namespace when allowed (``args.netns``), the collection importable, SIGTERM/SIGHUP and
    ``args.max_seconds`` ending it cleanly, a work directory under build/bench/ kept on failure or
    ``args.keep``, the report written to results.json (and ``args.json``).  ``failures_of(report)``
    lists what makes the bench fail.  Returns the exit code."""
    isolation = "--netns off"
    if args.netns != "off":
        isolation = isolate_network()
        if isolation and args.netns == "require":
            print("cannot make a private network namespace: %s" % isolation, file=sys.stderr)
            return 2
    sys.path[:0] = [p for p in (REPO_ROOT,) if p not in sys.path]
    # pylint: disable-next=import-outside-toplevel
    from tests.collection_path import ensure_importable
    ensure_importable()
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGHUP, _terminate)
    signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(args.max_seconds)
    os.makedirs(os.path.join(BUILD, "bench"), exist_ok=True)
    workdir = tempfile.mkdtemp(prefix=prefix, dir=os.path.join(BUILD, "bench"))
    ok = False
    try:
        try:
            report = run(args, isolation, workdir)
        except (BenchTimeout, BenchError, RelayError) as exc:
            print("benchmark aborted: %s" % exc, file=sys.stderr)
            return 1
        with open(os.path.join(workdir, "results.json"), "w", encoding="utf-8") as f:
            json.dump(report, f, indent=2, sort_keys=True)
        if args.json:
            shutil.copyfile(os.path.join(workdir, "results.json"), args.json)
        failures = failures_of(report)
        ok = not failures
        for failure in failures:
            print("benchmark FAILED: %s" % failure, file=sys.stderr)
    finally:
        signal.alarm(0)
        if ok and not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            print("work directory kept: %s" % workdir)
    return 0 if ok else 1


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    maybe_reexec(args.tools)
    return session(args, "enumerate-", run_benchmark, scan_failures)


def scan_failures(report):
    """A tool that erred, or found another set than the known one, in any condition."""
    failures = []
    for label, condition in report["conditions"].items():
        for row in condition["runs"]:
            problems = [row["error"]] if row["error"] else differences(row["found"], report["known"])
            failures += ["%s, run %d, %s: %s" % (label, row["run"], row["tool"], p) for p in problems]
    return failures


def exit_with(code):
    """sys.exit(code), or os._exit when a scanner thread stuck in a socket would hold the exit."""
    sys.stdout.flush()
    if threading.active_count() > 1:
        os._exit(code)
    sys.exit(code)


if __name__ == "__main__":
    exit_with(main())
