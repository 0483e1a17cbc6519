#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: cert_chain_info
short_description: Inspect a certificate chain the way nginx and OpenSSL judge it, and say how to fix it
version_added: 0.1.0
description:
  - Reads a certificate chain from a PEM file on the managed host (for example the file behind C(ssl_certificate)),
    from PEM text, or from a live endpoint (the chain the server really sends, read through the collection's
    probe engine).
  - Reports every certificate, whether the chain is in order and complete, what is missing and where to get it,
    the OpenSSL verify code nginx would log for it, the names it covers, whether a private key belongs to it,
    and findings, each with a one-line fix.
  - Verification follows nginx's upstream verification. The C(openssl verify) binary judges the chain when it
    exists, set up like nginx (C(-purpose sslserver), the security level, only the given trust anchors). Where
    C(openssl verify) stops at its first error, the module goes on the way nginx does, with its built-in replay of
    OpenSSL 3.0's verification, so RV(verified.code) is the code nginx logs (the last error). Without the binary
    the replay gives the codes alone, and RV(verified.source) says so.
  - cryptography's X.509 verifier (Web PKI policy) gives a second opinion and the verified path, when
    cryptography is 42 or newer.
  - The path from the leaf to a trust anchor is built as OpenSSL 1.1.0 and later (and so nginx) build it, trusted
    first, and returned in RV(chosen_path). At every step the trust store is asked for an issuer before the served
    certificates are. So when a served intermediate is a cross-signed copy of a trusted root (the same subject and
    key, issued by an older root, as ISRG Root X1 cross-signed by DST Root CA X3), the path ends at the trusted
    root. That is not an V(untrusted_root) finding, and RV(served_extra) names the served copy the path did not
    need.
  - With O(intermediates), a chain that misses an intermediate is completed and returned as PEM in
    RV(complete_chain).
  - All times (days left, expired, expiring) are evaluated at O(valid_at), by default now.
author:
  - tlsops.handshake contributors (@tlsops)
requirements:
  - cryptography >= 3.3 on the managed host (>= 42 for RV(verified.webpki))
  - the C(openssl) binary for OpenSSL's own verdict (optional)
extends_documentation_fragment:
  - tlsops.handshake.attributes.info_module
options:
  path:
    description:
      - PEM file on the managed host holding the certificate and its chain, leaf first (a single DER certificate
        is read too). Mutually exclusive with O(content), O(host) and O(paths).
      - Only C(CERTIFICATE) blocks are read; a private key in the same file is ignored and never returned.
      - Like every file this module reads (O(ca_file), O(intermediates), O(key_path)), it must be a regular file of
        at most 16 MiB; a FIFO, a device or a directory is an error naming the option.
    type: path
  paths:
    description:
      - Several files like O(path), judged in one run of the module with the same options (one module run per file
        costs a second or so on each host); the results are in RV(results), one per file.
      - Mutually exclusive with O(path), O(content), O(host) and O(key_path) (a key belongs to one certificate).
    type: list
    elements: path
  content:
    description:
      - PEM text of the certificate and its chain. Mutually exclusive with O(path), O(host) and O(paths).
      - Not logged and not returned in C(invocation) (C(no_log)), since such text often holds the private key as
        well; a private key in it is ignored.
    type: str
  host:
    description:
      - Read the chain a live TLS endpoint serves, from the managed host. Mutually exclusive with O(path), O(paths) and
        O(content).
      - The served chain is read from a TLS 1.2 handshake (its Certificate message is plaintext). A server that
        speaks only TLS 1.3 shows only its leaf to Python older than 3.13; the chain is then not judged.
    type: str
  port:
    description:
      - Port of O(host).
    type: int
    default: 443
  server_name:
    description:
      - SNI name sent to O(host), like C(proxy_ssl_name). Defaults to O(host) unless it is an IP address.
    type: str
  timeout:
    description:
      - Seconds allowed for the handshake with O(host). Everything host mode does (connect, handshake, the
        extra ClientHello that reads the served chain) ends within O(timeout) x 2, whatever the server does.
    type: float
    default: 5.0
  key_path:
    description:
      - Private key (PEM or DER) on the managed host that must belong to the leaf, for example the file behind
        C(ssl_certificate_key). Sets RV(key_matches).
    type: path
  key_passphrase:
    description:
      - Passphrase of an encrypted O(key_path).
    type: str
  ca_file:
    description:
      - Trust anchors, like C(proxy_ssl_trusted_certificate) - a PEM bundle, or a directory of PEM files.
      - Default is the system store of the managed host (C(ssl.get_default_verify_paths())).
    type: path
  intermediates:
    description:
      - A PEM file or a directory of PEM files with candidate intermediate certificates. A missing issuer found
        there completes the chain in RV(complete_chain).
    type: path
  names:
    description:
      - Host names (or IP addresses) the leaf must cover, checked as nginx checks C(proxy_ssl_name)
        (OpenSSL's C(X509_check_host)). An internationalised name is checked as its C(xn--) form; a name with a space
        or a control character, or longer than a DNS name can be, is an error.
      - Defaults to O(server_name) (or O(host) when it is a name) for a live endpoint, and to none for a file.
    type: list
    elements: str
  warn_days:
    description:
      - A certificate that expires in fewer days than this is reported as RV(expiring) with a C(expiring_soon)
        finding.
    type: int
    default: 30
  valid_at:
    description:
      - Evaluate everything at this time instead of now, as an ISO 8601 time (V(2026-05-01T12:00:00Z); no time zone
        means UTC) or relative to now (V(+14d), V(-2h), V(+30m), V(+90s), V(+2w)).
    type: str
  verify_depth:
    description:
      - Maximum number of intermediate certificates, as C(proxy_ssl_verify_depth) counts them (nginx's default is
        V(1)). Unset means OpenSSL's limit of 100. A longer chain gets a C(chain_too_deep) finding.
    type: int
  security_level:
    description:
      - OpenSSL security level the verification applies, like nginx's SSL context. V(2) (the default of
        Debian/Ubuntu and of OpenSSL 3.2+) rejects RSA keys under 2048 bits and SHA-1 signatures; V(1) is stock
        OpenSSL 3.0's default; V(0) checks neither (the module warns, since RV(verified) then accepts what nginx at
        its default level refuses).
    type: int
    default: 2
    choices: [0, 1, 2, 3, 4, 5]
