# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The clock engine behind time_sync_info: is this host's clock right, and by how much is it off?

Three witnesses, each optional:
  * the local sync daemon (_clock_daemons): is it running, synchronised, what offset does it see;
  * NTP servers queried directly with SNTP (_clock_sntp), by default the daemon's own servers;
  * an HTTP(S) server's Date header (one-second resolution), a second opinion.

``offset_ms`` everywhere is true time minus local time, in milliseconds (the SNTP theta):
positive means the local clock is behind and must move forward.
"""

from __future__ import annotations

import email.utils
import math
import socket
import ssl
import time
from concurrent.futures import ThreadPoolExecutor

from urllib.error import HTTPError, URLError
from urllib.parse import urlparse
from urllib.request import HTTPSHandler, Request, build_opener

from ansible_collections.tlsops.handshake.plugins.module_utils import _clock_config as config
from ansible_collections.tlsops.handshake.plugins.module_utils import _clock_daemons as daemons
from ansible_collections.tlsops.handshake.plugins.module_utils import _clock_sntp as sntp
from ansible_collections.tlsops.handshake.plugins.module_utils._findings import finding

DEFAULTS = {
    "servers": None,
    "samples": 3,
    "sample_interval": 2.0,
    "timeout": 2.0,
    "max_offset_ms": 1000.0,
    "compare_url": None,
    "compare_validate_certs": True,
    "chronyc_path": None,
    "chrony_socket": None,
    "chrony_config": None,
    "timedatectl_path": None,
    "timesyncd_config": None,
    "ntpq_path": None,
    "ntp_config": None,
    "proc_path": "/proc",
}
MAX_SERVERS = 32
MAX_SAMPLES = 16
MAX_TIMEOUT = 60.0
LEAP_TEXT = {"insert_second": "a second will be inserted", "delete_second": "a second will be deleted"}


class ClockConfigError(ValueError):
    """A bad parameter; the message starts with the parameter's name."""


# ------------------------------------------------------------------ parameters


def _number(params, name, low, high, kind=float, low_open=False):
    value = params.get(name)
    try:
        number = kind(value)
    except (TypeError, ValueError):
        raise ClockConfigError("%s: %r is not a number" % (name, value))
    if math.isnan(number) or (number <= low if low_open else number < low) or number > high:
        raise ClockConfigError("%s: %s is out of range; use %s%s to %s" % (
            name, value, "more than " if low_open else "", low, high))
    return number


def parse_server(entry, index):
    """``(host, port, label)`` of one O(servers) entry: ``host``, ``host:port``, ``[v6]:port``,
    a bare IPv6 address, or ``{"host": ..., "port": ...}``."""
    where = "servers[%d]" % index
    if isinstance(entry, dict):
        unknown = sorted(set(entry) - {"host", "port"})
        if unknown:
            raise ClockConfigError("%s: unknown key(s) %s; use host and port" % (where, ", ".join(unknown)))
        host = entry.get("host")
        if not isinstance(host, str) or not host.strip():
            raise ClockConfigError("%s.host: a host name or address is required" % where)
        host = host.strip().strip("[]") if host.strip().startswith("[") else host.strip()
        port = _port(entry.get("port", config.NTP_PORT), where + ".port")
    elif isinstance(entry, str):
        host, port = _split_host_port(entry.strip(), where)
    else:
        raise ClockConfigError("%s: %r is neither a string nor a dict" % (where, entry))
    if ":" in host:
        try:
            socket.inet_pton(socket.AF_INET6, host)
        except (OSError, ValueError):
            raise ClockConfigError("%s: %r is not a valid IPv6 address" % (where, host))
    elif not _valid_hostname(host):
        raise ClockConfigError("%s: %r is not a host name or IPv4 address" % (where, host))
    return host, port, sntp._label(host, port)


