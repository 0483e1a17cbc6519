# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""``since`` without a line-by-line look at nginx's own lines: blocks.SinceLines finds the runs of lines on
either side of ``since`` with patterns; the reader must give exactly what reading every line one by one gives."""

from __future__ import annotations

import random

import pytest

from ansible_collections.tlsops.handshake.plugins.module_utils._logs import blocks
from ansible_collections.tlsops.handshake.plugins.module_utils._logs.read import read_logs
from tests.unit.plugins.module_utils._logs.test_logs_blocks import NOISE, QUIET, TLS, _real_logs

SINCES = [b"2026/12/01 21:32:50", b"0000/00/00 00:00:00", b"9999/99/99 99:99:99", b"2026/10/09 09:59:59",
          b"1999/01/30 20:00:01"]


def _nginx_line_before(raw, since):
    """What the line-by-line reader does: nginx's own line (a digit, "/" fifth) whose first 19 bytes sort
    before since."""
    return raw[4:5] == b"/" and raw[:1].isdigit() and raw[:19] < since


def _lines_near(since, rnd):
    """Lines whose first bytes are since's with one byte changed, cut or cut short, and random ones."""
    out = [since + b" [error] x\n", since[:19] + b"\n", b"\n", b"x\n", since[:5] + b"\n"]
    for cut in range(20):
        out.append(since[:cut] + b"\n")
        out.append(since[:cut])                     # the end of the data, no line end
    for index in range(19):
        for byte in (0, 9, 10, 11, 47, 48, 49, 57, 58, 127, 255, since[index] - 1, since[index] + 1):
            if 0 <= byte <= 255 and byte != 10:
                out.append(since[:index] + bytes([byte]) + since[index + 1:] + b" [warn] y\n")
    alphabet = b"0123456789/ :x\r"
    for _line in range(400):
        out.append(bytes(rnd.choice(alphabet) for _byte in range(rnd.randrange(0, 24))) + b"\n")
    return out


@pytest.mark.parametrize("since", SINCES)
def test_the_older_pattern_matches_what_the_line_by_line_reader_counts_as_older(since):
    rnd = random.Random(since)
    lines = blocks.since_lines(since)
    for raw in _lines_near(since, rnd):
        older = lines.older_run(raw, 0, len(raw)) > 0
        assert older is _nginx_line_before(raw, since), raw
        plain = lines.plain_run(raw, 0, len(raw)) > 0
        assert plain is (raw[4:5] == b"/" and raw[:1].isdigit() and raw[:19] >= since), raw


@pytest.mark.parametrize("since", SINCES[:3])
def test_runs_end_at_the_first_line_of_another_kind(since):
    rnd = random.Random(7)
    lines = blocks.since_lines(since)
    candidates = _lines_near(since, rnd)
    candidates = [raw for raw in candidates if raw.endswith(b"\n")]
    for _case in range(300):
        data = b"".join(rnd.choice(candidates) for _line in range(rnd.randrange(1, 12)))
        start = 0
        while start < len(data):
            stop = data.find(b"\n", start) + 1
            older = _nginx_line_before(data[start:stop], since)
            nginx = data[start:stop][4:5] == b"/" and data[start:stop][:1].isdigit()
            run_end = start
            while run_end < len(data):
                line_end = data.find(b"\n", run_end) + 1
                raw = data[run_end:line_end]
                same = _nginx_line_before(raw, since) if older else (
                    nginx and raw[4:5] == b"/" and raw[:1].isdigit() and not _nginx_line_before(raw, since))
                if not same:
                    break
                run_end = line_end
            assert lines.older_run(data, start, len(data)) == (run_end if older else start)
            assert lines.plain_run(data, start, len(data)) == (run_end if nginx and not older else start)
            start = stop


@pytest.mark.parametrize("since", ["2026/12/01 21:32:50\n", "2026-12-01T21:32:50", "2026/12/01 21:32", ""])
def test_a_since_not_in_nginxs_time_layout_leaves_every_line_to_the_line_by_line_reader(since):
    assert blocks.since_lines(since.encode()) is None


def _log(rnd, count):
    """nginx lines around a few times (in and out of order), cut lines, wrapped lines of other formats (syslog,
    Docker, CRI with a split line), CRLF, blank lines."""
    times = [b"2026/12/01 21:32:%02d" % second for second in (40, 49, 50, 51, 59)] + [b"2026/11/30 23:59:59"]
    shapes = [NOISE, QUIET, TLS]
    odd = [TLS[20:], b"\n", b"garbage SSL here\n",
           b"Dec  1 21:32:50 proxy nginx: " + TLS[20:],
           b'{"log":"' + TLS[:-1].replace(b'"', b'\\"') + b'\\n","stream":"stderr","time":"2026-12-01T21:32:50.1Z"}\n',
           b"2026-12-01T21:32:49.000000000Z stderr P " + TLS[:60] + b"\n",
           b"2026-12-01T21:32:49.000000000Z stderr F " + TLS[60:],
           b"2026-11-01T21:32:51.000000000Z stderr F " + TLS]
    out = []
    for _line in range(count):
        if rnd.random() < 0.15:
            out.append(rnd.choice(odd))
            continue
        line = rnd.choice(times) + rnd.choice(shapes)[19:]
        out.append(line.replace(b"\n", b"\r\n") if rnd.random() < 0.05 else line)
    return b"".join(out)


