# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Parsers of chronyc / timedatectl / ntpq output, on output captured here (see fixtures/clock/README.md)."""

from __future__ import annotations

import os

import pytest

from ansible_collections.tlsops.handshake.plugins.module_utils._clock import daemons as d

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fixtures", "clock")


def fixture(name):
    with open(os.path.join(FIXTURES, name)) as handle:
        return handle.read()


# ------------------------------------------------------------------ chrony (captured)


def test_chrony_synchronised_client():
    status = d.chrony_from_output(fixture("chronyc-tracking-synced.csv"), fixture("chronyc-sources-synced.csv"))
    assert status["synchronized"] is True and status["reason"] is None
    assert status["answered"] and status["running"]
    assert status["source"] == "127.0.0.1" and status["stratum"] == 9 and status["leap"] == "none"
    assert status["reference_id"] == "7F000001"
    # "System time": -0.000000603 s, i.e. 603 ns fast of NTP time -> -0.000603 ms (true minus local)
    assert status["offset_ms"] == pytest.approx(-0.000603)
    assert status["root_delay_ms"] == pytest.approx(0.001279)
    [source] = status["sources"]
    assert source["selected"] and source["state"] == "selected" and source["mode"] == "server"
    assert source["name"] == "127.0.0.1" and source["stratum"] == 8 and source["reach"] == "377"


def test_chrony_system_time_sign_is_true_minus_local():
    # chronyd followed a server 90 s ahead: "90.000015259 seconds slow of NTP time"
    text = fixture("chronyc-tracking-behind90.txt")
    assert "seconds slow of NTP time" in text
    status = d.chrony_from_output(fixture("chronyc-tracking-behind90.csv"), fixture("chronyc-sources-behind90.csv"))
    assert status["offset_ms"] == pytest.approx(90000.015, abs=0.01)
    assert status["synchronized"] and status["stratum"] == 4


def test_chrony_source_offsets_are_negated():
    # noselect source 90 s ahead: chrony prints -90.0 s (local minus source); we report +90000 ms
    [source] = d.parse_chrony_sources(fixture("chronyc-sources-noselect-ahead90.csv"))
    assert "-90.0" in fixture("chronyc-sources-noselect-ahead90.txt")
    assert source["offset_ms"] == pytest.approx(90000.0, abs=1)
    assert source["selected"] is False and source["state"] == "unusable"


def test_chrony_local_reference_is_not_synchronised():
    status = d.chrony_from_output(fixture("chronyc-tracking-local.csv"), fixture("chronyc-sources-local.csv"))
    assert status["synchronized"] is False
    assert status["reason"] == ": its only reference is its own clock (local stratum 8)"
    assert status["source"] == "LOCL" and status["sources"] == []


def test_chrony_unsynchronised():
    status = d.chrony_from_output(fixture("chronyc-tracking-unsynced.csv"), fixture("chronyc-sources-unsynced.csv"))
    assert status["synchronized"] is False and status["leap"] == "unsynchronized"
    assert status["reason"] == ": no usable source (1 configured, 0 usable)"
    [source] = status["sources"]
    assert source["last_rx_s"] is None and source["reach"] == "0"


def test_chrony_not_answering():
    status = d.chrony_from_output(fixture("chronyc-no-daemon.txt"), "")
    assert status["answered"] is False and status["error"] == "Could not open connection to daemon"


def test_chrony_human_output_is_not_csv():
    assert d.parse_chrony_tracking(fixture("chronyc-tracking-synced.txt")) is None
    assert d.parse_chrony_sources(fixture("chronyc-sources-synced.txt")) == []


def test_chrony_leap_insert_written_by_hand():
    # not captured: chronyd sets a leap status only on the last day of June or December
    line = fixture("chronyc-tracking-synced.csv").strip().rsplit(",", 1)[0] + ",Insert second\n"
    status = d.chrony_from_output(line, "")
    assert status["leap"] == "insert_second" and status["synchronized"]


