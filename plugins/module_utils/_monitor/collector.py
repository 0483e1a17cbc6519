# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The handshake_monitor role's collector: one run probes, reads the logs and the clock, writes metrics.

Called by the host-side script the role installs (roles/handshake_monitor/files/tlsops_handshake_monitor.py)
with the JSON configuration the role writes (templates/config.json.j2):

* targets (targets.py) are probed with tls_probe's engine, one thread each, no enumeration (the first
  handshake plus at most the diagnosis' few follow-ups), each target's timeout cut so that its own
  deadline (timeout x DEADLINE_FACTOR) ends before the run's ``deadline``; a target still running at the
  deadline is reported down with cause ``handshake_timeout`` and the others are written anyway;
* error logs (logtail.py) are read from the offset saved in ``state_dir``;
* the clock offset comes from time_sync_info's engine (_clock/check.py);
* the metrics go to ``textfile_dir``/tlsops_handshake.prom, atomically (textfile.py).

Every ``cause`` label is a code of the shared vocabulary (_common/causes.py CAUSE_CODES); anything else
becomes ``unknown``.  Standard library only: this runs on managed hosts.
"""

from __future__ import annotations

import calendar
import json
import os
import threading
import time
from typing import List, Optional

from ansible_collections.tlsops.handshake.plugins.module_utils._clock import check as clock_check
from ansible_collections.tlsops.handshake.plugins.module_utils._common import causes
from ansible_collections.tlsops.handshake.plugins.module_utils._common.deadline import DEADLINE_FACTOR
from ansible_collections.tlsops.handshake.plugins.module_utils._monitor import logtail, targets as monitor_targets
from ansible_collections.tlsops.handshake.plugins.module_utils._monitor.textfile import Metrics, write_atomically
from ansible_collections.tlsops.handshake.plugins.module_utils._probe import run as probe_run
from ansible_collections.tlsops.handshake.plugins.module_utils._probe.result_types import ProbeResult
from ansible_collections.tlsops.handshake.plugins.module_utils._probe.targets import ProbeConfigError, build_targets

METRICS_FILE = "tlsops_handshake.prom"
STATE_FILE = "state.json"
DEFAULT_DEADLINE = 45.0
DEFAULT_CONCURRENCY = 8
# The settings the monitor forces on every target: a few handshakes, never enumeration.
FORCED = {"enumerate": None}
TIMEOUT_CAUSE = "handshake_timeout"

FAMILIES = (
    ("tlsops_handshake_up", "gauge", "1 when the handshake with the upstream succeeded as nginx would make it, else 0."),
    ("tlsops_handshake_failure", "gauge", "1 for the current cause of a failing upstream (cause from the shared vocabulary)."),
    ("tlsops_handshake_duration_seconds", "gauge", "Duration of the TLS handshake of the last probe."),
    ("tlsops_tls_version_info", "gauge", "The TLS version the last probe negotiated (value always 1)."),
    ("tlsops_cert_not_after_timestamp_seconds", "gauge", "NotAfter of the upstream's leaf certificate, Unix time."),
    ("tlsops_cert_days_left", "gauge", "Whole days until the upstream's leaf certificate expires."),
    ("tlsops_clock_offset_seconds", "gauge", "True time minus this host's clock (positive: the clock is behind)."),
    ("tlsops_log_handshake_failures_total", "counter", "Handshake failures in nginx's error logs since the monitor started, by side and cause."),
    ("tlsops_monitor_targets", "gauge", "Targets probed in the last run."),
    ("tlsops_monitor_run_duration_seconds", "gauge", "Duration of the last collector run."),
    ("tlsops_monitor_last_run_timestamp_seconds", "gauge", "When the last collector run finished, Unix time."),
    ("tlsops_monitor_run_errors_total", "counter", "Collector runs with an error (see the service's journal)."),
)


def _cause(code):
    return code if code in causes.CAUSE_CODES else "unknown"


def _epoch(iso):
    try:
        return calendar.timegm(time.strptime(iso, "%Y-%m-%dT%H:%M:%SZ"))
    except (TypeError, ValueError):
        return None


class Run(object):
    """One collector run; ``errors`` collects what went wrong (each is logged and counted once)."""

    def __init__(self, config, now=time.time, log=None):
        self.config = config
        self.now = now
        self.started = now()
        self.monotonic_end = time.monotonic() + float(config.get("deadline") or DEFAULT_DEADLINE)
        self.errors = []
        self.log = log or (lambda text: None)
        self.state_path = os.path.join(config["state_dir"], STATE_FILE)
        self.state = self._load_state()

    def error(self, text):
        self.errors.append(text)
        self.log(text)

    def _load_state(self):
        try:
            with open(self.state_path, encoding="utf-8") as handle:
                state = json.load(handle)
            if isinstance(state, dict):
                return state
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            self.error("state: %s unreadable (%s); counters start again" % (self.state_path, exc))
        return {}

    # ------------------------------------------------------------------ targets and probes
    def targets(self):
        config = self.config
        file_targets, discovered = [], []
        if config.get("targets_file"):
            try:
                file_targets = monitor_targets.load_targets_file(config["targets_file"])
            except (OSError, ValueError) as exc:
                self.error("targets_file: %s" % exc)
        if config.get("refresh_from_nginx"):
            timeout = min(20.0, self._left() / 4)
            discovered, problem = monitor_targets.from_nginx(config.get("nginx_path"), config.get("nginx_config"), timeout=timeout)
            if problem:
                self.error(problem)
        return monitor_targets.merge(file_targets, config.get("extra_targets") or [], discovered)

    def _left(self):
        return max(0.0, self.monotonic_end - time.monotonic())

    def probe(self, items):
        """``[(label, spec, result or None)]``: None for a target still running at the deadline."""
        budget = self._left() * 0.8
        settings = dict(self.config.get("probe") or {})
        specs = []
        for index, item in enumerate(items):
            try:
                spec = build_targets([item], settings)[0]
            except ProbeConfigError as exc:
                self.error("targets[%d]: %s" % (index, exc))
                continue
            spec.update(FORCED)
            spec["timeout"] = max(0.5, min(float(spec["timeout"]), budget / (DEADLINE_FACTOR + 1)))
            specs.append(spec)
        results: List[Optional[ProbeResult]] = [None] * len(specs)  # a slot stays None when time ran out
        gate = threading.Semaphore(int(self.config.get("concurrency") or DEFAULT_CONCURRENCY))
        shared = probe_run.CallShared()   # one SSLContext (one trust-store load) per distinct settings per run

        def work(slot, spec):
            with gate:
                if self._left() <= 0:
                    return
                results[slot] = probe_run._safe_probe(spec, shared)   # pylint: disable=protected-access

        threads = [threading.Thread(target=work, args=(i, s), daemon=True) for i, s in enumerate(specs)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(max(0.0, self._left() - 1.0))
        late = [s["label"] for s, r in zip(specs, results) if r is None]
        if late:
            self.error("probe: %d target(s) not finished before the run's deadline: %s" % (len(late), ", ".join(late[:10])))
        return list(zip(specs, results))

    # ------------------------------------------------------------------ logs and clock
    def logs(self):
        totals = self.state.get("log_totals") or {}
        positions = self.state.get("logs") or {}
        new_positions = {}
        for path in self.config.get("error_logs") or []:
            try:
                new_positions[path] = logtail.read_new_lines(path, positions.get(path), totals,
                                                             int(self.config.get("log_max_bytes") or logtail.DEFAULT_MAX_BYTES))
            except OSError as exc:
                self.error("error_logs: %s: %s" % (path, exc))
                if path in positions:
                    new_positions[path] = positions[path]
        self.state["logs"] = new_positions
        self.state["log_totals"] = totals
        return totals

    def clock(self):
        settings = self.config.get("clock")
        if not settings:
            return None
        params = {"servers": settings.get("servers") or [], "samples": 1,
                  "timeout": min(float(settings.get("timeout") or 2.0), max(0.5, self._left() / 4))}
        try:
            result = clock_check.check(params)
        except (clock_check.ClockConfigError, OSError) as exc:
            self.error("clock: %s" % exc)
            return None
        if result["offset_ms"] is None:
            return None
        return result["offset_ms"] / 1000.0

    # ------------------------------------------------------------------ the run
    def collect(self):
        metrics = Metrics()
        for name, kind, help_text in FAMILIES:
            metrics.declare(name, kind, help_text)
        proxy = self.config.get("proxy") or ""
        probed = self.probe(self.targets())
        for spec, result in probed:
            self._target_metrics(metrics, proxy, spec, result)
        metrics.add("tlsops_monitor_targets", len(probed))
        for key, count in sorted(self.logs().items()):
            side, _sep, cause = key.partition("|")
            metrics.add("tlsops_log_handshake_failures_total", count, side=side, cause=_cause(cause))
        metrics.add("tlsops_clock_offset_seconds", self.clock())
        return metrics

    @staticmethod
    def _target_metrics(metrics, proxy, spec, result):
        labels = {"upstream": spec["label"]}
        metrics.add("tlsops_handshake_up", 1 if result and result["ok"] else 0,
                    server_name=spec.get("server_name") or "", proxy=proxy, **labels)
        if result is None or not result["ok"]:
            cause = _cause(result["cause"] if result else TIMEOUT_CAUSE)
            metrics.add("tlsops_handshake_failure", 1, cause=cause, host=spec["host"], port=spec["port"],
                        server_name=spec.get("server_name") or "", **labels)
        if result is None:
            return
        if result["timing"].get("handshake_ms") is not None:
            metrics.add("tlsops_handshake_duration_seconds", result["timing"]["handshake_ms"] / 1000.0, **labels)
        if result["tls"].get("version"):
            metrics.add("tlsops_tls_version_info", 1, version=result["tls"]["version"], **labels)
        cert = result.get("certificate")
        if cert:
            not_after = _epoch(cert.get("not_after"))
            metrics.add("tlsops_cert_not_after_timestamp_seconds", not_after, serial=cert.get("serial") or "", **labels)
            metrics.add("tlsops_cert_days_left", cert.get("days_left"), **labels)

    def finish(self, metrics):
        errors_total = int(self.state.get("run_errors_total") or 0) + (1 if self.errors else 0)
        self.state["run_errors_total"] = errors_total
        end = self.now()
        metrics.add("tlsops_monitor_run_duration_seconds", round(end - self.started, 3))
        metrics.add("tlsops_monitor_last_run_timestamp_seconds", round(end, 3))
        metrics.add("tlsops_monitor_run_errors_total", errors_total)
        write_atomically(self.state_path, json.dumps(self.state, sort_keys=True), mode=0o600)
        write_atomically(os.path.join(self.config["textfile_dir"], METRICS_FILE), metrics.render())


def run(config, log=None):
    """One run with ``config`` (the role's config.json as a dict); returns the errors (texts)."""
    current = Run(config, log=log)
    try:
        metrics = current.collect()
    except Exception as exc:  # pylint: disable=broad-except
        # Whatever broke, the run still says so in the metrics (run_errors_total, last_run) and the journal.
        current.error("collector: %r" % exc)
        metrics = Metrics()
        for name, kind, help_text in FAMILIES:
            metrics.declare(name, kind, help_text)
    current.finish(metrics)
    return current.errors
