# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read the local time daemons: chrony, systemd-timesyncd, ntpd.

Each reader runs the daemon's own client (``chronyc -c tracking`` / ``sources``,
``timedatectl show`` / ``show-timesync`` / ``timesync-status``, ``ntpq -pn`` /
``ntpq -c rv``) and parses its output into one shape (``daemon_status``).  The
parsers are pure functions of the text, so they are tested on captured output.
A daemon is *running* when its process is in the process table (this PID
namespace only: containers' daemons are not this host's) or its client answered.

Offsets use the engine's one sign (see _clock_sntp): true time minus local time,
positive when the local clock is behind.  chrony's ``System time`` already has
that sign ("slow of NTP time" is positive); chrony's per-source offsets have
the opposite sign and are negated here; ntpq's offsets have our sign.
"""

from __future__ import annotations

import os
import re
import selectors
import shutil
import subprocess
import time
from typing import Dict, List

from ansible_collections.tlsops.handshake.plugins.module_utils._common.safe_files import open_binary

DAEMONS = ("chrony", "systemd-timesyncd", "ntpd")
COMMAND_TIMEOUT = 10
MAX_OUTPUT = 1 << 20        # bytes of a command's output kept (chronyc, timedatectl, ntpq print a few kB)
SEARCH_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"

# process name (comm, at most 15 characters) or argv[0] basename -> daemon
PROCESS_NAMES = {
    "chronyd": "chrony",
    "systemd-timesyncd": "systemd-timesyncd",
    "systemd-timesyn": "systemd-timesyncd",
    "ntpd": "ntpd",
}

CHRONY_LEAP = {"Normal": "none", "Insert second": "insert_second", "Delete second": "delete_second",
               "Not synchronised": "unsynchronized"}
NTP_LEAP_BITS = {0: "none", 1: "insert_second", 2: "delete_second", 3: "unsynchronized"}
CHRONY_LOCAL_REFID = "7F7F0101"  # "LOCL": chronyd's own clock (local stratum N)


def daemon_status(name, running=False, answered=False):
    """The common shape of one daemon's state (RETURN ``daemon``)."""
    return {
        "name": name,
        "running": running,
        "answered": answered,
        "synchronized": False,
        "reason": None,
        "source": None,
        "stratum": None,
        "offset_ms": None,
        "root_delay_ms": None,
        "root_dispersion_ms": None,
        "leap": None,
        "sources": [],
        "pids": [],
        "error": None,
    }


# ------------------------------------------------------------------ commands


def find_binary(configured, name):
    """Absolute path of ``configured`` (a path or a bare name) or of ``name`` on PATH + sbin; None."""
    candidate = configured or name
    if os.sep in candidate:
        return candidate if os.access(candidate, os.X_OK) else None
    path = os.environ.get("PATH", "")
    return shutil.which(candidate, path=(path + os.pathsep + SEARCH_PATH) if path else SEARCH_PATH)


def run_command(argv, timeout=COMMAND_TIMEOUT, limit=MAX_OUTPUT):
    """``(rc, stdout, stderr)`` of a command in the C locale; rc None when it could not run, did not end
    within ``timeout`` seconds or printed more than ``limit`` bytes on either stream (the binary is an
    option: a wrong one, ``yes`` say, must not fill the memory), with the reason in stderr."""
    env = dict(os.environ, LC_ALL="C", LANG="C", SYSTEMD_COLORS="0", SYSTEMD_PAGER="", PAGER="cat")
    name = os.path.basename(argv[0])
    try:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                env=env)
    except OSError as exc:
        return None, "", "%s: %s" % (argv[0], exc.strerror or exc)
    deadline = time.monotonic() + timeout
    streams = [stream.fileno() for stream in (proc.stdout, proc.stderr) if stream is not None]
    kept: Dict[int, List[bytes]] = dict((fd, []) for fd in streams)
    sizes = dict((fd, 0) for fd in streams)
    problem = None
    with proc, selectors.DefaultSelector() as selector:
        for fd in streams:
            selector.register(fd, selectors.EVENT_READ)
        while selector.get_map() and problem is None:
            left = deadline - time.monotonic()
            if left <= 0:
                problem = "%s did not answer within %g s" % (name, timeout)
                break
            for key, _events in selector.select(left):
                data = os.read(key.fd, 65536)
                if not data:
                    selector.unregister(key.fd)
                    continue
                sizes[key.fd] += len(data)
                if sizes[key.fd] > limit:
                    problem = "%s printed more than %d bytes; is it the right program?" % (name, limit)
                    break
                kept[key.fd].append(data)
        if problem is None:
            try:
                proc.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                problem = "%s did not answer within %g s" % (name, timeout)
        if problem is not None:
            proc.kill()
            proc.wait()
            return None, "", problem
    out, err = (b"".join(kept[fd]).decode("utf-8", "replace") for fd in streams)
    return proc.returncode, out, err


