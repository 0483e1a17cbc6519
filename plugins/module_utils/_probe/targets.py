# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Turn tls_probe's parameters into validated per-target settings.

Every error names the parameter (``targets[2].port``, ``ca_file``) and says
how to fix it: users see these messages instead of tracebacks.  Every value
is checked for its type and range before any connection is made; nothing is
coerced silently (``port: 443.7`` and ``port: true`` are errors, not 443 and 1).
Files (``ca_file``, ``client_cert``, ``client_key``) are read through
_safe_files: a FIFO or ``/dev/zero`` is an error naming the option.
"""

from __future__ import annotations

import json
import math
import re
import ssl

from ansible_collections.tlsops.handshake.plugins.module_utils._common import memo, net, safe_files
from ansible_collections.tlsops.handshake.plugins.module_utils._probe import conf, handshake as hs
from ansible_collections.tlsops.handshake.plugins.module_utils._tls import wire
from ansible_collections.tlsops.handshake.plugins.module_utils._tls.names import TLS_VERSIONS

# proxy_ssl_conf_command names tls_probe's conf_commands accepts (lower-case; nginx_tls_info reads it)
SUPPORTED_CONF_COMMANDS = conf.SUPPORTED_CONF_COMMANDS
ENUMERATIONS = ("protocols", "ciphers", "groups", "sni")

# Settings a target dict may override; module-level values are the defaults.
SETTINGS = {
    "protocols": ["TLSv1.2", "TLSv1.3"],
    "ciphers": None,
    "ciphersuites": None,
    "groups": None,
    "sigalgs": None,
    "alpn": None,
    "sni": True,
    "verify": True,
    "ca_file": None,
    "verify_depth": None,
    "client_cert": None,
    "client_key": None,
    "client_key_passphrase": None,
    "timeout": 5.0,
    "diagnose": True,
    "trace": False,
    "enumerate": None,
    "http_request": True,
    "clock_offset_ms": None,
    "conf_commands": None,
}
TARGET_KEYS = ("host", "port", "server_name", "name", "origin") + tuple(SETTINGS)

# A target's ``origin`` (where nginx uses it, from nginx_tls_info) is carried through to its result
# unchanged; the bound keeps a playbook's mistake (a whole registered result passed as origin) from
# travelling to the host and back for every target.  nginx_tls_info trims its origins to fit.
ORIGIN_MAX_BYTES = 16 * 1024


# Files the probe reads, and how much of each it accepts.
_CA_FILE_CAP = 16 * 1024 * 1024
_PEM_FILE_CAP = 1024 * 1024
_LABEL_RE = re.compile(r"^[A-Za-z0-9_-]+$")


class ProbeConfigError(ValueError):
    """A parameter can never work; the message names it and the fix."""


def check_host_name(value, where, what="host name"):
    """``value`` unchanged when it is an IP literal or a valid DNS name; ProbeConfigError naming ``where`` otherwise.

    A DNS name: no control characters, labels of letters, digits, ``-`` and
    ``_`` (or IDNA-encodable Unicode), each 1-63 bytes once encoded, 253 bytes
    in all (one trailing dot allowed).  This is what keeps a name from adding
    lines to the HTTP request or raw bytes to the SNI extension.
    """
    if not isinstance(value, str):
        raise ProbeConfigError("%s: expected a %s (a string), got %s %r" % (where, what, type(value).__name__, value))
    if value in _NAMES_CHECKED:
        return value
    _check_name_text(value, where, what)
    return _NAMES_CHECKED.keep(value, value)


_NAMES_CHECKED = memo.BoundedMemo(4096)    # a fleet's targets repeat a few names and addresses


def _check_name_text(value, where, what):
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise ProbeConfigError("%s: %r contains a control character (CR, LF, NUL...); give a plain %s"
                               % (where, _short(value), what))
    if net.is_ip_literal(value):
        return value
    name = value[:-1] if value.endswith(".") else value
    if not name:
        raise ProbeConfigError("%s: empty %s" % (where, what))
    if len(value) > 253 * 4:  # no need to IDNA-encode a 10 kB string to refuse it
        raise ProbeConfigError("%s: %r is longer than 253 characters (the DNS limit)" % (where, _short(value)))
    encoded = []
    for label in name.split("."):
        if not label:
            raise ProbeConfigError("%s: %r has an empty label (two dots in a row, or a leading dot)"
                                   % (where, _short(value)))
        if label.isascii():
            if not _LABEL_RE.match(label):
                raise ProbeConfigError("%s: %r: the label %r may hold only letters, digits, '-' and '_'"
                                       % (where, _short(value), _short(label)))
            ace = label
        else:
            try:
                ace = label.encode("idna").decode("ascii")
            except UnicodeError as exc:
                raise ProbeConfigError("%s: %r is not a valid internationalized name (%s)" % (where, _short(value), exc))
        if len(ace) > 63:
            raise ProbeConfigError("%s: %r has a label of %d characters; DNS allows 63"
                                   % (where, _short(value), len(ace)))
        encoded.append(ace)
    if len(".".join(encoded)) > 253:
        raise ProbeConfigError("%s: %r is longer than 253 characters (the DNS limit)" % (where, _short(value)))
    return value


def _short(text, limit=80):
    text = str(text)
    return text if len(text) <= limit else text[:limit] + "...(%d characters)" % len(text)


def _target_host_port(text, where):
    if not text.strip():
        raise ProbeConfigError("%s: empty target; write host, host:port or [v6addr]:port" % where)
    try:
        return net.split_host_port(text)
    except net.HostPortError as exc:
        raise ProbeConfigError("%s: %s; write [v6addr]:port" % (where, exc))


def _port(value, where):
    if isinstance(value, bool) or not isinstance(value, (int, str)) or (
            isinstance(value, str) and not value.strip().isdigit()):
        raise ProbeConfigError("%s: %r is not a port number; use a whole number 1-65535" % (where, value))
    port = int(value)
    if not 1 <= port <= 65535:
        raise ProbeConfigError("%s: %d is not a valid port; use 1-65535" % (where, port))
    return port


def _string_list(value, where):
    if value is None:
        return None
    if isinstance(value, str):
        value = [v for v in value.replace(",", ":").split(":") if v]
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) and v for v in value):
        raise ProbeConfigError("%s: expected a list of names, got %r" % (where, value))
    return list(value)


def _number(value, where, unit, low=None, high=None):
    """A finite int/float (or a string holding one); bools, NaN and infinities are errors."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ProbeConfigError("%s: %r is not a number of %s" % (where, value, unit))
    try:
        number = float(value)
    except ValueError:
        raise ProbeConfigError("%s: %r is not a number of %s" % (where, value, unit))
    if not math.isfinite(number):
        raise ProbeConfigError("%s: %r is not a finite number of %s" % (where, value, unit))
    if (low is not None and number <= low) or (high is not None and number > high):
        raise ProbeConfigError("%s: %s is out of range; use %s < %s <= %s %s"
                               % (where, value, low, where.rsplit(".", 1)[-1], high, unit))
    return number


