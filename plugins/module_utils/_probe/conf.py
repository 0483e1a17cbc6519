# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""tls_probe's ``conf_commands``: nginx's ``proxy_ssl_conf_command NAME VALUE;`` as a dict.

nginx hands each command to OpenSSL's SSL_CONF_cmd() with SSL_CONF_FLAG_FILE, so
command names compare without case and the values are OpenSSL's.  nginx applies
them after its own proxy_ssl_* settings, so they win over the probe's equivalent
fields (groups, sigalgs, ciphersuites, ciphers, protocols).  ``apply`` turns
them into those fields, and Options into SSL_OP_* bits for the real handshake;
every error names ``conf_commands.NAME`` (or ``targets[N].conf_commands.NAME``)
and says what is accepted.
"""

from __future__ import annotations

import ssl

from ansible_collections.tlsops.handshake.plugins.module_utils._tls import wire
from ansible_collections.tlsops.handshake.plugins.module_utils._tls.names import TLS_VERSIONS

# The commands the probe reproduces, lower-case (OpenSSL's file-style names; "Sigalgs" is accepted as
# a shorthand of SignatureAlgorithms, "Curves" is OpenSSL's older name of Groups).
SUPPORTED_CONF_COMMANDS = ("options", "groups", "curves", "signaturealgorithms", "sigalgs", "ciphersuites",
                           "cipherstring", "minprotocol", "maxprotocol")

_FIELD_OF = {"groups": "groups", "curves": "groups", "signaturealgorithms": "sigalgs", "sigalgs": "sigalgs",
             "ciphersuites": "ciphersuites", "cipherstring": "ciphers"}

# OpenSSL's protocol_from_string() names (compared exactly); None = no bound.
_PROTOCOL_BOUNDS = {"None": None, "SSLv3": -1, "TLSv1": 0, "TLSv1.1": 1, "TLSv1.2": 2, "TLSv1.3": 3}

# OpenSSL's Options flags (ssl_conf.c, any case; "-Name" turns one off) -> (SSL_OP_* bit, inverted).
# The bit is set for "Name" (cleared for "-Name"), or the other way round when inverted ("EncryptThenMac"
# clears SSL_OP_NO_ENCRYPT_THEN_MAC).  A bit of None: the flag only matters to a server (or to
# certificate loading) and changes nothing in the probe's handshake; it is accepted as nginx accepts it.
_OPTIONS = {
    "unsafelegacyserverconnect": (1 << 2, False),     # SSL_OP_LEGACY_SERVER_CONNECT
    "unsafelegacyrenegotiation": (1 << 18, False),    # SSL_OP_ALLOW_UNSAFE_LEGACY_RENEGOTIATION
    "encryptthenmac": (1 << 19, True),                # SSL_OP_NO_ENCRYPT_THEN_MAC
    "sessionticket": (1 << 14, True),                 # SSL_OP_NO_TICKET
    "compression": (1 << 17, True),                   # SSL_OP_NO_COMPRESSION
    "middleboxcompat": (1 << 20, False),              # SSL_OP_ENABLE_MIDDLEBOX_COMPAT
    "norenegotiation": (1 << 30, False),              # SSL_OP_NO_RENEGOTIATION
    "ignoreunexpectedeof": (1 << 7, False),           # SSL_OP_IGNORE_UNEXPECTED_EOF
    "emptyfragments": (1 << 11, True),                # SSL_OP_DONT_INSERT_EMPTY_FRAGMENTS
    "bugs": (ssl.OP_ALL, False),
    "extendedmastersecret": ((1 << 0) if ssl.OPENSSL_VERSION_INFO >= (3, 0) else None, True),
    "serverpreference": (None, False), "prioritizechacha": (None, False), "dhsingle": (None, False),
    "ecdhsingle": (None, False), "noresumptiononrenegotiation": (None, False), "allownodhekex": (None, False),
    "antireplay": (None, False), "clientrenegotiation": (None, False), "canames": (None, False),
    "ktls": (None, False), "strictcertcheck": (None, False), "txcertificatecompression": (None, False),
    "rxcertificatecompression": (None, False), "ktlstxzerocopysendfile": (None, False),
}
_OPTION_NAMES = ("UnsafeLegacyServerConnect, UnsafeLegacyRenegotiation, EncryptThenMac, SessionTicket, Compression, "
                 "MiddleboxCompat, NoRenegotiation, IgnoreUnexpectedEOF, ExtendedMasterSecret, EmptyFragments, Bugs "
                 "and the server-side flags")


def _colon_list(value, where, what):
    items = [v.strip() for v in value.split(":")]
    if not value.strip() or not all(items):
        raise ValueError("%s: %r is not a ':'-separated list of %s (an empty item)" % (where, value, what))
    return items


def _groups(value, where):
    names = _colon_list(value, where, "groups")
    local = set(wire.local_groups())
    for name in names:
        try:
            code = wire.group_code(name)
        except ValueError as exc:
            raise ValueError("%s: %s; write groups as nginx passes them to OpenSSL, e.g. X25519:prime256v1" % (where, exc))
        if code not in local:
            raise ValueError("%s: this OpenSSL (%s) cannot negotiate %s, so nginx would refuse the value too; it "
                             "knows %s" % (where, ssl.OPENSSL_VERSION, name,
                                           ", ".join(wire.group_name(c) for c in sorted(local))))
    return names


def _sigalgs(value, where):
    names = _colon_list(value, where, "signature algorithms")
    for name in names:
        try:
            wire.sigalg_code(name)
        except ValueError as exc:
            raise ValueError("%s: %s; use TLS 1.3 names (rsa_pss_rsae_sha256) or ALG+HASH (RSA+SHA256)" % (where, exc))
    return names


def _ciphersuites(value, where):
    names = _colon_list(value, where, "TLS 1.3 cipher suites")
    known = set(wire.tls13_cipher_suites().values())
    for name in names:
        if name not in known:
            raise ValueError("%s: unknown TLS 1.3 suite %r; choose from %s" % (where, name, ", ".join(sorted(known))))
    return names


def _options(value, where):
    """(bits to set, bits to clear) for the real handshake's SSLContext."""
    set_bits = clear_bits = 0
    for flag in (f.strip() for f in value.split(",")):
        if not flag:
            continue
        off = flag.startswith("-")
        name = flag[1:].strip() if off else flag
        if name.lower() not in _OPTIONS:
            raise ValueError("%s: unknown option %r; OpenSSL's Options are %s (comma-separated, '-' turns one off)"
                             % (where, flag, _OPTION_NAMES))
        bit, inverted = _OPTIONS[name.lower()]
        if bit is None:
            continue
        if off != inverted:
            clear_bits |= bit
            set_bits &= ~bit
        else:
            set_bits |= bit
            clear_bits &= ~bit
    return set_bits, clear_bits


