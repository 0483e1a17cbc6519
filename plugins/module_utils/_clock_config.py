# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The NTP servers a local daemon is configured with: chrony.conf (with include,
confdir and sourcedir), timesyncd.conf (with its .conf.d drop-ins) and ntp.conf.

Each reader returns ``(servers, files_read)``; a server is ``{"host", "port", "kind"}``
with kind ``server``, ``pool`` or ``peer``.
"""

from __future__ import annotations

import glob
import os

NTP_PORT = 123
CHRONY_CONFIGS = ("/etc/chrony/chrony.conf", "/etc/chrony.conf")
TIMESYNCD_CONFIG = "/etc/systemd/timesyncd.conf"
TIMESYNCD_DROPIN_DIRS = ("/usr/lib/systemd/timesyncd.conf.d", "/run/systemd/timesyncd.conf.d")
NTP_CONFIGS = ("/etc/ntpsec/ntp.conf", "/etc/ntp.conf")
MAX_INCLUDE_DEPTH = 5


def first_existing(paths):
    for path in paths:
        if path and os.path.isfile(path):
            return path
    return None


def _lines(path):
    try:
        with open(path, "r", errors="replace") as handle:
            return handle.read(1 << 20).splitlines()
    except OSError:
        return None


def _strip_comment(line, marks):
    for index, char in enumerate(line):
        if char in marks:
            return line[:index]
    return line


# ------------------------------------------------------------------ chrony


def chrony_servers(path):
    """Servers of a chrony config and the files read (include, confdir, sourcedir followed)."""
    servers = []
    files = []
    _chrony_file(path, servers, files, 0)
    return _dedupe(servers), files


def _chrony_file(path, servers, files, depth):
    lines = _lines(path)
    if lines is None or depth > MAX_INCLUDE_DEPTH:
        return
    files.append(path)
    for raw in lines:
        words = _strip_comment(raw, "#;!%").split()
        if not words:
            continue
        directive = words[0].lower()
        if directive in ("server", "pool", "peer") and len(words) > 1:
            port = NTP_PORT
            for index, word in enumerate(words[2:], 2):
                if word.lower() == "port" and index + 1 < len(words) and words[index + 1].isdigit():
                    port = int(words[index + 1])
            servers.append({"host": words[1], "port": port, "kind": directive})
        elif directive == "include" and len(words) > 1:
            for match in sorted(glob.glob(words[1])):
                _chrony_file(match, servers, files, depth + 1)
        elif directive in ("confdir", "sourcedir"):
            suffix = ".conf" if directive == "confdir" else ".sources"
            # chrony: for the same file name in several directories only the first counts
            seen = {}
            for directory in words[1:]:
                for match in sorted(glob.glob(os.path.join(directory, "*" + suffix))):
                    seen.setdefault(os.path.basename(match), match)
            for name in sorted(seen):
                _chrony_file(seen[name], servers, files, depth + 1)


# ------------------------------------------------------------------ systemd-timesyncd


def timesyncd_servers(path=TIMESYNCD_CONFIG):
    """NTP= servers of timesyncd.conf and its drop-ins (FallbackNTP= when NTP= is empty)."""
    files = []
    values = {"NTP": [], "FallbackNTP": None}
    # the system drop-in directories count only for the system file, not for one named explicitly
    dropin_dirs = (list(TIMESYNCD_DROPIN_DIRS) if path == TIMESYNCD_CONFIG else []) + [path + ".d"]
    candidates = [path]
    dropins = {}
    for directory in dropin_dirs:
        for match in sorted(glob.glob(os.path.join(directory, "*.conf"))):
            dropins[os.path.basename(match)] = match  # later directories override earlier ones
    candidates += [dropins[name] for name in sorted(dropins)]
    for candidate in candidates:
        lines = _lines(candidate)
        if lines is None:
            continue
        files.append(candidate)
        section = None
        for raw in lines:
            line = raw.strip()
            if not line or line[0] in "#;":
                continue
            if line.startswith("[") and line.endswith("]"):
                section = line[1:-1].strip()
                continue
            key, sep, value = line.partition("=")
            key = key.strip()
            if section != "Time" or not sep or key not in values:
                continue
            names = value.split()
            if key == "NTP":
                # systemd list semantics: an empty assignment resets the list
                values["NTP"] = values["NTP"] + names if names else []
            else:
                values["FallbackNTP"] = (values["FallbackNTP"] or []) + names if names else []
    hosts = values["NTP"] or values["FallbackNTP"] or []
    kind = "server" if values["NTP"] else "fallback"
    return _dedupe([{"host": host, "port": NTP_PORT, "kind": kind} for host in hosts]), files


# ------------------------------------------------------------------ ntpd


def ntp_servers(path):
    """server/pool/peer lines of ntp.conf (refclocks 127.127.x.x skipped)."""
    servers = []
    lines = _lines(path)
    if lines is None:
        return [], []
    for raw in lines:
        words = _strip_comment(raw, "#").split()
        if len(words) > 1 and words[0].lower() in ("server", "pool", "peer"):
            if words[1].startswith("127.127."):
                continue
            servers.append({"host": words[1], "port": NTP_PORT, "kind": words[0].lower()})
    return _dedupe(servers), [path]


def _dedupe(servers):
    seen = set()
    unique = []
    for server in servers:
        key = (server["host"], server["port"])
        if key not in seen:
            seen.add(key)
            unique.append(server)
    return unique


def configured_servers(daemon_name, options):
    """``(servers, source)`` for the daemon that runs; when none runs, the first daemon whose
    config file exists (chrony, systemd-timesyncd, ntpd).  ``source`` names the file(s)."""
    order = ["chrony", "systemd-timesyncd", "ntpd"]
    if daemon_name in order:
        order.remove(daemon_name)
        order.insert(0, daemon_name)
    for name in order:
        if name == "chrony":
            path = options.get("chrony_config") or first_existing(CHRONY_CONFIGS)
            if path and os.path.isfile(path):
                servers, files = chrony_servers(path)
                return servers, ", ".join(files)
        elif name == "systemd-timesyncd":
            path = options.get("timesyncd_config") or TIMESYNCD_CONFIG
            if os.path.isfile(path):
                servers, files = timesyncd_servers(path)
                if servers or daemon_name == name:
                    return servers, ", ".join(files)
        else:
            path = options.get("ntp_config") or first_existing(NTP_CONFIGS)
            if path and os.path.isfile(path):
                servers, files = ntp_servers(path)
                return servers, ", ".join(files)
    return [], None
