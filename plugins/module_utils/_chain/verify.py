# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Verify a certificate chain and report OpenSSL's verify codes the way nginx logs them.

nginx's verify callback lets OpenSSL go on after every error, so nginx logs the
LAST error of X509_verify_cert(); ``openssl verify`` stops at the first error
that is not on its short "continue" list.  ``verify_chain`` therefore:

1. runs ``openssl verify`` (when the binary exists) set up like nginx's upstream
   context (``-purpose sslserver``, ``-auth_level`` = the SSL security level,
   only the given trust anchors) and reads every "error N at D depth lookup" line.
   Chain building is left at the binary's defaults, as nginx leaves it: trusted
   first since OpenSSL 1.1.0, alternative chains since 1.0.2 (no ``-trusted_first``,
   which would make a 1.0.2 host's binary differ from that host's nginx, and no
   ``-no_alt_chains``), so the path agrees with _chain_path and the replay;
2. replays X509_verify_cert() of OpenSSL 3.0 with a callback that always
   continues (_chain_replay): chain building (trusted first), extension,
   security-level, signature and validity checks, in OpenSSL's order;
3. where ``openssl verify`` stopped early, continues its list with the replay's
   later errors (``source: openssl+replay``); without the binary the replay alone
   gives the codes (``source: replay``);
4. asks cryptography's X.509 verifier (a strict Web PKI policy) for its verdict and
   its path, when that API exists (cryptography >= 42).

Certificates are _chain_cert.Cert objects.
"""

from __future__ import annotations

import ipaddress
import os
import re
import shutil
import subprocess
import tempfile

from ansible_collections.tlsops.handshake.plugins.module_utils._chain import cert as links, replay

try:
    from cryptography.hazmat.primitives.serialization import Encoding
except ImportError:  # the module reports the missing library (_chain_cert.HAS_CRYPTOGRAPHY)
    Encoding = None

try:
    from cryptography.x509 import verification as cverify
except ImportError:  # cryptography < 42: no verdict of its own, the rest works
    cverify = None

# The errors after which `openssl verify`'s own callback goes on (apps/verify.c cb());
# after any other error it stops, where nginx would go on.  (24 is INVALID_CA before 3.0.)
OPENSSL_VERIFY_CONTINUES = frozenset((10, 11, 12, 18, 24, 25, 26, 34, 37, 43, 79))


# --------------------------------------------------------------------------
# openssl verify

_LABELS = {"ca.pem": "TRUST_ANCHORS.pem", "untrusted.pem": "SERVED_CHAIN.pem", "leaf.pem": "LEAF.pem"}
_ERROR_RE = re.compile(r"^(?:\[CRL path\] )?error (\d+) at (-?\d+) depth lookup: ?(.*)$")


def openssl_binary():
    return shutil.which("openssl") or next(
        (p for p in ("/usr/bin/openssl", "/usr/local/bin/openssl") if os.access(p, os.X_OK)), None)


def _write(directory, name, certs):
    path = os.path.join(directory, name)
    with open(path, "w") as handle:
        handle.write("".join(c.pem() for c in certs))
    return path


def run_openssl_verify(binary, leaf, untrusted, store, at, depth=None, level=2):
    """Run ``openssl verify`` like nginx's upstream verification.

    Returns ``{"ok", "errors", "command"}`` or ``{"failure": text}`` when the
    binary could not judge (it cannot load something, or an option is unknown).
    """
    tmp = tempfile.mkdtemp(prefix="tlsops-chain-")
    try:
        cmd = [binary, "verify", "-purpose", "sslserver", "-auth_level", str(level), "-show_chain",
               "-no-CApath", "-no-CAstore", "-CAfile", _write(tmp, "ca.pem", store)]
        if untrusted:
            cmd += ["-untrusted", _write(tmp, "untrusted.pem", untrusted)]
        if depth is not None:
            cmd += ["-verify_depth", str(depth)]
        if at is not None:
            cmd += ["-attime", str(int(at.timestamp()))]
        cmd.append(_write(tmp, "leaf.pem", [leaf]))
        if not store:  # an empty -CAfile does not load: trust nothing, the way nginx does with no CA
            cmd[cmd.index("-CAfile"):cmd.index("-CAfile") + 2] = ["-no-CAfile"]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=30, check=False,
                                  stdin=subprocess.DEVNULL)
        except (OSError, subprocess.SubprocessError) as exc:
            return {"failure": "could not run %s: %s" % (binary, exc)}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    output = (proc.stdout or "") + (proc.stderr or "")
    errors = []
    for line in output.splitlines():
        match = _ERROR_RE.match(line.strip())
        if match:
            errors.append({"code": int(match.group(1)), "depth": int(match.group(2)),
                           "message": match.group(3).strip(), "subject": None})
    shown = ["openssl"] + [_LABELS.get(os.path.basename(a), a) if a.startswith(tmp) else a for a in cmd[1:]]
    if proc.returncode == 0:
        return {"ok": True, "errors": errors, "command": shown}
    if proc.returncode == 2 and errors:
        return {"ok": False, "errors": errors, "command": shown}
    tail = [ln for ln in output.splitlines() if ln.strip()]
    return {"failure": "openssl verify exited %d: %s" % (proc.returncode, tail[-1] if tail else "no output")}


def _merge(reported, replayed, chain):
    """openssl verify's errors, continued with the replay's where openssl stopped.

    Returns ``(errors, continued, agrees)``.
    """
    for err in reported:
        if 0 <= err["depth"] < len(chain):
            err["subject"] = chain[err["depth"]].subject
    keys = [(e["code"], e["depth"]) for e in replayed]
    agrees = keys[:len(reported)] == [(e["code"], e["depth"]) for e in reported]
    last = reported[-1]
    if last["code"] in OPENSSL_VERIFY_CONTINUES:
        return reported, False, agrees
    key = (last["code"], last["depth"])
    if key not in keys:
        return reported, False, False
    rest = replayed[keys.index(key) + 1:]
    return reported + rest, bool(rest), agrees


# --------------------------------------------------------------------------
# cryptography's verifier


def webpki_verdict(leaf, untrusted, store, at, name=None, depth=None):
    """cryptography's verdict with its Web PKI policy: ``{"ok", "error", "chain"}`` or None (API missing)."""
    if cverify is None:
        return None
    if not store:
        return {"ok": False, "error": "no trust anchors", "chain": []}
    subject = None
    try:
        if name:
            try:
                subject = cverify.IPAddress(ipaddress.ip_address(name))
            except ValueError:
                subject = cverify.DNSName(name)
        elif leaf.info.get("san_dns"):
            subject = cverify.DNSName(leaf.info["san_dns"][0].replace("*", "wildcard", 1))
        elif leaf.info.get("san_ip"):
            subject = cverify.IPAddress(ipaddress.ip_address(leaf.info["san_ip"][0]))
        else:
            return {"ok": False, "error": "the leaf has no subjectAltName", "chain": []}
        builder = cverify.PolicyBuilder().store(cverify.Store([c.obj for c in store]))
        if at is not None:
            builder = builder.time(at)
        if depth is not None:
            builder = builder.max_chain_depth(depth)  # intermediates, as verify_depth
        verified = builder.build_server_verifier(subject).verify(leaf.obj, [c.obj for c in untrusted])
    except Exception as exc:  # pylint: disable=broad-except
        # VerificationError, or a certificate this policy cannot even read: a verdict either way
        return {"ok": False, "error": str(exc), "chain": []}
    known = dict((c.der, c) for c in [leaf] + list(untrusted) + list(store))
    chain = []
    for item in verified:
        der = item.public_bytes(Encoding.DER)
        chain.append(known[der] if der in known else links.Cert(der, at, "webpki"))
    return {"ok": True, "error": None, "chain": chain}


