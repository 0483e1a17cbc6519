# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The cert_chain_info engine: read a certificate chain, say what is wrong with
it the way nginx and OpenSSL see it, and how to fix it.  Plain Python; the
module is a thin shell around ``inspect_chain``.

Reading and option checks are in source.py, the certificate object and
single-link checks in cert.py, the trusted-first path (as OpenSSL >= 1.1.0
and nginx build it) in path.py, verification (OpenSSL's codes, as nginx
logs them) in verify.py with replay.py.  Here the chain is taken apart:
which certificate is the leaf, whether the served order is right, whether an
issuer is missing and can be found among the candidate intermediates, what the
names, the key, the validity and the algorithms of the path say.  Every finding
comes from _common/findings.finding().  The result's shape is result_types.ChainResult.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple, cast

from ansible_collections.tlsops.handshake.plugins.module_utils._chain import cert as links, path as chain_path, source, verify
from ansible_collections.tlsops.handshake.plugins.module_utils._chain.result_types import (
    ChainEntry,
    ChainResult,
    ChainVerification,
    MissingIssuer,
    NameCoverage,
)
from ansible_collections.tlsops.handshake.plugins.module_utils._chain.source import ChainInputError
from ansible_collections.tlsops.handshake.plugins.module_utils._common import net
from ansible_collections.tlsops.handshake.plugins.module_utils._common.findings import Finding, finding
from ansible_collections.tlsops.handshake.plugins.module_utils._tls import x509_lite as x509

HAS_CRYPTOGRAPHY = links.HAS_CRYPTOGRAPHY
CRYPTOGRAPHY_IMPORT_ERROR = links.CRYPTOGRAPHY_IMPORT_ERROR

__all__ = ["inspect_chain", "warnings", "ChainInputError", "HAS_CRYPTOGRAPHY", "CRYPTOGRAPHY_IMPORT_ERROR"]

# Verify codes a more specific finding already explains.
_EXPLAINED_CODES = frozenset((2, 9, 10, 18, 19, 20, 21, 22, 66, 67, 68))
_CHAIN_FIELDS = ("subject", "issuer", "serial", "not_before", "not_after", "days_left", "sans", "key_type",
                 "key_bits", "curve", "signature_algorithm", "is_ca", "path_length", "sha256", "aia_ca_issuers",
                 "ocsp_urls", "subject_key_id", "authority_key_id", "key_usage", "extended_key_usage", "expired",
                 "not_yet_valid", "version")
_SANS_SHOWN = 10


def _certs(ders, at, origin, param, strict=True):
    certs = []
    for index, der in enumerate(ders):
        try:
            certs.append(links.Cert(der, at, origin))
        except ValueError as exc:
            if strict:
                raise ChainInputError("%s: certificate %d cannot be read: %s" % (param, index, exc))
    return certs


# --------------------------------------------------------------------------
# Structure


def _dedupe(served):
    unique, positions, counts = [], [], {}
    for index, cert in enumerate(served):
        if cert.sha256 not in counts:
            unique.append(cert)
            positions.append(index)
        counts[cert.sha256] = counts.get(cert.sha256, 0) + 1
    return unique, positions, counts


def _pick_leaf(unique):
    """The served leaf: the first certificate, unless it issued another served one (a reversed file)."""
    issuers = set()
    for i, cand in enumerate(unique):
        if any(j != i and links.likely_issued(other, cand) for j, other in enumerate(unique)):
            issuers.add(i)
    candidates = [i for i in range(len(unique)) if i not in issuers]
    if not candidates or 0 in candidates:
        return 0
    return next((i for i in candidates if not unique[i].info["is_ca"]), candidates[0])


def _order_problem(unique, positions, leaf_index):
    if leaf_index != 0:
        return "the leaf %s is at position %d, not first" % (unique[leaf_index].subject, positions[leaf_index])
    for i in range(1, len(unique)):
        if not links.likely_issued(unique[i - 1], unique[i]):
            return "position %d (%s) does not issue position %d (%s)" % (
                positions[i], unique[i].subject, positions[i - 1], unique[i - 1].subject)
    return None


# --------------------------------------------------------------------------
# Views


def _chain_entry(cert, position) -> ChainEntry:
    entry = {"position": position}
    entry.update((k, cert.info.get(k)) for k in _CHAIN_FIELDS)
    entry["self_signed"] = cert.self_signed()
    return cast(ChainEntry, entry)  # _CHAIN_FIELDS are ChainEntry's keys (test_chain_result_types checks)


