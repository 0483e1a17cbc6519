#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: nginx_tls_info
short_description: Read nginx's effective TLS settings for every upstream and server, with findings
version_added: 0.1.0
description:
  - Reads the whole nginx configuration of the host, every include expanded. When the nginx binary is present
    it takes the text of C(nginx -T), the only text nginx itself reads; when nginx is absent (or O(source=files))
    it reads O(config) and the files its C(include) directives name.
  - For every C(proxy_pass https://), C(grpc_pass grpcs://), C(uwsgi_pass suwsgi://) and TLS C(proxy_pass) of
    C(stream {}) (C(proxy_ssl on)), and every C(upstream {}) block they feed, returns the B(effective)
    C(*_ssl_*) settings after nginx's inheritance (http > server > location) and nginx's defaults for the
    detected nginx version, and C(probe_targets) to pass unchanged to M(tlsops.handshake.tls_probe), which then
    reproduces nginx's handshakes (SNI only when nginx would send it, never for IP literals).
  - Also returns every C(server {}) block (listen, names, C(ssl_*) settings, certificate paths) and the nginx
    version and TLS library (C(nginx -V)).
  - Returns findings - C(https_to_plain_port), C(http_to_tls_port), C(sni_off_for_hostname),
    C(ssl_name_is_upstream_block), C(verify_off), C(verify_without_trusted_certificate), C(verify_depth_too_small),
    C(legacy_protocols), C(protocols_differ_from_policy), C(certificate_not_full_chain), C(duplicate_directive),
    C(conf_command_not_probed), C(config_rejected) and more - each with the file and line, a message and the fix.
  - A configuration nginx would reject (a missing C(;), unbalanced braces, an C(include) of a file that does not
    exist, a wrong number of arguments) fails the task when it was read from the files without nginx's verdict
    (O(source=files), no nginx binary, C(nginx -T) not run or without the rights it needs) - the message names each
    C(file:line) and crossplane's error, and C(config_errors) lists them; nothing else is returned, since
    nginx cannot load such a configuration. When C(nginx -T) itself ran and rejected the configuration, the
    task succeeds as before with the finding C(config_rejected) (nginx's own message) and, for what crossplane
    also finds, C(config_syntax_error); the rest is read from the files, as the running nginx may still serve an
    older configuration.
  - B(This module has an action plugin.) The managed host only runs C(nginx -V), C(nginx -T) and reads files
    (Python standard library only, no new dependency there). Parsing happens on the B(controller), with
    crossplane (nginx's own configuration parser), which must be installed there (C(pip install crossplane)).
author:
  - tlsops.handshake contributors (@tlsops)
extends_documentation_fragment:
  - tlsops.handshake.attributes.info_module
options:
  nginx_path:
    description:
      - The nginx binary. Default is C(nginx) on E(PATH), then C(/usr/sbin/nginx), C(/usr/local/sbin/nginx),
        C(/usr/local/nginx/sbin/nginx).
    type: path
  config:
    description:
      - The main configuration file, an absolute path. Passed to nginx as C(-c). It must be a readable regular file.
      - Default is nginx's compiled-in C(--conf-path) (C(nginx -V)) when nginx is present, else
        C(/etc/nginx/nginx.conf).
    type: path
  prefix:
    description:
      - nginx's prefix directory, passed as C(-p) (the base of relative paths such as C(logs/error.log)).
    type: path
  source:
    description:
      - Where the configuration text comes from.
      - V(auto) uses C(nginx -T) when nginx is present; when nginx rejects the configuration, that is
        reported (finding C(config_rejected) with nginx's own message) and the files are read instead.
      - V(nginx) requires the nginx binary; V(files) never runs C(nginx -T) (C(nginx -V) still gives the version).
    type: str
    choices: [auto, nginx, files]
    default: auto
  nginx_version:
    description:
      - The nginx version whose defaults apply (for example V(1.22.1)), instead of the one C(nginx -V) reports.
      - Without it and without nginx on the host, the defaults of the newest nginx are assumed, and a finding
        says so.
    type: str
  policy:
    description:
      - The TLS policy upstreams and servers should follow; differences are reported as
        C(protocols_differ_from_policy), C(ciphers_differ_from_policy) and C(groups_differ_from_policy).
    type: dict
    suboptions:
      protocols:
        description: TLS versions, for example V([TLSv1.2, TLSv1.3]).
        type: list
        elements: str
        choices: [SSLv2, SSLv3, TLSv1, TLSv1.1, TLSv1.2, TLSv1.3]
      ciphers:
        description: OpenSSL cipher string for TLS 1.2 and below.
        type: str
      groups:
        description: Key-exchange groups, for example V([X25519, prime256v1, secp384r1]).
        type: list
        elements: str
  chains:
    description:
      - What is known of the upstreams' certificate chains, to decide C(verify_depth_too_small).
      - Keys are probe target names (RV(probe_targets[].name), the long form included), V(host:port) or upstream
        names; values are the
        number of intermediate certificates, or a M(tlsops.handshake.tls_probe) C(results[].chain) list or
        C(results[]) entry.
      - Without an entry, an upstream verified with a small depth gets an C(info) finding that says "needs probe".
    type: dict
  timeout:
    description:
      - Seconds allowed for each nginx command.
    type: float
    default: 30.0
  pack_results:
    description:
      - Return RV(upstreams) and RV(findings) packed into one string, RV(packed), and RV(probe_targets) into another,
        RV(packed_targets), instead of lists. The other keys, RV(servers) and RV(summary) among them, stay as they are.
      - M(tlsops.handshake.tls_probe) takes RV(packed_targets) as it is (its option
        O(tlsops.handshake.tls_probe#module:packed_targets)). A template that reads a thousand targets costs about a
        third of a second on the controller each time, one string almost nothing.
      - For playbooks that only hand the result on, such as C(tlsops.handshake.diagnose) to
        M(tlsops.handshake.diagnose_report), which unpacks it. ansible-core converts, copies and filters every
        value of a result several times on the controller, seconds per host for a thousand upstreams; one string
        crosses it in one piece.
      - The filter P(tlsops.handshake.unpack_result#filter) gives the result back as without this option.
    type: bool
    default: false
notes:
  - C(nginx -T) needs the rights nginx needs to start (it opens log and certificate files and resolves the names
    in C(proxy_pass)); run with C(become=true). Without them the files are read instead and a
    C(config_not_tested) finding says why. Like C(nginx -t), it may create the log files and temporary
    directories the configuration names when they are missing; it changes nothing else and never signals nginx.
  - Certificate files named by C(ssl_certificate) and the CA files of C(*_ssl_trusted_certificate),
    C(ssl_client_certificate) and C(ssl_trusted_certificate) are read on the host to tell whether a served chain
    is complete. Private keys and C(ssl_password_file) files are never read.
  - Only regular files of at most 8 MiB are read. The configuration files are read before C(nginx -T) runs; when a
    path nginx would open (an C(include), a certificate, key, CRL or password file, a log) is a FIFO or a device,
    nginx would block on it or read it for ever, so C(nginx -T) is not run, the finding C(config_not_tested) names
    the C(file:line) and the files are read instead (with O(source=nginx), that is an error). An include or
    certificate file that cannot be read gives C(config_file_unreadable) or C(certificate_unreadable) at the
    C(file:line) that names it.
  - Private keys written into the configuration (C(ssl_certificate_key "data:-----BEGIN ...")),
    or anywhere else in it, never leave the host - the configuration text, nginx's messages and every result show
    V(data:<redacted private key>) or V(<redacted private key>) in their place, on the same lines.
  - Variables in C(proxy_pass) cannot be resolved; such upstreams are listed with the finding
    C(pass_has_variables) and no probe target.
  - C(proxy_pass http://) (and C(grpc_pass grpc://)) aimed at a port that speaks TLS gets the finding
    C(http_to_tls_port) - an error for a port of this nginx's own C(listen ... ssl) on a local address, a warning
    for the usual TLS ports (443, 2376, 4443, 5986, 6443, 8443, 9443, 10443) - and a probe target whose
    C(origin.expect) is V(plaintext) - a TLS handshake that succeeds there proves the port speaks TLS.
requirements:
  - crossplane on the controller
seealso:
  - module: tlsops.handshake.tls_probe
  - name: nginx ngx_http_proxy_module
    description: The C(proxy_ssl_*) directives and their defaults.
    link: https://nginx.org/en/docs/http/ngx_http_proxy_module.html
  - name: crossplane
    description: The nginx configuration parser used on the controller.
    link: https://github.com/nginxinc/crossplane
"""

EXAMPLES = r"""
- name: Read nginx's upstream TLS settings
  tlsops.handshake.nginx_tls_info:
  become: true
  register: nginx_tls

- name: Probe every upstream exactly the way nginx connects to it
  tlsops.handshake.tls_probe:
    targets: "{{ nginx_tls.probe_targets }}"
  register: probe
  when: nginx_tls.probe_targets | length > 0

- name: The same for a thousand upstreams - the targets go from module to module as one string
  tlsops.handshake.nginx_tls_info:
    pack_results: true
  become: true
  register: nginx_tls_packed

- name: Probe them
  tlsops.handshake.tls_probe:
    packed_targets: "{{ nginx_tls_packed.packed_targets }}"
    pack_results: true
  when: nginx_tls_packed.summary.probe_targets > 0

- name: Check against the collection's policy, with the chain lengths the probe saw
  tlsops.handshake.nginx_tls_info:
    policy:
      protocols: [TLSv1.2, TLSv1.3]
      groups: [X25519, prime256v1, secp384r1]
    chains: "{{ probe.results | items2dict(key_name='target', value_name='chain') }}"
  become: true
  register: nginx_tls

- name: Show the errors
  ansible.builtin.debug:
    msg: "{{ item.file }}:{{ item.line }} {{ item.code }}: {{ item.message }} -> {{ item.fix }}"
  loop: "{{ nginx_tls.findings | selectattr('severity', 'equalto', 'error') }}"
  loop_control:
    label: "{{ item.code }}"

- name: Analyse a configuration tree copied from elsewhere, as nginx 1.22 would read it
  tlsops.handshake.nginx_tls_info:
    source: files
    config: /srv/audit/web01/etc/nginx/nginx.conf
    nginx_version: 1.22.1
"""

RETURN = r"""
source:
  description: Where the text came from, V(nginx -T) or V(files).
  returned: always
  type: str
  sample: nginx -T
config_file:
  description: The main configuration file.
  returned: always
  type: str
  sample: /etc/nginx/nginx.conf
files:
  description: Every configuration file read, main file first.
  returned: always
  type: list
  elements: str
config_test:
  description:
    - The C(nginx -T) run - C(command), C(rc), C(ok), C(stderr) and C(messages) (nginx's own log lines such as
      V([emerg] "ssl_prefer_server_ciphers" directive is duplicate in /etc/nginx/nginx.conf:30)).
    - Null when nginx was not run.
  returned: always
  type: dict
nginx:
  description:
    - C(path), C(product), C(version), C(openssl_built) and C(openssl_running) (the TLS library nginx was built
      with and runs with), C(conf_path) and C(prefix) (compiled in), C(version_assumed) (true when the version is
      unknown and the newest defaults apply), and C(defaults) (the upstream defaults that version applies).
  returned: always
  type: dict
  sample:
    version: 1.22.1
    openssl_built: OpenSSL 3.0.19 27 Jan 2026
    openssl_running: OpenSSL 3.0.19 27 Jan 2026
    defaults: {"proxy_ssl_protocols": ["TLSv1", "TLSv1.1", "TLSv1.2"]}
upstreams:
  description: One entry per TLS upstream and way of reaching it (locations with the same effective settings share one).
  returned: unless O(pack_results=true)
  type: list
  elements: dict
  contains:
    name:
      description: The C(upstream {}) block name, or V(host:port).
      type: str
      sample: backend
    kind:
      description: V(proxy), V(grpc), V(uwsgi) or V(stream).
      type: str
    directive:
      description: V(proxy_pass), V(grpc_pass) or V(uwsgi_pass).
      type: str
    proxy_pass:
      description: The C(*_pass) value as written.
      type: str
      sample: https://backend/api/
    scheme:
      description: V(https), V(grpcs), V(suwsgi), or V(tls) for stream{} with C(proxy_ssl on); null when a variable hides it.
      type: str
    upstream_block:
      description: C(name), C(file) and C(line) of the C(upstream {}) block, or null.
      type: dict
    servers:
      description: Where nginx connects - C(host), C(port) (V(80) for an upstream server without a port), and for
        C(upstream {}) servers C(port_explicit), C(backup), C(down), C(file), C(line).
      type: list
      elements: dict
    locations:
      description: Every place that uses it - C(file), C(line) (of the C(*_pass)), C(location), C(server_names), C(listen).
      type: list
      elements: dict
    effective:
      description:
        - The effective settings - C(server_name_on), C(ssl_name), C(ssl_name_directive), C(protocols),
          C(ciphers), C(conf_commands) (C(name)/C(value)), C(groups), C(ciphersuites) and C(sigalgs) (from the
          conf commands, null when unset), C(verify), C(trusted_certificate), C(verify_depth), C(certificate),
          C(certificate_key), C(session_reuse), C(crl), C(connect_timeout).
        - C(ssl_name) is the name nginx sends as SNI (when C(server_name_on)) and checks in the certificate - the
          C(*_ssl_name) value, or by default (V($proxy_host)) the host of the C(*_pass) or the C(upstream {})
          block's name, without the port (nginx cuts C(host:port) at the C(:), an IPv6 literal after its C(])).
          Null when a request variable (V($host), ...) decides it.
        - C(ssl_name_directive) is the C(*_ssl_name) directive's value as written (quotes removed, as nginx reads
          it), null when it is not set. C(ssl_name_resolved) is the same as C(ssl_name), kept for older readers.
        - C(connect_timeout) is C(*_connect_timeout) in seconds (V(60) by default); nginx bounds the connection and
          the TLS handshake with it.
      type: dict
    sources:
      description: For each effective key, C(file), C(line) and C(directive) where it is set, or null for nginx's default.
      type: dict
    probe_targets:
      description:
        - M(tlsops.handshake.tls_probe) targets that reproduce nginx's handshakes to this upstream, the same
          entries as in RV(probe_targets) (an entry whose locations share a target with another entry lists it too).
      type: list
      elements: dict
    findings:
      description: The findings of this upstream (same keys as RV(findings)).
      type: list
      elements: dict
    notes:
      description: What could not be turned into probe targets, and why.
      type: list
      elements: str
servers:
  description:
    - Every C(server {}) block (http and stream) - C(context), C(file), C(line), C(listen) (C(address), C(port),
      C(ssl), C(http2), C(default_server), C(raw)), C(ssl), C(server_names), C(ssl_protocols), C(ssl_ciphers),
      C(ssl_ecdh_curve), C(ssl_certificates), C(ssl_certificate_keys), C(ssl_reject_handshake),
      C(ssl_prefer_server_ciphers), C(ssl_conf_commands), C(sources), C(findings).
  returned: always
  type: list
  elements: dict
probe_targets:
  description:
    - All upstreams' probe targets in one list, ready for M(tlsops.handshake.tls_probe)
      O(tlsops.handshake.tls_probe#module:targets), set up like nginx - C(protocols), C(ciphers), C(groups),
      C(sigalgs), C(ciphersuites) (from the conf commands), C(verify), C(verify_depth) and C(ca_file) (only when
      verifying), C(client_cert)/C(client_key), C(alpn) (V([h2]) for gRPC, else none) and C(http_request)
      (V(false) except for C(proxy_pass)).
    - C(conf_commands) - every effective C(*_ssl_conf_command) that tls_probe reproduces, as
      a dict of command to value, in nginx's order (a later command replaces an earlier one of the same name, two
      C(Options) add up); the others are left out, with the finding C(conf_command_not_probed). Present only
      when this collection's M(tlsops.handshake.tls_probe) takes C(conf_commands).
    - C(timeout) - nginx's C(*_connect_timeout) in seconds when it is shorter than tls_probe's default (5 s) -
      nginx gives up on a connection and its handshake after that long.
    - Also one target per upstream server of a C(http_to_tls_port) finding, to check it - C(verify) and
      C(http_request) off, every protocol offered, C(origin.expect) V(plaintext), named
      V(host:port (plaintext in proxy_pass\)).
  returned: unless O(pack_results=true)
  type: list
  elements: dict
  contains:
    name:
      description:
        - Unique within one result, and M(tlsops.handshake.tls_probe)'s RV(tlsops.handshake.tls_probe#module:results[].target).
        - V(host:port), or V(upstream (host:port\)) for a server of an C(upstream {}) block, when no other target has
          that label (the usual case).
        - When several targets share it (locations that reach one upstream with different effective settings, such
          as C(proxy_ssl_server_name) on in one and off in the other), the label is followed by the server name (or
          V(listen ADDRESS) when the server has none), the location and the C(file:line) of the first location that
          uses the target, the file relative to the configuration's directory - for example
          V(10.0.0.7:443 @ api.example.com /v1 (sites/api.conf:12\)). Only if that is still ambiguous (one snippet
          included in two servers of the same name) a number follows (C(#2), C(#3)...).
        - Names follow the configuration's order, so they stay the same while the configuration does; adding a
          location with other settings toward the same upstream can turn a plain V(host:port) into the long form.
      type: str
      sample: "10.0.0.7:443 @ api.example.com /v1 (sites/api.conf:12)"
    origin:
      description:
        - Where nginx uses this target, passed through M(tlsops.handshake.tls_probe) unchanged into its
          RV(tlsops.handshake.tls_probe#module:results[].origin), so that every result points back to the configuration.
        - Locations with the same effective settings toward the same upstream share one target; all of them are
          listed, in the configuration's order.
        - At most 16 KiB as JSON (M(tlsops.handshake.tls_probe)'s bound); past that the first locations that fit are
          kept and C(locations_omitted) counts the others. Names, locations and pass values are cut at 256
          characters, C(server_names) and C(listen) at 16 entries.
      type: dict
      contains:
        upstream:
          description: The upstream entry's name (RV(upstreams[].name)) - the C(upstream {}) block name or V(host:port).
          type: str
        proxy_pass:
          description: The C(*_pass) value as written (of the first entry when several share the target).
          type: str
        kind:
          description: V(http) (C(proxy_pass) in http{}), V(grpc), V(uwsgi) or V(stream) (C(proxy_pass) in stream{}).
          type: str
        locations:
          description:
            - Every place that uses the target - C(file), C(line) (of the C(*_pass) directive), C(location) (null in
              stream{}), C(server_names), C(listen) and C(proxy_pass) (the value written there).
          type: list
          elements: dict
        locations_omitted:
          description: Locations left out to stay within the bound (usually V(0)).
          type: int
        expect:
          description:
            - V(plaintext) for a target that checks a C(http_to_tls_port) finding - nginx speaks plaintext to
              this port, so a TLS handshake that succeeds (or fails for a TLS reason) there confirms the
              fault, and a C(plain_http) result clears it.
            - Absent for every other target.
          type: str
      sample:
        upstream: backend
        proxy_pass: https://backend
        kind: http
        locations:
          - {"file": "/etc/nginx/sites/api.conf", "line": 12, "location": "/v1", "server_names": ["api.example.com"],
             "listen": ["443 ssl"], "proxy_pass": "https://backend"}
        locations_omitted: 0
    host:
      description: Where nginx connects.
      type: str
    port:
      description: The port nginx connects to.
      type: int
    server_name:
      description: The name nginx sends as SNI (when RV(probe_targets[].sni)) and checks in the certificate.
        Left out for an IP literal.
      type: str
    sni:
      description: Whether nginx sends SNI (C(*_ssl_server_name on) and the name is not an IP literal).
      type: bool
  sample:
    - {"name": "backend (10.0.0.7:443)", "host": "10.0.0.7", "port": 443, "server_name": "backend", "sni": false,
       "protocols": ["TLSv1", "TLSv1.1", "TLSv1.2"], "ciphers": "DEFAULT", "verify": false, "alpn": [],
       "origin": {"upstream": "backend", "proxy_pass": "https://backend", "kind": "http", "locations_omitted": 0,
                  "locations": [{"file": "/etc/nginx/conf.d/app.conf", "line": 9, "location": "/",
                                 "server_names": ["app.example.com"], "listen": ["443 ssl"],
                                 "proxy_pass": "https://backend"}]}}
findings:
  description: Every finding - C(code), C(severity) (V(info), V(warning), V(error)), C(file), C(line), C(message),
    C(fix), C(cause) (the handshake cause it leads to, or null), and C(upstream) or C(server) naming what it is about.
  returned: unless O(pack_results=true)
  type: list
  elements: dict
  sample:
    - code: https_to_plain_port
      severity: error
      file: /etc/nginx/conf.d/app.conf
      line: 12
      message: "proxy_pass https://10.0.0.7:80 opens TLS to 10.0.0.7:80, the plain-HTTP port"
      fix: "Point proxy_pass at the upstream's TLS port (usually 443), or use http:// if plaintext to 10.0.0.7:80 is intended."
      cause: plain_http
packed:
  description:
    - With O(pack_results=true), RV(upstreams) and RV(findings) as one string (JSON of a dict with those two keys,
      zlib-compressed, base64, behind the prefix C(tlsops-packed-1:)); P(tlsops.handshake.unpack_result#filter)
      puts them back.
  returned: when O(pack_results=true)
  type: str
  sample: "tlsops-packed-1:eNrtvWt..."
packed_targets:
  description:
    - With O(pack_results=true), RV(probe_targets) as one string (a packed dict with that key alone), for
      O(tlsops.handshake.tls_probe#module:packed_targets); P(tlsops.handshake.unpack_result#filter) puts it back too.
  returned: when O(pack_results=true)
  type: str
  sample: "tlsops-packed-1:eNq1lM1u..."
config_errors:
  description:
    - Why a configuration nginx would reject could not be read (the task fails) - C(file), C(line) and C(error)
      (crossplane's message, or nginx's wording for what nginx's reader refuses).
  returned: failure, when the configuration was read without nginx and nginx would reject it
  type: list
  elements: dict
  sample:
    - {"file": "/etc/nginx/sites-enabled/app.conf", "line": 12,
       "error": "unexpected \"}\" in /etc/nginx/sites-enabled/app.conf:12"}
summary:
  description: Counts - C(upstreams), C(servers), C(probe_targets), C(findings), C(by_severity), C(by_code), and
    C(config_valid) (whether C(nginx -T) accepted the configuration; null when it did not run).
  returned: always
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.tlsops.handshake.plugins.module_utils._common.lifeline import exit_with_controller
from ansible_collections.tlsops.handshake.plugins.module_utils._nginx.collect import CollectError, collect
from ansible_collections.tlsops.handshake.plugins.module_utils._tls.names import NGINX_PROTOCOLS

PROTOCOL_CHOICES = list(NGINX_PROTOCOLS)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            nginx_path=dict(type="path"),
            config=dict(type="path"),
            prefix=dict(type="path"),
            source=dict(type="str", default="auto", choices=["auto", "nginx", "files"]),
            nginx_version=dict(type="str"),
            policy=dict(type="dict", options=dict(
                protocols=dict(type="list", elements="str", choices=PROTOCOL_CHOICES),
                ciphers=dict(type="str"),
                groups=dict(type="list", elements="str"),
            )),
            chains=dict(type="dict"),
            timeout=dict(type="float", default=30.0),
            pack_results=dict(type="bool", default=False),  # applied by the action plugin
        ),
        supports_check_mode=True,
    )
    exit_with_controller()
    params = module.params
    if not 0 < params["timeout"] <= 600:
        module.fail_json(msg="timeout: %s is out of range; use 0 < timeout <= 600 seconds" % params["timeout"])
    try:
        raw = collect(nginx_path=params["nginx_path"], config=params["config"], prefix=params["prefix"],
                      source=params["source"], timeout=params["timeout"])
    except CollectError as exc:
        module.fail_json(msg=str(exc))
    # The action plugin turns this raw collection into the documented result on the controller.
    module.exit_json(changed=False, **raw)


if __name__ == "__main__":
    main()
