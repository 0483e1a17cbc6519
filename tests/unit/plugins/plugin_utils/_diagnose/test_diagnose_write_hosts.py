# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""hosts.json written by a forked child while the report is built: the same bytes as written in process, the same
errors, and no child left behind, also when it dies.  Real forks, real files."""

from __future__ import annotations

import os
import signal

import pytest

from ansible_collections.tlsops.handshake.plugins.action import diagnose_report as action

HOSTS = {"p1": {"reachable": True, "logs": None,
                "nginx": {"probe_targets": [{"host": "10.0.0.7", "port": 443}], "when": {1, 2}}}}


def test_the_child_writes_what_write_hosts_writes(tmp_path):
    wait = action.start_writing_hosts(HOSTS, str(tmp_path / "bg"))
    assert wait() == str(tmp_path / "bg" / "hosts.json")
    action.write_hosts(HOSTS, str(tmp_path / "fg"))
    assert (tmp_path / "bg" / "hosts.json").read_bytes() == (tmp_path / "fg" / "hosts.json").read_bytes()


def test_a_write_error_in_the_child_is_the_same_error(tmp_path):
    (tmp_path / "hosts.json").mkdir()           # the rename onto it fails
    with pytest.raises(action.ReportWriteError) as in_process:
        action.write_hosts(HOSTS, str(tmp_path))
    wait = action.start_writing_hosts(HOSTS, str(tmp_path))
    with pytest.raises(action.ReportWriteError) as in_child:
        wait()
    assert str(in_child.value) == str(in_process.value)
    assert str(in_child.value).startswith("output_dir: cannot write hosts.json into ")


def test_a_bad_output_dir_fails_before_any_child(tmp_path, monkeypatch):
    (tmp_path / "file").write_text("x")
    monkeypatch.setattr(os, "fork", lambda: pytest.fail("forked"))
    with pytest.raises(action.ReportWriteError, match="^output_dir: cannot write the report into .*file"):
        action.start_writing_hosts(HOSTS, str(tmp_path / "file"))


def test_a_child_that_dies_is_an_error_and_is_waited_for(tmp_path, monkeypatch):
    forked = []
    real_fork = os.fork

    def fork():
        pid = real_fork()
        if pid == 0:
            os.kill(os.getpid(), signal.SIGKILL)
        forked.append(pid)
        return pid
    monkeypatch.setattr(os, "fork", fork)
    wait = action.start_writing_hosts(HOSTS, str(tmp_path))
    with pytest.raises(action.ReportWriteError, match=r"^output_dir: writing hosts.json failed \(the child process ended without an answer"):
        wait()
    with pytest.raises(ChildProcessError):
        os.waitpid(forked[0], os.WNOHANG)
