# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The decisions of the tls_policy role: its variables resolved into directives, and the gate's probe targets.

``resolve(variables, nginx_version, openssl_version, ...)`` turns the role's ``tls_policy_*``
variables into the document every later task uses (``__tls_policy``): the server-side lines (the
profile, groups the OpenSSL nginx runs with knows, the session-ticket default of the nginx
version), the http-level upstream lines, each upstream's lines and the settings the gate probes
with.  ``probe_pairs(resolved, snapshot, ...)`` gives the gate's ``{before, after}`` tls_probe
targets: before from the state line the role wrote last time (else nginx's own defaults for its
version), after from the new policy; server name and SNI follow nginx's rule for IP literals, the
one nginx_tls_info's probe targets apply.

The roles call them through the ``tls_policy_resolve`` and ``tls_policy_probe_targets`` filters;
the templates only render what ``resolve`` returns.  Plain Python, controller side.
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any, Dict

from ansible_collections.tlsops.handshake.plugins.plugin_utils._nginx import effective as eff, targets as nginx_targets
from ansible_collections.tlsops.handshake.plugins.plugin_utils._roles.config_values import as_int

# Mozilla server-side TLS guideline 6.0 (ssl-config.mozilla.org).  "groups" lists the post-quantum
# hybrid first; it is dropped when nginx runs with an OpenSSL older than PQ_GROUPS_OPENSSL.
_MOZILLA_GROUPS = ("X25519MLKEM768", "X25519", "prime256v1", "secp384r1")
PROFILES: Dict[str, Dict[str, Any]] = {
    "modern": {"protocols": ("TLSv1.3",), "ciphers": "", "groups": _MOZILLA_GROUPS, "prefer_server_ciphers": False},
    "intermediate": {
        "protocols": ("TLSv1.2", "TLSv1.3"),
        "ciphers": "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
                   "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305",
        "groups": _MOZILLA_GROUPS, "prefer_server_ciphers": False},
    "custom": {"protocols": (), "ciphers": "", "groups": (), "prefer_server_ciphers": None},
}
# Groups that need OpenSSL 3.5 or newer.
PQ_GROUPS = ("X25519MLKEM768", "SecP256r1MLKEM768", "SecP384r1MLKEM1024", "MLKEM512", "MLKEM768", "MLKEM1024")
PQ_GROUPS_OPENSSL = (3, 5, 0)
# nginx 1.23.2 rotates session ticket keys itself; before it, tickets reuse one key for the workers' life.
TICKET_KEY_ROTATION_NGINX = (1, 23, 2)

# Per-upstream keys and the public variables that give their defaults.
UPSTREAM_KEYS = (
    ("server_name_indication", "tls_policy_upstream_server_name"),
    ("protocols", "tls_policy_upstream_protocols"),
    ("ciphers", "tls_policy_upstream_ciphers"),
    ("groups", "tls_policy_upstream_groups"),
    ("verify", "tls_policy_upstream_verify"),
    ("trusted_certificate", "tls_policy_upstream_trusted_certificate"),
    ("verify_depth", "tls_policy_upstream_verify_depth"),
    ("certificate", "tls_policy_upstream_certificate"),
    ("certificate_key", "tls_policy_upstream_certificate_key"),
    ("session_reuse", "tls_policy_upstream_session_reuse"),
)
# What nginx does for an upstream no policy covers, besides its protocols (which follow its version).
_NGINX_UPSTREAM_DEFAULTS = {"sni": False, "server_name": "", "ciphers": "", "groups": [], "verify": False,
                            "ca_file": "", "verify_depth": None, "client_cert": "", "client_key": ""}
_BARE = re.compile(r"[^\s;{}#\"'\\]+")


class PolicyError(ValueError):
    """A value the role cannot resolve; the message names it."""


def _version(text, what):
    version = eff.parse_version(text)
    if version is None:
        raise PolicyError("%s %r is not a version (such as 1.22.1): the role reads it from nginx -V" % (what, text))
    return version


