# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The diagnose report shows tls_probe's handshake transcript (trace: true) for failed pairs only, in
report.json (an optional key the shipped schema accepts), report.md and report.html, escaped."""

from __future__ import annotations

import json

import jsonschema

from ansible_collections.tlsops.handshake.plugins.plugin_utils._diagnose import render_html, render_md, report as engine
from tests.unit.plugins.plugin_utils.diagnose_builders import NOW, host, probe, upstream_entry

U = "10.0.0.7:443"
OK = "10.0.0.8:443"
TRANSCRIPT = ["--- connection 1: the probe's handshake through ssl, with nginx's settings ---",
              ">>> TLS 1.2, Handshake [length 00cf], ClientHello",
              "    cipher_suites=ECDHE-RSA-AES128-GCM-SHA256 server_name=10.0.0.7",
              "<<< TLS 1.2, Alert [length 0002], fatal handshake_failure"]
HOSTILE_LINE = "<<< ```</pre><script>alert(1)</script>"


def _report(lines):
    failing, working = probe(U, "cipher_mismatch"), probe(OK)
    failing["trace_text"] = lines
    working["trace_text"] = ["<<< TLS 1.3, Handshake [length 007a], ServerHello"]
    return engine.build_report({"p1": host([failing, working], [upstream_entry(U), upstream_entry(OK)])}, now=NOW)


def _validate(report):
    with open(engine.SCHEMA_PATH) as handle:
        schema = json.load(handle)
    jsonschema.Draft202012Validator(schema).validate(json.loads(json.dumps(report)))


def test_a_failed_pair_carries_its_transcript_and_a_working_one_does_not():
    report = _report(TRANSCRIPT)
    _validate(report)
    assert report["schema_version"] == 1
    by_upstream = {p["upstream"]: p for p in report["pairs"]}
    assert by_upstream[U]["trace"] == TRANSCRIPT
    assert "trace" not in by_upstream[OK]
    markdown = render_md.render(report)
    assert "## Handshake transcripts of the failing pairs (tls_probe trace)" in markdown
    assert "```text\n" + "\n".join(TRANSCRIPT) + "\n```" in markdown
    page = render_html.render(report)
    assert "handshake transcript" in page and "fatal handshake_failure" in page and "ServerHello" not in page


def test_without_trace_the_report_has_no_transcript():
    report = engine.build_report({"p1": host([probe(U, "cipher_mismatch")], [upstream_entry(U)])}, now=NOW)
    _validate(report)
    assert all("trace" not in p for p in report["pairs"])
    assert "Handshake transcripts" not in render_md.render(report)


def test_a_hostile_transcript_line_cannot_close_the_block_or_inject_html():
    report = _report(TRANSCRIPT + [HOSTILE_LINE])
    _validate(report)
    markdown = render_md.render(report)
    block = markdown.split("## Handshake transcripts", 1)[1]
    assert "````text\n" + "\n".join(TRANSCRIPT + [HOSTILE_LINE]) + "\n````\n" in block
    page = render_html.render(report)
    assert "<script>alert(1)" not in page and "&lt;/pre&gt;&lt;script&gt;" in page
