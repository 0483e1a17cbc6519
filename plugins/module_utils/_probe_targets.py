# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Turn tls_probe's parameters into validated per-target settings.

Every error names the parameter (``targets[2].port``, ``ca_file``) and says
how to fix it: users see these messages instead of tracebacks.
"""

from __future__ import annotations

import ipaddress
import os
import ssl

from ansible_collections.tlsops.handshake.plugins.module_utils import _tls_wire as wire

PROTOCOLS = ("TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3")
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
    "timeout": 5.0,
    "diagnose": True,
    "enumerate": None,
    "http_request": True,
    "clock_offset_ms": None,
}
TARGET_KEYS = ("host", "port", "server_name", "name") + tuple(SETTINGS)


class ProbeConfigError(ValueError):
    """A parameter can never work; the message names it and the fix."""


def is_ip_literal(host):
    try:
        ipaddress.ip_address(host.strip("[]").split("%")[0])
    except ValueError:
        return False
    return True


def _split_host_port(text, where):
    text = text.strip()
    if not text:
        raise ProbeConfigError("%s: empty target; write host, host:port or [v6addr]:port" % where)
    if text.startswith("["):
        host, sep, rest = text[1:].partition("]")
        if not sep:
            raise ProbeConfigError("%s: %r has an unclosed '['; write [v6addr]:port" % (where, text))
        port = rest[1:] if rest.startswith(":") else (None if not rest else rest)
        return host, port
    if text.count(":") > 1:  # bare IPv6 literal without a port
        return text, None
    host, sep, port = text.partition(":")
    return host, (port if sep else None)


def _port(value, where):
    try:
        port = int(value)
    except (TypeError, ValueError):
        raise ProbeConfigError("%s: %r is not a port number; use 1-65535" % (where, value))
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


def _readable_file(path, where, what):
    if not os.path.isfile(path) or not os.access(path, os.R_OK):
        raise ProbeConfigError("%s: cannot read %s; give the path of a readable %s" % (where, path, what))
    return path


def _check_protocols(value, where):
    value = _string_list(value, where)
    if not value:
        raise ProbeConfigError("%s: give at least one of %s" % (where, ", ".join(PROTOCOLS)))
    for name in value:
        if name not in PROTOCOLS:
            raise ProbeConfigError("%s: unknown protocol %r; choose from %s" % (where, name, ", ".join(PROTOCOLS)))
    return sorted(set(value), key=PROTOCOLS.index)


def _check_settings(s, where):
    s["protocols"] = _check_protocols(s["protocols"], where + "protocols")
    if s["ciphers"] is not None:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        try:
            ctx.set_ciphers(s["ciphers"])
        except ssl.SSLError:
            raise ProbeConfigError("%sciphers: %r matches no cipher this OpenSSL (%s) knows; use an OpenSSL "
                                   "cipher string such as ECDHE+AESGCM" % (where, s["ciphers"], ssl.OPENSSL_VERSION))
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
        if len(proto.encode()) > 255:
            raise ProbeConfigError("%salpn: %r is longer than 255 bytes" % (where, proto))
    if s["ca_file"]:
        _readable_file(s["ca_file"], where + "ca_file", "PEM bundle (like proxy_ssl_trusted_certificate)")
        try:
            ssl.create_default_context(cafile=s["ca_file"])
        except (ssl.SSLError, ValueError) as exc:
            raise ProbeConfigError("%sca_file: %s holds no usable PEM certificate (%s)" % (where, s["ca_file"], exc))
    if bool(s["client_cert"]) != bool(s["client_key"]):
        missing = "client_key" if s["client_cert"] else "client_cert"
        raise ProbeConfigError("%s%s is required when %s is set: give both, like proxy_ssl_certificate and "
                               "proxy_ssl_certificate_key" % (where, missing, "client_cert" if s["client_cert"] else "client_key"))
    if s["client_cert"]:
        _readable_file(s["client_cert"], where + "client_cert", "PEM certificate")
        _readable_file(s["client_key"], where + "client_key", "PEM private key")
        try:
            ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_cert_chain(s["client_cert"], s["client_key"])
        except (ssl.SSLError, ValueError) as exc:
            raise ProbeConfigError("%sclient_cert/client_key: cannot load the pair (%s); check that the key "
                                   "belongs to the certificate" % (where, exc))
    if s["verify_depth"] is not None:
        try:
            s["verify_depth"] = int(s["verify_depth"])
        except (TypeError, ValueError):
            raise ProbeConfigError("%sverify_depth: %r is not a number" % (where, s["verify_depth"]))
        if s["verify_depth"] < 0:
            raise ProbeConfigError("%sverify_depth: must be 0 or more (nginx's default is 1)" % where)
    try:
        s["timeout"] = float(s["timeout"])
    except (TypeError, ValueError):
        raise ProbeConfigError("%stimeout: %r is not a number of seconds" % (where, s["timeout"]))
    if not 0 < s["timeout"] <= 300:
        raise ProbeConfigError("%stimeout: %s is out of range; use 0 < timeout <= 300 seconds" % (where, s["timeout"]))
    if s["clock_offset_ms"] is not None:
        try:
            s["clock_offset_ms"] = float(s["clock_offset_ms"])
        except (TypeError, ValueError):
            raise ProbeConfigError("%sclock_offset_ms: %r is not a number of milliseconds (time_sync_info's "
                                   "offset_ms)" % (where, s["clock_offset_ms"]))
    s["enumerate"] = _string_list(s["enumerate"], where + "enumerate") or []
    for item in s["enumerate"]:
        if item not in ENUMERATIONS:
            raise ProbeConfigError("%senumerate: unknown item %r; choose from %s" % (where, item, ", ".join(ENUMERATIONS)))
    for flag in ("sni", "verify", "diagnose", "http_request"):
        if not isinstance(s[flag], bool):
            raise ProbeConfigError("%s%s: expected true or false, got %r" % (where, flag, s[flag]))
    return s


def build_targets(targets, defaults):
    """Return one settings dict per target, in input order.

    ``defaults`` holds the module-level values of SETTINGS; a target dict can
    override any of them.
    """
    if not isinstance(targets, (list, tuple)) or not targets:
        raise ProbeConfigError("targets: give a non-empty list of 'host[:port]' strings or dicts with host/port")
    base = dict(SETTINGS)
    base.update({k: v for k, v in (defaults or {}).items() if k in SETTINGS and v is not None})
    _check_settings(dict(base), "")  # fail once, early, on a bad module-level value
    specs = []
    for index, item in enumerate(targets):
        where = "targets[%d]" % index
        spec = dict(base)
        if isinstance(item, str):
            host, port = _split_host_port(item, where)
            spec.update(host=host, port=port)
        elif isinstance(item, dict):
            unknown = sorted(set(item) - set(TARGET_KEYS))
            if unknown:
                raise ProbeConfigError("%s: unknown key(s) %s; allowed: %s" % (where, ", ".join(unknown), ", ".join(TARGET_KEYS)))
            if not item.get("host"):
                raise ProbeConfigError("%s.host: required in a target dict" % where)
            spec.update({k: v for k, v in item.items() if v is not None})
            if ":" in str(spec["host"]) and spec.get("port") is None and not is_ip_literal(spec["host"]):
                spec["host"], spec["port"] = _split_host_port(str(spec["host"]), where)
        else:
            raise ProbeConfigError("%s: expected 'host[:port]' or a dict, got %r" % (where, item))
        spec["host"] = str(spec["host"]).strip("[]")
        if not spec["host"]:
            raise ProbeConfigError("%s.host: empty host name" % where)
        spec["port"] = _port(443 if spec.get("port") in (None, "") else spec["port"], where + ".port")
        if not spec.get("server_name"):
            spec["server_name"] = None if is_ip_literal(spec["host"]) else spec["host"]
        spec["index"] = index
        spec["label"] = spec.get("name") or "%s:%d" % (spec["host"], spec["port"])
        specs.append(_check_settings(spec, where + "."))
    return specs
