# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""diagnose_report on REAL module results: the five modules run through ansible-playbook against the
lab (tests/integration/diagnose_capture.py), then the report engine, the action plugin through
ansible-playbook, and report.html in headless Chromium.

The lab is one nginx, so the "fleet" here is SIMULATED from real captures (the real multi-host fleet
is the playbook's part): p1 is the lab as it is; p2 the same lab with time_sync_info asking a loopback
NTP server that is 2 days behind (so p2's clock reads 2 days fast, and tls_probe gets that offset);
p3 the same lab probed with SNI on every target and its nginx result edited to say
proxy_ssl_server_name on for the SNI upstream (a proxy configured right); p4 is unreachable.
"""

from __future__ import annotations

import json
import os
import re

import jsonschema
import pytest

from ansible_collections.tlsops.handshake.plugins.module_utils._common.packed import pack_keys
from ansible_collections.tlsops.handshake.plugins.plugin_utils._diagnose import render_html, report as engine
from tests.integration import chromium
from tests.integration.diagnose_capture import capture_host, client_noise, proxy_requests
from tests.integration.helpers import REPO_ROOT
from tests.integration.playbook_cases import run_playbook

OUTPUT = os.path.join(REPO_ROOT, "build", "test-output", "diagnose")
DAY_MS = 86400000.0


def _sni_on(data, port):
    """Edit one captured nginx_tls_info result: proxy_ssl_server_name on toward ``port``."""
    for upstream in data["nginx"]["upstreams"]:
        if any(s.get("port") == port for s in upstream["servers"]):
            upstream["effective"]["server_name_on"] = True
            source = dict(upstream["sources"]["ssl_name"], directive="proxy_ssl_server_name")
            upstream["sources"]["server_name_on"] = source
            upstream["findings"] = [f for f in upstream["findings"] if f.get("code") != "sni_off_for_hostname"]
    return data


@pytest.fixture(scope="module")
def fleet(lab, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("diagnose-fleet")
    proxy_requests(lab)
    client_noise(lab)
    hosts = {
        "p1": capture_host(lab, workdir / "p1"),
        "p2": capture_host(lab, workdir / "p2", ntp_offset_s=-2 * 86400.0),
        "p3": _sni_on(capture_host(lab, workdir / "p3", overrides={"sni": True}), lab.scenarios["sni_required"]["port"]),
        "p4": {"reachable": False, "unreachable_msg": "Failed to connect to the host via ssh: Connection timed out"},
    }
    return hosts


def upstream(lab, name):
    return "127.0.0.1:%d" % lab.scenarios[name]["port"]


def the(report, **keys):
    found = [f for f in report["findings"] if all(f[k] == v for k, v in keys.items())]
    assert len(found) == 1, (keys, [(f["cause"], f["side"], f["owner"]) for f in report["findings"]])
    return found[0]


def test_real_results_correlate_into_a_valid_report(lab, fleet):
    report = engine.build_report(fleet, {"group": "proxies", "since": "24h"})
    with open(engine.SCHEMA_PATH) as handle:
        jsonschema.Draft202012Validator(json.load(handle)).validate(json.loads(json.dumps(report)))

    # missing intermediate from every proxy: the upstream's
    missing = the(report, cause="cert_chain_incomplete", side="upstream")
    assert missing["owner"] == upstream(lab, "missing_intermediate") and missing["impact"] == {"pairs": 3, "hosts": 3}
    # SNI: works from p3 (SNI on), fails from p1 and p2: each one's own config, with the evidence
    sni = upstream(lab, "sni_required")
    for proxy in ("p1", "p2"):
        f = the(report, cause="sni_required", owner=proxy)
        assert f["side"] == "proxy" and f["fix"][0] == "proxy_ssl_server_name on;"
        assert "%s fails from %s while it works from p3" % (sni, proxy) == f["why"]
        assert any(re.match(r"works from p3 \(.*location = /sni_required.*\) with SNI sni\.lab\.test, TLSv1\.\d; "
                            r"%s has proxy_ssl_server_name off \(.*nginx\.conf:\d+\)" % proxy, e) for e in f["evidence"]), f
    # the expired certificate: expired for p1 and p3 (the upstream's), clock skew on p2
    expired = the(report, cause="cert_expired", side="upstream")
    assert expired["owner"] == upstream(lab, "expired") and expired["impact"] == {"pairs": 2, "hosts": 2}
    clock = the(report, cause="clock_skew")
    assert (clock["side"], clock["owner"], clock["severity"]) == ("proxy", "p2", "error")
    assert clock["evidence"][0].startswith("time_sync_info on p2: the clock is 2.0 d ahead (NTP server 127.0.0.1:")
    assert "Synchronise the clock of p2" in clock["fix"][0]
    # healthy is green everywhere; the unreachable host is a row
    healthy = [p for p in report["pairs"] if p["upstream"] == upstream(lab, "healthy") and "/healthy" in " ".join(p["where"])]
    assert len(healthy) == 3 and all(p["ok"] for p in healthy)
    assert [h["reachable"] for h in report["hosts"]] == [True, True, True, False]
    # served certificates: the incomplete chain is each proxy's own; client noise is apart
    assert len([f for f in report["findings"] if f["cause"] == "cert_chain_incomplete" and f["side"] == "proxy"]) == 3
    assert set(e["host"] for e in report["logs"]["client"]) == {"p1", "p2", "p3"}
    assert all(f["severity"] == "info" for f in report["findings"] if f["side"] == "client")
    assert report["summary"]["status"] == "failure"


PLAYBOOK = """\
- hosts: localhost
  gather_facts: false
  tasks:
    - name: never fails
      tlsops.handshake.diagnose_report:
        hosts: "{{ per_host }}"
        output_dir: %(out)s
        fail_on: never
        since: 24h
        group: proxies
      register: never
    - name: fails on failure
      tlsops.handshake.diagnose_report:
        hosts: "{{ per_host }}"
        output_dir: %(out)s
      register: failure
      ignore_errors: true
    - name: keep the results
      ansible.builtin.copy:
        content: "{{ {'never': never, 'failure': failure} | to_json }}"
        dest: %(results)s
        mode: "0600"
      check_mode: false
"""


@pytest.mark.parametrize("check", [False, True], ids=["run", "check-mode"])
def test_the_action_plugin_writes_the_report_and_fails_per_fail_on(fleet, tmp_path, check):
    out, results = tmp_path / "tlsops-report", tmp_path / "results.json"
    (tmp_path / "vars.json").write_text(json.dumps({"per_host": fleet}))
    (tmp_path / "play.yml").write_text(PLAYBOOK % {"out": out, "results": results})
    extra = ["-e", "@%s" % (tmp_path / "vars.json")] + (["--check"] if check else [])
    returncode, output = run_playbook(tmp_path / "play.yml", extra_args=extra, timeout=300)
    assert os.path.exists(str(results)), output[-4000:]
    registered = json.loads(results.read_text())
    never, failure = registered["never"], registered["failure"]
    assert not never.get("failed") and never["status"] == "failure" and never["changed"] is False
    assert never["report"]["options"] == {"group": "proxies", "since": "24h", "fail_on": "never"}
    assert never["paths"] == {"json": str(out / "report.json"), "md": str(out / "report.md"), "html": str(out / "report.html")}
    assert never["lines"][0].split() == ["host", "upstream", "cause", "fix"]
    assert failure["failed"] is True
    assert re.match(r"diagnosis status failure \(fail_on=failure\): \d+ of \d+ pair\(s\) fail, \d+ finding\(s\); see .*report\.md$",
                    failure["msg"]), failure["msg"]
    assert sorted(os.listdir(str(out))) == ["report.html", "report.json", "report.md"]
    assert json.loads((out / "report.json").read_text())["options"]["fail_on"] == "failure"   # the last run's
    assert "Traceback" not in output


def test_bad_hosts_fail_with_a_clear_message(tmp_path):
    (tmp_path / "play.yml").write_text(
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n"
        "    - tlsops.handshake.diagnose_report:\n        hosts: {p1: {probes: {}}}\n        output_dir: %s\n" % (tmp_path / "out"))
    returncode, output = run_playbook(tmp_path / "play.yml", timeout=300)
    assert returncode != 0
    assert "hosts.p1: unknown key(s) probes; allowed: reachable, unreachable_msg, nginx, clock, probe, chains, logs" in output
    assert "Traceback" not in output and not os.path.exists(str(tmp_path / "out"))


WRITE_HOSTS_PLAY = """\
- hosts: localhost
  gather_facts: false
  tasks:
    - tlsops.handshake.diagnose_report:
        hosts: "{{ per_host }}"
        write_hosts: true
        output_dir: %(out)s
        fail_on: never
      register: written
      ignore_errors: true
    - ansible.builtin.copy:
        content: "{{ written | to_json }}"
        dest: %(results)s
        mode: "0644"
"""


def _report_play(tmp_path, play, per_host):
    """Run ``play`` (with %(out)s and %(results)s) on ``per_host``: (output dir, what it wrote to results, output)."""
    out, results = tmp_path / "out", tmp_path / "results.json"
    (tmp_path / "vars.json").write_text(json.dumps({"per_host": per_host}))
    (tmp_path / "play.yml").write_text(play % {"out": out, "results": results})
    returncode, output = run_playbook(tmp_path / "play.yml", extra_args=["-e", "@%s" % (tmp_path / "vars.json")],
                                      timeout=300)
    assert returncode == 0 and os.path.exists(str(results)), output[-4000:]
    return out, json.loads(results.read_text()), output


@pytest.mark.parametrize("valid", [True, False], ids=["report", "bad-hosts"])
def test_write_hosts_writes_the_data_as_given_also_when_the_report_fails(tmp_path, valid):
    """diagnose.yml's hosts.json comes from write_hosts (no copy task): to_nice_json's bytes, written before
    the report, so bad data that fails the report is still on disk to look at."""
    from ansible.plugins.filter.core import to_nice_json  # pylint: disable=import-outside-toplevel
    per_host = {"p4": {"reachable": False, "unreachable_msg": "ssh: Connection timed out \u00e9",
                       "nginx": None, "clock": None, "probe": None, "chains": None, "logs": None}}
    if not valid:
        per_host["p1"] = {"probes": {"b": [1, 2.5, None, True]}}
    out, written, output = _report_play(tmp_path, WRITE_HOSTS_PLAY, per_host)
    assert (out / "hosts.json").read_text(encoding="utf-8") == to_nice_json(per_host) + "\n"
    assert written["paths"]["hosts"] == str(out / "hosts.json")
    if valid:
        assert not written.get("failed") and written["status"] == "warning"
        assert sorted(os.listdir(str(out))) == ["hosts.json", "report.html", "report.json", "report.md"]
    else:
        assert written["failed"] is True and written["msg"].startswith("hosts.p1: unknown key(s) probes")
        assert os.listdir(str(out)) == ["hosts.json"]
    assert "Traceback" not in output


PACKED_REPORT_PLAY = """\
- hosts: localhost
  gather_facts: false
  tasks:
    - tlsops.handshake.diagnose_report:
        hosts: "{{ per_host }}"
        output_dir: %(out)s
        fail_on: never
        pack_results: true
      register: packed
    - tlsops.handshake.diagnose_report:
        hosts: "{{ per_host }}"
        output_dir: %(out)s
        pack_results: maybe
      register: bad
      ignore_errors: true
    - tlsops.handshake.diagnose_report:
        hosts: "{{ per_host }}"
        output_dir: %(out)s
        fail_on: never
        return_report: false
      register: without
    - tlsops.handshake.diagnose_report:
        hosts: "{{ per_host }}"
        output_dir: %(out)s
        return_report: sometimes
      register: bad_return
      ignore_errors: true
    - ansible.builtin.copy:
        content: "{{ {'packed': packed, 'unpacked': packed | tlsops.handshake.unpack_result, 'bad': bad,
                      'without': without, 'bad_return': bad_return} | to_json }}"
        dest: %(results)s
        mode: "0644"
