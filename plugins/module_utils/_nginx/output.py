# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What nginx itself prints: ``nginx -V`` (version, TLS library, compiled-in paths) and the log
lines of ``nginx -t`` / ``nginx -T`` (``[emerg] ... in FILE:LINE``).

The one reader of that output, for the modules (nginx_tls_info's host half, the tls_policy
role's private module) and the role's filter (nginx_test_failure).  Standard library only.
"""

from __future__ import annotations

import os
import re
from typing import Any, Dict

DEFAULT_PREFIX = "/usr/local/nginx"     # nginx's own default when configure had no --prefix

_VERSION_RE = re.compile(r"nginx version: ([^/\s]+)/(\S+)")
_BUILT_RE = re.compile(r"built with (.+?)(?: \(running with (.+)\))?$")
_OPENSSL_VERSION_RE = re.compile(r"OpenSSL ([0-9][0-9.]*)")
_CONFIGURE_PATHS = (("--conf-path=", "conf_path"), ("--prefix=", "prefix"), ("--pid-path=", "pid_path"))
_LOG_RE = re.compile(r"\[(emerg|alert|crit|error|warn|notice)\] \d+#\d+: (.*)$")
# " in FILE:LINE" at the end of a message; greedy before it, so the last " in /" wins
_WHERE_RE = re.compile(r".*\sin (/.+):([0-9]+)\s*$", re.DOTALL)
_QUOTED_CALL_RE = re.compile(r"\(\"([^\"]+)\"\)")
_TEST_END = "nginx: configuration file"


def parse_version_output(text):
    """What ``nginx -V`` says: product, version, TLS library built with / running with, paths.

    ``openssl_version`` is the number of the OpenSSL nginx runs with (else the one it was built
    with), ``0`` when neither is OpenSSL; ``conf_file`` and ``pid_file`` are the compiled-in paths
    made absolute against the compiled-in prefix (nginx's own default /usr/local/nginx when
    configure had none), as nginx itself resolves them.
    """
    info: Dict[str, Any] = {"product": None, "version": None, "openssl_built": None, "openssl_running": None,
            "configure_arguments": None, "conf_path": None, "prefix": None, "pid_path": None}
    for line in (text or "").splitlines():
        line = line.strip()
        match = _VERSION_RE.match(line)
        if match:
            info["product"], info["version"] = match.group(1), match.group(2)
            continue
        match = _BUILT_RE.match(line)
        if match and not line.startswith("built by"):
            info["openssl_built"] = " ".join(match.group(1).split())
            running = match.group(2)
            info["openssl_running"] = " ".join(running.split()) if running else info["openssl_built"]
            continue
        if line.startswith("configure arguments:"):
            args = line[len("configure arguments:"):].strip()
            info["configure_arguments"] = args
            for key, field in _CONFIGURE_PATHS:
                match = re.search(r"(?:^|\s)%s(\S+)" % re.escape(key), args)
                if match:
                    info[field] = match.group(1).strip("'\"")
    library = _OPENSSL_VERSION_RE.search(info["openssl_running"] or "") or _OPENSSL_VERSION_RE.search(
        info["openssl_built"] or "")
    info["openssl_version"] = library.group(1) if library else "0"
    prefix = info["prefix"] or DEFAULT_PREFIX
    info["conf_file"] = os.path.join(prefix, info["conf_path"] or "conf/nginx.conf")
    info["pid_file"] = os.path.join(prefix, info["pid_path"] or "logs/nginx.pid")
    return info


def _log_records(stderr):
    """``(level, text, continuation_lines, first_line)`` of each of nginx's log lines in ``stderr``."""
    records = []
    for line in (stderr or "").splitlines():
        match = _LOG_RE.search(line)
        if match:
            records.append((match.group(1), match.group(2).strip(), [], line))
        elif records and not line.startswith("nginx: "):
            records[-1][2].append(line)     # a message over several lines (a quoted inline key)
    return records


def nginx_messages(stderr):
    """nginx's own log lines in ``stderr`` as ``[level] text`` (the ``[emerg]`` of a rejected config)."""
    return ["[%s] %s" % (level, text) for level, text, dummy_more, dummy_line in _log_records(stderr)]


def where(message):
    """``(file, line)`` of the ``... in FILE:LINE`` that ends one of nginx's messages, or None."""
    match = _WHERE_RE.match(message or "")
    return (match.group(1), int(match.group(2))) if match else None


def test_failure(stderr, redact=None):
    """Why ``nginx -t`` failed, from its stderr: ``{message, file, line, quoted}``.

    ``message`` is every ``[emerg]`` line as nginx wrote it, with the lines that continue it (a
    quoted inline key spans several), up to nginx's closing "configuration file ... test failed";
    ``redact`` (text -> text) is applied to that block before its lines are trimmed and joined with
    spaces.  Without an ``[emerg]`` line it is the whole stderr, trimmed.  ``file``/``line`` are
    where nginx says it stopped (None when it does not say, as for OpenSSL's errors); ``quoted`` is
    the first ``("...")`` argument nginx quotes (``SSL_CTX_set_cipher_list("X") failed``), or "".
    """
    block, on = [], False
    for line in (stderr or "").splitlines():
        if "[emerg]" in line:
            on = True
        elif line.startswith(_TEST_END):
            on = False
        if on:
            block.append(line)
    if block:
        text = "\n".join(block)
        text = redact(text) if redact else text
        message = " ".join(line.strip() for line in text.splitlines())
    else:
        message = (stderr or "").strip()
    located = None
    for line in block:
        if "[emerg]" in line:
            located = where(line)
            if located:
                break
    located = located or where(message)
    quoted = _QUOTED_CALL_RE.search(message)
    return {"message": message, "file": located[0] if located else None, "line": located[1] if located else None,
            "quoted": quoted.group(1) if quoted else ""}
