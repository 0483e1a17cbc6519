# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What cert_chain_info reads: the certificates (a file, PEM text or a live
endpoint), candidate intermediates, trust anchors, a private key, the time.

Every problem raises ChainInputError with a message that names the parameter.
"""

from __future__ import annotations

import ipaddress
import os
import re
import ssl
import time
from datetime import datetime, timedelta, timezone

from ansible_collections.tlsops.handshake.plugins.module_utils import _x509_lite as x509

try:
    from cryptography.hazmat.primitives import serialization
except ImportError:  # reported by the module through _chain_cert.HAS_CRYPTOGRAPHY
    serialization = None

_MAX_FILE = 16 * 1024 * 1024

DEFAULTS = {
    "path": None, "content": None, "host": None, "port": 443, "server_name": None, "timeout": 5.0,
    "key_path": None, "key_passphrase": None, "ca_file": None, "intermediates": None, "names": None,
    "warn_days": 30, "valid_at": None, "verify_depth": None, "security_level": 2,
}


class ChainInputError(ValueError):
    """A parameter that can never work; the message names it."""


# --------------------------------------------------------------------------
# Options


def check_params(params):
    """The options with their defaults, checked; raises ChainInputError naming the bad one."""
    p = dict(DEFAULTS)
    p.update({k: v for k, v in (params or {}).items() if v is not None})
    given = [k for k in ("path", "content", "host") if p.get(k) not in (None, "")]
    if not given:
        raise ChainInputError("path, content or host: give one: a PEM file on the host (path), PEM text (content) "
                              "or a live endpoint (host, port, server_name)")
    if len(given) > 1:
        raise ChainInputError("%s: give only one of path, content and host" % ", ".join(given))
    if p["host"] is not None:
        try:
            p["port"] = int(p["port"])
        except (TypeError, ValueError):
            raise ChainInputError("port: %r is not a port number; use 1-65535" % (p["port"],))
        if not 1 <= p["port"] <= 65535:
            raise ChainInputError("port: %d is not a valid port; use 1-65535" % p["port"])
        if not 0 < float(p["timeout"]) <= 300:
            raise ChainInputError("timeout: %s is out of range; use 0 < timeout <= 300 seconds" % p["timeout"])
    if int(p["warn_days"]) < 0:
        raise ChainInputError("warn_days: %d is negative; give the number of days before expiry to warn" % p["warn_days"])
    if not 0 <= int(p["security_level"]) <= 5:
        raise ChainInputError("security_level: %s is not an OpenSSL security level; use 0-5" % p["security_level"])
    if p["verify_depth"] is not None and int(p["verify_depth"]) < 0:
        raise ChainInputError("verify_depth: must be 0 or more (it counts intermediates; nginx's default is 1)")
    if p["key_passphrase"] and not p["key_path"]:
        raise ChainInputError("key_passphrase: only makes sense with key_path")
    names = p["names"]
    if names is None:
        names = []
        if p["host"] is not None:
            name = p["server_name"] or p["host"]
            names = [] if is_ip(name) else [name]
    if isinstance(names, str):
        names = [names]
    if not all(isinstance(n, str) and n.strip() for n in names):
        raise ChainInputError("names: give host names as a list of non-empty strings")
    p["names"] = [n.strip() for n in names]
    return p


def is_ip(text):
    try:
        ipaddress.ip_address(str(text).strip("[]"))
    except ValueError:
        return False
    return True


# --------------------------------------------------------------------------
# Time

_RELATIVE_RE = re.compile(r"^([+-])\s*(\d+(?:\.\d+)?)\s*([smhdw])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_valid_at(text, now=None):
    """The evaluation time: ``None`` is now; ISO 8601 (naive means UTC) or ``+14d``/``-2h``/``+30m``."""
    now = now or datetime.now(timezone.utc)
    if text is None or str(text).strip() in ("", "now"):
        return now
    value = str(text).strip()
    match = _RELATIVE_RE.match(value)
    if match:
        sign, amount, unit = match.groups()
        delta = timedelta(**{_UNITS[unit]: float(amount)})
        return now + delta if sign == "+" else now - delta
    iso = value[:-1] + "+00:00" if value.endswith(("Z", "z")) else value
    try:
        parsed = datetime.fromisoformat(iso)
    except ValueError:
        raise ChainInputError("valid_at: %r is neither an ISO 8601 time (2026-05-01T12:00:00Z) nor a relative "
                              "time (+14d, -2h, +30m, +90s, +2w)" % value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)


# --------------------------------------------------------------------------
# Certificates


def _read(path, param, what):
    if not os.path.exists(path):
        raise ChainInputError("%s: %s does not exist; give the path of %s" % (param, path, what))
    if not os.path.isfile(path):
        raise ChainInputError("%s: %s is not a regular file; give the path of %s" % (param, path, what))
    try:
        with open(path, "rb") as handle:
            data = handle.read(_MAX_FILE + 1)
    except OSError as exc:
        raise ChainInputError("%s: cannot read %s (%s)" % (param, path, exc.strerror or exc))
    if len(data) > _MAX_FILE:
        raise ChainInputError("%s: %s is larger than 16 MB; that is no certificate file" % (param, path))
    return data


def certificates_in(data, param, where):
    """DER of every certificate in ``data`` (PEM blocks, or one DER certificate)."""
    if isinstance(data, str):
        data = data.encode("utf-8", "replace")
    try:
        ders = x509.pem_to_der_list(data)
    except x509.X509Error as exc:
        raise ChainInputError("%s: %s: %s" % (param, where, exc))
    if not ders and data[:1] == b"\x30":
        ders = [bytes(data)]
    for index, der in enumerate(ders):
        try:
            x509.parse_certificate(der)
        except x509.X509Error as exc:
            raise ChainInputError("%s: certificate %d in %s is not readable: %s" % (param, index, where, exc))
    return ders


def read_certificates(path, param, required=True):
    ders = certificates_in(_read(path, param, "a PEM certificate file"), param, path)
    if not ders and required:
        raise ChainInputError("%s: %s holds no certificate (expected PEM blocks "
                              "'-----BEGIN CERTIFICATE-----' or one DER certificate)" % (param, path))
    return ders


def read_intermediates(path):
    """Candidate intermediates from a file or every readable file of a directory."""
    if path is None:
        return [], None
    if os.path.isdir(path):
        ders = []
        try:
            names = sorted(os.listdir(path))
        except OSError as exc:
            raise ChainInputError("intermediates: cannot list %s (%s)" % (path, exc.strerror or exc))
        for name in names:
            full = os.path.join(path, name)
            if os.path.isfile(full) and os.access(full, os.R_OK):
                try:
                    ders.extend(read_certificates(full, "intermediates", required=False))
                except ChainInputError:
                    continue  # a key or a README next to the certificates
        return ders, path
    return read_certificates(path, "intermediates", required=False), path


def read_trust_store(ca_file):
    """Trust anchors: ``ca_file`` (a PEM bundle or a directory of them), else the system store."""
    if ca_file:
        if os.path.isdir(ca_file):
            ders, dummy = read_intermediates(ca_file)
        else:
            ders = read_certificates(ca_file, "ca_file")
        if not ders:
            raise ChainInputError("ca_file: %s holds no certificate" % ca_file)
        return ders, ca_file
    paths = ssl.get_default_verify_paths()
    ders = []
    label = paths.cafile or paths.capath or "the system store"
    if paths.cafile and os.path.isfile(paths.cafile):
        ders = read_certificates(paths.cafile, "ca_file", required=False)
    elif paths.capath and os.path.isdir(paths.capath):
        for name in sorted(os.listdir(paths.capath)):
            full = os.path.join(paths.capath, name)
            if os.path.isfile(full):
                try:
                    ders.extend(read_certificates(full, "ca_file", required=False))
                except ChainInputError:
                    continue
    return ders, label


# --------------------------------------------------------------------------
# Private key


def load_private_key(path, passphrase):
    data = _read(path, "key_path", "a private key file")
    password = passphrase.encode("utf-8") if passphrase else None
    errors = []
    for loader in (serialization.load_pem_private_key, serialization.load_der_private_key):
        try:
            return loader(data, password=password)
        except TypeError as exc:
            text = str(exc).lower()
            if "encrypted" in text and password is None:
                raise ChainInputError("key_path: %s is encrypted; give its passphrase in key_passphrase" % path)
            if "not encrypted" in text:
                raise ChainInputError("key_passphrase: %s is not encrypted; drop key_passphrase" % path)
            errors.append(str(exc))
        except ValueError as exc:
            if password is not None and ("password" in str(exc).lower() or "decrypt" in str(exc).lower()):
                raise ChainInputError("key_passphrase: wrong passphrase for %s" % path)
            errors.append(str(exc))
        except Exception as exc:  # pylint: disable=broad-except
            errors.append(str(exc))  # UnsupportedAlgorithm and friends
    if b"ENCRYPTED" in data and password is not None:
        raise ChainInputError("key_passphrase: wrong passphrase for %s" % path)
    raise ChainInputError("key_path: %s holds no private key this host can read (PEM or DER)" % path)


def public_key_der(key):
    return key.public_key().public_bytes(serialization.Encoding.DER,
                                         serialization.PublicFormat.SubjectPublicKeyInfo)


# --------------------------------------------------------------------------
# Live endpoint


def fetch_served_chain(host, port, server_name=None, timeout=5.0):
    """The certificates an endpoint serves, in its order, through the probe engine.

    One real handshake (verification off) through the probe's ssl set-up gives the
    leaf (and the whole chain on Python 3.13+); otherwise the probe's raw TLS 1.2
    ClientHello reads the plaintext Certificate message.  Returns
    ``(ders, details)``; ``details['chain_read']`` is ``full`` or ``leaf_only``
    (a TLS 1.3-only server on Python < 3.13).
    """
    # Imported here: a file-only run needs none of the probe engine.
    from ansible_collections.tlsops.handshake.plugins.module_utils import _probe_diagnose as diagnose
    from ansible_collections.tlsops.handshake.plugins.module_utils._probe import ProbeRun, resolve
    from ansible_collections.tlsops.handshake.plugins.module_utils._probe_targets import (
        ProbeConfigError, build_targets)

    target = {"host": host, "port": port, "verify": False, "diagnose": False, "http_request": False,
              "timeout": timeout, "protocols": ["TLSv1.2", "TLSv1.3"]}
    if server_name:
        target["server_name"] = server_name
    try:
        spec = build_targets([target], {})[0]
    except ProbeConfigError as exc:
        raise ChainInputError(re.sub(r"^targets\[0\]\.?", "", str(exc)).lstrip(": ") or str(exc))
    run = ProbeRun(spec)
    problem = resolve(run)
    if problem:
        raise ChainInputError("host: %s" % problem)
    run.restart_clock()  # everything below ends within timeout x DEADLINE_FACTOR, whatever the peer does
    started = time.monotonic()
    out = run.handshake(verify=False, http_request=False)
    if not out.handshake_ok:
        raise ChainInputError("host: no TLS handshake with %s:%d (%s); check host, port and server_name, or run "
                              "tlsops.handshake.tls_probe to name the cause" % (host, port, out.error))
    ders = diagnose.served_chain(run, out)
    chain_read = "full"
    if not ders and out.peer_der:  # TLS 1.3 only: the Certificate message is encrypted
        ders, chain_read = [out.peer_der], "leaf_only"
    if not ders:
        raise ChainInputError("host: %s:%d sent no certificate" % (host, port))
    details = {"type": "endpoint", "host": host, "port": port, "server_name": spec.get("server_name"),
               "tls_version": out.version, "chain_read": chain_read, "handshakes": run.handshakes,
               "elapsed_ms": round((time.monotonic() - started) * 1000, 1)}
    return ders, details
