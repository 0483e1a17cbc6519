# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""handshake_log_info's ``format``: nginx's lines as they really arrive (fixtures/logs/formats, see its
README: real journald, syslog, rsyslog and CRI files captured in podman; Docker json-file, docker compose
and kubectl written from their documented formats), cut headers, and the bounds of split lines."""
from __future__ import annotations

import collections
import json
import os
import time
import tracemalloc

import pytest

from ansible_collections.tlsops.handshake.plugins.module_utils._logs import formats, lines
from ansible_collections.tlsops.handshake.plugins.module_utils._logs.read import LogReadError, read_logs

FORMATS_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fixtures", "logs", "formats")


def _fixture(name):
    return os.path.join(FORMATS_DIR, name)


def _causes(result):
    return dict((code, group["count"]) for code, group in result["events"]["by_cause"].items())


def _times(base, factor, extra=None):
    out = collections.Counter()
    for code, count in base.items():
        out[code] += count * factor
    out.update(extra or {})
    return dict(out)


@pytest.fixture(scope="module")
def handshakes():
    """The causes of the run's handshake failures, from nginx's own file (without its failed start)."""
    base = _causes(read_logs(paths=[_fixture("nginx-file.log")], rotated=False))
    assert base.pop("unknown") == 1          # the failed start: cannot load certificate (SSL: error:80000002...)
    assert sum(base.values()) == 7
    return base


# (file, detected format, times each failure is in it, extra events)
# journald holds each line twice (nginx's stderr and its datagrams to /dev/log) and the failed start
# once, in nginx's console form; rsyslog's file adds the datagrams sent to it over UDP; the CRI file has
# the long line conmon split into P parts (a wrong version number towards 127.0.0.1:8081).
REAL = [
    ("journal-json.log", "journal_json", 2, {"unknown": 1}),
    ("journal-short.log", "syslog", 2, {"unknown": 1}),
    ("journal-short-iso.log", "syslog", 2, {"unknown": 1}),
    ("journal-short-precise.log", "syslog", 2, {"unknown": 1}),
    ("journal-short-iso-precise.log", "syslog", 2, {"unknown": 1}),
    ("rsyslog-traditional.log", "syslog", 2, {"unknown": 1}),
    ("rsyslog-rfc3339.log", "syslog", 3, {"unknown": 1}),
    ("nginx-syslog-datagrams.log", "syslog", 1, {}),
    ("cri-k8s-file.log", "cri", 1, {"not_tls": 1}),
]
DOCUMENTED = [
    ("docker-json-file.doc.log", "docker_json", 1, {"unknown": 1, "not_tls": 1}),
    ("docker-compose.doc.log", "docker_compose", 1, {"unknown": 1}),
    ("kubectl.doc.log", "kubectl", 1, {"unknown": 1}),
]
EXPLICIT = {"journal-json.log": "journal_json", "journal-short.log": "journalctl", "rsyslog-traditional.log": "syslog",
            "nginx-syslog-datagrams.log": "syslog", "cri-k8s-file.log": "cri", "docker-json-file.doc.log": "docker_json",
            "docker-compose.doc.log": "docker_compose", "kubectl.doc.log": "kubectl"}


@pytest.mark.parametrize("name, detected, factor, extra", REAL + DOCUMENTED)
def test_every_format_gives_the_same_events_as_nginx_own_file(handshakes, name, detected, factor, extra):
    res = read_logs(paths=[_fixture(name)], rotated=False)
    assert _causes(res) == _times(handshakes, factor, extra)
    assert res["unparsed"]["count"] == 0, res["unparsed"]
    assert list(res["formats"]) == [detected]
    assert res["events"]["without_time"] == 0
    # the listener's failures keep their client, the proxy's their upstream
    assert res["clients"][0]["address"] == "127.0.0.1"
    assert "127.0.0.1:8444" in res["events"]["by_upstream"]


@pytest.mark.parametrize("name", sorted(EXPLICIT))
def test_an_explicit_format_reads_its_file_like_auto(name):
    auto = read_logs(paths=[_fixture(name)], rotated=False)
    explicit = read_logs(paths=[_fixture(name)], rotated=False, format=EXPLICIT[name])
    assert _causes(explicit) == _causes(auto) and explicit["unparsed"] == auto["unparsed"]


@pytest.mark.parametrize("name, wrong", [("cri-k8s-file.log", "nginx"), ("nginx-file.log", "cri"),
                                         ("docker-json-file.doc.log", "journal_json"),
                                         ("docker-compose.doc.log", "kubectl")])
def test_an_explicit_format_does_not_guess_and_counts_other_lines_as_unparsed(name, wrong):
    res = read_logs(paths=[_fixture(name)], rotated=False, format=wrong)
    assert res["events"]["total"] == 0
    assert res["unparsed"]["count"] >= 7 and res["formats"] == {}


def test_cut_headers_are_still_events_without_a_time(handshakes):
    res = read_logs(paths=[_fixture("cut-headers.doc.log")], rotated=False)
    assert _causes(res) == _times(handshakes, 1, {"unknown": 1})
    assert res["events"]["without_time"] == res["events"]["total"] == 8
    for group in res["events"]["by_cause"].values():
        assert group["first_seen"] is None and group["last_seen"] is None
    assert res["unparsed"]["count"] == 0


@pytest.mark.parametrize("line, level, message", [
    ("[crit] 619#0: *3 SSL_do_handshake() failed (SSL: error:0A000410:SSL routines::sslv3 alert handshake "
     "failure:SSL alert number 40) while SSL handshaking to upstream", "crit", "SSL_do_handshake() failed"),
    ("*10 SSL_do_handshake() failed (SSL: error:0A00010B:SSL routines::wrong version number) while SSL handshaking "
     "to upstream, client: 1.2.3.4", None, "SSL_do_handshake() failed"),
    ("upstream SSL certificate verify error: (20:unable to get local issuer certificate) while SSL handshaking to "
     "upstream", None, "upstream SSL certificate verify error"),
    ("nginx: [emerg] cannot load certificate \"/x.crt\": BIO_new_file() failed (SSL: error:80000002:system "
     "library::No such file or directory)", "emerg", "cannot load certificate"),
])
def test_parse_lines_without_date_pid_or_connection(line, level, message):
    stamp, got_level, got_message, _client, _upstream = lines.parse(line)
    assert stamp is None and got_level == level and got_message.startswith(message)


@pytest.mark.parametrize("line", ["openssl: SSL handshake went wrong", "SSL is great", "[error] SSL",
                                  "Dec  6 20:33:00 host sshd[12]: SSL? no",
                                  "{\"log\": 5, \"SSL\": 1}"])
def test_lines_that_are_not_nginx_are_unparsed(tmp_path, line):
    path = tmp_path / "x.log"
    path.write_text(line + "\n")
    res = read_logs(paths=[str(path)], rotated=False)
    assert res["events"]["total"] == 0 and res["unparsed"]["count"] == 1


def test_prefixes_stack_and_times_come_from_the_wrapper_when_nginx_gave_none(tmp_path):
    message = ("SSL_do_handshake() failed (SSL: error:0A00010B:SSL routines::wrong version number) while SSL "
               "handshaking to upstream, client: 10.1.1.1, server: s, request: \"GET / HTTP/1.1\", "
               "upstream: \"https://10.0.0.7:443/\", host: \"s\"")
    utc = "2024-01-01T12:00:00.000000000Z"
    local = time.strftime(lines.TIME_FORMAT, time.localtime(1704110400))
    rows = [
        "[pod/p-1/nginx] %s [error] 7#7: *1 %s" % (utc, message),                # kubectl --prefix --timestamps
        "nginx-1  | %s [error] 7#7: *2 %s" % (utc, message),                      # compose --timestamps
        "<187>1 %s host nginx - - - [error] 7#7: *3 %s" % (utc, message),         # RFC 5424
        "<187>Jan  1 12:00:00 nginx: [error] 7#7: *4 %s" % message,               # nginx's nohostname datagram
        json.dumps({"log": "[error] 7#7: *5 %s\n" % message, "stream": "stderr", "time": utc}),
        "%s stderr F [error] 7#7: *6 %s" % (utc, message),                       # CRI
    ]
    path = tmp_path / "mixed.log"
    path.write_text("\n".join(rows) + "\n")
    os.utime(str(path), (1704110400 + 3600, 1704110400 + 3600))
    res = read_logs(paths=[str(path)], rotated=False)
    group = res["events"]["by_cause"]["not_tls"]
    assert group["count"] == 6 and res["unparsed"]["count"] == 0
    # RFC 3339 UTC times become the host's local time; the syslog time is local already, its year inferred
    assert group["first_seen"] == min(lines.iso(local), "2024-01-01T12:00:00")
    assert res["formats"] == {"kubectl": 1, "docker_compose": 1, "syslog": 2, "docker_json": 1, "cri": 1}


def test_a_syslog_time_without_a_year_is_put_before_the_reference():
    december = time.mktime((2026, 12, 31, 23, 0, 0, 0, 0, -1))
    clock = formats.Clock(reference=december + 86400 * 5)      # read on 5 January 2027
    assert clock.bsd("Dec", "31", "23:00:00") == "2026/12/31 23:00:00"
    assert clock.bsd("Jan", "5", "08:00:00") == "2027/01/05 08:00:00"
    assert clock.bsd("Jan", "6", "08:00:00") == "2027/01/06 08:00:00"     # a clock a day ahead is still this year
    assert clock.bsd("Feb", "1", "08:00:00") == "2026/02/01 08:00:00"     # a month ahead: last year's


def test_journal_times_are_the_realtime_timestamp_in_local_time():
    res = read_logs(paths=[_fixture("journal-json.log")], rotated=False)
    with open(_fixture("journal-json.log")) as fh:
        entries = [json.loads(line) for line in fh]
    console = [e for e in entries if isinstance(e["MESSAGE"], str) and e["MESSAGE"].startswith("nginx: [emerg]")]
    assert len(console) == 1           # nginx's console form: no date of its own
    when = time.strftime(lines.TIME_FORMAT, time.localtime(int(console[0]["__REALTIME_TIMESTAMP"]) / 1e6))
    assert res["events"]["by_cause"]["unknown"]["first_seen"] == lines.iso(when)


def test_cri_partial_lines_are_joined():
    res = read_logs(paths=[_fixture("cri-k8s-file.log")], rotated=False, samples=10)
    joined = [s for s in res["events"]["by_cause"]["not_tls"]["samples"] if "aaaa" in s]
    assert len(joined) == 1 and joined[0].startswith("2024/01/01 00:00:00 [error] 7#7: *1 SSL_do_handshake()")
    assert res["events"]["by_upstream"]["127.0.0.1:8081"]["count"] == 2


@pytest.mark.parametrize("kind", ["cri", "docker_json"])
def test_a_split_line_that_never_ends_is_cut_and_memory_stays_bounded(tmp_path, kind):
    part = "x" * 8000
    if kind == "cri":
        row = "2024-01-01T00:00:00.000000000Z stderr P %s\n" % part
        end = "2024-01-01T00:00:01.000000000Z stderr F SSL_do_handshake() failed tail\n"
    else:
        row = json.dumps({"log": part, "stream": "stderr", "time": "2024-01-01T00:00:00Z"}) + "\n"
        end = json.dumps({"log": "SSL tail\n", "stream": "stderr", "time": "2024-01-01T00:00:01Z"}) + "\n"
    path = tmp_path / "endless.log"
    with open(str(path), "w") as fh:
        start = "2024/01/01 00:00:00 [error] 1#1: *1 SSL_do_handshake() failed (SSL: "
        fh.write("2024-01-01T00:00:00.000000000Z stderr P " + start if kind == "cri" else
                 json.dumps({"log": start, "stream": "stderr", "time": "2024-01-01T00:00:00Z"}) + "\n")
        if kind == "cri":
            fh.write("\n")
        for _row in range(2500):              # 20 MB of one line that goes on
            fh.write(row)
        fh.write(end)
    tracemalloc.start()
    try:
        res = read_logs(paths=[str(path)], rotated=False)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 * formats.MAX_JOINED * 4 + (2 << 20), peak
    assert res["lines_read"] == 2502
    # the joined line, cut at MAX_JOINED, is an nginx line with SSL wording: an event of cause unknown
    assert res["events"]["total"] == 1 and list(res["events"]["by_cause"]) == ["unknown"]


def test_a_split_line_left_open_at_the_end_of_the_file_still_counts(tmp_path):
    path = tmp_path / "open.log"
    path.write_text("2024-01-01T00:00:00.000000000Z stderr P 2024/01/01 00:00:00 [error] 1#1: *1 SSL_do_handshake() "
                    "failed (SSL: error:0A00010B:SSL routines::wrong version number) while SSL handshaking to upstream, "
                    "client: 1.2.3.4, upstream: \"https://10.0.0.9:443/\"\n")
    res = read_logs(paths=[str(path)], rotated=False)
    assert _causes(res) == {"not_tls": 1}


def test_since_reads_the_time_of_every_format(tmp_path):
    res = read_logs(paths=[_fixture("cri-k8s-file.log")], rotated=False, since="2026-12-07T00:59:10Z")
    everything = read_logs(paths=[_fixture("cri-k8s-file.log")], rotated=False)
    assert 0 < res["lines_before_since"] < everything["lines_read"]
    assert 0 < res["events"]["total"] < everything["events"]["total"]


def test_a_bad_format_names_the_option():
    with pytest.raises(LogReadError) as info:
        read_logs(paths=[_fixture("nginx-file.log")], format="docker")
    assert str(info.value).startswith("format: 'docker' is not one of auto, nginx, docker_compose")
