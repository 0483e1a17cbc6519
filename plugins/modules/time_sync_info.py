#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: time_sync_info
short_description: Tell whether this host's clock is right, and by how much it is off
version_added: 0.1.0
description:
  - Answers "is this host's clock right?" from up to three witnesses, each reported on its own.
  - The local time daemon. chrony (C(chronyc -c tracking) and C(chronyc -c sources)), systemd-timesyncd
    (C(timedatectl show), C(timedatectl show-timesync) and C(timedatectl timesync-status)) or ntpd (C(ntpq -pn),
    C(ntpq -c rv)). Says which one runs, whether it is synchronised, its source, stratum, offset and leap status.
  - NTP servers, queried directly by this module with SNTP (RFC 4330/RFC 5905 client packets over UDP). By default
    the servers in the running daemon's configuration. The best of O(samples) exchanges (lowest round-trip delay)
    gives each server's offset, delay, stratum and leap indicator. Kiss-o'-death replies, unsynchronised servers,
    replies that do not echo the request (spoofed or stale), truncated replies and timeouts are reported per server.
  - Optionally an HTTP(S) server's C(Date) header (O(compare_url)) as a second opinion with one-second resolution.
  - "Sign convention: every C(offset_ms) is B(true time minus local time), in milliseconds, the SNTP theta.
    A positive value means the local clock is behind and must move forward by that much; a negative value means
    it is ahead. M(tlsops.handshake.tls_probe) takes this number as its O(tlsops.handshake.tls_probe#module:clock_offset_ms)
    to tell a certificate problem from a clock problem."
  - Uses only the Python standard library on the managed host. Never changes the clock or any daemon.
author:
  - tlsops.handshake contributors (@tlsops)
extends_documentation_fragment:
  - tlsops.handshake.attributes.info_module
options:
  servers:
    description:
      - NTP servers to query, as V(host), V(host:port), V([IPv6]:port), a bare IPv6 address, or dicts with
        C(host) and C(port) (default port V(123)).
      - When not given, the servers of the running daemon's configuration (chrony's O(chrony_config) with its
        C(include), C(confdir) and C(sourcedir) files, systemd-timesyncd's servers as C(timedatectl show-timesync)
        reports them or O(timesyncd_config), ntpd's O(ntp_config)). A C(pool) name is queried as one server
        (its first address).
      - An empty list queries no server; only the daemon (and O(compare_url)) are consulted.
    type: list
    elements: raw
  samples:
    description:
      - Requests sent to each server (1-16). The sample with the lowest round-trip delay is used.
    type: int
    default: 3
  sample_interval:
    description:
      - Seconds between two requests to the same server. Public servers rate-limit clients that ask more often
        than every 2 seconds, answering with a kiss-o'-death or not at all.
    type: float
    default: 2.0
  timeout:
    description:
      - Seconds to wait for each reply (more than 0, at most 60).
      - Also the one deadline of the whole O(compare_url) exchange (name lookup, connect, TLS handshake, request,
        status line and headers), however the server paces its bytes.
      - Servers are queried in parallel; one server takes at most O(samples) x (O(timeout) + O(sample_interval)) seconds.
    type: float
    default: 2.0
  max_offset_ms:
    description:
      - Largest acceptable clock error in milliseconds (0 or more). RV(skewed) is true when the best estimate RV(offset_ms)
        is further off than this, in either direction.
    type: float
    default: 1000.0
  compare_url:
    description:
      - An V(http://) or V(https://) URL whose response C(Date) header gives a second opinion (a C(HEAD) request).
      - The estimate has an uncertainty of half a second plus half the round trip; it becomes RV(offset_ms) only when
        neither an NTP server nor a synchronised daemon gave an offset.
      - Redirects are not followed (a C(3xx) reply carries a C(Date) header too, and the server does not get to choose
        where this host connects). The response head is limited to 100 header lines of at most 8 KiB, 64 KiB in
        all; the body is never read. A server that breaks a limit or the O(timeout) gets a C(error_code) in RV(compare)
        and a V(compare_failed) finding.
      - User information in the URL (V(http://user:password@host/)) is never sent (a C(401) reply carries a C(Date)
        header as well) and is shown as V(********) in every result, message and in C(invocation).
      - Spaces, control characters and non-ASCII characters are refused (they would split or corrupt the request);
        percent-encode them.
      - The request goes directly to the server; proxy environment variables are not used.
    type: str
  compare_validate_certs:
    description:
      - Verify the TLS certificate of an V(https://) O(compare_url). A clock that is far off makes valid certificates
        look expired or not yet valid, so set this to V(false) when that is what you are investigating.
      - With V(false) the module warns that anyone on the path to the server can then choose the C(Date) it reads.
    type: bool
    default: true
  chronyc_path:
    description:
      - The C(chronyc) to run. Default is C(chronyc) on E(PATH), C(/usr/sbin) or C(/usr/bin).
    type: str
  chrony_socket:
    description:
      - chronyd's command socket (C(chronyc -h)). Default is chronyc's own default (C(/run/chrony/chronyd.sock), then
        UDP 127.0.0.1:323).
      - When set, chronyc is asked even if no chronyd process is seen (for example a chronyd in another PID namespace).
    type: path
  chrony_config:
    description:
      - chrony's configuration file for the default O(servers). Default C(/etc/chrony/chrony.conf), else
        C(/etc/chrony.conf).
    type: path
  timedatectl_path:
    description:
      - The C(timedatectl) to run. Default is C(timedatectl) on E(PATH), C(/usr/bin) or C(/bin).
    type: str
  timesyncd_config:
    description:
      - systemd-timesyncd's configuration file, read with its C(.conf.d) drop-ins when C(timedatectl show-timesync)
        does not answer. Default C(/etc/systemd/timesyncd.conf).
    type: path
  ntpq_path:
    description:
      - The C(ntpq) to run. Default is C(ntpq) on E(PATH), C(/usr/sbin) or C(/usr/bin).
    type: str
  ntp_config:
    description:
      - ntpd's configuration file for the default O(servers). Default C(/etc/ntpsec/ntp.conf), else C(/etc/ntp.conf).
    type: path
  proc_path:
    description:
      - The process table to look for running daemons in (C(chronyd), C(systemd-timesyncd), C(ntpd)). Processes in
        other PID namespaces (containers) are not counted.
    type: path
    default: /proc
notes:
  - A chronyd whose only reference is its own clock (C(local stratum)) serves time but is reported as not
    synchronised, since nothing checks its clock.
  - When systemd-timesyncd runs but C(timedatectl show) cannot reach systemd-timedated, its synchronisation is judged
    from the last reply it accepted (C(show-timesync)).
  - The module sends only NTP client packets (mode 3), at most O(samples) per server, and one HTTP C(HEAD) request
    to O(compare_url) when it is set.
  - It reads the daemons' configuration files (with their includes and drop-ins) and O(proc_path) through one reader
    that accepts only regular files, so a FIFO or a device there is reported, never waited on.
seealso:
  - name: RFC 5905, Network Time Protocol Version 4
    description: The packet format, the offset and delay formulas and the kiss codes.
    link: https://www.rfc-editor.org/rfc/rfc5905
  - name: chronyc manual
    description: The C(tracking) and C(sources) reports this module reads.
    link: https://chrony-project.org/doc/4.3/chronyc.html
"""

EXAMPLES = r"""
- name: Check the clock against the daemon's own servers
  tlsops.handshake.time_sync_info:
  register: clock

- name: Fail when the clock is more than half a second off
  ansible.builtin.assert:
    that:
      - clock.synchronized
      - not clock.skewed
    fail_msg: "{{ clock.findings | map(attribute='message') | join('; ') }}"

- name: Ask two given servers, with a second opinion from a web server
  tlsops.handshake.time_sync_info:
    servers:
      - ntp1.internal.example
      - host: 10.0.0.123
        port: 123
    max_offset_ms: 500
    compare_url: https://www.internal.example/
  register: clock

- name: Let tls_probe tell a clock problem from a certificate problem
  tlsops.handshake.tls_probe:
    targets: [backend.internal.example:443]
    clock_offset_ms: "{{ clock.offset_ms }}"
  when: clock.offset_ms is not none
"""

RETURN = r"""
daemon:
  description:
    - The local daemon that keeps time, C(name=none) when none runs.
    - A synchronised daemon is preferred, then one whose client answered, then any running one (chrony first).
  returned: always
  type: dict
  contains:
    name:
      description: V(chrony), V(systemd-timesyncd), V(ntpd) or V(none).
      type: str
      sample: chrony
    running:
      description: Its process runs in this PID namespace or its client answered.
      type: bool
    answered:
      description: Its client (chronyc, timedatectl, ntpq) returned a status.
      type: bool
    synchronized:
      description: It is synchronised to a time source (not to its own clock).
      type: bool
    reason:
      description: Why it is not synchronised; null when it is.
      type: str
      sample: "no usable source (1 configured, 0 usable)"
    source:
      description: The source it follows (address or name), as the daemon reports it.
      type: str
      sample: 192.0.2.10
    stratum:
      description: Its stratum.
      type: int
    offset_ms:
      description:
        - The daemon's own view of the local clock error (true minus local, ms). For chrony the C(System time) of
          C(tracking); for systemd-timesyncd the last C(Offset); for ntpd the system C(offset).
      type: float
    root_delay_ms:
      description: Root delay in milliseconds.
      type: float
    root_dispersion_ms:
      description: Root dispersion in milliseconds.
      type: float
    leap:
      description: V(none), V(insert_second), V(delete_second) or V(unsynchronized).
      type: str
    sources:
      description:
        - The daemon's sources (chrony C(sources), ntpq peers) with C(name), C(mode), C(state), C(selected),
          C(stratum), C(offset_ms) (true minus local, as everywhere) and more.
      type: list
      elements: dict
    pids:
      description: Process IDs of the daemon found in O(proc_path).
      type: list
      elements: int
    error:
      description: What went wrong asking its client, if anything.
      type: str
daemons:
  description: Every running daemon, in the shape of RV(daemon). More than one raises V(competing_daemons).
  returned: always
  type: list
  elements: dict
servers:
  description: One entry per NTP server queried, in order.
  returned: always
  type: list
  elements: dict
  contains:
    server:
      description: V(host:port) as queried.
      type: str
      sample: ntp1.internal.example:123
    address:
      description: The IP address queried (null when the name did not resolve).
      type: str
    ok:
      description: At least one sample was usable.
      type: bool
    offset_ms:
      description: Offset of the best sample, true (server) time minus local time, in milliseconds.
      type: float
      sample: 90000.12
    delay_ms:
      description: Round-trip delay of the best sample, in milliseconds.
      type: float
    stratum:
      description: The server's stratum (0 for a kiss-o'-death).
      type: int
    leap:
      description: The server's leap indicator, V(none), V(insert_second), V(delete_second) or V(unsynchronized).
      type: str
    reference_id:
      description: The server's reference ID (ASCII for stratum 1, an IPv4 address above).
      type: str
    root_delay_ms:
      description: The server's root delay.
      type: float
    root_dispersion_ms:
      description: The server's root dispersion.
      type: float
    samples_sent:
      description: Requests sent.
      type: int
    samples_ok:
      description: Usable replies.
      type: int
    error:
      description:
        - Null, or V(timeout), V(kiss_of_death), V(unsynchronized), V(bogus_origin), V(truncated), V(invalid),
          V(resolve_failed), V(network_error). V(kiss_of_death) may come with RV(servers[].ok=true) when earlier
          samples were usable.
      type: str
    error_message:
      description: The error in words.
      type: str
    kiss_code:
      description: The kiss code (V(RATE), V(DENY), V(RSTR), ...) of a kiss-o'-death.
      type: str
servers_source:
  description: Where the server list came from (V(servers parameter), or the daemon configuration file(s) read).
  returned: always
  type: str
  sample: /etc/chrony/chrony.conf, /etc/chrony/sources.d/local.sources
offset_ms:
  description:
    - The best estimate of the local clock error, true time minus local time, in milliseconds (positive - the clock
      is behind). The median NTP server, else a synchronised daemon's own offset, else the O(compare_url) Date header.
      Null when there is no witness.
  returned: always
  type: float
  sample: -3600000.4
offset_source:
  description: Which witness RV(offset_ms) comes from.
  returned: always
  type: str
  sample: NTP server 10.0.0.123:123
max_offset_ms:
  description: The threshold used.
  returned: always
  type: float
synchronized:
  description: The local daemon (RV(daemon)) is synchronised.
  returned: always
  type: bool
skewed:
  description: RV(offset_ms) is further off than O(max_offset_ms). False when RV(offset_ms) is null.
  returned: always
  type: bool
compare:
  description:
    - The O(compare_url) result, C(url) (user information redacted), C(ok), C(status), C(date), C(offset_ms),
      C(uncertainty_ms), C(rtt_ms), C(elapsed_ms) (the whole exchange, at most O(timeout)), C(error) and
      C(error_code).
    - "C(error_code) is null or one of V(timeout), V(resolve_failed), V(connection_refused), V(connection_reset),
      V(network_error), V(certificate_invalid), V(tls_error), V(bad_status_line), V(bad_header), V(header_too_long),
      V(too_many_headers), V(headers_too_large), V(closed), V(no_date), V(bad_date)."
  returned: when O(compare_url) is set
  type: dict
findings:
  description:
    - Findings from the shared vocabulary, each with C(code), C(severity), C(message), C(fix) and C(cause).
    - "Codes: V(no_time_daemon), V(daemon_not_synchronized), V(offset_exceeds_threshold), V(all_servers_unreachable),
      V(competing_daemons), V(leap_pending), V(server_kiss_of_death), V(server_unsynchronized), V(server_unusable),
      V(compare_disagrees), V(compare_failed), V(config_file_unreadable) (a daemon configuration file or one it
      includes is a FIFO, a device, a directory or larger than 1 MiB: it is not read, the rest is)."
  returned: always
  type: list
  elements: dict
  sample:
    - code: offset_exceeds_threshold
      severity: error
      message: "the clock is off by 90000.120 ms (behind: it must move forward) (threshold 1000 ms) according to
        NTP server 10.0.0.123:123"
      fix: Step the clock once (chronyc makestep) and keep it synchronised; ...
      cause: clock_skew
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.tlsops.handshake.plugins.module_utils._clock.check import ClockConfigError, check
from ansible_collections.tlsops.handshake.plugins.module_utils._clock.http_date import redact
from ansible_collections.tlsops.handshake.plugins.module_utils._common.lifeline import exit_with_controller


def main():
    module = AnsibleModule(
        argument_spec=dict(
            servers=dict(type="list", elements="raw"),
            samples=dict(type="int", default=3),
            sample_interval=dict(type="float", default=2.0),
            timeout=dict(type="float", default=2.0),
            max_offset_ms=dict(type="float", default=1000.0),
            compare_url=dict(type="str"),
            compare_validate_certs=dict(type="bool", default=True),
            chronyc_path=dict(type="str"),
            chrony_socket=dict(type="path"),
            chrony_config=dict(type="path"),
            timedatectl_path=dict(type="str"),
            timesyncd_config=dict(type="path"),
            ntpq_path=dict(type="str"),
            ntp_config=dict(type="path"),
            proc_path=dict(type="path", default="/proc"),
        ),
        supports_check_mode=True,
    )
    exit_with_controller()
    params = dict(module.params)
    # compare_url is not no_log (the URL itself is worth seeing); its user information is
    # a secret, so the copy Ansible returns as invocation.module_args is redacted.
    module.params["compare_url"] = redact(params["compare_url"])
    try:
        result = check(params, warn=module.warn)
    except ClockConfigError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
