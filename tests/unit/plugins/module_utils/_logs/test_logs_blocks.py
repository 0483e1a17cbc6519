# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The log reader reads blocks (_logs/blocks): what it finds must not depend on where a block ends.

Real files, read by read_logs with the block size made small (blocks.BLOCK_SIZE, read when a log is
opened) so that a boundary falls where the test wants it: inside a TLS line, inside its marker word,
right after or right before its line end, between the CR and LF of a CRLF line, inside a line longer
than a block and longer than MAX_LINE, and in a last line without a line end.  Each result is compared
with reading the same file in one block (no boundary at all) and with what the lines say.
"""
from __future__ import annotations

import datetime
import json
import os

import pytest

from ansible_collections.tlsops.handshake.plugins.module_utils._logs import blocks, formats
from ansible_collections.tlsops.handshake.plugins.module_utils._logs.read import read_logs

LOGS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fixtures", "logs")
NOISE = (b'2026/12/01 21:32:49 [error] 3070#3070: *7 open() "/usr/share/nginx/html/x" failed (2: No such file or '
         b'directory), client: 10.9.1.2, server: shop.example, request: "GET /x HTTP/1.1", host: "shop.example"\n')
QUIET = (b"2026/12/01 21:32:49 [error] 3070#3070: *8 upstream timed out (110: Connection timed out) while reading "
         b'response header from upstream, client: 10.9.1.3, server: shop.example, request: "GET /slow HTTP/1.1", '
         b'upstream: "http://10.0.0.5:8080/slow", host: "shop.example"\n')
TLS = (b"2026/12/01 21:32:50 [error] 3070#3070: *2 SSL_do_handshake() failed (SSL: error:0A00010B:SSL routines::wrong "
       b"version number) while SSL handshaking to upstream, client: 127.0.0.1, server: proxy.lab.test, request: "
       b'"GET /banner HTTP/1.1", upstream: "https://127.0.0.1:37019/", host: "127.0.0.1:35457"\n')


def _read(tmp_path, monkeypatch, data, block_size, name="error.log", **options):
    path = tmp_path / name
    path.write_bytes(data)
    monkeypatch.setattr(blocks, "BLOCK_SIZE", block_size)
    res = read_logs(paths=[str(path)], rotated=False, **options)
    for entry in res["files"]:
        entry.pop("path")
    return res


def _one_block(tmp_path, monkeypatch, data, **options):
    return _read(tmp_path, monkeypatch, data, 1 << 30, name="whole.log", **options)


def _causes(res):
    return dict((code, group["count"]) for code, group in res["events"]["by_cause"].items())


@pytest.mark.parametrize("cut", [len(NOISE) + 1, len(NOISE) + 60, len(NOISE) + TLS.index(b"SSL_do") + 1,
                                 len(NOISE) + TLS.index(b"SSL_do") + 2, len(NOISE) + len(TLS) // 2])
def test_a_line_split_across_two_blocks_counts_once(tmp_path, monkeypatch, cut):
    data = NOISE + TLS + NOISE
    res = _read(tmp_path, monkeypatch, data, cut)
    assert res["lines_read"] == 3 and res["bytes_read"] == len(data)
    assert _causes(res) == {"not_tls": 1}
    assert res["events"]["by_cause"]["not_tls"]["samples"] == [TLS.decode().rstrip("\n")]
    assert res == _one_block(tmp_path, monkeypatch, data)


@pytest.mark.parametrize("shift", [-1, 0, 1])
def test_a_tls_line_at_a_block_end(tmp_path, monkeypatch, shift):
    """The block ends with the TLS line's line end (shift 0), one byte before it, or one byte into the next line."""
    data = NOISE + TLS + TLS + NOISE
    res = _read(tmp_path, monkeypatch, data, len(NOISE) + len(TLS) + shift)
    assert res["lines_read"] == 4 and _causes(res) == {"not_tls": 2}
    assert res == _one_block(tmp_path, monkeypatch, data)