def _split_host_port(text, where):
    syntax = "%s: %r is not host, host:port, [IPv6]:port or an IPv6 address" % (where, text)
    if not text or "://" in text or "/" in text or " " in text:
        raise ClockConfigError(syntax)
    if text.startswith("["):
        host, sep, rest = text[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            raise ClockConfigError(syntax)
        return host, _port(rest[1:], where + " port") if rest else config.NTP_PORT
    if text.count(":") > 1:
        return text, config.NTP_PORT
    host, sep, port = text.partition(":")
    if not host:
        raise ClockConfigError(syntax)
    return host, (_port(port, where + " port") if sep else config.NTP_PORT)


def _port(value, where):
    if isinstance(value, bool):
        raise ClockConfigError("%s: %r is not a port number" % (where, value))
    try:
        port = int(str(value).strip()) if isinstance(value, str) else int(value)
    except (TypeError, ValueError):
        raise ClockConfigError("%s: %r is not a port number" % (where, value))
    if not 1 <= port <= 65535:
        raise ClockConfigError("%s: %d is out of range; use 1-65535" % (where, port))
    return port


def _valid_hostname(host):
    if not host or len(host) > 253:
        return False
    labels = host.rstrip(".").split(".")
    for label in labels:
        if not label or len(label) > 63 or label[0] == "-" or label[-1] == "-":
            return False
        if not all(c.isalnum() and c.isascii() or c in "-_" for c in label):
            return False
    return True


def validate(params):
    """Checked parameters with defaults filled in (ClockConfigError naming the parameter)."""
    opts = dict(DEFAULTS)
    opts.update({k: v for k, v in params.items() if v is not None or k == "servers"})
    opts["timeout"] = _number(opts, "timeout", 0, MAX_TIMEOUT, low_open=True)
    opts["samples"] = int(_number(opts, "samples", 1, MAX_SAMPLES, kind=int))
    opts["sample_interval"] = _number(opts, "sample_interval", 0, MAX_TIMEOUT)
    opts["max_offset_ms"] = _number(opts, "max_offset_ms", 0, 1e12)
    servers = opts.get("servers")
    if servers is not None:
        if not isinstance(servers, (list, tuple)):
            raise ClockConfigError("servers: must be a list")
        if len(servers) > MAX_SERVERS:
            raise ClockConfigError("servers: %d entries; at most %d" % (len(servers), MAX_SERVERS))
        opts["servers"] = [parse_server(entry, i) for i, entry in enumerate(servers)]
    url = opts.get("compare_url")
    if url:
        parsed = urlparse(url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ClockConfigError("compare_url: %r is not an http:// or https:// URL" % url)
    proc_path = opts.get("proc_path") or "/proc"
    opts["proc_path"] = proc_path
    return opts


# ------------------------------------------------------------------ HTTP Date


def http_date_offset(url, timeout, validate_certs=True, clock=time.time, monotonic=time.monotonic):
    """Offset from an HTTP server's Date header: ``(Date + 0.5 s) - midpoint of the request``.

    Date has one-second resolution (and truncates), hence ``uncertainty_ms`` = 500 ms plus half
    the round trip.  A status >= 400 still carries a usable Date.
    """
    result = {"url": url, "ok": False, "status": None, "date": None, "offset_ms": None,
              "uncertainty_ms": None, "rtt_ms": None, "error": None}
    handlers = []
    if not validate_certs:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        handlers.append(HTTPSHandler(context=context))
    opener = build_opener(*handlers)
    request = Request(url, method="HEAD", headers={"User-Agent": "tlsops.handshake time_sync_info"})
    t1 = clock()
    m1 = monotonic()
    try:
        response = opener.open(request, timeout=timeout)
        headers, status = response.headers, response.status
        response.close()
    except HTTPError as exc:
        headers, status = exc.headers, exc.code
    except (URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        result["error"] = str(reason)
        return result
    elapsed = monotonic() - m1
    t_mid = t1 + elapsed / 2.0
    result["status"] = status
    result["rtt_ms"] = round(elapsed * 1000.0, 3)
    date = headers.get("Date") if headers is not None else None
    if not date:
        result["error"] = "the response has no Date header"
        return result
    result["date"] = date
    try:
        parsed = email.utils.parsedate_to_datetime(date)
    except (TypeError, ValueError, IndexError):
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        result["error"] = "unparsable Date header %r" % date
        return result
    server_time = parsed.timestamp() + 0.5
    result.update({
        "ok": True,
        "offset_ms": round((server_time - t_mid) * 1000.0, 3),
        "uncertainty_ms": round((0.5 + elapsed / 2.0) * 1000.0, 3),
    })
    return result


# ------------------------------------------------------------------ the check


def _query_all(targets, opts):
    if not targets:
        return []
    with ThreadPoolExecutor(max_workers=min(16, len(targets))) as pool:
        futures = [pool.submit(sntp.query_server, host, port, opts["samples"], opts["timeout"],
                               opts["sample_interval"], label) for host, port, label in targets]
        return [f.result() for f in futures]


def best_server(results):
    """The median server by offset (lower delay of the two middle ones for an even count)."""
    usable = sorted((r for r in results if r["ok"]), key=lambda r: r["offset_ms"])
    if not usable:
        return None
    middle = len(usable) // 2
    if len(usable) % 2:
        return usable[middle]
    return min(usable[middle - 1:middle + 1], key=lambda r: r["delay_ms"])


def _default_targets(primary, opts):
    """Servers to query when O(servers) is not given, and where they came from."""
    if primary["name"] == "systemd-timesyncd" and primary.get("answered"):
        names = primary.get("servers_configured") or primary.get("fallback_servers") or []
        if names:
            return [(n, config.NTP_PORT, sntp._label(n, config.NTP_PORT)) for n in names], \
                "systemd-timesyncd (timedatectl show-timesync)"
    servers, source = config.configured_servers(primary["name"], opts)
    targets = []
    for server in servers:
        try:
            targets.append(parse_server({"host": server["host"], "port": server["port"]}, len(targets)))
        except ClockConfigError:
            continue  # a name this engine cannot query (rare: odd characters); skip it
    return targets[:MAX_SERVERS], source


def check(params, detect=daemons.detect):
    """Run the whole check; the module's result (without ``changed``)."""
    opts = validate(params)
    statuses = detect(opts)
    running = [s for s in statuses if s["running"]]
    primary = daemons.primary(statuses)

    if opts["servers"] is None:
        targets, servers_source = _default_targets(primary, opts)
    else:
        targets, servers_source = opts["servers"], "servers parameter"
    results = _query_all(targets, opts)

    compare = None
    if opts.get("compare_url"):
        compare = http_date_offset(opts["compare_url"], opts["timeout"], opts["compare_validate_certs"])

    offset_ms, offset_source = None, None
    best = best_server(results)
    if best is not None:
        offset_ms, offset_source = best["offset_ms"], "NTP server %s" % best["server"]
    elif primary["synchronized"] and primary["offset_ms"] is not None:
        offset_ms, offset_source = primary["offset_ms"], "%s (local daemon)" % primary["name"]
    elif compare is not None and compare["ok"]:
        offset_ms, offset_source = compare["offset_ms"], "the Date header of %s" % compare["url"]
    max_offset = opts["max_offset_ms"]
    skewed = offset_ms is not None and abs(offset_ms) > max_offset

    findings = []
    if not running:
        findings.append(finding("no_time_daemon"))
    elif not primary["synchronized"]:
        findings.append(finding("daemon_not_synchronized", daemon=primary["name"], reason=primary["reason"]))
    if len(running) > 1:
        findings.append(finding("competing_daemons", daemons=", ".join(
            "%s (pid %s)" % (s["name"], ", ".join(str(p) for p in s["pids"])) if s["pids"] else s["name"]
            for s in running)))
    if skewed:
        findings.append(finding("offset_exceeds_threshold", offset_ms=_fmt(abs(offset_ms)),
                                direction=" (behind: it must move forward)" if offset_ms > 0
                                else " (ahead: it must move back)",
                                max_offset_ms=_fmt(max_offset), source=offset_source))
    if results and best is None:
        findings.append(finding("all_servers_unreachable", servers=", ".join(r["server"] for r in results)))
    for result in results:
        if result["kiss_code"]:
            findings.append(finding("server_kiss_of_death", server=result["server"], kiss_code=result["kiss_code"],
                                    meaning=sntp.KISS_CODES.get(result["kiss_code"], "unknown kiss code")))
        elif result["error"] == "unsynchronized":
            findings.append(finding("server_unsynchronized", server=result["server"],
                                    detail=result["error_message"]))
        elif not result["ok"] and best is not None:
            findings.append(finding("server_unusable", server=result["server"], error=result["error_message"]))
    leaps = []
    if primary["synchronized"] and primary["leap"] in LEAP_TEXT:
        leaps.append("%s, says %s" % (LEAP_TEXT[primary["leap"]], primary["name"]))
    for result in results:
        if result["ok"] and result["leap"] in LEAP_TEXT:
            leaps.append("%s, says %s" % (LEAP_TEXT[result["leap"]], result["server"]))
    if leaps:
        findings.append(finding("leap_pending", leap="; ".join(leaps)))
    if compare is not None and compare["ok"] and offset_source and not offset_source.startswith("the Date"):
        if abs(compare["offset_ms"] - offset_ms) > compare["uncertainty_ms"] + max_offset:
            findings.append(finding("compare_disagrees", url=compare["url"], compare_ms=_fmt(compare["offset_ms"]),
                                    uncertainty_ms=_fmt(compare["uncertainty_ms"]), offset_ms=_fmt(offset_ms),
                                    source=offset_source))

    for result in results:
        result.pop("sample_errors", None)
    return {
        "daemon": _public(primary),
        "daemons": [_public(s) for s in running],
        "servers": results,
        "servers_source": servers_source,
        "offset_ms": offset_ms,
        "offset_source": offset_source,
        "max_offset_ms": max_offset,
        "synchronized": bool(primary["synchronized"]),
        "skewed": skewed,
        "compare": compare,
        "findings": findings,
    }


def _public(status):
    public = dict(status)
    reason = public.get("reason")
    if reason and reason.startswith(": "):
        public["reason"] = reason[2:]
    for key in ("servers_configured", "fallback_servers"):
        public.pop(key, None)
    return public


def _fmt(value):
    if value is None:
        return None
    if float(value).is_integer():
        return "%d" % value
    return "%.3f" % value
