# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The handshake_monitor alert rules: `promtool check rules` accepts them and `promtool test rules`
proves each alert fires (and stays quiet) on series shaped like the collector's metrics.

promtool comes from Debian's `prometheus` package (`make deps`). Without it these tests skip, unless
TLSOPS_REQUIRE_PROMTOOL is set (`make rules-test`, part of `make test`): then they fail.
"""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest
import yaml

from tests.collection_path import ensure_link

ensure_link()

from ansible_collections.tlsops.handshake.plugins.module_utils._common import causes  # noqa: E402
from ansible_collections.tlsops.handshake.plugins.plugin_utils._roles import monitor_rules  # noqa: E402

PROMTOOL = shutil.which("promtool")
pytestmark = pytest.mark.skipif(PROMTOOL is None and not os.environ.get("TLSOPS_REQUIRE_PROMTOOL"),
                                reason="promtool not installed (make deps installs Debian's prometheus)")
FAILING = {"instance": "p1:9100", "job": "node", "upstream": "app", "cause": "cert_expired", "host": "10.0.0.7",
           "port": "443", "server_name": "app.example.com"}


def _series(name, labels, values):
    return {"series": "%s{%s}" % (name, ",".join('%s="%s"' % kv for kv in sorted(labels.items()))), "values": values}


def _filled(text, labels, value=None):
    for key, label in labels.items():
        text = text.replace("{{ $labels.%s }}" % key, label)
    return text if value is None else text.replace("{{ $value }}", value)


def _failing_alert():
    rule = [r for r in monitor_rules.alert_rules()["groups"][0]["rules"]
            if r["expr"] == 'tlsops_handshake_failure{cause="cert_expired"} == 1'][0]
    annotations = {k: _filled(v, FAILING) for k, v in rule["annotations"].items()}
    assert "10.0.0.7:443" in annotations["fix"] or "10.0.0.7" in annotations["fix"] or "app.example.com" in annotations["fix"] \
        or annotations["fix"] == " ".join(causes.render("cert_expired")[1])
    return {"exp_labels": dict(FAILING, severity="critical"), "exp_annotations": annotations}


def _tests():
    node = {"instance": "p1:9100", "job": "node"}
    cert = dict(node, upstream="app", serial="0A1B")
    log = dict(node, side="upstream", cause="cert_expired")
    day = 86400
    return [
        {"interval": "1m",
         "input_series": [_series("tlsops_handshake_failure", FAILING, "1x20"),
                          _series("tlsops_handshake_failure", dict(FAILING, upstream="db", cause="handshake_timeout"), "1x2 stale")],
         "alert_rule_test": [{"eval_time": "4m", "alertname": "TlsopsHandshakeFailing", "exp_alerts": []},
                             {"eval_time": "6m", "alertname": "TlsopsHandshakeFailing", "exp_alerts": [_failing_alert()]}]},
        {"interval": "1m",
         "input_series": [_series("tlsops_cert_not_after_timestamp_seconds", cert, "%dx30" % (10 * day)),
                          _series("tlsops_cert_not_after_timestamp_seconds", dict(cert, upstream="old"), "%dx30" % (5 * day)),
                          _series("tlsops_cert_not_after_timestamp_seconds", dict(cert, upstream="new"), "%dx30" % (60 * day))],
         "alert_rule_test": [
             {"eval_time": "15m", "alertname": "TlsopsCertificateExpiringSoon", "exp_alerts": [{
                 "exp_labels": dict(cert, severity="warning"),
                 "exp_annotations": {"summary": "The certificate of upstream app (serial 0A1B) expires in 10.0 days (< 21)",
                                     "fix": "Renew and deploy the certificate on the upstream (tlsops.handshake.cert_renewal)."}}]},
             {"eval_time": "15m", "alertname": "TlsopsCertificateExpiring", "exp_alerts": [{
                 "exp_labels": dict(cert, upstream="old", severity="critical"),
                 "exp_annotations": {"summary": "The certificate of upstream old (serial 0A1B) expires in 5.0 days (< 7)",
                                     "fix": "Renew and deploy the certificate on the upstream now: nginx refuses it once "
                                            "expired (cause cert_expired)."}}]}]},
        {"interval": "1m",
         "input_series": [_series("tlsops_clock_offset_seconds", node, "2.5x20"),
                          _series("tlsops_clock_offset_seconds", dict(node, instance="p2:9100"), "0.2x20")],
         "alert_rule_test": [
             {"eval_time": "8m", "alertname": "TlsopsClockOffset", "exp_alerts": []},
             {"eval_time": "12m", "alertname": "TlsopsClockOffset", "exp_alerts": [{
                 "exp_labels": dict(node, severity="warning"),
                 "exp_annotations": {"summary": "The clock of p1:9100 is off by 2.5 s", "cause": "clock_skew",
                                     "fix": _filled(" ".join(causes.render("clock_skew", skewed_host="{{ $labels.instance }}",
                                                                           offset_s="{{ $value }}",
                                                                           clock_effect="expired or not yet valid")[1]),
                                                    node, "2.5")}}]}]},
        {"interval": "1m",
         "input_series": [_series("tlsops_log_handshake_failures_total", log, "0+120x30"),
                          _series("tlsops_log_handshake_failures_total", dict(log, cause="not_tls"), "0+0.5x30")],
         "alert_rule_test": [{"eval_time": "25m", "alertname": "TlsopsLogHandshakeFailures", "exp_alerts": [{
             "exp_labels": {"instance": "p1:9100", "side": "upstream", "cause": "cert_expired", "severity": "warning"},
             "exp_annotations": {"summary": "nginx on p1:9100 logs 120.0 upstream-side handshake failures a minute, "
                                            "cause cert_expired",
                                 "fix": "Run tlsops.handshake.handshake_log_info on the host for the lines and the fix of the cause."}}]}]},
        {"interval": "1m",
         "input_series": [_series("tlsops_monitor_last_run_timestamp_seconds", node, "0x12"),
                          _series("tlsops_monitor_last_run_timestamp_seconds", dict(node, instance="p2:9100"), "0+60x12")],
         "alert_rule_test": [
             {"eval_time": "6m", "alertname": "TlsopsMonitorSilent", "exp_alerts": []},
             {"eval_time": "10m", "alertname": "TlsopsMonitorSilent", "exp_alerts": [{
                 "exp_labels": dict(node, severity="warning"),
                 "exp_annotations": {"summary": "The handshake monitor on p1:9100 has not run for 600 s",
                                     "fix": "systemctl status tlsops-handshake-monitor.timer tlsops-handshake-monitor.service; "
                                            "journalctl -u tlsops-handshake-monitor.service"}}]}]},
        {"interval": "1m",
         "input_series": [_series("tlsops_monitor_run_errors_total", node, "0x5 1x30"),
                          _series("tlsops_monitor_run_errors_total", dict(node, instance="p2:9100"), "0x35")],
         "alert_rule_test": [{"eval_time": "20m", "alertname": "TlsopsMonitorRunErrors", "exp_alerts": [{
             "exp_labels": dict(node, severity="warning"),
             "exp_annotations": {"summary": "The handshake monitor on p1:9100 has run errors",
                                 "fix": "journalctl -u tlsops-handshake-monitor.service names the target, log or setting at fault."}}]}]},
    ]


def _promtool(tmp_path, *args):
    assert PROMTOOL, "promtool is not installed: make deps installs Debian's prometheus package"
    return subprocess.run([PROMTOOL] + list(args), capture_output=True, text=True, timeout=120, cwd=str(tmp_path), check=False)


@pytest.fixture
def rules_file(tmp_path):
    path = tmp_path / "tlsops-handshake.rules.yml"
    path.write_text(yaml.safe_dump(monitor_rules.alert_rules(), sort_keys=False, width=1000))
    return path


def test_promtool_check_rules_accepts_them(tmp_path, rules_file):
    done = _promtool(tmp_path, "check", "rules", str(rules_file))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "%d rules found" % (len(causes.CAUSE_CODES) - 1 + 6) in done.stdout


def test_promtool_unit_tests_cover_each_alert(tmp_path, rules_file):
    tests = _tests()
    covered = {t["alertname"] for case in tests for t in case["alert_rule_test"]}
    names = {r["alert"] for r in monitor_rules.alert_rules()["groups"][0]["rules"]}
    assert covered == names, "alerts without a promtool test: %s" % sorted(names - covered)
    test_file = tmp_path / "tests.yml"
    test_file.write_text(yaml.safe_dump({"rule_files": [rules_file.name], "evaluation_interval": "1m", "tests": tests},
                                        sort_keys=False, width=1000))
    done = _promtool(tmp_path, "test", "rules", str(test_file))
    assert done.returncode == 0, done.stdout + done.stderr


def test_bad_threshold_names_the_setting():
    with pytest.raises(monitor_rules.RulesError, match="cert_critical_days"):
        monitor_rules.alert_rules({"cert_warning_days": 5, "cert_critical_days": 7})
    with pytest.raises(monitor_rules.RulesError, match="silent_after_seconds"):
        monitor_rules.alert_rules({"silent_after_seconds": "soon"})
