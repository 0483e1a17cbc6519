# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Prometheus alert rules of the handshake_monitor role, built from the shared vocabulary.

``alert_rules(settings)`` returns the rule file as data (``{"groups": [...]}``); the role writes it with
``to_nice_yaml`` through the ``handshake_monitor_alert_rules`` filter.  The handshake alert is one rule
per cause of _common/causes.py, so that its annotations carry that cause's title and fix, rendered here
(at role time) with the metric's labels as Prometheus template references: the vocabulary stays the one
copy of the texts.  Fields a fix names that no label carries show as ``<field>``.

Plain Python, controller side; tests/unit/roles/test_handshake_monitor_rules.py runs promtool on it.
"""

from __future__ import annotations

from typing import Any, Dict

from ansible_collections.tlsops.handshake.plugins.module_utils._common import causes

DEFAULTS: Dict[str, Any] = {
    "failing_for": "5m",
    "cert_warning_days": 21,
    "cert_critical_days": 7,
    "clock_offset_seconds": 1.0,
    "log_failures_per_minute": 1.0,
    "silent_after_seconds": 300,
    "group": "tlsops-handshake",
}
# The metric's labels, in Prometheus's template language, for the fields the fixes name.
LABEL_FIELDS = {"host": "{{ $labels.host }}", "port": "{{ $labels.port }}",
                "server_name": "{{ $labels.server_name }}"}
RUNBOOK = "ansible-doc -t module tlsops.handshake.tls_probe; roles/handshake_monitor/README.md"


class RulesError(ValueError):
    """A setting that cannot make a rule; the message names it."""


def _settings(given):
    settings: Dict[str, Any] = dict(DEFAULTS)
    for key, value in (given or {}).items():
        if key not in DEFAULTS:
            raise RulesError("%s: unknown setting; known: %s" % (key, ", ".join(sorted(DEFAULTS))))
        if value is not None:
            settings[key] = value
    for key in ("cert_warning_days", "cert_critical_days", "clock_offset_seconds", "log_failures_per_minute",
                "silent_after_seconds"):
        try:
            number = float(settings[key])
        except (TypeError, ValueError):
            raise RulesError("%s: %r is not a number" % (key, settings[key]))
        if isinstance(settings[key], bool) or number <= 0:
            raise RulesError("%s: %r must be a number above 0" % (key, settings[key]))
    if float(settings["cert_critical_days"]) >= float(settings["cert_warning_days"]):
        raise RulesError("cert_critical_days (%s) must be below cert_warning_days (%s)"
                         % (settings["cert_critical_days"], settings["cert_warning_days"]))
    return settings


def _number(value):
    value = float(value)
    return "%d" % value if value.is_integer() else repr(value)


def _failing_rules(settings):
    rules = []
    for code in causes.CAUSE_CODES:
        if code == "ok":
            continue
        _nginx_error, fix = causes.render(code, **LABEL_FIELDS)
        rules.append({
            "alert": "TlsopsHandshakeFailing",
            "expr": 'tlsops_handshake_failure{cause="%s"} == 1' % code,
            "for": settings["failing_for"],
            "labels": {"severity": "critical", "cause": code},
            "annotations": {
                "summary": "{{ $labels.instance }} cannot complete the TLS handshake with upstream {{ $labels.upstream }}: "
                           + causes.title(code) + " (" + code + ")",
                "cause": code,
                "fix": " ".join(fix),
                "runbook": RUNBOOK,
            },
        })
    return rules


def alert_rules(given=None):
    """The rule file as data; raises RulesError naming a bad setting."""
    s = _settings(given)
    warning, critical = _number(s["cert_warning_days"]), _number(s["cert_critical_days"])
    days_left = "(tlsops_cert_not_after_timestamp_seconds - time()) / 86400"
    rules = _failing_rules(s) + [
        {"alert": "TlsopsCertificateExpiringSoon",
         "expr": "%s < %s and %s >= %s" % (days_left, warning, days_left, critical),
         "for": "10m", "labels": {"severity": "warning"},
         "annotations": {"summary": "The certificate of upstream {{ $labels.upstream }} (serial {{ $labels.serial }}) "
                                    "expires in {{ $value | printf \"%.1f\" }} days (< " + warning + ")",
                         "fix": "Renew and deploy the certificate on the upstream (tlsops.handshake.cert_renewal)."}},
        {"alert": "TlsopsCertificateExpiring",
         "expr": "%s < %s" % (days_left, critical),
         "for": "10m", "labels": {"severity": "critical"},
         "annotations": {"summary": "The certificate of upstream {{ $labels.upstream }} (serial {{ $labels.serial }}) "
                                    "expires in {{ $value | printf \"%.1f\" }} days (< " + critical + ")",
                         "fix": "Renew and deploy the certificate on the upstream now: nginx refuses it once expired "
                                "(cause cert_expired)."}},
        {"alert": "TlsopsClockOffset",
         "expr": "abs(tlsops_clock_offset_seconds) > %s" % _number(s["clock_offset_seconds"]),
         "for": "10m", "labels": {"severity": "warning"},
         "annotations": {"summary": "The clock of {{ $labels.instance }} is off by {{ $value }} s",
                         "cause": "clock_skew",
                         "fix": " ".join(causes.render("clock_skew", skewed_host="{{ $labels.instance }}", offset_s="{{ $value }}",
                                                       clock_effect="expired or not yet valid")[1])}},
        {"alert": "TlsopsLogHandshakeFailures",
         "expr": "sum by (instance, side, cause) (rate(tlsops_log_handshake_failures_total[10m])) * 60 > %s"
                 % _number(s["log_failures_per_minute"]),
         "for": "10m", "labels": {"severity": "warning"},
         "annotations": {"summary": "nginx on {{ $labels.instance }} logs {{ $value | printf \"%.1f\" }} {{ $labels.side }}-side "
                                    "handshake failures a minute, cause {{ $labels.cause }}",
                         "fix": "Run tlsops.handshake.handshake_log_info on the host for the lines and the fix of the cause."}},
        {"alert": "TlsopsMonitorSilent",
         "expr": "time() - tlsops_monitor_last_run_timestamp_seconds > %s" % _number(s["silent_after_seconds"]),
         "for": "2m", "labels": {"severity": "warning"},
         "annotations": {"summary": "The handshake monitor on {{ $labels.instance }} has not run for {{ $value | printf \"%.0f\" }} s",
                         "fix": "systemctl status tlsops-handshake-monitor.timer tlsops-handshake-monitor.service; "
                                "journalctl -u tlsops-handshake-monitor.service"}},
        {"alert": "TlsopsMonitorRunErrors",
         "expr": "increase(tlsops_monitor_run_errors_total[15m]) > 0",
         "for": "5m", "labels": {"severity": "warning"},
         "annotations": {"summary": "The handshake monitor on {{ $labels.instance }} has run errors",
                         "fix": "journalctl -u tlsops-handshake-monitor.service names the target, log or setting at fault."}},
    ]
    return {"groups": [{"name": s["group"], "rules": rules}]}
