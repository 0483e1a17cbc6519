# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""is_ip_literal skips ipaddress for text that cannot be an address: it must still answer as ipaddress
does for any text (the rule it had before: brackets and an IPv6 zone stripped, then ip_address)."""

from __future__ import annotations

import ipaddress

from hypothesis import example, given, strategies as st

from ansible_collections.tlsops.handshake.plugins.module_utils._common import net
from tests.unit.fuzz.fuzzing import examples


def _by_ipaddress_alone(host):
    try:
        ipaddress.ip_address(str(host).strip("[]").split("%", 1)[0])
    except ValueError:
        return False
    return True


def _written(address, brackets, zone):
    text = str(address) + zone
    return "[%s]" % text if brackets else text


hosts = st.one_of(
    st.builds(_written, st.ip_addresses(), st.booleans(), st.sampled_from(["", "%eth0", "%1", "%"])),
    st.builds(_written, st.ip_addresses(v=6).map(lambda a: a.exploded.upper()), st.booleans(), st.just("")),
    st.text(alphabet="0123456789abcdefABCDEFxX.:[]% \t\n", max_size=45),
    st.text(max_size=30),
)


@examples(600)
@given(host=hosts)
@example(host="１２７.0.0.1")        # full-width digits: not an address for ipaddress either
@example(host="::ffff:10.0.0.7")
@example(host="[]")
@example(host="%eth0")
def test_is_ip_literal_answers_as_ipaddress_does(host):
    assert net.is_ip_literal(host) is _by_ipaddress_alone(host)
