# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What cert_chain_info reads: the certificates (a file, PEM text or a live
endpoint), candidate intermediates, trust anchors, a private key, the time.

Every problem raises ChainInputError with a message that names the parameter.  Every
file is read through _safe_files (regular files only, at most 16 MiB whatever the size
says): a FIFO or /dev/zero given as path, ca_file, intermediates or key_path is an error
naming the option, never a hang.  A private key is only ever loaded from key_path; PEM
blocks other than CERTIFICATE in path or content are ignored, and no message quotes file
or content bytes.
"""

from __future__ import annotations

import os
import re
import ssl
from datetime import datetime, timedelta, timezone

from ansible_collections.tlsops.handshake.plugins.module_utils._common import net
from ansible_collections.tlsops.handshake.plugins.module_utils._common.safe_files import FileRefused, read_bytes
from ansible_collections.tlsops.handshake.plugins.module_utils._tls import x509_lite as x509

try:
    from cryptography.hazmat.primitives import serialization
except ImportError:  # reported by the module through _chain_cert.HAS_CRYPTOGRAPHY
    serialization = None

_MAX_FILE = 16 * 1024 * 1024
_MAX_DIRECTORY_FILES = 4096  # /etc/ssl/certs holds a few hundred
_KEY_BLOCK_RE = re.compile(br"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----")

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
    for name in ("path", "content", "host", "server_name", "key_path", "key_passphrase", "ca_file",
                 "intermediates", "valid_at"):
        if p[name] is not None and not isinstance(p[name], str):
            raise ChainInputError("%s: must be a string, not %s" % (name, type(p[name]).__name__))
    for name in ("path", "key_path", "ca_file", "intermediates"):
        if p[name] and "\0" in p[name]:
            raise ChainInputError("%s: contains a NUL character; give a plain path" % name)
    for name in ("port", "warn_days", "verify_depth", "security_level"):
        p[name] = _whole(p[name], name)
    if p["host"] is not None:
        if p["port"] is None or not 1 <= p["port"] <= 65535:
            raise ChainInputError("port: %s is not a valid port; use 1-65535" % p["port"])
        timeout = p["timeout"]
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 < timeout <= 300:
            raise ChainInputError("timeout: %r is out of range; use 0 < timeout <= 300 seconds" % (timeout,))
    if p["warn_days"] is None or p["warn_days"] < 0:
        raise ChainInputError("warn_days: %s is negative; give the number of days before expiry to warn" % p["warn_days"])
    if p["security_level"] is None or not 0 <= p["security_level"] <= 5:
        raise ChainInputError("security_level: %s is not an OpenSSL security level; use 0-5" % p["security_level"])
    if p["verify_depth"] is not None and p["verify_depth"] < 0:
        raise ChainInputError("verify_depth: must be 0 or more (it counts intermediates; nginx's default is 1)")
    if p["key_passphrase"] and not p["key_path"]:
        raise ChainInputError("key_passphrase: only makes sense with key_path")
    names = p["names"]
    if names is None:
        names = []
        if p["host"] is not None:
            name = p["server_name"] or p["host"]
            names = [] if net.is_ip_literal(name) else [name]
    if isinstance(names, str):
        names = [names]
    if not isinstance(names, (list, tuple)) or not all(isinstance(n, str) and n.strip() for n in names):
        raise ChainInputError("names: give host names as a list of non-empty strings")
    p["names"] = [_name(n.strip(), "names[%d]" % index) for index, n in enumerate(names)]
    return p


def _whole(value, name):
    """An option that must be a whole number (or None); bools and fractions are errors, not coerced."""
    if value is None:
        return None
    if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
        raise ChainInputError("%s: %r is not a whole number" % (name, value))
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):
        raise ChainInputError("%s: %r is not a whole number" % (name, value))


def _name(name, where):
    """A name to check the leaf against: an IP address, or a DNS name (IDNA names as their A-labels)."""
    if net.is_ip_literal(name):
        return name
    if any(ord(c) < 0x21 or ord(c) == 0x7f for c in name):
        raise ChainInputError("%s: %r holds a space or a control character; give a DNS name or an IP address"
                              % (where, name[:80]))
    if len(name) > 253:
        raise ChainInputError("%s: %d characters; a DNS name has at most 253" % (where, len(name)))
    if not name.isascii():
        try:
            name = name.encode("idna").decode("ascii")
        except UnicodeError:
            raise ChainInputError("%s: %r is not a valid internationalised DNS name" % (where, name))
    labels = name.rstrip(".").split(".")
    if any(not label or len(label) > 63 for label in labels):
        raise ChainInputError("%s: %r has an empty label or one longer than 63 characters" % (where, name))
    return name


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
        try:
            delta = timedelta(**{_UNITS[unit]: float(amount)})
            return now + delta if sign == "+" else now - delta
        except OverflowError:
            raise ChainInputError("valid_at: %r is beyond the years 1-9999; give a nearer time" % value)
    iso = value[:-1] + "+00:00" if value.endswith(("Z", "z")) else value
    try:
        parsed = datetime.fromisoformat(iso)
    except ValueError:
        raise ChainInputError("valid_at: %r is neither an ISO 8601 time (2026-05-01T12:00:00Z) nor a relative "
                              "time (+14d, -2h, +30m, +90s, +2w)" % value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    try:
        return parsed.astimezone(timezone.utc)
    except OverflowError:
        raise ChainInputError("valid_at: %r is beyond the years 1-9999 in UTC; give a nearer time" % value)


# --------------------------------------------------------------------------
# Certificates


def _read(path, param, what):
    try:
        return read_bytes(path, _MAX_FILE, where=param, what=what)
    except FileRefused as exc:
        raise ChainInputError(str(exc))
    except ValueError:  # a NUL in a path read from a directory listing
        raise ChainInputError("%s: %r is not a usable path" % (param, path))


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
    data = _read(path, param, "a PEM certificate file")
    ders = certificates_in(data, param, path)
    if not ders and required:
        raise ChainInputError("%s: %s holds no certificate (expected PEM blocks "
                              "'-----BEGIN CERTIFICATE-----' or one DER certificate)%s" % (param, path, key_hint(data)))
    return ders


def key_hint(data):
    """A note for an input without certificates that holds a private key (never the key itself)."""
    if isinstance(data, str):
        data = data.encode("utf-8", "replace")
    if _KEY_BLOCK_RE.search(data):
        return "; the private key in it is ignored (give the key file as key_path)"
    return ""


def read_intermediates(path, param="intermediates"):
    """Candidate intermediates from a file or every readable regular file of a directory."""
    if path is None:
        return [], None
    if os.path.isdir(path):
        ders = []
        try:
            names = sorted(os.listdir(path))
        except OSError as exc:
            raise ChainInputError("%s: cannot list %s (%s)" % (param, path, exc.strerror or exc))
        for name in names[:_MAX_DIRECTORY_FILES]:
            try:
                ders.extend(read_certificates(os.path.join(path, name), param, required=False))
            except ChainInputError:
                continue  # a key, a README, a FIFO or a subdirectory next to the certificates
        return ders, path
    return read_certificates(path, param, required=False), path


def read_trust_store(ca_file):
    """Trust anchors: ``ca_file`` (a PEM bundle or a directory of them), else the system store."""
    if ca_file:
        if os.path.isdir(ca_file):
            ders, dummy = read_intermediates(ca_file, "ca_file")
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
        ders, dummy = read_intermediates(paths.capath, "ca_file")
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
    """The certificates an endpoint serves, in its order, read by the probe engine (_probe.served_chain).

    Returns ``(ders, details)``; ``details['chain_read']`` is ``full`` or ``leaf_only``
    (a TLS 1.3-only server on Python < 3.13).  ChainInputError names the option at fault.
    """
    # Imported here: a file-only run needs none of the probe engine.
    from ansible_collections.tlsops.handshake.plugins.module_utils._probe import served_chain
    from ansible_collections.tlsops.handshake.plugins.module_utils._probe.targets import ProbeConfigError

    try:
        served = served_chain.fetch(host, port, server_name, timeout)
    except ProbeConfigError as exc:
        raise ChainInputError(str(exc))
    if served.failed_at == served_chain.FailedAt.RESOLVE:
        raise ChainInputError("host: %s" % served.error)
    if served.failed_at == served_chain.FailedAt.HANDSHAKE:
        raise ChainInputError("host: no TLS handshake with %s:%d (%s); check host, port and server_name, or run "
                              "tlsops.handshake.tls_probe to name the cause" % (host, port, served.error))
    if not served.ders:
        raise ChainInputError("host: %s:%d sent no certificate" % (host, port))
    details = {"type": "endpoint", "host": host, "port": port, "server_name": served.server_name,
               "tls_version": served.tls_version, "chain_read": served.chain_read, "handshakes": served.handshakes,
               "elapsed_ms": served.elapsed_ms}
    return served.ders, details