notes:
  - Checks of a live endpoint make one real handshake with verification off, plus one raw TLS 1.2 ClientHello to
    read the served chain.
  - Nothing is fetched from AIA URLs; RV(missing_issuer.aia_ca_issuers) says where the missing certificate lives.
seealso:
  - module: tlsops.handshake.tls_probe
  - name: nginx ngx_http_proxy_module
    description: The C(proxy_ssl_trusted_certificate), C(proxy_ssl_verify_depth) and C(proxy_ssl_name) directives.
    link: https://nginx.org/en/docs/http/ngx_http_proxy_module.html
"""

EXAMPLES = r"""
- name: Check the chain nginx serves, with its key, for the names it must cover
  tlsops.handshake.cert_chain_info:
    path: /etc/nginx/tls/site.pem
    key_path: /etc/nginx/tls/site.key
    names: [www.example.com, example.com]
  register: chain

- name: Fail when the chain is broken
  ansible.builtin.assert:
    that: chain.verified.ok and chain.complete
    fail_msg: "{{ chain.findings | map(attribute='message') | join('; ') }}"

- name: Will the upstream's chain still verify in two weeks?
  tlsops.handshake.cert_chain_info:
    host: 10.0.0.7
    port: 8443
    server_name: billing.internal.example
    ca_file: /etc/nginx/tls/upstream-ca.pem
    valid_at: +14d

- name: Complete a chain that misses its intermediate
  tlsops.handshake.cert_chain_info:
    path: /etc/nginx/tls/site.pem
    intermediates: /etc/ssl/intermediates/
  register: fixed

- name: Write the completed chain
  ansible.builtin.copy:
    content: "{{ fixed.complete_chain }}"
    dest: /etc/nginx/tls/site.fullchain.pem
    mode: "0644"
  when: fixed.complete_chain
"""

RETURN = r"""
results:
  description:
    - With O(paths), one entry per file in the order given, each with C(path) and the keys a call with O(path) returns
      (RV(source), RV(complete), RV(findings), ...); a file that cannot be judged has C(path), C(failed=true) and C(msg)
      instead, and the others are still judged.
  returned: with O(paths)
  type: list
  elements: dict
  sample: [{"path": "/etc/nginx/certs/shop.pem", "complete": true, "findings": []},
           {"path": "/etc/nginx/certs/gone.pem", "failed": true, "msg": "path: /etc/nginx/certs/gone.pem is missing"}]