@pytest.mark.parametrize("block_size", [len(NOISE) + len(TLS) - 1, len(NOISE) + len(TLS), 97, 4096])
def test_crlf_lines_read_as_lf_lines(tmp_path, monkeypatch, block_size):
    """A block may end between the CR and the LF; the sample keeps neither."""
    crlf = (NOISE + TLS + QUIET + TLS).replace(b"\n", b"\r\n")
    res = _read(tmp_path, monkeypatch, crlf, block_size)
    lf = _one_block(tmp_path, monkeypatch, crlf.replace(b"\r\n", b"\n"))
    assert res["lines_read"] == 4 and _causes(res) == {"not_tls": 2} and res["formats"] == {"nginx": 2}
    assert res["events"] == lf["events"] and res["formats"] == lf["formats"]
    assert res == _one_block(tmp_path, monkeypatch, crlf)


@pytest.mark.parametrize("block_size", [4096, 65536, 65537, 1 << 20])
def test_a_line_longer_than_a_block_and_than_max_line(tmp_path, monkeypatch, block_size):
    """Only the first MAX_LINE bytes of a line are looked at, whatever the block size: a TLS line padded to
    three times a block counts; a line whose TLS words come after MAX_LINE does not; both count as lines."""
    long_tls = TLS.rstrip(b"\n") + b" " + b"x" * (3 * blocks.MAX_LINE) + b"\n"
    late_words = b"2026/12/01 21:32:51 [error] 3070#3070: *9 " + b"y" * blocks.MAX_LINE + TLS[40:]
    data = NOISE + long_tls + late_words + TLS
    res = _read(tmp_path, monkeypatch, data, block_size)
    assert res["lines_read"] == 4 and res["bytes_read"] == len(data)
    assert _causes(res) == {"not_tls": 2}
    assert res == _one_block(tmp_path, monkeypatch, data)


@pytest.mark.parametrize("block_size", [1, 50, len(NOISE), len(NOISE) + len(TLS) - 2, 1 << 20])
def test_a_last_line_without_line_end_counts(tmp_path, monkeypatch, block_size):
    data = NOISE + QUIET + TLS.rstrip(b"\n")
    res = _read(tmp_path, monkeypatch, data, block_size)
    assert res["lines_read"] == 3 and res["bytes_read"] == len(data)
    assert _causes(res) == {"not_tls": 1} and res["formats"] == {"nginx": 1}
    assert res["events"]["by_cause"]["not_tls"]["samples"] == [TLS.decode().rstrip("\n")]
    assert res == _one_block(tmp_path, monkeypatch, data)


def _real_logs():
    """Every real capture and format fixture, one after the other (nginx files, journald, syslog, CRI with
    P parts, Docker json-file, kubectl, docker compose, cut headers)."""
    names = sorted(os.path.join(LOGS, n) for n in os.listdir(LOGS) if n.endswith(".log"))
    names += sorted(os.path.join(LOGS, "formats", n) for n in os.listdir(os.path.join(LOGS, "formats"))
                    if n.endswith(".log"))
    parts = []
    for name in names:
        with open(name, "rb") as fh:
            parts.append(fh.read())
    parts.append(b"a relay wrote: SSL went away\n")         # TLS wording without nginx's header: unparsed
    return b"".join(part if part.endswith(b"\n") else part + b"\n" for part in parts)


@pytest.mark.parametrize("block_size", [1, 7, 100, 1000, 4093, 65536])
@pytest.mark.parametrize("since", [None, "2026-12-01T21:32:49"])
def test_real_logs_read_alike_in_any_block_size(tmp_path, monkeypatch, block_size, since):
    """The real captures and format fixtures give the same result (events, samples, clients, formats,
    unparsed lines, lines before ``since``) in blocks of any size as in one block."""
    data = _real_logs()
    options = {"since": since, "now": 0} if since else {}
    res = _read(tmp_path, monkeypatch, data, block_size, **options)
    whole = _one_block(tmp_path, monkeypatch, data, **options)
    assert res["lines_read"] == data.count(b"\n") and res["events"]["total"] > 50
    assert len(res["formats"]) >= 5 and res["unparsed"]["count"] > 0
    assert (res["lines_before_since"] > 0) is bool(since)
    assert res == whole


