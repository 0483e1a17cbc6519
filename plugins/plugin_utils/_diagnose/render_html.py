# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""report.html: one self-contained page (inline CSS, inline SVG, no script, nothing fetched).

The page's Content-Security-Policy is ``default-src 'none'`` with the stylesheet allowed by its
hash, so a browser refuses any request the page could make and any style or script an escaped
text might still smuggle in.  Every text that comes from the hosts goes through ``esc``; element
ids are made from indexes, never from names.  Works without JavaScript, scrolls the wide parts
sideways on a phone, and prints (``@media print``).
"""

from __future__ import annotations

import base64
import datetime
import hashlib

from ansible_collections.tlsops.handshake.plugins.module_utils._common import causes as _causes
from ansible_collections.tlsops.handshake.plugins.plugin_utils._diagnose import svg
from ansible_collections.tlsops.handshake.plugins.plugin_utils._diagnose.correlate import describe_offset, parse_time

esc = svg.esc
LAYERS = ("network", "service", "tls", "certificate", "clock", "local", "unknown")

CSS = """
:root{--ok:#2e7d32;--ok-bg:#e8f5e9;--network:#c62828;--network-bg:#ffebee;--service:#6d4c41;--service-bg:#efebe9;
--tls:#6a1b9a;--tls-bg:#f3e5f5;--certificate:#e65100;--certificate-bg:#fff3e0;--clock:#1565c0;--clock-bg:#e3f2fd;
--local:#00695c;--local-bg:#e0f2f1;--unknown:#424242;--unknown-bg:#eeeeee;--muted:#6b6b6b;--line:#d0d0d0}
*{box-sizing:border-box}
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;padding:1rem;color:#1b1b1b;background:#fff;
max-width:1200px;margin-inline:auto}
h1{font-size:1.5rem;margin:.2rem 0}h2{font-size:1.2rem;margin-top:2rem;border-bottom:2px solid var(--line);padding-bottom:.2rem}
h3{font-size:1rem;margin:.2rem 0}
.meta{color:var(--muted)}
.status{display:inline-block;padding:.1rem .6rem;border-radius:1rem;font-weight:600;color:#fff}
.status-failure{background:var(--network)}.status-warning{background:var(--certificate)}.status-ok{background:var(--ok)}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(8rem,1fr));gap:.5rem;margin:1rem 0}
.card{border:1px solid var(--line);border-radius:.4rem;padding:.5rem .7rem}.card b{display:block;font-size:1.4rem}
.scroll{overflow-x:auto;-webkit-overflow-scrolling:touch;max-width:100%}
table{border-collapse:collapse;font-size:.9rem}th,td{border:1px solid var(--line);padding:.25rem .45rem;text-align:left;vertical-align:top}
th{background:#f6f6f6}
table.matrix th.up{writing-mode:vertical-rl;transform:rotate(180deg);white-space:nowrap;font-weight:500;max-height:14rem}
table.matrix td{text-align:center;white-space:nowrap;min-width:3rem}
td.cell a{color:inherit;text-decoration:none;display:block}
.cell-ok{background:var(--ok-bg);color:var(--ok)}.cell-none{color:#b0b0b0}.cell-unreachable{background:#f1f1f1;color:var(--muted)}
.layer-network{background:var(--network-bg);color:var(--network)}.layer-service{background:var(--service-bg);color:var(--service)}
.layer-tls{background:var(--tls-bg);color:var(--tls)}.layer-certificate{background:var(--certificate-bg);color:var(--certificate)}
.layer-clock{background:var(--clock-bg);color:var(--clock)}.layer-local{background:var(--local-bg);color:var(--local)}
.layer-unknown{background:var(--unknown-bg);color:var(--unknown)}
td.cell.layer-network,td.cell.layer-service,td.cell.layer-tls,td.cell.layer-certificate,td.cell.layer-clock,td.cell.layer-local,
td.cell.layer-unknown{font-weight:600}
.legend{display:flex;flex-wrap:wrap;gap:.3rem .8rem;font-size:.85rem;margin:.5rem 0;padding:0;list-style:none}
.legend li{padding:.05rem .4rem;border-radius:.3rem}
.finding,.pair{border:1px solid var(--line);border-left:6px solid var(--unknown);border-radius:.3rem;padding:.5rem .8rem;margin:.6rem 0;
break-inside:avoid}
.finding.sev-error{border-left-color:var(--network)}.finding.sev-warning{border-left-color:var(--certificate)}
.finding.sev-info{border-left-color:var(--muted)}
.pair.border-network{border-left-color:var(--network)}.pair.border-service{border-left-color:var(--service)}
.pair.border-tls{border-left-color:var(--tls)}.pair.border-certificate{border-left-color:var(--certificate)}
.pair.border-clock{border-left-color:var(--clock)}.pair.border-local{border-left-color:var(--local)}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.15rem .8rem;margin:.4rem 0}dt{color:var(--muted)}dd{margin:0;min-width:0}
ul{margin:.2rem 0;padding-left:1.2rem}
pre,code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.85rem}
pre{background:#f6f8fa;border:1px solid var(--line);padding:.4rem .6rem;white-space:pre-wrap;word-break:break-word;margin:.2rem 0}
.tag{display:inline-block;font-size:.75rem;border:1px solid currentColor;border-radius:.3rem;padding:0 .3rem;margin-right:.3rem}
svg.chart{width:100%;min-width:640px;height:auto;font-size:12px}
svg .label,svg .value,svg .tick,svg .now-label{fill:#333}svg .tick{font-size:10px;fill:var(--muted)}
svg .grid{stroke:#e4e4e4}svg .now{stroke:#000;stroke-dasharray:4 3}svg .threshold{stroke:#000;stroke-width:2}
svg .bar{fill:var(--unknown)}svg .status-ok .bar{fill:var(--ok)}svg .status-expiring .bar{fill:#f9a825}
svg .status-expired .bar,svg .status-not_yet_valid .bar,svg .status-error .bar{fill:var(--network)}
svg .status-incomplete .bar{fill:var(--certificate)}svg .clock-fine .bar{fill:var(--ok)}svg .clock-skewed .bar{fill:var(--clock)}
svg .client .bar{fill:#9e9e9e}
nav{font-size:.9rem}nav a{margin-right:.8rem}
.muted{color:var(--muted)}
@media (max-width:640px){body{padding:.5rem;font-size:14px}dl{grid-template-columns:1fr}dt{margin-top:.3rem}
.cards{grid-template-columns:repeat(2,1fr)}}
@media print{body{max-width:none;padding:0;font-size:10pt}nav{display:none}.scroll{overflow:visible}
svg.chart{min-width:0}*{-webkit-print-color-adjust:exact;print-color-adjust:exact}h2{break-after:avoid}
a{color:inherit;text-decoration:none}table{break-inside:auto}tr{break-inside:avoid}}
"""

for _layer_name in LAYERS:
    CSS += "svg .cause-layer-%s .bar{fill:var(--%s)}\n" % (_layer_name, _layer_name)
CSS += "".join("svg .cause-%s .bar{fill:var(--%s)}\n" % (code, cause["layer"] if cause["layer"] in LAYERS else "unknown")
               for code, cause in sorted(_causes.CAUSES.items()) if code != "ok")


def _csp():
    digest = base64.b64encode(hashlib.sha256(CSS.encode("utf-8")).digest()).decode("ascii")
    return "default-src 'none'; style-src 'sha256-%s'; img-src 'none'; base-uri 'none'; form-action 'none'" % digest


def _layer(cause):
    layer = _causes.CAUSES.get(cause, {}).get("layer", "unknown")
    return layer if layer in LAYERS else "unknown"


def _list(items, code=False):
    if not items:
        return '<span class="muted">none</span>'
    wrap = "<code>%s</code>" if code else "%s"
    return "<ul>%s</ul>" % "".join("<li>%s</li>" % (wrap % esc(i)) for i in items)


def _fix(lines):
    return "<pre>%s</pre>" % esc("\n".join(lines)) if lines else '<span class="muted">none</span>'


def _summary(report):
    s, o = report["summary"], report["options"]
    cards = [("hosts", s["hosts"]), ("unreachable", s["hosts_unreachable"]), ("pairs", s["pairs"]),
             ("failing pairs", s["pairs_failed"]), ("findings", s["findings"])]
    meta = "Generated %s" % esc(report["generated_at"])
    if o["group"]:
        meta += ", group <b>%s</b>" % esc(o["group"])
    if o["since"]:
        meta += ", error logs since %s" % esc(o["since"])
    meta += ", fail_on %s." % esc(o["fail_on"])
    return ('<header><h1>TLS handshake diagnosis <span class="status status-%s">%s</span></h1><p class="meta">%s</p>'
            '<div class="cards">%s</div></header>' % (
                esc(s["status"]), esc(s["status"]), meta,
                "".join('<div class="card"><b>%s</b>%s</div>' % (esc(v), esc(k)) for k, v in cards)))


def _matrix(report, pair_index):
    upstreams = sorted(set(p["upstream"] for p in report["pairs"]))
    if not upstreams and not report["hosts"]:
        return "<p>No pairs were probed.</p>"
    cells = {}
    for pair in report["pairs"]:
        cells.setdefault((pair["proxy"], pair["upstream"]), []).append(pair)
    head = "<tr><th>proxy \\ upstream</th>%s</tr>" % "".join('<th class="up" scope="col">%s</th>' % esc(u) for u in upstreams)
    rows = []
    for host in report["hosts"]:
        if not host["reachable"]:
            rows.append('<tr><th scope="row">%s</th><td class="cell cell-unreachable" colspan="%d">unreachable: %s</td></tr>'
                        % (esc(host["name"]), max(1, len(upstreams)), esc(host["error"])))
            continue
        tds = []
        for upstream in upstreams:
            group = cells.get((host["name"], upstream))
            if not group:
                tds.append('<td class="cell cell-none" title="not used">&#8211;</td>')
                continue
            failing = [p for p in group if not p["ok"]]
            shown = failing[0] if failing else group[0]
            more = " +%d" % (len(failing) - 1) if len(failing) > 1 else ""
            css = "layer-%s" % _layer(shown["cause"]) if failing else "cell-ok"
            tip = "; ".join("%s: %s" % (p["id"], p["cause"]) for p in group)
            tds.append('<td class="cell %s" title="%s"><a href="#pair-%d">%s%s</a></td>' % (
                css, esc(tip), pair_index[id(shown)], esc(shown["cause"]), esc(more)))
        rows.append('<tr><th scope="row">%s</th>%s</tr>' % (esc(host["name"]), "".join(tds)))
    causes = sorted(set(p["cause"] for p in report["pairs"] if not p["ok"]))
    legend = "".join('<li class="layer-%s">%s: %s</li>' % (_layer(c), esc(c), esc(_causes.title(c))) for c in causes)
    legend = '<ul class="legend"><li class="cell-ok">ok</li>%s<li class="cell-none">&#8211; not used</li></ul>' % legend
    return '%s<div class="scroll"><table class="matrix">%s%s</table></div>' % (legend, head, "".join(rows))


def _findings(report):
    out = []
    for f in report["findings"]:
        if f["side"] == "client":
            continue
        pairs = " ".join('<a href="#pair-%d">%s</a>' % (i, esc(pid)) for i, pid in f["_pair_links"])
        out.append(
            '<article class="finding sev-%s" id="finding-%d"><h3>#%d %s</h3>'
            '<span class="tag">%s</span><span class="tag">%s side</span><span class="tag">%s</span>'
            '<span class="tag">impact %d pair(s) x %d host(s)</span>'
            '<dl><dt>owner</dt><dd>%s</dd><dt>where</dt><dd>%s</dd><dt>why</dt><dd>%s</dd><dt>evidence</dt><dd>%s</dd>'
            '<dt>fix</dt><dd>%s</dd>%s</dl></article>' % (
                esc(f["severity"]), f["rank"], f["rank"], esc(f["what"]), esc(f["severity"]), esc(f["side"]),
                esc(f["cause"]), f["impact"]["pairs"], f["impact"]["hosts"], esc(f["owner"]), _list(f["where"]),
                esc(f["why"]), _list(f["evidence"]), _fix(f["fix"]),
                "<dt>pairs</dt><dd>%s</dd>" % pairs if pairs else ""))
    return "".join(out) or "<p>No findings: every pair works.</p>"


def _pairs(report, pair_index):
    out = []
    for pair in report["pairs"]:
        if pair["ok"]:
            continue
        out.append(
            '<article class="pair border-%s" id="pair-%d"><h3>%s &#8594; %s: %s</h3><p>%s</p>'
            '<dl><dt>side / owner</dt><dd>%s / %s</dd><dt>where</dt><dd>%s</dd><dt>why</dt><dd>%s</dd>'
            '<dt>detail</dt><dd>%s</dd><dt>nginx logs</dt><dd><code>%s</code></dd><dt>evidence</dt><dd>%s</dd>'
            '<dt>fix</dt><dd>%s</dd>%s</dl></article>' % (
                _layer(pair["cause"]), pair_index[id(pair)], esc(pair["proxy"]), esc(pair["upstream"]), esc(pair["cause"]),
                esc(pair["title"]), esc(pair["side"]), esc(pair["owner"]), _list(pair["where"] or [pair["target"]]),
                esc(pair["why"]), esc(pair["detail"]), esc(pair["nginx_error"]), _list(pair["evidence"]), _fix(pair["fix"]),
                _transcript(pair)))
    return "".join(out) or "<p>Every pair works.</p>"


def _transcript(pair):
    """The handshake transcript (tls_probe trace) of a failed pair, folded: it can be long."""
    if not pair.get("trace"):
        return ""
    return ('<dt>handshake transcript</dt><dd><details><summary>%d lines</summary><pre>%s</pre></details></dd>'
            % (len(pair["trace"]), esc("\n".join(pair["trace"]))))


def _certificates(report, now):
    chart = svg.certificate_timeline(report["certificates"], now)
    rows = "".join("<tr><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>" % (
        esc(c["host"]), esc(c["source"]), esc(c["path"] or c["subject"]), esc(c["not_after"]), esc(c["days_left"]),
        esc(c["status"])) for c in report["certificates"])
    table = ('<div class="scroll"><table><tr><th>host</th><th>source</th><th>certificate</th><th>not after</th>'
             '<th>days left</th><th>status</th></tr>%s</table></div>' % rows) if rows else "<p>No certificates were read.</p>"
    return ('<div class="scroll">%s</div>' % chart if chart else "") + table


def _clocks(report):
    chart = svg.clock_bars(report["clocks"])
    rows = "".join("<tr><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>" % (
        esc(c["host"]), esc(describe_offset(c["offset_ms"]) if c["offset_ms"] is not None else "unknown"), esc(c["source"]),
        esc(c["daemon"]), esc(c["synchronized"]), "<b>yes</b>" if c["skewed"] else "no") for c in report["clocks"])
    if not rows:
        return "<p>No clock was read.</p>"
    return ('<div class="scroll">%s</div>' % chart if chart else "") + (
        '<div class="scroll"><table><tr><th>host</th><th>offset</th><th>witness</th><th>daemon</th><th>synchronized</th>'
        '<th>skewed</th></tr>%s</table></div>' % rows)


def _upstream_logs(report):
    lanes = {}
    for entry in report["logs"]["upstream"]:
        for cause, count in entry["causes"].items():
            key = (entry["host"], cause)
            first, last = entry["first_seen"], entry["last_seen"]
            n, f0, l0 = lanes.get(key, (0, first, last))
            lanes[key] = (n + count, min(f0 or first or "", first or f0 or ""), max(l0 or "", last or ""))
    chart = svg.event_lanes([(h, c, n, f, s) for (h, c), (n, f, s) in lanes.items()], "upstream log events per cause over time")
    rows = "".join("<tr><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>" % (
        esc(e["host"]), esc(e["upstream"]), esc(e["count"]), esc(", ".join("%s %s" % kv for kv in sorted(e["causes"].items()))),
        esc(e["first_seen"]), esc(e["last_seen"]),
        "<b>intermittent</b>" if e["intermittent"] else ("still failing" if e["probe_ok"] is False else "not probed"))
        for e in report["logs"]["upstream"])
    if not rows:
        return "<p>No upstream failures in the error logs.</p>"
    return ('<div class="scroll">%s</div>' % chart if chart else "") + (
        '<div class="scroll"><table><tr><th>host</th><th>upstream</th><th>events</th><th>causes</th><th>first seen</th>'
        '<th>last seen</th><th>now</th></tr>%s</table></div>' % rows)


def _client_logs(report):
    entries = report["logs"]["client"]
    if not entries:
        return "<p>No client-side handshake failures in the error logs.</p>"
    chart = svg.event_lanes([(e["host"], e["cause"], e["count"], e["first_seen"], e["last_seen"]) for e in entries],
                            "client-side log events per cause over time")
    rows = "".join("<tr><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>" % (
        esc(e["host"]), esc(e["cause"]), esc(e["count"]), esc(e["first_seen"]), esc(e["last_seen"]),
        esc(", ".join("%s (%s)" % (t["address"], t["count"]) for t in e["top_clients"]))) for e in entries)
    return ('<p class="muted">%s</p>' % esc(_causes.CLIENT_SIDE_FIX) + ('<div class="scroll">%s</div>' % chart if chart else "")
            + '<div class="scroll"><table><tr><th>host</th><th>cause</th><th>events</th><th>first seen</th><th>last seen</th>'
            '<th>top clients</th></tr>%s</table></div>' % rows)


def _hosts(report):
    rows = "".join("<tr><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>" % (
        esc(h["name"]), "yes" if h["reachable"] else "<b>no</b>", esc(h["nginx"]["version"]), esc(h["nginx"]["config_file"]),
        esc(h["error"] or "")) for h in report["hosts"])
    return ('<div class="scroll"><table><tr><th>host</th><th>reachable</th><th>nginx</th><th>configuration</th>'
            '<th>errors</th></tr>%s</table></div>' % rows)


def render(report):
    now = parse_time(report["generated_at"]) or datetime.datetime.now(datetime.timezone.utc)
    pair_index = dict((id(p), i) for i, p in enumerate(report["pairs"]))
    by_id = dict((p["id"], i) for i, p in enumerate(report["pairs"]))
    for finding in report["findings"]:
        finding["_pair_links"] = [(by_id[pid], pid) for pid in finding["pair_ids"] if pid in by_id]
    try:
        sections = [
            ("matrix", "Proxy &#215; upstream", _matrix(report, pair_index)),
            ("findings", "Findings, most impact first", _findings(report)),
            ("pairs", "Failing pairs: cause, evidence, nginx fix", _pairs(report, pair_index)),
            ("certificates", "Certificate expiry", _certificates(report, now)),
            ("clocks", "Clock offsets", _clocks(report)),
            ("logs", "Upstream failures in the error logs", _upstream_logs(report)),
            ("clients", "Client-side noise (nginx's listening side, apart from upstream failures)", _client_logs(report)),
            ("hosts", "Hosts", _hosts(report)),
        ]
    finally:
        for finding in report["findings"]:
            finding.pop("_pair_links", None)
    nav = "<nav>%s</nav>" % "".join('<a href="#%s">%s</a>' % (key, title.split(":", 1)[0].split(" (", 1)[0]) for key, title, _b in sections)
    body = "".join('<section id="%s"><h2>%s</h2>%s</section>' % s for s in sections)
    return ('<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            '<meta http-equiv="Content-Security-Policy" content="%s">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            '<meta name="referrer" content="no-referrer">'
            '<title>TLS handshake diagnosis: %s</title><style>%s</style></head><body>%s%s%s'
            '<footer class="muted"><p>tlsops.handshake.diagnose_report, report.json schema_version %s</p></footer>'
            '</body></html>\n' % (_csp(), esc(report["summary"]["status"]), CSS, _summary(report), nav, body,
                                  esc(report["schema_version"])))
