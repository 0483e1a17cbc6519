#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: tls_policy_scan
short_description: Internal read-only scan of nginx for the tls_policy role
version_added: 0.1.0
description:
  - B(Internal to the tlsops.handshake.tls_policy role), which calls it in C(tasks/facts.yml) and C(tasks/scan.yml);
    its options and results follow that role and may change with it. Use the role, or M(tlsops.handshake.nginx_tls_info)
    to look at an nginx configuration.
  - With O(nginx_binary), runs C(nginx -V) and returns what it says (RV(nginx)).
  - With O(conf), reads the configuration nginx loads from that file, with its includes followed as nginx follows them
    (globs in sorted order, relative paths against O(prefix)), and returns what the role needs before it writes
    anything, directives it sets that are already set elsewhere, whether nginx includes its file inside C(http {}),
    where its upstream includes go, and a snapshot of every file it may write or remove.
  - The configuration is read with nginx's own syntax (escapes, quotes, C(${var}), comments) and strictly, what nginx
    itself refuses (an unterminated quote, unbalanced braces) is an error naming FILE:LINE.
  - Every file is read as a regular file of at most 8 MiB, a FIFO, a device or a directory is refused by what it is,
    never opened blocking. Nothing is written; the role writes.
  - Uses only the Python standard library on the managed host.
author:
  - tlsops.handshake contributors (@tlsops)
extends_documentation_fragment:
  - tlsops.handshake.attributes.info_module