def _openssl_version(text):
    """OpenSSL's version as a tuple; an unreadable one counts as old (the post-quantum groups are dropped)."""
    return eff.parse_version(text) or (0, 0, 0)


def nginx_default_settings(nginx_version):
    """The settings nginx ``nginx_version`` uses for an upstream no policy covers (what the gate probes
    with when the role has not written a policy before)."""
    return dict(_NGINX_UPSTREAM_DEFAULTS, protocols=eff.default_protocols(_version(nginx_version, "nginx_version")))


def quote(value):
    """``value`` as one nginx argument: bare when nginx reads it as one word, else double-quoted and escaped."""
    text = str(value)
    if _BARE.fullmatch(text):
        return text
    return '"%s"' % text.replace("\\", "\\\\").replace('"', '\\"')


def _onoff(flag):
    return "on" if flag else "off"


def _lines(entries):
    return [{"key": key, "line": line + ";"} for key, line in entries if line]


def _words(values, sep):
    return sep.join(str(v) for v in values)


def _usable_groups(groups, unsupported):
    return [g for g in groups if g not in unsupported]


def server_lines(variables, nginx_version, unsupported):
    """The http-level server-side directives (``[{key, line}]``) of the profile and the overrides."""
    v = variables
    profile = PROFILES[v["tls_policy_profile"]]
    protocols = v["tls_policy_protocols"] or profile["protocols"]
    ciphers = v["tls_policy_ciphers"] or profile["ciphers"]
    groups = _usable_groups(v["tls_policy_groups"] or profile["groups"], unsupported)
    prefer = profile["prefer_server_ciphers"] if v["tls_policy_prefer_server_ciphers"] is None \
        else v["tls_policy_prefer_server_ciphers"]
    tickets = session_tickets(v["tls_policy_session_tickets"], nginx_version)
    hsts = "max-age=%s%s%s" % (v["tls_policy_hsts_max_age"],
                               "; includeSubDomains" if v["tls_policy_hsts_include_subdomains"] else "",
                               "; preload" if v["tls_policy_hsts_preload"] else "")
    cache, timeout = v["tls_policy_session_cache"], v["tls_policy_session_timeout"]
    stapling, resolvers = v["tls_policy_ocsp_stapling"], v["tls_policy_resolvers"]
    return _lines([
        ("ssl_protocols", "ssl_protocols " + _words(protocols, " ")),
        ("ssl_ciphers", "ssl_ciphers " + quote(ciphers) if ciphers else ""),
        ("ssl_ecdh_curve", "ssl_ecdh_curve " + _words(groups, ":") if groups else ""),
        ("ssl_prefer_server_ciphers", "ssl_prefer_server_ciphers " + _onoff(prefer) if prefer is not None else ""),
        ("ssl_session_cache", "ssl_session_cache " + quote(cache) if cache else ""),
        ("ssl_session_timeout", "ssl_session_timeout " + quote(timeout) if timeout else ""),
        ("ssl_session_tickets", "ssl_session_tickets " + _onoff(tickets) if tickets is not None else ""),
        ("ssl_stapling", "ssl_stapling on" if stapling else ""),
        ("ssl_stapling_verify", "ssl_stapling_verify on" if stapling else ""),
        ("resolver", "resolver " + _words(resolvers, " ") if resolvers else ""),
        ("add_header Strict-Transport-Security",
         'add_header Strict-Transport-Security "%s" always' % hsts if v["tls_policy_hsts"] else ""),
    ])


def session_tickets(given, nginx_version):
    """``ssl_session_tickets``: as given; else off where nginx never rotates the ticket key; else nginx's default
    (None: not written)."""
    if given is not None:
        return given
    return False if _version(nginx_version, "nginx_version") < TICKET_KEY_ROTATION_NGINX else None


