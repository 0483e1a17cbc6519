#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# The documentation of the action plugin plugins/action/diagnose_report.py, which does all the work on
# the controller; this file has no code (like ansible.builtin.debug).

from __future__ import annotations

DOCUMENTATION = r"""
module: diagnose_report
short_description: Correlate the per-host TLS diagnosis of a fleet and write report.json, report.md and report.html
version_added: 0.1.0
description:
  - Takes what a play collected on each proxy (M(tlsops.handshake.nginx_tls_info), M(tlsops.handshake.time_sync_info),
    M(tlsops.handshake.tls_probe), M(tlsops.handshake.cert_chain_info), M(tlsops.handshake.handshake_log_info))
    and names, for every failing proxy -> upstream pair, the cause, whose fault it is (the upstream, or that proxy's
    configuration, clock or network path), the evidence, and the fix.
  - "Correlation rules: a certificate that reads expired or not yet valid but is valid by NTP time is V(clock_skew) on
    that proxy; an upstream that works from another proxy (or another location with other settings) is that proxy's
    fault, with the settings that differ and the file:line they are set at; an upstream that fails with the same
    cause from every proxy that uses it is the upstream's fault; otherwise the cause's layer decides. A loopback
    upstream (127.0.0.1, ::1, localhost; a local service of each proxy) is compared only between proxies whose
    tls_probe ran in the same network namespace (its RV(tlsops.handshake.tls_probe#module:network_namespace)), since
    each machine has its own. Error-log
    failures toward an upstream that probes fine now are reported as intermittent; client-side failures (nginx's
    listening side) are reported apart."
  - Findings are ranked by severity, then impact (failing pairs x hosts), then pairs, side, cause and owner
    (alphabetically), so equal findings always come in the same order.
  - Writes three files into O(output_dir), each to a temporary file renamed into place. C(report.json) follows the
    JSON Schema C(plugins/plugin_utils/_diagnose/report.schema.json) of this collection (RV(report.schema_version)).
    C(report.html) is one self-contained page (inline CSS and SVG, no script, nothing loaded from elsewhere).
  - B(This is an action plugin.) It runs on the controller only and never connects to the host of the task. Run it
    once (C(run_once=true)) after the per-host steps.
author:
  - tlsops.handshake contributors (@tlsops)
options:
  hosts:
    description:
      - Inventory host name -> the data collected on that host, a dict with C(reachable) (bool), C(unreachable_msg),
        and the registered result of one module call per step - C(nginx) (nginx_tls_info, or a list of them for several
        nginx instances), C(clock) (time_sync_info), C(probe) (tls_probe), C(chains) (a list of cert_chain_info results,
        or the registered loop) and C(logs) (handshake_log_info). A step that was skipped is null; a failed step keeps
        C(failed) and C(msg) and is reported on the host's row.
      - A host whose value is null, or whose C(reachable) is V(false), is a row of the report, not an error.
      - A step result with C(packed) or C(packed_targets) (tls_probe or nginx_tls_info with C(pack_results=true)) is
        unpacked first, as
        the filter P(tlsops.handshake.unpack_result#filter) does; the report and C(hosts.json) see the result the
        module returns without the option.
      - Required unless O(host_records) is given; the two are mutually exclusive.
    type: dict
  host_records:
    description:
      - Build O(hosts) from the play hosts' own variables instead of this task's argument, which is faster for a
        large fleet (ansible-core checks and copies every value of a task's argument; a host with a thousand
        upstreams has about 330 000 of them). The step results are taken as the play registered them.
      - Each host's record (the host variable named by O(host_records.record)) is a dict with C(reachable),
        C(unreachable_msg) and, for each step C(nginx), C(clock), C(probe), C(chains) and C(logs), null (no data) or
        where the step's data is among the host's variables - a variable name, then keys or list indexes separated by
        dots (V(diagnose_probe), V(diagnose_chains.results), V(diagnose_nginx_run.results.0)).
      - A host without the record variable is a row with C(reachable=false) and O(host_records.missing_msg).
      - Used by the tlsops.handshake.diagnose playbook.
    type: dict
    suboptions:
      hosts:
        description: The inventory names of the hosts, in order (for example V(ansible_play_hosts_all)).
        type: list
        elements: str
        required: true
      record:
        description: The name of the host variable that holds each host's record.
        type: str
        required: true
      missing_msg:
        description: C(unreachable_msg) of a host that has no record.
        type: str
  output_dir:
    description:
      - Directory on the controller for C(report.json), C(report.md) and C(report.html); created when missing.
        Relative paths are relative to the current directory of C(ansible-playbook).
    type: path
    default: ./tlsops-report
  fail_on:
    description:
      - When the task fails, so that cron and CI see it in the exit status. The report is written in every case.
      - V(failure) - any finding of severity C(error) (a failing pair, a broken served certificate).
      - V(warning) - that, or a warning (an intermittent upstream, a skewed clock, an unreachable host or a failed step).
      - V(never) - the task never fails because of what it found.
    type: str
    choices: [never, failure, warning]
    default: failure
  write_hosts:
    description:
      - Also write O(hosts) as given (packed step results unpacked) to C(hosts.json) in O(output_dir) (indented, keys sorted, as
        C(to_nice_json) writes it), by a second process while the report is built (it is the biggest part of the
        task at a thousand upstreams a host); the task waits for it, so the data is there even when the report
        cannot be built.
      - The play's data then reaches the controller's disk once, as this task's argument, instead of once more
        through a C(copy) task (seconds per host with a thousand upstreams).
    type: bool
    default: false
  pack_results:
    description:
      - Return RV(report) packed into one string, RV(packed), instead of a dict; RV(paths), RV(lines) and RV(status)
        stay as they are. The report is in C(report.json) either way.
      - For plays that do not read RV(report) (C(tlsops.handshake.diagnose) reads RV(lines) and RV(paths)).
        ansible-core converts, copies and filters every value of a result on the controller, about a second for a
        fleet of 3000 pairs. P(tlsops.handshake.unpack_result#filter) gives the result back as without the option.
    type: bool
    default: false
  return_report:
    description:
      - Return the report (RV(report), or RV(packed) with O(pack_results=true)). V(false) leaves it out of the result;
        RV(paths), RV(lines), RV(status) and, when the task fails, its message stay, and the report is in C(report.json).
      - For plays that only print RV(lines) and RV(paths), as C(tlsops.handshake.diagnose) does. No copy of the
        report then goes through ansible-core's handling of a result (0.18 s of packing alone at six hosts with a
        thousand upstreams each).
    type: bool
    default: true
  since:
    description: How far back the error logs were read (as given to handshake_log_info); shown in the report.
    type: str
  group:
    description: The inventory group that was diagnosed; shown in the report.
    type: str
attributes:
  action:
    support: full
    description: All the work happens in the action plugin, on the controller.
  async:
    support: none
    description: It runs on the controller and finishes in seconds.
  bypass_host_loop:
    support: none
    description: Use C(run_once=true) to write the report once.
  check_mode:
    support: full
    description: The managed hosts are not touched at all; the report is written on the controller in check mode too.
  diff_mode:
    support: none
    description: No diff.
  platform:
    support: full
    platforms: posix
    description: The controller.
seealso:
  - module: tlsops.handshake.tls_probe
  - module: tlsops.handshake.nginx_tls_info
  - module: tlsops.handshake.handshake_log_info
"""

