# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fleet call cost: one tls_probe call over N healthy targets against sslyze --certinfo, an openssl
s_client loop and openssl s_time, same targets, same run.

    .venv/bin/python -m bench.fleet_call [--targets 500] [--runs 3] [--trust ca_file,system]
                                         [--tools tls_probe,sslyze,openssl_loop] [--count-sample 20] [--workers N]
                                         [--json FILE] [--keep]

Starts one nginx listening on ``--targets`` ports of 127.0.0.1 (bench/fleet_servers.py, the lab's
PKI: leaf + intermediate, SAN fleet.lab.test), then, for each trust mode and ``--runs`` times round
robin, checks every target with each tool:

* **tls_probe**: ``probe_targets(targets)`` in a child Python of its own, as Ansible runs a module (PROBE_CHILD:
  the call's wall time and CPU, interpreter start excluded), the module's defaults (verify, HTTP request, 32 at
  once, as many processes as the machine has processors, at most 8; their CPU is counted);
* **sslyze**: the Python API, ``CERTIFICATE_INFO`` (``sslyze --certinfo``) for every target at once;
* **openssl_loop**: a shell loop, one ``openssl s_client -verify_return_error`` per target.

A target is *healthy* for a tool when it verified the served chain (against the lab root) and
reported a leaf; each tool's set of healthy targets and the SHA-256 of each leaf must equal
tls_probe's, or the benchmark fails.  Trust modes: ``ca_file`` gives every tool the lab root alone;
``system`` gives none a CA file: the default store is the system bundle plus the lab root
(``SSL_CERT_FILE``, which OpenSSL reads for its default store: Python's ``load_default_certs`` and
``openssl s_client`` load all of it, as they would the system store; sslyze, which has no default
store, is given that bundle as its custom CA file).

Connections per target are counted for each tool through the counting relay (bench/relay.py) on
``--count-sample`` targets, outside the timed runs.  CPU per handshake: tls_probe's process CPU time
(user+sys) over the call divided by its handshakes, against ``openssl s_time -new -www /`` on one
target for ``--stime-seconds`` (its client user CPU per connection).  Ratios printed: peer wall /
tls_probe wall, and tls_probe CPU / s_time CPU.  Targets (issue #15): sslyze >= 5x, openssl loop
>= 1x, CPU <= 2x.

Network: a private loopback-only namespace when allowed (``--netns auto``), as bench.enumerate_scan.
Bounds: ``--max-seconds`` for the whole run, a time limit per tool run; nginx, the relay and any
tool still running are stopped at the end, also on error, SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import re
import ssl
import statistics
import subprocess
import sys
import time
import warnings

from bench.enumerate_scan import (
    REPO_ROOT,
    BenchError,
    RelayProcess,
    add_session_options,
    check_ranges,
    collection_version,
    command_output,
    exit_with,
    maybe_reexec,
    nginx_version,
    package_version,
    run_bounded,
    session,
    sslyze_importable,
)

ALL_TOOLS = ("tls_probe", "sslyze", "openssl_loop")
TRUST_MODES = ("ca_file", "system")
SYSTEM_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
PROBE_TIMEOUT = 5
TOOL_TIMEOUT = 600            # one tool over all targets, seconds
TARGETS = {"sslyze": 5.0, "openssl_loop": 1.0}     # wall-time ratio peer / tls_probe must be at least this
CPU_TARGET = 2.0              # tls_probe CPU per handshake / s_time's at most this


class Fleet:
    """The targets and the trust of one mode: ``ports``, ``ca_file`` (None: default store), ``env``."""

    def __init__(self, servers, mode, bundle, workers=None):
        self.ports = list(servers.ports)
        self.workers = workers             # tls_probe's processes; None: the module's default
        self.server_name = servers.server_name
        self.mode = mode
        self.ca_file = servers.ca_file if mode == "ca_file" else None
        self.bundle = bundle               # system store + lab root, the default store of the run
        self.lab_root = servers.ca_file

    def trust_file(self):
        """The file a tool without a default store is given."""
        return self.ca_file or self.bundle


# ---------------------------------------------------------------------- the tools

# tls_probe runs in a child Python of its own, as the module does on a managed host (Ansible starts a
# fresh interpreter for each module call).  Inside this process, which has imported sslyze and run its
# thread pools, the same call cost 0.1 to 0.2 ms more CPU per handshake (a larger heap for the forked
# workers' collector to walk and copy); the child measures the call alone, interpreter start excluded
# (sslyze's import is not timed either).
PROBE_CHILD = r"""
import json, os, sys, time
from tests.collection_path import ensure_importable
ensure_importable()
from ansible_collections.tlsops.handshake.plugins.module_utils._common import forked
from ansible_collections.tlsops.handshake.plugins.module_utils._probe.run import probe_targets

args = json.load(sys.stdin)
cpu = os.times()
started = time.perf_counter()
# the module's default workers: a large call is probed by several processes, whose CPU counts too
results, summary = probe_targets(args["targets"], args["defaults"], workers=args["workers"] or forked.default_workers())
wall = time.perf_counter() - started
used = os.times()
json.dump({"healthy": {r["port"]: r["certificate"]["sha256"].replace(":", "").lower()
                       for r in results if r["ok"] and r.get("certificate")},
           "wall_s": wall, "handshakes": sum(r["handshakes"] for r in results),
           "cpu_user_s": (used.user - cpu.user) + (used.children_user - cpu.children_user),
           "cpu_system_s": (used.system - cpu.system) + (used.children_system - cpu.children_system),
           "processes": summary["processes"], "causes": sorted({r["cause"] for r in results})}, sys.stdout)
"""


def tls_probe(fleet, ports=None):
    targets = [{"host": "127.0.0.1", "port": p, "server_name": fleet.server_name} for p in (ports or fleet.ports)]
    defaults = {"timeout": PROBE_TIMEOUT}
    if fleet.ca_file:
        defaults["ca_file"] = fleet.ca_file
    proc = subprocess.run([sys.executable, "-c", PROBE_CHILD], input=json.dumps(
        {"targets": targets, "defaults": defaults, "workers": fleet.workers}), capture_output=True, text=True,
        timeout=PROBE_TIMEOUT * 4 + len(targets), cwd=REPO_ROOT, check=False,
        env=dict(os.environ, PYTHONPATH=REPO_ROOT))
    if proc.returncode != 0:
        raise BenchError("tls_probe's child failed: %s" % proc.stderr[-2000:])
    answer = json.loads(proc.stdout)
    healthy = {int(port): sha for port, sha in answer.pop("healthy").items()}
    answer["cpu_s"] = answer["cpu_user_s"] + answer.pop("cpu_system_s")
    return healthy, answer


def sslyze(fleet, ports=None):
    warnings.filterwarnings("ignore", module="sslyze")   # its bundled stores hold a negative serial number
    from pathlib import Path  # pylint: disable=import-outside-toplevel

    from sslyze import (  # pylint: disable=import-outside-toplevel
        CertificateInfoExtraArgument,
        ScanCommand,
        Scanner,
        ServerNetworkConfiguration,
        ServerNetworkLocation,
        ServerScanRequest,
        ServerScanStatusEnum,
    )
    extra = {"certificate_info": CertificateInfoExtraArgument(custom_ca_file=Path(fleet.trust_file()))}
    requests = [ServerScanRequest(
        server_location=ServerNetworkLocation(hostname=fleet.server_name, port=p, ip_address="127.0.0.1"),
        network_configuration=ServerNetworkConfiguration(tls_server_name_indication=fleet.server_name),
        scan_commands={ScanCommand.CERTIFICATE_INFO}, scan_commands_extra_arguments=_extra(extra))
        for p in (ports or fleet.ports)]
    scanner = Scanner()
    scanner.queue_scans(requests)
    healthy = {}
    for result in scanner.get_results():
        if result.scan_status != ServerScanStatusEnum.COMPLETED:
            continue
        info = result.scan_result.certificate_info
        if info.result is None:
            continue
        for deployment in info.result.certificate_deployments:
            custom = [v for v in deployment.path_validation_results if v.trust_store.name == "Supplied CA file"]
            if custom and custom[0].was_validation_successful:
                leaf = deployment.received_certificate_chain[0]
                der = leaf.public_bytes(_der_encoding())
                healthy[result.server_location.port] = hashlib.sha256(der).hexdigest()
                break
    return healthy, {}


def _extra(extra):
    from sslyze import ScanCommandsExtraArguments  # pylint: disable=import-outside-toplevel
    return ScanCommandsExtraArguments(**extra)


def _der_encoding():
    from cryptography.hazmat.primitives.serialization import Encoding  # pylint: disable=import-outside-toplevel
    return Encoding.DER


_LOOP = r"""
for port in "$@"; do
  echo "=== $port"
  openssl s_client -connect "127.0.0.1:$port" -servername "$SERVER_NAME" $TRUST -verify_return_error </dev/null 2>&1
done
"""
_PEM = re.compile(rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.S)


def openssl_loop(fleet, ports=None, workdir=None):
    env = dict(os.environ, SERVER_NAME=fleet.server_name,
               TRUST="-CAfile %s" % fleet.ca_file if fleet.ca_file else "")
    code, out = run_bounded(["bash", "-c", _LOOP, "loop"] + [str(p) for p in (ports or fleet.ports)],
                            TOOL_TIMEOUT, workdir or REPO_ROOT, env)
    if code != 0:
        raise BenchError("openssl loop exited with %s" % code)
    healthy = {}
    for chunk in out.encode("utf-8").split(b"=== ")[1:]:
        port_text, _nl, body = chunk.partition(b"\n")
        pem = _PEM.search(body)
        if pem and b"Verify return code: 0 (ok)" in body:
            der = ssl.PEM_cert_to_DER_cert(pem.group(0).decode("ascii"))
            healthy[int(port_text)] = hashlib.sha256(der).hexdigest()
    return healthy, {}


TOOLS = {"tls_probe": tls_probe, "sslyze": sslyze, "openssl_loop": openssl_loop}


def s_time(fleet, seconds):
    """openssl s_time's client user CPU per new connection (with the HTTP GET, like tls_probe)."""
    cmd = ["openssl", "s_time", "-connect", "127.0.0.1:%d" % fleet.ports[0], "-new", "-www", "/",
           "-time", str(seconds)]
    if fleet.ca_file:
        cmd += ["-CAfile", fleet.ca_file]
    _code, out = run_bounded(cmd, seconds + 60, REPO_ROOT, dict(os.environ))
    found = re.search(r"(\d+) connections in [\d.]+s; ([\d.]+) connections/user sec", out)
    if not found or float(found.group(2)) <= 0:
        raise BenchError("openssl s_time printed no rate:\n%s" % out[-800:])
    return {"connections": int(found.group(1)), "cpu_per_handshake_s": 1.0 / float(found.group(2))}


# ---------------------------------------------------------------------- measuring

def timed(name, fleet, workdir):
    started = time.perf_counter()
    if name == "openssl_loop":
        healthy, extra = openssl_loop(fleet, workdir=workdir)
    else:
        healthy, extra = TOOLS[name](fleet)
    wall = extra.pop("wall_s", None) if name == "tls_probe" else None    # the call alone (PROBE_CHILD)
    return {"tool": name, "wall_s": time.perf_counter() - started if wall is None else wall,
            "healthy": healthy, "extra": extra}


def differences(healthy, base):
    """What differs between a tool's healthy targets (port -> leaf sha256) and tls_probe's."""
    diffs = []
    only = sorted(set(healthy) - set(base))
    missing = sorted(set(base) - set(healthy))
    if only:
        diffs.append("healthy only here: %d target(s), e.g. %s" % (len(only), only[:5]))
    if missing:
        diffs.append("not healthy here: %d target(s), e.g. %s" % (len(missing), missing[:5]))
    leaf = sorted(p for p in set(base) & set(healthy) if base[p] != healthy[p])
    if leaf:
        diffs.append("different leaf: %d target(s), e.g. %s" % (len(leaf), leaf[:5]))
    return diffs


def count_connections(names, fleet, sample, workdir, max_seconds):
    """Connections per target of each tool, counted by the relay over ``sample`` targets."""
    ports = fleet.ports[:sample]
    relay = RelayProcess(ports, max_seconds)
    counted = {}
    try:
        relayed = [relay.ports[p] for p in ports]
        for name in names:
            relay.reset()
            if name == "openssl_loop":
                healthy, _extra = openssl_loop(fleet, relayed, workdir)
            else:
                healthy, _extra = TOOLS[name](fleet, relayed)
            stats = relay.stats()
            total = sum(stats["routes"][str(p)]["connections"] for p in ports)
            counted[name] = {"per_target": total / float(len(ports)), "healthy": len(healthy), "sample": len(ports)}
    finally:
        relay.stop()
    return counted


def summarize(rows):
    out = {}
    for name in dict.fromkeys(r["tool"] for r in rows):
        mine = [r for r in rows if r["tool"] == name]
        out[name] = {"wall_s": statistics.median(r["wall_s"] for r in mine),
                     "wall_s_range": [min(r["wall_s"] for r in mine), max(r["wall_s"] for r in mine)],
                     "healthy": statistics.median(len(r["healthy"]) for r in mine)}
        if name == "tls_probe":
            for key in ("cpu_s", "cpu_user_s"):   # per handshake
                out[name][key] = statistics.median(r["extra"][key] / max(1, r["extra"]["handshakes"]) for r in mine)
            out[name]["handshakes"] = statistics.median(r["extra"]["handshakes"] for r in mine)
            out[name]["processes"] = max(r["extra"]["processes"] for r in mine)
    return out


def run_mode(args, servers, mode, bundle, workdir):
    fleet = Fleet(servers, mode, bundle, args.workers)
    print("\n== trust: %s (%s)" % (mode, fleet.ca_file if fleet.ca_file else
                                   "no CA file: the default store, %s + lab root" % SYSTEM_BUNDLE))
    rows, failures = [], []
    for index in range(args.runs):
        for name in args.tools:
            row = timed(name, fleet, workdir)
            row["run"] = index + 1
            rows.append(row)
            base = next((r["healthy"] for r in rows if r["tool"] == "tls_probe" and r["run"] == row["run"]), None)
            diffs = differences(row["healthy"], base) if base is not None and name != "tls_probe" else []
            if name == "tls_probe" and len(row["healthy"]) != len(fleet.ports):
                diffs.append("tls_probe found %d of %d targets healthy (causes: %s)"
                             % (len(row["healthy"]), len(fleet.ports), row["extra"]["causes"]))
            failures += ["%s run %d: %s" % (name, index + 1, d) for d in diffs]
            print("run %d  %-13s wall %8.3f s  healthy %4d/%d  same as tls_probe: %s" % (
                index + 1, name, row["wall_s"], len(row["healthy"]), len(fleet.ports), "NO" if diffs else "yes"))
            for diff in diffs:
                print("      " + diff)
            sys.stdout.flush()
    summary = summarize(rows)
    stime = s_time(fleet, args.stime_seconds)
    counted = count_connections(args.tools, fleet, min(args.count_sample, len(fleet.ports)), workdir,
                                args.max_seconds) if args.count_sample else {}
    ratios = print_mode(summary, stime, counted)
    return {"mode": mode, "runs": [dict(r, healthy=len(r["healthy"])) for r in rows], "summary": summary,
            "s_time": stime, "connections": counted, "ratios": ratios, "failures": failures}


def print_mode(summary, stime, counted):
    print("\nmedians over the runs; connections per target counted by the relay")
    for name, s in summary.items():
        conns = counted.get(name, {}).get("per_target")
        print("  %-13s wall %8.3f s (%.3f-%.3f)  healthy %4d  connections/target %s" % (
            name, s["wall_s"], s["wall_s_range"][0], s["wall_s_range"][1], s["healthy"],
            "%.2f" % conns if conns is not None else "-"))
    base = summary["tls_probe"]
    ratios = {}
    for name, target in TARGETS.items():
        if name in summary:
            ratio = summary[name]["wall_s"] / base["wall_s"]
            ratios[name] = ratio
            print("  %-13s / tls_probe wall: %6.1fx  (target >= %.0fx: %s)" % (
                name, ratio, target, "met" if ratio >= target else "NOT met"))
    # s_time reports user CPU only: the ratio compares user CPU; user+sys is shown for tls_probe too
    cpu = base["cpu_user_s"] / stime["cpu_per_handshake_s"]
    ratios["cpu_vs_s_time"] = cpu
    print("  CPU per handshake: tls_probe %.2f ms user (%.2f ms user+sys; %d handshakes, %d process(es)), s_time "
          "%.2f ms user (%d conns): %.2fx  (target <= %.0fx: %s)" % (
              base["cpu_user_s"] * 1000, base["cpu_s"] * 1000, base["handshakes"], base["processes"],
              stime["cpu_per_handshake_s"] * 1000, stime["connections"], cpu, CPU_TARGET,
              "met" if cpu <= CPU_TARGET else "NOT met"))
    return ratios


def run_benchmark(args, isolation, workdir):
    # pylint: disable-next=import-outside-toplevel
    from bench.fleet_servers import HealthyFleet
    print("== network: %s" % ("private namespace, loopback only" if isolation is None
                              else "host network (%s)" % isolation))
    print("== %s, Python %s, %d CPUs, %s; load average %s" % (
        platform.platform(), sys.version.split()[0], os.cpu_count(),
        time.strftime("%Y-%m-%d %H:%M %Z"), " ".join("%.2f" % x for x in os.getloadavg())))
    print("== tls_probe tlsops.handshake %s; %s; %s; sslyze %s" % (
        collection_version(), command_output(["openssl", "version"]), nginx_version(),
        package_version("sslyze") if "sslyze" in args.tools else "(not run)"))
    servers = HealthyFleet(os.path.join(workdir, "fleet"), args.targets, cert_per_target=args.cert_per_target)
    modes = []
    try:
        servers.start()
        print("== nginx with %d TLS listeners up in %.2f s, %s" % (
            args.targets, servers.start_seconds,
            "a certificate per target" if args.cert_per_target else "one certificate for every target"))
        bundle = os.path.join(workdir, "system-plus-lab-root.pem")
        with open(bundle, "wb") as out:
            for path in (SYSTEM_BUNDLE, servers.ca_file):
                with open(path, "rb") as f:
                    out.write(f.read())
        os.environ["SSL_CERT_FILE"] = bundle   # the default store of every tool in this process and below
        os.environ.pop("SSL_CERT_DIR", None)
        for mode in args.trust:
            modes.append(run_mode(args, servers, mode, bundle, workdir))
    finally:
        servers.stop()
    return {"date": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "targets": args.targets, "tools": args.tools,
            "cert_per_target": args.cert_per_target,
            "network": "netns" if isolation is None else "host", "modes": modes}


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m bench.fleet_call", description=__doc__.split("\n", 1)[0])
    parser.add_argument("--targets", type=int, default=500, help="healthy targets (nginx listeners); default 500")
    parser.add_argument("--runs", type=int, default=3, help="runs per tool and trust mode (median); default 3")
    parser.add_argument("--tools", default=",".join(ALL_TOOLS), help="comma-separated from %s" % ",".join(ALL_TOOLS))
    parser.add_argument("--trust", default=",".join(TRUST_MODES), help="comma-separated from %s" % ",".join(TRUST_MODES))
    parser.add_argument("--count-sample", type=int, default=20,
                        help="targets whose connections the relay counts per tool (0: no count); default 20")
    parser.add_argument("--stime-seconds", type=int, default=5, help="openssl s_time duration; default 5")
    parser.add_argument("--workers", type=int, default=None,
                        help="tls_probe's workers (processes); default: the module's (processors, at most 8)")
    parser.add_argument("--cert-per-target", action="store_true",
                        help="a leaf certificate per target (its own serial and name, one key) instead of one for all")
    add_session_options(parser, 1800)
    args = parser.parse_args(argv)
    args.tools = [t.strip() for t in args.tools.split(",") if t.strip()]
    args.trust = [t.strip() for t in args.trust.split(",") if t.strip()]
    if set(args.tools) - set(ALL_TOOLS) or "tls_probe" not in args.tools:
        parser.error("--tools: from %s, and tls_probe (the base of every ratio) included" % ", ".join(ALL_TOOLS))
    args.tools = ["tls_probe"] + [t for t in args.tools if t != "tls_probe"]
    if not args.trust or set(args.trust) - set(TRUST_MODES):
        parser.error("--trust: from %s" % ", ".join(TRUST_MODES))
    check_ranges(parser, args, {"targets": (1, 5000), "runs": (1, 20), "max_seconds": (10, 7200)})
    if args.workers is not None:
        check_ranges(parser, args, {"workers": (1, 64)})
    return args


def _failures(report):
    failures = [f for m in report["modes"] for f in m["failures"]]
    for failure in failures:
        print("FAILED (results differ): %s" % failure)
    return failures


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    maybe_reexec(args.tools, "bench.fleet_call")
    if "sslyze" in args.tools and not sslyze_importable():
        print("sslyze is not importable (bash bench/run.sh makes build/bench-venv); run with --tools "
              "tls_probe,openssl_loop to leave it out", file=sys.stderr)
        return 2
    return session(args, "fleet-call-", run_benchmark, _failures)


if __name__ == "__main__":
    exit_with(main())