def _both(tmp_path, monkeypatch, data, block_size, since, **options):
    path = tmp_path / "error.log"
    path.write_bytes(data)
    monkeypatch.setattr(blocks, "BLOCK_SIZE", block_size)
    fast = read_logs(paths=[str(path)], rotated=False, since=since, now=0, **options)
    with monkeypatch.context() as patch:
        patch.setattr(blocks, "since_lines", lambda since_bytes: None)
        patch.setattr(blocks, "since_wrapped_lines", lambda since_bytes, fmt: None)
        one_by_one = read_logs(paths=[str(path)], rotated=False, since=since, now=0, **options)
    return fast, one_by_one


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("block_size", [64, 1000, 1 << 20])
@pytest.mark.parametrize("since", ["2026-12-01T21:32:50", "2026-12-01T21:32:49", "2026-11-30T00:00:00",
                                   "2026-12-01T22:00:00"])
def test_the_reader_gives_what_reading_every_line_gives(tmp_path, monkeypatch, seed, block_size, since):
    data = _log(random.Random(seed), 600)
    fast, one_by_one = _both(tmp_path, monkeypatch, data, block_size, since)
    assert fast == one_by_one
    assert fast["lines_read"] == data.count(b"\n") + (not data.endswith(b"\n"))


@pytest.mark.parametrize("block_size", [7, 4093, 1 << 20])
@pytest.mark.parametrize("since", ["2026-12-01T21:32:49", "2026-12-01T21:32:50", "2026-11-01T00:00:00"])
def test_real_logs_with_since_read_as_line_by_line(tmp_path, monkeypatch, block_size, since):
    data = _real_logs()
    fast, one_by_one = _both(tmp_path, monkeypatch, data, block_size, since)
    assert fast == one_by_one
    assert fast["lines_before_since"] > 0 or since.startswith("2026-11")
    assert fast["events"]["total"] > 0


def test_a_last_line_without_line_end_before_since_counts(tmp_path, monkeypatch):
    data = NOISE + TLS.rstrip(b"\n")
    fast, one_by_one = _both(tmp_path, monkeypatch, data, 1 << 20, "2026-12-02T00:00:00")
    assert fast == one_by_one
    assert fast["lines_before_since"] == 2 and fast["events"]["total"] == 0


def _docker_entry(payload, rnd):
    """One json-file line as Docker writes it, or, now and then, as it does not (another key order, a
    control byte, an escape json refuses, an extra key, no line end in "log": the first part of a split line)."""
    body = payload.replace(b"\\", b"\\\\").replace(b'"', b'\\"')
    shape = rnd.random()
    stream = rnd.choice([b"stderr", b"stdout"])
    ending = b"\\n"
    if shape < 0.04:
        ending = b""                                       # a split line's first part
    elif shape < 0.06:
        body += b"\\x"                                   # not JSON
    elif shape < 0.08:
        body += b"\x01"                                   # a control byte json refuses
    elif shape < 0.10:
        body += b"\\u00e9\\t\\/"                          # escapes json reads
    elif shape < 0.12:
        return b'{"stream":"' + stream + b'","log":"' + body + ending + b'","time":"2026-12-01T21:32:50.1Z"}\n'
    elif shape < 0.14:
        return b'{"log":"' + body + ending + b'","stream":"' + stream + b'","time":"2026-12-01T21:32:50.1Z","x":1}\n'
    return b'{"log":"' + body + ending + b'","stream":"' + stream + b'","time":"2026-12-01T21:32:50.123456789Z"}\n'


