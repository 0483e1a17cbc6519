# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one template filler behind causes, findings and SNTP errors."""
from __future__ import annotations

import pathlib
import re
import string

from ansible_collections.tlsops.handshake.plugins.module_utils._clock import sntp
from ansible_collections.tlsops.handshake.plugins.module_utils._common import causes, findings, text

PLUGINS = pathlib.Path(text.__file__).resolve().parents[2]


def test_fill_replaces_known_fields_and_marks_missing_ones():
    assert text.fill("{host}:{port}", {"host": "h", "port": 443}) == "h:443"
    assert text.fill("{host}:{port}", {"host": "h"}) == "h:"
    assert text.fill("{host}:{port}", {"host": "h"}, missing="?") == "h:?"
    assert text.fill("{host}:{port}", {}, missing="<%(field)s>") == "<host>:<port>"
    assert text.fill("{{literal}} {n:>3}", {"n": 7}) == "{literal}   7"


def test_each_vocabulary_keeps_its_placeholder():
    nginx_error, fix = causes.render("connection_refused")
    assert "<host>:<port>" in fix[0]
    assert findings.finding("expired", subject="CN=x")["message"] == "CN=x expired on  ()"


def test_an_sntp_error_with_a_field_left_out_still_has_a_message():
    # str.format(**mapping) copies the mapping into plain keyword arguments, so the old "?" placeholder
    # never applied: a missing field raised KeyError while the error was being built.
    assert str(sntp.SntpError("resolve_failed", detail="no address")) == "could not resolve ?: no address"
    assert str(sntp.SntpError("timeout")).count("?") == 1


def test_one_template_filler():
    users = sorted(str(p.relative_to(PLUGINS)) for p in PLUGINS.rglob("*.py")
                   if re.search(r"def __missing__|\.format\(\*\*", p.read_text(encoding="utf-8")))
    assert users == ["module_utils/_common/text.py"]


def _templates():
    found = [entry[key] for entry in findings.FINDINGS.values() for key in ("message", "fix")]
    found += [value for cause in causes.CAUSES.values() for value in cause.values() if isinstance(value, str)]
    return found + list(sntp.ERRORS.values())


def test_fill_reads_every_vocabulary_template_as_string_formatter_does():
    # fill uses str.format_map (in C); string.Formatter is the reference it must not drift from
    reference = string.Formatter()
    templates = _templates()
    names = sorted({name for template in templates for _text, name, _spec, _conv in reference.parse(template) if name})
    assert len(templates) > 100 and len(names) > 50
    for fields in ({}, dict((name, "v-" + name) for name in names), dict((name, 7) for name in names[::2])):
        for missing in ("", "<%(field)s>", "?"):
            for template in templates:
                expected = reference.vformat(template, (), text._WithPlaceholders(fields, missing))
                assert text.fill(template, fields, missing) == expected, template