def _bound(value, where):
    if value not in _PROTOCOL_BOUNDS:
        raise ValueError("%s: %r is not a protocol OpenSSL knows here; use one of %s (exact spelling)"
                         % (where, value, ", ".join(_PROTOCOL_BOUNDS)))
    return _PROTOCOL_BOUNDS[value]


def normalize(value, where):
    """``{lower-case command: (spelled name, value)}`` from a conf_commands dict; ValueError naming ``where``."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValueError("%s: expected a dict {command: value}, like proxy_ssl_conf_command COMMAND VALUE;, got %s %r"
                         % (where, type(value).__name__, value))
    out = {}
    for name, setting in value.items():
        if not isinstance(name, str) or name.lower() not in SUPPORTED_CONF_COMMANDS:
            raise ValueError("%s: unsupported command %r; the probe reproduces %s (any case, as OpenSSL reads them)"
                             % (where, name, ", ".join(("Options", "Groups", "Curves", "SignatureAlgorithms", "Sigalgs",
                                                        "Ciphersuites", "CipherString", "MinProtocol", "MaxProtocol"))))
        key = name.lower()
        if key in out or (key in _FIELD_OF and any(_FIELD_OF.get(k) == _FIELD_OF[key] for k in out)):
            raise ValueError("%s: %s is given twice (names compare without case; Curves is Groups, Sigalgs is "
                             "SignatureAlgorithms)" % (where, name))
        if not isinstance(setting, str) or not setting.strip():
            raise ValueError("%s.%s: expected the value as nginx passes it (a non-empty string), got %r"
                             % (where, name, setting))
        out[key] = (name, setting.strip())
    return out


def apply(settings, where):
    """Fold ``settings['conf_commands']`` into the fields they win over; returns ``settings``.

    Sets ``ssl_options`` ((set, clear) SSL_OP_* bits) for the real handshake.  Raises
    ValueError naming ``where``conf_commands.NAME.
    """
    commands = normalize(settings.get("conf_commands"), where + "conf_commands")
    settings["conf_commands"] = dict(commands.values()) or None
    settings["ssl_options"] = (0, 0)
    low = high = None
    for key, (name, value) in commands.items():
        here = "%sconf_commands.%s" % (where, name)
        if key in ("groups", "curves"):
            settings["groups"] = _groups(value, here)
        elif key in ("signaturealgorithms", "sigalgs"):
            settings["sigalgs"] = _sigalgs(value, here)
        elif key == "ciphersuites":
            settings["ciphersuites"] = _ciphersuites(value, here)
        elif key == "cipherstring":
            settings["ciphers"] = value
        elif key == "options":
            settings["ssl_options"] = _options(value, here)
        elif key == "minprotocol":
            low = _bound(value, here)
        elif key == "maxprotocol":
            high = _bound(value, here)
    if low is not None or high is not None:
        kept = [p for p in settings["protocols"] if (low is None or TLS_VERSIONS.index(p) >= low)
                and (high is None or TLS_VERSIONS.index(p) <= high)]
        if not kept:
            raise ValueError("%sconf_commands: MinProtocol/MaxProtocol leave none of the protocols %s; nginx would "
                             "fail every handshake with 'no protocols available'" % (where, " ".join(settings["protocols"])))
        settings["protocols"] = kept
    return settings