# --------------------------------------------------------------------------
# Entry point


def verify_chain(leaf, untrusted, store, at, depth=None, level=2, name=None, use_openssl=True):
    """Verify ``leaf`` with the peer's ``untrusted`` certificates against ``store``.

    Returns the ``verified`` dict of cert_chain_info plus ``chain`` (Cert objects
    of the path) for the caller.
    """
    chain, replayed = replay.replay_openssl(leaf, untrusted, store, depth=depth, level=level)
    binary = openssl_binary() if use_openssl else None
    ran = run_openssl_verify(binary, leaf, untrusted, store, at, depth=depth, level=level) if binary else None
    note = None
    if ran is None or "failure" in ran:
        errors, source = replayed, "replay"
        note = ran["failure"] if ran else "no openssl binary on this host: codes come from the built-in replay " \
                                          "of OpenSSL 3.0's verification"
    elif ran["ok"]:
        errors, source = [], "openssl"
        if replayed:
            note = "openssl verify accepts the chain; the built-in replay expected %s" % (
                ", ".join("%d at depth %d" % (e["code"], e["depth"]) for e in replayed))
    else:
        errors, continued, agrees = _merge(ran["errors"], replayed, chain)
        source = "openssl+replay" if continued else "openssl"
        if not agrees:
            note = "the built-in replay of OpenSSL differs from openssl verify (%s); openssl's errors are reported" % (
                ", ".join("%d at depth %d" % (e["code"], e["depth"]) for e in replayed) or "no error")
    last = errors[-1] if errors else None
    webpki = webpki_verdict(leaf, untrusted, store, at, name=name, depth=depth)
    path = webpki["chain"] if webpki and webpki["ok"] and last is None else chain
    result = {
        "ok": last is None,
        "code": last["code"] if last else 0,
        "message": last["message"] if last else "ok",
        "depth": last["depth"] if last else None,
        "errors": errors,
        "path": [c.subject for c in path],
        "source": source,
        "command": ran.get("command") if ran and "command" in ran else None,
        "webpki": None if webpki is None else {"ok": webpki["ok"], "error": webpki["error"]},
        "note": note,
    }
    return result, path