def _docker_log(rnd, count):
    """Mostly Docker json-file entries of nginx lines around since; some not nginx's, cut, with a time and no
    blank after it, journald's JSON, nginx's own lines, a line over MAX_LINE."""
    times = [b"2026/12/01 21:32:%02d" % second for second in (40, 49, 50, 51, 59)] + [b"2026/11/30 23:59:59"]
    payloads = [lambda: rnd.choice(times) + rnd.choice([NOISE, QUIET, TLS])[19:].rstrip(b"\n"),
                lambda: rnd.choice(times) + b"[error] no blank after the time",
                lambda: rnd.choice(times)[:rnd.randrange(19)],
                lambda: b"nginx: [emerg] cannot load certificate",
                lambda: b"127.0.0.1 - - [01/Dec/2026:21:32:50 +0000] \"GET / HTTP/1.1\" 200 5",
                lambda: rnd.choice(times) + b" [crit] 1#1: " + b"x" * (blocks.MAX_LINE + 10)]
    out = []
    for _line in range(count):
        pick = rnd.random()
        if pick < 0.05:
            out.append(rnd.choice(times) + rnd.choice([NOISE, TLS])[19:])
        elif pick < 0.07:
            out.append(b'{"MESSAGE":"' + rnd.choice(times) + b' [crit] 1#1: SSL_do_handshake() failed",'
                       b'"__REALTIME_TIMESTAMP":"1764624770000000"}\n')
        else:
            weights = [0.8, 0.05, 0.05, 0.04, 0.05, 0.01]
            out.append(_docker_entry(rnd.choices(payloads, weights)[0](), rnd))
    return b"".join(out)


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("block_size", [200, 1 << 20])
@pytest.mark.parametrize("since", ["2026-12-01T21:32:50", "2026-12-01T21:32:41", "2026-12-01T22:00:00"])
@pytest.mark.parametrize("log_format", ["auto", "docker_json"])
def test_docker_logs_with_since_read_as_line_by_line(tmp_path, monkeypatch, seed, block_size, since, log_format):
    data = _docker_log(random.Random(seed), 500)
    fast, one_by_one = _both(tmp_path, monkeypatch, data, block_size, since, format=log_format)
    assert fast == one_by_one
    assert fast["lines_before_since"] > 0


def _wrapped_line(payload, rnd):
    """``payload`` (one nginx line, no line end) as kubectl, docker compose, a CRI log, journalctl or syslog
    write it, in the forms the reader knows and in some it reads another way (no zone, colours, a split CRI
    line, RFC 5424, a host that is not ASCII, prefixes stacked)."""
    iso = rnd.choice([b"2026-12-01T21:32:50.123456789Z", b"2026-12-01T21:32:50Z", b"2026-12-01T21:32:50+02:00",
                      b"2026-12-01 21:32:50.1+0000", b"2026-12-01T21:32:50.5"])
    shapes = [
        lambda: b"[pod/proxy-7d9f/nginx] " + payload,
        lambda: b"[pod/proxy-7d9f/nginx] " + iso + b" " + payload,
        lambda: b"proxy-1  | " + payload,
        lambda: b"proxy-1  | " + iso + b" " + payload,
        lambda: b"\x1b[36mproxy-1  |\x1b[0m " + payload,
        lambda: iso + b" " + rnd.choice([b"stderr", b"stdout"]) + b" F " + payload,
        lambda: iso + b" stderr P " + payload[:30] + b"\n" + iso + b" stderr F " + payload[30:],
        lambda: iso + b" " + payload,
        lambda: b"Dec  1 21:32:50 proxy nginx: " + payload,
        lambda: b"Dec 01 21:32:50 proxy nginx[812]: " + payload,
        lambda: b"<27>Dec  1 21:32:50 nginx: " + payload,
        lambda: b"<27>1 " + iso + b" proxy nginx 812 - - " + payload,
        lambda: b"Dec  1 21:32:50 pr\xc3\xb6xy nginx: " + payload,
        lambda: b"proxy-1  | [pod/a/b] " + payload,
    ]
    return rnd.choice(shapes)() + b"\n"


def _wrapped_log(rnd, count):
    times = [b"2026/12/01 21:32:%02d" % second for second in (40, 49, 50, 51, 59)] + [b"2026/11/30 23:59:59"]
    payloads = [lambda: rnd.choice(times) + rnd.choice([NOISE, QUIET, TLS])[19:].rstrip(b"\n"),
                lambda: rnd.choice(times) + b"[error] no blank after the time",
                lambda: b"[crit] 1#1: *3 SSL_do_handshake() failed (SSL: error:0A00010B) while SSL handshaking",
                lambda: rnd.choice(times)[:rnd.randrange(19)]]
    out = []
    for _line in range(count):
        if rnd.random() < 0.05:
            out.append(rnd.choice(times) + rnd.choice([NOISE, TLS])[19:])
            continue
        out.append(_wrapped_line(rnd.choices(payloads, [0.85, 0.05, 0.05, 0.05])[0](), rnd))
    return b"".join(out)


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("block_size", [200, 1 << 20])
@pytest.mark.parametrize("since", ["2026-12-01T21:32:50", "2026-12-01T21:32:41", "2026-12-01T22:00:00"])
@pytest.mark.parametrize("log_format", ["auto", "kubectl", "docker_compose", "cri", "syslog", "journalctl"])
def test_wrapped_logs_with_since_read_as_line_by_line(tmp_path, monkeypatch, seed, block_size, since, log_format):
    data = _wrapped_log(random.Random(seed), 500)
    fast, one_by_one = _both(tmp_path, monkeypatch, data, block_size, since, format=log_format)
    assert fast == one_by_one
    assert fast["lines_before_since"] > 0