def _whole_number(value, where, what):
    if isinstance(value, bool) or not isinstance(value, (int, str)) or (
            isinstance(value, str) and not value.strip().isdigit()):
        raise ProbeConfigError("%s: %r is not a whole number (%s)" % (where, value, what))
    return int(value)


def _read_file(path, where, what, cap):
    if not isinstance(path, str) or not path:
        raise ProbeConfigError("%s: expected the path of %s (a string), got %r" % (where, what, path))
    try:
        return safe_files.read_bytes(path, cap, where=where, what=what)
    except OSError as exc:  # FileRefused names where, the path, the problem and the fix
        raise ProbeConfigError(str(exc))


def _check_protocols(value, where):
    value = _string_list(value, where)
    if not value:
        raise ProbeConfigError("%s: give at least one of %s" % (where, ", ".join(TLS_VERSIONS)))
    for name in value:
        if name not in TLS_VERSIONS:
            raise ProbeConfigError("%s: unknown protocol %r; choose from %s"
                                   % (where, name, ", ".join(TLS_VERSIONS)))
    return sorted(set(value), key=TLS_VERSIONS.index)


def _check_ca_file(s, where, cache):
    path = s["ca_file"]
    key = _call_key("ca_file", path)
    if key in cache:
        s["ca_data"] = cache[key]
        return
    data = _read_file(path, where + "ca_file", "a PEM bundle (like proxy_ssl_trusted_certificate)", _CA_FILE_CAP)
    ca_data = data.decode("latin-1") if b"-----BEGIN" in data else data
    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_verify_locations(cadata=ca_data)
    except (ssl.SSLError, ValueError, TypeError) as exc:
        raise ProbeConfigError("%sca_file: %s holds no usable PEM certificate (%s)" % (where, path, exc))
    if key is not None:
        cache[key] = ca_data
    s["ca_data"] = ca_data