def _first_line(text):
    for line in (text or "").splitlines():
        if line.strip():
            return line.strip()
    return ""


# ------------------------------------------------------------------ process table


def scan_processes(proc_path="/proc"):
    """``{daemon: [pid, ...]}`` of the time daemons in ``proc_path``'s process table.

    Skips zombies and, when namespaces can be compared, processes of other PID namespaces
    (a chronyd inside a container is that container's, not this host's).
    """
    found = {}
    try:
        entries = os.listdir(proc_path)
    except OSError:
        return found
    own_ns = _readlink(os.path.join(proc_path, "self", "ns", "pid"))
    for entry in entries:
        if not entry.isdigit():
            continue
        base = os.path.join(proc_path, entry)
        daemon = _process_daemon(base)
        if daemon is None:
            continue
        if _read(os.path.join(base, "stat")).rpartition(")")[2].split()[:1] == ["Z"]:
            continue
        if own_ns:
            their_ns = _readlink(os.path.join(base, "ns", "pid"))
            if their_ns and their_ns != own_ns:
                continue
        found.setdefault(daemon, []).append(int(entry))
    for pids in found.values():
        pids.sort()
    return found


def _process_daemon(base):
    comm = _read(os.path.join(base, "comm")).strip()
    if comm in PROCESS_NAMES:
        return PROCESS_NAMES[comm]
    cmdline = _read(os.path.join(base, "cmdline"))
    argv0 = os.path.basename(cmdline.split("\0", 1)[0]) if cmdline else ""
    return PROCESS_NAMES.get(argv0)


def _read(path):
    """The first 4 KiB of a process-table file; "" for anything that is not a readable regular file
    (proc_path may name a copy of /proc where a FIFO would otherwise block the module)."""
    try:
        with open_binary(path, where="proc_path", what="a process table file") as handle:
            return handle.read(4096).decode("utf-8", "replace")
    except (OSError, ValueError):
        return ""


def _readlink(path):
    try:
        return os.readlink(path)
    except OSError:
        return None


# ------------------------------------------------------------------ chrony


def parse_chrony_tracking(text):
    """``chronyc -c tracking`` (one CSV line, 14 fields) to a dict; None when it is not that."""
    for line in (text or "").splitlines():
        fields = line.strip().split(",")
        if len(fields) < 14 or not re.match(r"^[0-9A-Fa-f]{8}$", fields[0]):
            continue
        try:
            return {
                "reference_id": fields[0].upper(),
                "address": fields[1] or None,
                "stratum": int(fields[2]),
                "ref_time": float(fields[3]),
                # "System time": positive = slow of NTP time = our sign
                "system_time": float(fields[4]),
                "last_offset": float(fields[5]),
                "rms_offset": float(fields[6]),
                "frequency_ppm": float(fields[7]),
                "residual_freq_ppm": float(fields[8]),
                "skew_ppm": float(fields[9]),
                "root_delay": float(fields[10]),
                "root_dispersion": float(fields[11]),
                "update_interval": float(fields[12]),
                "leap_status": fields[13].strip(),
            }
        except ValueError:
            continue
    return None


CHRONY_MODES = {"^": "server", "=": "peer", "#": "refclock"}
CHRONY_STATES = {"*": "selected", "+": "combined", "-": "not_combined", "?": "unusable", "x": "falseticker",
                 "~": "too_variable"}


