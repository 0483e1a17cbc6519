# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The report's three files: report.json against the shipped JSON Schema, report.md and report.html
escaping hostile text, report.html self-contained, and the atomic writes of the action plugin."""

from __future__ import annotations

import base64
import hashlib
import html.parser
import json
import os
import re

import jsonschema
import pytest

from ansible_collections.tlsops.handshake.plugins.action import diagnose_report as action
from ansible_collections.tlsops.handshake.plugins.module_utils._common import causes as _causes
from ansible_collections.tlsops.handshake.plugins.plugin_utils._diagnose import render_html, render_md, report as engine
from tests.unit.plugins.plugin_utils.diagnose_builders import NOW, cert, host, logs, probe, upstream_entry

U = "10.0.0.7:443"
HOSTILE = '<script>alert(1)</script>"><img src=x onerror=alert(2)>|`[x](javascript:alert(3))'


def validate(report):
    with open(engine.SCHEMA_PATH) as handle:
        schema = json.load(handle)
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.Draft202012Validator(schema).validate(json.loads(json.dumps(report)))


def fleet():
    """Every kind of row: failing, ok, clock skew, intermittent, client noise, certificates, unreachable."""
    clients = [{"address": "198.51.100.9", "count": 3, "causes": {"not_tls": 3}}]
    return {
        "p1": host([probe(U, "sni_required", sni=False, certificate=cert()), probe("10.0.0.8:443")],
                   [upstream_entry(U, server_name_on=False), upstream_entry("10.0.0.8:443")],
                   logs=logs({"10.0.0.8:443": {"connection_reset": 2}}, client={"not_tls": 3}, clients=clients)),
        "p2": host([probe(U, certificate=cert())], offset_ms=-90000.0),
        "p3": {"reachable": False, "unreachable_msg": "timeout"},
    }


def hostile_fleet():
    up = "evil.example:443"
    result = probe(up, "cert_expired", server_name=HOSTILE, name=HOSTILE, certificate=cert(subject="CN=" + HOSTILE))
    result["detail"] = result["nginx_error"] = HOSTILE
    result["fix"] = [HOSTILE]
    result["evidence"] = [HOSTILE]
    clients = [{"address": HOSTILE, "count": 1, "causes": {"not_tls": 1}}]
    entry = upstream_entry(up, location=HOSTILE)
    entry["locations"][0]["server_names"] = [HOSTILE]
    return {HOSTILE: host([result], [entry], logs=logs({up: {"cert_expired": 1}}, client={"not_tls": 1}, clients=clients)),
            "p2": host([probe(up, "cert_expired")])}


@pytest.mark.parametrize("hosts", [fleet(), hostile_fleet(), {"p1": None}, {"p1": host([])}], ids=["fleet", "hostile", "unreachable", "empty"])
def test_reports_validate_against_the_shipped_schema(hosts):
    validate(engine.build_report(hosts, {"group": "proxies", "since": "24h"}, now=NOW))


def test_the_schema_rejects_an_unknown_key_and_a_wrong_type():
    report = engine.build_report(fleet(), now=NOW)
    report["pairs"][0]["extra"] = 1
    with pytest.raises(jsonschema.ValidationError, match="extra"):
        validate(report)
    report = engine.build_report(fleet(), now=NOW)
    report["summary"]["status"] = "fine"
    with pytest.raises(jsonschema.ValidationError, match="fine"):
        validate(report)


def test_every_cause_in_a_report_is_a_cause_of_the_vocabulary():
    report = engine.build_report(fleet(), now=NOW)
    causes = [p["cause"] for p in report["pairs"]] + [f["cause"] for f in report["findings"]]
    assert causes and set(causes) <= set(_causes.CAUSE_CODES)


class _Tags(html.parser.HTMLParser):
    def __init__(self):
        html.parser.HTMLParser.__init__(self)
        self.tags, self.attributes, self.text = set(), [], []

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        self.attributes.extend(attrs)

    def handle_data(self, data):
        self.text.append(data)


ALLOWED_TAGS = {"html", "head", "meta", "title", "style", "body", "header", "h1", "h2", "h3", "p", "b", "span", "div", "nav",
                "a", "section", "table", "tr", "th", "td", "ul", "li", "article", "dl", "dt", "dd", "pre", "code", "svg", "g",
                "text", "rect", "line", "footer"}


def test_hostile_names_and_log_text_cannot_inject_html():
    page = render_html.render(engine.build_report(hostile_fleet(), now=NOW))
    tags = _Tags()
    tags.feed(page)
    assert tags.tags <= ALLOWED_TAGS, tags.tags - ALLOWED_TAGS
    names = set(name for name, _value in tags.attributes)
    assert not [n for n in names if n.startswith("on")] and "src" not in names and "style" not in names
    assert not [v for n, v in tags.attributes if n == "href" and not v.startswith("#")]
    assert "<script" not in page.lower() and "<img" not in page.lower()
    # the text is all there, shown as text
    assert HOSTILE in "".join(tags.text)


def without_code_spans(text):
    """``text`` without its code spans, paired as CommonMark pairs them (a run of n backticks closes at the
    next run of exactly n); backslash escapes outside spans are skipped."""
    out, i = [], 0
    while i < len(text):
        if text[i] == "\\":
            out.append(text[i:i + 2])
            i += 2
            continue
        if text[i] != "`":
            out.append(text[i])
            i += 1
            continue
        run = re.match(r"`+", text[i:]).group(0)
        closing = re.compile(r"(?<!`)%s(?!`)" % run).search(text, i + len(run))
        if not closing:
            out.append(run)
            i += len(run)
            continue
        i = closing.end()
    return "".join(out)


def test_hostile_text_in_markdown_is_text():
    page = render_md.render(engine.build_report(hostile_fleet(), now=NOW))
    assert HOSTILE.replace("|", "\\|") in page      # shown whole, in a code span (where Markdown renders no HTML)
    outside_code = without_code_spans(page)
    assert not re.search(r"<[A-Za-z/!?]", outside_code), outside_code
    assert "](javascript" not in outside_code.replace("\\]", "")
    for line in page.splitlines():
        if line.startswith("| ") and "---" not in line:
            # a pipe in a name never adds a table column
            cells = re.split(r"(?<!\\)\|", line)
            header = [l for l in page.splitlines() if l.startswith("| ")][0]
            assert len(cells) in (len(re.split(r"(?<!\\)\|", header)), 8, 9, 7), line


def test_markdown_code_spans_cannot_be_closed_from_inside():
    assert render_md.code("a`b") == "``a`b``"
    assert render_md.code("``x") == "``` ``x ```"
    assert render_md.md("<b>&amp;") == "&lt;b>&amp;amp;"
    assert render_md.md("a_b _c_ *d* [e](f)") == "a_b \\_c\\_ \\*d\\* \\[e\\](f)"


def test_the_html_page_is_self_contained_and_its_policy_allows_only_its_own_style():
    page = render_html.render(engine.build_report(fleet(), now=NOW))
    policy = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', page).group(1)
    assert policy.startswith("default-src 'none'; ")
    style = re.search(r"<style>(.*?)</style>", page, re.S).group(1)
    digest = base64.b64encode(hashlib.sha256(style.encode("utf-8")).digest()).decode("ascii")
    assert "style-src 'sha256-%s'" % digest in policy
    assert "<script" not in page and "@import" not in style and "url(" not in style
    assert not re.search(r'(src|href)="(?!#)', page)
    # the parts the issue asks for
    for needle in ('<table class="matrix">', 'aria-label="certificate validity timeline"', 'aria-label="clock offset per host"',
                   'aria-label="upstream log events per cause over time"', "client-side log events per cause over time",
                   "@media print", "@media (max-width:640px)", 'name="viewport"', "proxy_ssl_server_name on;"):
        assert needle in page, needle


def test_the_matrix_colours_each_cell_by_cause_and_links_its_failure():
    page = render_html.render(engine.build_report(fleet(), now=NOW))
    assert re.search(r'<td class="cell layer-tls" title="[^"]*"><a href="#pair-0">sni_required</a></td>', page)
    assert '<td class="cell cell-ok"' in page
    assert '<td class="cell cell-unreachable" colspan="2">unreachable: timeout</td>' in page
    assert '<article class="pair border-tls" id="pair-0">' in page


def test_report_files_are_written_atomically(tmp_path):
    report = engine.build_report(fleet(), now=NOW)
    out = tmp_path / "deep" / "report"
    paths = action.write_report(report, str(out))
    assert sorted(os.listdir(str(out))) == ["report.html", "report.json", "report.md"]
    assert json.loads(open(paths["json"]).read()) == json.loads(json.dumps(report))
    assert oct(os.stat(paths["html"]).st_mode & 0o777) == "0o644"
    first = os.stat(paths["json"]).st_ino
    action.write_report(report, str(out))
    assert os.stat(paths["json"]).st_ino != first   # a new file renamed over the old one, never rewritten in place
    assert sorted(os.listdir(str(out))) == ["report.html", "report.json", "report.md"]


def test_an_output_dir_that_is_a_file_is_a_clear_error(tmp_path):
    target = tmp_path / "file"
    target.write_text("x")
    with pytest.raises(action.ReportWriteError, match="output_dir: .*file.*choose a directory"):
        action.write_report(engine.build_report(fleet(), now=NOW), str(target))


def test_a_failed_write_leaves_no_temporary_file(tmp_path, monkeypatch):
    def broken(*_args):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(action.os, "fsync", broken)  # a full disk cannot be made here: fsync stands in for it
    with pytest.raises(action.ReportWriteError, match="No space left on device"):
        action.write_report(engine.build_report(fleet(), now=NOW), str(tmp_path))
    assert os.listdir(str(tmp_path)) == []


def test_lines_are_the_short_table():
    lines = engine.lines(engine.build_report(fleet(), now=NOW))
    assert lines[0].split() == ["host", "upstream", "cause", "fix"]
    assert re.match(r"p1 +10\.0\.0\.7:443 +sni_required +proxy_ssl_server_name on;$", lines[1]), lines
    assert any(l.startswith("p3") and "(unreachable)" in l and l.endswith("timeout") for l in lines)
