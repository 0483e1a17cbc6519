# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""``journal_units``: journalctl -o json, run without a shell, validated, bounded.

No journald runs on the test host, so journalctl is replaced by a small script that records its
arguments and prints the real ``journalctl -o json`` output of fixtures/logs/formats/journal-json.log
(captured in a systemd container).  tests/integration/test_log_formats_live.py runs the real
journalctl in that container."""
from __future__ import annotations

import json
import os
import sys
import time

import pytest

from ansible_collections.tlsops.handshake.plugins.module_utils._logs import journal, read as logs
from ansible_collections.tlsops.handshake.plugins.module_utils._logs.read import LogReadError, read_logs

JOURNAL = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fixtures", "logs", "formats", "journal-json.log")

STAND_IN = r"""#!%(python)s
import json, sys, time
with open(%(argv_file)r, "w") as fh:
    json.dump(sys.argv, fh)
sys.stderr.write(%(stderr)r)
with open(%(journal)r, "rb") as fh:
    data = fh.read()
sys.stdout.buffer.write(data[:%(first)d])
sys.stdout.flush()
time.sleep(%(sleep)s)
sys.stdout.buffer.write(data[%(first)d:])
sys.exit(%(rc)d)
"""


def _stand_in(tmp_path, monkeypatch, rc=0, stderr="", sleep=0, first=-1, journal_file=JOURNAL):
    script = tmp_path / "journalctl"
    argv_file = tmp_path / "argv.json"
    script.write_text(STAND_IN % dict(python=sys.executable, argv_file=str(argv_file), stderr=stderr, sleep=sleep,
                                      journal=journal_file, rc=rc, first=first if first >= 0 else 1 << 40))
    script.chmod(0o755)
    monkeypatch.setattr(journal, "journalctl_path", lambda: str(script))
    return script, argv_file


def test_the_journal_is_read_like_its_json_file(tmp_path, monkeypatch):
    script, argv_file = _stand_in(tmp_path, monkeypatch)
    res = read_logs(journal_units=["nginx.service"], since="2026-12-07T00:00:00")
    with open(str(argv_file)) as fh:
        argv = json.load(fh)
    assert argv == [str(script), "-o", "json", "--no-pager", "--quiet", "--since", "2026-12-07 00:00:00",
                    "--unit=nginx.service"]
    from_file = read_logs(paths=[JOURNAL], rotated=False)
    assert res["events"]["by_cause"] == from_file["events"]["by_cause"]
    assert res["formats"] == {"journal_json": 15}
    assert res["paths_from"] == "journal" and res["files"] == []
    assert res["journal"]["units"] == ["nginx.service"] and res["journal"]["rc"] == 0
    assert res["journal"]["lines"] == from_file["lines_read"] and res["journal"]["truncated"] is False


def test_journal_and_files_together(tmp_path, monkeypatch):
    _stand_in(tmp_path, monkeypatch)
    res = read_logs(journal_units=["nginx.service", "nginx-proxy@a.service"], paths=[JOURNAL], rotated=False)
    alone = read_logs(paths=[JOURNAL], rotated=False)
    assert res["events"]["total"] == 2 * alone["events"]["total"]
    assert res["paths_from"] == "paths" and res["journal"]["units"] == ["nginx.service", "nginx-proxy@a.service"]


@pytest.mark.parametrize("units, where", [
    (["-f"], "journal_units[0]"), (["nginx service"], "journal_units[0]"), (["nginx.service", "a;reboot"], "journal_units[1]"),
    ([""], "journal_units[0]"), (["../x"], "journal_units[0]"), ([5], "journal_units[0]"), (["x" * 300], "journal_units[0]"),
    ([], "journal_units"), ("nginx.service", "journal_units"),
])
def test_unit_names_are_checked_before_anything_runs(tmp_path, monkeypatch, units, where):
    _script, argv_file = _stand_in(tmp_path, monkeypatch)
    with pytest.raises(LogReadError) as info:
        read_logs(journal_units=units)
    assert str(info.value).startswith(where + ":") and "nginx.service" in str(info.value)
    assert not argv_file.exists()


def test_no_journalctl_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(journal, "journalctl_path", lambda: None)
    with pytest.raises(LogReadError) as info:
        read_logs(journal_units=["nginx.service"])
    assert str(info.value).startswith("journal_units: journalctl is not installed on this host")
    assert "paths" in str(info.value)


def test_journalctl_failing_without_output_is_an_error_with_its_words(tmp_path, monkeypatch):
    empty = tmp_path / "empty.json"
    empty.write_text("")
    _stand_in(tmp_path, monkeypatch, rc=1, stderr="Failed to open journal: Permission denied\n", journal_file=str(empty))
    with pytest.raises(LogReadError) as info:
        read_logs(journal_units=["nginx.service"])
    assert "exited with status 1: Failed to open journal: Permission denied" in str(info.value)


def test_the_read_is_bounded_in_bytes(tmp_path, monkeypatch):
    _stand_in(tmp_path, monkeypatch)
    reader = logs._Reader(3, 10, None)
    report, warnings = journal.read_journal(["nginx.service"], reader, limit=5000)
    assert report["truncated"] is True and report["bytes"] <= 5000
    assert warnings and "stopped after 5000 bytes" in warnings[0]


def test_the_read_is_bounded_in_time(tmp_path, monkeypatch):
    _stand_in(tmp_path, monkeypatch, sleep=60, first=3000)
    reader = logs._Reader(3, 10, None)
    started = time.monotonic()
    report, warnings = journal.read_journal(["nginx.service"], reader, timeout=1)
    assert time.monotonic() - started < 20
    assert report["truncated"] is True and "longer than 1 s" in warnings[0]
    assert 0 < report["bytes"] <= 3000
