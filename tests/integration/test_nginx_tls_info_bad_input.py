# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""nginx_tls_info's bad-input table: the real module (and its action plugin) through one real
ansible-playbook run, with this machine's real nginx for ``nginx -T``.

Hostile files are real - FIFOs (os.mkfifo), /dev/zero, a directory, /proc/self/mem (a regular file
that fails with EIO: unreadable even for root) - as the main configuration, as an ``include``, as an
``ssl_certificate`` and as a ``proxy_ssl_trusted_certificate``.  Each case fails naming the option,
or succeeds with findings naming the file:line; never a traceback, never a hang (per-task timeout).
"""

from __future__ import annotations

import os
import shutil

import pytest

from tests import hazards
from tests.integration.playbook_cases import assert_clean_failure, assert_no_crash, run_cases

NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None)
FIFO = "a FIFO (named pipe)"
ZERO = "a character device"

pytestmark = pytest.mark.skipif(not NGINX, reason="needs the nginx binary (make deps)")


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    d = tmp_path_factory.mktemp("nginx_bad_input")
    key = hazards.private_key()
    cert = str(d / "cert.pem")
    with open(cert, "w") as handle:
        handle.write(hazards.self_signed(key))
    with open(str(d / "key.pem"), "w") as handle:
        handle.write(hazards.key_pem(key))
    fifo = hazards.make_fifo(d / "fifo")
    fifo_main = hazards.make_fifo(d / "fifo-main.conf")
    os.mkdir(str(d / "a-dir"))

    def conf(name, include="", certificate=cert, trusted=cert):
        # line 5: include; line 7: ssl_certificate; line 10: proxy_ssl_trusted_certificate
        text = ("pid {d}/nginx.pid;\nerror_log {d}/error.log;\nevents {}\nhttp {\n    %s\n"
                "    server { listen 127.0.0.1:1 ssl; server_name bad.lab.test;\n"
                "        ssl_certificate %s;\n        ssl_certificate_key {d}/key.pem;\n"
                "        location / { proxy_pass https://127.0.0.1:2; proxy_ssl_verify on;\n"
                "            proxy_ssl_trusted_certificate %s; }\n    }\n}\n"
                % (("include %s;" % include) if include else "", certificate, trusted)).replace("{d}", str(d))
        path = str(d / name)
        with open(path, "w") as handle:
            handle.write(text)
        return path

    confs = {"include_fifo": conf("include-fifo.conf", include=fifo),
             "include_zero": conf("include-zero.conf", include="/dev/zero"),
             "include_dir": conf("include-dir.conf", include=str(d / "a-dir")),
             "cert_fifo": conf("cert-fifo.conf", certificate=fifo),
             "cert_zero": conf("cert-zero.conf", certificate="/dev/zero"),
             "trusted_fifo": conf("trusted-fifo.conf", trusted=fifo),
             "trusted_zero": conf("trusted-zero.conf", trusted="/dev/zero")}
    cases = [
        ("config is a FIFO", {"config": fifo_main}),
        ("config is /dev/zero", {"config": "/dev/zero"}),
        ("config is a directory", {"config": str(d / "a-dir")}),
        ("config is unreadable", {"config": "/proc/self/mem", "source": "files"}),
        ("config is relative", {"config": "nginx.conf"}),
        ("include is a FIFO", {"config": confs["include_fifo"]}),
        ("include is /dev/zero", {"config": confs["include_zero"]}),
        ("include is a directory", {"config": confs["include_dir"], "source": "files"}),
        ("ssl_certificate is a FIFO", {"config": confs["cert_fifo"]}),
        ("ssl_certificate is /dev/zero", {"config": confs["cert_zero"]}),
        ("proxy_ssl_trusted_certificate is a FIFO", {"config": confs["trusted_fifo"]}),
        ("proxy_ssl_trusted_certificate is /dev/zero", {"config": confs["trusted_zero"]}),
        ("source nginx with a FIFO include", {"config": confs["include_fifo"], "source": "nginx"}),
        ("source files with a FIFO certificate", {"config": confs["cert_fifo"], "source": "files"}),
        ("nginx_path is a FIFO", {"nginx_path": fifo}),
        ("nginx_path is /dev/zero", {"nginx_path": "/dev/zero"}),
        ("prefix is a FIFO", {"prefix": fifo}),
        ("timeout negative", {"timeout": -1}),
        ("timeout huge", {"timeout": 1e30}),
        ("timeout not a number", {"timeout": "nan"}),
        ("timeout is words", {"timeout": "soon"}),
        ("chains negative", {"config": confs["include_dir"], "chains": {"x:443": -1}}),
        ("chains is a list", {"chains": ["x:443"]}),
        ("policy is words", {"policy": "strict"}),
        ("policy protocol unknown", {"policy": {"protocols": ["TLSv1.4"]}}),
        ("source unknown", {"source": "guess"}),
        ("nginx_version is words", {"config": confs["include_dir"], "source": "files", "nginx_version": "latest"}),
        ("an unknown option", {"confg": "/etc/nginx/nginx.conf"}),
    ]
    with hazards.released(fifo, fifo_main):
        ran = run_cases("nginx_tls_info", cases, d)
        results, output = ran.results, ran.output
    return {"dir": str(d), "fifo": fifo, "fifo_main": fifo_main, **confs}, results, output


def test_the_whole_run_has_no_traceback_and_no_hang(table):
    paths, results, output = table
    assert "Traceback" not in output
    for name, result in results.items():
        assert_no_crash(name, result)


@pytest.mark.parametrize("case, needles", [
    ("config is a FIFO", ["config: ", "fifo-main.conf is " + FIFO, "give the path of the main nginx configuration"]),
    ("config is /dev/zero", ["config: /dev/zero is " + ZERO]),
    ("config is a directory", ["config: ", "a-dir is a directory"]),
    ("config is unreadable", ["config: /proc/self/mem is unreadable (Input/output error)"]),
    ("config is relative", ["config: nginx.conf is relative"]),
    ("source nginx with a FIFO include", ["source: nginx -T was not run: ", "include-fifo.conf:5 include: ",
                                          "fifo is " + FIFO, "source=files"]),
    ("nginx_path is a FIFO", ["nginx_path: "]),
    ("nginx_path is /dev/zero", ["nginx_path: /dev/zero"]),
    ("prefix is a FIFO", ["prefix: "]),
    ("timeout negative", ["timeout: "]),
    ("timeout huge", ["timeout: "]),
    ("timeout not a number", ["timeout: "]),
    ("timeout is words", ["timeout"]),
    ("chains negative", ["chains[x:443]"]),
    ("chains is a list", ["chains"]),
    ("policy is words", ["policy"]),
    ("policy protocol unknown", ["policy.protocols"]),
    ("source unknown", ["source"]),
    ("nginx_version is words", ["nginx_version: 'latest'"]),
    ("an unknown option", ["confg"]),
])
def test_bad_input_fails_naming_the_option(table, case, needles):
    assert_clean_failure(case, table[1][case], *needles)


def _findings(result, code):
    return [f for f in result["findings"] if f["code"] == code]


@pytest.mark.parametrize("case, conf, line, directive, what", [
    ("include is a FIFO", "include_fifo", 5, "include", FIFO),
    ("include is /dev/zero", "include_zero", 5, "include", ZERO),
    ("ssl_certificate is a FIFO", "cert_fifo", 7, "ssl_certificate", FIFO),
    ("ssl_certificate is /dev/zero", "cert_zero", 7, "ssl_certificate", ZERO),
    ("proxy_ssl_trusted_certificate is a FIFO", "trusted_fifo", 10, "proxy_ssl_trusted_certificate", FIFO),
    ("proxy_ssl_trusted_certificate is /dev/zero", "trusted_zero", 10, "proxy_ssl_trusted_certificate", ZERO),
])
def test_nginx_dash_t_is_not_run_and_the_findings_name_file_and_line(table, case, conf, line, directive, what):
    paths, results, dummy_output = table
    result = results[case]
    assert not result.get("failed"), result
    assert result["source"] == "files" and result["config_test"]["skipped"] is True
    path = "/dev/zero" if what == ZERO else paths["fifo"]
    (untested,) = _findings(result, "config_not_tested")
    assert "nginx -T was not run: %s:%d %s: %s is %s" % (paths[conf], line, directive, path, what) \
        in untested["message"]
    code = "config_file_unreadable" if directive == "include" else "certificate_unreadable"
    found = _findings(result, code)
    assert found and all((f["file"], f["line"]) == (paths[conf], line) for f in found), found
    assert all(f["message"].startswith(path) and "it is %s" % what in f["message"] for f in found), found


def test_an_include_that_is_a_directory_is_named_at_its_line(table):
    paths, results, dummy_output = table
    result = results["include is a directory"]
    (found,) = _findings(result, "config_file_unreadable")
    assert (found["file"], found["line"]) == (paths["include_dir"], 5)
    assert found["message"] == "%s/a-dir could not be read: it is a directory" % paths["dir"]


def test_source_files_with_a_fifo_certificate_reads_nothing_from_it(table):
    paths, results, dummy_output = table
    result = results["source files with a FIFO certificate"]
    assert result["config_test"] is None and result["source"] == "files"
    (found,) = _findings(result, "certificate_unreadable")
    assert (found["file"], found["line"]) == (paths["cert_fifo"], 7) and FIFO in found["message"]
