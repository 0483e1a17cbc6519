# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The clock engine: parameter checks, config readers, the estimate and the findings."""

from __future__ import annotations

import pytest

from ansible_collections.tlsops.handshake.plugins.module_utils._clock import check as clock, config, daemons
from ansible_collections.tlsops.handshake.plugins.module_utils._common.findings import FINDINGS
from tests.integration.ntp_lab import HttpDateServer, NtpServer

FAST = {"samples": 1, "sample_interval": 0.0, "timeout": 0.3}


def no_daemons(opts):
    return [daemons.daemon_status(n) for n in daemons.DAEMONS]


def with_daemon(**fields):
    def detect(opts):
        statuses = no_daemons(opts)
        statuses[0].update(dict({"running": True, "answered": True, "pids": [7]}, **fields))
        return statuses
    return detect


# ------------------------------------------------------------------ parameters


@pytest.mark.parametrize("params, needle", [
    ({"timeout": 0}, "timeout: 0 is out of range"),
    ({"timeout": -1}, "timeout:"),
    ({"timeout": 61}, "timeout:"),
    ({"timeout": "soon"}, "timeout: 'soon' is not a number"),
    ({"samples": 0}, "samples: 0 is out of range; use 1 to 16"),
    ({"samples": 17}, "samples:"),
    ({"max_offset_ms": -1}, "max_offset_ms:"),
    ({"sample_interval": -0.1}, "sample_interval:"),
    ({"servers": "pool.example"}, "servers: must be a list"),
    ({"servers": ["udp://ntp.example"]}, "servers[0]: 'udp://ntp.example' is not host"),
    ({"servers": [""]}, "servers[0]:"),
    ({"servers": ["a.example", "b.example:0"]}, "servers[1] port: 0 is out of range"),
    ({"servers": ["h:ntp"]}, "servers[0] port: 'ntp' is not a port number"),
    ({"servers": ["[::1"]}, "servers[0]:"),
    ({"servers": ["[::1]x"]}, "servers[0]:"),
    ({"servers": ["::zz::1"]}, "servers[0]: '::zz::1' is not a valid IPv6 address"),
    ({"servers": ["bad_host!"]}, "servers[0]: 'bad_host!' is not a host name"),
    ({"servers": ["-x.example"]}, "servers[0]:"),
    ({"servers": [{"port": 123}]}, "servers[0].host:"),
    ({"servers": [{"host": "h", "port": 70000}]}, "servers[0].port: 70000 is out of range"),
    ({"servers": [{"host": "h", "port": True}]}, "servers[0].port:"),
    ({"servers": [{"host": "h", "proto": "udp"}]}, "servers[0]: unknown key(s) proto"),
    ({"servers": [42]}, "servers[0]: 42 is neither"),
    ({"servers": ["h"] * 33}, "servers: 33 entries"),
    ({"compare_url": "ftp://x/"}, "compare_url:"),
    ({"compare_url": "http://"}, "compare_url:"),
])
def test_bad_parameters(params, needle):
    with pytest.raises(clock.ClockConfigError) as info:
        clock.validate(params)
    assert needle in str(info.value)


def test_server_syntaxes():
    opts = clock.validate({"servers": ["ntp.example", "ntp.example:1123", "192.0.2.1", "[2001:db8::1]:124",
                                       "2001:db8::2", {"host": "[2001:db8::3]"}, {"host": "h.example", "port": "99"}]})
    assert opts["servers"] == [
        ("ntp.example", 123, "ntp.example:123"), ("ntp.example", 1123, "ntp.example:1123"),
        ("192.0.2.1", 123, "192.0.2.1:123"), ("2001:db8::1", 124, "[2001:db8::1]:124"),
        ("2001:db8::2", 123, "[2001:db8::2]:123"), ("2001:db8::3", 123, "[2001:db8::3]:123"),
        ("h.example", 99, "h.example:99")]


def test_defaults():
    opts = clock.validate({})
    assert opts["samples"] == 3 and opts["timeout"] == 2.0 and opts["max_offset_ms"] == 1000.0
    assert opts["servers"] is None and opts["proc_path"] == "/proc"


# ------------------------------------------------------------------ configuration files


def test_chrony_config_with_includes(tmp_path):
    sources = tmp_path / "sources.d"
    sources.mkdir()
    (sources / "a.sources").write_text("server 192.0.2.5 iburst\npool pool.example maxsources 2\n")
    (sources / "ignored.txt").write_text("server 192.0.2.99\n")
    conf_d = tmp_path / "conf.d"
    conf_d.mkdir()
    (conf_d / "x.conf").write_text("peer 192.0.2.7\n")
    (tmp_path / "extra.conf").write_text("server 192.0.2.8 port 1123 # comment\n")
    main = tmp_path / "chrony.conf"
    main.write_text("# a comment\n! server 192.0.2.66\nserver 192.0.2.4 iburst port 10123 minpoll 4\n"
                    "sourcedir %s\nconfdir %s\ninclude %s/extra.conf\nserver 192.0.2.4 port 10123\n"
                    "driftfile /var/lib/chrony/drift\n" % (sources, conf_d, tmp_path))
    servers, files = config.chrony_servers(str(main))
    assert [(s["host"], s["port"], s["kind"]) for s in servers] == [
        ("192.0.2.4", 10123, "server"), ("192.0.2.5", 123, "server"), ("pool.example", 123, "pool"),
        ("192.0.2.7", 123, "peer"), ("192.0.2.8", 1123, "server")]
    assert str(main) in files and str(sources / "a.sources") in files


