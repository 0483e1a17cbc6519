# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Write the README's causes table from plugins/module_utils/_common/causes.py.

The vocabulary lives in one place; this renders it, and a unit test fails when
the README is out of date.  Run: python hacking/render_causes.py
"""

from __future__ import annotations

import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
START, END = "<!-- causes:start -->", "<!-- causes:end -->"


def _cell(text):
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("|", "\\|")


def table():
    sys.path.insert(0, os.path.join(REPO, "build", "collections"))
    from ansible_collections.tlsops.handshake.plugins.module_utils._common import causes

    rows = ["| cause | what it means | nginx logs (1.22 / OpenSSL 3.0) | fix |", "|---|---|---|---|"]
    for code, cause in causes.CAUSES.items():
        if code == "ok":
            continue
        nginx_error, fix = causes.render(code)
        cells = [code, cause["title"], nginx_error, "<br>".join(fix)]
        rows.append("| %s |" % " | ".join("`%s`" % c if i == 0 else _cell(c) for i, c in enumerate(cells)))
    return "\n".join(rows)


def render(readme_text):
    head, _start, rest = readme_text.partition(START)
    _old, _end, tail = rest.partition(END)
    return "%s%s\n%s\n%s%s" % (head, START, table(), END, tail)


def main():
    path = os.path.join(REPO, "README.md")
    with open(path) as fh:
        text = fh.read()
    new = render(text)
    if new != text:
        with open(path, "w") as fh:
            fh.write(new)


if __name__ == "__main__":
    main()
