# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one file reader refuses what is not a regular file and never trusts a size it did not read."""

from __future__ import annotations

import os
import socket
import threading
import time

import pytest

from ansible_collections.tlsops.handshake.plugins.module_utils._common import safe_files as safe


def test_reads_a_regular_file(tmp_path):
    path = tmp_path / "a.conf"
    path.write_bytes(b"events {}\n\xff")
    assert safe.read_bytes(str(path), 100) == b"events {}\n\xff"
    assert safe.read_text(str(path), 100) == "events {}\n\ufffd"


def test_a_fifo_is_refused_at_once_without_a_writer(tmp_path):
    fifo = tmp_path / "include.conf"
    os.mkfifo(str(fifo))
    started = time.monotonic()
    with pytest.raises(safe.FileRefused) as info:
        safe.read_bytes(str(fifo), 100, where="nginx.conf:12")
    assert time.monotonic() - started < 1.0
    assert str(info.value).startswith("nginx.conf:12: %s is a FIFO" % fifo)
    with pytest.raises(safe.FileRefused):
        safe.open_binary(str(fifo))


def test_dev_zero_is_refused_not_read():
    with pytest.raises(safe.FileRefused) as info:
        safe.read_bytes("/dev/zero", 1 << 20, where="ca_file")
    assert "ca_file: /dev/zero is a character device" in str(info.value)


def test_a_directory_a_socket_and_a_missing_file_are_named(tmp_path):
    with pytest.raises(safe.FileRefused, match="is a directory"):
        safe.read_bytes(str(tmp_path), 10)
    sock_path = str(tmp_path / "s.sock")
    server = socket.socket(socket.AF_UNIX)
    server.bind(sock_path)
    try:
        with pytest.raises(safe.FileRefused, match="is a socket"):
            safe.read_bytes(sock_path, 10)
    finally:
        server.close()
    with pytest.raises(safe.FileRefused, match="is missing"):
        safe.read_bytes(str(tmp_path / "nope"), 10, where="path")


def test_the_cap_is_measured_by_reading_not_by_stat(tmp_path):
    path = tmp_path / "big.pem"
    path.write_bytes(b"x" * 101)
    with pytest.raises(safe.FileRefused, match="larger than 100 bytes"):
        safe.read_bytes(str(path), 100)
    assert len(safe.read_bytes(str(path), 101)) == 101
    # /proc files report size 0 and still have content
    assert safe.read_bytes("/proc/self/status", 1 << 20).startswith(b"Name:")


def test_a_file_growing_while_read_stops_at_the_cap(tmp_path):
    path = tmp_path / "growing.log"
    path.write_bytes(b"")
    stop = threading.Event()

    def grow():
        with open(str(path), "ab") as handle:
            while not stop.is_set():
                handle.write(b"y" * 65536)
                handle.flush()
    writer = threading.Thread(target=grow)
    writer.start()
    try:
        time.sleep(0.05)
        try:
            data = safe.read_bytes(str(path), 1 << 16)
            assert len(data) <= 1 << 16
        except safe.FileRefused as exc:
            assert "larger than 64 KiB" in str(exc)
    finally:
        stop.set()
        writer.join()


def test_open_binary_streams_a_regular_file_in_blocking_mode(tmp_path):
    path = tmp_path / "error.log"
    path.write_bytes(b"line 1\nline 2\n")
    with safe.open_binary(str(path)) as handle:
        assert os.get_blocking(handle.fileno())
        assert handle.readline() == b"line 1\n"


def test_is_regular(tmp_path):
    fifo = tmp_path / "f"
    os.mkfifo(str(fifo))
    assert not safe.is_regular(str(fifo))
    assert not safe.is_regular(str(tmp_path / "missing"))
    assert safe.is_regular(__file__)
