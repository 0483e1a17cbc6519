# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the roles may write into a configuration file, and what they must never print.

``value_errors(values, kinds)`` checks role variables against the kind of value each one is
in the file it reaches (an nginx directive argument, a chrony word, a path, a number): one
message per bad value, naming the variable, showing the value escaped (never key material)
and saying what is allowed.  The roles call it through the ``config_value_errors`` filter
in their ``tasks/check_vars.yml``, before anything is written.

``redact_key_material(text)`` removes PEM blocks, ``data:`` values and long base64 runs from
text the roles show in a failure (nginx -t prints an inline ``data:`` key it cannot load).

Plain Python, controller side; unit-tested in tests/unit/plugins/plugin_utils/.
"""

from __future__ import annotations

import ipaddress
import json
import math
import re

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_DNS_LABEL = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?")
_NGINX_TIME = re.compile(r"[0-9]+(?:ms|[smhdwMy])?(?: [0-9]+(?:ms|[smhdwMy])?)*")
_SHOWN = 60     # characters of a bad value shown in a message


def _is_int(value):
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    return isinstance(value, str) and re.fullmatch(r"-?[0-9]+", value) is not None


def _is_number(value):
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        return math.isfinite(value)
    if isinstance(value, str) and re.fullmatch(r"-?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?", value):
        return math.isfinite(float(value))
    return False


def _text(check):
    """A check on strings only (numbers given for a string kind are refused: say so)."""
    def run(value):
        return isinstance(value, str) and check(value)
    return run


def _hostname_or_ip(value):
    try:
        ipaddress.ip_address(value)
        return True
    except ValueError:
        pass
    if len(value) > 253:
        return False
    return all(_DNS_LABEL.fullmatch(label) for label in value.split("."))


def _file_path(value):
    return not _CONTROL.search(value) and not value.startswith("data:")


def _bare_path(value):
    return re.fullmatch(r"/[A-Za-z0-9/._+@,:=~-]*", value) is not None


# kind -> (check, what is allowed).  A check gets one scalar value; the role's templates
# quote what a kind lets through only where the kind says so.
KINDS = {
    "hostname_or_ip": (
        _text(_hostname_or_ip),
        "a DNS name (ASCII letters, digits, '-' and '_' in dot-separated labels of 1-63 characters, 253 in all; "
        "an internationalised name in its xn-- form) or an IPv4 or IPv6 address"),
    "upstream_name": (
        _text(lambda v: re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", v) is not None),
        "letters, digits, '_', '.' and '-', starting with a letter or a digit"),
    "tls_protocol": (
        _text(lambda v: v in ("TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3")),
        "one of TLSv1, TLSv1.1, TLSv1.2, TLSv1.3"),
    "openssl_ciphers": (
        _text(lambda v: re.fullmatch(r"[A-Za-z0-9!+@=:._,-]+", v) is not None),
        "an OpenSSL cipher string: letters, digits and ! + @ = : . _ , - (colon-separated; no spaces, quotes, "
        "';', '{', '}', '#' or control characters)"),
    "openssl_group": (
        _text(lambda v: re.fullmatch(r"[?*]{0,2}[A-Za-z0-9][A-Za-z0-9_.-]*", v) is not None),
        "one OpenSSL group name per list element (letters, digits, '_', '.' and '-', such as X25519 or prime256v1)"),
    "nginx_session_cache": (
        _text(lambda v: re.fullmatch(r"off|none|builtin(?::[0-9]+)?|shared:[A-Za-z0-9_]+:[0-9]+[kKmM]?", v)
              is not None),
        "off, none, builtin[:SIZE] or shared:NAME:SIZE (for example shared:MozSSL:10m)"),
    "nginx_time": (
        _text(lambda v: _NGINX_TIME.fullmatch(v) is not None),
        "an nginx time such as 1d, 10m, 300 or 1h 30m (digits with an optional unit ms, s, m, h, d, w, M or y)"),
    "nginx_resolver": (
        _text(lambda v: re.fullmatch(r"[A-Za-z0-9_.:\[\]=-]+", v) is not None),
        "one address[:port], [IPv6]:port or resolver parameter (valid=30s, ipv6=off) per list element: "
        "letters, digits and . : [ ] = _ -"),
    "nginx_bare_path": (
        _text(_bare_path),
        "an absolute path of letters, digits and / . _ + @ , : = ~ - (nginx's configuration names it unquoted)"),
    "file_path": (
        _text(_file_path),
        "a file path without control characters (newline, carriage return, tab, NUL); an inline data: value is "
        "not accepted: give the path of the file"),
    "single_line": (
        _text(lambda v: not _CONTROL.search(v)),
        "text on one line, without control characters (newline, carriage return, tab, NUL)"),
    "chrony_word": (
        _text(lambda v: re.fullmatch(r"[A-Za-z0-9_.:/+@-]+", v) is not None),
        "one word of letters, digits and _ . : / + @ - (such as right/UTC)"),
    "chrony_words": (
        _text(lambda v: re.fullmatch(r"[A-Za-z0-9_.:/+-]+(?: [A-Za-z0-9_.:/+-]+)*", v) is not None),
        "chrony option words separated by single spaces, each of letters, digits and _ . : / + - "
        "(such as xleave or key 10)"),
    "chrony_address": (
        _text(lambda v: re.fullmatch(r"all|(?:all )?[A-Za-z0-9_.:/-]+", v) is not None),
        "all, or an address, a subnet (192.0.2.0/24, 2001:db8::/32) or a host name, optionally after all"),
    "int": (_is_int, "a whole number"),
    "uint": (lambda v: _is_int(v) and int(v) >= 0, "a whole number, 0 or more"),
    "port": (lambda v: _is_int(v) and 1 <= int(v) <= 65535, "a port number, 1-65535"),
    "number": (_is_number, "a finite number"),
}


def as_int(value):
    """Jinja's ``int`` filter: a whole number from a number or its text (``"2.5"`` gives 2); 0 when there is none."""
    try:
        return int(value)
    except (TypeError, ValueError):
        try:
            return int(float(value))
        except (TypeError, ValueError, OverflowError):
            return 0