def upstream_lines(u, with_name):
    """The ``proxy_ssl_*`` directives of upstream settings ``u`` (``proxy_ssl_name`` only in a snippet)."""
    return _lines([
        ("proxy_ssl_server_name", "proxy_ssl_server_name " + _onoff(u["server_name_indication"])),
        ("proxy_ssl_name", "proxy_ssl_name " + quote(u["server_name"]) if with_name and u["server_name"] else ""),
        ("proxy_ssl_protocols", "proxy_ssl_protocols " + _words(u["protocols"], " ")),
        ("proxy_ssl_ciphers", "proxy_ssl_ciphers " + quote(u["ciphers"]) if u["ciphers"] else ""),
        ("proxy_ssl_conf_command Groups", "proxy_ssl_conf_command Groups " + _words(u["groups"], ":") if u["groups"] else ""),
        ("proxy_ssl_verify", "proxy_ssl_verify " + _onoff(u["verify"])),
        ("proxy_ssl_trusted_certificate",
         "proxy_ssl_trusted_certificate " + quote(u["trusted_certificate"]) if u["trusted_certificate"] else ""),
        ("proxy_ssl_verify_depth", "proxy_ssl_verify_depth %s" % (u["verify_depth"],)),
        ("proxy_ssl_session_reuse", "proxy_ssl_session_reuse " + _onoff(u["session_reuse"])),
        ("proxy_ssl_certificate", "proxy_ssl_certificate " + quote(u["certificate"]) if u["certificate"] else ""),
        ("proxy_ssl_certificate_key",
         "proxy_ssl_certificate_key " + quote(u["certificate_key"]) if u["certificate_key"] else ""),
    ])


def probe_settings(u):
    """What the gate probes upstream settings ``u`` with (and the state line of the file that writes them)."""
    return {"sni": u["server_name_indication"], "server_name": u["server_name"] or "", "protocols": u["protocols"],
            "ciphers": u["ciphers"], "groups": u["groups"], "verify": u["verify"],
            "ca_file": u["trusted_certificate"] if u["verify"] else "",
            "verify_depth": u["verify_depth"] if u["verify"] else None,
            "client_cert": u["certificate"], "client_key": u["certificate_key"]}


def _upstream(defaults, given, unsupported, snippet):
    u = dict(defaults)
    u.update({k: v for k, v in given.items() if v is not None})
    host = given.get("host") or ""
    probe = given.get("probe")
    u.update({"groups": _usable_groups(u["groups"], unsupported),
              "port": as_int(given.get("port") or 443),
              "host": host,
              "location_file": given.get("location_file") or "",
              "location": given.get("location") or "",
              "probe": (probe if probe is not None else True) and len(host) > 0,
              "snippet": snippet})
    u.update({"lines": upstream_lines(u, True), "settings": probe_settings(u)})
    return u


def _required(variables, name):
    if name not in variables:
        raise PolicyError("the role variable %s is missing from the filter's input" % name)
    return variables[name]


def resolve(variables, nginx_version, openssl_version, conf_name, snippet_prefix):
    """The role's ``__tls_policy``: ``{server_lines, upstream_lines, upstream_defaults, upstream_settings,
    upstreams, conf}`` from ``variables`` ({tls_policy_*: value}) and the versions nginx -V gave."""
    v = {name: _required(variables, name) for name in INPUTS}
    if v["tls_policy_profile"] not in PROFILES:
        raise PolicyError("tls_policy_profile %r is not one of %s" % (v["tls_policy_profile"], ", ".join(PROFILES)))
    unsupported = PQ_GROUPS if _openssl_version(openssl_version) < PQ_GROUPS_OPENSSL else ()
    server = server_lines(v, nginx_version, unsupported) if v["tls_policy_manage_server"] else []
    defaults = {key: v[var] for key, var in UPSTREAM_KEYS}
    defaults.update(groups=_usable_groups(defaults["groups"], unsupported), server_name="")
    upstreams = []
    for index, given in enumerate(v["tls_policy_upstreams"] or ()):
        if not isinstance(given, dict) or "name" not in given:
            raise PolicyError("tls_policy_upstreams[%d] is not a dict with a name" % index)
        snippet = "%s/%s%s.conf" % (v["tls_policy_snippets_dir"], snippet_prefix, given["name"])
        upstreams.append(_upstream(defaults, given, unsupported, snippet))
    return {"server_lines": server,
            "upstream_lines": upstream_lines(defaults, False) if v["tls_policy_manage_upstreams"] else [],
            "upstream_defaults": defaults,
            "upstream_settings": probe_settings(defaults),
            "upstreams": upstreams,
            "conf": "%s/%s" % (v["tls_policy_conf_dir"], conf_name)}