def _check_client_pair(s, where, cache):
    passphrase = s["client_key_passphrase"]
    if passphrase is not None and not isinstance(passphrase, str):
        raise ProbeConfigError("%sclient_key_passphrase: expected a string" % where)
    if bool(s["client_cert"]) != bool(s["client_key"]):
        missing = "client_key" if s["client_cert"] else "client_cert"
        raise ProbeConfigError("%s%s is required when %s is set: give both, like proxy_ssl_certificate and "
                               "proxy_ssl_certificate_key" % (where, missing, "client_cert" if s["client_cert"] else "client_key"))
    if not s["client_cert"]:
        return
    key_of_pair = _call_key("client_pair", s["client_cert"], s["client_key"], passphrase)
    if key_of_pair in cache:  # each SSLContext loads the pair again, pinned
        return
    _read_file(s["client_cert"], where + "client_cert", "a PEM certificate", _PEM_FILE_CAP)
    key = _read_file(s["client_key"], where + "client_key", "a PEM private key", _PEM_FILE_CAP)
    try:
        hs.load_client_pair(ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT), s["client_cert"], s["client_key"], passphrase)
    except hs.KeyNeedsPassphrase:
        raise ProbeConfigError("%sclient_key: %s is encrypted; give its passphrase in client_key_passphrase"
                               % (where, s["client_key"]))
    except (ssl.SSLError, ValueError, OSError) as exc:
        if passphrase is not None and b"ENCRYPTED" in key:
            raise ProbeConfigError("%sclient_key_passphrase: wrong passphrase for client_key %s"
                                   % (where, s["client_key"]))
        raise ProbeConfigError("%sclient_cert/client_key: cannot load the pair (%s); check that the key "
                               "belongs to the certificate" % (where, hs.openssl_style(exc)))
    if key_of_pair is not None:
        cache[key_of_pair] = True


def _check_ciphers(ciphers, where, cache):
    if _call_key("ciphers", ciphers) in cache:
        return
    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).set_ciphers(ciphers)
    except (ssl.SSLError, ValueError):
        raise ProbeConfigError("%sciphers: %r matches no cipher this OpenSSL (%s) knows; use an OpenSSL "
                               "cipher string such as ECDHE+AESGCM" % (where, ciphers, ssl.OPENSSL_VERSION))
    cache[_call_key("ciphers", ciphers)] = True


def _call_key(kind, *values):
    """The key under which a check that held stays true for the rest of the call, or None (never in the
    cache) when a value is not a string: that check then runs, and names the parameter.  A fleet's targets
    share a handful of trust files, cipher strings and client pairs; each check builds an SSLContext."""
    return (kind,) + values if all(value is None or isinstance(value, str) for value in values) else None


