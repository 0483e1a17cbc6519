# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin diagnose_report: the fleet report, built and written on the controller.

Nothing runs on the managed host: the engine (plugins/plugin_utils/_diagnose/report.py) turns the
collected per-host results into report.json, report.md and report.html in output_dir, each written
to a temporary file in that directory and renamed over the old one, so a reader never sees half a
report.  Documentation: plugins/modules/diagnose_report.py.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping

from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.action import ActionBase

from ansible_collections.tlsops.handshake.plugins.module_utils._common import forked
from ansible_collections.tlsops.handshake.plugins.module_utils._common.heap import cycle_collector_paused
from ansible_collections.tlsops.handshake.plugins.module_utils._common.packed import PackedError, pack_keys, unpacked
from ansible_collections.tlsops.handshake.plugins.plugin_utils._diagnose import nice_json, render_html, render_md, report as engine

OPTIONS = ("hosts", "host_records", "output_dir", "fail_on", "since", "group", "write_hosts", "pack_results",
           "return_report")
DEFAULT_OUTPUT_DIR = "./tlsops-report"
STEPS = ("nginx", "clock", "probe", "chains", "logs")
RECORD_KEYS = ("hosts", "record", "missing_msg")


class ReportWriteError(OSError):
    """output_dir cannot hold the report; the message names the path and what to do."""


def write_atomically(directory, name, content):
    """``content``: the text, or a function that writes it to the stream it is given."""
    path = os.path.join(directory, name)
    handle, temporary = tempfile.mkstemp(prefix=".%s." % name, suffix=".tmp", dir=directory)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            if callable(content):
                content(stream)
            else:
                stream.write(content)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise
    return path


def output_directory(output_dir):
    directory = os.path.abspath(os.path.expanduser(output_dir))
    try:
        os.makedirs(directory, exist_ok=True)
    except OSError as exc:
        raise ReportWriteError("output_dir: cannot write the report into %s (%s); choose a directory this user can write"
                               % (directory, exc.strerror or exc))
    if not os.path.isdir(directory):
        raise ReportWriteError("output_dir: %s is not a directory; choose a directory for the report" % directory)
    return directory


def _plain(value):
    """What json cannot encode by itself (a date a module returned, a set): as text, like to_json."""
    return sorted(value) if isinstance(value, (set, frozenset)) else str(value)


def start_writing_hosts(hosts, output_dir):
    """Write hosts.json (write_hosts) in a forked child while this process builds the report: at a thousand
    upstreams a host it is the biggest part of this task (0.2 s a host), and the data is shared with the child
    for free.  Returns ``wait()``, which gives the path or raises ReportWriteError as write_hosts would; call
    it on every way out, so the file is there (or its error known) before the task ends."""
    output_directory(output_dir)        # a bad output_dir fails here, before anything starts
    if not forked.available():
        path = write_hosts(hosts, output_dir)
        return lambda: path
    child = forked.start(_write_hosts_outcome, hosts, output_dir)

    def wait():
        try:
            outcome = forked.answer(child)
        except forked.ChildFailed as exc:
            raise ReportWriteError("output_dir: writing hosts.json failed (%s)" % exc)
        finally:
            forked.stop([child])
        if "error" in outcome:
            raise ReportWriteError(outcome["error"])
        return outcome["path"]
    return wait


def _write_hosts_outcome(hosts, output_dir):
    try:
        return {"path": write_hosts(hosts, output_dir)}
    except ReportWriteError as exc:
        return {"error": str(exc)}


def write_hosts(hosts, output_dir):
    """Write the per-host data as the play collected it to hosts.json, in ``to_nice_json``'s layout.

    nice_json, not to_nice_json: the same bytes for module results, about six times faster (1.3 s, and the
    standard library's json.dumps 0.40 s, against 0.19 s for 21 MB, a host with 1000 upstreams); written a
    block at a time, not as one string (half the time, at six such hosts, in a fresh child process)."""
    directory = output_directory(output_dir)
    try:
        return write_atomically(directory, "hosts.json", _json_writer(hosts, 4, default=_plain))
    except OSError as exc:
        raise ReportWriteError("output_dir: cannot write hosts.json into %s (%s); choose a directory this user can write"
                               % (directory, exc.strerror or exc))


