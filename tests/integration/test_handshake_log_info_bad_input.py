# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""handshake_log_info's bad-input table: the real module through one real ansible-playbook run.

Every case is a real hostile thing - a FIFO (os.mkfifo), /dev/zero, a directory, /proc/self/mem
(a regular file that fails with EIO: unreadable even for root), really corrupt and truncated
archives - or an option out of range or of the wrong type.  Each must fail with a message that
names the option (or the file:line of the configuration), or succeed with a warning that does;
never a traceback, never a hang (each task has a timeout, see playbook_cases.py).
"""

from __future__ import annotations

import os

import pytest

from tests import hazards
from tests.integration.playbook_cases import assert_clean_failure, assert_no_crash, run_cases

LINE = ('2026/12/01 10:00:00 [error] 1#1: *1 SSL_do_handshake() failed (SSL: error:0A00010B:SSL routines::wrong '
        'version number) while SSL handshaking to upstream, client: 198.51.100.1, server: s, request: "GET / '
        'HTTP/1.1", upstream: "https://10.0.0.7:443/", host: "s"\n')
FIFO = "a FIFO (named pipe)"
LOG_FIX = "give the path of an nginx error log"
SINCE_FORMS = "such as 90s, 30m, 2h, 7d, 2w or 1h30m"


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    d = tmp_path_factory.mktemp("logs_bad_input")

    def write(name, data):
        path = os.path.join(str(d), name)
        with open(path, "wb") as handle:
            handle.write(data.encode() if isinstance(data, str) else data)
        return path

    good = write("error.log", LINE)
    fifo = hazards.make_fifo(d / "fifo.log")
    fifo_conf = hazards.make_fifo(d / "fifo.conf")
    os.mkdir(str(d / "conf.d"))
    many = (LINE * 20000).encode()
    corrupt_xz = write("corrupt.log.xz", hazards.corrupt_archive("xz", many, "corrupt"))
    truncated_gz = write("truncated.log.gz", hazards.corrupt_archive("gzip", many, "truncated"))
    corrupt_bz2 = write("corrupt.log.bz2", hazards.corrupt_archive("bzip2", many, "corrupt"))

    def conf(name, body):
        return write(name, "events {}\nerror_log %s;\nhttp {\n    %s\n}\n" % (good, body))

    paths = {"good": good, "fifo": fifo, "fifo_conf": fifo_conf, "dir": str(d), "corrupt_xz": corrupt_xz,
             "truncated_gz": truncated_gz, "corrupt_bz2": corrupt_bz2,
             "conf_fifo_include": conf("fifo-include.conf", "include %s;" % fifo_conf),
             "conf_zero_include": conf("zero-include.conf", "include /dev/zero;"),
             "conf_dir_include": conf("dir-include.conf", "include %s;" % (d / "conf.d")),
             "conf_zero_error_log": write("zero-log.conf", "events {}\nerror_log /dev/zero;\n")}
    p = paths
    cases = [
        # what the configuration is
        ("config is a FIFO", {"config": fifo_conf}),
        ("config is /dev/zero", {"config": "/dev/zero"}),
        ("config is a directory", {"config": p["dir"]}),
        ("config is unreadable", {"config": "/proc/self/mem"}),
        ("config is missing", {"config": os.path.join(p["dir"], "missing.conf")}),
        # what it includes
        ("include is a FIFO", {"config": p["conf_fifo_include"]}),
        ("include is /dev/zero", {"config": p["conf_zero_include"]}),
        ("include is a directory", {"config": p["conf_dir_include"]}),
        ("error_log is /dev/zero", {"config": p["conf_zero_error_log"]}),
        # the logs
        ("log is a FIFO", {"paths": [fifo]}),
        ("log is a FIFO among good ones", {"paths": [good, fifo], "rotated": False}),
        ("log is /dev/zero", {"paths": ["/dev/zero"]}),
        ("log is a directory", {"paths": [p["dir"]], "rotated": False}),
        ("log is unreadable", {"paths": ["/proc/self/mem"], "rotated": False}),
        ("corrupt xz among good ones", {"paths": [p["corrupt_xz"], good], "rotated": False}),
        ("truncated gzip and corrupt bzip2", {"paths": [p["truncated_gz"], p["corrupt_bz2"], good],
                                              "rotated": False}),
        # since
        ("since overflows", {"paths": [good], "since": "99999999999999999999d"}),
        ("since too long", {"paths": [good], "since": "36501d"}),
        ("since before 1970", {"paths": [good], "since": "1969-07-20T20:17:00"}),
        ("since past the year 9999", {"paths": [good], "since": "9999-12-31T23:59:59-05:00"}),
        ("since is words", {"paths": [good], "since": "last tuesday"}),
        ("since is a list", {"paths": [good], "since": [1, 2]}),
        # numbers and types
        ("samples negative", {"paths": [good], "samples": -1}),
        ("samples huge", {"paths": [good], "samples": 10 ** 20}),
        ("top_clients negative", {"paths": [good], "top_clients": -3}),
        ("top_clients huge", {"paths": [good], "top_clients": 10 ** 20}),
        ("samples is words", {"paths": [good], "samples": "many"}),
        ("rotated is words", {"paths": [good], "rotated": "maybe"}),
        ("paths is a dict", {"paths": {"a": 1}}),
        ("an unknown option", {"paths": [good], "sinse": "2h"}),
    ]
    with hazards.released(fifo, fifo_conf):
        ran = run_cases("handshake_log_info", cases, d)
        results, output = ran.results, ran.output
    return p, results, output


def test_the_whole_run_has_no_traceback_and_no_hang(table):
    paths, results, output = table
    assert "Traceback" not in output
    for name, result in results.items():
        assert_no_crash(name, result)


@pytest.mark.parametrize("case, needles", [
    ("config is a FIFO", ["config: cannot read the nginx configuration: ", "fifo.conf is " + FIFO]),
    ("config is /dev/zero", ["config: ", "/dev/zero is a character device"]),
    ("config is a directory", ["config: ", "is a directory"]),
    ("config is unreadable", ["config: ", "/proc/self/mem is unreadable (Input/output error)"]),
    ("config is missing", ["config: ", "missing.conf is missing"]),
    ("log is a FIFO", ["paths: no readable nginx error log among ", "fifo.log: not read: it is " + FIFO]),
    ("log is /dev/zero", ["paths: ", "/dev/zero: not read: it is a character device"]),
    ("log is a directory", ["paths: ", "not read: it is a directory"]),
    ("log is unreadable", ["paths: ", "/proc/self/mem: cannot open: Input/output error"]),
    ("error_log is /dev/zero", ["paths: ", "/dev/zero: not read: it is a character device"]),
    ("since overflows", ["since: '99999999999999999999d' is too long a duration", SINCE_FORMS]),
    ("since too long", ["since: '36501d' is too long a duration", "(at most 36500d)"]),
    ("since before 1970", ["since: ", "is before 1970", SINCE_FORMS]),
    ("since past the year 9999", ["since: ", "is out of range", SINCE_FORMS]),
    ("since is words", ["since: 'last tuesday' is neither a duration nor an ISO 8601 time", SINCE_FORMS]),
    ("since is a list", ["since: ", SINCE_FORMS]),
    ("samples negative", ["samples: must be a whole number from 0 to 100, got -1"]),
    ("samples huge", ["samples: must be a whole number from 0 to 100, got 100000000000000000000"]),
    ("top_clients negative", ["top_clients: must be a whole number from 0 to 1000, got -3"]),
    ("top_clients huge", ["top_clients: must be a whole number from 0 to 1000"]),
    ("samples is words", ["samples"]),
    ("rotated is words", ["rotated"]),
    ("paths is a dict", ["paths"]),
    ("an unknown option", ["sinse"]),
])
def test_bad_input_fails_naming_the_option(table, case, needles):
    assert_clean_failure(case, table[1][case], *needles)
    assert "(none exists)" not in table[1][case]["msg"]


@pytest.mark.parametrize("case, conf, what", [
    ("include is a FIFO", "conf_fifo_include", "fifo.conf is " + FIFO),
    ("include is /dev/zero", "conf_zero_include", "/dev/zero is a character device"),
    ("include is a directory", "conf_dir_include", "conf.d is a directory")])
def test_an_include_that_is_no_file_is_a_warning_naming_its_file_and_line(table, case, conf, what):
    paths, results, dummy_output = table
    result = results[case]
    assert not result.get("failed"), result
    assert result["paths_from"] == "config" and result["lines_read"] == 1
    (warning,) = result["warnings"]
    conf = paths[conf]
    assert warning.startswith("config: %s:4 include: " % conf) and what in warning, warning


def test_a_fifo_among_logs_is_a_warning_and_the_good_log_is_read(table):
    paths, results, dummy_output = table
    result = results["log is a FIFO among good ones"]
    assert not result.get("failed") and result["lines_read"] == 1
    assert ["paths: %s is %s; %s" % (paths["fifo"], FIFO, LOG_FIX) in w for w in result["warnings"]] == [True]


@pytest.mark.parametrize("case, broken", [("corrupt xz among good ones", ["corrupt_xz"]),
                                          ("truncated gzip and corrupt bzip2", ["truncated_gz", "corrupt_bz2"])])
def test_corrupt_archives_are_warnings_with_their_lines_counted(table, case, broken):
    paths, results, dummy_output = table
    result = results[case]
    assert not result.get("failed"), result
    files = {f["path"]: f for f in result["files"]}
    assert files[paths["good"]]["lines"] == 1 and "error" not in files[paths["good"]]
    for key in broken:
        entry = files[paths[key]]
        assert entry["error"].startswith("stopped reading: corrupt or truncated ") and entry["lines"] > 0, entry
        assert any(w.startswith("paths: %s: stopped reading: corrupt or truncated" % paths[key])
                   and "after %d lines" % entry["lines"] in w for w in result["warnings"]), result["warnings"]
    assert result["lines_read"] == sum(f["lines"] for f in result["files"])