options:
  nginx_binary:
    description:
      - The nginx binary to ask with C(nginx -V), a path or a name looked up in E(PATH).
      - One of O(nginx_binary) and O(conf) is required.
    type: str
  conf:
    description:
      - The main nginx configuration file (an absolute path) to scan.
    type: path
  prefix:
    description:
      - The directory relative C(include) paths are taken from (nginx's conf prefix, the directory of O(conf)).
      - Defaults to the directory of O(conf).
    type: path
  own:
    description: Files the role writes; never reported as duplicates, and may be missing.
    type: list
    elements: path
    default: []
  also_own:
    description: More files of the role (its http-level file when it is not written any more); snapshotted too.
    type: list
    elements: path
    default: []
  own_include:
    description:
      - The role's http-level file; RV(own_included) says whether an C(include) inside C(http {}) matches it.
    type: path
  http:
    description:
      - The directives the role sets at http level, each C(name) or C(name ARG0) (ARG0 compared without case).
    type: list
    elements: str
    default: []
  comment_out:
    description: Return in RV(files) the new content of each file with the duplicates commented out.
    type: bool
    default: false
  marker:
    description: The text put after C(# ) at the start of each commented-out line.
    type: str
    default: "tlsops.handshake.tls_policy: "
  snippets_glob:
    description: The role's snippets; those not in O(own) are returned in RV(stale).
    type: str
  locations:
    description:
      - Upstreams whose C(location) block gets an C(include) of the role's snippet, in a marker block right after
        the line C(location LOCATION {) of O(locations[].file).
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: The upstream's name (in the marker block and in messages).
        type: str
        required: true
      file:
        description: The file holding the location; it must be part of the configuration nginx loads.
        type: path
        required: true
      location:
        description: The location's arguments as written, for example C(/api/) or C(~ ^/app/).
        type: str
        required: true
      include:
        description: The path of the snippet to include.
        type: path
        required: true
      keys:
        description: Directives the snippet sets; set already in that location, they are reported as duplicates.
        type: list
        elements: str
        default: []
  pid_file:
    description: Reported as RV(pid_file_exists).
    type: path
  snippets_dir:
    description: Reported as RV(snippets_dir_exists).
    type: path
notes:
  - The results hold the content of configuration files (RV(files), RV(snapshot)), which may include an inline
    C(data:) private key; the role runs this module with C(no_log).
seealso:
  - module: tlsops.handshake.nginx_tls_info
"""

EXAMPLES = r"""
- name: Ask nginx -V for the version, OpenSSL and paths
  tlsops.handshake.tls_policy_scan:
    nginx_binary: nginx
  register: nginx_facts

- name: Find the directives a policy file would duplicate
  tlsops.handshake.tls_policy_scan:
    conf: /etc/nginx/nginx.conf
    own: [/etc/nginx/conf.d/tlsops_tls_policy.conf]
    own_include: /etc/nginx/conf.d/tlsops_tls_policy.conf
    http: [ssl_protocols, ssl_ciphers, ssl_prefer_server_ciphers]
  register: scan
  no_log: true    # file content
"""

RETURN = r"""
nginx:
  description: What C(nginx -V) says.
  returned: when O(nginx_binary) is given
  type: dict
  contains:
    version:
      description: nginx's version (C(0) when C(nginx -V) names none).
      type: str
      sample: 1.22.1
    openssl_version:
      description: The number of the OpenSSL nginx runs with, else the one it was built with, else C(0).
      type: str
      sample: 3.0.11
    conf_file:
      description: The compiled-in configuration file, made absolute against the compiled-in prefix.
      type: str
      sample: /etc/nginx/nginx.conf
    pid_file:
      description: The compiled-in pid file, made absolute against the compiled-in prefix.
      type: str
      sample: /run/nginx.pid
    prefix:
      description: The compiled-in prefix (C(--prefix)), null when configure had none (nginx then uses /usr/local/nginx).
      type: str
      sample: /usr/share/nginx
    output:
      description: The output of C(nginx -V).
      type: str
ok:
  description: Whether the configuration could be scanned.
  returned: when O(conf) is given
  type: bool
error:
  description: Why not, naming FILE:LINE where there is one; null when RV(ok).
  returned: when O(conf) is given
  type: str
  sample: "/etc/nginx/sites-enabled/app:12: unterminated quoted string: the \" opened here is never closed"
duplicates:
  description: Directives the role sets, already set outside its files at the same level.
  returned: when O(conf) is given
  type: list
  elements: dict
  sample: [{file: /etc/nginx/nginx.conf, line: 31, directive: ssl_protocols TLSv1 TLSv1.1 TLSv1.2, context: http}]
own_included:
  description: Whether an C(include) inside C(http {}) matches O(own_include).
  returned: when O(conf) is given
  type: bool
files:
  description: The new content and mode of each file outside the role's that the role must edit, by path.
  returned: when O(conf) is given
  type: dict
locations:
  description: Where each of O(locations) is, C({name, file, line}).
  returned: when O(conf) is given
  type: list
  elements: dict
stale:
  description: Snippets matched by O(snippets_glob) and not in O(own).
  returned: when O(conf) is given
  type: list
  elements: str
snapshot:
  description: The state of every file the role may write or remove, by path, C({exists, mode, content}) (content in base64).
  returned: when O(conf) is given
  type: dict
pid_file_exists:
  description: Whether O(pid_file) exists.
  returned: when O(conf) is given
  type: bool
snippets_dir_exists:
  description: Whether O(snippets_dir) is a directory.
  returned: when O(conf) is given
  type: bool
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.tlsops.handshake.plugins.module_utils._common.lifeline import exit_with_controller
from ansible_collections.tlsops.handshake.plugins.module_utils._nginx.policy_scan import NginxError, nginx_facts, scan_or_error

_LOCATION = dict(name=dict(type="str", required=True), file=dict(type="path", required=True),
                 location=dict(type="str", required=True), include=dict(type="path", required=True),
                 keys=dict(type="list", elements="str", default=[], no_log=False))


def main():
    module = AnsibleModule(
        argument_spec=dict(
            nginx_binary=dict(type="str"),
            conf=dict(type="path"),
            prefix=dict(type="path"),
            own=dict(type="list", elements="path", default=[]),
            also_own=dict(type="list", elements="path", default=[]),
            own_include=dict(type="path"),
            http=dict(type="list", elements="str", default=[]),
            comment_out=dict(type="bool", default=False),
            marker=dict(type="str", default="tlsops.handshake.tls_policy: "),
            snippets_glob=dict(type="str"),
            locations=dict(type="list", elements="dict", default=[], options=_LOCATION),
            pid_file=dict(type="path"),
            snippets_dir=dict(type="path"),
        ),
        required_one_of=[("nginx_binary", "conf")],
        supports_check_mode=True,
    )
    exit_with_controller()
    result = {}
    if module.params["nginx_binary"]:
        try:
            result["nginx"] = nginx_facts(module.params["nginx_binary"])
        except NginxError as exc:
            module.fail_json(msg=str(exc))
    if module.params["conf"]:
        result.update(scan_or_error(dict((k, v) for k, v in module.params.items() if v is not None)))
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
