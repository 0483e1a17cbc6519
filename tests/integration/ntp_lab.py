# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Test time servers on loopback, for tests/integration/test_time_sync_info.py.

* ``NtpServer``: a tiny SNTP server in a thread on 127.0.0.1 and a free port that
  answers with a chosen clock offset, stratum, leap indicator, a kiss-o'-death,
  a truncated or spoofed reply, or silence.  Settings can change while it runs.
* ``Chronyd``: a real chronyd (the copy ``make deps`` extracts to build/chrony/,
  else the system one) started with a config that names only loopback: a local
  reference (``local stratum``) serving on a high port, or a client of one of the
  servers above.  Always ``-x`` (never touches the system clock), ``-d`` (stays in
  the foreground, so it is our child), ``-u root`` (no _chrony user is needed).
* ``HttpDateServer``: http.server on loopback whose Date header is skewed.

Nothing here talks to any address outside 127.0.0.0/8.

``python -m tests.integration.ntp_lab capture DIR`` re-captures the chronyc
fixtures of the unit tests (see tests/unit/plugins/module_utils/fixtures/clock/).
"""

from __future__ import annotations

import email.utils
import http.server
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CHRONY_ROOT = os.path.join(REPO_ROOT, "build", "chrony")
NTP_EPOCH_OFFSET = 2208988800
PACKET = struct.Struct("!BBbbII4sQQQQ")


def _ntp(unix_time):
    ntp = unix_time + NTP_EPOCH_OFFSET
    seconds = int(ntp)
    return ((seconds & 0xFFFFFFFF) << 32) | (int((ntp - seconds) * (1 << 32)) & 0xFFFFFFFF)


def free_udp_port():
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
    finally:
        sock.close()


class NtpServer(object):
    """An SNTP server on 127.0.0.1 whose clock is ``offset`` seconds ahead of ours.

    mode: ``answer`` (default), ``silent``, ``kiss`` (stratum 0 and refid ``kiss_code``),
    ``truncated`` (20 bytes), ``spoof`` (a wrong origin timestamp).
    """

    def __init__(self, offset=0.0, stratum=2, leap=0, mode="answer", kiss_code="RATE",
                 refid=b"\x7f\x00\x00\x01", delay=0.0, port=0):
        self.offset = offset
        self.stratum = stratum
        self.leap = leap
        self.mode = mode
        self.kiss_code = kiss_code
        self.refid = refid
        self.delay = delay
        self.requests = 0
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.bind(("127.0.0.1", port))
        self._sock.settimeout(0.1)
        self.host, self.port = self._sock.getsockname()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="ntp-lab-%d" % self.port, daemon=True)

    @property
    def address(self):
        return "127.0.0.1:%d" % self.port

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(5)
        self._sock.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def _serve(self):
        while not self._stop.is_set():
            try:
                data, peer = self._sock.recvfrom(1024)
            except socket.timeout:
                continue
            except OSError:
                return
            received = time.time() + self.offset
            if len(data) < 48:
                continue
            self.requests += 1
            reply = self.reply(data, received)
            if reply is None:
                continue
            if self.delay:
                time.sleep(self.delay)
            try:
                self._sock.sendto(reply, peer)
            except OSError:
                pass

    def reply(self, request, received):
        """The reply to ``request`` (None for silence)."""
        mode = self.mode
        if mode == "silent":
            return None
        version = (request[0] >> 3) & 7 or 4
        origin = struct.unpack_from("!Q", request, 40)[0]
        stratum, refid, leap = self.stratum, self.refid, self.leap
        if mode == "kiss":
            stratum, refid, leap = 0, self.kiss_code.encode("ascii").ljust(4, b"\0")[:4], 3
        if mode == "spoof":
            origin ^= 0x5A5A5A5A00000000
        now = time.time() + self.offset
        packet = PACKET.pack((leap << 6) | (version << 3) | 4, stratum, 6, -20,
                             int(0.0005 * 65536), int(0.001 * 65536), refid,
                             _ntp(now - 16), origin, _ntp(received), _ntp(time.time() + self.offset))
        if mode == "truncated":
            return packet[:20]
        return packet


def chrony_binaries():
    """(chronyd, chronyc): build/chrony/ from ``make deps`` first, then the system's; None if absent."""
    candidates = [(os.path.join(CHRONY_ROOT, "usr", "sbin", "chronyd"), os.path.join(CHRONY_ROOT, "usr", "bin", "chronyc"))]
    system_d = shutil.which("chronyd") or "/usr/sbin/chronyd"
    system_c = shutil.which("chronyc") or "/usr/bin/chronyc"
    candidates.append((system_d, system_c))
    for chronyd, chronyc in candidates:
        if os.access(chronyd, os.X_OK) and os.access(chronyc, os.X_OK):
            return chronyd, chronyc
    return None