def parse_chrony_sources(text):
    """``chronyc -c sources`` (one CSV line per source, 10 fields) to a list of dicts."""
    sources = []
    for line in (text or "").splitlines():
        fields = line.strip().split(",")
        if len(fields) < 10 or fields[0] not in CHRONY_MODES:
            continue
        try:
            last_rx = int(fields[6])
            sources.append({
                "name": fields[2],
                "mode": CHRONY_MODES[fields[0]],
                "state": CHRONY_STATES.get(fields[1], fields[1]),
                "selected": fields[1] == "*",
                "stratum": int(fields[3]),
                "poll": int(fields[4]),
                "reach": fields[5],
                "last_rx_s": None if last_rx >= 0xFFFFFFFF else last_rx,
                # chrony: positive = local clock ahead of the source; we report true - local
                "offset_ms": _ms(-float(fields[7])),
                "measured_offset_ms": _ms(-float(fields[8])),
                "error_ms": _ms(float(fields[9])),
            })
        except ValueError:
            continue
    return sources


def chrony_from_output(tracking_text, sources_text, status=None):
    """Fill a daemon_status for chrony from the two chronyc outputs."""
    status = status or daemon_status("chrony")
    tracking = parse_chrony_tracking(tracking_text)
    if tracking is None:
        status["error"] = _first_line(tracking_text) or "chronyc printed no tracking data"
        status["reason"] = status["error"]
        return status
    status["answered"] = True
    status["running"] = True
    status["sources"] = parse_chrony_sources(sources_text)
    leap = CHRONY_LEAP.get(tracking["leap_status"], tracking["leap_status"])
    selected = [s["name"] for s in status["sources"] if s["selected"]]
    status.update({
        "source": tracking["address"] or (selected[0] if selected else None) or _refid_name(tracking["reference_id"]),
        "stratum": tracking["stratum"],
        "offset_ms": _ms(tracking["system_time"]),
        "root_delay_ms": _ms(tracking["root_delay"]),
        "root_dispersion_ms": _ms(tracking["root_dispersion"]),
        "leap": leap,
        "reference_id": tracking["reference_id"],
        "frequency_ppm": tracking["frequency_ppm"],
    })
    if leap == "unsynchronized" or tracking["reference_id"] == "00000000" or tracking["stratum"] == 0:
        usable = sum(1 for s in status["sources"] if s["state"] not in ("unusable", "falseticker"))
        status["reason"] = ": no usable source (%d configured, %d usable)" % (len(status["sources"]), usable)
    elif tracking["reference_id"] == CHRONY_LOCAL_REFID:
        status["reason"] = ": its only reference is its own clock (local stratum %d)" % tracking["stratum"]
    else:
        status["synchronized"] = True
    return status


def _refid_name(refid):
    if refid == CHRONY_LOCAL_REFID:
        return "LOCL"
    try:
        raw = bytes.fromhex(refid)
    except ValueError:
        return refid
    text = raw.rstrip(b"\0").decode("ascii", "replace")
    return text if text.isalnum() else refid


def read_chrony(chronyc, socket_path=None):
    """daemon_status of chrony through ``chronyc`` (None: chronyc not found)."""
    status = daemon_status("chrony")
    if chronyc is None:
        status["error"] = "chronyc not found"
        return status
    base = [chronyc, "-n", "-c"]
    if socket_path:
        base[1:1] = ["-h", socket_path]
    rc, out, err = run_command(base + ["tracking"])
    if rc != 0:
        status["error"] = _first_line(out + "\n" + err) or "chronyc tracking failed (rc %s)" % rc
        return status
    rc2, sources, err2 = run_command(base + ["sources"])
    return chrony_from_output(out, sources if rc2 == 0 else "", status)


# ------------------------------------------------------------------ systemd-timesyncd

