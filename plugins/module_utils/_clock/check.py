# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The clock engine behind time_sync_info: is this host's clock right, and by how much is it off?

Three witnesses, each optional:
  * the local sync daemon (daemons.py, its configuration files: config.py): is it running,
    synchronised, what offset does it see;
  * NTP servers queried directly with SNTP (sntp.py), by default the daemon's own servers;
  * an HTTP(S) server's Date header (one-second resolution, http_date.py), a second opinion.

``offset_ms`` everywhere is true time minus local time, in milliseconds (the SNTP theta):
positive means the local clock is behind and must move forward.
"""

from __future__ import annotations

import math
import socket
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Dict, List, Optional, TypedDict

from ansible_collections.tlsops.handshake.plugins.module_utils._clock import config, daemons, sntp
from ansible_collections.tlsops.handshake.plugins.module_utils._clock.http_date import UrlError, http_date_offset, parse_url
from ansible_collections.tlsops.handshake.plugins.module_utils._common import net
from ansible_collections.tlsops.handshake.plugins.module_utils._common.findings import Finding, finding

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
PATH_OPTIONS = ("chronyc_path", "chrony_socket", "chrony_config", "timedatectl_path", "timesyncd_config",
                "ntpq_path", "ntp_config", "proc_path")
MAX_SERVERS = 32
MAX_SAMPLES = 16
MAX_TIMEOUT = 60.0
LEAP_TEXT = {"insert_second": "a second will be inserted", "delete_second": "a second will be deleted"}


class ClockConfigError(ValueError):
    """A bad parameter; the message starts with the parameter's name."""


# ------------------------------------------------------------------ parameters


def _number(params, name, low, high, kind=float, low_open=False):
    value = params.get(name)
    if isinstance(value, bool):
        raise ClockConfigError("%s: %r is not a number" % (name, value))
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        raise ClockConfigError("%s: %r is not a number" % (name, value))
    if kind is int and not (math.isfinite(number) and number.is_integer()):
        raise ClockConfigError("%s: %r is not a whole number" % (name, value))
    if math.isnan(number) or (number <= low if low_open else number < low) or number > high:
        raise ClockConfigError("%s: %s is out of range; use %s%s to %s" % (
            name, value, "more than " if low_open else "", low, high))
    return kind(number)


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
    try:
        host, port = net.split_host_port(text)
    except net.HostPortError:
        raise ClockConfigError(syntax)
    if not host and not text.startswith("["):
        raise ClockConfigError(syntax)
    return host, (_port(port, where + " port") if port is not None else config.NTP_PORT)


def _port(value, where):
    if isinstance(value, bool) or (isinstance(value, float) and not (math.isfinite(value) and value.is_integer())):
        raise ClockConfigError("%s: %r is not a port number" % (where, value))
    try:
        port = int(str(value).strip()) if isinstance(value, str) else int(value)
    except (TypeError, ValueError, OverflowError):
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
    opts["samples"] = _number(opts, "samples", 1, MAX_SAMPLES, kind=int)
    opts["sample_interval"] = _number(opts, "sample_interval", 0, MAX_TIMEOUT)
    opts["max_offset_ms"] = _number(opts, "max_offset_ms", 0, 1e12)
    if not isinstance(opts["compare_validate_certs"], bool):
        raise ClockConfigError("compare_validate_certs: %r is not true or false" % (opts["compare_validate_certs"],))
    for name in PATH_OPTIONS:
        value = opts.get(name)
        if value is not None and not isinstance(value, str):
            raise ClockConfigError("%s: %r is not a path" % (name, value))
        if value and "\0" in value:
            raise ClockConfigError("%s: contains a NUL character; give a plain path" % name)
    servers = opts.get("servers")
    if servers is not None:
        if not isinstance(servers, (list, tuple)):
            raise ClockConfigError("servers: must be a list")
        if len(servers) > MAX_SERVERS:
            raise ClockConfigError("servers: %d entries; at most %d" % (len(servers), MAX_SERVERS))
        opts["servers"] = [parse_server(entry, i) for i, entry in enumerate(servers)]
    if opts.get("compare_url") is not None:
        try:
            parse_url(opts["compare_url"])
        except UrlError as exc:
            raise ClockConfigError(str(exc))
    proc_path = opts.get("proc_path") or "/proc"
    opts["proc_path"] = proc_path
    return opts