source:
  description: What was read. C(type) is V(path), V(content) or V(endpoint); an endpoint adds C(host), C(port),
    C(server_name), C(tls_version), C(chain_read) (V(full), or V(leaf_only) for a TLS 1.3-only server on a Python
    whose ssl has no message callback, before 3.8) and C(handshakes).
  returned: without O(paths)
  type: dict
  sample: {"type": "path", "path": "/etc/nginx/tls/site.pem"}
valid_at:
  description: The time everything was evaluated at (ISO 8601, UTC).
  returned: without O(paths)
  type: str
  sample: "2026-05-01T12:00:00Z"
trust_store:
  description: C(file), the trust anchors used (O(ca_file) or the system store), and the number of C(certificates).
  returned: without O(paths)
  type: dict
chain:
  description: Every certificate read, in the order read (duplicates included).
  returned: without O(paths)
  type: list
  elements: dict
  contains:
    position:
      description: Index in the file or the served chain.
      type: int
    subject:
      description: RFC 4514 subject, most specific first.
      type: str
      sample: CN=www.example.com,O=Example
    issuer:
      description: RFC 4514 issuer.
      type: str
    serial:
      description: Serial number in hex.
      type: str
    not_before:
      description: Start of validity (ISO 8601, UTC).
      type: str
    not_after:
      description: End of validity (ISO 8601, UTC).
      type: str
    days_left:
      description: Whole days from RV(valid_at) to RV(chain[].not_after); negative when expired.
      type: int
    sans:
      description: DNS names and IP addresses of the subjectAltName.
      type: list
      elements: str
    key_type:
      description: V(RSA), V(EC), V(Ed25519), ...
      type: str
    key_bits:
      description: Key size in bits.
      type: int
    curve:
      description: Curve of an EC key, as OpenSSL names it (V(prime256v1), V(secp384r1)).
      type: str
    signature_algorithm:
      description: Signature algorithm, as OpenSSL names it (V(sha256WithRSAEncryption)).
      type: str
    is_ca:
      description: basicConstraints CA flag.
      type: bool
    self_signed:
      description: Subject equals issuer and the certificate's own key verifies its signature.
      type: bool
    sha256:
      description: SHA-256 fingerprint, colon-separated hex.
      type: str
    aia_ca_issuers:
      description: AIA caIssuers URLs (where the issuer certificate can be downloaded).
      type: list
      elements: str
    ocsp_urls:
      description: AIA OCSP responder URLs.
      type: list
      elements: str
    expired:
      description: Expired at RV(valid_at).
      type: bool
    not_yet_valid:
      description: Not yet valid at RV(valid_at).
      type: bool
leaf_position:
  description: Position of the leaf in RV(chain); not V(0) when the file is reversed.
  returned: without O(paths)
  type: int
order_ok:
  description: The leaf comes first and each next certificate issues the one before it. Null when only the leaf
    could be read.
  returned: without O(paths)
  type: bool
chosen_path:
  description:
    - The certification path, leaf first. It is built trusted-first, as OpenSSL 1.1.0 and later and nginx build it.
      It uses the trust store whenever the store holds an issuer, and otherwise the served certificates (in any
      order), then O(intermediates). Once it reaches a store certificate it continues in the store only.
    - Time, key and signature findings are about the certificates of this path. A served certificate the path does
      not use (RV(served_extra)) cannot fail verification.
  returned: without O(paths)
  type: list
  elements: dict
  contains:
    subject:
      description: RFC 4514 subject.
      type: str
    issuer:
      description: RFC 4514 issuer.
      type: str
    sha256:
      description: SHA-256 fingerprint, colon-separated hex.
      type: str
    origin:
      description: Where the path took the certificate from. V(served) is what was read (O(path), O(content) or the
        endpoint), V(intermediates) is O(intermediates) and V(store) is the trust anchors.
      type: str
      sample: store
    position:
      description: Index in RV(chain) for a served certificate, null otherwise.
      type: int
  sample:
    - {"subject": "CN=www.example.com", "issuer": "CN=R3,O=Let's Encrypt,C=US", "origin": "served", "position": 0}
    - {"subject": "CN=R3,O=Let's Encrypt,C=US", "issuer": "CN=ISRG Root X1,O=Internet Security Research Group,C=US",
       "origin": "served", "position": 1}
    - {"subject": "CN=ISRG Root X1,O=Internet Security Research Group,C=US",
       "issuer": "CN=ISRG Root X1,O=Internet Security Research Group,C=US", "origin": "store", "position": null}
