# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""time_sync_info reads daemon configurations and a process table it does not own: a FIFO,
/dev/zero or a huge file there (named by an option, an include, a confdir, a drop-in) is
refused and reported, never read until the module hangs.  Real FIFOs (os.mkfifo), real
/dev/zero, real files."""

from __future__ import annotations

import os

import pytest

from ansible_collections.tlsops.handshake.plugins.module_utils._clock import check as clock, config
from tests.unit.plugins.module_utils.bounded import within

# every daemon probe points at nothing, so only the file under test is read
NOWHERE = "/nonexistent/tlsops"
QUIET = {"servers": None, "samples": 1, "sample_interval": 0.0, "timeout": 0.2, "proc_path": NOWHERE,
         "chronyc_path": NOWHERE, "timedatectl_path": NOWHERE, "ntpq_path": NOWHERE,
         "chrony_config": NOWHERE, "timesyncd_config": NOWHERE, "ntp_config": NOWHERE}


def _refused(result):
    return [f for f in result["findings"] if f["code"] == "config_file_unreadable"]


def _check(**params):
    warnings = []
    result = within(5, clock.check, dict(QUIET, **params), warn=warnings.append)
    return result, warnings


def test_chrony_include_of_a_fifo_is_reported_not_read(tmp_path):
    fifo = tmp_path / "sources.conf"
    os.mkfifo(str(fifo))
    conf = tmp_path / "chrony.conf"
    conf.write_text("server 192.0.2.1 iburst\ninclude %s\nserver 192.0.2.2\n" % fifo)
    result, warnings = _check(chrony_config=str(conf), timeout=0.1)
    assert [s["server"] for s in result["servers"]] == ["192.0.2.1:123", "192.0.2.2:123"]
    [found] = _refused(result)
    assert found["message"] == "%s (named by %s:2 (include)) could not be read: it is a FIFO (named pipe)" % (fifo, conf)
    assert warnings == ["a time daemon configuration file was not read: %s:2 (include): %s is a FIFO (named pipe); "
                        "give the path of a configuration file" % (conf, fifo)]


def test_chrony_confdir_sourcedir_with_fifo_and_dev_zero(tmp_path):
    confdir, sourcedir = tmp_path / "conf.d", tmp_path / "sources.d"
    confdir.mkdir()
    sourcedir.mkdir()
    os.mkfifo(str(confdir / "a.conf"))
    (confdir / "b.conf").write_text("server 192.0.2.3\n")
    os.symlink("/dev/zero", str(sourcedir / "zero.sources"))
    conf = tmp_path / "chrony.conf"
    conf.write_text("confdir %s\nsourcedir %s\n" % (confdir, sourcedir))
    servers, files = within(5, config.chrony_servers, str(conf), [])
    assert [s["host"] for s in servers] == ["192.0.2.3"]
    problems = []
    within(5, config.chrony_servers, str(conf), problems)
    assert [(p.path, p.where, p.problem) for p in problems] == [
        (str(confdir / "a.conf"), "%s:1 (confdir)" % conf, "a FIFO (named pipe)"),
        (str(sourcedir / "zero.sources"), "%s:2 (sourcedir)" % conf, "a character device")]
    assert files == [str(conf), str(confdir / "b.conf")]


def test_chrony_config_option_naming_a_fifo(tmp_path):
    fifo = tmp_path / "chrony.conf"
    os.mkfifo(str(fifo))
    result, _warnings = _check(chrony_config=str(fifo))
    [found] = _refused(result)
    assert found["message"] == "%s (named by chrony_config) could not be read: it is a FIFO (named pipe)" % fifo


def test_huge_include_and_include_loops_are_bounded(tmp_path):
    big = tmp_path / "big.conf"
    with open(str(big), "wb") as handle:
        handle.truncate(2 << 30)  # 2 GiB, sparse: the cap is measured by reading, not by trusting the size
    conf = tmp_path / "chrony.conf"
    conf.write_text("server 192.0.2.4\n" + "include %s\n" % conf * 200 + "include %s\n" % big)
    problems = []
    servers, files = within(10, config.chrony_servers, str(conf), problems)
    assert [s["host"] for s in servers] == ["192.0.2.4"] and files == [str(conf)]
    assert [(p.path, p.problem) for p in problems] == [(str(big), "larger than 1 MiB")]


def test_timesyncd_dropin_fifo(tmp_path):
    main = tmp_path / "timesyncd.conf"
    main.write_text("[Time]\nNTP=192.0.2.5\n")
    dropins = tmp_path / "timesyncd.conf.d"
    dropins.mkdir()
    os.mkfifo(str(dropins / "10-x.conf"))
    (dropins / "20-y.conf").write_text("[Time]\nNTP=192.0.2.6\n")
    problems = []
    servers, _files = within(5, config.timesyncd_servers, str(main), problems)
    assert [s["host"] for s in servers] == ["192.0.2.5", "192.0.2.6"]
    assert [(p.where, p.problem) for p in problems] == [("a drop-in of %s" % main, "a FIFO (named pipe)")]


def test_ntp_config_dev_zero(tmp_path):
    result, _warnings = _check(ntp_config="/dev/zero")
    [found] = _refused(result)
    assert found["message"] == "/dev/zero (named by ntp_config) could not be read: it is a character device"


def test_missing_config_files_are_still_silent(tmp_path):
    result, warnings = _check(chrony_config=str(tmp_path / "missing.conf"))
    assert _refused(result) == [] and warnings == [] and result["servers_source"] is None


def test_process_table_with_a_fifo(tmp_path):
    """proc_path names a copy of /proc; a FIFO as a process's comm must not block the scan."""
    proc = tmp_path / "proc"
    (proc / "41").mkdir(parents=True)
    os.mkfifo(str(proc / "41" / "comm"))
    (proc / "42").mkdir()
    (proc / "42" / "comm").write_text("chronyd\n")
    (proc / "42" / "stat").write_text("42 (chronyd) S 1\n")
    result, _warnings = _check(proc_path=str(proc), servers=[])
    assert result["daemon"]["name"] == "chrony" and result["daemon"]["pids"] == [42]


@pytest.mark.parametrize("option", ["chrony_config", "proc_path", "chronyc_path", "ntp_config"])
def test_nul_in_a_path_option_is_an_error(option):
    with pytest.raises(clock.ClockConfigError) as caught:
        clock.validate({option: "/etc/a\0b"})
    assert str(caught.value) == "%s: contains a NUL character; give a plain path" % option