def _json_writer(value, indent, default=None):
    """What write_atomically calls with the open file: ``value`` as indented JSON and a newline."""
    def write(stream):
        nice_json.dump(value, stream, indent, default=default)
        stream.write("\n")
    return write


def write_report(report, output_dir):
    """Write the three files; returns ``{json, md, html}`` absolute paths."""
    directory = output_directory(output_dir)
    try:
        return {
            "json": write_atomically(directory, "report.json", _json_writer(report, 1)),
            "md": write_atomically(directory, "report.md", render_md.render(report)),
            "html": write_atomically(directory, "report.html", render_html.render(report)),
        }
    except ReportWriteError:
        raise
    except OSError as exc:
        raise ReportWriteError("output_dir: cannot write the report into %s (%s); choose a directory this user can write"
                               % (directory, exc.strerror or exc))


class RecordError(ValueError):
    """host_records cannot be followed; the message names the option, the host and the fix."""


def _follow(variables, reference, where):
    """The value at ``reference`` (``VAR`` or ``VAR.KEY.INDEX...``) among one host's variables."""
    parts = reference.split(".")
    if parts[0] not in variables:
        raise RecordError("%s: the host has no variable %s; name a variable the play registered or set" % (where, parts[0]))
    value = variables[parts[0]]
    for part in parts[1:]:
        if isinstance(value, Mapping) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            raise RecordError("%s: %s has no %r; give the path of the step's data (VAR, VAR.results, VAR.results.0)"
                              % (where, reference, part))
    return value


def hosts_from_records(spec, hostvars):
    """O(hosts) built from each play host's own variables (``hostvars.raw_get``: not templated again).

    Templating the fleet's data as this task's argument makes ansible-core check and copy every value
    of it (about 330 per upstream); the registered results are already plain data, so they are taken
    as they are, the same values the template would give."""
    if not isinstance(spec, Mapping):
        raise RecordError("host_records: expected a dict with hosts, record and missing_msg, got %s" % type(spec).__name__)
    unknown = sorted(str(k) for k in spec if k not in RECORD_KEYS)
    names, record_var = spec.get("hosts"), spec.get("record")
    if unknown or not isinstance(names, list) or not isinstance(record_var, str) or not record_var:
        raise RecordError("host_records: give hosts (a list of inventory names), record (the name of the host variable "
                          "holding each host's record) and optionally missing_msg%s"
                          % ("; unknown key(s) %s" % ", ".join(unknown) if unknown else ""))
    if hostvars is None or not hasattr(hostvars, "raw_get"):
        raise RecordError("host_records: the play's hostvars are not available to this task; pass hosts instead")
    hosts = {}
    for name in names:
        variables = hostvars.raw_get(name)
        record = variables.get(record_var) if isinstance(variables, Mapping) else None
        if not isinstance(record, Mapping):
            hosts[name] = {"reachable": False, "nginx": None, "clock": None, "probe": None, "chains": None, "logs": None,
                           "unreachable_msg": spec.get("missing_msg") or "no %s for this host" % record_var}
            continue
        row = {"reachable": record.get("reachable"), "unreachable_msg": record.get("unreachable_msg")}
        for step in STEPS:
            reference = record.get(step)
            if reference is not None and not isinstance(reference, str):
                raise RecordError("host_records: %s.%s.%s must be null or the name of a variable (VAR.results.0), not %r"
                                  % (name, record_var, step, reference))
            row[step] = None if reference is None else _follow(variables, reference,
                                                               "host_records: %s.%s.%s" % (name, record_var, step))
        hosts[name] = row
    return hosts


