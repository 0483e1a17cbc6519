# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""handshake_log_info through real Ansible on the error logs of the lab's real nginx.

Upstream side: one GET per reproducible scenario through the lab's reverse proxy, then the module on
the proxy's error log.  Client side: real bad handshakes against one of the lab's nginx TLS
listeners, sent from distinct loopback addresses, then the module on that nginx's error log.
The lab is shared by the whole session, so every count is the difference between a run before and
a run after this module's own traffic.
"""

from __future__ import annotations

import gzip
import os
import shutil
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request
import warnings
from concurrent.futures import ThreadPoolExecutor

import pytest

from ansible_collections.tlsops.handshake.plugins.module_utils._common import causes
from tests.integration.helpers import run_module, scenarios as lab_scenarios


def _run(paths, **extra):
    args = {"paths": paths, "rotated": False, "top_clients": 50}
    args.update(extra)
    res = run_module("handshake_log_info", args)
    assert not res["failed"], res
    return res


def _count(res, *keys):
    node = res
    for key in keys:
        node = (node or {}).get(key)
    if isinstance(node, dict):
        return node.get("count", 0)
    return node or 0


def _fetch(url):
    try:
        with urllib.request.urlopen(url, timeout=15) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


@pytest.fixture(scope="module")
def proxied(lab):
    """Module runs before and after one GET per reproducible scenario through the lab's proxy."""
    names = [n for n, s in lab_scenarios(lab) if s.get("nginx_reproducible")]
    log = lab.info["proxy"]["error_log"]
    before = _run([log], samples=0)
    with ThreadPoolExecutor(max_workers=16) as pool:
        statuses = dict(zip(names, pool.map(lambda n: _fetch(lab.info["proxy"]["url"] + n), names)))
    time.sleep(0.5)     # nginx writes the line as the request ends
    after = _run([log], samples=50)
    return names, statuses, before, after


def test_every_scenario_lands_in_its_cause_and_upstream(lab, proxied):
    names, statuses, before, after = proxied
    assert len(names) >= 25
    in_groups = {}
    unknown = []
    for name in names:
        sc = lab.scenarios[name]
        key = "127.0.0.1:%d" % sc["port"]
        if sc["expected_cause"] == "unknown":      # nothing names it: an event of cause unknown, never guessed
            unknown.append(name)
        delta = _count(after, "events", "by_upstream", key) - _count(before, "events", "by_upstream", key)
        assert delta == 1, (name, key, statuses[name], after["events"]["by_upstream"].get(key))
        new = dict(after["events"]["by_upstream"][key]["causes"])
        for cause, n in (before["events"]["by_upstream"].get(key) or {}).get("causes", {}).items():
            new[cause] -= n
        (cause,) = [c for c, n in new.items() if n]
        group = after["events"]["by_cause"][cause]
        assert sc["expected_cause"] == cause or sc["expected_cause"] in group.get("candidates", ()), \
            (name, sc["expected_cause"], cause, group.get("candidates"))
        assert key in group["upstreams"]
        assert any('"GET /%s HTTP/1.1"' % name in line for line in group["samples"]), name
        in_groups[cause] = in_groups.get(cause, 0) + 1
    for cause, n in in_groups.items():
        assert _count(after, "events", "by_cause", cause) - _count(before, "events", "by_cause", cause) == n, cause
    assert after["events"]["total"] - before["events"]["total"] == sum(in_groups.values())
    assert after["unparsed"]["count"] == before["unparsed"]["count"]      # every nginx line is an event
    if unknown:         # ... carrying what OpenSSL (or nginx) said
        assert after["events"]["by_cause"]["unknown"]["reasons"]
    assert _count(after, "events", "by_side", "upstream") - _count(before, "events", "by_side", "upstream") == \
        sum(in_groups.values())
    assert _count(after, "events", "by_side", "client") == _count(before, "events", "by_side", "client") == 0


