# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""nginx's error lines from the systemd journal: ``journalctl -o json -u UNIT`` for hosts that log there only.

journalctl runs without a shell, with validated unit names after ``-u`` (never read as options), the
``since`` time in its own ``YYYY-MM-DD HH:MM:SS`` form, ``--no-pager`` and no input.  Its output is
streamed into the log reader like a file and bounded twice: at most MAX_JOURNAL_BYTES are read, and a
timer kills journalctl after JOURNAL_TIMEOUT seconds.  Either cut is reported, never silent.
Standard library only: this runs on managed hosts.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import threading

MAX_JOURNAL_BYTES = 1 << 30     # 1 GiB of JSON: far more than a day of a busy proxy's errors
JOURNAL_TIMEOUT = 300           # seconds journalctl may take
MAX_UNITS = 50
# systemd.unit(5): letters, digits, ":", "-", "_", ".", "\" and "@" (templates), at most 255 characters;
# a name without a type suffix is a service, as journalctl takes it.
_UNIT_RE = re.compile(r"[A-Za-z0-9:_.\\@-]{1,255}\Z")
_SEARCH_PATH = ("/usr/bin", "/bin", "/usr/sbin", "/sbin", "/usr/local/bin")


class JournalError(ValueError):
    """Bad input or no journalctl; the message starts with ``journal_units``."""


def check_units(units):
    """The unit names, checked: each a systemd unit name that cannot be read as an option."""
    if not isinstance(units, (list, tuple)) or not units:
        raise JournalError("journal_units: give a list of systemd units such as [nginx.service]")
    if len(units) > MAX_UNITS:
        raise JournalError("journal_units: at most %d units, got %d" % (MAX_UNITS, len(units)))
    for index, unit in enumerate(units):
        if not isinstance(unit, str) or not _UNIT_RE.match(unit) or unit.startswith("-") or unit in (".", ".."):
            shown = repr(unit) if len(repr(unit)) <= 60 else repr(unit)[:60] + "..."
            raise JournalError("journal_units[%d]: %s is not a systemd unit name; give one such as nginx.service "
                               "(letters, digits and :_.@\\- only, not starting with -)" % (index, shown))
    return list(units)


def journalctl_path():
    found = shutil.which("journalctl")
    if found:
        return found
    for folder in _SEARCH_PATH:
        candidate = os.path.join(folder, "journalctl")
        if os.access(candidate, os.X_OK):
            return candidate
    return None


def command(units, since_local=None, binary="journalctl"):
    """The argv: ``journalctl -o json --no-pager [--since 'YYYY-MM-DD HH:MM:SS'] -u U1 -u U2``."""
    argv = [binary, "-o", "json", "--no-pager", "--quiet"]
    if since_local:
        argv += ["--since", since_local.replace("/", "-")]
    for unit in units:
        argv += ["--unit=" + unit]
    return argv


class _Bounded(object):
    """journalctl's stdout with ``read1(size)`` and ``readline(size)``, ending after ``limit`` bytes."""

    def __init__(self, raw, limit):
        self._raw, self._left = raw, limit
        self.cut = False

    def _want(self, size):
        """How many bytes the next read may take: 0 once the limit is reached (then ``cut`` says
        whether journalctl had more to say)."""
        if self._left <= 0:
            if self._raw.read(1):
                self.cut = True
            return 0
        return self._left if size is None or size < 0 else min(size, self._left)

    def readline(self, size=-1):
        want = self._want(size)
        data = self._raw.readline(want) if want else b""
        self._left -= len(data)
        return data

    def read1(self, size=-1):
        """What the pipe holds now, up to ``size`` bytes and to the limit (read1: no wait for more)."""
        want = self._want(size)
        data = self._raw.read1(want) if want else b""
        self._left -= len(data)
        return data


def read_journal(units, reader, since_local=None, limit=MAX_JOURNAL_BYTES, timeout=JOURNAL_TIMEOUT, binary=None):
    """Feed ``journalctl -o json`` of ``units`` into ``reader`` (a _logs reader); returns
    ``(report, warnings)``: report has command, lines, bytes, exit status and whether it was cut."""
    units = check_units(units)
    binary = binary or journalctl_path()
    if not binary:
        raise JournalError("journal_units: journalctl is not installed on this host (searched PATH and %s); "
                           "read nginx's log files with paths instead, or install systemd's journalctl"
                           % ", ".join(_SEARCH_PATH))
    argv = command(units, since_local, binary)
    report = {"units": units, "command": argv, "lines": 0, "bytes": 0, "truncated": False, "rc": None}
    warnings = []
    with tempfile.TemporaryFile() as errors:
        try:
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=errors,
                                    close_fds=True, env=dict(os.environ, SYSTEMD_PAGER="", LC_ALL="C"))
        except OSError as exc:
            raise JournalError("journal_units: cannot run %s: %s" % (binary, exc.strerror or exc))
        stdout = proc.stdout
        if stdout is None:      # not with stdout=PIPE; says so to the type checker
            raise JournalError("journal_units: %s gave no output pipe" % binary)
        timed_out = []

        def kill():
            timed_out.append(True)
            proc.kill()

        timer = threading.Timer(timeout, kill)
        timer.daemon = True
        timer.start()
        stream = _Bounded(stdout, limit)
        before = (reader.lines, reader.bytes)
        try:
            reader.read(stream, fmt="journal_json")
        finally:
            if stream.cut or timed_out:
                proc.kill()
            stdout.close()
            rc = proc.wait()
            timer.cancel()
        report.update(lines=reader.lines - before[0], bytes=reader.bytes - before[1], rc=rc,
                      truncated=bool(stream.cut or timed_out))
        errors.seek(0)
        stderr = errors.read(2000).decode("utf-8", "replace").strip()
    if stream.cut:
        warnings.append("journal_units: stopped after %d bytes of journalctl output; give a later since to read "
                        "the rest" % limit)
    elif timed_out:
        warnings.append("journal_units: journalctl took longer than %d s and was stopped; what it wrote until "
                        "then counts" % timeout)
    elif rc != 0:
        message = "journal_units: %s exited with status %d%s" % (" ".join(argv), rc, ": " + stderr if stderr else "")
        if report["lines"] == 0:
            raise JournalError(message)
        warnings.append(message)
    return report, warnings
