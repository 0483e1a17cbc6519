# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Properties of the error-log classifier (plugins/module_utils/_logs/lines.py) and the log reader's
line loop (``_logs._Reader``, fed from memory: it reads any binary stream).

Log content is hostile: clients put bytes in request lines and headers, and anyone who can write
the file can write anything.  Any bytes are read without an exception, every byte and line is
counted, a real nginx line spoiled at either end is still counted (as its cause or as unparsed),
and one line costs time linear in its length.
"""

from __future__ import annotations

import io
import json
import os

from hypothesis import assume, example, given, strategies as st

from ansible_collections.tlsops.handshake.plugins.module_utils._logs import lines, read as logs
from tests.unit.fuzz.fuzzing import examples, timed

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "plugins", "module_utils",
                        "fixtures", "logs")


def _real_lines():
    """Lines the lab's nginx 1.22 wrote, whose message names a cause and says SSL, with a client."""
    found = []
    for name in ("proxy-nginx-1.22-openssl-3.0.log", "listener-nginx-1.22-openssl-3.0.log"):
        with open(os.path.join(FIXTURES, name), "rb") as handle:
            for raw in handle:
                parsed = lines.parse(raw.decode("utf-8", "replace"))
                if parsed and parsed[3] and lines.classify(parsed[2])[0] != "unknown" and lines.is_ssl_line(parsed[2]):
                    found.append(raw.rstrip(b"\n"))
    assert len(found) > 20
    return found


REAL = _real_lines()


def read(data, since=None):
    reader = logs._Reader(samples=3, top_clients=10, since_key=since)
    reader.read(io.BytesIO(data))
    result = reader.result()
    json.dumps(result)
    return result


def line_count(data):
    return data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)


def check_samples(result):
    samples = list(result["unparsed"]["samples"])
    for group in list(result["events"]["by_cause"].values()) + list(result["events"]["by_upstream"].values()):
        samples += group["samples"]
    for text in samples:
        assert len(text) <= lines.SAMPLE_MAX + 3 and not lines._CONTROL_RE.search(text) and "\n" not in text


# Pieces of log lines: nginx's framing, the words the classifier looks for, and bytes no log should hold.
_PIECES = st.one_of(
    st.sampled_from([b"2026/12/01 21:32:49 [error] 1#1: *7 ", b"2026/12/01 21:32:49 [debug] 1#1: ", b", client: ",
                     b", upstream: \"", b"https://10.0.0.7:", b"unix:/run/x.sock:/", b"\", host: \"", b"SSL",
                     b"SSL_do_handshake() failed (SSL: error:0A000410:SSL routines::", b"while SSL handshaking",
                     b"to upstream", b"upstream SSL certificate verify error: (", b"host not found in upstream \"",
                     b"timed out (110: Connection timed out) while connecting to upstream", b"\r", b"\x00", b"\xff\xfe",
                     b"\xc2\xb2", b"\x1b[31m", b" ", b":", b"\"", b"/", b")"]),
    st.text(max_size=12).map(lambda t: t.encode("utf-8", "surrogatepass")),
    st.binary(max_size=12),
)
log_bytes = st.lists(st.one_of(st.lists(_PIECES, max_size=10).map(b"".join), st.sampled_from(REAL)),
                     max_size=12).map(b"\n".join)


@examples(800)
@given(data=log_bytes, newline_at_end=st.booleans())
@example(data=REAL[0].replace(b"127.0.0.1:37019", "127.0.0.1:\u00b2".encode()), newline_at_end=True).via(
    "hypothesis: int('\u00b2') raised in split_hostport ('\u00b2'.isdigit() is true)")
@example(data=b"2026/12/01 21:32:49 [error] 1#1: *8 upstream SSL certificate verify error: (" + b"9" * 5000
         + b":x) while SSL handshaking to upstream, client: 1.2.3.4", newline_at_end=False).via(
    "int() of 5000 digits raised (Python's 4300-digit limit)")
def test_any_bytes_are_read_and_every_line_and_byte_is_counted(data, newline_at_end):
    data += b"\n" if newline_at_end else b""
    result = read(data)
    assert result["lines_read"] == line_count(data) and result["bytes_read"] == len(data)
    marked = sum(1 for raw in data.split(b"\n") if b"SSL" in raw or b"upstream" in raw or b"handshak" in raw
                 or b"HTTPS port" in raw)
    assert result["events"]["total"] + result["unparsed"]["count"] <= marked
    assert sum(g["count"] for g in result["events"]["by_side"].values()) == result["events"]["total"]
    assert sum(g["count"] for g in result["events"]["by_cause"].values()) == result["events"]["total"]
    check_samples(result)


