# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where nginx's error logs are, and how to open them (plain, gzip, bzip2, xz).

Default paths come from the ``error_log`` directives of the nginx configuration, read with a
small tokenizer that follows ``include`` (globs, relative to the main file's directory, as nginx
does with its conf prefix).  Standard library only: this runs on managed hosts.
"""

from __future__ import annotations

import glob
import gzip
import os

from ansible_collections.tlsops.handshake.plugins.module_utils._nginx_tokens import statements

DEFAULT_CONFIG = "/etc/nginx/nginx.conf"
FALLBACK_LOG = "/var/log/nginx/error.log"     # Debian/Ubuntu/RHEL packages' compiled-in error log
_MAX_INCLUDE_DEPTH = 16
_NOT_FILES = ("stderr", "/dev/null", "/dev/stderr")
_GLOB_CHARS = frozenset("*?[")


# ------------------------------------------------------------------------------ configuration
def config_error_logs(config):
    """Files the ``error_log`` directives of ``config`` (and what it includes) name, in order.

    Raises OSError when ``config`` itself cannot be read; an unreadable include is skipped.
    syslog:, memory:, stderr and /dev/null targets are not files and are left out.
    """
    prefix = os.path.dirname(os.path.abspath(config))
    found, seen = [], set()

    def walk(path, depth):
        real = os.path.realpath(path)
        if real in seen or depth > _MAX_INCLUDE_DEPTH:
            return
        seen.add(real)
        with open(path, "rb") as fh:
            text = fh.read().decode("utf-8", "replace")
        for directive, args in statements(text):
            if directive == "include" and args:
                pattern = args[0] if os.path.isabs(args[0]) else os.path.join(prefix, args[0])
                for name in sorted(glob.glob(pattern)) if _GLOB_CHARS & set(pattern) else [pattern]:
                    try:
                        walk(name, depth + 1)
                    except OSError:
                        pass
            elif directive == "error_log" and args:
                target = args[0]
                if target in _NOT_FILES or target.startswith(("syslog:", "memory:")):
                    continue
                target = target if os.path.isabs(target) else os.path.join(prefix, target)
                if target not in found:
                    found.append(target)

    walk(config, 0)
    return found


# ------------------------------------------------------------------------------ paths
def rotated_siblings(path):
    """logrotate's copies of ``path``: ``error.log.1``, ``error.log.2.gz`` and, with dateext,
    ``error.log-20261201`` / ``error.log-20261201.gz``."""
    names = glob.glob(glob.escape(path) + ".[0-9]*") + glob.glob(glob.escape(path) + "-[0-9]*")
    return sorted(set(names))


def expand(patterns, rotated):
    """``(files, missing)``: existing regular files for ``patterns`` (paths or globs), each once,
    oldest first (by modification time); ``missing`` are plain paths (not globs) that do not exist.
    With ``rotated``, each plain path brings its rotated copies, which may be missing."""
    candidates, missing = [], []
    for pattern in patterns:
        if _GLOB_CHARS & set(pattern):
            candidates.extend(sorted(glob.glob(pattern)))
            continue
        if os.path.exists(pattern):
            candidates.append(pattern)
        else:
            missing.append(pattern)
        if rotated:
            candidates.extend(rotated_siblings(pattern))
    files, seen = [], set()
    for name in candidates:
        real = os.path.realpath(name)
        if real in seen or not os.path.isfile(real):
            continue
        seen.add(real)
        files.append(name)

    def age(name):
        try:
            return os.stat(name).st_mtime
        except OSError:
            return 0.0
    files.sort(key=lambda name: (age(name), name))
    return files, missing


# ------------------------------------------------------------------------------ opening
def open_log(path):
    """``(binary file, compression)``: the file, decompressed on the fly when its magic bytes (not
    its name) say ``gzip``, ``bzip2`` or ``xz``; compression is None for a plain file."""
    with open(path, "rb") as raw:
        magic = raw.read(6)
    if magic[:2] == b"\x1f\x8b":
        return gzip.open(path, "rb"), "gzip"
    if magic[:3] == b"BZh":
        import bz2     # optional parts of the standard library: imported only for such files
        return bz2.open(path, "rb"), "bzip2"
    if magic == b"\xfd7zXZ\x00":
        import lzma
        return lzma.open(path, "rb"), "xz"
    return open(path, "rb"), None