# nginx's words for a failed connection to an upstream (causes.NETWORK_LOG_WORDS), in real lines of nginx 1.22
REFUSED = (b"2026/12/01 21:32:51 [error] 3070#3070: *11 connect() failed (111: Connection refused) while connecting "
           b'to upstream, client: 10.9.1.4, server: shop.example, request: "GET / HTTP/1.1", upstream: '
           b'"https://10.0.0.6:443/", host: "shop.example"\n')
NOT_FOUND = b'2026/12/01 21:32:52 [emerg] 3071#3071: host not found in upstream "api.internal:443" in /etc/nginx/x.conf:7\n'
BANNER = (b"2026/12/01 21:32:53 [error] 3070#3070: *12 upstream prematurely sent response while reading response "
          b'header from upstream, client: 10.9.1.5, server: shop.example, request: "GET / HTTP/1.1", upstream: '
          b'"https://10.0.0.7:22/", host: "shop.example"\n')
PLAIN_REFUSED = REFUSED.replace(b'"https://10.0.0.6:443/"', b'"http://10.0.0.6:80/"')
# Lines with "upstream" that name nothing, and near-misses of the words: never looked at
NEAR_MISSES = [
    QUIET,
    QUIET.replace(b"reading response header from", b"connecting to an"),
    REFUSED.replace(b"while connecting to upstream", b"while connecting to  upstream"),
    REFUSED.replace(b"while connecting to upstream", b"while connecting to Upstream"),
    NOT_FOUND.replace(b"host not found in", b"host not found on"),
    b"2026/12/01 21:32:54 [warn] 3070#3070: *13 an upstream response is buffered to a temporary file, client: x\n",
    b"2026/12/01 21:32:54 [error] 3070#3070: *14 connect() failed (111: Connection refused) while connecting to ups\n",
]


@pytest.mark.parametrize("block_size", [97, len(QUIET) - 1, len(QUIET) + 1, 4096, 1 << 20])
def test_lines_without_tls_wording_are_looked_at_only_with_nginxs_network_words(tmp_path, monkeypatch, block_size):
    """Upstream lines that name nothing (timeouts of plain-HTTP upstreams, buffering) are not looked at:
    formats counts the TLS lines and those with nginx's words for a failed upstream connection, across any
    block boundary, and the events are what those lines say (a refused plain-HTTP upstream is no event)."""
    body = QUIET * 50 + TLS + b"".join(NEAR_MISSES) + REFUSED + NOT_FOUND + BANNER + PLAIN_REFUSED + QUIET * 50
    data = body * 3
    res = _read(tmp_path, monkeypatch, data, block_size)
    assert res["lines_read"] == data.count(b"\n") and res["formats"] == {"nginx": 3 * 5}
    assert _causes(res) == {"not_tls": 6, "connection_refused": 3, "dns_failure": 3}
    assert res["events"]["total"] == 12
    assert res == _one_block(tmp_path, monkeypatch, data)


def test_every_cause_a_line_without_tls_wording_names_has_a_network_word():
    """The reader skips a line without TLS wording unless it has one of causes.NETWORK_LOG_WORDS: each of
    nginx's own patterns either needs TLS wording or holds such a word, so no cause is lost."""
    from ansible_collections.tlsops.handshake.plugins.module_utils._common import causes
    from ansible_collections.tlsops.handshake.plugins.module_utils._logs import lines

    patterns = causes._NGINX_LOG_PATTERNS       # pylint: disable=protected-access
    assert patterns
    for pattern, _code in patterns:
        unescaped = pattern.replace("\\", "")
        assert lines.is_ssl_line(unescaped) or any(word in unescaped for word in causes.NETWORK_LOG_WORDS), pattern
    for word in causes.NETWORK_LOG_WORDS:
        assert word.encode("ascii") in blocks.MARKERS
    # and the other way round: each network cause's own log line is found by its word
    for code, cause in causes.CAUSES.items():
        line = cause["nginx_error"] or ""
        if line and not lines.is_ssl_line(line) and lines.classify(line).code != "unknown":
            assert any(word in line for word in causes.NETWORK_LOG_WORDS), (code, line)