def test_ambiguous_groups_say_what_else_they_may_be(proxied):
    after = proxied[3]
    by_cause = after["events"]["by_cause"]
    alert40 = by_cause["cipher_mismatch"]
    assert alert40["ambiguous"] >= 4 and set(alert40["candidates"]) >= {"group_mismatch", "client_cert_required"}
    assert "tls_probe" in alert40["note"]
    issuer = by_cause["cert_chain_incomplete"]
    assert set(issuer["verify_codes"]) >= {"20", "21"} and "verify_depth_exceeded" in issuer["candidates"]
    for group in by_cause.values():
        assert group["title"] and group["fix"]
        assert group["first_seen"] <= group["last_seen"]


def _bad_client(source, port, kind):
    sock = socket.socket()
    sock.bind((source, 0))
    sock.settimeout(5)
    try:
        sock.connect(("127.0.0.1", port))
        if kind == "plain_http":
            sock.sendall(b"GET / HTTP/1.0\r\nHost: healthy.lab.test\r\n\r\n")
            sock.recv(4096)
        elif kind == "tls1_1":
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                ctx.minimum_version = ssl.TLSVersion.TLSv1
                ctx.maximum_version = ssl.TLSVersion.TLSv1_1
            ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
            with pytest.raises(ssl.SSLError):
                ctx.wrap_socket(sock, server_hostname="healthy.lab.test")
        elif kind == "giant_record":
            sock.sendall(b"\x16\x03\x01\xff\xff" + b"\x00" * 200)
            sock.recv(4096)
    finally:
        sock.close()


@pytest.fixture(scope="module")
def bad_clients(lab):
    """Real bad client handshakes against the healthy scenario's nginx TLS listener."""
    log = lab.info["nginx_error_log"]
    port = lab.scenarios["healthy"]["port"]
    before = _run([log], samples=0)
    plan = [("127.0.0.2", "plain_http")] * 3 + [("127.0.0.3", "tls1_1")] * 2 + [("127.0.0.4", "giant_record")]
    for source, kind in plan:
        _bad_client(source, port, kind)
    s_client = shutil.which("openssl")
    if s_client:    # the classic: a TLS 1.1-only client against a TLSv1.2+ server (from 127.0.0.1)
        subprocess.run([s_client, "s_client", "-connect", "127.0.0.1:%d" % port, "-tls1_1",
                        "-servername", "healthy.lab.test"], input=b"", capture_output=True, timeout=15, check=False)
    time.sleep(0.5)
    after = _run([log], samples=10)
    return before, after, bool(s_client)


def test_client_side_failures_and_their_clients(bad_clients):
    before, after, with_s_client = bad_clients
    old = dict((c["address"], c) for c in before["clients"])
    new = dict((c["address"], c) for c in after["clients"])

    def delta(address):
        return new[address]["count"] - (old[address]["count"] if address in old else 0)
    assert delta("127.0.0.2") == 3 and new["127.0.0.2"]["causes"]["not_tls"] >= 3
    assert delta("127.0.0.3") == 2 and new["127.0.0.3"]["causes"]["protocol_mismatch"] >= 2
    assert delta("127.0.0.4") == 1 and new["127.0.0.4"]["causes"]["not_tls"] >= 1
    sent = 6 + (1 if with_s_client else 0)
    assert _count(after, "events", "by_side", "client") - _count(before, "events", "by_side", "client") == sent
    client_side = after["events"]["by_side"]["client"]
    assert client_side["causes"]["protocol_mismatch"] >= 2 + (1 if with_s_client else 0)
    assert after["events"]["by_cause"]["protocol_mismatch"]["sides"]["client"] >= 2
    assert after["events"]["by_cause"]["not_tls"]["fix"][-1] == causes.CLIENT_SIDE_FIX
    assert all(c["count"] >= n["count"] for c, n in zip(after["clients"], after["clients"][1:]))


def test_rotated_gzip_copy_through_ansible(lab, proxied, tmp_path):
    log = tmp_path / "error.log"
    shutil.copy(lab.info["proxy"]["error_log"], str(log))
    with open(str(log), "rb") as src, gzip.open(str(tmp_path / "error.log.2.gz"), "wb") as dst:
        shutil.copyfileobj(src, dst)
    os.utime(str(tmp_path / "error.log.2.gz"), (time.time() - 86400,) * 2)
    single = _run([str(log)])
    both = _run([str(log)], rotated=True)
    assert [f["compression"] for f in both["files"]] == ["gzip", None]
    assert both["lines_read"] == 2 * single["lines_read"]
    assert both["events"]["total"] == 2 * single["events"]["total"]
    for cause, group in single["events"]["by_cause"].items():
        assert both["events"]["by_cause"][cause]["count"] == 2 * group["count"]