def _sans_summary(info):
    sans = info.get("sans") or []
    if not sans:
        cn = info.get("subject_cn")
        return ("CN=%s only, no subjectAltName" % cn) if cn else "no name at all"
    shown = ", ".join(sans[:_SANS_SHOWN])
    if len(sans) > _SANS_SHOWN:
        shown += " and %d more (%d names)" % (len(sans) - _SANS_SHOWN, len(sans))
    return shown


def _name_match(leaf, name):
    info = leaf.info
    if net.is_ip_literal(name):
        ok = x509.ip_matches(info, name.strip("[]"))
        return ok, (name.strip("[]") if ok else None)
    if not x509.hostname_matches(info, name):
        return False, None
    if info.get("san_dns"):
        for pattern in info["san_dns"]:
            if x509.hostname_matches({"san_dns": [pattern]}, name):
                return True, pattern
    return True, "CN=%s" % info.get("subject_cn")


def _ago(days):
    if days < 1:
        return "less than a day ago"
    return "1 day ago" if days == 1 else "%d days ago" % days


def _with(item, **extra):
    item.update((k, v) for k, v in extra.items() if v is not None)
    return item


def _time_findings(certs, leaf, at, warn_days):
    findings = []
    for cert in certs:
        info = cert.info
        is_intermediate = cert is not leaf and not cert.ss_flag
        if info["expired"]:
            days = int((at - _parse_iso(info["not_after"])).total_seconds() // 86400)
            if is_intermediate:
                findings.append(_with(finding("intermediate_expired", subject=cert.subject,
                                              not_after=info["not_after"]), subject=cert.subject))
            else:
                findings.append(_with(finding("expired", subject=cert.subject, not_after=info["not_after"],
                                              ago=_ago(days)), subject=cert.subject))
        elif info["not_yet_valid"]:
            findings.append(_with(finding("not_yet_valid", subject=cert.subject, not_before=info["not_before"]),
                                  subject=cert.subject))
        elif info["days_left"] < warn_days:
            findings.append(_with(finding("expiring_soon", subject=cert.subject, days=info["days_left"],
                                          not_after=info["not_after"], warn_days=warn_days), subject=cert.subject))
    return findings


def _parse_iso(text):
    return source.parse_valid_at(text)


def _strength_findings(certs):
    findings = []
    for cert in certs:
        info = cert.info
        if info.get("key_type") in ("RSA", "RSA-PSS", "DSA") and (info.get("key_bits") or 0) < 2048:
            findings.append(_with(finding("weak_key", subject=cert.subject, key_type=info["key_type"],
                                          key_bits=info["key_bits"]), subject=cert.subject))
        if not cert.ss_flag and links.weak_signature(info):
            findings.append(_with(finding("weak_signature", subject=cert.subject,
                                          signature_algorithm=info["signature_algorithm"]), subject=cert.subject))
    return findings


def _not_judged(reason) -> ChainVerification:
    return {"ok": None, "code": None, "message": reason, "depth": None, "errors": [], "path": [],
            "source": None, "command": None, "webpki": None, "note": reason}


# --------------------------------------------------------------------------
# Entry point


def _read_inputs(p, at):
    """``(served, origin, pool, pool_label, store, store_label)`` as Cert lists and labels."""
    if p["path"]:
        ders, origin = source.read_certificates(p["path"], "path"), {"type": "path", "path": p["path"]}
        param = "path"
    elif p["content"] is not None:
        ders = source.certificates_in(p["content"], "content", "content")
        if not ders:
            raise ChainInputError("content: holds no certificate (expected PEM blocks '-----BEGIN CERTIFICATE-----')%s"
                                  % source.key_hint(p["content"]))
        origin, param = {"type": "content"}, "content"
    else:
        ders, origin = source.fetch_served_chain(p["host"], p["port"], p["server_name"], float(p["timeout"]))
        param = "host"
    served = _certs(ders, at, "served", param)
    pool_ders, pool_label = source.read_intermediates(p["intermediates"])
    store_ders, store_label = source.read_trust_store(p["ca_file"])
    return (served, origin, _certs(pool_ders, at, "intermediates", "intermediates"), pool_label,
            _certs(store_ders, at, "store", "ca_file", strict=bool(p["ca_file"])), store_label)


def _structure_findings(unique, others, counts, problem):
    findings = []
    for sha, count in counts.items():
        if count > 1:
            cert = next(c for c in unique if c.sha256 == sha)
            findings.append(_with(finding("duplicate_certificate", subject=cert.subject, count=count),
                                  subject=cert.subject))
    if problem:
        findings.append(finding("chain_misordered", problem=problem))
    for cert in others:
        if cert.self_signed() and cert.info["is_ca"]:
            findings.append(_with(finding("root_included", subject=cert.subject), subject=cert.subject))
    return findings


def _gap(leaf, full_path, extra, anchor, stuck, pool_label, store_label):
    """What is missing between the served chain and the trust store.

    Returns ``(missing_issuer, complete_chain, findings)``.
    """
    needs = full_path[full_path.index(extra[0]) - 1] if extra else stuck
    missing: Optional[MissingIssuer] = None
    complete_chain = None
    if needs is not None:
        missing = {"subject": needs.subject, "name": needs.info["issuer"],
                   "aia_ca_issuers": needs.info["aia_ca_issuers"], "authority_key_id": needs.info["authority_key_id"],
                   "found_in": pool_label if extra else None}
        if extra and stuck is None:
            complete_chain = "".join(c.pem() for c in full_path if c is leaf or not c.ss_flag)
    if extra or (stuck is not None and len(full_path) == 1):
        urls = needs.info["aia_ca_issuers"]
        aia_hint = (" (its AIA caIssuers URL: %s)" % ", ".join(urls)) if urls else \
            " and it names no AIA URL to fetch it from"
        item = finding("chain_incomplete", subject=needs.subject, issuer=needs.info["issuer"], aia_hint=aia_hint,
                       found_hint=(" - a matching certificate is in %s" % pool_label) if extra else "",
                       fix_hint=" complete_chain in this result holds the corrected file." if complete_chain else "")
        return missing, complete_chain, [_with(item, subject=needs.subject)]
    if stuck is not None:  # leaf + intermediate(s) whose issuer is nowhere: most likely an untrusted root
        item = finding("untrusted_root", root=stuck.info["issuer"], ca_file=store_label,
                       note=" (the issuer of %s; if it is not a root, an intermediate is missing as well)"
                       % stuck.subject)
        return missing, complete_chain, [_with(item, subject=stuck.info["issuer"])]
    if anchor is None and full_path[-1] is not leaf:
        root = full_path[-1]
        item = finding("untrusted_root", root=root.subject, ca_file=store_label, note="")
        return missing, complete_chain, [_with(item, subject=root.subject)]
    return missing, complete_chain, []


def _names(leaf, wanted_names) -> Tuple[List[NameCoverage], List[Finding]]:
    names: List[NameCoverage] = []
    findings: List[Finding] = []
    for wanted in wanted_names:
        covered, matched = _name_match(leaf, wanted)
        names.append({"name": wanted, "covered": covered, "matched": matched})
        if not covered:
            findings.append(_with(finding("hostname_mismatch", name=wanted, sans=_sans_summary(leaf.info)),
                                  name=wanted))
    return names, findings


def warnings(params):
    """What the chosen options turn off, for module.warn()."""
    if (params or {}).get("security_level") == 0 and not isinstance(params.get("security_level"), bool):
        return ["security_level is 0: verified accepts keys and signature algorithms of any strength (RSA under "
                "2048 bits, SHA-1, MD5) that nginx at its default level 2 refuses with \"ee key too small\" or "
                "\"ca md too weak\"; weak_key and weak_signature findings still name them"]
    return []


def inspect_chain(params, now=None, use_openssl=True) -> ChainResult:
    """Inspect one certificate chain; returns the module's result (without ``changed``).

    ``params`` are the module's options (missing ones take source.DEFAULTS).  ``now``
    fixes the current time (tests); ``use_openssl=False`` skips the openssl
    binary.  Raises ChainInputError for input that can never work.
    """
    p = source.check_params(params)
    at = source.parse_valid_at(p["valid_at"], now)
    served, origin, pool, pool_label, store, store_label = _read_inputs(p, at)
    leaf_only = origin.get("chain_read") == "leaf_only"

    unique, positions, counts = _dedupe(served)
    leaf_index = _pick_leaf(unique)
    leaf = unique[leaf_index]
    others = [c for c in unique if c is not leaf]
    path = chain_path.build(leaf, others, store, pool)
    full_path, anchor, stuck = path.outside_store, path.anchor, path.stuck
    extra = [c for c in full_path if c.origin == "intermediates"]
    served_positions = dict((c.sha256, positions[i]) for i, c in enumerate(unique))

    problem = None if leaf_only else _order_problem(unique, positions, leaf_index)
    findings = _structure_findings(unique, others, counts, problem)
    if leaf_only:
        complete = missing = complete_chain = None
    else:
        complete = not extra and stuck is None
        missing, complete_chain, gap = _gap(leaf, full_path, extra, anchor, stuck, pool_label, store_label)
        findings.extend(gap)

    verified, complete_verified = _verify_served(leaf, served, extra, complete_chain, store, at, p, use_openssl,
                                                 leaf_only)
    if leaf.self_signed():
        findings.append(_with(finding("self_signed_leaf", severity="info" if verified["ok"] else None,
                                      subject=leaf.subject), subject=leaf.subject))

    # time and strength are judged on the path: a served certificate the path does not use cannot fail it
    checked = list(dict((c.sha256, c) for c in path.certs).values())
    findings.extend(_time_findings(checked, leaf, at, int(p["warn_days"])))
    names, name_findings = _names(leaf, p["names"])
    findings.extend(name_findings)
    key_matches = _key_matches(leaf, p, findings)
    findings.extend(_strength_findings(checked))
    findings.extend(_depth_and_verify_findings(full_path, verified, p["verify_depth"], store_label))

    days = [c.info["days_left"] for c in checked]
    expires = min(days) if days else None
    return {
        "source": origin,
        "valid_at": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "trust_store": {"file": store_label, "certificates": len(store)},
        "chain": [_chain_entry(c, i) for i, c in enumerate(served)],
        "leaf_position": positions[leaf_index],
        "order_ok": None if leaf_only else problem is None,
        "chosen_path": chain_path.path_view(path, served_positions),
        "path_ends_at_trusted": None if leaf_only else path.ends_at_trusted,
        "served_extra": chain_path.served_extra(path, unique, served_positions),
        "complete": complete,
        "missing_issuer": missing,
        "verified": verified,
        "complete_chain": complete_chain,
        "complete_chain_verified": complete_verified,
        "expires_in_days": expires,
        "expiring": expires is not None and expires < int(p["warn_days"]),
        "names": names,
        "key_matches": key_matches,
        "findings": findings,
    }


def inspect_chains(params, now=None, use_openssl=True):
    """inspect_chain() for each file of ``params["paths"]`` with the other options shared: a list of results,
    each with ``path``; a file that cannot be judged is ``{"path", "failed": True, "msg"}`` and the rest go on."""
    results = []
    for path in params["paths"]:
        one = dict(params, path=path, paths=None)
        try:
            result: Dict[str, Any] = dict(inspect_chain(one, now=now, use_openssl=use_openssl))
        except ChainInputError as exc:
            result = {"failed": True, "msg": str(exc)}
        except Exception as exc:  # pylint: disable=broad-except
            result = {"failed": True, "msg": "cert_chain_info could not inspect the chain: %s" % exc}
        result["path"] = path
        results.append(result)
    return results


def _verify_served(leaf, served, extra, complete_chain, store, at, p, use_openssl,
                   leaf_only) -> Tuple[ChainVerification, Optional[ChainVerification]]:
    """``(verified, complete_verified)``: the served chain as nginx would see it, and the completed one."""
    settings = {"depth": p["verify_depth"], "level": int(p["security_level"]),
                "name": p["names"][0] if p["names"] else None, "use_openssl": use_openssl}
    untrusted = [c for c in served if c.sha256 != leaf.sha256]
    if leaf_only:
        verified = _not_judged("not judged: the server speaks TLS 1.3 only and this Python (< 3.13) sees only "
                               "the leaf; tlsops.handshake.tls_probe verifies such servers")
    else:
        verified, dummy = verify.verify_chain(leaf, untrusted, store, at, **settings)
    complete_verified = None
    if complete_chain:
        complete_verified, dummy = verify.verify_chain(leaf, untrusted + extra, store, at, **settings)
    return verified, complete_verified


def _key_matches(leaf, p, findings):
    """None without ``key_path``; else whether the key belongs to the leaf (a finding when not)."""
    if not p["key_path"]:
        return None
    key = source.load_private_key(p["key_path"], p["key_passphrase"])
    matches = source.public_key_der(key) == source.public_key_der(leaf.obj)
    if not matches:
        findings.append(_with(finding("key_mismatch", key_path=p["key_path"], subject=leaf.subject),
                              subject=leaf.subject))
    return matches


def _depth_and_verify_findings(full_path, verified, verify_depth, store_label):
    found = []
    intermediates = sum(1 for c in full_path[1:] if not c.ss_flag)
    if verify_depth is not None and intermediates > int(verify_depth):
        found.append(finding("chain_too_deep", intermediates=intermediates, verify_depth=verify_depth))
    if verified["code"] and verified["code"] not in _EXPLAINED_CODES:
        err = verified["errors"][-1]
        found.append(_with(finding("verify_error", verify_code=err["code"], depth=err["depth"],
                                   subject=err["subject"], verify_message=err["message"], ca_file=store_label),
                           subject=err["subject"]))
    return found