def _docker(line, end=b"\n"):
    """One Docker json-file entry of ``line`` (``end``: what its ``log`` ends with; b"" for a partial one)."""
    log = json.dumps((line + end).decode()).encode()
    return b'{"log":' + log + b',"stream":"stderr","time":"2026-12-01T21:32:50.123456789Z"}\n'


@pytest.mark.parametrize("block_size", [97, 4096, 1 << 20])
@pytest.mark.parametrize("fmt", ["auto", "docker_json"])
def test_docker_entries_without_a_marker_are_skipped_unless_they_split_a_line(tmp_path, monkeypatch, block_size, fmt):
    """blocks.candidates leaves out a Docker entry that ends its line and has no marker word; an entry that
    does not end its line (Docker splits lines over 16 KiB) is still read, and joined with the next,
    whose marker may come only in the second part, also when its ``\\n"`` lies past MAX_LINE."""
    tls, noise = TLS.rstrip(b"\n"), NOISE.rstrip(b"\n")
    cut = tls.index(b"SSL_do")
    long_noise = noise + b" " + b"z" * blocks.MAX_LINE
    data = (_docker(noise) * 40 + _docker(tls) + _docker(tls[:cut], b"") + _docker(tls[cut:])
            + _docker(long_noise) + _docker(tls) + b"{not json\n" + _docker(noise) * 40)
    res = _read(tmp_path, monkeypatch, data, block_size, format=fmt)
    assert res["lines_read"] == 86 and _causes(res) == {"not_tls": 3}
    assert res["formats"] == {"docker_json": 3}
    assert res["events"]["by_cause"]["not_tls"]["first_seen"] == "2026-12-01T21:32:50"
    assert res == _one_block(tmp_path, monkeypatch, data, format=fmt)


def test_wrapper_times_are_read_as_strptime_reads_them():
    """formats._civil stands in for strptime on the wrapper times of every line: the same datetime for
    every field it accepts, ValueError for every one it refuses (out of range, no such day, leap
    seconds, digits that are not ASCII)."""
    def strptime(day, clock):
        try:
            return datetime.datetime.strptime(day + " " + clock, "%Y-%m-%d %H:%M:%S")
        except ValueError:
            return ValueError

    def civil(day, clock):
        try:
            return formats._civil(day, clock)  # pylint: disable=protected-access
        except ValueError:
            return ValueError

    checked = 0
    for year in ("0000", "0999", "2024", "2100", "9999", "2\u0660\u0662\u0664"):
        for month in ("00", "01", "02", "12", "13", "\u0661\u0662"):
            for day in ("00", "01", "28", "29", "30", "31", "32"):
                for clock in ("00:00:00", "23:59:59", "24:00:00", "12:60:00", "12:00:60", "12:00:61", "9\u0669:00:00"):
                    text = "%s-%s-%s" % (year, month, day)
                    assert civil(text, clock) == strptime(text, clock), (text, clock)
                    checked += 1
    assert checked == 6 * 6 * 7 * 7


def _candidates_line_by_line(data):
    """What blocks.candidates must find, one line at a time: ``{stop: start}`` of the lines with a marker
    word, with `` P `` where a CRI part marker stands (19 to 45 bytes in), or starting with ``{`` unless
    the line has a marker-less Docker entry end (``\\n"``)."""
    found, start = {}, 0
    while start < len(data):
        stop = data.find(b"\n", start) + 1 or len(data)
        line = data[start:stop]
        cri = any(line.startswith(b" P ", at) for at in range(19, 46))
        json_start = line.startswith(b"{") and b'\\n"' not in line[:blocks.MAX_LINE]
        if any(marker in line for marker in blocks.MARKERS) or cri or json_start:
            found[stop] = start
        start = stop
    return found