def _check_settings(s, where, cache, client_pair=True):
    s["protocols"] = _check_protocols(s["protocols"], where + "protocols")
    try:  # before the fields they win over are checked, as nginx applies them last
        conf.apply(s, where)
    except ValueError as exc:
        raise ProbeConfigError(str(exc))
    if s["ciphers"] is not None:
        if not isinstance(s["ciphers"], str):
            raise ProbeConfigError("%sciphers: expected an OpenSSL cipher string such as ECDHE+AESGCM, got %s %r"
                                   % (where, type(s["ciphers"]).__name__, s["ciphers"]))
        _check_ciphers(s["ciphers"], where, cache)
    s["ciphersuites"] = _string_list(s["ciphersuites"], where + "ciphersuites")
    known13 = set(wire.tls13_cipher_suites().values())
    for suite in s["ciphersuites"] or ():
        if suite not in known13:
            raise ProbeConfigError("%sciphersuites: unknown TLS 1.3 suite %r; choose from %s"
                                   % (where, suite, ", ".join(sorted(known13))))
    s["groups"] = _string_list(s["groups"], where + "groups")
    for name in s["groups"] or ():
        try:
            wire.group_code(name)
        except ValueError as exc:
            raise ProbeConfigError("%sgroups: %s" % (where, exc))
    s["sigalgs"] = _string_list(s["sigalgs"], where + "sigalgs")
    for name in s["sigalgs"] or ():
        try:
            wire.sigalg_code(name)
        except ValueError as exc:
            raise ProbeConfigError("%ssigalgs: %s" % (where, exc))
    s["alpn"] = _string_list(s["alpn"], where + "alpn")
    for proto in s["alpn"] or ():
        if len(proto.encode("utf-8")) > 255 or not proto.isascii() or not proto.isprintable():
            raise ProbeConfigError("%salpn: %r is not a protocol name (printable ASCII, at most 255 bytes)"
                                   % (where, _short(proto)))
    if s["ca_file"] is not None:
        _check_ca_file(s, where, cache)
    if client_pair:
        _check_client_pair(s, where, cache)
    if s["verify_depth"] is not None:
        s["verify_depth"] = _whole_number(s["verify_depth"], where + "verify_depth",
                                          "0 or more; nginx's default is 1")
        if s["verify_depth"] < 0:
            raise ProbeConfigError("%sverify_depth: must be 0 or more (nginx's default is 1)" % where)
    s["timeout"] = _number(s["timeout"], where + "timeout", "seconds", low=0, high=300)
    if s["clock_offset_ms"] is not None:
        s["clock_offset_ms"] = _number(s["clock_offset_ms"], where + "clock_offset_ms",
                                       "milliseconds (time_sync_info's offset_ms)")
        if abs(s["clock_offset_ms"]) > 100 * 365 * 86400 * 1000.0:
            raise ProbeConfigError("%sclock_offset_ms: %s is more than a century; give time_sync_info's offset_ms"
                                   % (where, s["clock_offset_ms"]))
    s["enumerate"] = _string_list(s["enumerate"], where + "enumerate") or []
    for item in s["enumerate"]:
        if item not in ENUMERATIONS:
            raise ProbeConfigError("%senumerate: unknown item %r; choose from %s" % (where, item, ", ".join(ENUMERATIONS)))
    for flag in ("sni", "verify", "diagnose", "http_request", "trace"):
        if not isinstance(s[flag], bool):
            raise ProbeConfigError("%s%s: expected true or false, got %r" % (where, flag, s[flag]))
    return s