"""


def test_pack_results_returns_the_report_in_one_string(tmp_path):
    """The report as report.json holds it, packed: lines, paths and status as they are; the filter unpacks it.
    return_report: false leaves the report out, lines, paths and status still there."""
    per_host = {"p4": {"reachable": False, "unreachable_msg": "ssh: Connection timed out",
                       "nginx": None, "clock": None, "probe": None, "chains": None, "logs": None}}
    out, found, dummy_output = _report_play(tmp_path, PACKED_REPORT_PLAY, per_host)
    packed = found["packed"]
    assert "report" not in packed and packed["packed"].startswith("tlsops-packed-1:")
    assert packed["status"] == "warning" and packed["lines"] and packed["paths"]["json"] == str(out / "report.json")
    assert found["unpacked"]["report"] == json.loads((out / "report.json").read_text())
    assert found["bad"]["failed"] and found["bad"]["msg"] == "pack_results: expected a boolean, got 'maybe'"
    without = found["without"]     # return_report: false - neither the report nor its packed string
    assert "report" not in without and "packed" not in without
    assert without["status"] == "warning" and without["lines"] == packed["lines"] and without["paths"] == packed["paths"]
    assert json.loads((out / "report.json").read_text())["summary"]["status"] == "warning"
    assert found["bad_return"]["failed"]
    assert found["bad_return"]["msg"] == "return_report: expected a boolean, got 'sometimes'"


@pytest.fixture(scope="module")
def browser():
    path = chromium.ensure_installed()
    if not path:
        pytest.skip("chromium is missing and cannot be installed here (needs root and apt-get)")
    return path


def test_report_html_renders_in_headless_chromium_without_errors_or_requests(browser, fleet, tmp_path):
    report = engine.build_report(fleet, {"group": "proxies", "since": "24h"})
    os.makedirs(OUTPUT, exist_ok=True)
    page = os.path.join(OUTPUT, "report.html")
    with open(page, "w") as handle:
        handle.write(render_html.render(report))
    seen = chromium.open_page(page, tmp_path, screenshot=os.path.join(OUTPUT, "report.png"))
    dom = seen["dom"]
    assert '<table class="matrix">' in dom and dom.count('<td class="cell cell-ok"') >= 3
    assert re.search(r'<td class="cell layer-certificate" title="[^"]*"><a href="#pair-\d+">cert_chain_incomplete</a>', dom)
    assert 'aria-label="certificate validity timeline"' in dom and dom.count('<rect class="bar"') > 5
    assert seen["console"] == [], seen["console"]
    assert seen["requests"] == [], seen["requests"]
    assert seen["seconds"] < 30, seen["seconds"]
    assert os.path.getsize(os.path.join(OUTPUT, "report.png")) > 10000
    # a phone's width (the matrix and charts scroll inside their boxes: see report-phone.png)
    phone = chromium.open_page(page, tmp_path, screenshot=os.path.join(OUTPUT, "report-phone.png"), window="390,1400")
    assert phone["console"] == [] and phone["requests"] == []


def test_the_chromium_check_sees_a_request_and_a_console_message(browser, tmp_path):
    """The checks above can fail: a page that fetches an image and logs to the console is caught."""
    page = tmp_path / "bad.html"
    page.write_text('<!DOCTYPE html><html><body><p>x</p><img src="http://127.0.0.1:9/x.png">'
                    '<script>console.error("boom")</script></body></html>')
    seen = chromium.open_page(str(page), tmp_path)
    assert seen["requests"] == ["http://127.0.0.1:9/x.png"]
    assert any("boom" in line for line in seen["console"]), seen["console"]


HOST_RECORDS_PLAY = """\
- hosts: all
  gather_facts: false
  tasks:
    - name: the steps' data where the play would register it
      ansible.builtin.set_fact:
        step_nginx_run: "{{ {'results': [per_host[inventory_hostname].nginx]} }}"
        step_clock: "{{ per_host[inventory_hostname].clock }}"
        step_probe: "{{ per_host[inventory_hostname].probe }}"
        step_chains: "{{ {'results': per_host[inventory_hostname].chains} }}"
        step_logs: "{{ per_host[inventory_hostname].logs }}"
        # as diagnose.yml registers them: nginx_tls_info and tls_probe with pack_results
        packed_nginx_run: "{{ {'results': [packed[inventory_hostname].nginx]} }}"
        packed_probe: "{{ packed[inventory_hostname].probe }}"
        corrupt_probe: {packed: "tlsops-packed-1:not base64!", summary: {}}
      when: inventory_hostname != 'p5'
    - name: each host's record, as diagnose.yml makes it (none for p5, a host that failed before it)
      ansible.builtin.set_fact:
        record:
          reachable: "{{ per_host[inventory_hostname].reachable }}"
          unreachable_msg: "{{ per_host[inventory_hostname].unreachable_msg }}"
          nginx: "{{ none if per_host[inventory_hostname].nginx is none else 'step_nginx_run.results.0' }}"
          clock: "{{ none if per_host[inventory_hostname].clock is none else 'step_clock' }}"
          probe: "{{ none if per_host[inventory_hostname].probe is none else 'step_probe' }}"
          chains: "{{ none if per_host[inventory_hostname].chains is none else 'step_chains.results' }}"
          logs: "{{ none if per_host[inventory_hostname].logs is none else 'step_logs' }}"
        bad_record: {reachable: true, nginx: no_such_var.results}
        corrupt_record: {reachable: true, probe: corrupt_probe}
      when: inventory_hostname != 'p5'
    - name: the record of the packed results
      ansible.builtin.set_fact:
        packed_record: >-
          {{ record | combine({'nginx': none if record.nginx is none else 'packed_nginx_run.results.0',
                               'probe': none if record.probe is none else 'packed_probe'}) }}
      when: inventory_hostname != 'p5'
    - name: from the hosts' variables (records), and with nginx and probe packed (packed)
      tlsops.handshake.diagnose_report:
        host_records: {hosts: "{{ ansible_play_hosts_all }}", record: "{{ item.value }}", missing_msg: failed before its record}
        write_hosts: true
        output_dir: "%(out)s/{{ item.key }}"
        fail_on: never
      loop: "{{ {'records': 'record', 'packed': 'packed_record'} | dict2items }}"
      run_once: true
      delegate_to: localhost
    - name: from the argument
      tlsops.handshake.diagnose_report:
        hosts: "{{ expected }}"
        output_dir: %(out)s/argument
        fail_on: never
      run_once: true
      delegate_to: localhost
    - name: records the report cannot follow (a variable the host lacks; a packed result cut or altered on its way)
      tlsops.handshake.diagnose_report:
        host_records: {hosts: [p1], record: "{{ item }}"}
        output_dir: "%(out)s/{{ item }}"
      loop: [bad_record, corrupt_record]
      run_once: true
      delegate_to: localhost
      register: refused
      ignore_errors: true
    - ansible.builtin.copy:
        content: "{{ item | to_json }}"
        dest: "%(out)s/{{ item.item }}.json"
        mode: "0644"
      loop: "{{ refused.results }}"
      loop_control:
        label: "{{ item.item }}"
      run_once: true
      delegate_to: localhost
