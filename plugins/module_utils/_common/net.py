# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Host names and addresses as users and nginx write them: IP literals and ``host:port``.

One reading for the probe's targets, nginx's ``listen`` / ``*_pass`` / ``server`` addresses and
time_sync_info's servers; each caller keeps its own rules for the port (default, range, error
wording), since those differ by where the text came from.
"""

from __future__ import annotations

import ipaddress
import os

# Standard library only: this file runs on managed hosts.


class HostPortError(ValueError):
    """The text is not ``host``, ``host:port``, ``[v6addr]:port`` or a bare IPv6 address.

    ``host`` is the host as far as it could be read (the text inside an unclosed or misused ``[``).
    """

    def __init__(self, message, host):
        super(HostPortError, self).__init__(message)
        self.host = host


def is_ip_literal(host):
    """True for an IPv4 or IPv6 address, also written in brackets or with an IPv6 ``%zone``.

    Such a host gets no SNI (RFC 6066 allows DNS names only; nginx never sends one for an address).
    """
    address = str(host).strip("[]").split("%", 1)[0]
    if not address or not _ADDRESS_CHARACTERS.issuperset(address):
        return False    # a name: ipaddress would refuse it too, with two exceptions raised (a fleet has many names)
    try:
        ipaddress.ip_address(address)
    except ValueError:
        return False
    return True


_ADDRESS_CHARACTERS = frozenset("0123456789abcdefABCDEF.:")


def split_host_port(text):
    """``(host, port)`` of ``host``, ``host:port``, ``[v6addr]``, ``[v6addr]:port`` or a bare IPv6 address.

    ``port`` is the text after the ``:`` as written (``""`` for a trailing colon), None when there is no
    port; the caller checks it.  Whitespace around ``text`` is dropped.  HostPortError when a ``[`` is not
    closed or anything but ``:port`` follows its ``]``.
    """
    text = text.strip()
    if text.startswith("["):
        host, closed, rest = text[1:].partition("]")
        if not closed:
            raise HostPortError("%r has an unclosed '['" % text, host)
        if rest and not rest.startswith(":"):
            raise HostPortError("%r has %r after ']' where only :port may stand" % (text, rest), host)
        return host, (rest[1:] if rest else None)
    if text.count(":") > 1:  # a bare IPv6 address: it cannot carry a port without brackets
        return text, None
    host, colon, port = text.partition(":")
    return host, (port if colon else None)


def is_loopback(host):
    """True for ``localhost`` (and names under ``.localhost``, RFC 6761) and loopback addresses (127.0.0.0/8,
    ``::1``, also in brackets): a service there is one per network namespace, not one per address."""
    name = str(host).strip("[]").split("%", 1)[0].rstrip(".").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def network_namespace():
    """``<boot id>/<inode>`` of this process's network namespace, or None where /proc does not say.

    Two processes with the same value reach the same loopback services: one running kernel (the boot id
    is random per boot) and one namespace in it. Machines and containers each have their own."""
    try:
        with open("/proc/sys/kernel/random/boot_id") as stream:
            boot = stream.read().strip()
        inode = os.stat("/proc/self/ns/net").st_ino
    except OSError:
        return None
    return "%s/%d" % (boot, inode) if boot else None