path_ends_at_trusted:
  description: RV(chosen_path) ends at a certificate of the trust store. False means the path ends at an untrusted root or
    at a certificate whose issuer is nowhere. Whether the path also verifies is RV(verified). Null when only the
    leaf could be read.
  returned: without O(paths)
  type: bool
served_extra:
  description:
    - Served certificates (other than the leaf) that RV(chosen_path) does not use, in the order read.
    - The typical one is a root's cross-signed copy, sent for old clients. Its twin, the self-signed root, is in the
      trust store, so the path ends there. This is harmless and is not a finding. A served self-signed root is also
      reported as V(root_included).
  returned: without O(paths)
  type: list
  elements: dict
  contains:
    position:
      description: Index in RV(chain).
      type: int
    subject:
      description: RFC 4514 subject.
      type: str
    issuer:
      description: RFC 4514 issuer.
      type: str
    sha256:
      description: SHA-256 fingerprint, colon-separated hex.
      type: str
    same_key_as:
      description: The subject of the certificate of RV(chosen_path) with the same subject and public key (the root
        this one is a cross-signed copy of), or null.
      type: str
    note:
      description: Why the path does not need it.
      type: str
  sample:
    - {"position": 2, "subject": "CN=ISRG Root X1,O=Internet Security Research Group,C=US",
       "issuer": "CN=DST Root CA X3,O=Digital Signature Trust Co.",
       "same_key_as": "CN=ISRG Root X1,O=Internet Security Research Group,C=US",
       "note": "a cross-signed copy of CN=ISRG Root X1,... (same subject and key, issued by CN=DST Root CA X3,...): the
         path reaches that certificate in the trust store, so this copy is not needed"}
complete:
  description: The read chain reaches a trust anchor (or a served self-signed root) without any certificate from
    outside it. Null when only the leaf could be read.
  returned: without O(paths)
  type: bool
missing_issuer:
  description: What the chain lacks, when RV(complete=false); null otherwise.
  returned: without O(paths)
  type: dict
  contains:
    subject:
      description: The certificate whose issuer is missing.
      type: str
    name:
      description: The missing issuer's name.
      type: str
      sample: CN=Example CA R3,O=Example
    aia_ca_issuers:
      description: Where to download the missing issuer (the AIA caIssuers URLs of RV(missing_issuer.subject)).
      type: list
      elements: str
      sample: ["http://ca.example.com/r3.der"]
    authority_key_id:
      description: Key identifier of the missing issuer.
      type: str
    found_in:
      description: The O(intermediates) that held the missing issuer, or null.
      type: str
verified:
  description: Verification of the chain as read, as nginx's upstream verification judges it.
  returned: without O(paths)
  type: dict
  contains:
    ok:
      description: The chain verifies. Null when it could not be judged (see RV(verified.note)).
      type: bool
    code:
      description: OpenSSL X509 verify code nginx would log (the last error), V(0) when it verifies.
      type: int
      sample: 21
    message:
      description: OpenSSL's text for RV(verified.code), as in nginx's C(upstream SSL certificate verify error).
      type: str
      sample: unable to verify the first certificate
    depth:
      description: Depth of the certificate RV(verified.code) is about (0 = the leaf).
      type: int
    errors:
      description: Every error in the order OpenSSL reports them, each with C(code), C(depth), C(message) and
        C(subject).
      type: list
      elements: dict
    path:
      description: Subjects from the leaf to the trust anchor, as far as the path goes; cryptography's verified path
        when it accepts the chain.
      type: list
      elements: str
    source:
      description: V(openssl) (C(openssl verify) alone), V(openssl+replay) (continued after C(openssl verify)
        stopped, as nginx would) or V(replay) (no usable openssl binary).
      type: str
    command:
      description: The C(openssl verify) command line that was run (temporary files named by their role).
      type: list
      elements: str
    webpki:
      description: cryptography's verdict, C(ok) and C(error); null with cryptography older than 42.
      type: dict
    note:
      description: Why the codes come from the replay, or where the replay and C(openssl verify) differ.
      type: str
complete_chain:
  description: PEM of the completed chain (leaf, then every intermediate, no root) when O(intermediates) held what
    the chain misses; null otherwise.
  returned: without O(paths)
  type: str
complete_chain_verified:
  description: RV(verified) for RV(complete_chain); null when there is none.
  returned: without O(paths)
  type: dict
expires_in_days:
  description: The smallest RV(chain[].days_left) over the certificates of RV(chosen_path). These are the served
    certificates it uses, the intermediates it takes from O(intermediates) and the trust anchor. A served certificate
    outside the path (RV(served_extra)) does not count.
  returned: without O(paths)
  type: int
expiring:
  description: RV(expires_in_days) is below O(warn_days) (also true when something has expired).
  returned: without O(paths)
  type: bool
names:
  description: One entry per name of O(names) - C(name), C(covered) and C(matched) (the subjectAltName entry, or
    C(CN=...) for a certificate without DNS names, that covers it).
  returned: without O(paths)
  type: list
  elements: dict
  sample: [{"name": "www.example.com", "covered": true, "matched": "*.example.com"}]
key_matches:
  description: The key at O(key_path) belongs to the leaf; null without O(key_path).
  returned: without O(paths)
  type: bool
findings:
  description:
    - What is wrong, each with C(code), C(severity) (V(info), V(warning), V(error)), C(message), C(fix), C(cause)
      (the handshake cause of the shared vocabulary it leads to) and, where one certificate or name is concerned,
      C(subject) or C(name).
    - Codes are V(chain_incomplete), V(chain_misordered), V(root_included), V(duplicate_certificate), V(expired),
      V(not_yet_valid), V(expiring_soon), V(hostname_mismatch), V(key_mismatch), V(weak_signature), V(weak_key),
      V(self_signed_leaf), V(untrusted_root), V(intermediate_expired), V(chain_too_deep) and V(verify_error)
      (any other OpenSSL verify error).
  returned: without O(paths)
  type: list
  elements: dict
  sample: [{"code": "chain_incomplete", "severity": "error", "cause": "cert_chain_incomplete",
            "message": "the chain stops at CN=www.example.com: its issuer CN=Example CA R3 is not served ...",
            "fix": "Serve the full chain: append the intermediate(s) to the certificate file ..."}]
"""

import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.tlsops.handshake.plugins.module_utils._chain import inspection as _chain
from ansible_collections.tlsops.handshake.plugins.module_utils._common.lifeline import exit_with_controller


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path"),
            paths=dict(type="list", elements="path"),
            content=dict(type="str", no_log=True),
            host=dict(type="str"),
            port=dict(type="int", default=443),
            server_name=dict(type="str"),
            timeout=dict(type="float", default=5.0),
            key_path=dict(type="path", no_log=False),
            key_passphrase=dict(type="str", no_log=True),
            ca_file=dict(type="path"),
            intermediates=dict(type="path"),
            names=dict(type="list", elements="str"),
            warn_days=dict(type="int", default=30),
            valid_at=dict(type="str"),
            verify_depth=dict(type="int"),
            security_level=dict(type="int", default=2, choices=[0, 1, 2, 3, 4, 5]),
        ),
        mutually_exclusive=[("path", "content", "host", "paths"), ("paths", "key_path")],
        required_one_of=[("path", "content", "host", "paths")],
        supports_check_mode=True,
    )
    exit_with_controller()
    if not _chain.HAS_CRYPTOGRAPHY:
        module.fail_json(msg=missing_required_lib("cryptography"), exception=_chain.CRYPTOGRAPHY_IMPORT_ERROR)
    for warning in _chain.warnings(module.params):
        module.warn(warning)
    if module.params["paths"] is not None:
        if not module.params["paths"]:
            module.fail_json(msg="paths: give at least one file (or leave paths out and use path, content or host)")
        module.exit_json(changed=False, results=_chain.inspect_chains(module.params))
    try:
        result = _chain.inspect_chain(module.params)
    except _chain.ChainInputError as exc:
        module.fail_json(msg=str(exc))
    except Exception as exc:  # pylint: disable=broad-except
        module.fail_json(msg="cert_chain_info could not inspect the chain: %s" % exc, exception=traceback.format_exc())
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
