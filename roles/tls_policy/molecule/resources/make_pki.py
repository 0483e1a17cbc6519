# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The PKI of the tls_policy molecule scenarios, made fresh on the controller at every prepare.

    make_pki.py DIR

Uses the lab's generator (tests/lab/pki.py). Writes into DIR (keys mode 0600; DIR is under
molecule's ephemeral directory in build/, never committed):

    lab-root.pem                    trust anchor of sni.upstream.test and tls13.upstream.test
    other-root.pem                  the private CA of private.upstream.test (not in lab-root.pem)
    sni.pem/.key, tls13.pem/.key    leaf + lab intermediate
    private.pem/.key                leaf + intermediate of other-root
    proxy.pem/.key                  the proxy's own server certificate (proxy.test)
"""

from __future__ import annotations

import os
import sys

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.realpath(__file__)), *[os.pardir] * 4))
sys.path.insert(0, REPO)

from tests.lab.pki import LabPKI  # noqa: E402  (needs the repo root on sys.path)


def main(directory):
    pki = LabPKI(directory)
    pki.leaf("sni", ["sni.upstream.test"])
    pki.leaf("tls13", ["tls13.upstream.test"])
    pki.leaf("private", ["private.upstream.test"], chain="other")
    pki.leaf("proxy", ["proxy.test"])
    print(directory)


if __name__ == "__main__":
    main(sys.argv[1])