@examples(300)
@given(picked=st.lists(st.sampled_from(REAL), min_size=1, max_size=8),
       spoil=st.lists(st.tuples(st.text(max_size=30), st.text(max_size=30), st.floats(0, 1)), min_size=8, max_size=8))
def test_a_real_line_spoiled_at_either_end_is_still_counted(picked, spoil):
    # A prefix (a line glued to the end of the one before, a syslog header), a suffix, or a line cut
    # off (a full disk) must not make a handshake failure vanish: counted by cause or as unparsed.
    spoiled = []
    for raw, (prefix, suffix, keep) in zip(picked, spoil):
        prefix, suffix = prefix.replace("\n", " "), suffix.replace("\n", " ")
        assume(not prefix or lines.HEAD_RE.match(prefix) is None)
        text = raw.decode("utf-8", "replace")
        marked = min(text.index(m) + len(m) for m in ("SSL", "handshak", "HTTPS port") if m in text)
        spoiled.append((prefix + text[:marked + int((len(text) - marked) * keep)] + suffix).encode("utf-8", "surrogatepass"))
    data = b"\n".join(spoiled) + b"\n"
    result = read(data)
    assert result["events"]["total"] + result["unparsed"]["count"] == len(picked)
    assert result["lines_read"] == len(picked) and result["bytes_read"] == len(data)


@examples(200)
@given(raw=st.sampled_from(REAL), suffix=st.text(max_size=40).map(lambda t: t.replace("\n", " ")))
def test_a_suffix_changes_nothing_that_was_read(raw, suffix):
    text = raw.decode("utf-8", "replace")
    assert lines.parse(text + suffix) == lines.parse(text)
    assert lines.classify(lines.parse(text + suffix)[2]) == lines.classify(lines.parse(text)[2])


@examples(300)
@given(host=st.text(max_size=20), port=st.one_of(st.integers(0, 65535).map(str), st.text(max_size=8),
                                                 st.text("0123456789\u00b2\u00b9\u2070\u2460\u2474\u2488\u0663\u096f", max_size=6)))
@example(host="10.0.0.7", port="\u00b2").via("hypothesis: int() of a superscript digit raised")
@example(host="10.0.0.7", port="9" * 5000)
def test_host_and_port_split_without_raising(host, port):
    # Ports are also drawn from digits that str.isdigit() takes and int() may not (superscripts,
    # circled digits) or takes as other scripts' digits.
    for text in (host + ":" + port, "[" + host + "]:" + port, "https://" + host + ":" + port + "/x"):
        got_host, got_port = lines.split_upstream(text)[2:] if "://" in text else lines.split_hostport(text)
        assert got_port is None or (isinstance(got_port, int) and 0 <= got_port <= 99999)
    if port.isascii() and port.isdigit() and len(port) <= 5 and ":" not in host and "[" not in host[:1]:
        assert lines.split_hostport(host + ":" + port) == (host, int(port))
        assert lines.split_hostport("[" + host.replace("]", "") + "]:" + port) == (host.replace("]", ""), int(port))


@examples(200)
@given(text=st.text(max_size=3000))
def test_a_sample_is_one_clean_bounded_line(text):
    out = lines.sample(text)
    assert len(out) <= lines.SAMPLE_MAX + 3 and not lines._CONTROL_RE.search(out)
    assert not out.endswith(("\r", "\n"))


# Message starts that a classifier regex scans forward from, to a closing character that never comes.
_SCAN_TRAPS = ["SSL certificate verify error: (1:", "timed out (1: ", 'host not found in upstream "',
               'upstream SSL certificate does not match "', "error:0A000410:", "SSL certificate verify error: ("]


@examples(20)
@given(trap=st.sampled_from(_SCAN_TRAPS), size=st.integers(2048, logs.MAX_LINE))
@example(trap=_SCAN_TRAPS[0], size=logs.MAX_LINE).via("before: 0.4 s for one 64 kB line (quadratic regex scan)")
def test_one_line_costs_time_linear_in_its_length(trap, size):
    # nginx never writes more than 2048 bytes to one error-log line (NGX_MAX_ERROR_STR); a line of
    # 64 kB (MAX_LINE) is someone else's, and must not cost more than a few of nginx's.
    message = (trap * (size // len(trap) + 1))[:size]
    lines.classify(trap)   # a first call may compile patterns (one-time work, not a cost per byte)
    seconds, _result = timed(lines.classify, message)
    assert seconds < 0.1, seconds
    line = ("2026/12/01 21:32:49 [error] 1#1: *1 " + message + ", client: 1.2.3.4\n").encode()
    seconds, result = timed(read, line * 20)
    assert result["lines_read"] == 20 and seconds < 1, seconds