def test_since_check_mode_and_bad_input_through_ansible(lab, proxied):
    log = lab.info["proxy"]["error_log"]
    res = run_module("handshake_log_info", {"paths": [log], "since": "2099-01-01T00:00:00"}, check=True)
    assert not res["failed"] and res["changed"] is False
    assert res["events"]["total"] == 0 and res["lines_read"] == 0         # not modified since then: not read
    assert res["files"][0]["skipped"].startswith("not modified since 2099-01-01T00:00:00")
    res = run_module("handshake_log_info", {"paths": [log], "since": "10m"})    # this module's GETs are recent
    assert not res["failed"] and res["since"] and res["events"]["total"] > 0
    for args, start in (({"paths": [log], "since": "yesterday"}, "since: "),
                        ({"paths": [log], "samples": -1}, "samples: "),
                        ({"paths": ["/nonexistent/error.log*"]}, "paths: no readable nginx error log")):
        res = run_module("handshake_log_info", args)
        assert res["failed"] and res["msg"].startswith(start), res
    res = run_module("handshake_log_info", {"paths": [log, "/nonexistent/error.log"]})
    assert not res["failed"] and res["missing"] == ["/nonexistent/error.log"]


def test_a_large_log_read_in_parts_through_ansible_gives_the_one_process_result(lab, proxied, tmp_path):
    """The lab proxy's real log, repeated past parallel.MIN_BYTES (16 MiB): read by four forked workers
    and by one process, whole and with since, through Ansible."""
    with open(lab.info["proxy"]["error_log"], "rb") as fh:
        real = fh.read()
    assert real.count(b"SSL_do_handshake") > 10
    log = tmp_path / "error.log"
    with open(str(log), "wb") as fh:
        for _copy in range((17 << 20) // len(real) + 1):
            fh.write(real)
    for since in (None, time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(time.time() - 600))):
        extra = {"since": since} if since else {}
        one = _run([str(log)], workers=1, **extra)
        four = _run([str(log)], workers=4, **extra)
        assert four == one and one["events"]["total"] > 1000 and one["lines_read"] > 50000
    res = run_module("handshake_log_info", {"paths": [str(log)], "workers": 0})
    assert res["failed"] and res["msg"].startswith("workers: must be a whole number from 1 to 8, got 0"), res


@pytest.mark.skipif(not os.path.exists("/usr/sbin/nginx"), reason="needs nginx (make deps)")
def test_a_relative_error_log_is_where_nginx_puts_it_under_its_prefix(tmp_path):
    """Real nginx: with the configuration in one directory and -p another, `error_log logs/error.log` is
    created under the prefix (nginx -t opens it); read_logs finds it there with `prefix`, and without it
    looks beside the configuration and says so."""
    conf_dir, prefix = tmp_path / "conf", tmp_path / "prefix"
    for directory in (conf_dir, prefix / "logs"):
        directory.mkdir(parents=True)
    conf = conf_dir / "nginx.conf"
    conf.write_text("error_log logs/error.log notice;\npid %s;\nevents {}\n" % (tmp_path / "nginx.pid"))
    checked = subprocess.run(["/usr/sbin/nginx", "-t", "-p", str(prefix), "-c", str(conf)],
                             capture_output=True, text=True, timeout=30, check=False)
    assert checked.returncode == 0, checked.stderr
    assert (prefix / "logs" / "error.log").exists() and not (conf_dir / "logs").exists()

    res = _run(None, config=str(conf), prefix=str(prefix))
    assert [entry["path"] for entry in res["files"]] == [str(prefix / "logs" / "error.log")]
    assert not any("is relative" in w for w in res.get("warnings", []))

    res = run_module("handshake_log_info", {"config": str(conf)})
    assert res["failed"] and "paths: no readable nginx error log among %s" % (conf_dir / "logs" / "error.log") in res["msg"]