_SPAN_UNITS = {
    "y": 31557600.0, "year": 31557600.0, "years": 31557600.0,
    "M": 2629800.0, "month": 2629800.0, "months": 2629800.0,
    "w": 604800.0, "d": 86400.0, "h": 3600.0, "min": 60.0, "s": 1.0, "sec": 1.0,
    "ms": 1e-3, "us": 1e-6, "\u00b5s": 1e-6, "\u03bcs": 1e-6, "ns": 1e-9,
}
_SPAN_TOKEN = re.compile(r"(\d+(?:\.\d+)?)\s*([a-zA-Z\u00b5\u03bc]+)")


def parse_timespan(text):
    """Seconds of a systemd time span (``+1min 30.000015s``, ``-287us``, ``0``); None if unparsable."""
    text = (text or "").strip()
    if not text:
        return None
    sign = 1.0
    if text[0] in "+-":
        sign = -1.0 if text[0] == "-" else 1.0
        text = text[1:].strip()
    if text in ("0", "0s"):
        return 0.0
    total = 0.0
    pos = 0
    for match in _SPAN_TOKEN.finditer(text):
        if text[pos:match.start()].strip():
            return None
        unit = match.group(2)
        if unit not in _SPAN_UNITS:
            return None
        total += float(match.group(1)) * _SPAN_UNITS[unit]
        pos = match.end()
    if pos == 0 or text[pos:].strip():
        return None
    return sign * total


def parse_properties(text):
    """``key=value`` lines (``timedatectl show``/``show-timesync``) to a dict."""
    props = {}
    for line in (text or "").splitlines():
        key, sep, value = line.partition("=")
        if sep and key and " " not in key:
            props[key.strip()] = value.strip()
    return props


def parse_ntp_message(value):
    """``NTPMessage={ Leap=0, Version=4, ... }`` of show-timesync to a dict of strings."""
    value = (value or "").strip()
    if not (value.startswith("{") and value.endswith("}")):
        return {}
    fields = {}
    for part in value[1:-1].split(","):
        key, sep, val = part.strip().partition("=")
        if sep:
            fields[key.strip()] = val.strip()
    return fields


def parse_timesync_status(text):
    """The ``Label: value`` lines of ``timedatectl timesync-status`` to a dict keyed by label."""
    fields = {}
    for line in (text or "").splitlines():
        label, sep, value = line.partition(":")
        if sep and label.strip():
            fields[label.strip()] = value.strip()
    return fields


_TIMESYNC_LEAP_TEXT = {"normal": "none", "last minute has 61 seconds": "insert_second",
                       "last minute has 59 seconds": "delete_second", "not synchronized": "unsynchronized"}


def timesyncd_from_output(show_text, show_timesync_text, status_text, status=None):
    """daemon_status of systemd-timesyncd from timedatectl's outputs (any of them may be empty)."""
    status = status or daemon_status("systemd-timesyncd")
    show = parse_properties(show_text)
    sync = parse_properties(show_timesync_text)
    human = parse_timesync_status(status_text)
    message = parse_ntp_message(sync.get("NTPMessage"))
    if sync.get("ServerName") or sync.get("ServerAddress") or human.get("Server"):
        status["answered"] = True
    server = sync.get("ServerName") or sync.get("ServerAddress")
    if not server and human.get("Server"):
        server = human["Server"].split(" (", 1)[0]
    status["source"] = server or None
    status["servers_configured"] = _split(sync.get("SystemNTPServers")) or _split(sync.get("LinkNTPServers")) \
        or _split(sync.get("RuntimeNTPServers"))
    status["fallback_servers"] = _split(sync.get("FallbackNTPServers"))
    if message.get("Stratum", "").isdigit():
        status["stratum"] = int(message["Stratum"])
    elif human.get("Stratum", "").isdigit():
        status["stratum"] = int(human["Stratum"])
    if message.get("Leap", "").isdigit():
        status["leap"] = NTP_LEAP_BITS.get(int(message["Leap"]) & 3)
    elif human.get("Leap"):
        status["leap"] = _TIMESYNC_LEAP_TEXT.get(human["Leap"].lower(), human["Leap"])
    offset = parse_timespan(human.get("Offset"))
    status["offset_ms"] = _ms(offset) if offset is not None else None
    root_delay = parse_timespan(message.get("RootDelay"))
    root_disp = parse_timespan(message.get("RootDispersion"))
    status["root_delay_ms"] = _ms(root_delay) if root_delay is not None else None
    status["root_dispersion_ms"] = _ms(root_disp) if root_disp is not None else None
    packets = message.get("PacketCount") or human.get("Packet count") or "0"
    synced_flag = show.get("NTPSynchronized")
    if synced_flag is not None:
        status["answered"] = True
        status["synchronized"] = synced_flag == "yes"
        if show.get("NTP") == "no":
            status["reason"] = ": NTP is switched off (timedatectl set-ntp true)"
        elif not status["synchronized"]:
            status["reason"] = ": the kernel clock is not marked synchronised (NTPSynchronized=no)"
    else:
        # no timedated to ask: judge by the last reply timesyncd accepted
        good = (status["source"] and packets.isdigit() and int(packets) > 0 and status["leap"] != "unsynchronized"
                and status["stratum"] is not None and 1 <= status["stratum"] <= 15)
        status["synchronized"] = bool(good)
        if not good:
            status["reason"] = ": no reply from a synchronised server yet" if status["source"] else \
                ": no server contacted"
    if status["source"]:
        status["sources"] = [{"name": status["source"], "mode": "server", "state": "selected",
                              "selected": True, "stratum": status["stratum"], "offset_ms": status["offset_ms"]}]
    return status


