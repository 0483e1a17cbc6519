# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: handshake_monitor_alert_rules
short_description: The Prometheus alert rules of the handshake_monitor role, with each cause's fix from the vocabulary
version_added: 0.1.0
description:
  - The rule file (C({groups - [...]})) the role writes with C(to_nice_yaml) where Prometheus reads rules.
  - "Alerts: C(TlsopsHandshakeFailing) (one rule per cause of the shared vocabulary, its title and fix in the
    annotations), C(TlsopsCertificateExpiringSoon) / C(TlsopsCertificateExpiring), C(TlsopsClockOffset),
    C(TlsopsLogHandshakeFailures), C(TlsopsMonitorSilent), C(TlsopsMonitorRunErrors)."
  - The role calls it in C(tasks/rules.yml). Not meant for playbooks.
author:
  - tlsops.handshake contributors (@tlsops)
options:
  _input:
    description:
      - Thresholds - C(failing_for) (a Prometheus duration), C(cert_warning_days), C(cert_critical_days),
        C(clock_offset_seconds), C(log_failures_per_minute), C(silent_after_seconds), C(group) (the rule group's name).
        Left-out keys take their defaults (5m, 21, 7, 1.0, 1.0, 300, tlsops-handshake).
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Write the rules (what the role's tasks/rules.yml does)
  ansible.builtin.copy:
    content: "{{ {'cert_warning_days': 21, 'cert_critical_days': 7} | tlsops.handshake.handshake_monitor_alert_rules | to_nice_yaml }}"
    dest: /etc/prometheus/rules/tlsops-handshake.yml
    mode: "0644"
"""

RETURN = r"""
_value:
  description: The rule file as data, C(groups) with one group of rules.
  type: dict
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.tlsops.handshake.plugins.plugin_utils._roles.monitor_rules import RulesError, alert_rules


def handshake_monitor_alert_rules(settings):
    if not isinstance(settings, dict):
        raise AnsibleFilterError("handshake_monitor_alert_rules expects a dict of thresholds, got %s" % type(settings).__name__)
    try:
        return alert_rules(settings)
    except RulesError as exc:
        raise AnsibleFilterError("handshake_monitor_alert_rules: %s" % exc)


class FilterModule(object):
    def filters(self):
        return {"handshake_monitor_alert_rules": handshake_monitor_alert_rules}
