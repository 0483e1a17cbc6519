# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The NTP servers a local daemon is configured with: chrony.conf (with include,
confdir and sourcedir), timesyncd.conf (with its .conf.d drop-ins) and ntp.conf.

Each reader returns ``(servers, files_read)``; a server is ``{"host", "port", "kind"}``
with kind ``server``, ``pool`` or ``peer``.  Every file is read through _safe_files: a
FIFO, a device or a huge file named by an option or an include is refused (a
``FileRefused`` naming the option or the ``file:line`` that named it, appended to
``problems``) instead of hanging the module; the rest of the configuration is still read.
"""

from __future__ import annotations

import glob
import os

from ansible_collections.tlsops.handshake.plugins.module_utils._common.safe_files import FileRefused, read_text

NTP_PORT = 123
CHRONY_CONFIGS = ("/etc/chrony/chrony.conf", "/etc/chrony.conf")
TIMESYNCD_CONFIG = "/etc/systemd/timesyncd.conf"
TIMESYNCD_DROPIN_DIRS = ("/usr/lib/systemd/timesyncd.conf.d", "/run/systemd/timesyncd.conf.d")
NTP_CONFIGS = ("/etc/ntpsec/ntp.conf", "/etc/ntp.conf")
MAX_INCLUDE_DEPTH = 5
MAX_FILES = 64  # files read per daemon configuration (include loops and huge globs end here)
MAX_CONFIG_BYTES = 1 << 20
WHAT = "a configuration file"


def first_existing(paths):
    for path in paths:
        if path and os.path.lexists(path):
            return path
    return None


def _lines(path, where, problems):
    """The lines of ``path``, or None when it is missing (silently) or refused (noted in ``problems``)."""
    try:
        return read_text(path, MAX_CONFIG_BYTES, where=where, what=WHAT).splitlines()
    except FileRefused as exc:
        if problems is not None and os.path.lexists(path):
            problems.append(exc)
        return None
    except ValueError:  # a NUL in a path taken from a file
        return None


def _strip_comment(line, marks):
    for index, char in enumerate(line):
        if char in marks:
            return line[:index]
    return line


# ------------------------------------------------------------------ chrony


def chrony_servers(path, problems=None, where="chrony_config"):
    """Servers of a chrony config and the files read (include, confdir, sourcedir followed)."""
    servers = []
    files = []
    _chrony_file(path, where, servers, files, 0, problems)
    return _dedupe(servers), files


def _chrony_file(path, where, servers, files, depth, problems):
    if depth > MAX_INCLUDE_DEPTH or path in files or len(files) >= MAX_FILES:
        return
    lines = _lines(path, where, problems)
    if lines is None:
        return
    files.append(path)
    for number, raw in enumerate(lines, 1):
        words = _strip_comment(raw, "#;!%").split()
        if not words:
            continue
        directive = words[0].lower()
        here = "%s:%d (%s)" % (path, number, directive)
        if directive in ("server", "pool", "peer") and len(words) > 1:
            port = NTP_PORT
            for index, word in enumerate(words[2:], 2):
                if word.lower() == "port" and index + 1 < len(words) and _is_number(words[index + 1]):
                    port = int(words[index + 1])
            servers.append({"host": words[1], "port": port, "kind": directive})
        elif directive == "include" and len(words) > 1:
            for match in _glob(words[1]):
                _chrony_file(match, here, servers, files, depth + 1, problems)
        elif directive in ("confdir", "sourcedir"):
            suffix = ".conf" if directive == "confdir" else ".sources"
            # chrony: for the same file name in several directories only the first counts
            seen = {}
            for directory in words[1:]:
                for match in _glob(os.path.join(directory, "*" + suffix)):
                    seen.setdefault(os.path.basename(match), match)
            for name in sorted(seen):
                _chrony_file(seen[name], here, servers, files, depth + 1, problems)


def _glob(pattern):
    """The first MAX_FILES matches of ``pattern``, sorted (a pattern from a file may match anything)."""
    try:
        return sorted(glob.glob(pattern))[:MAX_FILES]
    except (OSError, ValueError):
        return []


def _is_number(word):
    return word.isascii() and word.isdigit() and len(word) <= 5


# ------------------------------------------------------------------ systemd-timesyncd


def timesyncd_servers(path=TIMESYNCD_CONFIG, problems=None, where="timesyncd_config"):
    """NTP= servers of timesyncd.conf and its drop-ins (FallbackNTP= when NTP= is empty)."""
    files = []
    values = {"NTP": [], "FallbackNTP": None}
    # the system drop-in directories count only for the system file, not for one named explicitly
    dropin_dirs = (list(TIMESYNCD_DROPIN_DIRS) if path == TIMESYNCD_CONFIG else []) + [path + ".d"]
    candidates = [path]
    dropins = {}
    for directory in dropin_dirs:
        for match in _glob(os.path.join(directory, "*.conf")):
            dropins[os.path.basename(match)] = match  # later directories override earlier ones
    candidates += [dropins[name] for name in sorted(dropins)][:MAX_FILES]
    for candidate in candidates:
        lines = _lines(candidate, where if candidate == path else "a drop-in of %s" % path, problems)
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


def ntp_servers(path, problems=None, where="ntp_config"):
    """server/pool/peer lines of ntp.conf (refclocks 127.127.x.x skipped)."""
    servers = []
    lines = _lines(path, where, problems)
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


def configured_servers(daemon_name, options, problems=None):
    """``(servers, source)`` for the daemon that runs; when none runs, the first daemon whose
    config file exists (chrony, systemd-timesyncd, ntpd).  ``source`` names the file(s).
    Files that exist but are refused (a FIFO, a device, too large) are appended to ``problems``."""
    order = ["chrony", "systemd-timesyncd", "ntpd"]
    if daemon_name in order:
        order.remove(daemon_name)
        order.insert(0, daemon_name)
    for name in order:
        if name == "chrony":
            path = options.get("chrony_config") or first_existing(CHRONY_CONFIGS)
            where = "chrony_config" if options.get("chrony_config") else "the default chrony_config"
            if path and os.path.lexists(path):
                servers, files = chrony_servers(path, problems, where)
                if files:
                    return servers, ", ".join(files)
        elif name == "systemd-timesyncd":
            path = options.get("timesyncd_config") or TIMESYNCD_CONFIG
            where = "timesyncd_config" if options.get("timesyncd_config") else "the default timesyncd_config"
            if os.path.lexists(path):
                servers, files = timesyncd_servers(path, problems, where)
                if files and (servers or daemon_name == name):
                    return servers, ", ".join(files)
        else:
            path = options.get("ntp_config") or first_existing(NTP_CONFIGS)
            where = "ntp_config" if options.get("ntp_config") else "the default ntp_config"
            if path and os.path.lexists(path):
                servers, files = ntp_servers(path, problems, where)
                if files:
                    return servers, ", ".join(files)
    return [], None