def _split(value):
    return [v for v in (value or "").split() if v]


def read_timesyncd(timedatectl):
    status = daemon_status("systemd-timesyncd")
    if timedatectl is None:
        status["error"] = "timedatectl not found"
        return status
    outputs = []
    errors = []
    for args in (["show"], ["show-timesync", "--all"], ["timesync-status"]):
        rc, out, err = run_command([timedatectl, "--no-pager"] + args)
        outputs.append(out if rc == 0 else "")
        if rc != 0:
            errors.append(_first_line(err or out) or "timedatectl %s failed" % args[0])
    if not any(outputs):
        status["error"] = errors[0] if errors else "timedatectl printed nothing"
        return status
    return timesyncd_from_output(outputs[0], outputs[1], outputs[2], status)


# ------------------------------------------------------------------ ntpd

_NTPQ_TALLY = {"*": "selected", "o": "selected_pps", "+": "candidate", "-": "outlier", "x": "falseticker",
               ".": "excess", "#": "backup", " ": "rejected"}


def parse_ntpq_peers(text):
    """``ntpq -pn`` (remote refid st t when poll reach delay offset jitter) to a list of dicts."""
    peers = []
    in_table = False
    for line in (text or "").splitlines():
        if line.startswith("====="):
            in_table = True
            continue
        if not in_table or not line.strip():
            continue
        tally = line[0]
        fields = line[1:].split()
        if len(fields) < 10:
            continue
        try:
            delay, offset, jitter = float(fields[-3]), float(fields[-2]), float(fields[-1])
        except ValueError:
            continue
        stratum = int(fields[2]) if fields[2].isdigit() else None
        peers.append({
            "name": fields[0],
            "refid": fields[1],
            "mode": {"u": "server", "b": "broadcast", "l": "local", "m": "multicast", "s": "peer",
                     "p": "pool", "-": "manycast"}.get(fields[3], fields[3]),
            "state": _NTPQ_TALLY.get(tally, tally),
            "selected": tally in "*o",
            "stratum": stratum,
            "poll": fields[5],
            "reach": fields[6],
            "delay_ms": delay,
            "offset_ms": offset,  # ntpq: server minus local, our sign
            "jitter_ms": jitter,
        })
    return peers


def parse_ntpq_rv(text):
    """``ntpq -c rv`` (comma-separated ``name=value``, may span lines) to a dict of strings."""
    values = {}
    for part in re.split(r",\s*|\n", text or ""):
        key, sep, value = part.strip().partition("=")
        if sep and re.match(r"^[a-z_]+$", key.strip()):
            values[key.strip()] = value.strip().strip('"')
    return values


