# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""nginx configuration trees for tests: a main-file head that keeps every file nginx writes inside
the test's directory, and a writer for ``{relative path: text}`` with ``{d}`` standing for it."""

from __future__ import annotations

import os
import textwrap

HEAD = """\
pid {d}/nginx.pid;
error_log {d}/error.log;
events {}
http {
    access_log off;
    client_body_temp_path {d}/tmp; proxy_temp_path {d}/tmp; fastcgi_temp_path {d}/tmp;
    uwsgi_temp_path {d}/tmp; scgi_temp_path {d}/tmp;
"""


def write_tree(tmp_path, files):
    """Write ``files`` under ``tmp_path`` (dedented, ``{d}`` replaced by the directory); the directory."""
    d = str(tmp_path)
    os.makedirs(os.path.join(d, "tmp"), exist_ok=True)
    for rel, text in files.items():
        path = os.path.join(d, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as handle:
            handle.write(textwrap.dedent(text).replace("{d}", d))
    return d
