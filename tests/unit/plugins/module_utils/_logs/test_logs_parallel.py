# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One file read by several forked processes (_logs/parallel) gives what one reader gives, or is read
again by one reader when a part cannot stand alone; no child outlives the read.  Real forks, real files."""

from __future__ import annotations

import os
import pickle
import random
import signal

import pytest

from ansible_collections.tlsops.handshake.plugins.module_utils._logs import parallel, read as log_read
from ansible_collections.tlsops.handshake.plugins.module_utils._logs.read import LogReadError, read_logs
from tests.unit.plugins.module_utils._logs.test_logs_blocks import NOISE, TLS, _real_logs
from tests.unit.plugins.module_utils._logs.test_logs_since import _log

CLIENT_TLS = (b"2026/12/01 21:32:55 [info] 3070#3070: *90 SSL_do_handshake() failed (SSL: error:0A000102:SSL "
              b"routines::unsupported protocol) while SSL handshaking, client: 10.0.0.%d, server: 0.0.0.0:443\n")


@pytest.fixture
def spied(monkeypatch):
    """Every file is cut into parts however small; ``spied`` lists what parallel.read returned."""
    monkeypatch.setattr(parallel, "MIN_BYTES", 0)
    calls = []
    real = parallel.read

    def spy(*args):
        calls.append(real(*args))
        return calls[-1]
    monkeypatch.setattr(parallel, "read", spy)
    return calls


def _both(tmp_path, data, workers, **options):
    path = tmp_path / "error.log"
    path.write_bytes(data)
    alone = read_logs(paths=[str(path)], rotated=False, workers=1, now=0, **options)
    parted = read_logs(paths=[str(path)], rotated=False, workers=workers, now=0, **options)
    return parted, alone


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("workers", [2, 3, 8])
@pytest.mark.parametrize("since", [None, "2026-12-01T21:32:50", "2026-11-30T00:00:00"])
def test_parts_give_what_one_reader_gives(tmp_path, spied, seed, workers, since):
    rnd = random.Random(seed)
    data = _log(rnd, 800).replace(b"stderr P ", b"stderr F ")     # no split line: every part stands alone
    if since:       # nor a line without a time (as old as the line before it, maybe in the part before)
        untimed = (TLS[20:], b"\n", b"garbage SSL here\n")
        data = b"".join(line for line in data.splitlines(True) if line not in untimed)
    data += b"".join(CLIENT_TLS % rnd.randrange(40) for _line in range(200))
    data = b"2026/11/30 01:00:00 [warn] 1#1: *1 first\n" + data     # a time before any line without one
    parted, alone = _both(tmp_path, data, workers, since=since)
    assert parted == alone
    assert spied[-1] is True and spied[0] is False          # read in parts; workers=1 never is
    assert alone["lines_read"] == data.count(b"\n") and alone["events"]["total"] > 100
    assert alone["clients"] and (alone["unparsed"]["count"] > 0) is not since


@pytest.mark.parametrize("workers", [2, 5])
def test_real_captures_read_in_parts_or_again_alike(tmp_path, spied, workers):
    parted, alone = _both(tmp_path, _real_logs() * 3, workers)
    assert parted == alone and alone["events"]["total"] > 150
    assert spied[-1] is False       # the captures hold CRI lines split in P parts: read again by one reader


def test_a_split_line_across_parts_is_read_again_by_one_reader(tmp_path, spied):
    part = b"2026-12-01T21:32:49.000000000Z stderr P " + TLS[:70] + b"\n"
    rest = b"2026-12-01T21:32:49.000000000Z stderr F " + TLS[70:]
    data = NOISE * 40 + part + rest + NOISE * 40
    parted, alone = _both(tmp_path, data, 2)
    assert parted == alone and alone["events"]["total"] == 1 and alone["formats"] == {"cri": 1}
    assert spied[-1] is False


def test_a_line_without_a_time_at_a_part_start_is_read_again_with_since(tmp_path, spied):
    cut = TLS[20:]                          # the date gone: as old as the line before it
    old = NOISE.replace(b"2026/12/01", b"2026/11/01")
    data = old * 50 + cut * 200 + old * 50
    parted, alone = _both(tmp_path, data, 3, since="2026-11-15T00:00:00")
    assert parted == alone and alone["events"]["total"] == 0 and alone["lines_before_since"] == 300
    assert spied[-1] is False
    parted, alone = _both(tmp_path, data, 3)
    assert parted == alone and alone["events"]["total"] == 200 and spied[-1] is True


def test_more_distinct_messages_than_a_parts_share_are_read_again(tmp_path, spied, monkeypatch):
    monkeypatch.setattr(log_read, "MAX_PENDING", 10)
    data = b"".join(TLS.replace(b":37019/", b":%d/" % (30000 + index)) for index in range(40))
    parted, alone = _both(tmp_path, data, 2)
    assert parted == alone and len(alone["events"]["by_upstream"]) == 40
    assert spied[-1] is False


def test_a_child_that_dies_leaves_the_file_to_one_reader(tmp_path, spied, monkeypatch):
    real = parallel._read_part

    def dies_on_the_second_part(reader, fd, start, *args):
        if start:
            os.kill(os.getpid(), signal.SIGKILL)
        return real(reader, fd, start, *args)
    monkeypatch.setattr(parallel, "_read_part", dies_on_the_second_part)
    parted, alone = _both(tmp_path, NOISE * 100 + TLS * 100, 2)
    assert parted == alone and alone["events"]["total"] == 100
    assert spied[-1] is False


def test_no_child_outlives_an_interrupted_read(tmp_path, spied, monkeypatch, forked_pids):
    def interrupted(_source):
        raise KeyboardInterrupt()
    monkeypatch.setattr(pickle, "load", interrupted)
    path = tmp_path / "error.log"
    path.write_bytes(TLS * 1000)
    with pytest.raises(KeyboardInterrupt):
        read_logs(paths=[str(path)], rotated=False, workers=4)
    assert len(forked_pids) == 4
    for pid in forked_pids:
        with pytest.raises(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)     # already waited for: no zombie, no orphan


def test_parts_are_cut_at_line_ends_and_cover_the_file(tmp_path):
    long_line = b"2026/12/01 21:32:49 [error] 1#1: " + b"x" * 200000 + b"\n"
    data = NOISE * 3 + long_line + TLS * 5 + b"last line without its end"
    path = tmp_path / "error.log"
    path.write_bytes(data)
    with open(str(path), "rb") as fh:
        for workers in range(1, 9):
            parts = parallel.parts_of(fh.fileno(), len(data), workers)
            assert parts[0][0] == 0 and parts[-1][1] is None
            assert [start for start, _stop in parts[1:]] == [stop for _start, stop in parts[:-1]]
            assert all(data[start - 1:start] == b"\n" for start, _stop in parts[1:])
            assert len(parts) <= workers
        assert len(parallel.parts_of(fh.fileno(), len(data), 8)) == 2      # 7 cuts in the long line: one part
    path.write_bytes(TLS * 1000)
    with open(str(path), "rb") as fh:
        assert len(parallel.parts_of(fh.fileno(), len(TLS) * 1000, 8)) == 8
    path.write_bytes(b"x" * 5000)           # no line end at all: one part
    with open(str(path), "rb") as fh:
        assert parallel.parts_of(fh.fileno(), 5000, 4) == [(0, None)]


def test_compressed_and_small_files_are_read_by_one_reader(tmp_path):
    import gzip
    path = tmp_path / "error.log.1.gz"
    path.write_bytes(gzip.compress(TLS * 10))
    with open(str(path), "rb") as fh:
        stream = type("S", (), {"compression": "gzip", "fileno": fh.fileno})()
        assert parallel.read(None, None, stream, "auto", 0, 4) is False
    path = tmp_path / "small.log"
    path.write_bytes(TLS * 10)
    with open(str(path), "rb") as fh:
        stream = type("S", (), {"compression": None, "fileno": fh.fileno})()
        assert parallel.read(None, None, stream, "auto", 0, 4) is False


@pytest.mark.parametrize("workers", [0, 9, -1, True, "2", 1.5])
def test_workers_out_of_range_is_a_clear_error(tmp_path, workers):
    path = tmp_path / "error.log"
    path.write_bytes(TLS)
    with pytest.raises(LogReadError, match=r"^workers: must be a whole number from 1 to 8, got .*; 1 reads in one"):
        read_logs(paths=[str(path)], rotated=False, workers=workers)


def test_default_workers_is_the_processors_allowed_at_most_eight():
    assert parallel.default_workers() == max(1, min(len(os.sched_getaffinity(0)), 8))