def show(value):
    """The value as a message may show it: JSON-escaped, shortened, never key material."""
    if isinstance(value, str) and (value.startswith("data:") or "-----BEGIN" in value):
        return "(inline key or certificate material, %d characters, not shown)" % len(value)
    try:
        text = json.dumps(value, ensure_ascii=True, sort_keys=True)
    except (TypeError, ValueError):
        text = json.dumps(str(value), ensure_ascii=True)
    if len(text) > _SHOWN:
        text = "%s... (%d characters)" % (text[:_SHOWN], len(text))
    return text


def _check_kind(kind):
    if kind.startswith("choice:"):
        allowed = kind[len("choice:"):].split(",")
        return (lambda v: isinstance(v, str) and v in allowed), "one of " + ", ".join(allowed)
    if kind not in KINDS:
        raise ValueError("unknown kind of configuration value %r (known: %s)" % (kind, ", ".join(sorted(KINDS))))
    return KINDS[kind]


def _scalar_errors(name, value, kind):
    check, allowed = _check_kind(kind)
    if isinstance(value, (dict, list, tuple)):
        shape = "dict" if isinstance(value, dict) else "list"   # (Ansible hands over subclasses)
        return ["%s is a %s, not a single value: %s" % (name, shape, allowed)]
    if check(value):
        return []
    return ["%s = %s is not allowed: %s" % (name, show(value), allowed)]