def test_candidates_are_the_lines_a_line_by_line_reading_picks():
    """blocks.candidates finds its lines with one pattern pass per marker and the CRI part marker through
    "P " (its space checked apart): on the real captures and format fixtures, and on lines whose " P "
    stands just inside or just outside where a CRI part marker can be, or lacks its space, it picks
    exactly the lines a line-by-line reading picks, each once, keyed by its end."""
    cri_time = b"2024-01-01T00:00:00Z stderr"       # " P " at 27; the edges are 19 and 45
    edge_lines = [
        cri_time + b" P 2026/12/01 21:32:50 [error] 3070#3070: *2 SSL_do_handshake() failed\n",
        b"x" * 18 + b" P outside by one\n",
        b"x" * 19 + b" P inside at the first place\n",
        b"x" * 45 + b" P inside at the last place\n",
        b"x" * 46 + b" P outside by one\n",
        b"x" * 30 + b"P without its space\n",
        b"x" * 30 + b" P\n",
        b"P at the start, P again at 20: P \n",
        b"  P " * 20 + b"\n",
        b" P",
    ]
    for data in (_real_logs(), NOISE + QUIET + b"".join(edge_lines), b"".join(edge_lines[:-1]) + TLS + QUIET):
        lines = blocks.candidates(data, 0, len(data))
        assert lines == _candidates_line_by_line(data)
    data = NOISE + b"".join(edge_lines)
    lines = blocks.candidates(data, 0, len(data))
    assert sorted(data[start:stop] for stop, start in lines.items()) == sorted(
        [edge_lines[0], edge_lines[2], edge_lines[3], edge_lines[8], edge_lines[7]])


@pytest.mark.parametrize("flood", [b"S ", b"k", b"Sk"])
def test_candidates_find_the_byte_markers_in_a_log_full_of_that_byte(flood):
    """"SSL", "HTTPS port" and '"MESSAGE":[' are found through their first "S", "handshak" through its "k";
    when too many of that byte start no marker the patterns take over where the search stopped: a marker
    on either side of that place, one whose byte comes after it and one at the region's end are all
    found, each line once."""
    capitals = b"2026/12/01 21:32:49 [error] 3070#3070: *1 " + flood * 30000 + b"\n"
    s_lines = [b"HTTPS port at the start\n", b"a plain HTTP request to HTTPS port, client: 10.0.0.1\n",
               b'{"MESSAGE":[50,48], "x": "S"}\n', b"S" * 3000 + b"HTTPS port after many capitals\n",
               b"k" * 3000 + b"handshake after many k\n", b"peer closed connection in handshake\n",
               b"xSSL\n", b"SS\n", b"HTTPS por\n", b"handshakk\n", b"andshake\n", b"ends in handshak"]
    for data in (b"".join(s_lines), capitals + b"".join(s_lines), b"".join(s_lines[:4]) + capitals + TLS + QUIET
                 + b"".join(s_lines[4:]), capitals * 3 + b"SSL" + capitals + b"handshak" + capitals):
        lines = blocks.candidates(data, 0, len(data))
        assert lines == _candidates_line_by_line(data)
        start = data.index(b"\n") + 1            # a region starts at a line start, its end is the data's or not
        for end in (len(data), data.rindex(b"\n", 0, len(data) - 1) + 1):
            lines = blocks.candidates(data, start, end)
            expected = _candidates_line_by_line(data[start:end])
            assert lines == dict((stop + start, line + start) for stop, line in expected.items())


def test_the_network_pattern_finds_each_phrase_and_leaves_others_apart():
    """One pattern finds every phrase that holds "upstream" at any of its "upstream"s (a line may have the
    word several times before the phrase); a phrase without the word would get its own pass."""
    pattern, apart = blocks._network_pattern(           # pylint: disable=protected-access
        (b"while connecting to upstream", b"upstream prematurely sent response", b"a phrase without the word"))
    assert apart == (b"a phrase without the word",)
    lines = [b"upstream: upstream x while connecting to upstream, client: 1\n",
             b"an upstream upstream prematurely sent response\n",
             b"while connecting to Upstream\n", b"upstream prematurely sent\n", b"connecting to upstream\n"]
    found = [m.group(0) for m in pattern.finditer(b"".join(lines))]
    assert found == [b"upstream, client: 1", b"upstream prematurely sent response"]
    assert blocks._network_pattern((b"a phrase without the word",))[0] is None   # pylint: disable=protected-access
