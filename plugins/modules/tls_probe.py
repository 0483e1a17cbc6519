#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: tls_probe
short_description: Probe upstream TLS handshakes the way nginx does and name the cause of failures
version_added: 0.1.0
description:
  - Runs on the managed host (the proxy), so each probe goes out on the path that fails for nginx.
  - Makes one real handshake per target through Python's C(ssl) module, which links the same libssl
    as nginx on that host, set up like nginx's C(proxy_ssl_*) directives.
  - When a handshake fails and O(diagnose=true), runs a few targeted follow-up handshakes (raw ClientHellos
    that change one variable each) to tell apart causes that look the same to nginx, such as a cipher,
    group, signature algorithm or TLS 1.2 client-certificate mismatch (all alert 40).
  - Returns for each target one cause code from the collection's shared vocabulary, a one-sentence detail,
    the error line nginx would log, and the fix with nginx directives.
  - Uses only the Python standard library on the managed host.
  - Module-level settings are defaults; every target given as a dict may override any of them.
author:
  - tlsops.handshake contributors (@tlsops)
extends_documentation_fragment:
  - tlsops.handshake.attributes.info_module
options:
  targets:
    description:
      - Upstreams to probe, as V(host), V(host:port), V([v6addr]:port) strings, or dicts with the keys
        C(host), C(port) (default V(443)), C(server_name) (SNI and verification name; defaults to the host
        unless the host is an IP literal), C(name) (a label),
        C(origin) (a dict returned unchanged in RV(results[].origin)),
        and any of this module's other settings except O(concurrency) and O(workers).
      - M(tlsops.handshake.nginx_tls_info)'s RV(tlsops.handshake.nginx_tls_info#module:probe_targets) can be given
        as they are; their C(name) and C(origin) then say where nginx uses each target.
      - C(origin) must be a dict of plain JSON values (string keys) of at most 16 KiB as JSON; anything else fails
        the task with a message naming V(targets[N].origin).
      - At least one of O(targets) and O(packed_targets) is required.
    type: list
    elements: raw
  packed_targets:
    description:
      - M(tlsops.handshake.nginx_tls_info)'s RV(tlsops.handshake.nginx_tls_info#module:packed_targets) (its
        O(tlsops.handshake.nginx_tls_info#module:pack_results=true)), as it is - its probe targets are probed
        first, then O(targets).
      - For a thousand targets and more. A template that reads every target, such as
        C("{{ nginx_tls.probe_targets }}"), costs about a third of a second of the controller's time for a
        thousand of them, each time; one string is handed on without being read.
      - Fails, naming this option, when the string is not nginx_tls_info's packed targets (cut short, altered, more
        than 1 GiB unpacked) or when a target in it has a C(client_key_passphrase) (give such a target in
        O(targets), where it is hidden).
    type: str
  protocols:
    description:
      - TLS versions to offer, like C(proxy_ssl_protocols).
      - nginx 1.22 defaults to C(TLSv1 TLSv1.1 TLSv1.2) for upstreams; this module defaults to the modern pair.
    type: list
    elements: str
    choices: [TLSv1, TLSv1.1, TLSv1.2, TLSv1.3]
    default: [TLSv1.2, TLSv1.3]
  ciphers:
    description:
      - OpenSSL cipher string for TLS 1.2 and below, like C(proxy_ssl_ciphers). Default C(DEFAULT), as nginx.
    type: str
  ciphersuites:
    description:
      - TLS 1.3 cipher suites to offer in follow-up handshakes (C(proxy_ssl_conf_command Ciphersuites)).
    type: list
    elements: str
  groups:
    description:
      - Key-exchange groups to offer (C(proxy_ssl_conf_command Groups)), for example V(x25519), V(secp256r1).
      - One group is set on the real handshake; a longer list is checked with a raw ClientHello.
      - When the upstream shares no group, the follow-up handshakes offer every group OpenSSL can negotiate,
        including the curves it allows only in TLS 1.2 (brainpool, binary curves) and the FFDHE groups, and
        name the one the upstream chooses (cause V(group_mismatch)).
    type: list
    elements: str
  sigalgs:
    description:
      - Signature algorithms to offer (C(proxy_ssl_conf_command SignatureAlgorithms)), in IANA/OpenSSL TLS 1.3
        names such as V(rsa_pss_rsae_sha256) or V(ecdsa_secp256r1_sha256). Checked with a raw ClientHello.
    type: list
    elements: str
  alpn:
    description:
      - ALPN protocols to offer, for example V(h2) and V(http/1.1). nginx sends none to upstreams.
    type: list
    elements: str
  sni:
    description:
      - Send the server name (C(server_name) of a target, else its host unless that is an IP literal) in the
        handshake, like C(proxy_ssl_server_name on). nginx's default is off; set V(false) to reproduce it.
    type: bool
    default: true
  conf_commands:
    description:
      - OpenSSL configuration commands, like C(proxy_ssl_conf_command NAME VALUE;), as a dict from each C(NAME) to
        its C(VALUE).
        Names compare without case, as OpenSSL reads nginx's; values are written as nginx passes them.
      - Supported (C(SUPPORTED_CONF_COMMANDS) in C(plugins/module_utils/_probe/targets.py) lists them in lower
        case) are C(Options) (comma-separated OpenSSL flags, C(-Flag) turns one off; for example V(UnsafeLegacyServerConnect)
        lets the handshake finish with an upstream without RFC 5746 secure renegotiation),
        C(Groups) (or C(Curves)), C(SignatureAlgorithms) (or the shorthand C(Sigalgs), which nginx itself does not
        accept), C(Ciphersuites), C(CipherString), C(MinProtocol) and C(MaxProtocol).
      - They win over the equivalent options (O(groups), O(sigalgs), O(ciphersuites), O(ciphers), O(protocols)),
        as nginx applies them last. What Python's C(ssl) can set goes on the real handshake (Options flags,
        the protocol range, a single group, the cipher string); lists of groups, signature algorithms and TLS 1.3
        suites are checked with a raw ClientHello, as for the options themselves.
      - A target dict's C(conf_commands) replaces the module-level dict, as a C(proxy_ssl_conf_command) at an
        inner nginx level replaces the outer ones.
      - An unsupported command, a flag or group this OpenSSL does not know, or a protocol range that leaves
        nothing fails the task with a message naming V(conf_commands.NAME) or V(targets[N].conf_commands.NAME).
    type: dict
  verify:
    description:
      - Verify the certificate chain and the name, like C(proxy_ssl_verify on).
      - With V(false) (here or in a target) the module warns, since expired, self-signed, untrusted and
        wrong-name certificates are then reported V(ok).
    type: bool
    default: true
  ca_file:
    description:
      - PEM bundle of trusted CAs, like C(proxy_ssl_trusted_certificate). Default is the system store.
    type: path
  verify_depth:
    description:
      - Maximum number of intermediate certificates, counted as OpenSSL and nginx count
        C(proxy_ssl_verify_depth) (nginx's default is V(1)). Unset means no limit.
    type: int
  client_cert:
    description:
      - Client certificate (PEM) to present, like C(proxy_ssl_certificate). Requires O(client_key).
    type: path
  client_key:
    description:
      - Private key of O(client_cert), like C(proxy_ssl_certificate_key).
      - An encrypted key needs O(client_key_passphrase); OpenSSL is never allowed to prompt for it.
    type: path
  client_key_passphrase:
    description:
      - Passphrase of an encrypted O(client_key), like nginx's C(proxy_ssl_password_file).
      - A target dict may carry its own C(client_key_passphrase); it is hidden from the output and the
        managed host's log like this option.
    type: str
  timeout:
    description:
      - Seconds allowed for the connect and the first handshake of a target, like C(proxy_ssl_handshake_timeout)
        and C(proxy_connect_timeout) together.
      - Everything a target costs (connect, handshake, the HTTP request and its answer, the read after the
        handshake and every O(diagnose) follow-up) ends within O(timeout) x 2 seconds whatever the upstream
        does (trickling bytes, endless records); a watchdog shuts the connection down at that deadline.
        A follow-up that does not fit is skipped and said in RV(results[].evidence); the cause found so far
        stands.
      - The capability scan of O(enumerate) has its own budget of O(timeout) x 10 seconds.
      - Resolving the target's name comes before and is bounded by O(timeout) too; a resolver that does not answer
        (resolv.conf's retries add up to 30 s and more) makes the target's cause V(dns_failure) after O(timeout)
        seconds, with the wait in RV(results[].detail).
      - Between 0 (exclusive) and 300.
    type: float
    default: 5.0
  concurrency:
    description:
      - How many targets are probed at once. A silent server only ever holds its own slot.
      - Targets whose TLS settings are equal (O(verify), O(ca_file), O(client_cert), O(client_key),
        O(protocols), O(ciphers), O(groups), O(alpn), O(conf_commands)) share one TLS context in a call (in each of
        its processes, see O(workers)); its trust store (the system store when O(ca_file) is not set) is loaded
        once, when a first connection needs it.
    type: int
    default: 32
  workers:
    description:
      - How many processes probe the targets of a large call, from V(1) to V(64). Each probes its share of the
        targets with its share of O(concurrency), so the call never has more than O(concurrency) connections open;
        the results are the same, in the same order.
      - One process runs every handshake's Python work under one lock (the interpreter's); a thousand loopback
        upstreams were probed about a quarter faster, with less CPU, by two processes than by one on 2 cores.
      - A call uses one process per 64 targets at most, so a call of fewer than 128 targets runs in the module's
        own process, as does one with O(workers=1).
      - Default is the number of processors the module may run on, at most 8.
    type: int
  max_connections_per_server:
    description:
      - How many connections the O(enumerate) capability scan of one server may have open at the same time.
        The four version probes, each version's cipher suites and the groups are scanned at once, and a list
        the server accepts from is split into disjoint partitions eliminated concurrently; this bounds them
        all, so a scan never looks like a flood. V(1) scans one connection at a time (the sequential scan).
      - The results do not depend on it. Each list in RV(results[].capabilities) is in the probe's offer
        order, which is the order a server that follows the client's preference (nginx's default) picks them
        in; the server's own preference order is not reported.
      - "Connections of a scan: one per accepted item (a version probe that is accepted is the first item of
        its cipher list), one per refused version, and one refusal per partition of a list. A list starts as
        one partition; once the server accepted two of its items, a partition splits in two after each item
        the server accepts from it, into at most this many partitions. So a list costs at most
        max(1, min(O(max_connections_per_server), accepted)) refusals: one when it accepted at most one item,
        and one per list with V(1)."
      - With O(trace=true) the scan runs one connection at a time, so the transcript stays in order.
      - Between 1 and 64. O(concurrency) targets are probed at once, each with its own bound.
    type: int
    default: 8
  diagnose:
    description:
      - After a failure, run follow-up handshakes that change one variable each (SNI, versions, ciphers,
        groups, signature algorithms, verification off, a plaintext sniff) to name the cause.
    type: bool
    default: true
  trace:
    description:
      - Record each target's handshake transcript, the C(openssl s_client -msg) step without the hex dumps, in
        RV(results[].trace) and RV(results[].trace_text).
      - Covers the real handshake and every follow-up (the O(diagnose) ones, the O(enumerate) scan) - each record
        and handshake message in both directions, in order, with its version, length and key fields (versions,
        cipher suites offered and chosen, groups, key-share groups, SNI, ALPN, signature algorithms, certificate
        subjects, alerts with level and description, HelloRetryRequest, ChangeCipherSpec).
      - Never key material - randoms, session ids, key shares, tickets, signatures and Finished data appear only
        as lengths. Encrypted records of the raw-ClientHello follow-ups are counted, not decoded; the real
        handshake's TLS 1.3 messages are named as OpenSSL decrypted them, through CPython's
        C(SSLContext._msg_callback). On a Python without that hook its part of the transcript says so and only
        the follow-ups are recorded.
      - Bounded per target at 200 entries and 64 KiB of text; the entry that reaches the cap says so.
    type: bool
    default: false
  enumerate:
    description:
      - Capability scan of each healthy server, by elimination (offer many, remove what the server picks).
      - V(groups) covers every group OpenSSL can negotiate - the TLS 1.3 groups (FFDHE included), then the
        curves a TLS 1.2 key exchange accepts that TLS 1.3 does not (brainpool, binary curves).
    type: list
    elements: str
    choices: [protocols, ciphers, groups, sni]
  http_request:
    description:
      - After a successful handshake send C(GET /) with the C(Host) header, as nginx forwards a request, and read
        the status line. This catches upstreams that refuse a missing client certificate only at the HTTP layer
        (nginx C(ssl_verify_client on) answers 400). Set to V(false) for non-HTTP upstreams.
    type: bool
    default: true
  clock_offset_ms:
    description:
      - This host's clock error as M(tlsops.handshake.time_sync_info) reports it in C(offset_ms)
        (true time minus local time, milliseconds).
      - When given, a certificate that is expired or not yet valid by the local clock but valid by the corrected
        time is reported as cause V(clock_skew), and RV(results[].clock_could_be_cause) says whether the clock
        explains the failure.
    type: float
  pack_results:
    description:
      - Return RV(results) packed into one string, RV(packed), instead of a list; RV(summary) stays as it is.
      - For playbooks that only hand the result on, such as C(tlsops.handshake.diagnose) to
        M(tlsops.handshake.diagnose_report), which unpacks it. ansible-core converts, copies and filters every
        value of a result several times on the controller, seconds per host for a thousand targets; one string
        crosses it in one piece, and in about a tenth of the bytes.
      - The filter P(tlsops.handshake.unpack_result#filter) gives the result back as without this option.
      - Ignored, with a warning, when a client key passphrase is given (O(client_key_passphrase) or in a target).
        Ansible masks that value wherever it occurs in the result's text, which could alter a packed string.
    type: bool
    default: false
notes:
  - Certificate problems are not handshake errors in nginx's log. nginx logs
    C(upstream SSL certificate verify error) or C(upstream SSL certificate does not match) after the handshake;
    RV(results[].nginx_error) follows that.
  - The negotiated group and, on Python older than 3.13, the served chain are read with one extra raw ClientHello
    (TLS 1.2 when the server allows it, since the TLS 1.3 Certificate message is encrypted).
  - Every option and every target is checked (types, ranges, host and server names as DNS names or IP literals)
    before any connection is made; a wrong value fails the task with a message naming it, for example
    C(targets[2].port).
  - Reads O(ca_file), O(client_cert) and O(client_key) (regular files only). Sends only TLS ClientHellos, the
    handshakes themselves and, with O(http_request=true), one C(GET /) with the C(Host) header.
  - The module ends when the Ansible run that started it is gone.
seealso:
  - name: nginx ngx_http_proxy_module
    description: The C(proxy_ssl_*) directives this module reproduces.
    link: https://nginx.org/en/docs/http/ngx_http_proxy_module.html
"""

EXAMPLES = r"""
- name: Probe two upstreams the way nginx would
  tlsops.handshake.tls_probe:
    targets:
      - api.internal.example:8443
      - host: 10.0.0.7
        port: 443
        server_name: billing.internal.example
    ca_file: /etc/nginx/tls/upstream-ca.pem
    verify_depth: 1
  register: probe

- name: Show one line per upstream
  ansible.builtin.debug:
    msg: "{{ item.target }}: {{ item.cause }} - {{ item.fix | join(' ') }}"
  loop: "{{ probe.results }}"
  loop_control:
    label: "{{ item.target }}"

- name: Reproduce nginx 1.22's defaults (no SNI, TLSv1-TLSv1.2, no verification)
  tlsops.handshake.tls_probe:
    targets: [backend.example:443]
    sni: false
    protocols: [TLSv1, TLSv1.1, TLSv1.2]
    verify: false

- name: Scan what an upstream accepts
  tlsops.handshake.tls_probe:
    targets: [backend.example:443]
    enumerate: [protocols, ciphers, groups, sni]

- name: Probe with nginx's proxy_ssl_conf_command settings (one target with its own)
  tlsops.handshake.tls_probe:
    targets:
      - backend.example:443
      - host: legacy.example
        conf_commands:
          Options: UnsafeLegacyServerConnect
    conf_commands:
      Groups: X25519:prime256v1:brainpoolP256r1
      MinProtocol: TLSv1.2

- name: Show the handshake transcript of a failing upstream (openssl s_client -msg, without key material)
  tlsops.handshake.tls_probe:
    targets: [backend.example:443]
    trace: true
  register: traced

- name: Print it
  ansible.builtin.debug:
    var: traced.results[0].trace_text
"""

RETURN = r"""
results:
  description: One entry per target, in input order.
  returned: unless O(pack_results=true)
  type: list
  elements: dict
  contains:
    target:
      description: The target's label (the C(name) key of its O(targets) entry, or V(host:port)).
      type: str
      sample: backend.example:443
    host:
      description: The host probed, as the target gave it (a name or an address).
      type: str
      sample: backend.example
    port:
      description: The TCP port probed.
      type: int
      sample: 443
    server_name:
      description: SNI and verification name used.
      type: str
      sample: backend.example
    sni:
      description:
        - Whether the ClientHello carried the server name (the target's C(sni) and a C(server_name) to send), as
          nginx does only with C(proxy_ssl_server_name on).
      type: bool
      sample: true
    origin:
      description:
        - The C(origin) of the target, unchanged - from M(tlsops.handshake.nginx_tls_info), where nginx uses it
          (C(upstream), C(proxy_pass), C(kind), C(locations) with C(file) and C(line), C(locations_omitted)).
        - Null when the target had none.
      type: dict
      sample:
        upstream: backend
        proxy_pass: https://backend
        kind: http
        locations:
          - {"file": "/etc/nginx/sites/api.conf", "line": 12, "location": "/v1", "server_names": ["api.example.com"],
             "listen": ["443 ssl"], "proxy_pass": "https://backend"}
        locations_omitted: 0
    ok:
      description: The handshake and, when O(verify=true), the verification succeeded.
      type: bool
    handshake_ok:
      description: The TLS handshake itself completed (it does for certificate problems, as in nginx).
      type: bool
    cause:
      description:
        - One code of the shared vocabulary, for example V(ok), V(plain_http), V(sni_required),
          V(cert_chain_incomplete), V(protocol_mismatch), V(key_share_violation), V(unknown).
      type: str
      sample: sni_required
    detail:
      description: One human sentence explaining the cause.
      type: str
    nginx_error:
      description: The error text nginx logs for this cause.
      type: str
      sample: SSL_do_handshake() failed (SSL... tlsv1 unrecognized name:SSL alert number 112) while SSL handshaking to upstream
    fix:
      description: Concrete actions, with nginx directives where they apply.
      type: list
      elements: str
      sample: ["proxy_ssl_server_name on;", "proxy_ssl_name backend.example;"]
    raw_error:
      description: The raw error of the failing step; always set when RV(results[].cause=unknown).
      type: str
    tls:
      description: Negotiated C(version), C(cipher), C(group) and C(alpn).
      type: dict
      sample: {"version": "TLSv1.3", "cipher": "TLS_AES_256_GCM_SHA384", "group": "x25519", "alpn": "h2"}
    timing:
      description: C(connect_ms) and C(handshake_ms) of the first connection.
      type: dict
    certificate:
      description:
        - The leaf certificate - subject, issuer, not_before, not_after, days_left, sans, sha256, key_type,
          key_bits, signature_algorithm and more. Null when no certificate was received.
      type: dict
    chain:
      description: Every served certificate, with the same keys as RV(results[].certificate).
      type: list
      elements: dict
    verification:
      description: C(ok), C(code) (OpenSSL X509 verify code) and C(message); C(ok) is null when not verified.
      type: dict
    hostname_match:
      description: Whether the leaf covers the verification name, as nginx checks it (X509_check_host).
      type: bool
    http_status:
      description: Status code of the request sent when O(http_request=true).
      type: int
    capabilities:
      description:
        - With O(enumerate), C(protocols), C(ciphers) (per version), C(groups), C(requires_sni),
          C(sni_changes_certificate).
        - C(ciphers) and C(groups) are in the probe's offer order (see O(max_connections_per_server)).
      type: dict
    clock_could_be_cause:
      description:
        - For an expired or not-yet-valid certificate with O(clock_offset_ms) given, whether the certificate is
          valid by the corrected clock (then RV(results[].cause=clock_skew)). Null otherwise.
      type: bool
    evidence:
      description: What each follow-up handshake showed.
      type: list
      elements: str
    handshakes:
      description:
        - Connections this target cost.
        - A healthy target costs at most 2. The first is the real handshake through C(ssl) with nginx's settings;
          the HTTP request (O(http_request)) goes over it, and its own handshake messages (OpenSSL's message
          callback, decrypted for TLS 1.3) give the key exchange group and the served chain. The second is made
          only when the target sets what C(ssl) cannot send (several O(groups), O(sigalgs), O(ciphersuites)),
          a raw ClientHello with exactly those settings, to see whether the upstream refuses them.
        - A third connection would buy nothing for a healthy target that these two do not already read. The
          probe used to spend one on a raw ClientHello for the group and one more on a TLS 1.2 ClientHello for
          the chain of a TLS 1.3 server; they are now read from the first handshake. They remain the fallback
          on a Python whose C(ssl) has no message callback (before 3.8).
        - A failing target costs more only with O(diagnose=true) (each follow-up is one connection) or with
          O(enumerate).
      type: int
    trace:
      description:
        - The handshake transcript of every connection of the target, in order, when O(trace=true).
        - An entry with C(message=connection) starts each connection (its C(fields.purpose) says which);
          C(message=note) tells how it ended; C(message=truncated) marks the cap.
      returned: when O(trace=true)
      type: list
      elements: dict
      contains:
        connection:
          description: Number of the connection within the target, from 1.
          type: int
        direction:
          description: V(sent) (probe to server), V(received), or V(none) for the connection markers and notes.
          type: str
        version:
          description: The TLS version label OpenSSL's message callback gives (or the record's), like V(TLS 1.3).
          type: str
        record:
          description: Record content type (V(Handshake), V(Alert), V(ChangeCipherSpec), V(ApplicationData)).
          type: str
        message:
          description:
            - Handshake message name (V(ClientHello), V(ServerHello), V(HelloRetryRequest), V(EncryptedExtensions),
              V(Certificate), V(CertificateVerify), V(Finished), ...), V(Alert), V(ChangeCipherSpec), or
              V(encrypted) for a record that is counted, not decoded.
          type: str
        length:
          description: Bytes of the message (or of the encrypted record).
          type: int
        encrypted:
          description: Whether the message travelled encrypted.
          type: bool
        fields:
          description:
            - What the message says, by name, for example C(cipher_suites), C(supported_versions),
              C(supported_groups), C(key_share_groups), C(server_name), C(alpn), C(signature_algorithms) in a
              ClientHello; C(version), C(cipher_suite), C(key_share_group) in a ServerHello; C(certificates)
              (subject and issuer) in a Certificate; C(level), C(description), C(code) of an alert.
            - Lengths only for anything secret (C(session_id_length), C(key_share_length),
              C(verify_data_length), C(signature_length)).
          type: dict
      sample:
        - {connection: 1, direction: none, record: null, message: connection,
           fields: {purpose: "the probe's handshake through ssl, with nginx's settings"}}
        - {connection: 1, direction: sent, version: TLS 1.3, record: Handshake, message: ClientHello, length: 512,
           encrypted: false, fields: {server_name: backend.example, key_share_groups: [x25519]}}
        - {connection: 1, direction: received, version: TLS 1.3, record: Alert, message: Alert, length: 2,
           encrypted: false, fields: {level: fatal, description: handshake_failure, code: 40}}
    trace_text:
      description: RV(results[].trace) as text lines, as C(openssl s_client -msg) prints them (without hex dumps).
      returned: when O(trace=true)
      type: list
      elements: str
      sample:
        - ">>> TLS 1.3, Handshake [length 0200], ClientHello"
        - "    cipher_suites=TLS_AES_256_GCM_SHA384,... server_name=backend.example key_share_groups=x25519"
        - "<<< TLS 1.3, Alert [length 0002], fatal handshake_failure"
packed:
  description:
    - With O(pack_results=true), RV(results) as one string (JSON, zlib-compressed, base64, behind the prefix
      C(tlsops-packed-1:)); P(tlsops.handshake.unpack_result#filter) gives the list back.
  returned: when O(pack_results=true) and no client key passphrase is given
  type: str
  sample: "tlsops-packed-1:eNrtvWt..."
network_namespace:
  description:
    - Where the probes ran, as C(<boot id>/<inode of the network namespace>) (Linux); null where C(/proc) does not
      say. Two results with the same value reached the same loopback services.
    - M(tlsops.handshake.diagnose_report) compares pairs to a loopback upstream (C(127.0.0.1:8443), a local service
      on each proxy) only between proxies with the same value, since such an upstream is one service per machine.
  returned: always
  type: str
  sample: "1f0e6a2c-3b1d-4d6e-9a53-2c1f5b0d7e11/4026531840"
summary:
  description: Counts over all targets.
  returned: always
  type: dict
  contains:
    total:
      description: Number of targets.
      type: int
    ok:
      description: Targets with RV(results[].ok=true).
      type: int
    failed:
      description: Targets that are not ok.
      type: int
    by_cause:
      description: Number of targets per cause code.
      type: dict
      sample: {"ok": 3, "plain_http": 1}
    processes:
      description: How many processes probed the targets (see O(workers)); V(1) is the module's own.
      type: int
      sample: 2
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.tlsops.handshake.plugins.module_utils._common import forked
from ansible_collections.tlsops.handshake.plugins.module_utils._common.lifeline import exit_with_controller
from ansible_collections.tlsops.handshake.plugins.module_utils._common.net import network_namespace
from ansible_collections.tlsops.handshake.plugins.module_utils._common.packed import PackedError, pack_keys, unpack_targets
from ansible_collections.tlsops.handshake.plugins.module_utils._probe.run import probe_targets
from ansible_collections.tlsops.handshake.plugins.module_utils._probe.targets import ProbeConfigError, secrets_in
from ansible_collections.tlsops.handshake.plugins.module_utils._tls.names import TLS_VERSIONS


class _ProbeModule(AnsibleModule):
    """AnsibleModule that hides per-target client_key_passphrase values like its no_log options,
    from the invocation it logs on the host as well as from the result."""

    def _log_invocation(self):
        self.no_log_values.update(secrets_in(self.params.get("targets")))
        super(_ProbeModule, self)._log_invocation()


def _packed_targets(module, text):
    """The targets in ``packed_targets`` (none when it is not given)."""
    if text is None:
        return []
    targets = []
    try:
        targets = unpack_targets(text)
    except PackedError as exc:
        module.fail_json(msg="packed_targets: %s; give nginx_tls_info's packed_targets (pack_results=true) as it is"
                         % exc)
    if secrets_in(targets):
        module.fail_json(msg="packed_targets: a target in it has a client_key_passphrase, which a packed string cannot"
                             " hide; give that target in targets instead")
    return targets


def main():
    module = _ProbeModule(
        argument_spec=dict(
            targets=dict(type="list", elements="raw"),
            packed_targets=dict(type="str"),
            protocols=dict(type="list", elements="str", default=["TLSv1.2", "TLSv1.3"],
                           choices=list(TLS_VERSIONS)),
            ciphers=dict(type="str"),
            ciphersuites=dict(type="list", elements="str"),
            groups=dict(type="list", elements="str"),
            sigalgs=dict(type="list", elements="str"),
            alpn=dict(type="list", elements="str"),
            sni=dict(type="bool", default=True),
            conf_commands=dict(type="dict"),
            verify=dict(type="bool", default=True),
            ca_file=dict(type="path"),
            verify_depth=dict(type="int"),
            client_cert=dict(type="path"),
            client_key=dict(type="path", no_log=False),
            client_key_passphrase=dict(type="str", no_log=True),
            timeout=dict(type="float", default=5.0),
            concurrency=dict(type="int", default=32),
            workers=dict(type="int"),
            max_connections_per_server=dict(type="int", default=8),
            diagnose=dict(type="bool", default=True),
            trace=dict(type="bool", default=False),
            enumerate=dict(type="list", elements="str", choices=["protocols", "ciphers", "groups", "sni"]),
            http_request=dict(type="bool", default=True),
            clock_offset_ms=dict(type="float"),
            pack_results=dict(type="bool", default=False),
        ),
        required_one_of=[("targets", "packed_targets")],
        supports_check_mode=True,
    )
    exit_with_controller()
    module.no_log_values.update(secrets_in(module.params.get("targets")))
    params = dict(module.params)
    targets = _packed_targets(module, params.pop("packed_targets")) + (params.pop("targets") or [])
    concurrency = params.pop("concurrency")
    if not 1 <= concurrency <= 256:
        module.fail_json(msg="concurrency: %d is out of range; use 1-256" % concurrency)
    workers = params.pop("workers")
    if workers is None:
        workers = forked.default_workers()
    elif not 1 <= workers <= 64:
        module.fail_json(msg="workers: %d is out of range; use 1-64 (1 probes in the module's own process)" % workers)
    max_connections = params.pop("max_connections_per_server")
    pack_results = params.pop("pack_results")
    if pack_results and module.no_log_values:
        module.warn("pack_results is ignored: a client key passphrase is given, and Ansible masks it wherever it occurs"
                    " in the result's text, which could alter a packed string")
        pack_results = False
    try:
        results, summary = probe_targets(targets, params, concurrency=concurrency, warn=module.warn,
                                         max_connections_per_server=max_connections, workers=workers)
    except ProbeConfigError as exc:
        module.fail_json(msg=str(exc))
    where = network_namespace()
    if pack_results:
        module.exit_json(changed=False, summary=summary, network_namespace=where,
                         **pack_keys({"results": results}, ["results"]))
    module.exit_json(changed=False, results=results, summary=summary, network_namespace=where)


if __name__ == "__main__":
    main()