class Chronyd(object):
    """A real chronyd on loopback, confined to a temporary directory.

    ``servers``: ``[(host, port)]`` it should use as sources; none makes it a local reference
    (``local stratum N``) that serves NTP on ``self.port``.  ``serve=False`` makes it a pure
    client (``port 0``).
    """

    def __init__(self, workdir, servers=(), local_stratum=8, serve=True, extra=(), name="chronyd"):
        binaries = chrony_binaries()
        if binaries is None:
            raise RuntimeError("chronyd/chronyc not found: run `make deps` (extracts chrony to build/chrony/)")
        self.chronyd, self.chronyc = binaries
        self.dir = tempfile.mkdtemp(prefix=name + "-", dir=workdir)
        os.chmod(self.dir, 0o700)  # chronyd refuses a command socket in a directory others can enter
        self.socket = os.path.join(self.dir, "chronyd.sock")
        self.conf = os.path.join(self.dir, "chrony.conf")
        self.log = os.path.join(self.dir, "chronyd.log")
        self.servers = list(servers)
        self.local_stratum = local_stratum
        self.serve = serve
        self.port = free_udp_port() if serve else 0
        self.extra = list(extra)
        self.proc = None

    def config_text(self):
        lines = ["# written by tests/integration/ntp_lab.py: loopback only"]
        for host, port in self.servers:
            lines.append("server %s port %d iburst minpoll -4 maxpoll -4" % (host, port))
        if not self.servers and self.local_stratum:
            lines.append("local stratum %d" % self.local_stratum)
        if self.serve:
            lines += ["allow 127.0.0.1", "bindaddress 127.0.0.1"]
        lines += [
            "port %d" % self.port,
            "bindcmdaddress %s" % self.socket,
            "cmdport 0",
            "pidfile %s" % os.path.join(self.dir, "chronyd.pid"),
            "driftfile %s" % os.path.join(self.dir, "chrony.drift"),
        ]
        lines += self.extra
        return "\n".join(lines) + "\n"

    def start(self, timeout=10.0):
        with open(self.conf, "w") as handle:
            handle.write(self.config_text())
        logf = open(self.log, "ab")
        try:
            self.proc = subprocess.Popen([self.chronyd, "-x", "-d", "-u", "root", "-f", self.conf],
                                         stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT)
        finally:
            logf.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("chronyd exited (%s):\n%s" % (self.proc.returncode, self.read_log()))
            if os.path.exists(self.socket) and self.chronyc_run("tracking").returncode == 0:
                return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("chronyd did not open %s in %s s:\n%s" % (self.socket, timeout, self.read_log()))

    def chronyc_run(self, *args):
        return subprocess.run([self.chronyc, "-n", "-h", self.socket] + list(args), capture_output=True,
                              text=True, timeout=10, check=False)

    def wait_synchronized(self, timeout=15.0):
        """Wait until ``chronyc tracking`` shows a selected source (not the local reference)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            out = self.chronyc_run("-c", "tracking").stdout.split(",")
            if len(out) > 2 and out[0] not in ("00000000", "7F7F0101") and out[-1].strip() != "Not synchronised":
                return out
            time.sleep(0.2)
        raise RuntimeError("chronyd did not synchronise in %s s:\n%s" % (timeout, self.read_log()))

    def read_log(self):
        try:
            with open(self.log, encoding="utf-8", errors="replace") as handle:
                return handle.read()[-4000:]
        except OSError:
            return ""

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


class HttpDateServer(object):
    """HTTP on 127.0.0.1 whose Date header is ``offset`` seconds ahead of our clock."""

    def __init__(self, offset=0.0, date=None):
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def date_time_string(self, timestamp=None):
                if outer.date is not None:
                    return outer.date
                return email.utils.formatdate(time.time() + outer.offset, usegmt=True)

            def do_HEAD(self):
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_GET(self):
                self.do_HEAD()

            def log_message(self, *args):
                pass

        self.offset = offset
        self.date = date
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.url = "http://127.0.0.1:%d/" % self.port
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.1},
                                        daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


TIMESYNCD = "/lib/systemd/systemd-timesyncd"

# Runs inside `unshare -U -m -n`: a user namespace (root there has no power over the real
# clock: clock_adjtime fails with EPERM), a private mount namespace (tmpfs over /run and
# /var/lib/systemd, our timesyncd.conf bound over the system one) and a network namespace
# that holds only loopback, where our NTP server answers on 127.0.0.1:123.
_TIMESYNCD_SCRIPT = r"""
set -eu
echo $$ > "$LAB/bash.pid"
# stop(): TERM to this shell, which stops its children and reaps them (nothing is left a zombie)
# (`env kill`, not the builtin: this shell was exec'd before its uid was mapped, so it holds no
# capabilities itself and may not signal timesyncd's and dbus' users; a fresh exec does)
trap 'env kill $(jobs -p) 2>/dev/null; wait; exit 0' TERM
read -r go < "$LAB/fifo"
ip link set lo up
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /var/lib/systemd
mkdir -p /run/systemd/system /run/dbus
mount --bind "$LAB/timesyncd.conf" /etc/systemd/timesyncd.conf
cd "$REPO"
"$PYTHON" -m tests.integration.ntp_lab serve 123 "$OFFSET" "$LAB/ntp.ready" > "$LAB/ntp.log" 2>&1 &
for i in $(seq 100); do [ -e "$LAB/ntp.ready" ] && break; sleep 0.05; done
dbus-daemon --system --nofork --nopidfile > "$LAB/dbus.log" 2>&1 &
for i in $(seq 50); do [ -S /run/dbus/system_bus_socket ] && break; sleep 0.1; done
"$TIMESYNCD" > "$LAB/timesyncd.log" 2>&1 &
echo started > "$LAB/started"
while true; do wait || true; sleep 1; done
"""


class TimesyncdNamespace(object):
    """The system's real systemd-timesyncd (and a D-Bus system bus for timedatectl), confined
    to new user, mount and network namespaces, synchronising from an NtpServer on the
    namespace's own 127.0.0.1:123.  ``nsenter_prefix()`` runs a command inside (to run the
    module where timedatectl can reach this timesyncd).  Root only."""

    def __init__(self, workdir, offset=0.0):
        self.dir = tempfile.mkdtemp(prefix="timesyncd-", dir=workdir)
        os.chmod(self.dir, 0o755)
        self.offset = offset
        self.proc = None
        self.userns = None

    @staticmethod
    def available():
        missing = [tool for tool in ("unshare", "nsenter", "dbus-daemon", "ip", "timedatectl")
                   if shutil.which(tool) is None]
        if not os.access(TIMESYNCD, os.X_OK):
            missing.append(TIMESYNCD)
        if os.geteuid() != 0:
            missing.append("root")
        return missing

    def start(self, timeout=15.0):
        with open(os.path.join(self.dir, "timesyncd.conf"), "w") as handle:
            handle.write("[Time]\nNTP=127.0.0.1\nFallbackNTP=\nPollIntervalMinSec=16\nPollIntervalMaxSec=32\n")
        script = os.path.join(self.dir, "inner.sh")
        with open(script, "w") as handle:
            handle.write(_TIMESYNCD_SCRIPT)
        os.mkfifo(os.path.join(self.dir, "fifo"))
        env = dict(os.environ, LAB=self.dir, REPO=REPO_ROOT, PYTHON=sys.executable, OFFSET=str(self.offset),
                   TIMESYNCD=TIMESYNCD)
        self.proc = subprocess.Popen(["unshare", "-U", "-m", "-n", "--fork", "--kill-child", "bash", script],
                                     env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=open(os.path.join(self.dir, "unshare.log"), "wb"),
                                     start_new_session=True)
        try:
            # map every uid/gid to itself, so timesyncd can drop to its systemd-timesync user
            deadline = time.monotonic() + 5
            while not self._in_new_userns():
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise RuntimeError("unshare did not start: %s" % self.read_logs())
                time.sleep(0.02)
            self.userns = os.readlink("/proc/%d/ns/user" % self.proc.pid)
            for name in ("uid_map", "gid_map"):
                with open("/proc/%d/%s" % (self.proc.pid, name), "w") as handle:
                    handle.write("0 0 4294967295\n")
            with open(os.path.join(self.dir, "fifo"), "w") as handle:
                handle.write("go\n")
            self.wait_synchronized(deadline=time.monotonic() + timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _in_new_userns(self):
        try:
            return os.readlink("/proc/%d/ns/user" % self.proc.pid) != os.readlink("/proc/self/ns/user")
        except OSError:
            return False

    def nsenter_prefix(self):
        return ["nsenter", "-t", str(self.proc.pid), "-U", "-m", "-n", "--preserve-credentials"]

    def timedatectl(self, *args):
        return subprocess.run(self.nsenter_prefix() + ["timedatectl", "--no-pager"] + list(args),
                              capture_output=True, text=True, timeout=10, check=False,
                              env=dict(os.environ, LC_ALL="C", SYSTEMD_COLORS="0"))

    def wait_synchronized(self, deadline):
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("the timesyncd namespace ended: %s" % self.read_logs())
            if os.path.exists(os.path.join(self.dir, "started")):
                out = self.timedatectl("show-timesync", "--all").stdout
                if "PacketCount=" in out and "PacketCount=0" not in out:
                    return out
            time.sleep(0.2)
        raise RuntimeError("systemd-timesyncd did not synchronise: %s" % self.read_logs())

    def timesyncd_pids(self):
        pids = []
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open("/proc/%s/comm" % entry) as handle:
                        comm = handle.read().strip()
                    if comm == "systemd-timesyn" and os.readlink("/proc/%s/ns/user" % entry) == self.userns:
                        pids.append(int(entry))
                except OSError:
                    continue
        return pids

    def read_logs(self):
        text = []
        for name in ("unshare.log", "timesyncd.log", "dbus.log", "ntp.log"):
            try:
                with open(os.path.join(self.dir, name), errors="replace") as handle:
                    text.append("%s: %s" % (name, handle.read()[-1500:]))
            except OSError:
                pass
        return "\n".join(text)

    def stop(self):
        if self.proc is None:
            return
        try:
            with open(os.path.join(self.dir, "bash.pid")) as handle:
                os.kill(int(handle.read().strip()), signal.SIGTERM)
        except (OSError, ValueError):
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except OSError:
                pass
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except OSError:
                pass
            self.proc.wait(5)
        # anything of ours that outlived its shell (dbus-daemon, timesyncd): by user namespace
        for pid in self._pids_in_userns():
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        self.proc = None

    def _pids_in_userns(self):
        if not self.userns or self.userns == os.readlink("/proc/self/ns/user"):
            return []
        pids = []
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    if os.readlink("/proc/%s/ns/user" % entry) == self.userns:
                        pids.append(int(entry))
                except OSError:
                    continue
        return pids

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def serve(port, offset, ready_file=None):
    """``python -m tests.integration.ntp_lab serve PORT OFFSET [READY_FILE]``: an NtpServer in the
    foreground; READY_FILE is created once it listens."""
    server = NtpServer(offset=offset, port=port).start()
    if ready_file:
        with open(ready_file, "w") as handle:
            handle.write("%d\n" % server.port)
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
    try:
        while True:
            time.sleep(3600)
    finally:
        server.stop()


def capture(outdir):
    """Capture real chronyc output (synchronised client, local reference, unsynchronised client,
    client of a +90 s server) into ``outdir``; the unit tests parse these files."""
    os.makedirs(outdir, exist_ok=True)
    work = tempfile.mkdtemp(prefix="chrony-capture-")
    outputs = {}
    try:
        with Chronyd(work, name="server") as server, \
                NtpServer(offset=90.0, stratum=3) as ahead, \
                NtpServer(mode="silent") as silent:
            with Chronyd(work, servers=[("127.0.0.1", server.port)], serve=False, name="client") as client:
                client.wait_synchronized()
                time.sleep(2)
                outputs["client-synced"] = client
                _dump(outdir, "chronyc-tracking-synced.csv", client.chronyc_run("-c", "tracking"))
                _dump(outdir, "chronyc-sources-synced.csv", client.chronyc_run("-c", "sources"))
                _dump(outdir, "chronyc-tracking-synced.txt", client.chronyc_run("tracking"))
                _dump(outdir, "chronyc-sources-synced.txt", client.chronyc_run("sources"))
            _dump(outdir, "chronyc-tracking-local.csv", server.chronyc_run("-c", "tracking"))
            _dump(outdir, "chronyc-sources-local.csv", server.chronyc_run("-c", "sources"))
            with Chronyd(work, servers=[("127.0.0.1", silent.port)], serve=False, name="unsynced") as lonely:
                time.sleep(3)
                _dump(outdir, "chronyc-tracking-unsynced.csv", lonely.chronyc_run("-c", "tracking"))
                _dump(outdir, "chronyc-sources-unsynced.csv", lonely.chronyc_run("-c", "sources"))
                _dump(outdir, "chronyc-tracking-unsynced.txt", lonely.chronyc_run("tracking"))
            with Chronyd(work, servers=[("127.0.0.1", ahead.port)], serve=False, name="behind") as behind:
                behind.wait_synchronized()
                time.sleep(1)
                _dump(outdir, "chronyc-tracking-behind90.csv", behind.chronyc_run("-c", "tracking"))
                _dump(outdir, "chronyc-sources-behind90.csv", behind.chronyc_run("-c", "sources"))
                _dump(outdir, "chronyc-tracking-behind90.txt", behind.chronyc_run("tracking"))
                _dump(outdir, "chronyc-sources-behind90.txt", behind.chronyc_run("sources"))
            # noselect: chronyd measures the +90 s server but does not follow it, so the raw
            # offset shows chrony's sign for sources (local minus source: -90 s)
            with Chronyd(work, serve=False, local_stratum=0, name="noselect", extra=[
                    "server 127.0.0.1 port %d iburst minpoll -4 maxpoll -4 noselect" % ahead.port]) as watcher:
                time.sleep(3)
                _dump(outdir, "chronyc-sources-noselect-ahead90.csv", watcher.chronyc_run("-c", "sources"))
                _dump(outdir, "chronyc-sources-noselect-ahead90.txt", watcher.chronyc_run("sources"))
        missing = Chronyd(work, name="gone")
        _dump(outdir, "chronyc-no-daemon.txt", missing.chronyc_run("-c", "tracking"))
        if not TimesyncdNamespace.available():
            with TimesyncdNamespace(work) as timesyncd:
                for name, args in (("timedatectl-show-timesync.txt", ["show-timesync", "--all"]),
                                   ("timedatectl-timesync-status.txt", ["timesync-status"]),
                                   ("timedatectl-show-no-timedated.txt", ["show"])):
                    _dump(outdir, name, timesyncd.timedatectl(*args))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return sorted(os.listdir(outdir))


def _dump(outdir, name, proc):
    with open(os.path.join(outdir, name), "w") as handle:
        handle.write(proc.stdout)
        if proc.stderr:
            handle.write(proc.stderr)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "capture":
        print("\n".join(capture(sys.argv[2])))
    elif len(sys.argv) in (4, 5) and sys.argv[1] == "serve":
        serve(int(sys.argv[2]), float(sys.argv[3]), sys.argv[4] if len(sys.argv) == 5 else None)
    else:
        sys.exit("usage: python -m tests.integration.ntp_lab capture DIR | serve PORT OFFSET")