def warnings(opts):
    """What the chosen options hide, for module.warn()."""
    found = []
    url = opts.get("compare_url")
    if url and opts.get("compare_validate_certs") is False and parse_url(url)["scheme"] == "https":
        found.append("compare_validate_certs is false: the certificate of %s is not checked, so anyone on the path "
                     "to it can answer with any Date header and move the compare_url opinion (and offset_ms, when "
                     "it is the only witness) wherever they like" % parse_url(url)["redacted"])
    return found


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


def _default_targets(primary, opts, problems):
    """Servers to query when O(servers) is not given, and where they came from."""
    if primary["name"] == "systemd-timesyncd" and primary.get("answered"):
        names = primary.get("servers_configured") or primary.get("fallback_servers") or []
        if names:
            return [(n, config.NTP_PORT, sntp._label(n, config.NTP_PORT)) for n in names], \
                "systemd-timesyncd (timedatectl show-timesync)"
    servers, source = config.configured_servers(primary["name"], opts, problems)
    targets = []
    for server in servers:
        try:
            targets.append(parse_server({"host": server["host"], "port": server["port"]}, len(targets)))
        except ClockConfigError:
            continue  # a name this engine cannot query (rare: odd characters); skip it
    return targets[:MAX_SERVERS], source


class ClockResult(TypedDict):
    """time_sync_info's result (without ``changed``), keys in the order the module returns them."""

    daemon: Dict[str, Any]
    daemons: List[Dict[str, Any]]
    servers: List[Dict[str, Any]]
    servers_source: Optional[str]
    offset_ms: Optional[float]
    offset_source: Optional[str]
    max_offset_ms: float
    synchronized: bool
    skewed: bool
    compare: Optional[Dict[str, Any]]
    findings: List[Finding]


def _best_offset(best, primary, compare):
    """``(offset_ms, where it comes from)``: the median NTP server, else a synchronised daemon, else the Date
    header; ``(None, None)`` when no witness knows."""
    if best is not None:
        return best["offset_ms"], "NTP server %s" % best["server"]
    if primary["synchronized"] and primary["offset_ms"] is not None:
        return primary["offset_ms"], "%s (local daemon)" % primary["name"]
    if compare is not None and compare["ok"]:
        return compare["offset_ms"], "the Date header of %s" % compare["url"]
    return None, None


def _daemon_findings(refused, running, primary) -> List[Finding]:
    """config_file_unreadable, no_time_daemon or daemon_not_synchronized, competing_daemons."""
    found = [finding("config_file_unreadable", path=exc.path if not exc.where else "%s (named by %s)"
                     % (exc.path, exc.where), error="it is %s" % exc.problem) for exc in refused]
    if not running:
        found.append(finding("no_time_daemon"))
    elif not primary["synchronized"]:
        found.append(finding("daemon_not_synchronized", daemon=primary["name"], reason=primary["reason"]))
    if len(running) > 1:
        found.append(finding("competing_daemons", daemons=", ".join(
            "%s (pid %s)" % (s["name"], ", ".join(str(p) for p in s["pids"])) if s["pids"] else s["name"]
            for s in running)))
    return found


def _offset_findings(offset_ms: Optional[float], offset_source, max_offset: float) -> List[Finding]:
    """offset_exceeds_threshold."""
    if offset_ms is None or abs(offset_ms) <= max_offset:
        return []
    return [finding("offset_exceeds_threshold", offset_ms=_fmt(abs(offset_ms)),
                    direction=" (behind: it must move forward)" if offset_ms > 0 else " (ahead: it must move back)",
                    max_offset_ms=_fmt(max_offset), source=offset_source)]


