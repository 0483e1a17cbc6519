# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The log reader's engine on real lines of the lab's nginx (fixtures/logs, see its README), on
OpenSSL 1.1.1 and 3.2+ spellings, rotated and compressed files, ``since``, and garbage."""
from __future__ import annotations

import bz2
import gzip
import lzma
import os
import random
import re
import time

import pytest

from ansible_collections.tlsops.handshake.plugins.module_utils._common import causes
from ansible_collections.tlsops.handshake.plugins.module_utils._logs import read as logs
from ansible_collections.tlsops.handshake.plugins.module_utils._logs.read import LogReadError, read_logs
from tests.lab import scenarios as lab_scenarios

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fixtures", "logs")
PROXY = os.path.join(FIXTURES, "proxy-nginx-1.22-openssl-3.0.log")
LISTENER = os.path.join(FIXTURES, "listener-nginx-1.22-openssl-3.0.log")
DNS = os.path.join(FIXTURES, "emerg-dns-nginx-1.22.log")
OPENSSL_111 = os.path.join(FIXTURES, "openssl-1.1.1-written.log")
OPENSSL_32 = os.path.join(FIXTURES, "openssl-3.2-written.log")
SPECS = dict((s["name"], s) for s in lab_scenarios.SPECS)


def _scenario_lines(path):
    """{upstream host:port: (scenario name, line)} of a proxy log: GET /NAME names the scenario."""
    out = {}
    with open(path) as fh:
        for line in fh:
            name = re.search(r'request: "GET /(\w+) HTTP', line).group(1)
            port = re.search(r'upstream: "https://127\.0\.0\.1:(\d+)/"', line).group(1)
            out.setdefault("127.0.0.1:" + port, []).append((name, line))
    return out


def _expected_in(group, cause):
    """The scenario's cause is the group's, or one of the candidates the group says it may be."""
    return cause == group["cause"] or cause in group.get("candidates", ())


# --------------------------------------------------------------------------- real lines of the lab
def test_every_real_proxy_line_is_classified_into_its_scenarios_cause():
    res = read_logs(paths=[PROXY], samples=3)
    assert res["unparsed"]["count"] == 0, res["unparsed"]
    assert res["lines_read"] == 32 and res["events"]["total"] == 32
    by_cause = res["events"]["by_cause"]
    for key, seen in _scenario_lines(PROXY).items():
        upstream = res["events"]["by_upstream"][key]
        assert upstream["count"] == len(seen)
        (cause, count), = upstream["causes"].items()
        group = dict(by_cause[cause], cause=cause)
        for name, _text in seen:
            assert _expected_in(group, SPECS[name]["expected_cause"]), (name, cause, group.get("candidates"))
        assert key in group["upstreams"]
    assert res["events"]["by_side"] == {"upstream": res["events"]["by_side"]["upstream"]}
    assert res["clients"] == []


def test_the_fixture_holds_the_line_the_lab_table_says_nginx_logs():
    """Every scenario captured (31 at capture time, plus DNS) is still logged as the lab's table says;
    scenarios added to the lab later are checked live by tests/integration/test_handshake_log_info.py."""
    with open(PROXY) as fh:
        proxy_log = fh.read()
    with open(DNS) as fh:
        dns_log = fh.read()
    captured = set(name for seen in _scenario_lines(PROXY).values() for name, _text in seen)
    assert len(captured) == 31
    for name in sorted(captured) + ["dns_failure"]:
        spec = SPECS[name]
        texts = [spec["nginx_log"][1]] + list(spec["nginx_log"][2] if len(spec["nginx_log"]) > 2 else [])
        log = dns_log if spec.get("isolated_dns") else proxy_log
        assert any(t in log for t in texts), name


def test_counts_per_cause_match_the_lab_table():
    res = read_logs(paths=[PROXY])
    expected = {}
    with open(PROXY) as fh:
        for line in fh:
            message = line.split(": *", 1)[1].split(", client:")[0].split(" ", 1)[1]
            expected.setdefault(logs.lines.classify(message)[0], 0)
            expected[logs.lines.classify(message)[0]] += 1
    assert dict((c, g["count"]) for c, g in res["events"]["by_cause"].items()) == expected
    by_cause = res["events"]["by_cause"]
    assert by_cause["not_tls"]["count"] == 5          # plain_http, banner x2, garbage, giant_record
    assert by_cause["cipher_mismatch"]["count"] == 4  # alert 40: cipher, group, sigalg, mtls12
    assert by_cause["cipher_mismatch"]["ambiguous"] == 4
    assert by_cause["cipher_mismatch"]["candidates"] == list(causes.HANDSHAKE_FAILURE_CANDIDATES)
    assert "tls_probe" in by_cause["cipher_mismatch"]["note"]
    assert by_cause["cert_chain_incomplete"]["verify_codes"] == {"20": 2, "21": 1}
    assert "verify error 20" in by_cause["cert_chain_incomplete"]["note"]
    assert by_cause["handshake_timeout"]["count"] == 2 and by_cause["connection_reset"]["count"] == 2
    assert by_cause["client_cert_required"]["levels"] == {"crit": 1}


def test_groups_carry_times_samples_title_and_a_rendered_fix():
    res = read_logs(paths=[PROXY], samples=2)
    by_cause = res["events"]["by_cause"]
    expired = by_cause["cert_expired"]
    assert expired["title"] == causes.title("cert_expired")
    assert expired["first_seen"] == expired["last_seen"] == "2026-12-01T21:32:49"
    (upstream,) = expired["upstreams"]
    assert upstream in expired["fix"][0] and "<host>" not in expired["fix"][0]
    assert expired["verify_codes"] == {"10": 1}
    assert 'does not match "mismatch.lab.test"' in by_cause["hostname_mismatch"]["samples"][0]
    assert "mismatch.lab.test" in " ".join(by_cause["hostname_mismatch"]["fix"])
    # several upstreams in one group: no host is guessed
    assert "<port>" in by_cause["not_tls"]["fix"][0]
    for group in list(by_cause.values()) + list(res["events"]["by_upstream"].values()):
        assert 1 <= len(group["samples"]) <= 2
        assert group["first_seen"] <= group["last_seen"]
    assert by_cause["handshake_timeout"]["first_seen"] == "2026-12-01T21:32:52"
    side = res["events"]["by_side"]["upstream"]
    assert side["count"] == 32 and sum(side["causes"].values()) == 32


def test_real_listener_lines_are_client_side_with_their_clients():
    res = read_logs(paths=[LISTENER], top_clients=3)
    sides = res["events"]["by_side"]
    assert list(sides) == ["client"] and sides["client"]["count"] == res["events"]["total"] == 12
    assert sides["client"]["causes"]["protocol_mismatch"] == 3        # TLSv1.3-only/1.2-only upstreams, s_client -tls1_1
    assert res["events"]["by_upstream"] == {}
    top = res["clients"]
    assert [c["address"] for c in top] == ["127.0.0.1", "127.0.0.2", "127.0.0.3"]
    assert top[0]["count"] == 9 and top[1]["causes"] == {"not_tls": 1}
    assert res["clients_approximate"] is False
    for group in res["events"]["by_cause"].values():
        assert group["sides"] == {"client": group["count"]}
        assert group["fix"] == [causes.CLIENT_SIDE_FIX]
        assert "candidates" not in group
    # garbage after a TLS record header: a client that breaks the protocol
    assert sides["client"]["causes"]["protocol_violation"] == 1
    assert res["unparsed"]["count"] == 0
    # the binary request lines ("client sent invalid method") are read, not mistaken for TLS failures
    assert res["lines_read"] == 30


def test_a_real_dns_failure_line():
    res = read_logs(paths=[DNS])
    group = res["events"]["by_cause"]["dns_failure"]
    assert group["count"] == 1 and group["levels"] == {"emerg": 1}
    assert list(res["events"]["by_upstream"]) == ["upstream.lab.invalid"]
    assert "upstream.lab.invalid" in group["fix"][0]


# --------------------------------------------------------------------------- other OpenSSL spellings
def test_openssl_1_1_1_spellings():
    res = read_logs(paths=[OPENSSL_111])
    up = dict((k, list(v["causes"])) for k, v in res["events"]["by_upstream"].items())
    assert up == {
        "10.0.0.7:80": ["not_tls"], "10.0.0.8:443": ["sni_required"], "10.0.0.9:443": ["cipher_mismatch"],
        "10.0.0.10:443": ["protocol_mismatch"], "10.0.0.11:443": ["dh_too_small"],
        "10.0.0.12:443": ["key_share_violation"], "10.0.0.13:443": ["client_cert_required"],
        "10.0.0.14:443": ["client_cert_required"], "10.0.0.15:443": ["cert_untrusted"],
        "10.0.0.16:443": ["cert_chain_incomplete"]}
    by_cause = res["events"]["by_cause"]
    assert by_cause["cipher_mismatch"]["sides"] == {"upstream": 2, "client": 1}
    assert by_cause["cipher_mismatch"]["ambiguous"] == 2          # the spelled and the numeric-only alert 40
    assert by_cause["protocol_mismatch"]["sides"] == {"upstream": 2, "client": 2}
    assert by_cause["not_tls"]["candidates"] == ["not_tls", "plain_http"]
    assert res["events"]["by_upstream"]["10.0.0.7:80"]["first_seen"] == "2026-11-30T10:00:01"
    assert [c["address"] for c in res["clients"]] == ["203.0.113.5", "192.0.2.10", "192.0.2.9"]
    # a reason nothing names is an event of cause unknown carrying OpenSSL's words, not an unparsed line
    assert res["unparsed"]["count"] == 0
    assert by_cause["unknown"]["count"] == 1 and by_cause["unknown"]["sides"] == {"client": 1}
    assert by_cause["unknown"]["reasons"] == {"decryption failed or bad record mac": 1}


def test_openssl_3_2_spellings():
    res = read_logs(paths=[OPENSSL_32])
    up = dict((k, v["causes"]) for k, v in res["events"]["by_upstream"].items())
    assert up == {"10.1.0.7:443": {"cipher_mismatch": 2}, "10.1.0.8:443": {"client_cert_required": 2},
                  "10.1.0.9:443": {"key_share_violation": 1}, "10.1.0.10:22": {"not_tls": 1}}
    assert res["events"]["by_cause"]["cipher_mismatch"]["ambiguous"] == 2
    assert res["clients"][0]["address"] == "203.0.113.77"
    assert res["unparsed"]["count"] == 0


# --------------------------------------------------------------------------- files
def _line(stamp, port=443, cause="wrong version number", host="10.0.0.7"):
    return ('%s [error] 1#1: *1 SSL_do_handshake() failed (SSL: error:0A00010B:SSL routines::%s) while SSL '
            'handshaking to upstream, client: 198.51.100.1, server: s, request: "GET / HTTP/1.1", '
            'upstream: "https://%s:%d/", host: "s"\n' % (stamp, cause, host, port))


def _write(path, text, opener=open):
    with opener(path, "wb") as fh:
        fh.write(text.encode() if isinstance(text, str) else text)
    return str(path)


def test_rotated_and_compressed_files_are_read_oldest_first(tmp_path):
    base = tmp_path / "error.log"
    _write(base, _line("2026/12/01 10:00:00"))
    _write(str(base) + ".1", _line("2026/11/30 10:00:00") * 2)
    _write(str(base) + ".2.gz", _line("2026/11/29 10:00:00") * 3, gzip.open)
    _write(str(base) + "-20261128.bz2", _line("2026/11/28 10:00:00") * 4, bz2.open)
    _write(str(base) + "-20261127.xz", _line("2026/11/27 10:00:00") * 5, lzma.open)
    _write(tmp_path / "other.log", _line("2026/12/01 10:00:00"))      # not a sibling: not read
    for age, name in enumerate(["error.log", "error.log.1", "error.log.2.gz", "error.log-20261128.bz2",
                                "error.log-20261127.xz"]):
        os.utime(str(tmp_path / name), (time.time() - age * 86400,) * 2)
    res = read_logs(paths=[str(base)])
    assert [os.path.basename(f["path"]) for f in res["files"]] == [
        "error.log-20261127.xz", "error.log-20261128.bz2", "error.log.2.gz", "error.log.1", "error.log"]
    assert [f["compression"] for f in res["files"]] == ["xz", "bzip2", "gzip", None, None]
    assert [f["lines"] for f in res["files"]] == [5, 4, 3, 2, 1]
    assert res["lines_read"] == 15 and res["events"]["total"] == 15
    assert res["bytes_read"] == sum(f["bytes"] for f in res["files"]) == 15 * len(_line("2026/12/01 10:00:00"))
    group = res["events"]["by_cause"]["not_tls"]
    assert (group["first_seen"], group["last_seen"]) == ("2026-11-27T10:00:00", "2026-12-01T10:00:00")
    assert res["missing"] == [] and res["warnings"] == [] and res["paths_from"] == "paths"
    assert read_logs(paths=[str(base)], rotated=False)["lines_read"] == 1


def test_compression_is_recognised_by_content_not_name(tmp_path):
    plain_named_gz = _write(tmp_path / "error.log.3.gz", _line("2026/12/01 10:00:00"))
    gz_named_plain = _write(tmp_path / "error.log.4", _line("2026/12/01 10:00:00"), gzip.open)
    res = read_logs(paths=[plain_named_gz, gz_named_plain], rotated=False)
    assert [f["compression"] for f in res["files"]] in ([None, "gzip"], ["gzip", None])
    assert res["events"]["total"] == 2


def test_a_truncated_archive_is_reported_and_what_was_read_counts(tmp_path):
    data = gzip.compress((_line("2026/12/01 10:00:00") * 5000).encode())
    broken = _write(tmp_path / "error.log.2.gz", data[:len(data) // 2])
    good = _write(tmp_path / "error.log", _line("2026/12/01 11:00:00"))
    res = read_logs(paths=[good, broken], rotated=False)
    entry = [f for f in res["files"] if f["path"] == broken][0]
    assert "error" in entry and 0 < entry["lines"] < 5000
    assert res["lines_read"] == entry["lines"] + 1
    assert any("error.log.2.gz" in w for w in res["warnings"])


def test_globs_missing_paths_and_missing_rotations(tmp_path):
    _write(tmp_path / "a.error.log", _line("2026/12/01 10:00:00"))
    _write(tmp_path / "b.error.log", _line("2026/12/01 10:00:00", port=8443))
    res = read_logs(paths=[str(tmp_path / "*.error.log"), str(tmp_path / "gone.log")])
    assert res["lines_read"] == 2 and sorted(res["events"]["by_upstream"]) == ["10.0.0.7:443", "10.0.0.7:8443"]
    assert res["missing"] == [str(tmp_path / "gone.log")]
    assert res["warnings"] == ["paths: %s does not exist" % (tmp_path / "gone.log")]


def test_default_paths_come_from_the_nginx_configuration(tmp_path):
    conf = tmp_path / "nginx.conf"
    (tmp_path / "conf.d").mkdir()
    (tmp_path / "logs").mkdir()
    _write(conf, "# main\nuser www-data;\nerror_log logs/main-error.log warn;  # relative: to the prefix\n"
                 "error_log syslog:server=127.0.0.1 info;\nerror_log stderr;\n"
                 "events { worker_connections 8; }\nhttp {\n  include conf.d/*.conf;\n"
                 "  include /nonexistent/*.conf;\n  include missing.conf;\n}\n")
    _write(tmp_path / "conf.d" / "a.conf",
           'server {\n  listen 443 ssl;\n  error_log "%s" info;\n  location / { error_log memory:32m debug; '
           "return 200 '{;}#'; }\n}\n" % (tmp_path / "logs" / "site error.log"))
    _write(tmp_path / "conf.d" / "loop.conf", "include conf.d/loop.conf;\n")
    _write(tmp_path / "logs" / "main-error.log", _line("2026/12/01 10:00:00"))
    _write(tmp_path / "logs" / "site error.log", _line("2026/12/01 10:00:00") * 2)
    _write(tmp_path / "logs" / "site error.log.1", _line("2026/11/30 10:00:00"))
    res = read_logs(config=str(conf), prefix=str(tmp_path))
    assert res["paths_from"] == "config"
    assert sorted(os.path.basename(f["path"]) for f in res["files"]) == [
        "main-error.log", "site error.log", "site error.log.1"]
    assert res["lines_read"] == 4 and res["warnings"] == []


def test_config_without_error_log_falls_back(tmp_path, monkeypatch):
    fallback = _write(tmp_path / "error.log", _line("2026/12/01 10:00:00"))
    monkeypatch.setattr(logs.files, "FALLBACK_LOG", fallback)
    conf = _write(tmp_path / "nginx.conf", "events {}\nhttp { server { listen 80; } }\n")
    res = read_logs(config=conf)
    assert res["paths_from"] == "fallback" and res["lines_read"] == 1
    monkeypatch.setattr(logs, "DEFAULT_CONFIG", str(tmp_path / "no-nginx.conf"))
    res = read_logs()
    assert res["paths_from"] == "fallback" and res["lines_read"] == 1


# --------------------------------------------------------------------------- since
def test_since_keeps_only_later_lines(tmp_path):
    path = _write(tmp_path / "error.log", "".join(_line("2026/12/01 %02d:00:00" % h, port=8000 + h)
                                                  for h in range(10, 20)) + "\x00garbage SSL line\n")
    res = read_logs(paths=[path], since="2026-12-01T15:00:00")
    assert res["since"] == "2026-12-01T15:00:00"
    assert res["events"]["total"] == 5 and res["lines_before_since"] == 5 and res["lines_read"] == 11
    assert sorted(res["events"]["by_upstream"]) == ["10.0.0.7:%d" % p for p in range(8015, 8020)]
    assert res["events"]["by_cause"]["not_tls"]["first_seen"] == "2026-12-01T15:00:00"
    assert res["unparsed"]["count"] == 1             # the garbage line is as recent as the one before it
    now = time.mktime((2026, 12, 1, 20, 0, 0, 0, 0, -1))
    res = read_logs(paths=[path], since="2h", now=now)
    assert res["events"]["total"] == 2 and res["since"] == "2026-12-01T18:00:00"


def test_since_skips_files_not_modified_since_without_reading_them(tmp_path):
    old = _write(tmp_path / "error.log.1", _line("2026/11/01 10:00:00") * 3)
    os.utime(old, (time.time() - 30 * 86400,) * 2)
    new = _write(tmp_path / "error.log", _line(time.strftime("%Y/%m/%d %H:%M:%S")))
    res = read_logs(paths=[new], since="7d")
    skipped = [f for f in res["files"] if f["path"] == old][0]
    assert skipped["skipped"].startswith("not modified since") and skipped["lines"] == 0
    assert res["lines_read"] == 1 and res["events"]["total"] == 1


# --------------------------------------------------------------------------- garbage
def test_garbage_and_binary_lines_are_counted_and_never_crash(tmp_path):
    rnd = random.Random(1)
    chunks = [_line("2026/12/01 10:00:00").encode()]
    for _line_number in range(200):
        garbage = bytes(rnd.randrange(256) for _byte in range(rnd.randrange(1, 300)))
        chunks.append(garbage.replace(b"\n", b"") + b"\n")
    chunks += [
        b"\x00" * 100 + b"\n",
        b"\xff\xfe SSL_do_handshake() failed \xc3\x28 broken utf-8\n",            # SSL wording, no nginx format
        b"2026/12/01 10:00:01 [error] 1#1: *2 SSL_do_handshake() failed (SSL: \x1b[31mnonsense\x00) while SSL "
        b"handshaking to upstream, upstream: \"https://10.0.0.9:443/\"\n",          # nginx format, no known reason
        b"2026/12/01 10:00:02 [error] 1#1: *3 " + b"SSL " * 40000 + b"\n",           # 160 kB: longer than MAX_LINE
        b"2026/12/01 10:00:03 [debug] 1#1: *4 SSL_do_handshake: -1\n",                # debug: not classified
        b"\r\n", b"\n",
        b"2026/12/01 10:00:04 [error] 1#1: *5 upstream: \"\n",
        b"2026/12/01 10:00:05 [crit] 1#1: *6 SSL_do_handshake() failed (SSL: error:0A00006C:SSL routines::bad key "
        b"share) while SSL handshaking to upstream, client: 1.2.3.4, upstream: \"https://10.0.0.8:443/",  # no EOL
    ]
    path = _write(tmp_path / "error.log", b"".join(chunks))
    res = read_logs(paths=[path], samples=5)
    assert res["lines_read"] == len(chunks)
    assert res["bytes_read"] == os.path.getsize(path)
    # nginx lines with SSL wording and no known reason ("nonsense", "SSL SSL ...") are events of cause
    # unknown; lines that are not nginx's at all are unparsed
    assert res["events"]["total"] == 4
    assert sorted(res["events"]["by_cause"]) == ["key_share_violation", "not_tls", "unknown"]
    unknown = res["events"]["by_cause"]["unknown"]
    assert unknown["count"] == 2 and any("nonsense" in reason for reason in unknown["reasons"])
    assert res["unparsed"]["count"] >= 1
    for text in res["unparsed"]["samples"] + unknown["samples"] + list(unknown["reasons"]):
        assert len(text) <= 1003 and not re.search(u"[\x00-\x08\x0b-\x1f]", text)
    assert any("broken utf-8" in s for s in res["unparsed"]["samples"])


def test_an_empty_file_and_a_file_of_one_endless_line(tmp_path):
    empty = _write(tmp_path / "empty.log", b"")
    endless = _write(tmp_path / "endless.log", b"SSL" * 400000)
    res = read_logs(paths=[empty, endless], rotated=False)
    assert res["lines_read"] == 1 and res["bytes_read"] == 1200000 and res["unparsed"]["count"] == 1


# --------------------------------------------------------------------------- bounds
def test_samples_are_distinct_and_bounded(tmp_path):
    path = _write(tmp_path / "error.log", "".join(_line("2026/12/01 10:00:%02d" % s, port=9000 + s % 4)
                                                  for s in range(40)))
    group = read_logs(paths=[path], samples=3)["events"]["by_cause"]["not_tls"]
    assert len(group["samples"]) == 3 and len(set(re.sub(r"^\S+ \S+", "", s) for s in group["samples"])) == 3
    res = read_logs(paths=[path], samples=0)
    assert res["events"]["by_cause"]["not_tls"]["samples"] == [] and res["events"]["total"] == 40


def test_folding_the_pending_table_changes_nothing(tmp_path, monkeypatch):
    text = "".join(_line("2026/12/01 10:%02d:00" % (s % 60), port=9000 + s % 7) for s in range(300)).encode()
    with open(LISTENER, "rb") as listener, open(PROXY, "rb") as proxy:
        path = _write(tmp_path / "error.log", text + listener.read() + proxy.read())
    whole = read_logs(paths=[path])
    monkeypatch.setattr(logs, "MAX_PENDING", 2)
    assert read_logs(paths=[path]) == whole


def test_client_table_stays_bounded_and_says_when_it_is_approximate(tmp_path, monkeypatch):
    monkeypatch.setattr(logs, "CLIENT_CAP", 50)
    lines = []
    for i in range(3000):            # one scanner in bursts among thousands of one-off addresses
        address = "203.0.113.66" if i % 10 == 0 else "198.18.%d.%d" % (i // 250, i % 250)
        lines.append("2026/12/01 10:00:00 [info] 1#1: *%d SSL_do_handshake() failed (SSL: error:0A000102:SSL "
                     "routines::unsupported protocol) while SSL handshaking, client: %s, server: 0.0.0.0:443\n"
                     % (i, address))
    path = _write(tmp_path / "error.log", "".join(lines))
    res = read_logs(paths=[path], top_clients=0)
    assert res["clients"] == [] and res["clients_approximate"] is True     # 2701 addresses, room for 50
    res = read_logs(paths=[path], top_clients=1)                          # room for 100
    assert res["clients_approximate"] is True
    assert res["clients"][0]["address"] == "203.0.113.66" and res["clients"][0]["count"] == 300
    assert res["events"]["by_side"]["client"]["count"] == 3000


def test_network_failures_count_only_for_upstreams_that_speak_tls(tmp_path):
    text = "".join("2026/12/01 10:00:00 [error] 1#1: *1 connect() failed (111: Connection refused) while connecting "
                   'to upstream, client: 1.2.3.4, server: s, request: "GET / HTTP/1.1", upstream: "%s", host: "s"\n'
                   % url for url in ("http://10.0.0.1:8080/", "https://10.0.0.2:443/", "10.0.0.3:443",
                                     "fastcgi://unix:/run/php.sock:"))
    res = read_logs(paths=[_write(tmp_path / "error.log", text)])
    assert sorted(res["events"]["by_upstream"]) == ["10.0.0.2:443", "10.0.0.3:443"]
    assert res["unparsed"]["count"] == 0


# --------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("kwargs, message", [
    (dict(samples=-1), r"^samples: "),
    (dict(top_clients=-5), r"^top_clients: "),
    (dict(since="yesterday"), r"^since: "),
    (dict(paths=["/nonexistent/error.log"]), r"^paths: no readable nginx error log among /nonexistent/error.log"),
    (dict(paths=["/nonexistent/*.log"]), r"^paths: "),
    (dict(config="/nonexistent/nginx.conf"), r"^config: cannot read"),
])
def test_bad_input_names_the_parameter(kwargs, message):
    kwargs.setdefault("paths", [PROXY])
    if "config" in kwargs:
        kwargs["paths"] = None
    with pytest.raises(LogReadError, match=message):
        read_logs(**kwargs)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every file")
def test_an_unreadable_file_is_an_error_that_names_it(tmp_path):
    path = _write(tmp_path / "error.log", _line("2026/12/01 10:00:00"))
    os.chmod(path, 0)
    with pytest.raises(LogReadError, match=r"^paths: .*error\.log: cannot open"):
        read_logs(paths=[path])


def test_unreadable_file_among_readable_ones(tmp_path, monkeypatch):
    good = _write(tmp_path / "error.log", _line("2026/12/01 10:00:00"))
    bad = _write(tmp_path / "error.log.1", _line("2026/11/30 10:00:00"))
    os.utime(bad, (time.time() - 86400,) * 2)
    real_open = logs.files.open_log

    def refuse(path, *args):
        if path == bad:
            raise PermissionError(13, "Permission denied")
        return real_open(path, *args)
    monkeypatch.setattr(logs.files, "open_log", refuse)
    res = read_logs(paths=[good])
    assert [f.get("error") for f in res["files"]] == ["cannot open: Permission denied", None]
    assert res["lines_read"] == 1


def test_the_fixture_directory_documents_itself():
    with open(os.path.join(FIXTURES, "README.md")) as fh:
        readme = fh.read()
    for name in os.listdir(FIXTURES):
        if name.endswith(".log"):
            assert name in readme, name
    for name in os.listdir(os.path.join(FIXTURES, "formats")):
        if name.endswith(".log"):
            assert "formats/" + name in readme, name
