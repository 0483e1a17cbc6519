# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The certification path cert_chain_info reports, built as OpenSSL >= 1.1.0 (and so
nginx) builds it: trusted first.

At every step the trust store is asked for an issuer before the served
certificates are: X509_V_FLAG_TRUSTED_FIRST is the default since OpenSSL 1.1.0,
and it also covers what the "alternative chains" search of 1.0.2 finds.  So when a
served intermediate is a root's cross-signed copy (same subject and key, issued by
an older root: ISRG Root X1 by DST Root CA X3, USERTrust RSA by AAA Certificate
Services), a store that holds the root itself ends the path at that root and the
served copy is not needed.  Only where the store has no issuer does the path go on
with the served certificates (in any order), then the candidate intermediates.
Once a store certificate is reached only the store is searched, as OpenSSL does.

Certificates are _chain_cert.Cert objects; ``origin`` tells where each came from.
"""

from __future__ import annotations

from ansible_collections.tlsops.handshake.plugins.module_utils._chain import cert as links, source


class TrustedPath(object):
    """``certs`` from the leaf up; ``certs[untrusted:]`` come from the store.  ``stuck`` is the
    certificate whose issuer is nowhere (None when the path ends at a store or self-signed certificate)."""

    def __init__(self, certs, untrusted, stuck):
        self.certs, self.untrusted, self.stuck = certs, untrusted, stuck

    @property
    def outside_store(self):
        """The certificates from the leaf up to the trust store, without it (served and candidate ones)."""
        return self.certs[:self.untrusted]

    @property
    def anchor(self):
        """The first store certificate of the path, or None."""
        return self.certs[self.untrusted] if self.untrusted < len(self.certs) else None

    @property
    def ends_at_trusted(self):
        return self.anchor is not None


def build(leaf, served, store, pool):
    """The trusted-first path from ``leaf``: ``served`` are the peer's other certificates,
    ``store`` the trust anchors, ``pool`` the candidate intermediates (not served)."""
    certs = [leaf]
    cur = leaf
    # each step adds a certificate not yet on the path, so the loop ends within the certificates given
    for dummy in range(len(served) + len(pool) + 1):
        if cur.ss_flag:  # a self-signed certificate is trusted only when the store holds the very same one
            same = next((s for s in store if s.sha256 == cur.sha256), None)
            if same is None:
                return TrustedPath(certs, len(certs), None)
            certs[-1] = same
            return TrustedPath(certs, len(certs) - 1, None)
        anchor = links.best_issuer(store, cur)
        if anchor is not None:
            return TrustedPath(certs + _up_the_store(anchor, store), len(certs), None)
        seen = set(c.sha256 for c in certs)  # by fingerprint: a candidate may repeat a served certificate
        nxt = links.best_issuer([c for c in served if c.sha256 not in seen], cur) or \
            links.best_issuer([c for c in pool if c.sha256 not in seen], cur)
        if nxt is None:
            return TrustedPath(certs, len(certs), cur)
        certs.append(nxt)
        cur = nxt
    return TrustedPath(certs, len(certs), cur)


def _up_the_store(anchor, store):
    """``anchor`` and the store certificates above it, up to a self-signed one (a trusted intermediate's root)."""
    trusted = [anchor]
    while not trusted[-1].ss_flag and len(trusted) <= len(store):
        above = links.best_issuer(store, trusted[-1], exclude=trusted)
        if above is None:
            break
        trusted.append(above)
    return trusted


# --------------------------------------------------------------------------
# Views


def path_view(path, served_positions):
    """The ``chosen_path`` of the result: one dict per certificate, leaf first."""
    return [{"subject": c.subject, "issuer": c.info["issuer"], "sha256": c.sha256, "origin": c.origin,
             "position": served_positions.get(c.sha256) if c.origin == "served" else None}
            for c in path.certs]


def _key(cert):
    return source.public_key_der(cert.obj)


def served_extra(path, unique, served_positions):
    """The ``served_extra`` of the result: served certificates the path does not use."""
    on_path = set(c.sha256 for c in path.certs)
    extra = []
    for cert in unique:
        if cert.sha256 in on_path:
            continue
        twin = next((c for c in path.certs if c.subject == cert.subject and _key(c) == _key(cert)), None)
        if twin is not None:
            where = "in the trust store" if twin.origin == "store" else "on the path"
            note = ("a cross-signed copy of %s (same subject and key, issued by %s): the path reaches that certificate "
                    "%s, so this copy is not needed" % (twin.subject, cert.info["issuer"], where))
        elif path.anchor is not None:
            note = "not needed: the path reaches the trust anchor %s without it" % path.anchor.subject
        else:
            note = "it issues no certificate of the path"
        extra.append({"position": served_positions[cert.sha256], "subject": cert.subject,
                      "issuer": cert.info["issuer"], "sha256": cert.sha256,
                      "same_key_as": twin.subject if twin is not None else None, "note": note})
    return extra
