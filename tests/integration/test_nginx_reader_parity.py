# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The host-side nginx reader (_nginx/tokens, _nginx/includes) against the real nginx.

Each case is a small configuration tree; the token under test is written where nginx expects a
directive name, so ``nginx -t`` answers ``[emerg] unknown directive "VALUE" in FILE:LINE``: the
word exactly as nginx read it, and the file and line it came from (includes followed).  The reader
must name the same first unknown directive at the same FILE:LINE (nginx names the line of the
``;`` that ends the statement, the reader's ``end_line``), refuse what nginx refuses, and find the
same included file missing.  ``-p`` names a prefix other than the configuration's directory, so a
relative include taken from the wrong one reads a different file.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest

from ansible_collections.tlsops.handshake.plugins.module_utils._common import safe_files as safe
from ansible_collections.tlsops.handshake.plugins.module_utils._nginx import includes, output
from ansible_collections.tlsops.handshake.plugins.module_utils._nginx.tokens import NginxSyntaxError

NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None)
pytestmark = pytest.mark.skipif(not NGINX, reason="needs the nginx binary (make deps)")

KNOWN = ("events", "include", "error_log")
HEAD = "error_log stderr;\nevents {}\n"

# case -> {path under the case directory: text}; the main file is etc/nginx.conf, the -p prefix is p/
CASES = {
    "escaped_double_quote": {"etc/nginx.conf": HEAD + '"x\\"y" ;\n'},
    "escaped_single_quote": {"etc/nginx.conf": HEAD + "'x\\'y\\\"z' ;\n"},
    "backslashes_kept_and_folded": {"etc/nginx.conf": HEAD + '"k\\q\\\\z\\tw" ;\n'},
    "bare_word_escapes": {"etc/nginx.conf": HEAD + 'a\\"b\\\\c\\ d ;\n'},
    "hash_inside_quotes": {"etc/nginx.conf": HEAD + '# "not;\n"a#b" c;\n'},
    "hash_inside_a_word": {"etc/nginx.conf": HEAD + "a#b; # comment\n"},
    "variable_braces": {"etc/nginx.conf": HEAD + "${a}b} x;\n"},
    "unclosed_variable": {"etc/nginx.conf": HEAD + "x${y z;\n"},
    "brace_inside_a_word": {"etc/nginx.conf": HEAD + "a}b;\n"},
    "statement_over_lines": {"etc/nginx.conf": HEAD + 'probe\n  "one\ntwo"\n  three\n;\n'},
    "unterminated_quote": {"etc/nginx.conf": HEAD + 'events_x "never closed;\n\n'},
    "glued_quote": {"etc/nginx.conf": HEAD + '"a"b;\n'},
    "include_glob_relative_to_conf_dir": {
        "etc/nginx.conf": HEAD + "include conf.d/*.conf;\n",
        "etc/conf.d/a.conf": "# nothing\n",
        "etc/conf.d/.hidden.conf": "hidden;\n",
        "etc/conf.d/b.conf": "\n\nprobe_b;\n",
        "etc/conf.d/c.conf": "probe_c;\n",
        "p/conf.d/0.conf": "from_the_p_prefix;\n"},
    "nested_relative_include": {
        "etc/nginx.conf": HEAD + "include conf.d/*.conf;\n",
        "etc/conf.d/b.conf": "include sub/x.inc;\n",
        "etc/conf.d/sub/x.inc": "relative_to_the_including_file;\n",
        "etc/sub/x.inc": "\nprobe_sub;\n"},
    "include_missing": {"etc/nginx.conf": HEAD + "include nothing/*.conf;\n\ninclude missing.conf;\n"},
    "include_in_a_block_of_an_include": {
        "etc/nginx.conf": HEAD + "include conf.d/*.conf;\n",
        "etc/conf.d/a.conf": 'include "with space/*.inc";\n',
        "etc/with space/1.inc": "\nwith_space;\n"},
    "all_known": {"etc/nginx.conf": HEAD + "include empty/*.conf;\n", "etc/empty/.x.conf": "hidden;\n"},
}

_UNKNOWN_RE = re.compile(r'^\[emerg\] unknown directive "(.*)" in (/.+):(\d+)$', re.DOTALL)
_OPEN_RE = re.compile(r'^\[emerg\] open\(\) "(/.+)" failed')


def _write(root, files):
    os.makedirs(os.path.join(root, "p", "logs"), exist_ok=True)
    for name, text in files.items():
        path = os.path.join(root, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as fh:
            fh.write(text)
    return os.path.join(root, "etc", "nginx.conf")


def _read(path, origin):
    return safe.read_text(path, 1 << 20, where="%s:%d include" % origin if origin else "config")


def reader_verdict(conf):
    """What the reader says first: an unknown directive, a syntax error, a file it cannot read, or ok."""
    try:
        for statement in includes.walk(conf, os.path.dirname(conf), _read, strict=True):
            if statement.name not in KNOWN:
                return ("unknown", statement.name, statement.file, statement.end_line)
    except NginxSyntaxError as exc:
        return ("syntax", exc.file, exc.line)
    except safe.FileRefused as exc:
        return ("open", exc.path)
    return ("ok",)


def nginx_verdict(root, conf):
    run = subprocess.run([NGINX, "-t", "-p", os.path.join(root, "p") + "/", "-c", conf], capture_output=True,
                         text=True, timeout=30, check=False)
    if run.returncode == 0:
        return ("ok",), run.stderr
    emerg = [m for m in output.nginx_messages(run.stderr) if m.startswith("[emerg]")]
    assert emerg, run.stderr
    unknown, opened = _UNKNOWN_RE.match(emerg[0]), _OPEN_RE.match(emerg[0])
    if unknown:
        return ("unknown", unknown.group(1), unknown.group(2), int(unknown.group(3))), run.stderr
    if opened:
        return ("open", opened.group(1)), run.stderr
    failure = output.test_failure(run.stderr)
    return ("syntax", failure["file"], failure["line"]), run.stderr


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_reader_reads_what_nginx_reads(tmp_path, case):
    root = str(tmp_path)
    conf = _write(root, CASES[case])
    ours = reader_verdict(conf)
    theirs, stderr = nginx_verdict(root, conf)
    if ours[0] == "syntax" and theirs[0] == "syntax" and "unexpected end of file" in stderr:
        # nginx names the end of the file; the reader names the line of the quote left open
        assert ours[1] == theirs[1] and ours[2] < theirs[2], (ours, stderr)
    else:
        assert ours == theirs, stderr


def test_the_cases_cover_every_verdict(tmp_path):
    """Each kind of answer is exercised (an oracle that always says "ok" would pass the test above)."""
    verdicts = {case: reader_verdict(_write(str(tmp_path / case), files))[0] for case, files in CASES.items()}
    assert set(verdicts.values()) == {"unknown", "syntax", "open", "ok"}, verdicts
