# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The decisions of the time_sync role: container mode, and the directives of chrony.conf.

``container_mode(pid1_status, mode, virtualization_type, virtualization_role)`` decides whether
chronyd runs with ``-x`` (it cannot set the clock: PID 1 lacks CAP_SYS_TIME in its bounding set, or,
when that is unreadable, the host is a container) and says why.  ``chrony_directives(variables,
container)`` turns the role's ``time_sync_*`` variables into chrony.conf's lines (sources, policy,
system); templates/chrony.conf.j2 only lays them out.  The roles call them through the
``time_sync_container_mode`` and ``time_sync_chrony_directives`` filters.  Plain Python, controller side.
"""

from __future__ import annotations

import re

from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.tlsops.handshake.plugins.plugin_utils._roles.config_values import as_int

# CAP_SYS_TIME is capability 25 of the hexadecimal CapBnd in /proc/1/status.
CAP_SYS_TIME = 25
# Values of ansible_virtualization_type that mean "a container".
CONTAINER_TYPES = ("docker", "podman", "container", "containerd", "lxc", "openvz", "systemd-nspawn")
MODES = ("auto", "container", "host")
_CAPBND = re.compile(r"^CapBnd:\s*([0-9a-fA-F]+)", re.MULTILINE)


def _flag(value):
    """Ansible's ``bool`` filter: yes/no, true/false, on/off, 1/0 in any case; anything else is false."""
    return boolean(value, strict=False)


def has_cap_sys_time(pid1_status):
    """Whether PID 1's bounding set holds CAP_SYS_TIME (``/proc/1/status`` text); None when it is unreadable."""
    found = _CAPBND.search(pid1_status or "")
    if not found:
        return None
    return bool(int(found.group(1), 16) >> CAP_SYS_TIME & 1)


def container_mode(pid1_status, mode, virtualization_type, virtualization_role):
    """``{"container": bool, "reason": text}``: whether chronyd runs with ``-x``, and why."""
    if mode not in MODES:
        raise ValueError("time_sync_container_mode %r is not one of %s" % (mode, ", ".join(MODES)))
    if mode != "auto":
        return {"container": mode == "container", "reason": "time_sync_container_mode=%s" % mode}
    has_cap = has_cap_sys_time(pid1_status)
    virt = virtualization_type or "unknown"
    if has_cap is None:
        container = virtualization_role == "guest" and virt in CONTAINER_TYPES
        capability = "the capabilities of PID 1 are unreadable"
    else:
        container = not has_cap
        capability = "PID 1 has %sCAP_SYS_TIME in its bounding set" % ("" if has_cap else "no ")
    return {"container": container,
            "reason": "%s, virtualization: %s (%s)" % (capability, virt, virtualization_role or "unknown")}


def _given(entry, key):
    return entry.get(key) is not None


def source_line(server):
    """One ``server`` or ``pool`` line of a ``time_sync_servers`` entry (iburst unless switched off)."""
    words = ["pool" if _flag(server.get("pool", False)) else "server", str(server["host"])]
    if _given(server, "port"):
        words += ["port", str(server["port"])]
    for option, default in (("iburst", True), ("prefer", False), ("nts", False), ("trust", False)):
        if _flag(server.get(option, default)):
            words.append(option)
    for option in ("minpoll", "maxpoll", "maxsources"):
        if _given(server, option):
            words += [option, str(server[option])]
    words += [str(option) for option in server.get("options") or ()]
    return " ".join(words)


def chrony_directives(variables, container):
    """chrony.conf's lines from the role's variables: ``{"sources": [...], "policy": [...], "system": [...]}``.

    sources: one line per time_sync_servers entry.  policy: minsources (when more than 1), maxdistance,
    makestep, local stratum, allow, deny.  system: rtcsync (never in container mode: chronyd -x cannot
    set the RTC either), leapsectz.
    """
    v = variables
    policy = []
    if as_int(v["time_sync_min_sources"]) > 1:
        policy.append("minsources %s" % v["time_sync_min_sources"])
    if v["time_sync_max_distance"] is not None:
        policy.append("maxdistance %s" % v["time_sync_max_distance"])
    makestep = v["time_sync_makestep"]
    if makestep:
        policy.append("makestep %s %s" % (makestep.get("threshold", 1.0), makestep.get("limit", 3)))
    if v["time_sync_local_stratum"] is not None:
        policy.append("local stratum %s%s" % (v["time_sync_local_stratum"],
                                              " orphan" if _flag(v["time_sync_local_orphan"]) else ""))
    policy += ["allow %s" % network for network in v["time_sync_allow"]]
    policy += ["deny %s" % network for network in v["time_sync_deny"]]
    system = []
    if _flag(v["time_sync_rtcsync"]) and not container:
        system.append("rtcsync")
    if v["time_sync_leapsectz"]:
        system.append("leapsectz %s" % v["time_sync_leapsectz"])
    return {"sources": [source_line(server) for server in v["time_sync_servers"]], "policy": policy, "system": system}
