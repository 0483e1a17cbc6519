# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""handshake_log_info's engine on hostile files: real FIFOs (os.mkfifo), /dev/zero, directories,
really corrupt and truncated archives, and ``since`` values out of range.

A FIFO that nobody writes to blocks a plain open() for ever, so each test that makes one has a
short pytest timeout and releases any reader stuck on it when it ends (tests/hazards.py).
"""
from __future__ import annotations

import os
import time

import pytest

from ansible_collections.tlsops.handshake.plugins.module_utils._logs import lines
from ansible_collections.tlsops.handshake.plugins.module_utils._logs.read import LogReadError, read_logs
from tests import hazards


def _line(stamp, port=443):
    return ('%s [error] 1#1: *1 SSL_do_handshake() failed (SSL: error:0A00010B:SSL routines::wrong version number) '
            'while SSL handshaking to upstream, client: 198.51.100.1, server: s, request: "GET / HTTP/1.1", '
            'upstream: "https://10.0.0.7:%d/", host: "s"\n' % (stamp, port))


def _write(path, data):
    with open(str(path), "wb") as handle:
        handle.write(data.encode() if isinstance(data, str) else data)
    return str(path)


# --------------------------------------------------------------------------- a log path that is no file
@pytest.mark.timeout(30)
def test_a_fifo_as_the_only_log_is_an_error_that_says_fifo(tmp_path):
    fifo = hazards.make_fifo(tmp_path / "error.log")
    with hazards.released(fifo):
        started = time.monotonic()
        with pytest.raises(LogReadError) as info:
            read_logs(paths=[fifo])
    assert time.monotonic() - started < 5
    message = str(info.value)
    assert message.startswith("paths: no readable nginx error log among %s" % fifo)
    assert "a FIFO (named pipe)" in message and "(none exists)" not in message


@pytest.mark.timeout(30)
def test_a_fifo_among_logs_is_a_warning_naming_paths_and_the_others_are_read(tmp_path):
    good = _write(tmp_path / "error.log", _line("2026/12/01 10:00:00"))
    fifo = hazards.make_fifo(tmp_path / "other.log")
    with hazards.released(fifo):
        res = read_logs(paths=[good, fifo], rotated=False)
    assert res["lines_read"] == 1 and res["events"]["total"] == 1
    assert {"path": fifo, "error": "not read: it is a FIFO (named pipe)"} in res["files"]
    assert any(w.startswith("paths: %s is a FIFO (named pipe); give the path of an nginx error log" % fifo)
               for w in res["warnings"]), res["warnings"]


@pytest.mark.parametrize("kind", ["/dev/zero", "directory"])
def test_dev_zero_and_a_directory_say_what_they_are_not_none_exists(tmp_path, kind):
    path = str(tmp_path) if kind == "directory" else kind
    with hazards.memory_cap():
        with pytest.raises(LogReadError) as info:
            read_logs(paths=[path], rotated=False)
    what = "a directory" if kind == "directory" else "a character device"
    assert "%s: not read: it is %s" % (path, what) in str(info.value)
    assert "(none exists)" not in str(info.value)


def test_a_missing_log_still_says_none_exists(tmp_path):
    with pytest.raises(LogReadError, match=r"\(none exists\)$"):
        read_logs(paths=[str(tmp_path / "gone.log")])


# --------------------------------------------------------------------------- the configuration
@pytest.mark.timeout(30)
@pytest.mark.parametrize("kind", ["fifo", "/dev/zero", "directory"])
def test_a_config_that_is_no_file_is_an_error_naming_config(tmp_path, kind):
    config = {"fifo": str(tmp_path / "nginx.conf"), "/dev/zero": "/dev/zero", "directory": str(tmp_path)}[kind]
    if kind == "fifo":
        hazards.make_fifo(config)
    with hazards.released(config if kind == "fifo" else tmp_path / "none"), hazards.memory_cap():
        with pytest.raises(LogReadError) as info:
            read_logs(config=config)
    what = {"fifo": "a FIFO (named pipe)", "/dev/zero": "a character device", "directory": "a directory"}[kind]
    assert str(info.value) == ("config: cannot read the nginx configuration: %s is %s; give the path of an nginx "
                               "configuration file" % (config, what))


@pytest.mark.timeout(30)
@pytest.mark.parametrize("kind", ["fifo", "/dev/zero", "directory"])
def test_an_include_that_is_no_file_is_skipped_with_a_warning_naming_file_and_line(tmp_path, kind):
    log = _write(tmp_path / "error.log", _line("2026/12/01 10:00:00"))
    include = {"fifo": str(tmp_path / "fifo.conf"), "/dev/zero": "/dev/zero",
               "directory": str(tmp_path / "conf.d")}[kind]
    if kind == "fifo":
        hazards.make_fifo(include)
    elif kind == "directory":
        os.mkdir(include)
    conf = _write(tmp_path / "nginx.conf", "events {}\nerror_log %s;\nhttp {\n    include %s;\n}\n" % (log, include))
    with hazards.released(include if kind == "fifo" else tmp_path / "none"), hazards.memory_cap():
        res = read_logs(config=conf)
    assert res["paths_from"] == "config" and res["lines_read"] == 1
    what = {"fifo": "a FIFO (named pipe)", "/dev/zero": "a character device", "directory": "a directory"}[kind]
    assert res["warnings"] == ["config: %s:4 include: %s is %s; give the path of an nginx configuration file "
                               "(skipped)" % (conf, include, what)]


@pytest.mark.timeout(30)
def test_an_error_log_directive_naming_a_fifo_is_named_by_its_file_and_line(tmp_path):
    fifo = hazards.make_fifo(tmp_path / "error.log")
    conf = _write(tmp_path / "nginx.conf", "events {}\n\nerror_log %s warn;\n" % fifo)
    with hazards.released(fifo):
        with pytest.raises(LogReadError, match="a FIFO"):
            read_logs(config=conf)


@pytest.mark.timeout(30)
def test_a_fifo_error_log_among_readable_ones_names_the_error_log_directive(tmp_path):
    fifo = hazards.make_fifo(tmp_path / "fifo.log")
    good = _write(tmp_path / "error.log", _line("2026/12/01 10:00:00"))
    conf = _write(tmp_path / "nginx.conf", "error_log %s;\nevents {}\nerror_log %s;\n" % (good, fifo))
    with hazards.released(fifo):
        res = read_logs(config=conf)
    assert res["lines_read"] == 1
    assert res["warnings"] == ["config: %s:3 error_log: %s is a FIFO (named pipe); give the path of an nginx error "
                               "log (a regular file, or a glob such as /var/log/nginx/*error.log)" % (conf, fifo)]


def test_an_unreadable_config_names_config():
    # /proc/self/mem is a regular file that fails with EIO at offset 0: unreadable, even for root
    with pytest.raises(LogReadError, match=r"^config: cannot read the nginx configuration: /proc/self/mem is "
                                           r"unreadable \(Input/output error\)"):
        read_logs(config="/proc/self/mem")


def test_an_unreadable_log_is_named():
    with pytest.raises(LogReadError, match=r"^paths: no readable nginx error log among /proc/self/mem "
                                           r"\(/proc/self/mem: cannot open: Input/output error\)"):
        read_logs(paths=["/proc/self/mem"], rotated=False)


# --------------------------------------------------------------------------- corrupt archives
@pytest.mark.parametrize("kind", ["gzip", "bzip2", "xz"])
@pytest.mark.parametrize("damage", ["corrupt", "truncated"])
def test_a_corrupt_or_truncated_archive_is_a_warning_and_the_rest_is_read(tmp_path, kind, damage):
    text = "".join(_line("2026/11/30 10:%02d:%02d" % (i // 60 % 60, i % 60)) for i in range(20000)).encode()
    broken = _write(tmp_path / ("error.log.2.%s" % kind), hazards.corrupt_archive(kind, text, damage))
    good = _write(tmp_path / "error.log", _line("2026/12/01 11:00:00"))
    os.utime(broken, (time.time() - 86400,) * 2)
    res = read_logs(paths=[good], rotated=True)
    entry = [f for f in res["files"] if f["path"] == broken][0]
    assert entry["compression"] == kind and entry["error"].startswith("stopped reading: corrupt or truncated %s data"
                                                                      % kind)
    assert entry["lines"] > 0, entry                  # what was read before the damage counts
    if damage == "truncated":
        assert entry["lines"] < 20000
    assert res["lines_read"] == entry["lines"] + 1
    assert [(f["path"], f["lines"]) for f in res["files"]] == [(broken, entry["lines"]), (good, 1)]
    (warning,) = res["warnings"]
    assert warning.startswith("paths: %s: stopped reading: corrupt or truncated %s data" % (broken, kind))
    assert "after %d lines" % entry["lines"] in warning


def test_an_archive_corrupt_from_its_first_block_reads_nothing_and_says_so(tmp_path):
    blob = hazards.compressed("xz", _line("2026/12/01 10:00:00").encode() * 10)
    broken = _write(tmp_path / "error.log.xz", blob[:12] + b"\xff" * (len(blob) - 12))
    res = read_logs(paths=[broken], rotated=False)
    assert res["lines_read"] == 0 and res["files"][0]["error"].startswith("stopped reading: corrupt or truncated xz")
    assert res["warnings"][0].startswith("paths: %s: stopped reading: corrupt or truncated xz data" % broken)


# --------------------------------------------------------------------------- since
@pytest.mark.parametrize("since, problem", [
    ("99999999999999999999d", "is too long a duration"),
    ("36501d", "is too long a duration"),
    ("9" * 400 + "w", "is too long a duration"),
    ("1969-12-31T23:00:00", "is before 1970"),
    ("0001-01-01", "is before 1970"),
    ("9999-12-31T23:59:59-05:00", "is out of range"),
    ("yesterday", "is neither a duration nor an ISO 8601 time"),
    ("-5d", "is neither a duration nor an ISO 8601 time"),
    ("x" * 10000, "is neither a duration nor an ISO 8601 time"),
])
def test_since_out_of_range_or_malformed_names_since_and_the_accepted_forms(since, problem):
    with pytest.raises(LogReadError) as info:
        read_logs(paths=["/nonexistent/error.log"], since=since)
    message = str(info.value)
    assert message.startswith("since: ") and problem in message and len(message) < 400
    assert "such as 90s, 30m, 2h, 7d, 2w or 1h30m (at most 36500d)" in message
    assert "2026-12-01T21:00:00, 2026-12-01T20:00:00Z or 2026-12-01" in message


def test_since_at_the_edges_of_its_range_is_accepted():
    now = time.mktime((2026, 12, 1, 20, 0, 0, 0, 0, -1))
    assert lines.parse_since("36500d", now=now)[1] == now - 36500 * 86400
    assert lines.parse_since("1970-01-02")[0] == "1970/01/02 00:00:00"
    assert lines.parse_since("9999-12-31T00:00:00")[0] == "9999/12/31 00:00:00"


# --------------------------------------------------------------------------- numbers
@pytest.mark.parametrize("name, value", [("samples", -1), ("samples", 10 ** 20), ("samples", 101),
                                         ("top_clients", -1), ("top_clients", 10 ** 20), ("top_clients", True)])
def test_numbers_out_of_range_name_the_option_and_the_range(name, value):
    with pytest.raises(LogReadError, match=r"^%s: must be a whole number from 0 to \d+, got " % name):
        read_logs(paths=["/nonexistent/error.log"], **{name: value})


def test_a_relative_error_log_is_taken_from_the_prefix(tmp_path):
    """nginx takes a relative error_log from its prefix (-p), a relative include from the configuration's
    directory; without prefix the configuration's directory stands in, and the warning says so."""
    line = "2026/12/01 21:32:50 [crit] 1#1: *1 SSL_do_handshake() failed (SSL: error:0A00010B:SSL routines::wrong " \
           "version number) while SSL handshaking, client: 10.0.0.9, server: 0.0.0.0:443\n"
    conf_dir, prefix = tmp_path / "conf", tmp_path / "prefix"
    for directory in (conf_dir / "logs", prefix / "logs", conf_dir / "conf.d"):
        directory.mkdir(parents=True)
    _write(prefix / "logs" / "error.log", line * 2)
    _write(conf_dir / "logs" / "error.log", line)
    _write(conf_dir / "conf.d" / "logs.conf", "error_log logs/error.log;\n")
    conf = _write(conf_dir / "nginx.conf", "events {}\ninclude conf.d/*.conf;\n")
    res = read_logs(config=conf, prefix=str(prefix), rotated=False)
    assert [f["path"] for f in res["files"]] == [str(prefix / "logs" / "error.log")] and res["lines_read"] == 2
    assert res["warnings"] == []
    res = read_logs(config=conf, rotated=False)
    assert [f["path"] for f in res["files"]] == [str(conf_dir / "logs" / "error.log")] and res["lines_read"] == 1
    assert res["warnings"] == ["config: %s:1 error_log logs/error.log is relative: read as %s (the directory of the "
                               "configuration); nginx takes it from its prefix (-p, else --prefix of nginx -V): give "
                               "prefix when that differs" % (conf_dir / "conf.d" / "logs.conf", conf_dir / "logs" / "error.log")]
