# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one way every module reads a file it is pointed at.

The modules run as root and read paths that come from users and from
configuration files (nginx ``include`` and ``ssl_certificate``, chrony
``include``, log paths).  Such a path may name a FIFO (open() blocks until a
writer appears), a character device (``/dev/zero`` never ends, whatever
getsize() says) or a directory.  So a file is opened non-blocking, checked
with fstat on the open descriptor (no race with a rename), refused unless it
is a regular file, and read to at most ``cap`` + 1 bytes.

Standard library only: this runs on managed hosts.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat

_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)


class FileRefused(OSError):
    """A path that is not a readable regular file of a sensible size.

    ``str()`` is a whole sentence: where the path came from (an option such as
    ``ca_file``, or the ``file:line`` that included it), the path, what is
    wrong and what to give instead.
    """

    def __init__(self, path, problem, where=None, what="a regular file"):
        self.path = path
        self.problem = problem
        self.where = where
        text = "%s is %s; give the path of %s" % (path, problem, what)
        super(FileRefused, self).__init__(errno.EINVAL, ("%s: %s" % (where, text)) if where else text)

    def __str__(self):
        return str(self.strerror)


def kind_of(mode):
    """``'a FIFO (named pipe)'`` etc. for a non-regular ``st_mode``; None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    for test, name in _KINDS:
        if test(mode):
            return name
    return "not a regular file"


def _kind_by_name(path):
    try:
        return kind_of(os.stat(path).st_mode)
    except (OSError, ValueError):
        return None


def _open_checked(path, where, what):
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except FileNotFoundError:
        raise FileRefused(path, "missing (no such file)", where, what)
    except PermissionError:
        raise FileRefused(path, "not readable by this user (permission denied)", where, what)
    except OSError as exc:
        # a UNIX socket cannot be opened at all (ENXIO): say what it is
        raise FileRefused(path, _kind_by_name(path) or "unreadable (%s)" % (exc.strerror or exc), where, what)
    try:
        kind = kind_of(os.fstat(fd).st_mode)
    except OSError as exc:
        os.close(fd)
        raise FileRefused(path, "unreadable (%s)" % (exc.strerror or exc), where, what)
    if kind is not None:
        os.close(fd)
        raise FileRefused(path, kind, where, what)
    return fd


def read_bytes(path, cap, where=None, what="a regular file"):
    """The contents of the regular file ``path``, at most ``cap`` bytes.

    Raises FileRefused (an OSError) for anything else, including a file
    larger than ``cap``; the size is measured by reading, never trusted from
    stat (``/proc`` files say 0, devices say anything).
    """
    fd = _open_checked(path, where, what)
    chunks, total = [], 0
    try:
        while total <= cap:
            chunk = os.read(fd, min(1 << 20, cap + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
    except OSError as exc:
        raise FileRefused(path, "unreadable (%s)" % (exc.strerror or exc), where, what)
    finally:
        os.close(fd)
    if total > cap:
        raise FileRefused(path, "larger than %s" % human_size(cap), where, what)
    return b"".join(chunks)


def read_text(path, cap, where=None, what="a regular file"):
    """read_bytes() decoded as UTF-8; undecodable bytes become U+FFFD."""
    return read_bytes(path, cap, where, what).decode("utf-8", "replace")


def open_binary(path, where=None, what="a regular file"):
    """A buffered binary file object for streaming a regular file (logs).

    The same checks as read_bytes(), without a size cap: the caller reads in
    bounded pieces.  The descriptor is switched back to blocking mode.
    """
    fd = _open_checked(path, where, what)
    try:
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


@contextlib.contextmanager
def pinned(path, where=None, what="a regular file"):
    """A name of the regular file ``path`` names now, for a library that opens files by name (OpenSSL's
    ``load_cert_chain``): ``/proc/self/fd/N`` of a descriptor opened and checked here, which names that file
    whatever happens to ``path`` afterwards, so it cannot be swapped for a FIFO between the check and the
    library's open.  Without /proc, ``path`` itself after the same check.  Raises FileRefused like read_bytes."""
    fd = _open_checked(path, where, what)
    try:
        name = "/proc/self/fd/%d" % fd
        yield name if os.path.exists(name) else path
    finally:
        os.close(fd)


def is_regular(path):
    """True when ``path`` (symlinks followed) is a regular file; never raises."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except (OSError, ValueError):
        return False


def human_size(count):
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if count < 1024 or unit == "GiB":
            return ("%d %s" % (count, unit)) if unit == "bytes" else ("%g %s" % (round(count, 1), unit))
        count /= 1024.0
    return "%d bytes" % count
