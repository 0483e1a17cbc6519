# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The report's inline SVG charts: certificate validity timeline, log events over time, clock offsets.

Plain strings, every text escaped; colours come from CSS classes of the page (so print and screen
styles apply), never from inline styles (the page's Content-Security-Policy allows none).
"""

from __future__ import annotations

import datetime
import html
import math

from ansible_collections.tlsops.handshake.plugins.plugin_utils._diagnose.correlate import describe_offset, parse_time

WIDTH = 900
LABEL = 300
ROW = 22
DAY = datetime.timedelta(days=1)


def esc(value):
    return html.escape("" if value is None else str(value), quote=True)


def _svg(height, body, label):
    return ('<svg class="chart" role="img" aria-label="%s" viewBox="0 0 %d %d" width="%d" height="%d" '
            'xmlns="http://www.w3.org/2000/svg">%s</svg>' % (esc(label), WIDTH, height, WIDTH, height, "".join(body)))


def _x(when, start, end):
    span = (end - start).total_seconds() or 1.0
    ratio = (when - start).total_seconds() / span
    return LABEL + max(0.0, min(1.0, ratio)) * (WIDTH - LABEL - 10)


def _ticks(start, end, count=6):
    step = (end - start) / count
    return [start + step * i for i in range(count + 1)]


def _axis(start, end, top, bottom, fmt):
    out = []
    for tick in _ticks(start, end):
        x = _x(tick, start, end)
        out.append('<line class="grid" x1="%.1f" y1="%d" x2="%.1f" y2="%d"/>' % (x, top, x, bottom))
        out.append('<text class="tick" x="%.1f" y="%d" text-anchor="middle">%s</text>' % (x, bottom + 14, esc(tick.strftime(fmt))))
    return out


def _label(text, limit=44):
    text = "" if text is None else str(text)
    return text if len(text) <= limit else text[:limit - 1] + "\u2026"


def certificate_timeline(certificates, now):
    """Each certificate's validity as a bar, with today; None when no certificate has dates."""
    rows = []
    for cert in certificates:
        start, end = parse_time(cert["not_before"]), parse_time(cert["not_after"])
        if start and end:
            rows.append((cert, start, end))
    if not rows:
        return None
    rows.sort(key=lambda r: (r[2], r[0]["host"], r[0]["subject"] or ""))
    first = max(min(r[1] for r in rows), now - 365 * DAY)
    last = min(max(r[2] for r in rows), now + 730 * DAY)
    first, last = min(first, now - 7 * DAY), max(last, now + 7 * DAY)
    top, height = 10, 10 + ROW * len(rows)
    body = _axis(first, last, top, height, "%Y-%m-%d")
    for index, (cert, start, end) in enumerate(rows):
        y = top + index * ROW
        x1, x2 = _x(start, first, last), _x(end, first, last)
        name = cert["path"] or cert["subject"] or "?"
        label = "%s: %s" % (cert["host"], name.rsplit("/", 1)[-1])
        tip = "%s %s (%s): %s to %s, %s days left, %s" % (cert["source"], cert["host"], name, cert["not_before"],
                                                          cert["not_after"], cert["days_left"], cert["status"])
        body.append('<g class="row status-%s"><title>%s</title>' % (esc(cert["status"]), esc(tip)))
        body.append('<text class="label" x="4" y="%d">%s</text>' % (y + 15, esc(_label(label))))
        body.append('<rect class="bar" x="%.1f" y="%d" width="%.1f" height="14" rx="3"/>' % (x1, y + 4, max(2.0, x2 - x1)))
        body.append('<text class="value" x="%.1f" y="%d">%s</text></g>' % (
            min(x2 + 4, WIDTH - 80), y + 15, esc("%s d" % cert["days_left"] if cert["days_left"] is not None else "")))
    x_now = _x(now, first, last)
    body.append('<line class="now" x1="%.1f" y1="%d" x2="%.1f" y2="%d"/>' % (x_now, top - 6, x_now, height))
    body.append('<text class="now-label" x="%.1f" y="%d">today</text>' % (x_now + 3, top + 2))
    return _svg(height + 24, body, "certificate validity timeline")


def _local_time(value):
    try:
        return datetime.datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def event_lanes(lanes, label):
    """``lanes``: [(host, cause, count, first_seen, last_seen)] as bars from first to last seen."""
    rows = [(h, c, n, _local_time(f), _local_time(s)) for h, c, n, f, s in lanes]
    rows = [r for r in rows if r[3] and r[4]]
    if not rows:
        return None
    rows.sort(key=lambda r: (r[0], -r[2], r[1]))
    first, last = min(r[3] for r in rows), max(r[4] for r in rows)
    if last - first < datetime.timedelta(minutes=10):
        first, last = first - datetime.timedelta(minutes=5), last + datetime.timedelta(minutes=5)
    fmt = "%m-%d %H:%M" if last - first > DAY else "%H:%M:%S"
    top, height = 10, 10 + ROW * len(rows)
    body = _axis(first, last, top, height, fmt)
    for index, (host, cause, count, start, end) in enumerate(rows):
        y = top + index * ROW
        x1, x2 = _x(start, first, last), _x(end, first, last)
        body.append('<g class="row cause-%s"><title>%s</title>' % (
            esc(cause), esc("%s: %s x%s, first %s, last %s" % (host, cause, count, start, end))))
        body.append('<text class="label" x="4" y="%d">%s</text>' % (y + 15, esc(_label("%s: %s" % (host, cause)))))
        body.append('<rect class="bar" x="%.1f" y="%d" width="%.1f" height="14" rx="7"/>' % (x1 - 3, y + 4, max(6.0, x2 - x1 + 6)))
        body.append('<text class="value" x="%.1f" y="%d">%s</text></g>' % (min(x2 + 8, WIDTH - 60), y + 15, esc("x%s" % count)))
    return _svg(height + 24, body, label)


def clock_bars(clocks):
    """|offset| per host on a log scale (1 ms to 10^9 ms), ahead and behind told apart, the threshold marked."""
    rows = [c for c in clocks if c["offset_ms"] is not None]
    if not rows:
        return None
    top, height = 10, 10 + ROW * len(rows)

    def x(ms):
        return LABEL + min(1.0, max(0.0, math.log10(max(abs(ms), 1.0)) / 9.0)) * (WIDTH - LABEL - 120)

    body = []
    for power in range(0, 10, 3):
        xt = x(10 ** power)
        body.append('<line class="grid" x1="%.1f" y1="%d" x2="%.1f" y2="%d"/>' % (xt, top, xt, height))
        body.append('<text class="tick" x="%.1f" y="%d" text-anchor="middle">%s</text>' % (
            xt, height + 14, esc({0: "1 ms", 3: "1 s", 6: "17 min", 9: "11.6 d"}[power])))
    for index, clock in enumerate(rows):
        y = top + index * ROW
        state = "skewed" if clock["skewed"] else "fine"
        body.append('<g class="row clock-%s"><title>%s</title>' % (state, esc("%s: %s (%s)" % (
            clock["host"], describe_offset(clock["offset_ms"]), clock["source"]))))
        body.append('<text class="label" x="4" y="%d">%s</text>' % (y + 15, esc(_label(clock["host"]))))
        body.append('<rect class="bar" x="%d" y="%d" width="%.1f" height="14" rx="3"/>' % (LABEL, y + 4, max(2.0, x(clock["offset_ms"]) - LABEL)))
        value = esc(describe_offset(clock["offset_ms"]))
        body.append('<text class="value" x="%.1f" y="%d">%s</text></g>' % (x(clock["offset_ms"]) + 4, y + 15, value))
        if clock["max_offset_ms"]:
            xt = x(clock["max_offset_ms"])
            body.append('<line class="threshold" x1="%.1f" y1="%d" x2="%.1f" y2="%d"/>' % (xt, y + 2, xt, y + 20))
    return _svg(height + 24, body, "clock offset per host")