# ------------------------------------------------------------------ systemd-timesyncd


def test_timesyncd_captured_without_timedated():
    status = d.timesyncd_from_output("", fixture("timedatectl-show-timesync.txt"),
                                     fixture("timedatectl-timesync-status.txt"))
    assert status["answered"] and status["source"] == "127.0.0.1"
    assert status["stratum"] == 2 and status["leap"] == "none"
    assert status["offset_ms"] == pytest.approx(0.393)  # "Offset: +393us"
    assert status["root_delay_ms"] == pytest.approx(0.488)  # RootDelay=488us
    assert status["root_dispersion_ms"] == pytest.approx(0.991)
    assert status["synchronized"] is True  # judged from the accepted reply (no timedated)
    assert status["servers_configured"] == ["127.0.0.1"]
    assert status["fallback_servers"][0] == "0.debian.pool.ntp.org"


def test_timesyncd_with_timedated_fixtures():
    # timedatectl-show.doc.txt is written from the documentation; the others are captured
    synced = d.timesyncd_from_output(fixture("timedatectl-show.doc.txt"), fixture("timedatectl-show-timesync.txt"),
                                     fixture("timedatectl-timesync-status.txt"))
    assert synced["synchronized"] is True and synced["reason"] is None
    # captured for real in a systemd container without a time daemon: NTP=no
    off = d.timesyncd_from_output(fixture("timedatectl-show-unsynced.txt"), "", "")
    assert off["synchronized"] is False and "set-ntp" in off["reason"]
    unsynced = d.timesyncd_from_output("CanNTP=yes\nNTP=yes\nNTPSynchronized=no\n", "", "")
    assert unsynced["synchronized"] is False and "NTPSynchronized=no" in unsynced["reason"]


def test_timesyncd_failed_show_is_ignored():
    assert d.parse_properties(fixture("timedatectl-show-no-timedated.txt")) == {}


def test_ntp_message():
    props = d.parse_properties(fixture("timedatectl-show-timesync.txt"))
    message = d.parse_ntp_message(props["NTPMessage"])
    assert message["Leap"] == "0" and message["Stratum"] == "2" and message["PacketCount"] == "1"
    assert message["Reference"] == "7F000001"


@pytest.mark.parametrize("text, seconds", [
    ("+287us", 287e-6), ("-1.235ms", -1.235e-3), ("0", 0.0), ("+1min 30.000015s", 90.000015),
    ("-1h 2min", -3720.0), ("2d", 172800.0), ("+5\u00b5s", 5e-6), ("", None), ("fast", None), ("3 parsecs", None),
])
def test_parse_timespan(text, seconds):
    got = d.parse_timespan(text)
    if seconds is None:
        assert got is None
    else:
        assert got == pytest.approx(seconds)


# ------------------------------------------------------------------ ntpd (documentation fixtures)


def test_ntpq_peers_doc_fixture():
    peers = d.parse_ntpq_peers(fixture("ntpq-pn.doc.txt"))
    assert [p["state"] for p in peers] == ["selected", "candidate", "outlier", "rejected", "rejected"]
    assert peers[0]["name"] == "192.0.2.10" and peers[0]["refid"] == ".GPS." and peers[0]["stratum"] == 1
    assert peers[0]["offset_ms"] == pytest.approx(-0.089) and peers[1]["offset_ms"] == pytest.approx(0.123)
    assert peers[3]["mode"] == "pool"


def test_ntpd_synchronised_doc_fixture():
    status = d.ntpd_from_output(fixture("ntpq-pn.doc.txt"), fixture("ntpq-rv.doc.txt"))
    assert status["synchronized"] is True and status["source"] == "192.0.2.10"
    assert status["stratum"] == 2 and status["leap"] == "none"
    assert status["offset_ms"] == pytest.approx(-0.089123)
    assert status["root_delay_ms"] == pytest.approx(0.412) and status["root_dispersion_ms"] == pytest.approx(1.205)


