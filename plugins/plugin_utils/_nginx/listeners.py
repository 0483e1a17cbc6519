# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The http listen sockets of the nginx being read, and how its servers are named in findings."""

from __future__ import annotations

import ipaddress
from typing import Any, Dict, Iterable, Optional, Tuple

WILDCARDS = ("*", "0.0.0.0", "::")


def norm_host(host: Any) -> str:
    return str(host or "").strip("[]").lower()


def listen_label(listen: Dict[str, Any]) -> str:
    return listen["raw"] if not listen.get("implicit") else "80 (default)"


def server_label(server: Dict[str, Any]) -> str:
    name = (server["server_names"] or ["_"])[0]
    return "%s (%s)" % (name, ", ".join(listen_label(l) for l in server["listen"]) or "no listen")


class Listeners:
    """The http listen sockets of this nginx: which (address, port) it serves with or without TLS."""

    def __init__(self, servers: Iterable[Dict[str, Any]], local_addresses: Optional[Iterable[str]] = ()) -> None:
        self.sockets: Dict[Tuple[str, int], Dict[str, Any]] = {}
        self.local = {"localhost"} | {norm_host(a) for a in local_addresses or ()}
        for server in servers:
            if server["context"] != "http":
                continue
            for listen in server["listen"]:
                if listen["unix"] or listen["port"] is None:
                    continue
                address = norm_host(listen["address"])
                address = "*" if address in WILDCARDS else address
                if address != "*":
                    self.local.add(address)
                entry = self.sockets.setdefault((address, listen["port"]),
                                                {"ssl": False, "server": server, "listen": listen})
                entry["ssl"] = entry["ssl"] or listen["ssl"]

    def _is_local(self, host: str) -> bool:
        if host in self.local:
            return True
        try:
            return ipaddress.ip_address(host).is_loopback
        except ValueError:
            return False

    def lookup(self, host: Any, port: int) -> Optional[Dict[str, Any]]:
        """The socket ``host:port`` reaches on this nginx (``{ssl, server, listen}``), or None."""
        host = norm_host(host)
        hosts = [host] + (["127.0.0.1", "::1"] if host == "localhost" else [])
        for candidate in hosts:
            if (candidate, port) in self.sockets:
                return self.sockets[(candidate, port)]
        if any(self._is_local(h) for h in hosts) and ("*", port) in self.sockets:
            return self.sockets[("*", port)]
        return None
