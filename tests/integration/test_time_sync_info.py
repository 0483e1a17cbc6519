# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""time_sync_info through real Ansible, against time servers on loopback only.

The NTP servers are tests/integration/ntp_lab.py's: a Python SNTP server with a chosen
offset / stratum / leap / kiss-o'-death / silence, and real chronyd processes (local
reference or client) with loopback-only configs.  systemd-timesyncd runs for real in
user+mount+network namespaces.  Nothing is sent outside 127.0.0.0/8.
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.integration.helpers import REPO_ROOT, run_module
from tests.integration.ntp_lab import Chronyd, HttpDateServer, NtpServer, TimesyncdNamespace, free_udp_port

MODULE = "time_sync_info"
# quick sampling on loopback; every test names its servers (never the host's configuration)
FAST = {"sample_interval": 0.02, "timeout": 0.5, "samples": 3}


@pytest.fixture(scope="module")
def workdir():
    path = tempfile.mkdtemp(prefix="time-sync-", dir=os.path.join(REPO_ROOT, "build"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def empty_proc(workdir):
    """A process table with nothing in it: no daemon is seen, whatever runs on this machine."""
    path = os.path.join(workdir, "empty-proc")
    os.makedirs(path, exist_ok=True)
    return path


def no_daemon_args(empty_proc, **extra):
    """Arguments that point every daemon probe at paths that do not exist."""
    missing = os.path.join(os.path.dirname(empty_proc), "missing")
    args = dict(FAST, proc_path=empty_proc, chronyc_path=missing + "/chronyc", chrony_socket=missing + "/sock",
                chrony_config=missing + "/chrony.conf", timedatectl_path=missing + "/timedatectl",
                timesyncd_config=missing + "/timesyncd.conf", ntpq_path=missing + "/ntpq",
                ntp_config=missing + "/ntp.conf")
    args.update(extra)
    return args


def codes(result):
    return [f["code"] for f in result["findings"]]


@pytest.fixture(scope="module")
def chrony_server(workdir):
    """A real chronyd serving its own clock (local stratum 8) on 127.0.0.1 and a high port."""
    server = Chronyd(workdir, name="server")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def chrony_client(workdir, chrony_server):
    """A real chronyd synchronised to chrony_server."""
    client = Chronyd(workdir, servers=[("127.0.0.1", chrony_server.port)], serve=False, name="client")
    client.start()
    try:
        client.wait_synchronized()
        yield client
    finally:
        client.stop()


# ------------------------------------------------------------------ SNTP, compare_url, bad input
#
# Ansible's start-up is most of each test's time, so the runs that need only the test
# servers start together (module fixture ``runs``); each test then checks its own run.


class Runs(object):
    """The module runs against the test NTP / HTTP servers, done in parallel, by name."""

    def __init__(self, empty_proc):
        self.empty_proc = empty_proc
        self.servers = {}
        self.jobs = {}
        self.results = {}

    def server(self, name, **settings):
        self.servers[name] = NtpServer(**settings)
        return self.servers[name].address

    def job(self, name, check=False, **args):
        self.jobs[name] = (no_daemon_args(self.empty_proc, **args), check)

    def run(self):
        with ThreadPoolExecutor(max_workers=6) as pool:
            futures = {name: pool.submit(run_module, MODULE, args, check=check)
                       for name, (args, check) in self.jobs.items()}
            self.results = {name: future.result() for name, future in futures.items()}

    def __getitem__(self, name):
        return self.results[name]


@pytest.fixture(scope="module")
def runs(empty_proc):
    r = Runs(empty_proc)
    webs = [HttpDateServer(offset=-3600.0), HttpDateServer(date="not a date")]
    closed = free_udp_port()  # nothing listens there: ICMP port unreachable
    r.closed = "127.0.0.1:%d" % closed
    try:
        r.job("plus90", servers=[r.server("plus90", offset=90.0)])
        r.job("minus3600", servers=[r.server("minus3600", offset=-3600.0)])
        r.job("healthy", servers=[r.server("healthy", offset=0.0, stratum=1, refid=b"GPS\0")])
        half = r.server("half", offset=0.5)
        r.job("loose", servers=[half])
        r.job("strict", servers=[half], max_offset_ms=100)
        r.job("kiss", servers=[r.server("kiss", mode="kiss", kiss_code="DENY")])
        r.job("timeout", samples=2, servers=[r.server("silent", mode="silent"), r.server("good", offset=0.0)])
        r.job("unreachable", servers=[r.servers["silent"].address, r.closed])
        r.job("unusable", samples=1, servers=[
            r.server("alarm", leap=3, stratum=16), r.server("stratum16", stratum=16),
            r.server("spoof", mode="spoof"), r.server("truncated", mode="truncated")])
        r.job("leap", servers=[r.server("leap", leap=1)])
        syntax = r.servers["good"].port
        r.job("syntaxes", samples=1, servers=[r.servers["good"].address, {"host": "127.0.0.1", "port": syntax},
                                              "localhost:%d" % syntax])
        r.job("check_mode", check=True, servers=[r.servers["plus90"].address])
        r.job("no_daemon")
        r.webs = webs
        for web in webs:
            web.__enter__()
        r.job("compare_alone", servers=[], compare_url=webs[0].url)
        r.job("compare_both", servers=[r.servers["good"].address], compare_url=webs[0].url)
        r.job("compare_bad_date", servers=[], compare_url=webs[1].url)
        r.job("compare_refused", servers=[], compare_url="http://127.0.0.1:%d/" % _free_tcp_port())
        for i, (args, needle) in enumerate(BAD_INPUT):
            r.job("bad%d" % i, **args)
        for server in r.servers.values():
            server.start()
        r.run()
        yield r
    finally:
        for server in r.servers.values():
            server.stop()
        for web in webs:
            if web._thread.is_alive():
                web.__exit__()


def _free_tcp_port():
    sock = socket.socket()
    try:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
    finally:
        sock.close()


BAD_INPUT = [
    # the rest of the validation is unit-tested (tests/unit/plugins/module_utils/test_clock.py)
    ({"timeout": 0}, "timeout:"),
    ({"samples": 0}, "samples:"),
    ({"max_offset_ms": -5}, "max_offset_ms:"),
    ({"servers": ["udp://ntp.example"]}, "servers[0]:"),
]


@pytest.mark.parametrize("name, offset", [("plus90", 90.0), ("minus3600", -3600.0)])
def test_skew_detected(runs, name, offset):
    result = runs[name]
    assert not result["failed"], result
    entry = result["servers"][0]
    assert entry["ok"] and entry["error"] is None and entry["stratum"] == 2
    assert abs(entry["offset_ms"] - offset * 1000) < 200, entry
    assert abs(result["offset_ms"] - offset * 1000) < 200
    assert result["skewed"] is True and result["max_offset_ms"] == 1000
    assert result["offset_source"] == "NTP server %s" % runs.servers[name].address
    assert "offset_exceeds_threshold" in codes(result)
    message = [f for f in result["findings"] if f["code"] == "offset_exceeds_threshold"][0]["message"]
    assert ("behind" if offset > 0 else "ahead") in message
    assert entry["samples_sent"] == 3 and entry["samples_ok"] == 3
    assert 0 <= entry["delay_ms"] < 100


def test_healthy_server_not_skewed(runs):
    result = runs["healthy"]
    entry = result["servers"][0]
    assert entry["ok"] and abs(entry["offset_ms"]) < 200
    assert entry["reference_id"] == "GPS" and entry["leap"] == "none" and entry["stratum"] == 1
    assert result["skewed"] is False
    assert "offset_exceeds_threshold" not in codes(result)
    assert "all_servers_unreachable" not in codes(result)


def test_threshold_is_a_parameter(runs):
    assert runs["loose"]["skewed"] is False and runs["strict"]["skewed"] is True
    assert "offset_exceeds_threshold" in codes(runs["strict"])


def test_kiss_of_death_reported(runs):
    result = runs["kiss"]
    entry = result["servers"][0]
    assert entry["ok"] is False and entry["error"] == "kiss_of_death" and entry["kiss_code"] == "DENY"
    assert entry["stratum"] == 0
    assert runs.servers["kiss"].requests == 1, "a client must stop asking after a kiss-o'-death"
    assert "server_kiss_of_death" in codes(result) and "all_servers_unreachable" in codes(result)
    assert result["offset_ms"] is None and result["skewed"] is False


def test_timeout_reported(runs):
    result = runs["timeout"]
    quiet, fine = result["servers"]
    assert quiet["error"] == "timeout" and quiet["samples_sent"] == 2 and quiet["samples_ok"] == 0
    assert "no reply within 0.5 s" in quiet["error_message"]
    assert fine["ok"]
    assert "server_unusable" in codes(result) and "all_servers_unreachable" not in codes(result)
    assert result["offset_source"] == "NTP server %s" % runs.servers["good"].address


def test_all_servers_unreachable(runs):
    result = runs["unreachable"]
    assert [s["error"] for s in result["servers"]] == ["timeout", "network_error"]
    assert "all_servers_unreachable" in codes(result)
    finding = [f for f in result["findings"] if f["code"] == "all_servers_unreachable"][0]
    assert runs.servers["silent"].address in finding["message"] and runs.closed in finding["message"]
    assert result["offset_ms"] is None and result["skewed"] is False


def test_unusable_replies(runs):
    """Four servers that answer but must not be believed."""
    result = runs["unusable"]
    assert [(s["ok"], s["error"]) for s in result["servers"]] == [
        (False, "unsynchronized"), (False, "unsynchronized"), (False, "bogus_origin"), (False, "truncated")]
    assert result["servers"][0]["leap"] == "unsynchronized" and result["servers"][1]["stratum"] == 16
    assert codes(result).count("server_unsynchronized") == 2
    assert "all_servers_unreachable" in codes(result)


def test_leap_pending_from_server(runs):
    result = runs["leap"]
    assert result["servers"][0]["leap"] == "insert_second"
    leap = [f for f in result["findings"] if f["code"] == "leap_pending"]
    assert leap and runs.servers["leap"].address in leap[0]["message"] and "inserted" in leap[0]["message"]


def test_server_syntaxes_reach_the_same_server(runs):
    assert [s["ok"] for s in runs["syntaxes"]["servers"]] == [True, True, True], runs["syntaxes"]["servers"]


def test_check_mode_is_the_same(runs):
    result = runs["check_mode"]
    assert result["changed"] is False and result["skewed"] is True


def test_no_time_daemon(runs):
    result = runs["no_daemon"]
    assert not result["failed"], result
    assert result["daemon"]["name"] == "none" and result["daemon"]["running"] is False
    assert result["daemons"] == [] and result["synchronized"] is False
    assert result["servers"] == [] and result["servers_source"] is None  # no config: nothing to ask
    assert codes(result) == ["no_time_daemon"]
    assert result["offset_ms"] is None and result["skewed"] is False


def test_compare_url_second_opinion(runs):
    alone, both, url = runs["compare_alone"], runs["compare_both"], runs.webs[0].url
    compare = alone["compare"]
    assert compare["ok"] and compare["status"] == 200 and compare["url"] == url
    assert abs(compare["offset_ms"] + 3600000) <= compare["uncertainty_ms"] + 50
    assert alone["offset_source"] == "the Date header of %s" % url
    assert alone["skewed"] is True and "offset_exceeds_threshold" in codes(alone)
    # an NTP server is the better witness; the Date header only disagrees
    assert both["offset_source"] == "NTP server %s" % runs.servers["good"].address and both["skewed"] is False
    assert "compare_disagrees" in codes(both)


def test_compare_url_failures_are_reported(runs):
    bad_date, refused = runs["compare_bad_date"], runs["compare_refused"]
    assert bad_date["compare"]["ok"] is False and "unparsable Date" in bad_date["compare"]["error"]
    assert refused["compare"]["ok"] is False and "refused" in refused["compare"]["error"].lower()
    assert bad_date["offset_ms"] is None and refused["offset_ms"] is None


@pytest.mark.parametrize("index, needle", [(i, needle) for i, (args, needle) in enumerate(BAD_INPUT)])
def test_bad_input_names_the_parameter(runs, index, needle):
    result = runs["bad%d" % index]
    assert result["failed"], result
    assert needle in result["msg"], result["msg"]
    assert "Traceback" not in result.get("module_stderr", "") and "exception" not in result


# ------------------------------------------------------------------ real chronyd


def test_real_chronyd_answers_sntp(chrony_server, empty_proc):
    result = run_module(MODULE, no_daemon_args(empty_proc, servers=["127.0.0.1:%d" % chrony_server.port]))
    entry = result["servers"][0]
    assert entry["ok"], entry
    assert entry["stratum"] == 8  # local stratum 8
    assert entry["reference_id"] == "127.127.1.1"  # chrony's LOCL reference (7F7F0101)
    assert abs(entry["offset_ms"]) < 50 and entry["leap"] == "none"
    assert result["skewed"] is False


def test_chrony_synchronised_client(chrony_client, chrony_server, empty_proc):
    # default servers come from the client's chrony.conf: 127.0.0.1 on the server's port
    result = run_module(MODULE, dict(FAST, chronyc_path=chrony_client.chronyc, chrony_socket=chrony_client.socket,
                                     chrony_config=chrony_client.conf, proc_path=empty_proc))
    daemon = result["daemon"]
    assert daemon["name"] == "chrony" and daemon["running"] and daemon["answered"]
    assert daemon["synchronized"] is True and result["synchronized"] is True
    assert daemon["source"] == "127.0.0.1" and daemon["stratum"] == 9 and daemon["leap"] == "none"
    assert abs(daemon["offset_ms"]) < 50 and daemon["reason"] is None
    assert [s["selected"] for s in daemon["sources"]] == [True]
    assert result["servers_source"] == chrony_client.conf
    assert [s["server"] for s in result["servers"]] == ["127.0.0.1:%d" % chrony_server.port]
    assert result["servers"][0]["ok"] and result["servers"][0]["stratum"] == 8
    assert result["skewed"] is False
    assert codes(result) == []


def test_chrony_local_reference_is_not_synchronised(chrony_server, empty_proc):
    result = run_module(MODULE, dict(FAST, servers=[], chronyc_path=chrony_server.chronyc,
                                     chrony_socket=chrony_server.socket, proc_path=empty_proc))
    daemon = result["daemon"]
    assert daemon["name"] == "chrony" and daemon["running"] and daemon["stratum"] == 8
    assert daemon["synchronized"] is False and "own clock" in daemon["reason"]
    assert "daemon_not_synchronized" in codes(result)


def test_chrony_unsynchronised_client(workdir, empty_proc):
    with NtpServer(mode="silent") as silent:
        with Chronyd(workdir, servers=[("127.0.0.1", silent.port)], serve=False, name="lonely") as lonely:
            result = run_module(MODULE, dict(FAST, servers=[], chronyc_path=lonely.chronyc,
                                             chrony_socket=lonely.socket, proc_path=empty_proc))
    daemon = result["daemon"]
    assert daemon["name"] == "chrony" and daemon["running"]
    assert daemon["synchronized"] is False and daemon["leap"] == "unsynchronized"
    assert daemon["reason"] == "no usable source (1 configured, 0 usable)"
    assert [s["state"] for s in daemon["sources"]] == ["unusable"]
    finding = [f for f in result["findings"] if f["code"] == "daemon_not_synchronized"][0]
    assert finding["message"] == "chrony runs but is not synchronised: no usable source (1 configured, 0 usable)"
    assert result["offset_ms"] is None  # an unsynchronised daemon's offset means nothing


def test_chrony_following_a_wrong_server_reports_the_skew(workdir, empty_proc):
    """chronyd (-x: it never steps the real clock) follows a server 90 s ahead: chronyc says the
    system clock is 90 s slow, and with no server to query that is the module's estimate."""
    with NtpServer(offset=90.0, stratum=3) as ahead:
        with Chronyd(workdir, servers=[("127.0.0.1", ahead.port)], serve=False, name="behind") as behind:
            behind.wait_synchronized()
            result = run_module(MODULE, dict(FAST, servers=[], chronyc_path=behind.chronyc,
                                             chrony_socket=behind.socket, proc_path=empty_proc))
    daemon = result["daemon"]
    assert daemon["synchronized"] is True and daemon["stratum"] == 4
    assert abs(daemon["offset_ms"] - 90000) < 200
    assert result["offset_source"] == "chrony (local daemon)"
    assert result["skewed"] is True and "offset_exceeds_threshold" in codes(result)


def test_chrony_seen_in_the_process_table(chrony_client):
    # the real /proc: our chronyd is there (and whatever else this machine runs)
    result = run_module(MODULE, dict(FAST, servers=[], chronyc_path=chrony_client.chronyc,
                                     chrony_socket=chrony_client.socket))
    chrony = [d for d in result["daemons"] if d["name"] == "chrony"][0]
    assert chrony_client.proc.pid in chrony["pids"]


# ------------------------------------------------------------------ systemd-timesyncd, competing daemons


def _timesyncd_missing():
    missing = TimesyncdNamespace.available()
    return "needs %s" % ", ".join(missing) if missing else None


@pytest.mark.skipif(_timesyncd_missing() is not None, reason=_timesyncd_missing() or "")
def test_systemd_timesyncd_read_through_timedatectl(workdir, tmp_path):
    """The real systemd-timesyncd, synchronised from 127.0.0.1:123 inside its own network
    namespace; the module runs inside those namespaces, where timedatectl reaches it."""
    with TimesyncdNamespace(workdir, offset=0.0) as timesyncd:
        result = run_module(MODULE, dict(FAST, chrony_socket=str(tmp_path / "none.sock")),
                            prefix=timesyncd.nsenter_prefix())
        pids = timesyncd.timesyncd_pids()
    daemon = result["daemon"]
    assert daemon["name"] == "systemd-timesyncd" and daemon["running"] and daemon["answered"]
    assert set(pids) <= set(daemon["pids"])
    assert daemon["source"] == "127.0.0.1" and daemon["stratum"] == 2 and daemon["leap"] == "none"
    assert daemon["synchronized"] is True and abs(daemon["offset_ms"]) < 200
    # default servers: what timesyncd itself uses (SystemNTPServers=127.0.0.1), queried on port 123
    assert result["servers_source"] == "systemd-timesyncd (timedatectl show-timesync)"
    assert [s["server"] for s in result["servers"]] == ["127.0.0.1:123"] and result["servers"][0]["ok"]


@pytest.mark.skipif(_timesyncd_missing() is not None, reason=_timesyncd_missing() or "")
def test_competing_daemons(chrony_client, workdir):
    """Two real daemons at once: the test chronyd and a real systemd-timesyncd (confined to its
    own namespaces, but a process of this PID namespace all the same)."""
    with TimesyncdNamespace(workdir, offset=0.0) as timesyncd:
        result = run_module(MODULE, dict(FAST, servers=[], chronyc_path=chrony_client.chronyc,
                                         chrony_socket=chrony_client.socket))
        pids = timesyncd.timesyncd_pids()
    names = {d["name"]: d for d in result["daemons"]}
    assert "chrony" in names and "systemd-timesyncd" in names
    assert chrony_client.proc.pid in names["chrony"]["pids"]
    assert set(pids) <= set(names["systemd-timesyncd"]["pids"])
    assert result["daemon"]["name"] == "chrony" and result["daemon"]["synchronized"]
    finding = [f for f in result["findings"] if f["code"] == "competing_daemons"][0]
    assert "chrony (pid" in finding["message"] and "systemd-timesyncd (pid" in finding["message"]