def origin_size(origin):
    """Bytes of ``origin`` as compact UTF-8 JSON: what ORIGIN_MAX_BYTES bounds."""
    return len(json.dumps(origin, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode("utf-8"))


def check_origin(origin, where):
    """``origin`` unchanged when it is a dict that JSON carries unchanged, within ORIGIN_MAX_BYTES."""
    if not isinstance(origin, dict):
        raise ProbeConfigError("%s: expected a dict (where the target is used, as nginx_tls_info's probe_targets[].origin "
                               "gives it), got %s %r" % (where, type(origin).__name__, _short(origin)))
    try:
        size = origin_size(origin)
        same = json.loads(json.dumps(origin, allow_nan=False)) == origin
    except (TypeError, ValueError, RecursionError) as exc:
        raise ProbeConfigError("%s: cannot be written as JSON (%s); use only dicts with string keys, lists, strings, "
                               "numbers, booleans and null" % (where, _short(exc)))
    if not same:
        raise ProbeConfigError("%s: would not come back unchanged from JSON (keys that are not strings, or tuples); "
                               "use only dicts with string keys, lists, strings, numbers, booleans and null" % where)
    if size > ORIGIN_MAX_BYTES:
        raise ProbeConfigError("%s: %d bytes as JSON, more than the %d allowed; keep it to where the target is used "
                               "(nginx_tls_info's origin fits)" % (where, size, ORIGIN_MAX_BYTES))
    return origin


def _at(where, key):
    """The name an error gives a target's ``key``: ``targets[2].port``, or ``port`` for a target without a place."""
    return "%s.%s" % (where, key) if where else key


def _target_spec(item, base, where):
    spec = dict(base)
    if isinstance(item, str):
        host, port = _target_host_port(item, where)
        spec.update(host=host, port=port)
    elif isinstance(item, dict):
        unknown = sorted(str(k) for k in set(item) - set(TARGET_KEYS))
        if unknown:
            raise ProbeConfigError("%s: unknown key(s) %s; allowed: %s" % (where, ", ".join(unknown), ", ".join(TARGET_KEYS)))
        if item.get("host") in (None, ""):
            raise ProbeConfigError("%s: required in a target dict" % _at(where, "host"))
        spec.update({k: v for k, v in item.items() if v is not None})
        if not isinstance(spec["host"], str):
            raise ProbeConfigError("%s: expected a host name or IP address (a string), got %s %r"
                                   % (_at(where, "host"), type(spec["host"]).__name__, spec["host"]))
        if ":" in spec["host"] and spec.get("port") is None and not net.is_ip_literal(spec["host"]):
            spec["host"], spec["port"] = _target_host_port(spec["host"], where)
    else:
        raise ProbeConfigError("%s: expected 'host[:port]' or a dict, got %r" % (where, item))
    spec["host"] = spec["host"].strip("[]")
    if not spec["host"]:
        raise ProbeConfigError("%s: empty host name" % _at(where, "host"))
    check_host_name(spec["host"], _at(where, "host"), "host name or IP address")
    spec["port"] = _port(443 if spec.get("port") in (None, "") else spec["port"], _at(where, "port"))
    if spec.get("server_name") is not None:
        check_host_name(spec["server_name"], _at(where, "server_name"), "server name")
    if not spec.get("server_name"):
        spec["server_name"] = None if net.is_ip_literal(spec["host"]) else spec["host"]
    if spec.get("name") is not None and not isinstance(spec["name"], str):
        raise ProbeConfigError("%s: expected a label (a string), got %r" % (_at(where, "name"), spec["name"]))
    if spec.get("origin") is not None:
        check_origin(spec["origin"], _at(where, "origin"))
    return spec


def build_targets(targets, defaults):
    """Return one settings dict per target, in input order.

    ``defaults`` holds the module-level values of SETTINGS; a target dict can
    override any of them.  Every target is checked before any is probed.
    """
    if not isinstance(targets, (list, tuple)) or not targets:
        raise ProbeConfigError("targets: give a non-empty list of 'host[:port]' strings or dicts with host/port")
    base = dict(SETTINGS)
    base.update({k: v for k, v in (defaults or {}).items() if k in SETTINGS and v is not None})
    cache = {}
    # fail once, early, on a bad module-level value; the client pair only when no target brings its own part
    pair_keys = ("client_cert", "client_key", "client_key_passphrase")
    overridden = any(isinstance(t, dict) and any(t.get(k) is not None for k in pair_keys) for t in targets)
    _check_settings(dict(base), "", cache, client_pair=not overridden)
    return [_checked_target(item, base, "targets[%d]" % index, index, cache) for index, item in enumerate(targets)]


def _checked_target(item, base, where, index, cache):
    spec = _target_spec(item, base, where)
    spec["index"] = index
    spec["label"] = spec.get("name") or "%s:%d" % (spec["host"], spec["port"])
    return _check_settings(spec, _at(where, ""), cache)


def build_target(target):
    """One target dict, checked like an item of build_targets, for a module whose own options are the
    target's keys: errors name the key alone (``port: 0 is not a valid port``), not ``targets[0].port``."""
    return _checked_target(target, dict(SETTINGS), "", 0, {})


def secrets_in(targets):
    """The per-target client_key_passphrase values, for the module to hide like its no_log options."""
    found = set()
    for item in targets if isinstance(targets, (list, tuple)) else ():
        value = item.get("client_key_passphrase") if isinstance(item, dict) else None
        if isinstance(value, str) and value:
            found.add(value)
    return found