EXAMPLES = r"""
- name: Write the fleet report from what each proxy collected
  tlsops.handshake.diagnose_report:
    hosts: "{{ dict(ansible_play_hosts_all | zip(ansible_play_hosts_all | map('extract', hostvars, 'tlsops_collected'))) }}"
    output_dir: ./tlsops-report
    fail_on: failure
    since: 24h
    group: proxies
  run_once: true
  register: diagnosis

- name: The short table, in the play's output
  ansible.builtin.debug:
    msg: "{{ diagnosis.lines + ['report: ' ~ diagnosis.paths.html] }}"
  run_once: true
"""

RETURN = r"""
report:
  description:
    - The report's data model, exactly what C(report.json) holds - C(schema_version) (V(1)), C(generated_at),
      C(options), C(summary), C(hosts), C(pairs), C(findings), C(certificates), C(clocks) and C(logs).
    - The JSON Schema C(plugins/plugin_utils/_diagnose/report.schema.json) of this collection documents every key.
  returned: success and when the status reaches O(fail_on), unless O(pack_results=true) or O(return_report=false)
  type: dict
  contains:
    schema_version:
      description: Version of the report's layout; keys are stable within one version.
      type: int
      sample: 1
    summary:
      description: C(hosts), C(hosts_unreachable), C(pairs), C(pairs_failed), C(findings), C(by_cause) and C(status).
      type: dict
      sample: {"hosts": 3, "hosts_unreachable": 0, "pairs": 12, "pairs_failed": 3, "findings": 3,
               "by_cause": {"sni_required": 1, "cert_expired": 2}, "status": "failure"}
    findings:
      description:
        - Ranked findings, each with C(rank), C(severity), C(cause), C(title), C(side) (V(upstream), V(proxy) or
          V(client)), C(owner), C(intermittent), C(impact) (C(pairs), C(hosts)), C(what), C(where), C(why), C(fix),
          C(evidence), C(pair_ids) and C(line) (all of it in one line).
      type: list
      elements: dict
    pairs:
      description:
        - One entry per probed proxy -> upstream pair, with C(cause), C(ok), C(side), C(owner), C(why), C(evidence),
          C(fix), where nginx uses it (C(origin), C(where)) and nginx's effective settings toward it (C(settings)).
      type: list
      elements: dict
paths:
  description: Absolute paths of the files written.
  returned: success and when the status reaches O(fail_on)
  type: dict
  contains:
    json:
      description: report.json.
      type: str
    md:
      description: report.md, the summary and the ranked findings, fit to paste into a ticket.
      type: str
    html:
      description: report.html, one self-contained page.
      type: str
    hosts:
      description: hosts.json, the per-host data as given (O(write_hosts)); also returned when the report failed.
      type: str
      returned: when O(write_hosts=true)
  sample: {"json": "/home/ops/tlsops-report/report.json", "md": "/home/ops/tlsops-report/report.md",
           "html": "/home/ops/tlsops-report/report.html"}
packed:
  description: With O(pack_results=true), RV(report) as one string (a packed dict with that key alone); see
    P(tlsops.handshake.unpack_result#filter).
  returned: success and when the status reaches O(fail_on), with O(pack_results=true), unless O(return_report=false)
  type: str
  sample: "tlsops-packed-1:eNrtXW1v2..."
lines:
  description: The short table for the play's output - host, upstream, cause, fix - one line per failing pair, then the
    other findings and unreachable hosts; a header line first.
  returned: success and when the status reaches O(fail_on)
  type: list
  elements: str
  sample: ["host  upstream        cause         fix", "p1    10.0.0.7:443    sni_required  proxy_ssl_server_name on;"]
status:
  description: V(ok), V(warning) or V(failure), the C(summary.status) of RV(report).
  returned: success and when the status reaches O(fail_on)
  type: str
  sample: failure
"""