def _errors(name, value, kind):
    if value is None or value == "":
        return []                       # not set: the templates write nothing for it
    if isinstance(kind, dict):          # a dict, or a list of dicts, whose keys have kinds
        if isinstance(value, dict):
            entries = [(name, value)]
        elif isinstance(value, list):
            entries = [("%s[%d]" % (name, i), v) for i, v in enumerate(value)]
        else:
            return ["%s = %s is not allowed: a list of dicts (or a dict) is expected" % (name, show(value))]
        out = []
        for entry_name, entry in entries:
            if not isinstance(entry, dict):
                out.append("%s = %s is not allowed: a dict is expected" % (entry_name, show(entry)))
                continue
            for key, sub_kind in kind.items():
                if key in entry:
                    out.extend(_errors("%s.%s" % (entry_name, key), entry[key], sub_kind))
        return out
    if isinstance(value, list):
        out = []
        for i, element in enumerate(value):
            out.extend(_errors("%s[%d]" % (name, i), element, kind) if element not in (None, "")
                       else ["%s[%d] is empty" % (name, i)])
        return out
    return _scalar_errors(name, value, kind)


def value_errors(values, kinds):
    """One message per value of ``values`` ({variable: value}) that its kind in ``kinds`` refuses.

    ``kinds`` maps each variable to a kind name of KINDS (or ``choice:a,b,c``), or to a dict of
    kinds for the keys of a dict or of each dict in a list.  A list value is checked element by
    element.  Unset values (None, "") pass: whether a value is required is checked elsewhere.
    """
    out = []
    for name, kind in kinds.items():
        if name in values:
            out.extend(_errors(name, values[name], kind))
    return out


_PEM_BEGIN = re.compile(r"-----BEGIN [A-Z0-9 ]+-----")
_PEM_END = re.compile(r"-----END [A-Z0-9 ]+-----")
_PEM_BODY_LINE = re.compile(r"[A-Za-z0-9+/=]*|(?:Proc-Type|DEK-Info): .*")
_DATA_VALUE = re.compile(r"data:(?!\()[^\s\"';]+")
_BASE64_RUN = re.compile(r"[A-Za-z0-9+/]{40,}={0,2}")
_PEM_NOTE = "(PEM block not shown)"


def _redact_pem_blocks(text):
    """Each PEM block, from its BEGIN line through its END line (or the end of its base64 body when
    the text was cut inside it, as nginx cuts a long message), becomes one note."""
    out, in_block, pending = [], False, ""
    for line in text.splitlines(True):
        content = line.rstrip("\r\n")
        newline = line[len(content):]
        if in_block:
            end = _PEM_END.search(content)
            if end:
                rest = content[end.end():]
            elif _PEM_BODY_LINE.fullmatch(content.strip()):
                pending = newline
                continue
            else:
                rest = re.sub(r"^\s*[A-Za-z0-9+/=]+", "", content)
            out.append(rest + newline)
            in_block, pending = False, ""
            continue
        begin = _PEM_BEGIN.search(content)
        if not begin:
            out.append(_PEM_END.sub("(PEM boundary not shown)", content) + newline)
            continue
        end = _PEM_END.search(content, begin.end())
        if end:
            out.append(content[:begin.start()] + _PEM_NOTE + content[end.end():] + newline)
        else:
            out.append(content[:begin.start()] + _PEM_NOTE)
            in_block, pending = True, newline
    if in_block:
        out.append(pending)
    return "".join(out)


def redact_key_material(text):
    """``text`` without PEM blocks, ``data:`` values or long base64 runs (key material)."""
    if not isinstance(text, str):
        text = str(text)
    text = _DATA_VALUE.sub("data:(not shown)", _redact_pem_blocks(text))
    return _BASE64_RUN.sub(_base64_note, text)


def _base64_note(match):
    """A long run of base64 characters is key material when it mixes digits and both cases (a path
    like /etc/nginx/sites/enabled/... does not)."""
    run = match.group(0)
    if re.search(r"[0-9]", run) and re.search(r"[a-z]", run) and re.search(r"[A-Z]", run):
        return "(base64 not shown)"
    return run
