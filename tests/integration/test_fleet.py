# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lab fleet (tests/lab/fleet.py) diagnosed by playbooks/diagnose.yml through real ansible-playbook.

Every planted fault must be visible in the per-host data (hosts.json, Contract 2 of issue #9) from
the right host with the right cause; an unreachable host is a record, not an aborted run; --check
gives the same data; --limit and diagnose_group=all work; a host with two nginx instances and a host
without nginx are handled.  Nothing is mocked: three real nginx, one of them under libfaketime.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time

import pytest

from tests.integration.helpers import BIN, REPO_ROOT, ansible_env
from tests.integration.playbook_cases import run_playbook
from tests.lab import LabError, fleet as fleet_module, lab_processes
from tests.lab.fleet import FAULTS, SKEW_SECONDS, UPSTREAMS, Fleet, expected_pairs
from tests.lab.noise import NOISE

pytestmark = pytest.mark.skipif(not shutil.which("openssl") or not os.path.exists("/usr/sbin/nginx")
                                or fleet_module.libfaketime() is None, reason="needs openssl, nginx and libfaketime (make deps)")

PLAYBOOK = "tlsops.handshake.diagnose"


@pytest.fixture(scope="module", name="fleet")
def fleet_fixture(tmp_path_factory):
    workdir = str(tmp_path_factory.mktemp("fleet"))
    with Fleet(workdir) as running:
        yield running
    assert not lab_processes(workdir), "fleet processes left after stop()"


@pytest.fixture(scope="module", name="extra_inventory")
def extra_inventory_fixture(fleet, tmp_path_factory):
    """Test-only hosts next to the fleet's own inventory: one unreachable (ssh to a closed port),
    one without nginx (its config does not exist) probed with diagnose_default_targets."""
    healthy = fleet.info["upstreams"]["app_backend"]
    path = tmp_path_factory.mktemp("inventory") / "test-hosts.yml"
    path.write_text(json.dumps({"proxies": {"hosts": {
        "dead": {"ansible_connection": "ssh", "ansible_host": "127.0.0.1", "ansible_port": 1,
                 "ansible_ssh_common_args": "-o ConnectTimeout=5 -o StrictHostKeyChecking=no"},
        "bare": {"tlsops_nginx_config": str(path.parent / "no-such-nginx.conf"),
                 "diagnose_default_targets": [{"host": "127.0.0.1", "port": healthy["port"], "name": "healthy-default",
                                               "server_name": healthy["server_name"],
                                               "ca_file": fleet.lab.info["ca_file"]}]},
    }}}, indent=1))
    return str(path)


def diagnose(fleet, outdir, *args, inventories=(), fail_on="never"):
    """``(rc, output, hosts.json)`` of one diagnose.yml run; the planted faults are expected, so the run
    fails on them only when ``fail_on`` says so."""
    inventories = [fleet.inventory] + list(inventories)
    rc, output = run_playbook(PLAYBOOK, timeout=300, inventories=inventories,
                              extra_args=["-e", "diagnose_output_dir=%s" % outdir,
                                          "-e", "diagnose_fail_on=%s" % fail_on] + list(args))
    hosts_json = os.path.join(str(outdir), "hosts.json")
    assert os.path.exists(hosts_json), "no hosts.json (rc=%s):\n%s" % (rc, output[-6000:])
    with open(hosts_json) as handle:
        return rc, output, json.load(handle)


@pytest.fixture(scope="module", name="diagnosed")
def diagnosed_fixture(fleet, extra_inventory, tmp_path_factory):
    started = time.monotonic()
    outdir = tmp_path_factory.mktemp("report")
    rc, output, hosts = diagnose(fleet, outdir, inventories=[extra_inventory])
    return {"rc": rc, "output": output, "hosts": hosts, "seconds": time.monotonic() - started, "dir": str(outdir)}


def probe_causes(record):
    """{upstream block: cause} of one host's tls_probe results (targets are named 'block (host:port)')."""
    return {result["target"].split(" ")[0]: result["cause"] for result in record["probe"]["results"]}


def essentials(hosts):
    """What a diagnosis found, without times, pids and timings: --check must give exactly this."""
    out = {}
    for name, rec in hosts.items():
        logs = (rec.get("logs") or {}).get("events") or {}
        out[name] = {
            "reachable": rec["reachable"],
            "probe": sorted((r["target"], r["cause"]) for r in (rec.get("probe") or {}).get("results", [])),
            "skewed": (rec.get("clock") or {}).get("skewed"),
            "chains": [(c["path"], c.get("complete"), [f["code"] for f in c.get("findings", [])], c.get("msg"))
                       for c in rec.get("chains") or []],
            "logs": {cause: group["count"] for cause, group in (logs.get("by_cause") or {}).items()},
            "nginx_findings": sorted(f["code"] for f in (rec.get("nginx") or {}).get("findings", []))
            if isinstance(rec.get("nginx"), dict) else None,
        }
    return out


# ------------------------------------------------------------------------------- the fleet itself

def test_fleet_starts_fast_and_writes_a_readable_inventory(fleet):
    assert fleet.info["state"] == "running"
    assert fleet.info["start_seconds"] < 30
    listed = subprocess.run([os.path.join(BIN, "ansible-inventory"), "-i", fleet.inventory, "--list"],
                            env=ansible_env(), capture_output=True, text=True, timeout=120, check=True)
    inventory = json.loads(listed.stdout)
    assert sorted(inventory["proxies"]["hosts"]) == ["p1", "p2", "p3"]
    hostvars = inventory["_meta"]["hostvars"]
    for name, proxy in fleet.info["proxies"].items():
        assert hostvars[name]["tlsops_nginx_config"] == proxy["config"]
        assert hostvars[name]["tlsops_nginx_path"] == proxy["nginx"]
        assert hostvars[name]["ansible_connection"] == "local"
    assert hostvars["p3"]["ansible_python_interpreter"].endswith("/p3/bin/python")
    with open(fleet.inventory) as handle:
        assert "tlsops_nginx_config" in handle.read().split("proxies:")[0], "the inventory documents its variables"


def test_only_p3_runs_three_days_behind(fleet):
    """p3's interpreter and nginx see a clock 3 days behind; the machine's clock and p1's do not move."""
    script = "import time; print(time.time())"
    now = time.time()
    skewed = float(subprocess.run([fleet.info["proxies"]["p3"]["interpreter"], "-c", script], capture_output=True,
                                  text=True, timeout=60, check=True).stdout)
    assert abs(skewed - (now + SKEW_SECONDS)) < 60
    assert abs(time.time() - now) < 60
    with open(fleet.info["proxies"]["p3"]["error_log"]) as handle:
        p3_day = handle.readline()[:10]
    with open(fleet.info["proxies"]["p1"]["error_log"]) as handle:
        p1_day = handle.readline()[:10]
    assert p3_day == time.strftime("%Y/%m/%d", time.localtime(now + SKEW_SECONDS)) != p1_day


def test_every_proxy_met_its_upstreams_before_the_diagnosis(fleet):
    """The traffic of start(): the proxies' error logs hold what nginx itself met."""
    statuses = {(t["proxy"], t["path"]): t["status"] for t in fleet.info["traffic"]}
    for (proxy, block), cause in expected_pairs().items():
        location = [u[1] for u in UPSTREAMS if u[0] == block][0]
        assert (statuses[proxy, location] == 200) == (cause == "ok"), (proxy, block, statuses)


def test_cli_start_status_stop(tmp_path):
    """``python -m tests.lab fleet start|status|stop``: the commands make demo runs."""
    workdir = str(tmp_path / "cli")

    def run(action):
        return subprocess.run([sys.executable, "-m", "tests.lab", "fleet", action, "--dir", workdir], cwd=REPO_ROOT,
                              capture_output=True, text=True, timeout=120, check=False)
    started = run("start")
    try:
        assert started.returncode == 0, started.stderr
        assert "inventory %s/inventory.yml" % workdir in started.stdout
        assert run("status").returncode == 0
        again = run("start")
        assert again.returncode == 1 and "already running" in again.stderr
    finally:
        stopped = run("stop")
    assert stopped.returncode == 0, stopped.stderr
    assert not lab_processes(workdir)
    assert run("status").returncode == 1


def test_failed_start_stops_what_it_started(tmp_path, monkeypatch):
    """p3's nginx cannot start (its launcher is `false`): start() raises LabError naming p3, after the
    lab of upstreams, the NTP server and the other proxies were started - and none of them is left."""
    monkeypatch.setattr(fleet_module, "SKEW_LAUNCHER", "false")
    workdir = str(tmp_path / "broken")
    with pytest.raises(LabError, match="fleet component p3 failed to come up"):
        Fleet(workdir).start()
    with open(os.path.join(workdir, "fleet.json")) as handle:
        assert json.load(handle)["state"] == "stopped"
    with open(os.path.join(workdir, "upstreams", "lab.json")) as handle:
        assert json.load(handle)["state"] == "stopped"
    for started in ("ntp", "p1", "p2"):
        assert os.path.exists(os.path.join(workdir, "logs", started + ".log")), started
    assert not lab_processes(workdir)
    assert not os.path.exists(os.path.join(workdir, "inventory.yml"))


def test_what_libfaketime_leaves_for_a_killed_process_is_removed(tmp_path):
    """A preloaded process that is killed leaves libfaketime's semaphore and shared-memory object in /dev/shm;
    stop() removes those made since the fleet started whose process is gone, and nothing else."""
    preload = fleet_module.libfaketime()
    if preload is None or not os.path.isdir(fleet_module.SHM_DIR):
        pytest.skip("needs libfaketime and /dev/shm")
    since = time.time() - 1
    names = ("faketime_shm_%d", "sem.faketime_sem_%d")
    killed = subprocess.Popen(["env", "LD_PRELOAD=" + preload, "FAKETIME=-3d", "sleep", "60"])
    living = subprocess.Popen(["env", "LD_PRELOAD=" + preload, "FAKETIME=-3d", "sleep", "60"])
    try:
        deadline = time.monotonic() + 10
        while not all(os.path.exists(os.path.join(fleet_module.SHM_DIR, n % p.pid)) for n in names
                      for p in (killed, living)) and time.monotonic() < deadline:
            time.sleep(0.02)
        killed.kill()
        killed.wait()
        left = sorted(n % killed.pid for n in names)
        assert all(os.path.exists(os.path.join(fleet_module.SHM_DIR, n)) for n in left)
        assert set(left) <= set(fleet_module.remove_faketime_leftovers(since))
        assert not any(os.path.exists(os.path.join(fleet_module.SHM_DIR, n)) for n in left)
        assert all(os.path.exists(os.path.join(fleet_module.SHM_DIR, n % living.pid)) for n in names)
    finally:
        for proc in (killed, living):
            proc.kill()
            proc.wait()
    fleet_module.remove_faketime_leftovers(since)
    old = tmp_path / ("faketime_shm_%d" % killed.pid)        # made before the fleet: not the fleet's
    old.write_text("")
    os.utime(str(old), (since - 3600, since - 3600))
    assert fleet_module.remove_faketime_leftovers(since, shm_dir=str(tmp_path)) == [] and old.exists()


# ------------------------------------------------------------------------------- the diagnosis

def test_run_completes_for_every_host_in_time(diagnosed):
    assert diagnosed["rc"] == 0, diagnosed["output"][-4000:]
    assert sorted(diagnosed["hosts"]) == ["bare", "dead", "p1", "p2", "p3"]
    assert diagnosed["seconds"] < 90


def test_every_pair_has_its_planted_cause(diagnosed):
    hosts = diagnosed["hosts"]
    for (proxy, block), cause in expected_pairs().items():
        assert probe_causes(hosts[proxy])[block] == cause, (proxy, block, probe_causes(hosts[proxy]))


def test_one_call_per_step(diagnosed):
    """One nginx_tls_info result (a dict) and ONE tls_probe call with every upstream, per host."""
    for name in ("p1", "p2", "p3"):
        rec = diagnosed["hosts"][name]
        assert isinstance(rec["nginx"], dict) and rec["nginx"]["config_file"].endswith("/%s/nginx.conf" % name)
        assert len(rec["probe"]["results"]) == len(UPSTREAMS)
        assert len(rec["chains"]) == 1


def test_p2_lacks_sni_where_p1_sends_it(diagnosed):
    hosts = diagnosed["hosts"]
    search = {name: [t for t in hosts[name]["nginx"]["probe_targets"] if t["name"].startswith("search_backend")][0]
              for name in ("p1", "p2")}
    assert search["p1"]["sni"] is True and search["p2"]["sni"] is False
    p2 = [r for r in hosts["p2"]["probe"]["results"] if r["target"].startswith("search_backend")][0]
    assert "proxy_ssl_server_name on" in " ".join(p2["fix"])
    assert "sni_off_for_hostname" in [f["code"] for f in hosts["p2"]["nginx"]["findings"]]


def test_clock_offset_of_the_skewed_host_explains_its_failures(diagnosed):
    hosts = diagnosed["hosts"]
    p3 = hosts["p3"]
    assert p3["clock"]["skewed"] is True
    assert abs(p3["clock"]["offset_ms"] - (-SKEW_SECONDS * 1000)) < 5000
    skewed = [r for r in p3["probe"]["results"] if r["cause"] == "clock_skew"]
    assert len(skewed) == 2
    for result in skewed:   # tls_probe got time_sync_info's offset as clock_offset_ms
        assert result["clock_could_be_cause"] is True
        assert re.search(r"off by 2592\d\d(\.\d+)? s", result["detail"]), result["detail"]
    for name in ("p1", "p2"):
        assert hosts[name]["clock"]["skewed"] is False and abs(hosts[name]["clock"]["offset_ms"]) < 1000
    # p3's own certificate is judged at the NTP time, so the skew does not make it look not yet valid
    assert p3["chains"][0].get("complete") is True and p3["chains"][0]["findings"] == [], p3["chains"][0]
    # and nginx on p3 really logged the not-yet-valid certificates it met
    assert p3["logs"]["events"]["by_cause"]["cert_not_yet_valid"]["count"] == 2


def test_p1_serves_an_incomplete_chain(diagnosed, fleet):
    hosts = diagnosed["hosts"]
    chain = hosts["p1"]["chains"][0]
    assert chain["path"] == fleet.info["proxies"]["p1"]["certificate"]
    assert chain["complete"] is False
    assert "chain_incomplete" in [f["code"] for f in chain["findings"]]
    for name in ("p2", "p3"):
        assert hosts[name]["chains"][0].get("complete") is True, hosts[name]["chains"][0]


def test_client_noise_only_in_p2s_logs(diagnosed):
    hosts = diagnosed["hosts"]
    client = hosts["p2"]["logs"]["events"]["by_side"]["client"]
    assert client["count"] == sum(count for _source, _kind, count in NOISE)
    top = hosts["p2"]["logs"]["clients"][0]
    assert top["address"] == "127.0.0.66" and top["count"] == 7
    for name in ("p1", "p3"):
        assert "client" not in hosts[name]["logs"]["events"]["by_side"]
    # the upstream failure every proxy met is in every proxy's log, on the upstream side
    legacy = diagnosed["hosts"]["p1"]["probe"]["results"]
    port = [r["port"] for r in legacy if r["target"].startswith("legacy_backend")][0]
    for name in ("p1", "p2", "p3"):
        assert hosts[name]["logs"]["events"]["by_upstream"]["127.0.0.1:%d" % port]["count"] >= 1


def test_unreachable_host_is_a_record(diagnosed):
    dead = diagnosed["hosts"]["dead"]
    assert dead["reachable"] is False
    assert "Connection refused" in dead["unreachable_msg"] or "Failed to connect" in dead["unreachable_msg"]
    assert [dead[step] for step in ("nginx", "clock", "probe", "chains", "logs")] == [None] * 5


def test_host_without_nginx_is_probed_with_the_default_targets(diagnosed):
    bare = diagnosed["hosts"]["bare"]
    assert bare["reachable"] is True
    assert bare["nginx"]["failed"] is True and bare["nginx"]["msg"]
    assert [(r["target"], r["cause"]) for r in bare["probe"]["results"]] == [("healthy-default", "ok")]
    assert bare["chains"] is None and bare["logs"] is None


def test_the_planted_faults_table_matches_the_data(diagnosed):
    """fleet.json's FAULTS (what the report engine's tests will read) says what the data shows."""
    hosts = diagnosed["hosts"]
    for fault in FAULTS:
        if fault["cause"] and fault["upstream"]:
            blocks = fault["upstream"] if isinstance(fault["upstream"], list) else [fault["upstream"]]
            for host in fault["hosts"]:
                for block in blocks:
                    assert probe_causes(hosts[host])[block] == fault["cause"], fault


# ------------------------------------------------------------------------------- modes

def test_check_mode_gives_the_same_data(fleet, extra_inventory, diagnosed, tmp_path):
    rc, output, hosts = diagnose(fleet, tmp_path, "--check", inventories=[extra_inventory])
    assert rc == 0, output[-4000:]
    assert essentials(hosts) == essentials(diagnosed["hosts"])


def test_limit_group_all_and_two_nginx_instances(fleet, tmp_path):
    """--limit p2 with diagnose_group=all: only p2 is in the data.  p2 is given two nginx instances
    (its own and p1's configuration): nginx is a list, ONE tls_probe call holds the targets of
    both, named by their configuration, and the error logs come from tlsops_nginx_error_logs."""
    p1, p2 = fleet.info["proxies"]["p1"], fleet.info["proxies"]["p2"]
    instances = tmp_path / "two-instances.yml"
    instances.write_text(json.dumps({"proxies": {"hosts": {"p2": {
        "tlsops_nginx_instances": [{"nginx_path": p["nginx"], "config": p["config"], "prefix": p["prefix"]}
                                   for p in (p2, p1)],
        "tlsops_nginx_error_logs": [p2["error_log"], p1["error_log"]]}}}}))
    rc, output, hosts = diagnose(fleet, tmp_path / "out", "--limit", "p2", "-e", "diagnose_group=all",
                                 inventories=[str(instances)])
    assert rc == 0, output[-4000:]
    assert list(hosts) == ["p2"]
    rec = hosts["p2"]
    assert [n["config_file"] for n in rec["nginx"]] == [p2["config"], p1["config"]]
    causes = {r["target"]: r["cause"] for r in rec["probe"]["results"]}
    search = {target.rsplit(" [", 1)[1][:-1]: cause for target, cause in causes.items()
              if target.startswith("search_backend")}
    assert search == {p2["config"]: "sni_required", p1["config"]: "ok"}
    assert sorted(f["path"] for f in rec["logs"]["files"]) == sorted([p2["error_log"], p1["error_log"]])


def test_bad_variables_fail_their_host_clearly(fleet, tmp_path):
    """A variable of the wrong type fails its host with a message naming it; the other hosts are
    diagnosed and the failed ones still get a row."""
    bad = tmp_path / "bad.yml"
    bad.write_text(json.dumps({"proxies": {"hosts": {
        "p1": {"diagnose_extra_targets": "127.0.0.1:443"},
        "p2": {"diagnose_probe_options": ["timeout", 3], "tlsops_nginx_instances": ["/etc/nginx/nginx.conf"]}}}}))
    rc, output, hosts = diagnose(fleet, tmp_path / "out", inventories=[str(bad)])
    assert rc != 0
    assert "diagnose_extra_targets must be a list, not str" in output
    assert "diagnose_probe_options must be a dict of module options, not list" in output
    assert "tlsops_nginx_instances must be a list of dicts of nginx_tls_info options" in output
    assert "Traceback" not in output
    for name in ("p1", "p2"):
        assert hosts[name]["reachable"] is False and "failed on this host" in hosts[name]["unreachable_msg"]
    assert probe_causes(hosts["p3"])["app_backend"] == "clock_skew"


# ------------------------------------------------------------------------------- the report

def _report(diagnosed):
    with open(os.path.join(diagnosed["dir"], "report.json")) as handle:
        return json.load(handle)


def _address(fleet, block):
    upstream = fleet.info["upstreams"][block]
    return "%s:%s" % (upstream.get("host", "127.0.0.1"), upstream["port"])


def test_the_report_validates_against_the_shipped_schema(diagnosed):
    import jsonschema

    from ansible_collections.tlsops.handshake.plugins.plugin_utils._diagnose import report as engine

    with open(engine.SCHEMA_PATH) as handle:
        jsonschema.Draft202012Validator(json.load(handle)).validate(_report(diagnosed))
    for name in ("report.md", "report.html"):
        assert os.path.getsize(os.path.join(diagnosed["dir"], name)) > 1000


def test_every_planted_fault_is_one_finding_with_its_side_owner_and_fix(diagnosed, fleet):
    findings = _report(diagnosed)["findings"]
    for fault in FAULTS:
        if fault["cause"] is None:
            continue
        owner = _address(fleet, fault["upstream"]) if fault["side"] == "upstream" else fault["owner"]
        same = [f for f in findings if f["cause"] == fault["cause"] and f["owner"] == owner]
        assert len(same) == 1, (fault, [(f["cause"], f["side"], f["owner"]) for f in findings])
        finding = same[0]
        assert finding["side"] == fault["side"], (fault, finding)
        assert finding["fix"], finding
    by_cause = {f["cause"]: f for f in findings if f["side"] != "client"}
    assert by_cause["plain_http"]["impact"] == {"hosts": 3, "pairs": 3}
    assert by_cause["sni_required"]["fix"][0] == "proxy_ssl_server_name on;"
    assert any("works from p1" in e for e in by_cause["sni_required"]["evidence"]), by_cause["sni_required"]
    assert "Synchronise the clock of p3" in by_cause["clock_skew"]["fix"][0]
    # the highest impact first: the upstream broken for everyone
    assert findings[0]["cause"] == "plain_http" and findings[0]["rank"] == 1


def test_healthy_pairs_are_green_and_failing_ones_carry_their_location(diagnosed, fleet):
    pairs = {(p["proxy"], p["upstream"]): p for p in _report(diagnosed)["pairs"] if p["proxy"].startswith("p")}
    for (proxy, block), cause in expected_pairs().items():
        pair = pairs[proxy, _address(fleet, block)]
        assert pair["cause"] == cause and pair["ok"] is (cause == "ok"), pair
        location = pair["origin"]["locations"][0]
        assert location["file"].endswith("/%s/nginx.conf" % proxy) and location["line"] > 0, pair


def test_client_noise_is_reported_apart_from_upstream_failures(diagnosed):
    report = _report(diagnosed)
    client = report["logs"]["client"]
    assert client and {entry["host"] for entry in client} == {"p2"}
    assert sum(entry["count"] for entry in client) == sum(count for _source, _kind, count in NOISE)
    assert "127.0.0.66" in json.dumps(client)            # the scanner is among the top addresses
    assert not [f for f in report["findings"] if f["side"] == "client" and f["owner"] != "p2"]


def test_unreachable_host_is_a_row_of_the_report(diagnosed):
    hosts = {h["name"]: h for h in _report(diagnosed)["hosts"]}
    assert hosts["dead"]["reachable"] is False and hosts["dead"]["error"]
    assert _report(diagnosed)["summary"]["hosts_unreachable"] == 1


def test_the_run_fails_on_failing_pairs_by_default_after_writing_the_report(fleet, tmp_path):
    rc, output, _hosts = diagnose(fleet, tmp_path, fail_on="failure")
    assert rc != 0
    assert "diagnosis status failure (fail_on=failure)" in output
    assert os.path.exists(str(tmp_path / "report.html"))
    assert re.search(r"p2\s+\S+\s+sni_required\s+proxy_ssl_server_name on;", output), output[-3000:]


def test_diagnose_trace_shows_the_transcript_of_the_failing_pairs(fleet, tmp_path):
    """-e diagnose_trace=true: tls_probe records each handshake's transcript and report.json/md carry
    it for the failing pairs only (issue 13)."""
    outdir = tmp_path / "out"
    rc, output, hosts = diagnose(fleet, outdir, "--limit", "p2", "-e", "diagnose_group=all", "-e", "diagnose_trace=true")
    assert rc == 0, output[-4000:]
    results = hosts["p2"]["probe"]["results"]
    assert results and all(r["trace_text"][0].startswith("--- connection 1: ") for r in results)
    with open(os.path.join(str(outdir), "report.json")) as handle:
        report = json.load(handle)
    failing = [p for p in report["pairs"] if not p["ok"]]
    assert failing and all(p["trace"] and any(">>> " in line and "ClientHello" in line for line in p["trace"])
                           for p in failing)
    assert all("trace" not in p for p in report["pairs"] if p["ok"])
    with open(os.path.join(str(outdir), "report.md")) as handle:
        assert "## Handshake transcripts of the failing pairs (tls_probe trace)" in handle.read()
