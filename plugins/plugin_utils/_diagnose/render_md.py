# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""report.md: the summary table and the ranked findings, fit to paste into a ticket.

Every text from the hosts (upstream names, log lines, file names) may be hostile: ``md`` escapes
Markdown's syntax and HTML (ticket systems render inline HTML), ``code`` picks a fence no backtick
run inside can close.
"""

from __future__ import annotations

import re

MAX_PAIRS = 200
# Markdown syntax a one-line text can trigger anywhere: code spans, emphasis (an underscore only at a
# word's edge: GFM ignores intra-word ones), links and images (brackets), strikethrough, table cells.
_MD_SPECIAL = re.compile(r"([\\`*\[\]|~]|(?<![0-9A-Za-z])_|_(?![0-9A-Za-z]))")
_ENTITY_START = re.compile(r"&(?=#?[0-9A-Za-z]+;)")


def md(value):
    """Plain text in Markdown: one line, no markup, no HTML."""
    if value is None:
        return "-"
    value = re.sub(r"\s+", " ", str(value)).strip()
    # no HTML tag can start (ticket systems render inline HTML), no entity decodes to one
    value = _ENTITY_START.sub("&amp;", value).replace("<", "&lt;")
    return _MD_SPECIAL.sub(r"\\\1", value) or "-"


def code(value):
    """An inline code span that ``value`` cannot break out of (nor out of a table cell)."""
    value = re.sub(r"\s+", " ", str(value)).strip().replace("|", "\\|")
    longest = max([len(run) for run in re.findall(r"`+", value)] + [0])
    fence = "`" * (longest + 1)
    pad = " " if value.startswith("`") or value.endswith("`") else ""
    return "%s%s%s%s%s" % (fence, pad, value, pad, fence)


def code_block(lines):
    """A fenced code block holding ``lines`` that no backtick run inside can close."""
    lines = [re.sub(r"[\r\n]+", " ", str(line)) for line in lines]
    longest = max([len(run) for line in lines for run in re.findall(r"`+", line)] + [0])
    fence = "`" * max(3, longest + 1)
    return [fence + "text"] + lines + [fence]


def _row(cells):
    return "| " + " | ".join(cells) + " |"


def _table(header, rows):
    return [_row(header), _row(["---"] * len(header))] + [_row(r) for r in rows]


def render(report):
    summary, options = report["summary"], report["options"]
    out = ["# TLS handshake diagnosis: %s" % summary["status"].upper(), "",
           "Generated %s by tlsops.handshake.diagnose_report%s%s, fail_on %s." % (
               md(report["generated_at"]), ", group %s" % md(options["group"]) if options["group"] else "",
               ", error logs since %s" % md(options["since"]) if options["since"] else "", md(options["fail_on"])), ""]
    out += _table(["hosts", "unreachable", "pairs", "failing pairs", "findings", "status"],
                  [[str(summary["hosts"]), str(summary["hosts_unreachable"]), str(summary["pairs"]),
                    str(summary["pairs_failed"]), str(summary["findings"]), "**%s**" % summary["status"]]])
    if summary["by_cause"]:
        out += ["", "Failing pairs by cause: " + ", ".join("%s %d" % (md(c), n) for c, n in summary["by_cause"].items()) + "."]
    out += ["", "## Findings, most impact first", ""]
    ranked = [f for f in report["findings"] if f["side"] != "client"]
    if not ranked:
        out.append("No findings: every pair works.")
    for f in ranked:
        where = md(f["where"][0]) if f["where"] else md(f["owner"])
        if len(f["where"]) > 1:
            where += " (+%d more)" % (len(f["where"]) - 1)
        fix = "; ".join(code(x) for x in f["fix"][:3]) or "-"
        out.append("%d. **%s** [%s, %s side, owner %s, %d pair(s) x %d host(s)]: where %s; why: %s; fix: %s" % (
            f["rank"], md(f["what"]), f["severity"], f["side"], md(f["owner"]), f["impact"]["pairs"], f["impact"]["hosts"],
            where, md(f["why"]), fix))
    failing = [p for p in report["pairs"] if not p["ok"]]
    if failing:
        out += ["", "## Failing pairs", ""]
        out += _table(["host", "upstream", "where", "cause", "side", "owner", "fix"],
                      [[md(p["proxy"]), md(p["upstream"]), md(p["where"][0] if p["where"] else p["target"]), md(p["cause"]),
                        md(p["side"]), md(p["owner"]), code(p["fix"][0]) if p["fix"] else "-"] for p in failing[:MAX_PAIRS]])
        if len(failing) > MAX_PAIRS:
            out.append("... %d more in report.json" % (len(failing) - MAX_PAIRS))
    traced = [p for p in failing if p.get("trace")]
    if traced:
        out += ["", "## Handshake transcripts of the failing pairs (tls_probe trace)"]
        for p in traced[:MAX_PAIRS]:
            out += ["", "**%s** (%s)" % (md(p["id"]), md(p["cause"])), ""] + code_block(p["trace"])
    out += ["", "## Hosts", ""]
    out += _table(["host", "reachable", "nginx", "clock offset (ms)", "error"],
                  [[md(h["name"]), "yes" if h["reachable"] else "**no**", md(h["nginx"]["version"]),
                    md(h["clock"]["offset_ms"]), md(h["error"])] for h in report["hosts"]])
    clients = report["logs"]["client"]
    if clients:
        out += ["", "## Client-side handshake failures (nginx's listening side, not upstream failures)", ""]
        out += _table(["host", "cause", "count", "first seen", "last seen", "top clients"],
                      [[md(c["host"]), md(c["cause"]), str(c["count"]), md(c["first_seen"]), md(c["last_seen"]),
                        md(", ".join("%s (%s)" % (t["address"], t["count"]) for t in c["top_clients"]))] for c in clients])
    return "\n".join(out) + "\n"