def _server_findings(results, best) -> List[Finding]:
    """all_servers_unreachable, then per server: server_kiss_of_death, server_unsynchronized, server_unusable."""
    found = []
    if results and best is None:
        found.append(finding("all_servers_unreachable", servers=", ".join(r["server"] for r in results)))
    for result in results:
        if result["kiss_code"]:
            found.append(finding("server_kiss_of_death", server=result["server"], kiss_code=result["kiss_code"],
                                 meaning=sntp.KISS_CODES.get(result["kiss_code"], "unknown kiss code")))
        elif result["error"] == "unsynchronized":
            found.append(finding("server_unsynchronized", server=result["server"], detail=result["error_message"]))
        elif not result["ok"] and best is not None:
            found.append(finding("server_unusable", server=result["server"], error=result["error_message"]))
    return found


def _leap_findings(primary, results) -> List[Finding]:
    """leap_pending, when the daemon or a server announces a leap second."""
    leaps = []
    if primary["synchronized"] and primary["leap"] in LEAP_TEXT:
        leaps.append("%s, says %s" % (LEAP_TEXT[primary["leap"]], primary["name"]))
    for result in results:
        if result["ok"] and result["leap"] in LEAP_TEXT:
            leaps.append("%s, says %s" % (LEAP_TEXT[result["leap"]], result["server"]))
    return [finding("leap_pending", leap="; ".join(leaps))] if leaps else []


def _compare_findings(compare, offset_ms: Optional[float], offset_source, max_offset: float) -> List[Finding]:
    """compare_failed, or compare_disagrees when the Date header is a second opinion that disagrees."""
    if compare is None:
        return []
    if not compare["ok"]:
        return [finding("compare_failed", url=compare["url"], error_code=compare["error_code"], error=compare["error"])]
    if offset_ms is None or not offset_source or offset_source.startswith("the Date"):
        return []
    if abs(compare["offset_ms"] - offset_ms) <= compare["uncertainty_ms"] + max_offset:
        return []
    return [finding("compare_disagrees", url=compare["url"], compare_ms=_fmt(compare["offset_ms"]),
                    uncertainty_ms=_fmt(compare["uncertainty_ms"]), offset_ms=_fmt(offset_ms), source=offset_source)]


def check(params, detect=daemons.detect, warn=None) -> ClockResult:
    """Run the whole check; the module's result (without ``changed``).

    ``warn`` (module.warn) hears what the options hide and which configuration files were refused.
    """
    opts = validate(params)
    warn = warn or (lambda message: None)
    for message in warnings(opts):
        warn(message)
    statuses = detect(opts)
    running = [s for s in statuses if s["running"]]
    primary = daemons.primary(statuses)

    refused: List[Any] = []
    if opts["servers"] is None:
        targets, servers_source = _default_targets(primary, opts, refused)
    else:
        targets, servers_source = opts["servers"], "servers parameter"
    results = _query_all(targets, opts)
    compare = None
    if opts.get("compare_url"):
        compare = http_date_offset(opts["compare_url"], opts["timeout"], opts["compare_validate_certs"])

    best = best_server(results)
    offset_ms, offset_source = _best_offset(best, primary, compare)
    max_offset = opts["max_offset_ms"]
    for exc in refused:
        warn("a time daemon configuration file was not read: %s" % exc)
    findings = (_daemon_findings(refused, running, primary) + _offset_findings(offset_ms, offset_source, max_offset)
                + _server_findings(results, best) + _leap_findings(primary, results)
                + _compare_findings(compare, offset_ms, offset_source, max_offset))

    for result in results:
        result.pop("sample_errors", None)
    return ClockResult(
        daemon=_public(primary),
        daemons=[_public(s) for s in running],
        servers=results,
        servers_source=servers_source,
        offset_ms=offset_ms,
        offset_source=offset_source,
        max_offset_ms=max_offset,
        synchronized=bool(primary["synchronized"]),
        skewed=offset_ms is not None and abs(offset_ms) > max_offset,
        compare=compare,
        findings=findings,
    )


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