def ntpd_from_output(peers_text, rv_text, status=None):
    status = status or daemon_status("ntpd")
    peers = parse_ntpq_peers(peers_text)
    rv = parse_ntpq_rv(rv_text)
    if not peers and not rv:
        status["error"] = _first_line(peers_text) or "ntpq printed no peers"
        return status
    status["answered"] = True
    status["running"] = True
    status["sources"] = peers
    selected = [p for p in peers if p["selected"]]
    leap_bits = rv.get("leap")
    if leap_bits and re.match(r"^[01]{2}$", leap_bits):
        status["leap"] = NTP_LEAP_BITS[int(leap_bits, 2)]
    if rv.get("stratum", "").isdigit():
        status["stratum"] = int(rv["stratum"])
    for key, field in (("rootdelay", "root_delay_ms"), ("rootdisp", "root_dispersion_ms"), ("offset", "offset_ms")):
        try:
            status[field] = float(rv[key])
        except (KeyError, ValueError):
            pass
    if selected:
        status["source"] = selected[0]["name"]
        if status["offset_ms"] is None:
            status["offset_ms"] = selected[0]["offset_ms"]
        if status["stratum"] is None and selected[0]["stratum"] is not None:
            status["stratum"] = selected[0]["stratum"] + 1
    status["synchronized"] = bool(selected) and status["leap"] != "unsynchronized" and \
        (status["stratum"] is None or status["stratum"] < 16)
    if not status["synchronized"]:
        status["reason"] = ": no system peer selected (%d peers, none marked *)" % len(peers) if not selected \
            else ": leap indicator says unsynchronised"
    return status


def read_ntpd(ntpq):
    status = daemon_status("ntpd")
    if ntpq is None:
        status["error"] = "ntpq not found"
        return status
    rc, peers, err = run_command([ntpq, "-pn"])
    if rc != 0 or not peers.strip():
        status["error"] = _first_line(err or peers) or "ntpq -p failed"
        return status
    rc2, rv, err2 = run_command([ntpq, "-c", "rv"])
    return ntpd_from_output(peers, rv if rc2 == 0 else "", status)


# ------------------------------------------------------------------ all together


def detect(options, processes=None):
    """All three daemons' status, ``[chrony, systemd-timesyncd, ntpd]``.

    ``options``: chronyc_path, chrony_socket, timedatectl_path, ntpq_path, proc_path.
    A daemon's client is asked only when its process runs or (for chrony, whose command
    socket may be given explicitly) a socket was named, so a host without ntpd never waits
    on ntpq.
    """
    if processes is None:
        processes = scan_processes(options.get("proc_path") or "/proc")
    statuses = []
    chrony = daemon_status("chrony")
    if "chrony" in processes or options.get("chrony_socket"):
        chrony = read_chrony(find_binary(options.get("chronyc_path"), "chronyc"), options.get("chrony_socket"))
    statuses.append(chrony)
    timesyncd = daemon_status("systemd-timesyncd")
    if "systemd-timesyncd" in processes:
        timesyncd = read_timesyncd(find_binary(options.get("timedatectl_path"), "timedatectl"))
    statuses.append(timesyncd)
    ntpd = daemon_status("ntpd")
    if "ntpd" in processes:
        ntpd = read_ntpd(find_binary(options.get("ntpq_path"), "ntpq"))
    statuses.append(ntpd)
    for status in statuses:
        status["pids"] = processes.get(status["name"], [])
        status["running"] = bool(status["pids"]) or status["answered"]
        if status["running"] and not status["synchronized"] and not status["reason"]:
            status["reason"] = ": %s" % status["error"] if status["error"] else ": its state could not be read"
    return statuses


def primary(statuses):
    """The daemon that keeps this host's time: a synchronised one, else one that answered,
    else one that runs (chrony first); a ``none`` status when nothing runs."""
    for test in (lambda s: s["synchronized"], lambda s: s["answered"], lambda s: s["running"]):
        for status in statuses:
            if status["running"] and test(status):
                return status
    status = daemon_status("none")
    status["reason"] = None
    return status


def _ms(seconds):
    return round(seconds * 1000.0, 6)
