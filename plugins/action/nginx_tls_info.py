# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of nginx_tls_info: the module collects on the host, the controller parses and judges.

The managed host needs nothing but Python's standard library; crossplane (the nginx
configuration parser) runs here.  See plugins/plugin_utils/_nginx/report.py.
"""

from __future__ import annotations

from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.action import ActionBase

from ansible_collections.tlsops.handshake.plugins.module_utils._common.heap import cycle_collector_paused
from ansible_collections.tlsops.handshake.plugins.module_utils._common.packed import TARGETS_KEY, pack_keys
from ansible_collections.tlsops.handshake.plugins.plugin_utils._nginx import report
from ansible_collections.tlsops.handshake.plugins.plugin_utils._nginx.parse import ParseError

MODULE = "tlsops.handshake.nginx_tls_info"
# keys of the module's raw collection that are passed on as they are
PASSED_ON = ("invocation", "warnings", "deprecations")
# the bulk of a result, per upstream; servers stay: playbooks read them.  probe_targets go apart, into
# packed_targets, which tls_probe's packed_targets takes as it is: no template reads them value by value
PACKED = ("upstreams", "findings")
PACKED_TARGETS = ("probe_targets",)


class ActionModule(ActionBase):

    TRANSFERS_FILES = False

    def run(self, tmp=None, task_vars=None):
        # the configuration's tree and every upstream's settings die when _read returns
        with cycle_collector_paused():
            return self._read(tmp, task_vars)

    def _read(self, tmp, task_vars):
        task_vars = task_vars or {}
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp  # not used: the module needs no files from here
        args = dict(self._task.args)
        try:
            report.check_policy(args.get("policy"))
            report.check_chains(args.get("chains"))
        except report.OptionError as exc:
            result.update(failed=True, changed=False, msg=str(exc))
            return result

        raw = self._execute_module(module_name=MODULE, module_args=args, task_vars=task_vars)
        if raw.get("failed") or raw.get("unreachable"):
            result.update(raw)
            return result

        facts = task_vars.get("ansible_facts") or {}
        local = list(facts.get("all_ipv4_addresses") or []) + list(facts.get("all_ipv6_addresses") or [])
        try:
            analysed = report.analyse(raw, policy=args.get("policy"), chains=args.get("chains"),
                                      local_addresses=local, nginx_version=args.get("nginx_version"))
        except (report.OptionError, ParseError) as exc:
            result.update(failed=True, changed=False, msg=str(exc))
            errors = getattr(exc, "errors", None)  # a ParseError's, one per file:line
            if errors:
                result["config_errors"] = errors
            return result
        for key in PASSED_ON:
            if key in raw:
                result[key] = raw[key]
        result.update(analysed)
        result["changed"] = False
        # the module checked the option's type already
        if boolean(args.get("pack_results", False), strict=False):
            result = pack_keys(pack_keys(result, PACKED), PACKED_TARGETS, into=TARGETS_KEY)
        return result
