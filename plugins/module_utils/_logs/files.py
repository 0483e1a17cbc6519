# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where nginx's error logs are, and how to open them (plain, gzip, bzip2, xz).

Default paths come from the ``error_log`` directives of the nginx configuration, read with the
host-side reader that follows ``include`` as nginx does (_nginx/includes: globs, relative to the
main file's directory, nginx's conf prefix).  Every file (configuration, include, log) is opened through
_safe_files: a FIFO, a device or a directory is refused by what it is, never opened blocking, and
a configuration file is read to a cap.  Standard library only: this runs on managed hosts.
"""

from __future__ import annotations

import glob
import gzip
import os
import zlib

from ansible_collections.tlsops.handshake.plugins.module_utils._common import safe_files as safe
from ansible_collections.tlsops.handshake.plugins.module_utils._logs import blocks
from ansible_collections.tlsops.handshake.plugins.module_utils._nginx import includes

DEFAULT_CONFIG = "/etc/nginx/nginx.conf"
FALLBACK_LOG = "/var/log/nginx/error.log"     # Debian/Ubuntu/RHEL packages' compiled-in error log
MAX_CONFIG_BYTES = 8 * 1024 * 1024
_NOT_FILES = ("stderr", "/dev/null", "/dev/stderr")
_GLOB_CHARS = frozenset("*?[")
LOG_WHAT = "an nginx error log (a regular file, or a glob such as /var/log/nginx/*error.log)"


# ------------------------------------------------------------------------------ configuration
def config_error_logs(config, where="config", prefix=None):
    """``(files, origins, warnings)``: the files the ``error_log`` directives of ``config`` (and what
    it includes) name, in order; ``origins`` maps each to the ``file:line error_log`` naming it.

    nginx takes a relative ``include`` from the directory of ``config`` and a relative ``error_log``
    from its prefix (``-p``, else the ``--prefix`` it was built with): ``prefix`` is that; without it
    the directory of ``config`` stands in, with a warning for each relative ``error_log``.

    Raises FileRefused (an OSError naming ``where``) when ``config`` itself cannot be read; an
    include that exists but cannot be read (a FIFO, a device, a directory, too large) is skipped
    with a warning naming the file:line that includes it.  syslog:, memory:, stderr and /dev/null
    targets are not files and are left out.
    """
    conf_prefix = os.path.dirname(os.path.abspath(config))
    log_prefix = os.path.abspath(prefix) if prefix else conf_prefix
    found, origins, warnings = [], {}, []

    def read(path, origin):
        return safe.read_text(path, MAX_CONFIG_BYTES, what="an nginx configuration file",
                              where="%s: %s:%d include" % (where, origin[0], origin[1]) if origin else where)

    def skipped(path, origin, exc):
        if origin is None:
            raise exc
        if os.path.lexists(path):       # a missing include: nginx would refuse to start; not this module's concern
            warnings.append("%s (skipped)" % exc)

    for statement in includes.walk(config, conf_prefix, read, on_error=skipped, once=True):
        if statement.name == "error_log" and statement.args:
            target = statement.args[0]
            if target in _NOT_FILES or target.startswith(("syslog:", "memory:")):
                continue
            if not os.path.isabs(target):
                if not prefix:
                    warnings.append("%s: %s:%d error_log %s is relative: read as %s (the directory of the configuration); "
                                    "nginx takes it from its prefix (-p, else --prefix of nginx -V): give prefix when "
                                    "that differs" % (where, statement.file, statement.line, target,
                                                      os.path.join(log_prefix, target)))
                target = os.path.join(log_prefix, target)
            if target not in found:
                found.append(target)
                origins[target] = "%s: %s:%d error_log" % (where, statement.file, statement.line)
    return found, origins, warnings


# ------------------------------------------------------------------------------ paths
def rotated_siblings(path):
    """logrotate's copies of ``path``: ``error.log.1``, ``error.log.2.gz`` and, with dateext,
    ``error.log-20261201`` / ``error.log-20261201.gz``."""
    names = glob.glob(glob.escape(path) + ".[0-9]*") + glob.glob(glob.escape(path) + "-[0-9]*")
    return sorted(set(names))


def expand(patterns, rotated):
    """``(files, missing, refused, pattern_of)`` for ``patterns`` (paths or globs).

    ``files``: existing regular files, each once, oldest first (by modification time);
    ``missing``: plain paths (not globs) that do not exist; ``refused``: ``(path, what it is,
    pattern)`` for plain paths and glob matches that exist but are not regular files (a FIFO,
    a device, a directory); ``pattern_of`` maps each file to the pattern that found it.  With ``rotated``, each plain path brings its rotated copies, which may
    be missing and are skipped when they are not regular files.  Nothing is opened here.
    """
    candidates, missing, refused = [], [], []
    for pattern in patterns:
        if _GLOB_CHARS & set(pattern):
            candidates.extend((name, pattern, True) for name in sorted(glob.glob(pattern)))
            continue
        if os.path.lexists(pattern):
            candidates.append((pattern, pattern, True))
        else:
            missing.append(pattern)
        if rotated:
            candidates.extend((name, pattern, False) for name in rotated_siblings(pattern))
    files, seen, pattern_of = [], set(), {}
    for name, pattern, named in candidates:
        real = os.path.realpath(name)
        if real in seen:
            continue
        seen.add(real)
        try:
            kind = safe.kind_of(os.stat(real).st_mode)
        except (OSError, ValueError) as exc:
            kind = "unusable (%s)" % (getattr(exc, "strerror", None) or exc)
        if kind is None:
            files.append(name)
            pattern_of[name] = pattern
        elif named:
            refused.append((name, kind, pattern))

    def age(name):
        try:
            return os.stat(name).st_mtime
        except OSError:
            return 0.0
    files.sort(key=lambda name: (age(name), name))
    return files, missing, refused, pattern_of


# ------------------------------------------------------------------------------ opening
class CorruptLog(OSError):
    """A log that stopped being readable part way: a corrupt or truncated archive, a read error."""


def _decompression_errors():
    errors = [OSError, EOFError, zlib.error]
    try:
        import lzma  # optional part of the standard library
        errors.append(lzma.LZMAError)
    except ImportError:
        pass
    return tuple(errors)


class _LogStream(object):
    """A log opened for streaming (read1 in blocks, or readline): every decompression or read error becomes CorruptLog,
    and closing closes both the decompressor and the file under it."""

    _ERRORS = _decompression_errors()

    def __init__(self, reader, raw, compression):
        self._reader, self._raw, self.compression = reader, raw, compression
        self.block_size = blocks.ARCHIVE_BLOCK_SIZE if compression else blocks.BLOCK_SIZE

    def fileno(self):
        """The descriptor of the file under the stream (of the archive, for a compressed one)."""
        return self._raw.fileno()

    def readline(self, size=-1):
        try:
            return self._reader.readline(size)
        except self._ERRORS as exc:
            raise self._corrupt(exc)

    def read1(self, size=-1):
        """Up to ``size`` bytes from one read of the file (or one decompressed piece of it): what came
        before a damaged part of an archive is returned before the error is raised."""
        try:
            return self._reader.read1(size)
        except self._ERRORS as exc:
            raise self._corrupt(exc)

    def _corrupt(self, exc):
        what = ("corrupt or truncated %s data" % self.compression) if self.compression else "read error"
        return CorruptLog("%s (%s: %s)" % (what, type(exc).__name__, getattr(exc, "strerror", None) or exc))

    def close(self):
        try:
            if self._reader is not self._raw:
                self._reader.close()
        except self._ERRORS:
            pass
        finally:
            self._raw.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()


def open_log(path, where="paths"):
    """``(stream, compression)``: the file, decompressed on the fly when its magic bytes (not its
    name) say ``gzip``, ``bzip2`` or ``xz``; compression is None for a plain file.  ``stream.read1`` and
    ``stream.readline`` raise CorruptLog when the data stops making sense.  Raises FileRefused (naming ``where``) for
    anything but a readable regular file."""
    raw = safe.open_binary(path, where=where, what=LOG_WHAT)
    try:
        magic = raw.read(6)
        raw.seek(0)
        if magic[:2] == b"\x1f\x8b":
            return _LogStream(gzip.GzipFile(fileobj=raw, mode="rb"), raw, "gzip"), "gzip"
        if magic[:3] == b"BZh":
            import bz2  # optional parts of the standard library: imported only for such files
            return _LogStream(bz2.BZ2File(raw, "rb"), raw, "bzip2"), "bzip2"
        if magic == b"\xfd7zXZ\x00":
            import lzma
            return _LogStream(lzma.LZMAFile(raw, "rb"), raw, "xz"), "xz"
        return _LogStream(raw, raw, None), None
    except BaseException:
        raw.close()
        raise
