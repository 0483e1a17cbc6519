#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: handshake_log_info
short_description: Count the TLS handshake failures in nginx error logs, by cause, upstream and side
version_added: 0.1.0
description:
  - Reads nginx error logs on the managed host and returns aggregates, never the whole log - how many
    handshake failures of each cause, for each upstream, on each side, when they were first and last seen,
    and a few sample lines of each.
  - >-
    Names every failure with a code of the collection's shared cause vocabulary (the same codes as
    M(tlsops.handshake.tls_probe)), with its title and its fix. It knows nginx's own wording (for example
    C(upstream SSL certificate verify error) with its X509 verify code, C(upstream SSL certificate does not match "name"),
    C(peer closed connection in SSL handshake), C(upstream timed out ... while SSL handshaking to upstream))
    and OpenSSL's reasons as OpenSSL 1.1.1, 3.0 and 3.2+ spell them, or only their numeric codes.
  - Tells apart failures towards upstreams (nginx was the TLS client, C(... to upstream)) from failures on the
    listening side (C(while SSL handshaking) without C(to upstream), C(SSL_read) and C(SSL_write) failures towards
    clients), and lists the client addresses with the most failures - often bots and scanners.
  - Reads nginx's error lines as they really arrive (O(format)) - in nginx's own file, behind the prefix of
    C(docker compose logs), C(kubectl logs --prefix --timestamps), C(journalctl) or a syslog file, as nginx's own
    syslog datagrams, inside Docker json-file and Kubernetes CRI container logs, and straight from the systemd
    journal (O(journal_units)). Lines whose date, pid or connection number were cut off still count.
  - Streams the files line by line, so memory stays small and constant however large the logs are
    (a 1 GB log is read in seconds). Rotated and compressed (gzip, bzip2, xz) files are read too.
  - Uses only the Python standard library on the managed host.
author:
  - tlsops.handshake contributors (@tlsops)
extends_documentation_fragment:
  - tlsops.handshake.attributes.info_module