def test_ntpd_unsynchronised_doc_fixture():
    status = d.ntpd_from_output(fixture("ntpq-pn-unsynced.doc.txt"), fixture("ntpq-rv-unsynced.doc.txt"))
    assert status["synchronized"] is False and status["leap"] == "unsynchronized"
    assert "no system peer" in status["reason"]


def test_ntpd_not_answering():
    status = d.ntpd_from_output("localhost: timed out, nothing received\n***Request timed out\n", "")
    assert status["answered"] is False and "timed out" in status["error"]


# ------------------------------------------------------------------ process table and selection


def _proc(tmp_path, pid, comm, state="S", cmdline=None):
    base = tmp_path / str(pid)
    base.mkdir()
    (base / "comm").write_text(comm + "\n")
    (base / "stat").write_text("%d (%s) %s 1 1 1" % (pid, comm, state))
    (base / "cmdline").write_text(cmdline or comm + "\0")


def test_scan_processes(tmp_path):
    _proc(tmp_path, 10, "chronyd")
    _proc(tmp_path, 11, "systemd-timesyn", cmdline="/lib/systemd/systemd-timesyncd\0")
    _proc(tmp_path, 12, "ntpd", state="Z")  # a zombie is not a running daemon
    _proc(tmp_path, 13, "bash")
    _proc(tmp_path, 14, "python3", cmdline="/usr/sbin/ntpd\0-g\0")
    (tmp_path / "self").mkdir()
    assert d.scan_processes(str(tmp_path)) == {"chrony": [10], "systemd-timesyncd": [11], "ntpd": [14]}
    assert d.scan_processes(str(tmp_path / "missing")) == {}


def test_detect_asks_only_running_daemons(tmp_path):
    statuses = d.detect({"proc_path": str(tmp_path), "chronyc_path": str(tmp_path / "nope")}, processes={})
    assert [s["name"] for s in statuses] == ["chrony", "systemd-timesyncd", "ntpd"]
    assert not any(s["running"] for s in statuses)
    assert d.primary(statuses)["name"] == "none"


def test_detect_running_but_client_missing(tmp_path):
    statuses = d.detect({"chronyc_path": str(tmp_path / "nope")}, processes={"chrony": [42]})
    chrony = statuses[0]
    assert chrony["running"] and not chrony["answered"] and chrony["pids"] == [42]
    assert chrony["reason"] == ": chronyc not found"
    assert d.primary(statuses) is chrony


def test_primary_prefers_synchronised():
    chrony = d.daemon_status("chrony", running=True)
    timesyncd = d.daemon_status("systemd-timesyncd", running=True, answered=True)
    timesyncd["synchronized"] = True
    assert d.primary([chrony, timesyncd, d.daemon_status("ntpd")]) is timesyncd


# ------------------------------------------------------------------ run_command, with real programs

def test_run_command_returns_what_the_program_printed():
    rc, out, err = d.run_command(["/bin/sh", "-c", "printf 'tracking\\n'; printf 'warn\\n' >&2; exit 3"])
    assert (rc, out, err) == (3, "tracking\n", "warn\n")


def test_run_command_stops_a_program_that_prints_without_end():
    """A wrong binary in chronyc_path (``yes``): the output is capped, the program killed, the reason said."""
    rc, out, err = d.run_command(["yes"], limit=1 << 16)
    assert rc is None and out == "" and "yes printed more than 65536 bytes" in err


def test_run_command_stops_a_program_that_does_not_end():
    rc, _out, err = d.run_command(["sleep", "30"], timeout=0.5)
    assert rc is None and err == "sleep did not answer within 0.5 s"


def test_run_command_names_a_program_that_cannot_run(tmp_path):
    rc, _out, err = d.run_command([str(tmp_path / "chronyc")])
    assert rc is None and err.startswith(str(tmp_path / "chronyc") + ": ")
