# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""diagnose_report's input: what the playbook collected per host (Contract 2), checked and flattened.

``normalise_hosts(hosts)`` returns one plain dict per inventory host, sorted by name, with every
module result reduced to the parts the report reads.  Results of older or newer module versions may
lack keys: those read as missing, never as a crash.  What is not the documented shape at all (a
host's data that is not a dict, an unknown step) raises InputError naming ``hosts.<name>.<step>``.
"""

from __future__ import annotations

STEPS = ("nginx", "clock", "probe", "chains", "logs")
HOST_KEYS = ("reachable", "unreachable_msg") + STEPS


class InputError(ValueError):
    """The ``hosts`` option is not what the playbook should hand over; the message names where."""


def as_dict(value):
    return value if isinstance(value, dict) else {}


def as_list(value):
    return value if isinstance(value, list) else []


def text(value, limit=2000):
    """A string for the report (None stays None); bounded, so one huge log line cannot bloat it."""
    if value is None:
        return None
    value = value if isinstance(value, str) else str(value)
    return value if len(value) <= limit else value[:limit] + "..."


def number(value):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return value


def _step_error(step, result):
    """The one-line message of a failed step, or None."""
    if result.get("unreachable"):
        return "%s: host unreachable: %s" % (step, text(result.get("msg"), 300) or "no message")
    if result.get("failed"):
        return "%s: %s" % (step, text(result.get("msg"), 300) or "failed without a message")
    return None


def _result(step, value, where, errors):
    """A registered module result, or None when the step was skipped, failed or not run."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise InputError("%s.%s: expected the registered result of one module call (a dict) or null, got %s"
                         % (where, step, type(value).__name__))
    if value.get("skipped"):
        return None
    message = _step_error(step, value)
    if message:
        errors.append(message)
        return None
    return value


def _results(step, value, where, errors):
    """A list of results: ``nginx`` (several instances) and ``chains`` (one per certificate file).
    A registered loop (a dict with ``results``) counts as its list."""
    if value is None:
        return []
    if isinstance(value, dict) and "results" in value and step == "chains":
        value = value["results"]
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list):
        raise InputError("%s.%s: expected a list of module results, a result or null, got %s"
                         % (where, step, type(value).__name__))
    out = []
    for index, item in enumerate(value):
        result = _result("%s[%d]" % (step, index), item, where, errors)
        if result is not None:
            out.append(result)
    return out


def normalise_host(name, data):
    where = "hosts.%s" % name
    if data is None:
        data = {"reachable": False, "unreachable_msg": "no data was collected for this host"}
    if not isinstance(data, dict):
        raise InputError("%s: expected a dict with %s, got %s" % (where, ", ".join(HOST_KEYS), type(data).__name__))
    unknown = sorted(str(k) for k in data if k not in HOST_KEYS)
    if unknown:
        raise InputError("%s: unknown key(s) %s; allowed: %s" % (where, ", ".join(unknown), ", ".join(HOST_KEYS)))
    reachable = data.get("reachable", True)
    if not isinstance(reachable, bool):
        raise InputError("%s.reachable: expected true or false, got %r" % (where, reachable))
    errors = []
    host = {
        "name": name,
        "reachable": reachable,
        "nginx": _results("nginx", data.get("nginx"), where, errors),
        "clock": _result("clock", data.get("clock"), where, errors),
        "probe": _result("probe", data.get("probe"), where, errors),
        "chains": _results("chains", data.get("chains"), where, errors),
        "logs": _result("logs", data.get("logs"), where, errors),
    }
    if not reachable:
        host["error"] = text(data.get("unreachable_msg"), 500) or "unreachable"
        for step in STEPS:
            host[step] = [] if step in ("nginx", "chains") else None
    else:
        host["error"] = "; ".join(errors) or None
    host["step_errors"] = errors if reachable else []
    return host


def normalise_hosts(hosts):
    if not isinstance(hosts, dict):
        raise InputError("hosts: expected a dict of inventory host name -> collected data (reachable, nginx, clock, "
                         "probe, chains, logs), got %s" % type(hosts).__name__)
    if not hosts:
        raise InputError("hosts: no host data; the play collected nothing (check the play's hosts pattern)")
    return [normalise_host(str(name), hosts[name]) for name in sorted(hosts, key=str)]