options:
  paths:
    description:
      - Error logs to read, as paths or shell globs expanded on the managed host.
      - Default is the files that the C(error_log) directives of O(config) name (the files it includes are
        followed), or C(/var/log/nginx/error.log) when the configuration names none or cannot be read; with
        O(journal_units) and no O(paths), no file is read.
      - Container logs are files too, for example C(/var/lib/docker/containers/*/*-json.log) (Docker's json-file
        driver) or C(/var/log/containers/nginx-*.log) (Kubernetes CRI).
      - With O(rotated=true), each path that is not a glob brings its rotated copies.
      - Only regular files are read. A path that is a FIFO, a device or a directory is never opened; it is
        listed in RV(files) with an C(error) saying what it is, and a warning names it.
    type: list
    elements: path
  config:
    description:
      - The main nginx configuration file whose C(error_log) directives give the default O(paths).
      - Relative C(include) paths are taken relative to this file's directory, relative C(error_log) paths
        relative to O(prefix), as nginx does.
      - Used only when O(paths) is not given. When not set, C(/etc/nginx/nginx.conf), which may be missing;
        when set, a file that cannot be read (missing, unreadable, larger than 8 MiB, or not a regular file such as
        a FIFO or a device) is an error. An included file that cannot be read is skipped with a warning naming
        the C(file:line) that includes it.
    type: path
  prefix:
    description:
      - nginx's prefix directory (its C(-p), else the C(--prefix) that C(nginx -V) shows), the base of relative
        C(error_log) paths in O(config), as nginx resolves them. M(tlsops.handshake.nginx_tls_info) reports the
        compiled-in one as C(nginx.prefix).
      - Default is the directory of O(config), with a warning for each relative C(error_log) read that way.
      - Used only with O(config).
    type: path
  rotated:
    description:
      - Also read the rotated copies of each path that is not a glob, as logrotate names them
        (C(error.log.1), C(error.log.2.gz), C(error.log-20261201), C(error.log-20261201.gz)).
        A missing rotated copy is not an error.
    type: bool
    default: true
  since:
    description:
      - Count only lines logged at or after this time. Either a duration back from now - V(90s), V(30m), V(2h),
        V(7d), V(2w), V(1h30m), at most V(36500d) - or an ISO 8601 time from 1970 on, such as
        V(2026-12-01T21:00:00), V(2026-12-01T20:00:00Z) or V(2026-12-01). Anything else is an error.
      - nginx writes the host's local time without a zone, so a time without an offset is local time on the
        managed host, and one with an offset is converted to it.
      - A line without a time of its own counts as logged at the time of the line before it. Files not
        modified since that time are skipped without being read.
    type: str
  format:
    description:
      - How nginx's error lines arrive. V(auto) tells it line by line, so one file may mix forms.
      - >-
        V(nginx) - nginx's own error log (C(2026/12/01 21:24:13 [error] 123#123: *9 ...)), also with parts of its
        header cut (C([crit] 619#0: *3 ...), C(*10 MESSAGE), or the bare message), and nginx's
        console form on stderr (C(nginx: [emerg] ...)).
      - >-
        V(docker_compose) - C(docker compose logs) output (C(nginx-1  | LINE)), also with C(--timestamps) and colours.
      - >-
        V(kubectl) - C(kubectl logs) output with C(--prefix) (C([pod/NAME/CONTAINER] LINE)), C(--timestamps)
        (C(2024-01-01T00:00:00.000000000Z LINE)) or both.
      - >-
        V(journalctl) - C(journalctl -u nginx) output in the C(short), C(short-iso), C(short-precise) and
        C(short-iso-precise) forms.
      - >-
        V(syslog) - syslog files (C(Dec  6 20:33:00 host nginx[123]: LINE), or RFC 3339 times as Debian's rsyslog
        writes them), and nginx's own C(error_log syslog:server=...) datagrams (C(<187>Dec  6 20:33:00 host nginx: LINE))
        or RFC 5424 headers.
      - >-
        V(docker_json) - Docker's json-file driver, one JSON object a line with the nginx line in C(log); lines
        Docker split (past 16 KiB) are joined.
      - >-
        V(cri) - Kubernetes CRI container logs (C(2024-01-01T00:00:00.000000000Z stderr F LINE)); C(P) parts are joined.
      - V(journal_json) - saved C(journalctl -o json) output.
      - With an explicit value, a line not in that form is not read as nginx's (it counts in RV(unparsed) when it has
        TLS wording); V(auto) also finds nginx's header after a syslog host and tag of any shape.
      - A line split into parts is joined up to 64 KiB; the rest of a longer one is dropped.
    type: str
    choices: [auto, nginx, docker_compose, kubectl, journalctl, syslog, docker_json, cri, journal_json]
    default: auto
  journal_units:
    description:
      - systemd units whose journal is read, for hosts where nginx logs to the journal only (C(error_log stderr)
        under systemd, or C(error_log syslog:server=unix:/dev/log)).
      - Runs C(journalctl -o json --no-pager --quiet [--since TIME] --unit=UNIT ...) without a shell; O(since) is
        passed on. Each name must be a systemd unit name (letters, digits and C(:_.@\-), not starting with C(-)).
      - At most 1 GiB of journalctl output is read and journalctl is stopped after 300 seconds; either cut is a
        warning and RV(journal.truncated=true). A host without journalctl is an error.
      - Reading the journal usually needs C(become) (or membership of the C(systemd-journal) group).
    type: list
    elements: str
  samples:
    description:
      - How many sample lines to keep for each group and for RV(unparsed) - the first distinct ones
        (by message and upstream) in reading order, oldest file first. V(0) keeps none, V(100) is the most.
      - Samples are nginx's lines as they are, with client addresses and request URIs, except that private key
        material (a PEM key nginx logged when it could not load an inline C(data:...) key) is replaced by
        C(<redacted private key>).
    type: int
    default: 3
  top_clients:
    description:
      - How many client addresses to list in RV(clients), from V(0) to V(1000).
    type: int
    default: 10
  workers:
    description:
      - How many processes read one large plain log at once, each its own part of the file, from V(1) to V(8).
        V(1) reads every file in the module's own process.
      - Only uncompressed files of 16 MiB or more are cut into parts. The result is the one a single process gives;
        when a part cannot be read apart from the lines before it (a container line split across two parts, or with
        O(since) a line without a time at the start of a part), or holds more distinct messages than its share of
        the module's bounded table, that file is read again by one process.
      - Default is the number of processors the module may run on, at most 8. On a busy proxy, V(1) or V(2) leaves
        more of them to nginx.
    type: int
notes:
  - Times in the results are the host's local time as nginx wrote it, in ISO form without an offset
    (V(2026-12-01T21:24:13)).
  - A line's time is nginx's own when the line has it (the local time of the host or container nginx runs in);
    otherwise that of its wrapper (the journal's, the syslog header's, the container runtime's), converted to the
    managed host's local time when it has an offset. A syslog time has no year - it gets the year that puts it at
    most two days after the file's last modification. A line with no time at all still counts, with no time
    (RV(events.without_time)); for O(since) it is as old as the line before it.
  - Every nginx line about a TLS handshake is an event. One whose reason names no cause of the vocabulary counts
    under the cause C(unknown), with OpenSSL's own reason in C(reasons). Only lines that are not nginx's at all
    count in RV(unparsed).
  - Some lines stand for more than one cause. Alert 40 (handshake failure) is logged alike for a cipher, group or
    signature algorithm mismatch and a TLS 1.2 upstream that wants a client certificate; verify error 20 alike for
    an untrusted root, a missing intermediate and a chain longer than the verify depth. Such groups carry
    C(candidates) and a C(note) in RV(events.by_cause); M(tlsops.handshake.tls_probe) tells them apart.
  - Network failures without TLS wording (connection refused, timed out while connecting, host not found) count
    only for upstreams whose scheme is not plain (C(https://), C(grpcs://), or the stream module's bare
    C(host:port)).
  - Only the message part of a line (before C(, client:)) decides its cause, never the request or headers a client
    sent. Lines at C(debug) level are not classified.
  - Memory is bounded - at most O(samples) lines per group, at most 1000 upstreams (more count under the key "(other)"),
    and at most max(10000, 100 x O(top_clients)) client addresses. When more addresses are seen, the less frequent
    half is dropped from time to time, so counts of addresses that came back are lower bounds and
    RV(clients_approximate) is true; addresses with bursts of failures stay exact in practice.
  - Reading C(/var/log/nginx) usually needs C(become).
seealso:
  - module: tlsops.handshake.tls_probe
    description: Probe an upstream from the proxy and tell apart the causes one log line cannot.
"""

EXAMPLES = r"""
- name: Handshake failures of the last two hours, from the error logs nginx is configured with
  tlsops.handshake.handshake_log_info:
    since: 2h
  become: true
  register: hs

- name: One line per cause
  ansible.builtin.debug:
    msg: "{{ item.key }}: {{ item.value.count }} ({{ item.value.title }}) - {{ item.value.fix | join(' ') }}"
  loop: "{{ hs.events.by_cause | dict2items }}"
  loop_control:
    label: "{{ item.key }}"

- name: Read given files only, with five samples per group
  tlsops.handshake.handshake_log_info:
    paths:
      - /var/log/nginx/proxy-error.log
      - /srv/logs/nginx/*.error.log
    rotated: false
    samples: 5
  become: true

- name: Read the json-file logs of Docker containers running nginx
  tlsops.handshake.handshake_log_info:
    paths:
      - /var/lib/docker/containers/*/*-json.log
    format: docker_json
    since: 1d
  become: true

- name: Read the journal of a host where nginx logs to stderr under systemd
  tlsops.handshake.handshake_log_info:
    journal_units:
      - nginx.service
    since: 2h
  become: true

- name: Read the saved output of kubectl logs --prefix --timestamps
  tlsops.handshake.handshake_log_info:
    paths:
      - /tmp/ingress-nginx.log

- name: A busy proxy's multi-gigabyte log, leaving most processors to nginx
  tlsops.handshake.handshake_log_info:
    paths:
      - /var/log/nginx/error.log
    since: 6h
    workers: 2
  become: true

- name: Probe the upstreams whose failures the log cannot name alone
  tlsops.handshake.tls_probe:
    targets: "{{ hs.events.by_cause.cipher_mismatch.upstreams | list }}"
  when: hs.events.by_cause.cipher_mismatch is defined
"""

RETURN = r"""
events:
  description: The classified failures, grouped three ways.
  returned: success
  type: dict
  contains:
    total:
      description: Number of classified failure lines.
      type: int
      sample: 42
    by_cause:
      description:
        - One entry per cause code of the shared vocabulary, most frequent first. Each has C(count), C(first_seen),
          C(last_seen), C(samples), C(title), C(fix) (with the host, port, server name or verify code filled in
          when all lines of the group agree on it, a V(<placeholder>) otherwise), C(sides) (counts per side),
          C(levels) (counts per nginx level), C(upstreams) (counts per upstream host:port, at most 50).
        - C(verify_codes) (counts per X509 verify code) for certificate causes.
        - C(ambiguous) (how many lines could stand for another cause), C(candidates) (the causes they may be) and
          C(note) (why, and what tells them apart) when the group holds such lines.
        - C(fix) ends with advice on client-side failures when the group holds some.
        - C(unknown) holds the handshake lines whose reason names no cause; its C(reasons) counts them by OpenSSL's
          own reason (C(decryption failed or bad record mac)), or nginx's words when OpenSSL gave none.
      type: dict
      sample:
        cert_chain_incomplete:
          count: 3
          first_seen: "2026-12-01T21:32:49"
          last_seen: "2026-12-01T21:32:49"
          samples: ["2026/12/01 21:32:49 [error] 3070#3070: *8 upstream SSL certificate verify error: (20:unable to ..."]
          title: the upstream does not serve its intermediate certificate(s)
          fix: ["Serve the full chain on 10.0.0.7:443: ssl_certificate must hold the leaf followed by ..."]
          sides: {upstream: 3}
          levels: {error: 3}
          upstreams: {"10.0.0.7:443": 3}
          verify_codes: {"20": 3}
          ambiguous: 3
          candidates: [cert_chain_incomplete, cert_untrusted, verify_depth_exceeded]
          note: verify error 20 is logged alike for an untrusted root, a missing intermediate and ...
    by_upstream:
      description:
        - One entry per upstream C(host:port) (from the line's C(upstream) URL; the port is the scheme's default when
          the URL has none), most failures first, for upstream-side failures. Each has C(count), C(first_seen),
          C(last_seen), C(samples), C(causes) (counts per cause) and C(levels).
      type: dict
      sample: {"10.0.0.7:443": {"count": 2, "causes": {"not_tls": 2}, "first_seen": "2026-12-01T21:32:49"}}
    by_side:
      description:
        - C(upstream) (nginx was the TLS client, C(... to upstream) / C(... from upstream)) and C(client)
          (the listening side), each with C(count), C(first_seen), C(last_seen), C(samples) and C(causes).
      type: dict
    without_time:
      description:
        - Events whose line had no time - nginx's date was cut off and no wrapper gave one. They count everywhere
          but move no C(first_seen) or C(last_seen); a group of such lines only has null times.
      type: int
      sample: 0
formats:
  description:
    - nginx lines looked at, by the form they arrived in - V(nginx),
      V(docker_compose), V(kubectl), V(syslog) (syslog and journalctl text headers alike), V(docker_json), V(cri),
      V(journal_json).
    - Looked at are the lines with TLS wording (C(SSL), C(handshak), C(HTTPS port)) and those with nginx's words
      for a failed connection to an upstream (C(while connecting to upstream), C(host not found in upstream),
      C(upstream prematurely sent response)); no other line names a cause. Debug lines are not counted.
  returned: success
  type: dict
  sample: {"cri": 120, "nginx": 3}
journal:
  description:
    - With O(journal_units), what was read from the journal. Null without O(journal_units).
  returned: success
  type: dict
  contains:
    units:
      description: The units read.
      type: list
      elements: str
      sample: [nginx.service]
    command:
      description: journalctl's arguments.
      type: list
      elements: str
      sample: ["/usr/bin/journalctl", "-o", "json", "--no-pager", "--quiet", "--unit=nginx.service"]
    lines:
      description: Lines of journalctl output read.
      type: int
    bytes:
      description: Bytes of journalctl output read.
      type: int
    rc:
      description: journalctl's exit status (that of a killed journalctl when RV(journal.truncated=true)).
      type: int
    truncated:
      description: Whether the read stopped at 1 GiB or 300 seconds (a warning says which).
      type: bool
clients:
  description:
    - The client addresses with the most client-side failures, at most O(top_clients), most first.
  returned: success
  type: list
  elements: dict
  contains:
    address:
      description: The client address as nginx logged it.
      type: str
    count:
      description: Its client-side failures (a lower bound when RV(clients_approximate=true)).
      type: int
    first_seen:
      description: Local time of its first failure.
      type: str
    last_seen:
      description: Local time of its last failure.
      type: str
    causes:
      description: Counts per cause.
      type: dict
clients_approximate:
  description: Whether so many addresses were seen that the least frequent were dropped (see the notes).
  returned: success
  type: bool
since:
  description: The effective O(since) as local time, or null without one.
  returned: success
  type: str
  sample: "2026-12-01T19:24:13"
lines_read:
  description: Lines read from all files (a line longer than 64 KiB counts once and only its start is looked at).
  returned: success
  type: int
bytes_read:
  description: Bytes of log text read (after decompression).
  returned: success
  type: int
lines_before_since:
  description: Lines read but older than O(since).
  returned: success
  type: int
unparsed:
  description:
    - Lines with SSL or handshake wording that are not nginx's error lines in any form O(format) accepts
      (C(count)), with up to O(samples) of them (C(samples)). nginx's own lines never count here - one with a reason
      nothing names is an event of cause C(unknown). Binary garbage is counted and shown with unprintable characters
      replaced.
  returned: success
  type: dict
  sample: {"count": 1, "samples": ["openssl: SSL_connect failed ..."]}
files:
  description:
    - The files read, oldest first, each with C(path), C(compression) (V(gzip), V(bzip2), V(xz) or null), C(lines)
      and C(bytes); C(skipped) when not modified since O(since); C(error) when it is not a regular file (a FIFO,
      a device, a directory - never opened), could not be opened, or stopped being readable (a corrupt or truncated
      gzip, bzip2 or xz archive, a read error), with what was read until then counted and a warning naming it.
  returned: success
  type: list
  elements: dict
paths_from:
  description: Where the paths came from - V(paths), V(config) (the error_log directives), V(fallback), or V(journal)
    (only O(journal_units) was read).
  returned: success
  type: str
missing:
  description: Paths (not globs) that do not exist. Missing rotated copies are never listed.
  returned: success
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.tlsops.handshake.plugins.module_utils._common.lifeline import exit_with_controller
from ansible_collections.tlsops.handshake.plugins.module_utils._logs.formats import FORMATS
from ansible_collections.tlsops.handshake.plugins.module_utils._logs.read import LogReadError, read_logs


def main():
    module = AnsibleModule(
        argument_spec=dict(
            paths=dict(type="list", elements="path"),
            config=dict(type="path"),
            prefix=dict(type="path"),
            rotated=dict(type="bool", default=True),
            since=dict(type="str"),
            samples=dict(type="int", default=3),
            top_clients=dict(type="int", default=10),
            workers=dict(type="int"),
            format=dict(type="str", default="auto", choices=list(FORMATS)),
            journal_units=dict(type="list", elements="str"),
        ),
        supports_check_mode=True,
    )
    exit_with_controller()
    params = module.params
    try:
        logs = read_logs(paths=params["paths"], config=params["config"], prefix=params["prefix"], rotated=params["rotated"],
                         since=params["since"], samples=params["samples"], top_clients=params["top_clients"],
                         format=params["format"], journal_units=params["journal_units"], workers=params["workers"])
    except LogReadError as exc:
        module.fail_json(msg=str(exc))
    # the engine's typed result becomes the module's return values here; its warnings go to module.warn
    for warning in logs["warnings"]:
        module.warn(warning)
    result = dict((key, value) for key, value in logs.items() if key != "warnings")
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