def test_timesyncd_config(tmp_path):
    main = tmp_path / "timesyncd.conf"
    main.write_text("[Time]\nNTP=192.0.2.1 192.0.2.2\nFallbackNTP=fallback.example\n[Other]\nNTP=192.0.2.99\n")
    dropins = tmp_path / "timesyncd.conf.d"
    dropins.mkdir()
    (dropins / "10-reset.conf").write_text("[Time]\nNTP=\nNTP=192.0.2.3\n")
    servers, files = config.timesyncd_servers(str(main))
    assert [s["host"] for s in servers] == ["192.0.2.3"] and len(files) == 2
    (dropins / "20-empty.conf").write_text("[Time]\nNTP=\n")
    servers, _files = config.timesyncd_servers(str(main))
    assert [(s["host"], s["kind"]) for s in servers] == [("fallback.example", "fallback")]


def test_ntp_config(tmp_path):
    conf = tmp_path / "ntp.conf"
    conf.write_text("driftfile /x\nserver 127.127.1.0\npool 0.debian.pool.ntp.org iburst\nserver 192.0.2.1 # x\n")
    servers, _files = config.ntp_servers(str(conf))
    assert [s["host"] for s in servers] == ["0.debian.pool.ntp.org", "192.0.2.1"]


def test_configured_servers_prefers_the_running_daemon(tmp_path):
    chrony = tmp_path / "chrony.conf"
    chrony.write_text("server 192.0.2.1\n")
    ntp = tmp_path / "ntp.conf"
    ntp.write_text("server 192.0.2.2\n")
    opts = {"chrony_config": str(chrony), "ntp_config": str(ntp), "timesyncd_config": str(tmp_path / "none")}
    assert config.configured_servers("ntpd", opts)[0][0]["host"] == "192.0.2.2"
    assert config.configured_servers("none", opts)[0][0]["host"] == "192.0.2.1"
    assert config.configured_servers("none", {"chrony_config": str(tmp_path / "x"), "ntp_config": str(tmp_path / "y"),
                                              "timesyncd_config": str(tmp_path / "z")}) == ([], None)


# ------------------------------------------------------------------ the estimate and findings


def test_best_server_is_the_median():
    def r(offset, delay):
        return {"ok": True, "offset_ms": offset, "delay_ms": delay}
    assert clock.best_server([r(5, 1), r(90000, 1), r(7, 1)])["offset_ms"] == 7
    assert clock.best_server([r(5, 9), r(90000, 1)])["offset_ms"] == 90000
    assert clock.best_server([{"ok": False}]) is None


def test_every_finding_code_exists():
    for code in ("no_time_daemon", "daemon_not_synchronized", "offset_exceeds_threshold", "all_servers_unreachable",
                 "competing_daemons", "leap_pending", "server_kiss_of_death", "server_unsynchronized",
                 "server_unusable", "compare_disagrees"):
        assert code in FINDINGS


def test_no_witness_at_all():
    result = clock.check(dict(FAST, servers=[]), detect=no_daemons)
    assert result["offset_ms"] is None and result["skewed"] is False and result["synchronized"] is False
    assert [f["code"] for f in result["findings"]] == ["no_time_daemon"]
    assert result["daemon"]["name"] == "none"


def test_daemon_offset_used_when_no_server():
    result = clock.check(dict(FAST, servers=[]), detect=with_daemon(synchronized=True, offset_ms=-5000.0))
    assert result["offset_ms"] == -5000.0 and result["offset_source"] == "chrony (local daemon)"
    finding = result["findings"][0]
    assert finding["code"] == "offset_exceeds_threshold" and "ahead: it must move back" in finding["message"]
    assert "5000 ms" in finding["message"] and finding["cause"] == "clock_skew"


def test_unsynchronised_daemon_offset_is_not_used():
    result = clock.check(dict(FAST, servers=[]),
                         detect=with_daemon(synchronized=False, offset_ms=-5000.0, reason=": no usable source"))
    assert result["offset_ms"] is None
    assert result["findings"][0]["message"] == "chrony runs but is not synchronised: no usable source"
    assert result["daemon"]["reason"] == "no usable source"


def test_competing_and_leap_from_daemon():
    def detect(opts):
        statuses = with_daemon(synchronized=True, leap="delete_second", offset_ms=1.0)(opts)
        statuses[2].update({"running": True, "pids": [99, 100]})
        return statuses
    result = clock.check(dict(FAST, servers=[]), detect=detect)
    found = {f["code"]: f for f in result["findings"]}
    assert found["competing_daemons"]["message"] == \
        "several time daemons run at once: chrony (pid 7), ntpd (pid 99, 100)"
    assert "a second will be deleted, says chrony" in found["leap_pending"]["message"]
    assert [d["name"] for d in result["daemons"]] == ["chrony", "ntpd"]


def test_servers_from_chrony_config(tmp_path):
    with NtpServer(offset=2.0) as server:
        conf = tmp_path / "chrony.conf"
        conf.write_text("server 127.0.0.1 port %d iburst\n" % server.port)
        result = clock.check(dict(FAST, chrony_config=str(conf)), detect=with_daemon(synchronized=True))
    assert result["servers_source"] == str(conf)
    assert result["servers"][0]["ok"] and abs(result["offset_ms"] - 2000) < 200 and result["skewed"] is True


def test_http_date_offset():
    with HttpDateServer(offset=90.0) as web:
        got = clock.http_date_offset(web.url, timeout=2)
    assert got["ok"] and got["status"] == 200
    assert abs(got["offset_ms"] - 90000) <= got["uncertainty_ms"]
    assert 500 <= got["uncertainty_ms"] < 1500


def test_http_date_missing():
    with HttpDateServer(date="") as web:
        got = clock.http_date_offset(web.url, timeout=2)
    assert got["ok"] is False and got["error"]
