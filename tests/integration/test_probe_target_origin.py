# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every tls_probe result points back to where nginx uses the upstream (issue #9, contract 1).

One real ansible-playbook run: nginx_tls_info reads a configuration with ``nginx -T``, its
``probe_targets`` go to tls_probe unchanged (``targets: "{{ info.probe_targets }}"``), and each result
must carry its target's ``origin`` whose file:line is the ``proxy_pass`` of the location that really
gets that result.  Two configurations: the lab's own proxy (one location per scenario; ``healthy`` and
``local_config`` reach the same upstream with different settings), and one written here with two
locations toward the lab's SNI-gated upstream (SNI on: ok; off: sni_required) and a third location,
in another file, that shares the first one's settings.
"""

from __future__ import annotations

import json
import os
import re
import textwrap

import pytest

from tests.integration.playbook_cases import run_playbook
from tests.nginx_files import HEAD


def write_own_config(d, lab):
    sni = lab.scenarios["sni_required"]
    files = {
        "nginx.conf": HEAD + """\
                proxy_ssl_verify on;
                proxy_ssl_trusted_certificate {ca};
                proxy_ssl_verify_depth 9;
                proxy_ssl_name {name};
                include sites/*.conf;
            }
            """,
        "sites/a.conf": """\
            server {
                listen 127.0.0.1:1;
                server_name a.proxy.test;
                location /sni-on {
                    proxy_ssl_server_name on;
                    proxy_pass https://{host}:{port}/;
                }
                location /sni-off {
                    proxy_pass https://{host}:{port}/;
                }
            }
            """,
        "sites/b.conf": """\
            server {
                listen 127.0.0.1:2;
                server_name b.proxy.test;
                proxy_ssl_server_name on;
                location / {
                    proxy_pass https://{host}:{port}/;
                }
            }
            """,
    }
    os.makedirs(os.path.join(d, "tmp"), exist_ok=True)
    for rel, text in files.items():
        os.makedirs(os.path.dirname(os.path.join(d, rel)), exist_ok=True)
        with open(os.path.join(d, rel), "w") as handle:
            handle.write(textwrap.dedent(text).replace("{d}", d).replace("{ca}", lab.info["ca_file"])
                         .replace("{name}", sni["server_name"]).replace("{host}", sni["host"])
                         .replace("{port}", str(sni["port"])))
    return os.path.join(d, "nginx.conf")


@pytest.fixture(scope="module")
def run(lab, tmp_path_factory):
    """nginx_tls_info then tls_probe on its probe_targets, for the lab's config and ours, in one playbook."""
    d = str(tmp_path_factory.mktemp("origin"))
    own = write_own_config(os.path.join(d, "nginx"), lab)
    out = os.path.join(d, "results.json")
    tasks = []
    for key, config, prefix in (("lab", lab.path("nginx.conf"), lab.dir), ("own", own, os.path.dirname(own))):
        tasks += [
            {"name": "read " + key, "tlsops.handshake.nginx_tls_info": {"config": config, "prefix": prefix},
             "register": key + "_info"},
            {"name": "probe " + key, "tlsops.handshake.tls_probe": {
                "targets": "{{ %s_info.probe_targets }}" % key, "timeout": 3}, "register": key + "_probe"},
        ]
    tasks.append({"name": "write the results", "ansible.builtin.copy": {
        "dest": out, "mode": "0600",
        "content": "{{ {'lab_info': lab_info, 'lab_probe': lab_probe, 'own_info': own_info, "
                   "'own_probe': own_probe} | to_json }}"}})
    playbook = os.path.join(d, "origin.yml")
    with open(playbook, "w") as handle:
        json.dump([{"hosts": "localhost", "gather_facts": False, "tasks": tasks}], handle, indent=1)
    returncode, output = run_playbook(playbook, timeout=600)
    assert returncode == 0, output[-6000:]
    with open(out) as handle:
        return json.load(handle)


def location_at(loc):
    """The ``location`` block that holds line loc["line"] of loc["file"], read from the file itself, after
    checking that this line is the ``proxy_pass`` the origin names."""
    with open(loc["file"]) as handle:
        lines = handle.read().splitlines()
    assert lines[loc["line"] - 1].strip().startswith("proxy_pass %s;" % loc["proxy_pass"]), (loc, lines[loc["line"] - 1])
    for text in reversed(lines[:loc["line"] - 1]):
        match = re.match(r"\s*location\s+(.+?)\s*\{", text)
        if match:
            return match.group(1)
    return None


def check_unchanged(info, probe):
    """tls_probe's results follow the targets one for one and carry their names and origins unchanged."""
    targets, results = info["probe_targets"], probe["results"]
    assert [r["target"] for r in results] == [t["name"] for t in targets]
    assert [r["origin"] for r in results] == [t["origin"] for t in targets]
    assert len({t["name"] for t in targets}) == len(targets)


def test_every_lab_result_points_at_the_location_whose_upstream_it_probed(lab, run):
    check_unchanged(run["lab_info"], run["lab_probe"])
    wrong = {}
    for result in run["lab_probe"]["results"]:
        origin = result["origin"]
        assert origin["kind"] == "http" and origin["locations_omitted"] == 0
        for loc in origin["locations"]:
            assert loc["file"] == lab.path("nginx.conf") and loc["server_names"] == ["proxy.lab.test"]
            assert location_at(loc) == loc["location"]
            name = loc["location"].replace("= /", "")
            scenario = lab.scenarios[name]
            assert (result["host"], result["port"]) == (scenario["host"], scenario["port"]), name
            if result["cause"] != scenario["expected_cause"]:
                wrong[name] = (scenario["expected_cause"], result["cause"], result["detail"])
    assert not wrong, wrong
    # healthy and local_config: one upstream, two settings, two targets told apart by where they are used
    port = lab.scenarios["healthy"]["port"]
    shared = [r for r in run["lab_probe"]["results"] if r["port"] == port]
    assert sorted(r["origin"]["locations"][0]["location"] for r in shared) == ["= /healthy", "= /local_config"]
    assert all(r["target"].startswith("127.0.0.1:%d @ proxy.lab.test = /" % port) for r in shared)


def test_two_locations_toward_one_upstream_get_their_own_results(lab, run):
    check_unchanged(run["own_info"], run["own_probe"])
    sni = lab.scenarios["sni_required"]
    results = {r["target"]: r for r in run["own_probe"]["results"]}
    label = "%s:%d @ a.proxy.test" % (sni["host"], sni["port"])
    assert sorted(results) == [label + " /sni-off (sites/a.conf:9)", label + " /sni-on (sites/a.conf:6)"]
    on, off = results[label + " /sni-on (sites/a.conf:6)"], results[label + " /sni-off (sites/a.conf:9)"]
    assert (on["cause"], on["sni"]) == ("ok", True)
    assert (off["cause"], off["sni"]) == ("sni_required", False)
    assert [(os.path.basename(loc["file"]), loc["line"], location_at(loc), loc["server_names"])
            for loc in on["origin"]["locations"]] == [("a.conf", 6, "/sni-on", ["a.proxy.test"]),
                                                      ("b.conf", 6, "/", ["b.proxy.test"])]
    assert [(os.path.basename(loc["file"]), loc["line"], location_at(loc))
            for loc in off["origin"]["locations"]] == [("a.conf", 9, "/sni-off")]
