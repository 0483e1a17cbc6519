# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Log reading cost: handshake_log_info's engine against a ``grep | awk`` pipeline, same log, same run.

    .venv/bin/python -m bench.log_read [--lines 2000000,20000000] [--shape nginx] [--runs 3] [--json FILE] [--keep]

Writes an nginx error log of ``--lines`` lines under build/bench/ (removed afterwards unless
``--keep``): 10 % TLS failure lines, the real lines nginx 1.22 / OpenSSL 3.0 wrote in the lab
(tests/unit/plugins/module_utils/fixtures/logs: proxy and listener captures, one per cause), with
varying connection numbers, clients and upstream ports, among the usual noise of an error log
(missing files, client disconnects, upstream timeouts to plain-HTTP upstreams, buffering warnings).
Some TLS lines are cut short (``[crit] 3070#3070: *2 ...``, the date gone, as grep -o or a shipper
leaves them), some end in CRLF.  ``--shape`` wraps every line as a container runtime or syslog
would: ``docker_json`` (Docker's json-file driver), ``kubectl`` (``kubectl logs --prefix
--timestamps``), ``syslog`` (rsyslog's traditional file format).

Then, ``--runs`` times, round robin: the engine (read_logs, in a child Python that reports its peak
RSS from /proc/self/status VmHWM) and ``LC_ALL=C grep -F ... | awk`` (mawk when installed) counting
the same causes.  The counts per cause must be identical, or the benchmark fails.

What the awk does NOT do (and the engine does): it maps fixed substrings of the lines generated here
to causes, first match wins.  It does not tell which side a line is on (the same OpenSSL reason can
mean another cause from a client than from an upstream), skips no plain-HTTP upstream, reads no
frame (a ``\\"`` inside Docker's JSON stays escaped; a split CRI or Docker line is two lines to it),
no ``since``, no rotated or compressed files, no samples, clients, upstreams or times.  Its table
covers exactly the lines generated here; a line shape it does not know counts as nothing.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import random
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(REPO_ROOT, "build")
FIXTURES = os.path.join(REPO_ROOT, "tests", "unit", "plugins", "module_utils", "fixtures", "logs")
SHAPES = ("nginx", "docker_json", "kubectl", "syslog")
CHUNK_LINES = 100000        # lines generated once, then written again with the next day's date
TLS_SHARE = 0.10

NOISE = [
    '{t} [error] 3070#3070: *{n} open() "/usr/share/nginx/html/favicon.ico" failed (2: No such file or directory), '
    'client: {c}, server: shop.example, request: "GET /favicon.ico HTTP/1.1", host: "shop.example"',
    "{t} [info] 3070#3070: *{n} client closed connection while waiting for request, client: {c}, server: 0.0.0.0:443",
    "{t} [error] 3070#3070: *{n} upstream timed out (110: Connection timed out) while reading response header from "
    'upstream, client: {c}, server: shop.example, request: "GET /slow HTTP/1.1", upstream: "http://10.0.0.5:8080/slow", '
    'host: "shop.example"',
    "{t} [warn] 3070#3070: *{n} an upstream response is buffered to a temporary file "
    "/var/cache/nginx/proxy_temp/1/00/0000000001 while reading upstream, client: {c}, server: shop.example",
    "{t} [info] 3070#3070: *{n} client sent invalid method while reading client request line, client: {c}, "
    'server: shop.example, request: "\\x16\\x03\\x01"',
    "{t} [notice] 3070#3070: signal process started",
]

# substring -> cause, first match wins; each names the OpenSSL reason or nginx's words of one cause
AWK_TABLE = [
    ("wrong version number", "not_tls"), ("packet length too long", "not_tls"),
    ("plain HTTP request to HTTPS port", "not_tls"),
    ("alert handshake failure", "cipher_mismatch"), ("no shared cipher", "cipher_mismatch"),
    ("peer closed connection in SSL handshake", "connection_reset"),
    ("(111: Connection refused) while connecting to upstream", "connection_refused"),
    ("verify error: (20:", "cert_chain_incomplete"), ("verify error: (21:", "cert_chain_incomplete"),
    ("dh key too small", "dh_too_small"), ("certificate does not match", "hostname_mismatch"),
    ("no ciphers available", "local_config"), ("unsafe legacy renegotiation", "legacy_renegotiation"),
    ("bad key share", "key_share_violation"), ("alert illegal parameter", "key_share_violation"),
    ("verify error: (10:", "cert_expired"), ("alert certificate expired", "cert_expired"),
    ("alert certificate required", "client_cert_required"), ("verify error: (66:", "cert_too_weak"),
    ("verify error: (9:", "cert_not_yet_valid"), ("unrecognized name", "sni_required"),
    ("handshake rejected", "sni_required"), ("verify error: (18:", "cert_untrusted"),
    ("alert unknown ca", "cert_untrusted"), ("alert bad certificate", "cert_untrusted"),
    ("alert protocol version", "protocol_mismatch"), ("unsupported protocol", "protocol_mismatch"),
    ("inappropriate fallback", "protocol_mismatch"),
    ("(110: Connection timed out) while connecting to upstream", "connect_timeout"),
    ("(110: Connection timed out) while SSL handshaking", "handshake_timeout"),
    ("no suitable key share", "group_mismatch"), ("no suitable signature algorithm", "signature_algorithm_mismatch"),
    ("unexpected message", "protocol_violation"), ("excessive message size", "protocol_violation"),
    ("no application protocol", "alpn_mismatch"), ("(113: No route to host)", "network_unreachable"),
    ("(101: Network is unreachable)", "network_unreachable"),
    ("(13: Permission denied) while connecting to upstream", "connect_forbidden"),
]
# what grep keeps for awk: every TLS line has one of the first three; the network causes (refused,
# unreachable, timed out) are nginx's connect() to an upstream
GREP_WORDS = ("SSL", "handshak", "HTTPS port", "while connecting to upstream")


def _tls_templates():
    """The real TLS lines of the lab's captures with their varying parts as fields, and the cause the
    awk table gives each (a template whose line the table does not know is left out)."""
    out = []
    for name in ("proxy-nginx-1.22-openssl-3.0.log", "listener-nginx-1.22-openssl-3.0.log",
                 "reasons-nginx-1.22-openssl-3.0.log"):
        with open(os.path.join(FIXTURES, name), encoding="utf-8", errors="replace") as fh:
            for line in fh:
                line = line.rstrip("\n")
                if not line.isascii():
                    continue
                cause = next((c for s, c in AWK_TABLE if s in line), None)
                if cause is None or " [" not in line[:22]:
                    continue
                head, _sep, rest = line.partition(" *")
                number, _sep, rest = rest.partition(" ")
                rest = rest.replace("{", "{{").replace("}", "}}")
                rest = rest.replace("client: 127.0.0.1,", "client: {c},")
                level = head[20:].split("]")[0] + "]"
                out.append(("{t} %s 3070#3070: *{n} %s" % (level, rest), cause))
    return out


def _wrap(line, shape, stamp):
    if shape == "docker_json":
        return json.dumps({"log": line + "\n", "stream": "stderr", "time": stamp + "Z"}, separators=(",", ":"))
    if shape == "kubectl":
        return "[pod/proxy-7d9f/nginx] %sZ %s" % (stamp, line)
    if shape == "syslog":
        return "Dec  6 %s proxy01 nginx: %s" % (stamp[11:19], line)
    return line


def generate(path, count, shape="nginx", seed=15):
    """Write ``count`` lines to ``path``; returns ``{cause: lines}`` as the awk table counts them."""
    rnd = random.Random(seed)
    templates = _tls_templates()
    lines, expected = [], {}
    for index in range(min(count, CHUNK_LINES)):
        stamp = "2026/12/01 %02d:%02d:%02d" % (index * 36 // CHUNK_LINES, index * 2160 // CHUNK_LINES % 60,
                                               index * 129600 // CHUNK_LINES % 60)
        client = "10.%d.%d.%d" % (rnd.randrange(4), rnd.randrange(256), rnd.randrange(256))
        if rnd.random() < TLS_SHARE:
            template, cause = rnd.choice(templates)
            line = template.format(t=stamp, n=index + 1, c=client)
            line = line.replace("127.0.0.1:", "10.1.%d.%d:" % (rnd.randrange(4), rnd.randrange(1, 250)), 1) \
                if "upstream:" in line else line
            if rnd.random() < 0.02:
                line = line[20:]                      # cut short: the date gone
            expected[cause] = expected.get(cause, 0) + 1
        else:
            line = rnd.choice(NOISE).format(t=stamp, n=index + 1, c=client)
        iso = "2026-12-01T%s.%06d" % (stamp[11:], index % 1000000)
        end = "\r\n" if rnd.random() < 0.01 and shape == "nginx" else "\n"
        lines.append(_wrap(line, shape, iso) + end)
    chunk = "".join(lines).encode("utf-8")
    repeats, rest = divmod(count, CHUNK_LINES) if count > CHUNK_LINES else (1, 0)
    day0 = datetime.date(2026, 12, 1)
    with open(path, "wb") as fh:
        for day in range(repeats):
            date = day0 + datetime.timedelta(days=day)
            fh.write(chunk.replace(b"2026/12/01 ", date.strftime("%Y/%m/%d ").encode())
                     .replace(b"2026-12-01T", date.strftime("%Y-%m-%dT").encode()))
        if rest:
            fh.write(b"".join(chunk.splitlines(True)[:rest]))
    scale = {cause: n * repeats for cause, n in expected.items()}
    if rest:
        extra = {}
        for line in chunk.splitlines()[:rest]:
            text = line.decode("utf-8")
            cause = next((c for s, c in AWK_TABLE if s in text), None)
            if cause:
                extra[cause] = extra.get(cause, 0) + 1
        for cause, n in extra.items():
            scale[cause] = scale.get(cause, 0) + n
    return scale


def awk_program():
    """An awk program that counts, per line, the cause of the first AWK_TABLE substring in it."""
    rules = []
    for needle, cause in AWK_TABLE:
        rules.append('index($0, "%s") { c["%s"]++; next }' % (needle.replace("\\", "\\\\").replace('"', '\\"'), cause))
    return "\n".join(rules) + '\nEND { for (k in c) print k, c[k] }\n'


def _children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_awk(path, program_path, timeout):
    awk = shutil.which("mawk") or shutil.which("awk") or "awk"
    grep = ["grep", "-F"] + [a for w in GREP_WORDS for a in ("-e", w)]
    env = dict(os.environ, LC_ALL="C")
    cpu0 = _children_cpu()
    t0 = time.monotonic()
    # pylint: disable-next=consider-using-with
    greper = subprocess.Popen(grep + [path], stdout=subprocess.PIPE, env=env)
    try:
        out = subprocess.run([awk, "-f", program_path], stdin=greper.stdout, capture_output=True, text=True,
                             timeout=timeout, env=env, check=True).stdout
    finally:
        if greper.stdout is not None:
            greper.stdout.close()
        if greper.wait(timeout=timeout) not in (0, 1):
            raise RuntimeError("grep failed")
    seconds = time.monotonic() - t0
    cpu = _children_cpu() - cpu0
    counts = {}
    for line in out.splitlines():
        cause, number = line.split()
        counts[cause] = int(number)
    return {"seconds": seconds, "cpu_seconds": cpu, "counts": counts, "tool": os.path.basename(awk)}


ENGINE_CHILD = r"""
import json, resource, sys, time
from tests.collection_path import ensure_importable
ensure_importable()
from ansible_collections.tlsops.handshake.plugins.module_utils._logs.read import read_logs

def hwm_kb():
    with open("/proc/self/status") as fh:
        return int([l for l in fh if l.startswith("VmHWM:")][0].split()[1])

def cpu_seconds():
    return sum(u.ru_utime + u.ru_stime for u in (resource.getrusage(resource.RUSAGE_SELF),
                                                  resource.getrusage(resource.RUSAGE_CHILDREN)))

before = hwm_kb()
cpu0 = cpu_seconds()
t0 = time.monotonic()
workers = int(sys.argv[3]) if sys.argv[3] != "default" else None
since = sys.argv[4] or None
res = read_logs(paths=[sys.argv[1]], rotated=False, format=sys.argv[2], workers=workers, since=since)
seconds = time.monotonic() - t0
cpu = cpu_seconds() - cpu0       # the workers' too: they are forked children, waited for
json.dump({"seconds": seconds, "cpu_seconds": cpu, "hwm_before_kb": before, "hwm_kb": hwm_kb(),
           "workers_hwm_kb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
           "lines_read": res["lines_read"], "bytes_read": res["bytes_read"],
           "lines_before_since": res["lines_before_since"],
           "counts": {k: v["count"] for k, v in res["events"]["by_cause"].items()}}, sys.stdout)
"""


def run_engine(path, shape, timeout, workers=None, since=None):
    fmt = "auto" if shape == "nginx" else shape
    proc = subprocess.run([sys.executable, "-c", ENGINE_CHILD, path, fmt, str(workers or "default"), since or ""],
                          capture_output=True, text=True,
                          timeout=timeout, cwd=REPO_ROOT, check=False,
                          env=dict(os.environ, PYTHONPATH=REPO_ROOT))
    if proc.returncode != 0:
        raise RuntimeError("engine failed: %s" % proc.stderr[-2000:])
    return json.loads(proc.stdout)


class BenchFailed(Exception):
    pass


def bench_size(args, workdir, count):
    path = os.path.join(workdir, "error-%d.log" % count)
    t0 = time.monotonic()
    expected = generate(path, count, args.shape)
    size = os.path.getsize(path)
    print("== %d lines, %.0f MB (%s), %d TLS lines, written in %.1f s"
          % (count, size / 1e6, args.shape, sum(expected.values()), time.monotonic() - t0), flush=True)
    program = os.path.join(workdir, "causes.awk")
    with open(program, "w", encoding="utf-8") as fh:
        fh.write(awk_program())
    runs = []
    try:
        for run in range(args.runs):
            engine = run_engine(path, args.shape, args.max_seconds, args.workers)
            awk = run_awk(path, program, args.max_seconds)
            same = engine["counts"] == awk["counts"] == expected
            print("run %d: engine %.2f s (%.2f s CPU, VmHWM %.1f MB, workers' max %.1f MB)  grep|%s %.2f s (%.2f s CPU)"
                  "  ratio %.2f  counts %s"
                  % (run + 1, engine["seconds"], engine["cpu_seconds"], engine["hwm_kb"] / 1024.0,
                     engine["workers_hwm_kb"] / 1024.0, awk["tool"],
                     awk["seconds"], awk["cpu_seconds"], engine["seconds"] / max(awk["seconds"], 1e-6),
                     "identical" if same else "DIFFER"), flush=True)
            if not same:
                causes = sorted(set(engine["counts"]) | set(awk["counts"]) | set(expected))
                for cause in causes:
                    print("   %-30s engine %-9s awk %-9s generated %s" % (cause, engine["counts"].get(cause),
                                                                          awk["counts"].get(cause),
                                                                          expected.get(cause)))
                raise BenchFailed("the counts per cause differ at %d lines" % count)
            if engine["lines_read"] != count:
                raise BenchFailed("the engine read %d lines of %d" % (engine["lines_read"], count))
            run_result = {"engine": engine, "awk": awk}
            if args.since:
                run_result["engine_since"] = timed = run_engine(path, args.shape, args.max_seconds, args.workers,
                                                                args.since)
                print("       engine with since %s: %.2f s (%.2f s CPU), %d lines before it, %d events after"
                      % (args.since, timed["seconds"], timed["cpu_seconds"], timed["lines_before_since"],
                         sum(timed["counts"].values())), flush=True)
            runs.append(run_result)
    finally:
        if not args.keep:
            os.unlink(path)
    engine_s = statistics.median(r["engine"]["seconds"] for r in runs)
    awk_s = statistics.median(r["awk"]["seconds"] for r in runs)
    engine_cpu = statistics.median(r["engine"]["cpu_seconds"] for r in runs)
    summary = {"lines": count, "bytes": size, "shape": args.shape, "tls_lines": sum(expected.values()),
               "engine_seconds": engine_s, "engine_cpu_seconds": engine_cpu,
               "awk_seconds": awk_s, "ratio": engine_s / max(awk_s, 1e-6),
               "awk_cpu_seconds": statistics.median(r["awk"]["cpu_seconds"] for r in runs),
               "engine_peak_rss_mb": max(r["engine"]["hwm_kb"] for r in runs) / 1024.0,
               "workers_peak_rss_mb": max(r["engine"]["workers_hwm_kb"] for r in runs) / 1024.0,
               "workers": args.workers or "default",
               "since": args.since,
               "engine_since_seconds": statistics.median(r["engine_since"]["seconds"] for r in runs)
               if args.since else None,
               "engine_since_cpu_seconds": statistics.median(r["engine_since"]["cpu_seconds"] for r in runs)
               if args.since else None,
               "counts": expected, "runs": runs}
    summary["cpu_ratio"] = summary["engine_cpu_seconds"] / max(summary["awk_cpu_seconds"], 1e-6)
    print("   median: engine %.2f s, grep|awk %.2f s: ratio %.2f (CPU: %.2f s / %.2f s = %.2f); engine peak RSS %.1f MB,"
          " each worker's at most %.1f MB (workers: %s)"
          % (engine_s, awk_s, summary["ratio"], summary["engine_cpu_seconds"], summary["awk_cpu_seconds"],
             summary["cpu_ratio"], summary["engine_peak_rss_mb"], summary["workers_peak_rss_mb"], summary["workers"]),
          flush=True)
    if args.since:
        print("   median with since %s: engine %.2f s (%.2f s CPU): %.2f times grep|awk's wall without it"
              % (args.since, summary["engine_since_seconds"], summary["engine_since_cpu_seconds"],
                 summary["engine_since_seconds"] / max(awk_s, 1e-6)), flush=True)
    return summary


def _terminate(signum, _frame):
    raise SystemExit(128 + signum)


def _whole(low, high):
    """An argparse type: a whole number from ``low`` to ``high``."""
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            value = low - 1
        if not low <= value <= high:
            raise argparse.ArgumentTypeError("%r is not a whole number from %d to %d" % (text, low, high))
        return value
    return parse


def _line_counts(text):
    counts = [_whole(1000, 100000000)(part) for part in text.split(",") if part.strip()]
    if not counts:
        raise argparse.ArgumentTypeError("give line counts separated by commas, such as 2000000,20000000")
    return counts


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m bench.log_read", description=__doc__.split("\n", 1)[0],
                                     epilog="Default: 2,000,000 lines (about 380 MB), 3 runs. "
                                            "--lines 2000000,20000000 adds the 20 M lines (about 3.8 GB) "
                                            "memory check; it needs that much free disk in build/bench/.")
    parser.add_argument("--lines", type=_line_counts, default=[2000000],
                        help="comma-separated line counts, each 1000 to 100000000; default 2000000")
    parser.add_argument("--shape", choices=SHAPES, default="nginx", help="how every line is wrapped; default nginx")
    parser.add_argument("--runs", type=_whole(1, 20), default=3, help="runs of each side per size (median); default 3")
    parser.add_argument("--max-seconds", type=_whole(10, 7200), default=1800,
                        help="bound for the whole benchmark; default 1800")
    parser.add_argument("--since",
                        help="also time the engine with this since (ISO, such as 2026-12-05T00:00:00; "
                             "the generated days start on 2026-12-01), which grep|awk does not do")
    parser.add_argument("--workers", type=_whole(1, 8), default=None,
                        help="handshake_log_info's workers (processes reading one file); default: the module's "
                             "(the processors allowed, at most 8)")
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument("--keep", action="store_true", help="keep the generated logs under build/bench/")
    return parser.parse_args(argv)


@contextlib.contextmanager
def _bounded_workdir(args):
    """A fresh directory under build/bench/ for the generated logs, removed at the end (unless ``--keep``),
    with the whole run bounded by ``--max-seconds`` and ended cleanly by SIGTERM or SIGHUP."""
    for signum in (signal.SIGTERM, signal.SIGHUP, signal.SIGALRM):
        signal.signal(signum, _terminate)
    signal.alarm(args.max_seconds)
    os.makedirs(os.path.join(BUILD, "bench"), exist_ok=True)
    workdir = tempfile.mkdtemp(prefix="log_read-", dir=os.path.join(BUILD, "bench"))
    try:
        yield workdir
    finally:
        signal.alarm(0)
        if args.keep:
            print("work directory kept: %s" % workdir)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    with _bounded_workdir(args) as workdir:
        try:
            summaries = [bench_size(args, workdir, count) for count in args.lines]
        except (BenchFailed, RuntimeError, subprocess.SubprocessError) as exc:
            print("benchmark FAILED: %s" % exc, file=sys.stderr)
            return 1
    if len(summaries) > 1:
        peaks = ["%.1f MB at %d lines" % (s["engine_peak_rss_mb"], s["lines"]) for s in summaries]
        print("peak RSS: %s" % ", ".join(peaks))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump({"python": sys.version.split()[0], "sizes": summaries}, fh, indent=2, sort_keys=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