# The role variables resolve() reads (the filter's input holds at least these).
INPUTS = (
    "tls_policy_manage_server", "tls_policy_profile", "tls_policy_protocols", "tls_policy_ciphers",
    "tls_policy_groups", "tls_policy_prefer_server_ciphers", "tls_policy_session_cache",
    "tls_policy_session_timeout", "tls_policy_session_tickets", "tls_policy_ocsp_stapling", "tls_policy_resolvers",
    "tls_policy_hsts", "tls_policy_hsts_max_age", "tls_policy_hsts_include_subdomains", "tls_policy_hsts_preload",
    "tls_policy_manage_upstreams", "tls_policy_upstreams", "tls_policy_conf_dir", "tls_policy_snippets_dir",
) + tuple(var for dummy, var in UPSTREAM_KEYS)


# --------------------------------------------------------------------------- the gate's probe targets

def recorded_settings(snapshot, path, state_tag, key=None):
    """The settings the state line of ``path`` in ``snapshot`` ({path: {content: base64}}) records (under
    ``key`` when given: the http-level file records ``{"upstream": settings}``), or None when the file has no
    state line (the role did not write it, or it is absent)."""
    content = (snapshot.get(path) or {}).get("content") or ""
    text = base64.b64decode(content).decode("utf-8", errors="replace")
    found = re.search("^%s(.*)$" % re.escape(state_tag), text, re.MULTILINE)
    if not found:
        return None
    try:
        settings = json.loads(found.group(1))
    except ValueError:
        settings = None
    if key is not None and isinstance(settings, dict):
        settings = settings.get(key)
    if not isinstance(settings, dict):
        raise PolicyError("%s: the line %r is not the settings the role records there; restore the file the role "
                          "wrote or remove the line" % (path, found.group(0)[:100]))
    return settings


def probe_target(upstream, settings):
    """A tls_probe target for ``upstream`` ({name, host, port}) with probe ``settings``.

    The server name and SNI follow nginx: ``proxy_ssl_name`` (else the host) is the name checked, and
    no SNI goes out for an IP literal - the rule of nginx_tls_info's probe targets.
    """
    s = settings
    server_name, sni = nginx_targets.server_name_and_sni(s.get("server_name"), upstream["host"], s.get("sni"))
    target = {"name": upstream["name"], "host": upstream["host"], "port": upstream["port"]}
    if server_name:
        target["server_name"] = server_name
    target.update(sni=sni, protocols=s.get("protocols"), verify=s.get("verify"))
    if s.get("ciphers"):
        target["ciphers"] = s["ciphers"]
    if s.get("groups"):
        target["groups"] = s["groups"]
    if s.get("verify") and s.get("ca_file"):
        target["ca_file"] = s["ca_file"]
    if s.get("verify") and s.get("verify_depth") is not None:
        target["verify_depth"] = s["verify_depth"]
    if s.get("client_cert"):
        target.update(client_cert=s["client_cert"], client_key=s.get("client_key"))
    return target


def probe_pairs(resolved, snapshot, state_tag, nginx_version):
    """``[{before, after}]`` tls_probe targets of every upstream the gate probes.

    Before: the settings the upstream's snippet recorded last time, else those of the http-level file, else
    nginx's own defaults for ``nginx_version``.  After: the new policy's.
    """
    snapshot = snapshot or {}
    conf = recorded_settings(snapshot, resolved["conf"], state_tag, key="upstream")
    if conf is None:
        conf = nginx_default_settings(nginx_version)
    pairs = []
    for upstream in resolved["upstreams"]:
        if not upstream["probe"]:
            continue
        before = recorded_settings(snapshot, upstream["snippet"], state_tag) or conf
        pairs.append({"before": probe_target(upstream, before), "after": probe_target(upstream, upstream["settings"])})
    return pairs
