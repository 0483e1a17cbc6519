# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""nginx_tls_info's controller-side options, checked: ``policy`` and ``chains``."""

from __future__ import annotations

import re
from typing import Any, Dict, List, Optional, Union

from ansible_collections.tlsops.handshake.plugins.module_utils._tls.names import NGINX_PROTOCOLS
from ansible_collections.tlsops.handshake.plugins.plugin_utils._nginx import effective as eff

POLICY_KEYS = ("protocols", "ciphers", "groups")

# A checked policy: protocols and groups as lists of names, ciphers as an OpenSSL cipher string.
Policy = Dict[str, Union[List[str], str]]


class OptionError(ValueError):
    """A controller-side option (policy, chains, nginx_version) is wrong; the message names it."""


def check_policy(policy: Any) -> Optional[Policy]:
    """``policy`` as ``{protocols: [...], ciphers: str, groups: [...]}`` (missing keys: not checked)."""
    if policy is None:
        return None
    if not isinstance(policy, dict):
        raise OptionError("policy: expected a dict with protocols, ciphers and/or groups, got %r" % (policy,))
    unknown = sorted(set(policy) - set(POLICY_KEYS))
    if unknown:
        raise OptionError("policy: unknown key(s) %s; allowed: %s" % (", ".join(unknown), ", ".join(POLICY_KEYS)))
    out: Policy = {}
    for key in ("protocols", "groups"):
        value = policy.get(key)
        if value is None:
            continue
        if isinstance(value, str):
            value = [v for v in re.split(r"[\s:,]+", value) if v]
        if not isinstance(value, (list, tuple)) or not value or not all(isinstance(v, str) and v for v in value):
            raise OptionError("policy.%s: expected a non-empty list of names, got %r" % (key, value))
        if key == "protocols":
            bad = [v for v in value if v not in NGINX_PROTOCOLS]
            if bad:
                raise OptionError("policy.protocols: unknown protocol(s) %s; choose from %s"
                                  % (", ".join(bad), ", ".join(NGINX_PROTOCOLS)))
            value = eff.sort_protocols(list(dict.fromkeys(value)))
        out[key] = list(value)
    if policy.get("ciphers") is not None:
        if not isinstance(policy["ciphers"], str) or not policy["ciphers"].strip():
            raise OptionError("policy.ciphers: expected an OpenSSL cipher string, got %r" % (policy["ciphers"],))
        out["ciphers"] = policy["ciphers"].strip()
    return out


def chain_intermediates(value: Any, where: str) -> Optional[int]:
    """Intermediates in a chain given as a count, a tls_probe ``chain`` list or a tls_probe result
    (None when it tells nothing: an empty chain)."""
    if isinstance(value, bool):
        raise OptionError("%s: expected a number of intermediates, got %r" % (where, value))
    if isinstance(value, int):
        if value < 0:
            raise OptionError("%s: %d intermediates is negative" % (where, value))
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    if isinstance(value, dict):
        if "intermediates" in value:
            return chain_intermediates(value["intermediates"], where + ".intermediates")
        if "chain" in value:
            return chain_intermediates(value["chain"], where + ".chain")
    if value is None or value == []:
        return None   # nothing known (a probe that got no certificate)
    if isinstance(value, list) and all(isinstance(c, dict) for c in value):
        return sum(1 for c in value[1:] if not c.get("self_issued"))
    raise OptionError("%s: expected a number of intermediate certificates, a tls_probe results[].chain list or a "
                      "tls_probe result, got %r" % (where, value))


def check_chains(chains: Any) -> Dict[str, int]:
    """``chains`` as ``{upstream name or host:port: intermediates}`` (entries that tell nothing dropped)."""
    if chains is None:
        return {}
    if not isinstance(chains, dict):
        raise OptionError("chains: expected a dict {upstream name or host:port: intermediates}, got %r" % (chains,))
    counts = {str(k): chain_intermediates(v, "chains[%s]" % k) for k, v in chains.items()}
    return {k: v for k, v in counts.items() if v is not None}