"""


def test_host_records_give_the_same_hosts_json_and_report_as_the_hosts_argument(fleet, tmp_path):
    """diagnose.yml passes host_records (the report task reads each host's registered results itself,
    nothing is templated as its argument): hosts.json and the report are those of the same data given as
    ``hosts``, a host without a record is a row with missing_msg, and a wrong reference is a clear error."""
    from ansible.plugins.filter.core import to_nice_json  # pylint: disable=import-outside-toplevel
    keys = ("reachable", "unreachable_msg", "nginx", "clock", "probe", "chains", "logs")
    per_host = {name: {key: data.get(key, True if key == "reachable" else None) for key in keys}
                for name, data in fleet.items()}
    expected = dict(per_host, p5={"reachable": False, "unreachable_msg": "failed before its record", "nginx": None,
                                  "clock": None, "probe": None, "chains": None, "logs": None})
    out = tmp_path / "out"
    inventory = tmp_path / "inventory.json"
    inventory.write_text(json.dumps({"all": {"hosts": {name: {"ansible_connection": "local"} for name in expected}}}))
    # nginx_tls_info's and tls_probe's results as pack_results returns them (the engine both modules use)
    packed = {name: {"nginx": data["nginx"] and pack_keys(data["nginx"], ("upstreams", "findings")),
                     "probe": data["probe"] and pack_keys(data["probe"], ("results",))}
              for name, data in per_host.items()}
    assert all("packed" in packed[name]["probe"] and "results" not in packed[name]["probe"]
               for name in per_host if per_host[name]["probe"])
    (tmp_path / "vars.json").write_text(json.dumps({"per_host": per_host, "expected": expected, "packed": packed}))
    (tmp_path / "play.yml").write_text(HOST_RECORDS_PLAY % {"out": out})
    returncode, output = run_playbook(tmp_path / "play.yml", extra_args=["-e", "@%s" % (tmp_path / "vars.json")],
                                      inventories=[inventory], timeout=300)
    assert returncode == 0, output[-4000:]
    assert (out / "records" / "hosts.json").read_text(encoding="utf-8") == to_nice_json(expected) + "\n"
    # packed step results are unpacked before anything reads them: the same bytes, the same report
    assert (out / "packed" / "hosts.json").read_text(encoding="utf-8") == to_nice_json(expected) + "\n"
    from_records = json.loads((out / "records" / "report.json").read_text())
    from_argument = json.loads((out / "argument" / "report.json").read_text())
    from_packed = json.loads((out / "packed" / "report.json").read_text())
    assert from_records.pop("generated_at") and from_argument.pop("generated_at") and from_packed.pop("generated_at")
    assert from_records == from_argument == from_packed
    corrupt = json.loads((out / "corrupt_record.json").read_text())
    assert corrupt["failed"] is True
    assert corrupt["msg"] == ("hosts: p1.probe: the packed result is not valid base64 (cut short or altered on its way);"
                              " run the step again (the string comes from the module)")
    assert not (out / "corrupt_record").exists()
    assert [h["reachable"] for h in from_records["hosts"]] == [True, True, True, False, False]
    bad = json.loads((out / "bad_record.json").read_text())
    assert bad["failed"] is True and bad["msg"].startswith("host_records: p1.bad_record.nginx: the host has no variable no_such_var")
    assert not (out / "bad_record").exists()
    assert "Traceback" not in output
