# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""TLS code points and their names: protocol versions, key-exchange groups,
signature algorithms, cipher suites and alerts.

The raw codec (``_tls/wire.py``) writes and reads these codes; the probe turns the
names users write (nginx / ``openssl s_client -groups/-sigalgs/-cipher``
spellings) into codes and the codes servers answer with back into names.

* standard library only (this file is shipped to managed hosts);
* canonical group names are the IANA/OpenSSL TLS names (``x25519``,
  ``secp256r1``, ``secp384r1``, ``secp521r1``, ``x448``, ``ffdhe2048``,
  ``X25519MLKEM768``...); ``prime256v1``, ``P-256`` and friends are accepted as
  aliases on input;
* TLS <= 1.2 cipher suites are resolved by the local libssl (``ssl``), so their
  names are the local OpenSSL's; a static table names the common ones when the
  local build does not know a suite a server picked.
"""

from __future__ import annotations

import collections
import ssl

# The one list of protocol versions, oldest first, in the spelling nginx and OpenSSL use.
# The probe speaks TLS_VERSIONS; nginx's *ssl_protocols also accept the SSL versions, which no
# OpenSSL of today speaks, and LEGACY_PROTOCOLS are those a modern client refuses.
TLS_VERSIONS = ("TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3")
MODERN_VERSIONS = ("TLSv1.2", "TLSv1.3")
NGINX_PROTOCOLS = ("SSLv2", "SSLv3") + TLS_VERSIONS
LEGACY_PROTOCOLS = tuple(p for p in NGINX_PROTOCOLS if p not in MODERN_VERSIONS)

PROTOCOL_VERSIONS = dict(zip(TLS_VERSIONS, (0x0301, 0x0302, 0x0303, 0x0304)))
# Decoding also knows SSLv3 (old servers still answer with it).
_VERSION_NAMES = {0x0300: "SSLv3"}
_VERSION_NAMES.update((v, k) for k, v in PROTOCOL_VERSIONS.items())
_VERSION_ALIASES = {"TLSV1.0": "TLSv1", "TLS1": "TLSv1", "TLS1.0": "TLSv1", "TLS1.1": "TLSv1.1",
                    "TLS1.2": "TLSv1.2", "TLS1.3": "TLSv1.3", "SSLV3": "SSLv3"}

SCSV_RENEGOTIATION = 0x00FF  # TLS_EMPTY_RENEGOTIATION_INFO_SCSV (RFC 5746)
SCSV_FALLBACK = 0x5600       # TLS_FALLBACK_SCSV (RFC 7507)

# Canonical name first for each code; the other spellings are input aliases (OpenSSL's object names,
# NIST's).  Every group OpenSSL 1.1.1-3.5 can negotiate without an engine, with the TLS versions OpenSSL
# allows it in: the brainpool*r1 and binary/Koblitz curves only up to TLS 1.2, the FFDHE groups only in
# TLS 1.3 (OpenSSL does not negotiate RFC 7919 groups in TLS 1.2), the *tls13 brainpool curves and ML-KEM
# only in TLS 1.3.  ``_TLS12, _TLS13, _BOTH`` say which.
_TLS12, _TLS13, _BOTH = ("TLSv1.2",), ("TLSv1.3",), ("TLSv1.2", "TLSv1.3")
_GROUP_TABLE = (
    (0x0001, "sect163k1", ("K-163",), _TLS12),
    (0x0002, "sect163r1", (), _TLS12),
    (0x0003, "sect163r2", ("B-163",), _TLS12),
    (0x0004, "sect193r1", (), _TLS12),
    (0x0005, "sect193r2", (), _TLS12),
    (0x0006, "sect233k1", ("K-233",), _TLS12),
    (0x0007, "sect233r1", ("B-233",), _TLS12),
    (0x0008, "sect239k1", (), _TLS12),
    (0x0009, "sect283k1", ("K-283",), _TLS12),
    (0x000A, "sect283r1", ("B-283",), _TLS12),
    (0x000B, "sect409k1", ("K-409",), _TLS12),
    (0x000C, "sect409r1", ("B-409",), _TLS12),
    (0x000D, "sect571k1", ("K-571",), _TLS12),
    (0x000E, "sect571r1", ("B-571",), _TLS12),
    (0x000F, "secp160k1", (), _TLS12),
    (0x0010, "secp160r1", (), _TLS12),
    (0x0011, "secp160r2", (), _TLS12),
    (0x0012, "secp192k1", (), _TLS12),
    (0x0013, "secp192r1", ("prime192v1", "P-192"), _TLS12),
    (0x0014, "secp224k1", (), _TLS12),
    (0x0015, "secp224r1", ("P-224",), _TLS12),
    (0x0016, "secp256k1", (), _TLS12),
    (0x0017, "secp256r1", ("prime256v1", "P-256"), _BOTH),
    (0x0018, "secp384r1", ("P-384",), _BOTH),
    (0x0019, "secp521r1", ("P-521",), _BOTH),
    (0x001A, "brainpoolP256r1", (), _TLS12),
    (0x001B, "brainpoolP384r1", (), _TLS12),
    (0x001C, "brainpoolP512r1", (), _TLS12),
    (0x001D, "x25519", ("X25519",), _BOTH),
    (0x001E, "x448", ("X448",), _BOTH),
    (0x001F, "brainpoolP256r1tls13", (), _TLS13),
    (0x0020, "brainpoolP384r1tls13", (), _TLS13),
    (0x0021, "brainpoolP512r1tls13", (), _TLS13),
    (0x0100, "ffdhe2048", (), _TLS13),
    (0x0101, "ffdhe3072", (), _TLS13),
    (0x0102, "ffdhe4096", (), _TLS13),
    (0x0103, "ffdhe6144", (), _TLS13),
    (0x0104, "ffdhe8192", (), _TLS13),
    (0x0200, "MLKEM512", ("ML-KEM-512",), _TLS13),
    (0x0201, "MLKEM768", ("ML-KEM-768",), _TLS13),
    (0x0202, "MLKEM1024", ("ML-KEM-1024",), _TLS13),
    (0x11EB, "SecP256r1MLKEM768", (), _TLS13),
    (0x11EC, "X25519MLKEM768", (), _TLS13),
    (0x11ED, "SecP384r1MLKEM1024", (), _TLS13),
)
GROUPS = {name: code for code, canonical, aliases, _versions in _GROUP_TABLE for name in (canonical,) + aliases}
_GROUP_NAMES = {code: name for code, name, _aliases, _versions in _GROUP_TABLE}
_GROUP_VERSIONS = {code: versions for code, _name, _aliases, versions in _GROUP_TABLE}
_GROUPS_LOWER = {name.lower(): code for name, code in GROUPS.items()}
# The object names OpenSSL's SSL_CTX_set1_groups knows these groups by, where they differ
# (ssl.SSLContext.set_ecdh_curve takes them); groups without an object (the *tls13 brainpool
# curves, ML-KEM) are negotiable from the OpenSSL version on that brought them.
_OPENSSL_OBJECT_NAMES = {0x0013: "prime192v1", 0x0017: "prime256v1", 0x001D: "X25519", 0x001E: "X448"}
_NO_OBJECT_SINCE = {0x001F: (3, 2), 0x0020: (3, 2), 0x0021: (3, 2), 0x0200: (3, 5), 0x0201: (3, 5),
                    0x0202: (3, 5), 0x11EB: (3, 5), 0x11EC: (3, 5), 0x11ED: (3, 5)}

# OpenSSL 3.0's default client group list, in its order.
DEFAULT_GROUPS = (0x001D, 0x0017, 0x001E, 0x0019, 0x0018, 0x0100, 0x0101, 0x0102, 0x0103, 0x0104)

_SIGALG_TABLE = (
    (0x0201, "rsa_pkcs1_sha1"), (0x0202, "dsa_sha1"), (0x0203, "ecdsa_sha1"),
    (0x0301, "rsa_pkcs1_sha224"), (0x0302, "dsa_sha224"), (0x0303, "ecdsa_sha224"),
    (0x0401, "rsa_pkcs1_sha256"), (0x0402, "dsa_sha256"), (0x0403, "ecdsa_secp256r1_sha256"),
    (0x0501, "rsa_pkcs1_sha384"), (0x0502, "dsa_sha384"), (0x0503, "ecdsa_secp384r1_sha384"),
    (0x0601, "rsa_pkcs1_sha512"), (0x0602, "dsa_sha512"), (0x0603, "ecdsa_secp521r1_sha512"),
    (0x0804, "rsa_pss_rsae_sha256"), (0x0805, "rsa_pss_rsae_sha384"), (0x0806, "rsa_pss_rsae_sha512"),
    (0x0807, "ed25519"), (0x0808, "ed448"),
    (0x0809, "rsa_pss_pss_sha256"), (0x080A, "rsa_pss_pss_sha384"), (0x080B, "rsa_pss_pss_sha512"),
    (0x081A, "ecdsa_brainpoolP256r1tls13_sha256"), (0x081B, "ecdsa_brainpoolP384r1tls13_sha384"),
    (0x081C, "ecdsa_brainpoolP512r1tls13_sha512"),
    (0x0904, "mldsa44"), (0x0905, "mldsa65"), (0x0906, "mldsa87"),
)
SIGALGS = {name: code for code, name in _SIGALG_TABLE}
_SIGALG_NAMES = dict(_SIGALG_TABLE)
_SIGALGS_LOWER = {name.lower(): code for name, code in SIGALGS.items()}
# OpenSSL also accepts "ALG+HASH" spellings (e.g. "RSA+SHA256", "ECDSA+SHA384").
_SIGALG_PLUS = {
    ("rsa", "sha1"): 0x0201, ("rsa", "sha224"): 0x0301, ("rsa", "sha256"): 0x0401,
    ("rsa", "sha384"): 0x0501, ("rsa", "sha512"): 0x0601,
    ("dsa", "sha1"): 0x0202, ("dsa", "sha224"): 0x0302, ("dsa", "sha256"): 0x0402,
    ("dsa", "sha384"): 0x0502, ("dsa", "sha512"): 0x0602,
    ("ecdsa", "sha1"): 0x0203, ("ecdsa", "sha224"): 0x0303, ("ecdsa", "sha256"): 0x0403,
    ("ecdsa", "sha384"): 0x0503, ("ecdsa", "sha512"): 0x0603,
    ("rsa-pss", "sha256"): 0x0804, ("rsa-pss", "sha384"): 0x0805, ("rsa-pss", "sha512"): 0x0806,
    ("pss", "sha256"): 0x0804, ("pss", "sha384"): 0x0805, ("pss", "sha512"): 0x0806,
}

# OpenSSL 3.0's default client signature_algorithms list, in its order.
DEFAULT_SIGALGS = (
    0x0403, 0x0503, 0x0603, 0x0807, 0x0808, 0x081A, 0x081B, 0x081C,
    0x0809, 0x080A, 0x080B, 0x0804, 0x0805, 0x0806,
    0x0401, 0x0501, 0x0601, 0x0303, 0x0301, 0x0302, 0x0402, 0x0502, 0x0602,
    0x0203, 0x0201, 0x0202,
)

_TLS13_SUITES = {
    0x1301: "TLS_AES_128_GCM_SHA256",
    0x1302: "TLS_AES_256_GCM_SHA384",
    0x1303: "TLS_CHACHA20_POLY1305_SHA256",
    0x1304: "TLS_AES_128_CCM_SHA256",
    0x1305: "TLS_AES_128_CCM_8_SHA256",
}
# Names used when the local OpenSSL does not know a suite a server picked
# (OpenSSL spellings, so they read like the rest of the output).
_STATIC_TLS12_NAMES = {
    0x0004: "RC4-MD5", 0x0005: "RC4-SHA", 0x000A: "DES-CBC3-SHA", 0x0016: "EDH-RSA-DES-CBC3-SHA",
    0x002F: "AES128-SHA", 0x0033: "DHE-RSA-AES128-SHA", 0x0035: "AES256-SHA", 0x0039: "DHE-RSA-AES256-SHA",
    0x003C: "AES128-SHA256", 0x003D: "AES256-SHA256", 0x0067: "DHE-RSA-AES128-SHA256",
    0x006B: "DHE-RSA-AES256-SHA256", 0x009C: "AES128-GCM-SHA256", 0x009D: "AES256-GCM-SHA384",
    0x009E: "DHE-RSA-AES128-GCM-SHA256", 0x009F: "DHE-RSA-AES256-GCM-SHA384",
    0xC009: "ECDHE-ECDSA-AES128-SHA", 0xC00A: "ECDHE-ECDSA-AES256-SHA", 0xC011: "ECDHE-RSA-RC4-SHA",
    0xC012: "ECDHE-RSA-DES-CBC3-SHA", 0xC013: "ECDHE-RSA-AES128-SHA", 0xC014: "ECDHE-RSA-AES256-SHA",
    0xC023: "ECDHE-ECDSA-AES128-SHA256", 0xC024: "ECDHE-ECDSA-AES256-SHA384",
    0xC027: "ECDHE-RSA-AES128-SHA256", 0xC028: "ECDHE-RSA-AES256-SHA384",
    0xC02B: "ECDHE-ECDSA-AES128-GCM-SHA256", 0xC02C: "ECDHE-ECDSA-AES256-GCM-SHA384",
    0xC02F: "ECDHE-RSA-AES128-GCM-SHA256", 0xC030: "ECDHE-RSA-AES256-GCM-SHA384",
    0xCCA8: "ECDHE-RSA-CHACHA20-POLY1305", 0xCCA9: "ECDHE-ECDSA-CHACHA20-POLY1305",
    0xCCAA: "DHE-RSA-CHACHA20-POLY1305",
    SCSV_RENEGOTIATION: "TLS_EMPTY_RENEGOTIATION_INFO_SCSV", SCSV_FALLBACK: "TLS_FALLBACK_SCSV",
}

ALERT_NAMES = {
    0: "close_notify", 10: "unexpected_message", 20: "bad_record_mac", 21: "decryption_failed",
    22: "record_overflow", 30: "decompression_failure", 40: "handshake_failure", 41: "no_certificate",
    42: "bad_certificate", 43: "unsupported_certificate", 44: "certificate_revoked",
    45: "certificate_expired", 46: "certificate_unknown", 47: "illegal_parameter", 48: "unknown_ca",
    49: "access_denied", 50: "decode_error", 51: "decrypt_error", 60: "export_restriction",
    70: "protocol_version", 71: "insufficient_security", 80: "internal_error",
    86: "inappropriate_fallback", 90: "user_canceled", 100: "no_renegotiation",
    109: "missing_extension", 110: "unsupported_extension", 111: "certificate_unobtainable",
    112: "unrecognized_name", 113: "bad_certificate_status_response",
    114: "bad_certificate_hash_value", 115: "unknown_psk_identity", 116: "certificate_required",
    120: "no_application_protocol", 121: "ech_required",
}
_ALERT_CODES = {name: code for code, name in ALERT_NAMES.items()}


def _fmt_code(code):
    return "0x%04X" % code


def _hex_code(text):
    """``0x1234`` -> 0x1234; None unless it is hex that fits the 16 bits a hello writes it in."""
    if text.lower().startswith("0x"):
        try:
            code = int(text, 16)
        except ValueError:
            return None
        if code <= 0xFFFF:
            return code
    return None


def version_code(name):
    """'TLSv1.2' (also 'TLSv1.0', 'TLS1.2', 'SSLv3') -> 0x0303; ValueError on an unknown name."""
    if isinstance(name, int):
        return name
    key = str(name).strip()
    key = _VERSION_ALIASES.get(key.upper(), key)
    for code, vname in _VERSION_NAMES.items():
        if vname.lower() == key.lower():
            return code
    raise ValueError("unknown protocol version %r (expected one of %s)" % (name, ", ".join(PROTOCOL_VERSIONS)))


def version_name(code):
    """0x0303 -> 'TLSv1.2'; unknown codes as '0x7F1C'; None stays None."""
    if code is None:
        return None
    return _VERSION_NAMES.get(code, _fmt_code(code))


def group_code(name):
    """Group name (case-insensitive, aliases allowed) or int -> IANA code; ValueError names the bad group."""
    if isinstance(name, int):
        return name
    key = str(name).strip()
    code = _GROUPS_LOWER.get(key.lower())
    if code is None:
        code = _hex_code(key)
        if code is None:
            raise ValueError("unknown key-exchange group %r" % (name,))
    return code


def group_name(code):
    """IANA code -> canonical name (x25519, secp256r1, ...); unknown codes as '0x1234'."""
    if code is None:
        return None
    return _GROUP_NAMES.get(code, _fmt_code(code))


def group_versions(code):
    """The TLS versions (of TLSv1.2, TLSv1.3) OpenSSL negotiates ``code`` in; () for a code it does not know."""
    return _GROUP_VERSIONS.get(group_code(code), ())


def all_groups(version=None):
    """Every group code of the table (those usable in ``version``, 'TLSv1.2' or 'TLSv1.3', when given)."""
    if version is None:
        return [code for code, _name, _aliases, _versions in _GROUP_TABLE]
    wanted = "TLSv1.3" if version == "TLSv1.3" else "TLSv1.2"  # TLS 1.0/1.1 negotiate what 1.2 does
    return [code for code, _name, _aliases, versions in _GROUP_TABLE if wanted in versions]


_LOCAL_GROUPS = []


def local_groups():
    """The group codes this host's OpenSSL (the libssl Python's ssl and nginx use) can negotiate, in table order.

    A group with an OpenSSL object is tried with SSL_CTX_set1_groups (``set_ecdh_curve``), which
    refuses names libssl cannot use in TLS; the others go by the OpenSSL version that brought them.
    """
    if not _LOCAL_GROUPS:
        found = []
        for code, name, _aliases, _versions in _GROUP_TABLE:
            if code in _NO_OBJECT_SINCE:
                if ssl.OPENSSL_VERSION_INFO[:2] >= _NO_OBJECT_SINCE[code]:
                    found.append(code)
                continue
            try:
                ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).set_ecdh_curve(_OPENSSL_OBJECT_NAMES.get(code, name))
            except (ssl.SSLError, ValueError):
                if not _ecx_by_version(code):
                    continue
            found.append(code)
        _LOCAL_GROUPS.extend(found)
    return list(_LOCAL_GROUPS)


# X25519 and X448 are not EC curves: a Python whose set_ecdh_curve still goes through
# EC_KEY_new_by_curve_name (Debian 12's python3.11 3.11.2 with OpenSSL 3.0) refuses them with
# "EC: UNKNOWN_GROUP" although libssl negotiates them.  Then the OpenSSL version decides, except
# in FIPS mode, where OpenSSL really leaves them out.
_ECX_SINCE = {0x001D: (1, 1, 0), 0x001E: (1, 1, 1)}
FIPS_FLAG = "/proc/sys/crypto/fips_enabled"


def _ecx_by_version(code):
    if code not in _ECX_SINCE or ssl.OPENSSL_VERSION_INFO[:3] < _ECX_SINCE[code]:
        return False
    try:
        with open(FIPS_FLAG) as handle:
            return handle.read(8).strip() != "1"
    except OSError:
        return True


def sigalg_code(name):
    """Signature scheme name ('rsa_pss_rsae_sha256', 'RSA+SHA256', '0x0804') or int -> code."""
    if isinstance(name, int):
        return name
    key = str(name).strip()
    code = _SIGALGS_LOWER.get(key.lower())
    if code is not None:
        return code
    if "+" in key:
        alg, _sep, digest = key.lower().partition("+")
        code = _SIGALG_PLUS.get((alg, digest))
        if code is not None:
            return code
    code = _hex_code(key)
    if code is None:
        raise ValueError("unknown signature algorithm %r" % (name,))
    return code


def sigalg_name(code):
    if code is None:
        return None
    return _SIGALG_NAMES.get(code, _fmt_code(code))


def alert_code(name):
    """'handshake_failure' or 40 -> 40."""
    if isinstance(name, int):
        return name
    try:
        return _ALERT_CODES[str(name).strip().lower()]
    except KeyError:
        raise ValueError("unknown alert %r" % (name,)) from None


def alert_name(code):
    if code is None:
        return None
    return ALERT_NAMES.get(code, "alert_%d" % code)


def tls13_cipher_suites():
    """{code: IANA name} of the TLS 1.3 cipher suites."""
    return dict(_TLS13_SUITES)


_TLS12_CACHE = {}


def _openssl_ciphers(cipher_string):
    """Resolve an OpenSSL cipher string with the local libssl -> [(code, name)] without TLS 1.3 suites.

    get_ciphers() always appends the TLS 1.3 suites whatever the string says, so
    they are dropped here; 'id' is 0x0300XXXX where XXXX is the IANA code.
    """
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.set_ciphers(cipher_string)
    out = []
    for entry in ctx.get_ciphers():
        code = entry.get("id", 0) & 0xFFFF
        if entry.get("protocol") == "TLSv1.3" or code in _TLS13_SUITES:
            continue
        out.append((code, entry.get("name") or _fmt_code(code)))
    return out


def tls12_cipher_suites():
    """{code: OpenSSL name} of every TLS <= 1.2 suite the local OpenSSL knows (ordered; a copy of the cache)."""
    return dict(_tls12_table())


def _tls12_table():
    if "all" not in _TLS12_CACHE:
        try:
            pairs = _openssl_ciphers("ALL:COMPLEMENTOFALL:@SECLEVEL=0")
        except (ssl.SSLError, ValueError):
            pairs = []
        table = collections.OrderedDict(pairs)
        if not table:  # exotic ssl builds: fall back to the static names
            table.update((c, n) for c, n in _STATIC_TLS12_NAMES.items() if c not in (SCSV_FALLBACK, SCSV_RENEGOTIATION))
        _TLS12_CACHE["all"] = table
    return _TLS12_CACHE["all"]


def cipher_name(code):
    """Suite code -> TLS 1.3 IANA name / local OpenSSL name / static name / '0x%04X'."""
    if code is None:
        return None
    if code in _TLS13_SUITES:
        return _TLS13_SUITES[code]
    name = _tls12_table().get(code)     # read, not copied: once per handshake
    if name:
        return name
    return _STATIC_TLS12_NAMES.get(code, _fmt_code(code))


def cipher_codes(openssl_cipher_string):
    """OpenSSL cipher string (e.g. 'ECDHE+AESGCM:!SHA1') -> [codes], resolved by the local libssl.

    TLS 1.3 suite names ('TLS_AES_128_GCM_SHA256') may be mixed in; they are
    taken literally, in front, because OpenSSL's cipher-string grammar ignores them.
    """
    text = str(openssl_cipher_string or "").strip()
    tls13_by_name = {name.lower(): code for code, name in _TLS13_SUITES.items()}
    tls13 = []
    rest = []
    for token in text.split(":"):
        token = token.strip()
        if not token:
            continue
        if token.lower() in tls13_by_name:
            if tls13_by_name[token.lower()] not in tls13:
                tls13.append(tls13_by_name[token.lower()])
        else:
            rest.append(token)
    codes = list(tls13)
    if rest:
        string = ":".join(rest)
        if "@seclevel" not in string.lower():
            # Weak suites must still resolve: a probe asks whether the *server* takes them.
            string += ":@SECLEVEL=0"
        try:
            pairs = _openssl_ciphers(string)
        except ssl.SSLError:
            pairs = []
        codes.extend(c for c, _n in pairs if c not in codes)
    if not codes:
        raise ValueError("no cipher matches the OpenSSL cipher string %r" % (openssl_cipher_string,))
    return codes


def cipher_kx(code, name):
    """'ecdhe' / 'dhe' / None for a TLS <= 1.2 suite, from its OpenSSL name."""
    upper = (name or "").upper()
    if upper.startswith(("ECDHE-", "AECDH-")) or "-ECDHE-" in upper:
        return "ecdhe"
    if upper.startswith(("DHE-", "EDH-", "ADH-")) or "-DHE-" in upper:
        return "dhe"
    if 0xC000 <= code <= 0xC0FF and code not in range(0xC001, 0xC00F):
        return "ecdhe"
    return None