def unpack_steps(hosts):
    """Each host's step results with their packed keys back in place (diagnose.yml asks tls_probe and
    nginx_tls_info for ``pack_results``), so hosts.json and the report see the results the modules return
    without the option. Raises PackedError naming the host and the step."""
    if not isinstance(hosts, Mapping):
        return hosts  # build_report names what is wrong with it
    out = {}
    for name, row in hosts.items():
        if isinstance(row, Mapping):
            row = dict(row)
            for step in STEPS:
                value = row.get(step)
                try:
                    if isinstance(value, list):
                        row[step] = [unpacked(item) for item in value]
                    elif isinstance(value, Mapping):
                        row[step] = unpacked(value)
                except PackedError as exc:
                    raise PackedError("hosts: %s.%s: %s; run the step again (the string comes from the module)"
                                      % (name, step, exc))
        out[name] = row
    return out


class ActionModule(ActionBase):

    TRANSFERS_FILES = False
    _requires_connection = False
    _supports_check_mode = True

    def run(self, tmp=None, task_vars=None):
        # the unpacked results (millions of values at 1000 upstreams a host) die when _report returns
        with cycle_collector_paused():
            return self._report(tmp, task_vars)

    def _report(self, tmp, task_vars):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp  # nothing goes to the host
        args = dict(self._task.args)
        result["changed"] = False
        unknown = sorted(k for k in args if k not in OPTIONS)
        if unknown:
            result.update(failed=True, msg="unknown option(s) %s; allowed: %s" % (", ".join(unknown), ", ".join(OPTIONS)))
            return result
        if ("hosts" in args) == ("host_records" in args):
            result.update(failed=True, msg="hosts: required (a dict of inventory host name -> the data the play collected)"
                          if "hosts" not in args else "hosts and host_records are mutually exclusive: give one of them")
            return result
        output_dir = args.get("output_dir") or DEFAULT_OUTPUT_DIR
        if not isinstance(output_dir, str):
            result.update(failed=True, msg="output_dir: expected a path, got %s" % type(output_dir).__name__)
            return result
        flags = {}
        for flag, default in (("write_hosts", False), ("pack_results", False), ("return_report", True)):
            try:
                flags[flag] = boolean(args.get(flag, default), strict=True)
            except TypeError:
                result.update(failed=True, msg="%s: expected a boolean, got %r" % (flag, args.get(flag)))
                return result
        hosts_written = flags["write_hosts"]
        if "host_records" in args:
            try:
                args["hosts"] = hosts_from_records(args["host_records"], (task_vars or {}).get("hostvars"))
            except RecordError as exc:
                result.update(failed=True, msg=str(exc))
                return result
        try:
            args["hosts"] = unpack_steps(args["hosts"])
        except PackedError as exc:
            result.update(failed=True, msg=str(exc))
            return result
        hosts_path = {}
        try:
            # the data first (what a failed report is debugged from), written while the report is built
            hosts_done = start_writing_hosts(args["hosts"], output_dir) if hosts_written else None
            try:
                report = engine.build_report(args["hosts"], {key: args.get(key) for key in ("fail_on", "since", "group")})
                paths = write_report(report, output_dir)
            finally:
                if hosts_done is not None:
                    hosts_path["hosts"] = hosts_done()
        except (engine.InputError, ReportWriteError) as exc:
            result.update(failed=True, msg=str(exc))
            if hosts_path:
                result.update(paths=hosts_path)
            return result
        paths.update(hosts_path)
        result.update(paths=paths, lines=engine.lines(report), status=report["summary"]["status"])
        if flags["return_report"]:
            result.update(pack_keys({"report": report}, ["report"]) if flags["pack_results"] else {"report": report})
        if engine.fails(report):
            summary = report["summary"]
            result.update(failed=True, msg="diagnosis status %s (fail_on=%s): %d of %d pair(s) fail, %d finding(s); see %s" % (
                summary["status"], report["options"]["fail_on"], summary["pairs_failed"], summary["pairs"],
                summary["findings"], paths["md"]))
        return result
