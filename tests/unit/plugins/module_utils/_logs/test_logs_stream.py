# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A 1 GB error log is streamed in bounded memory and in time linear in its size.

The log is a ~1 MB block of realistic lines (the lab's real proxy and listener lines, with
thousands of client addresses, among the ordinary noise of an error log) written 1024 times.
The reader runs in a child process that reports its own peak RSS before and after, and the CPU
time of the 1 GB read and of a 16 MB read of the same block (the baseline, measured in the same
run): the 1 GB read may cost at most LINEAR_SLACK times 64 baselines.  CPU time, not wall time,
and a baseline from the same run: a loaded 2-core machine stretches wall time (90 s instead of
25 s was seen) but not the work done, so the bound stays tight enough to catch a reader that
is quadratic or slows with what it has kept, and loose enough not to fail on a busy machine.
How fast it is in absolute terms is a benchmark's claim (docs/benchmarks.md), not this test's.
"""
from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import time

import pytest

from ansible_collections.tlsops.handshake.plugins.module_utils._logs.read import read_logs

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fixtures", "logs")
GB = 1 << 30
REPEAT = 1024
BASELINE_REPEAT = 16
# A linear reader costs about REPEAT / BASELINE_REPEAT (64) baselines; the slack absorbs cache
# and page-cache effects of a 1 GB file (measured: 60-74 baselines, alone and with two CPU burners).
LINEAR_SLACK = 2.0

NOISE = [
    b'2026/12/01 21:32:49 [error] 3070#3070: *%d open() "/usr/share/nginx/html/favicon.ico" failed (2: No such '
    b'file or directory), client: 10.9.%d.%d, server: shop.example, request: "GET /favicon.ico HTTP/1.1", '
    b'host: "shop.example"\n',
    b"2026/12/01 21:32:49 [info] 3070#3070: *%d client closed connection while waiting for request, client: "
    b"10.9.%d.%d, server: 0.0.0.0:443\n",
    b"2026/12/01 21:32:49 [error] 3070#3070: *%d upstream timed out (110: Connection timed out) while reading "
    b'response header from upstream, client: 10.9.%d.%d, server: shop.example, request: "GET /slow HTTP/1.1", '
    b'upstream: "http://10.0.0.5:8080/slow", host: "shop.example"\n',
    b"2026/12/01 21:32:49 [warn] 3070#3070: *%d an upstream response is buffered to a temporary file "
    b"/var/cache/nginx/proxy_temp/1/00/0000000001 while reading upstream, client: 10.9.%d.%d, server: shop.example\n",
]

# ru_maxrss of a child carries the peak of the process it was forked from (pytest) across exec, which
# could hide growth below that peak; /proc's VmHWM is this program's own peak, so both are checked.
CHILD = r"""
import json, resource, sys, time
from ansible_collections.tlsops.handshake.plugins.module_utils._logs.read import read_logs

def cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime

def hwm_kb():
    try:
        with open("/proc/self/status") as fh:
            return int([l for l in fh if l.startswith("VmHWM:")][0].split()[1])
    except (OSError, IndexError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

before = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, hwm_kb())
t0, c0 = time.monotonic(), cpu_seconds()
res = read_logs(paths=[sys.argv[1]], rotated=False)
seconds, cpu = time.monotonic() - t0, cpu_seconds() - c0
after = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, hwm_kb())
# the baseline after the peak was measured, so its own memory cannot hide the big read's
c0 = cpu_seconds()
read_logs(paths=[sys.argv[2]], rotated=False)
baseline_cpu = cpu_seconds() - c0
json.dump({"before_kb": before, "after_kb": after, "seconds": seconds, "cpu_seconds": cpu,
           "baseline_cpu_seconds": baseline_cpu, "result": res}, sys.stdout)
"""


def _block(size=1 << 20):
    rnd = random.Random(7)
    with open(os.path.join(FIXTURES, "proxy-nginx-1.22-openssl-3.0.log"), "rb") as fh:
        proxy = fh.readlines()
    with open(os.path.join(FIXTURES, "listener-nginx-1.22-openssl-3.0.log"), "rb") as fh:
        listener = fh.readlines()
    out, total = [], 0
    while total < size:
        r = rnd.random()
        if r < 0.45:
            line = rnd.choice(proxy)
        elif r < 0.65:
            line = rnd.choice(listener).replace(b"client: 127.0.0.1", b"client: 203.0.%d.%d"
                                                % (rnd.randrange(256), rnd.randrange(256)))
        else:
            line = rnd.choice(NOISE) % (rnd.randrange(10 ** 6), rnd.randrange(256), rnd.randrange(256))
        out.append(line)
        total += len(line)
    return b"".join(out)


def test_a_1_gb_log_is_streamed_in_bounded_memory(tmp_path):
    if shutil.disk_usage(str(tmp_path)).free < 3 * GB:
        pytest.skip("needs 3 GB free in %s for a 1 GB log" % tmp_path)
    block = _block()
    one = tmp_path / "block.log"
    one.write_bytes(block)
    expected = read_logs(paths=[str(one)], rotated=False)
    baseline = tmp_path / "baseline.log"
    baseline.write_bytes(block * BASELINE_REPEAT)
    path = tmp_path / "error.log"
    try:
        t0 = time.monotonic()
        with open(str(path), "wb") as fh:
            for _copy in range(REPEAT):
                fh.write(block)
        written = time.monotonic() - t0
        assert os.path.getsize(str(path)) >= GB
        proc = subprocess.run([sys.executable, "-c", CHILD, str(path), str(baseline)], capture_output=True, text=True,
                              timeout=300, check=False, env=dict(os.environ))
        assert proc.returncode == 0, proc.stderr[-3000:]
        report = json.loads(proc.stdout)
    finally:
        if path.exists():
            path.unlink()
    res = report["result"]
    (maxrss_before, hwm_before), (maxrss_after, hwm_after) = report["before_kb"], report["after_kb"]
    cpu, baseline_cpu = report["cpu_seconds"], report["baseline_cpu_seconds"]
    print("1 GB: written in %.1f s, read in %.1f s (%.1f s CPU; 16 MB baseline %.2f s CPU, ratio %.1f); "
          "ru_maxrss %d -> %d kB, VmHWM %d -> %d kB"
          % (written, report["seconds"], cpu, baseline_cpu, cpu / max(baseline_cpu, 1e-3),
             maxrss_before, maxrss_after, hwm_before, hwm_after))
    assert (maxrss_after - maxrss_before) / 1024.0 < 100
    assert (hwm_after - hwm_before) / 1024.0 < 100
    linear = (REPEAT / BASELINE_REPEAT) * baseline_cpu
    assert cpu <= LINEAR_SLACK * linear, "1 GB took %.1f s CPU, %.1f times the linear %.1f s" % (cpu, cpu / linear, linear)
    # the aggregates are exactly 1024 times those of one block
    assert res["lines_read"] == REPEAT * expected["lines_read"]
    assert res["bytes_read"] == REPEAT * len(block)
    assert res["events"]["total"] == REPEAT * expected["events"]["total"]
    assert res["unparsed"]["count"] == REPEAT * expected["unparsed"]["count"]
    for cause, group in expected["events"]["by_cause"].items():
        assert res["events"]["by_cause"][cause]["count"] == REPEAT * group["count"], cause
        assert res["events"]["by_cause"][cause]["samples"] == group["samples"]
    assert [(c["address"], c["count"]) for c in res["clients"]] == \
        [(c["address"], REPEAT * c["count"]) for c in expected["clients"]]
    assert res["clients_approximate"] is False
