# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The probe engine: handshake with each upstream the way nginx would and name
the cause of any failure.  Plain Python; the tls_probe module is a thin shell.

Flow per target: resolve, one real handshake through ssl (nginx's settings),
then, only when something failed and ``diagnose`` is on, a few follow-up
handshakes that each change one variable (see _probe_diagnose).
"""

from __future__ import annotations

import functools
import socket
import ssl
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Dict, List, Tuple

from ansible_collections.tlsops.handshake.plugins.module_utils._common import causes, memo
from ansible_collections.tlsops.handshake.plugins.module_utils._common.deadline import DEADLINE_FACTOR, ENUMERATE_FACTOR, Deadline, DeadlineReached
from ansible_collections.tlsops.handshake.plugins.module_utils._probe import diagnose, enumerate as enumerate_, handshake as hs, processes, trace as trace_
from ansible_collections.tlsops.handshake.plugins.module_utils._probe.result_types import ProbeResult, ProbeSummary
from ansible_collections.tlsops.handshake.plugins.module_utils._probe.targets import build_targets
from ansible_collections.tlsops.handshake.plugins.module_utils._tls import wire, x509_lite as x509

DEFAULT_CONCURRENCY = 32


class ProbeRun(object):
    """State of one target's probe: its settings, address, deadline and the evidence so far.

    Every connection of the target (the handshake, the HTTP exchange, each
    follow-up) shares ``self.deadline``: ``timeout`` x DEADLINE_FACTOR from the
    start.  The first handshake gets ``timeout`` of it, as nginx's
    proxy_ssl_handshake_timeout; a follow-up gets at most ``timeout`` of what
    is left, and one that runs out raises DeadlineReached (the diagnosis then
    keeps the cause it had).
    """

    def __init__(self, spec, deadline=None, shared=None):
        self.spec = spec
        self.shared = shared if shared is not None else CallShared()
        self.address: Any = None  # (host, port, ...) of socket.getaddrinfo, once resolved
        self.handshakes = 0
        self._count_lock = threading.Lock()  # the capability scan opens connections from several threads
        self.evidence = []
        self.observed = None  # the OpenSSL error the failing handshake ended with, as nginx would log it
        self.fields = {"host": spec["host"], "port": spec["port"], "server_name": spec.get("server_name")}
        self.deadline = deadline
        self.trace = trace_.Transcript() if spec.get("trace") else None
        if deadline is None:
            self.restart_clock()

    def handshake(self, **kwargs):
        what = "a follow-up handshake" if self.handshakes else "the handshake"
        self.deadline.require(what)
        number = self._count()
        step = self.deadline.sooner(self.spec["timeout"])
        conn = self._trace_connection(_handshake_purpose(number, kwargs))
        listener = None
        if conn is not None:  # the contexts are shared: the transcript listens to this connection only
            if trace_.MSG_CALLBACK:
                listener = conn.msg_callback
            else:
                conn.note(trace_.NO_MSG_CALLBACK)
        out = hs.handshake(self.spec, self.address, step, limit=self.deadline, listener=listener,
                           contexts=self.shared.contexts, **kwargs)
        if conn is not None:
            conn.finish("handshake completed: %s %s" % (out.version, out.cipher) if out.handshake_ok
                        else "ended at %s: %s" % (out.stage, out.error))
        if out.deadline_note:
            self.note(out.deadline_note)
        if number > 1 and out.error_kind in ("timeout", "connect_timeout") and step.seconds < self.spec["timeout"]:
            raise DeadlineReached("%s cut %s short" % (self.deadline.what, what))
        return out

    def hello(self, sni=None, **kwargs):
        """A raw ClientHello/ServerHello exchange (counts as a handshake)."""
        self.deadline.require("a follow-up ClientHello")
        self._count()
        sni = self.spec["sni"] if sni is None else sni
        name = self.spec.get("server_name") if sni else None
        budget = self.deadline.budget(self.spec["timeout"])
        conn = self._trace_connection("follow-up: a raw ClientHello, read up to the server's decision")
        flight = wire.hello(self.address[0], self.address[1], server_name=name, timeout=budget,
                            on_bytes=None if conn is None else conn.wire_bytes, **kwargs)
        if conn is not None:
            conn.finish("the server's answer: %s%s" % (flight.kind, (" (%s)" % flight.error) if flight.error else ""))
        if flight.kind in ("timeout", "connect_timeout") and budget < self.spec["timeout"]:
            raise DeadlineReached("%s cut a follow-up ClientHello short" % self.deadline.what)
        return flight

    def _count(self):
        with self._count_lock:
            self.handshakes += 1
            return self.handshakes

    def note(self, text):
        self.evidence.append(text)

    def _trace_connection(self, purpose):
        return None if self.trace is None else self.trace.connection(purpose)

    def restart_clock(self, factor=DEADLINE_FACTOR, what=None):
        """A fresh deadline of ``timeout`` x ``factor`` (after name resolution; for enumerate)."""
        seconds = self.spec["timeout"] * factor
        self.deadline = Deadline(seconds, "%s (timeout x %d = %.1f s)" % (what or "the target's deadline", factor, seconds))

    def out_of_time(self, exc):
        self.note("%s; the cause found so far stands" % exc)


def _handshake_purpose(number, kwargs):
    if number == 1:
        return "the probe's handshake through ssl, with nginx's settings"
    changed = ", ".join("%s=%s" % (k, kwargs[k]) for k in ("sni", "verify") if k in kwargs)
    return "follow-up handshake through ssl%s" % ((" (%s)" % changed) if changed else "")


def resolve(run):
    """Set ``run.address``; returns an error text when the name does not resolve."""
    spec = run.spec
    address, problem = run.shared.address(spec["host"], spec["port"], spec["timeout"])
    if problem is None:
        run.address = address
    return problem


class CallShared(object):
    """What the targets of one probe_targets call share, each keyed by all it depends on.

    * ``contexts``: one SSLContext per distinct set of TLS settings (handshake.ContextCache), its
      trust store loaded once, when a first connection needs it (or before forking: load_trust_stores);
    * certificates parsed once per distinct DER (a fleet behind one certificate parses it once);
    * one name resolution per (host, port).

    Thread-safe: the parse and address caches only ever gain entries, and two threads that miss at
    once both compute the same value.
    """

    MAX_PARSED = 4096

    def __init__(self):
        self.contexts = hs.ContextCache()
        self._parsed = memo.BoundedMemo(self.MAX_PARSED)      # DER -> parse_certificate's dict, or None
        self._addresses: Dict[Tuple[str, int], _Resolution] = {}
        self._lock = threading.Lock()       # the targets of a call are probed from several threads

    def parse(self, der):
        """parse_certificate(der), or None when it does not parse; the same DER is parsed once."""
        der = bytes(der)
        if der in self._parsed:
            return self._parsed.get(der)
        try:
            cert = x509.parse_certificate(der)
        except ValueError:
            cert = None
        return self._parsed.keep(der, cert)

    def load_trust_stores(self, specs):
        """Load each distinct trust store of ``specs`` now, before the call is dealt out to forked processes:
        every child then has it loaded (the system store costs about 16 ms of CPU, which each child paid
        again).  A store that does not load is left to each target's first connection, which reports it."""
        for spec in specs:
            if spec["verify"]:
                try:
                    self.contexts.entry(spec).ready()
                except (ssl.SSLError, ValueError, OSError):
                    continue

    def address(self, host, port, timeout=None):
        """``(sockaddr, None)`` or ``(None, error text)``; the system resolver asked once per (host, port) and
        waited for at most ``timeout`` seconds: a resolver that does not answer costs resolv.conf's timeouts,
        5 s per try and server by default, which no target's timeout would otherwise bound."""
        key = (host, port)
        with self._lock:
            resolution = self._addresses.get(key)
            if resolution is None:
                resolution = self._addresses[key] = _Resolution(host, port)
        return resolution.wait(timeout)


_ANSWERED = threading.Event()
_ANSWERED.set()


class _Resolution(object):
    """One getaddrinfo() of a name: an address literal at once, a name in a daemon thread that may outlive the
    wait (getaddrinfo cannot be interrupted; the module's end ends it)."""

    def __init__(self, host, port):
        self.host = host
        self.answer: Any = None
        try:
            self.answer = _first_address(host, port, socket.AI_NUMERICHOST)
            self.done = _ANSWERED       # an Event of its own costs more than the address literal's lookup
        except (socket.gaierror, UnicodeError, ValueError):
            self.done = threading.Event()
            threading.Thread(target=self._resolve, args=(host, port), name="tlsops-resolve", daemon=True).start()

    def _resolve(self, host, port):
        try:
            self.answer = _first_address(host, port, 0)
        except (socket.gaierror, UnicodeError, ValueError) as exc:
            self.answer = (None, "could not resolve %s: %s" % (host, exc))
        finally:
            self.done.set()

    def wait(self, timeout):
        if self.done.wait(timeout):
            return self.answer
        return None, "could not resolve %s: the system resolver did not answer within %g s (the target's timeout)" % (
            self.host, timeout)


def _first_address(host, port, flags):
    return socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM, 0, flags)[0][4], None


def _base_result(spec) -> ProbeResult:
    return {
        "target": spec["label"],
        "host": spec["host"],
        "port": spec["port"],
        "server_name": spec.get("server_name"),
        "origin": spec.get("origin"),
        "sni": bool(spec["sni"] and spec.get("server_name")),
        "ok": False,
        "handshake_ok": False,
        "cause": "unknown",
        "detail": "",
        "nginx_error": "",
        "fix": [],
        "raw_error": None,
        "tls": {"version": None, "cipher": None, "group": None, "alpn": None},
        "timing": {"connect_ms": None, "handshake_ms": None},
        "certificate": None,
        "chain": [],
        "verification": {"ok": None, "code": None, "message": None},
        "hostname_match": None,
        "http_status": None,
        "capabilities": None,
        "clock_could_be_cause": None,
        "evidence": [],
        "handshakes": 0,
    }


def _network_cause(out):
    if out.error_kind == "unreachable":     # any other error of connect(): its errno names the cause
        return causes.cause_for_connect_error(out.error)
    return {
        "refused": "connection_refused",
        "connect_timeout": "connect_timeout",
        "timeout": "handshake_timeout",
        "eof": "connection_reset",
        "reset": "connection_reset",
    }.get(out.error_kind)


def _client_cert_refused(out):
    if out.post_error and causes.cause_for_reason(out.post_error) == "client_cert_required":
        return out.post_error
    body = out.http_body or b""
    if out.http_status == 400 and (b"No required SSL certificate was sent" in body
                                   or b"The SSL certificate error" in body):
        said = "No required SSL certificate was sent" if b"No required" in body else "The SSL certificate error"
        return "HTTP 400 from the upstream: %s" % said
    return None


def _fill_details(result: ProbeResult, run, out, healthy=False):
    result["tls"].update({"version": out.version, "cipher": out.cipher, "alpn": out.alpn})
    result["http_status"] = out.http_status
    parse = run.shared.parse
    leaf = parse(out.peer_der) if out.peer_der else None
    chain = [c for c in (parse(d) for d in (out.chain_der or [])) if c]
    if out.details_read:  # the handshake's own messages named the group and held the chain: no follow-up
        group, served = out.group, []
    else:
        group, served = _details_by_follow_up(run, out, need_chain=not chain, healthy=healthy)
    result["tls"]["group"] = group
    if not chain:
        chain = [c for c in (parse(d) for d in served) if c]
    if not chain and leaf:
        chain = [leaf]
        run.note("served chain not readable on this Python without TLS 1.2: reporting the leaf only")
    if leaf is None and chain:
        leaf = chain[0]
    return leaf, chain


# A healthy target costs at most this many connections (tls_probe's RETURN, handshakes).
HEALTHY_CONNECTIONS = 2


def _details_by_follow_up(run, out, need_chain, healthy):
    """Group and chain by raw ClientHellos, where ssl has no message callback; a ``healthy`` target's
    within HEALTHY_CONNECTIONS.

    A TLS 1.3 server needs two (the group from a TLS 1.3 ServerHello, the chain from a TLS 1.2 one);
    with one left, the chain wins: verify_depth is checked against it.
    """
    if not healthy:
        return diagnose.negotiated_details(run, out, need_chain=need_chain)
    left = HEALTHY_CONNECTIONS - run.handshakes
    need_group = out.version != "TLSv1.3" or not need_chain or left >= 2
    if left <= 0 or not (need_chain or need_group):
        run.note("negotiated group/chain not read: a healthy target costs at most %d connections"
                 % HEALTHY_CONNECTIONS)
        return None, []
    if not need_group:
        run.note("negotiated group not read: the one connection left (of %d) read the served chain"
                 % HEALTHY_CONNECTIONS)
    return diagnose.negotiated_details(run, out, need_chain=need_chain, need_group=need_group)


def _verification_cause(result: ProbeResult, run, out, leaf, chain):
    """Name the cause of a certificate verification failure like nginx reports it."""
    code, message = out.verify_code, out.verify_message
    result["verification"] = {"ok": False, "code": code, "message": message}
    cause = causes.VERIFY_CODE_CAUSES.get(code, "unknown")
    fields = run.fields
    fields.update(verify_code=code, verify_message=message)
    ordered = x509.order_chain(chain) if chain else []
    top = ordered[-1] if ordered else None
    if top is not None:
        fields["issuer"] = top["issuer"]
    if cause == "cert_chain_incomplete" and top is not None and len(ordered) > 1 and not top["self_issued"]:
        cause = "cert_untrusted"
        detail = ("the served chain ends at %s, issued by %s, which is not a trusted CA (or the upstream also "
                  "omits another intermediate)" % (top["subject"], top["issuer"]))
    elif cause == "cert_chain_incomplete" and top is not None:
        if len(ordered) == 1:
            # nginx's verify callback lets OpenSSL go on, so it ends at 21 for a leaf served alone
            code, message = 21, "unable to verify the first certificate"
            result["verification"] = {"ok": False, "code": code, "message": message}
            fields.update(verify_code=code, verify_message=message)
        aia = ", ".join(top.get("aia_ca_issuers") or []) or "no AIA URL"
        detail = "the upstream serves %s without its issuer %s (%s)" % (top["subject"], top["issuer"], aia)
    elif cause in ("cert_expired", "cert_not_yet_valid"):
        cause, detail = _validity_cause(run, result, cause, ordered or ([leaf] if leaf else []), message)
    elif cause == "cert_untrusted" and leaf is not None:
        detail = "%s is issued by %s, which is not in the trust store%s" % (
            leaf["subject"], leaf["issuer"], " (self-signed)" if leaf["self_issued"] else "")
    else:
        detail = message or ""
    return cause, "certificate verification failed (%s:%s): %s" % (code, message, detail)


def _iso(epoch):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def _validity_cause(run, result: ProbeResult, cause, certs, message):
    """Which certificate is out of its validity, and is the clock to blame?

    With ``clock_offset_ms`` (time_sync_info's offset: true time minus this
    host's clock) a certificate that is valid at the corrected time is a clock
    problem, not a certificate problem: cause ``clock_skew``.
    """
    now = _iso(time.time())

    def out_of_validity(cert, at):
        return cert["not_after"] < at if cause == "cert_expired" else cert["not_before"] > at

    bad = [c for c in certs if out_of_validity(c, now)]
    cert = bad[0] if bad else (certs[0] if certs else None)
    if cert is None:
        return cause, message
    run.fields.update(not_after=cert["not_after"], not_before=cert["not_before"])
    detail = "%s is valid from %s to %s" % (cert["subject"], cert["not_before"], cert["not_after"])
    offset_ms = run.spec.get("clock_offset_ms")
    if offset_ms is None:
        return cause, detail
    corrected = _iso(time.time() + offset_ms / 1000.0)
    result["clock_could_be_cause"] = not any(out_of_validity(c, corrected) for c in certs)
    if not result["clock_could_be_cause"]:
        return cause, detail + "; it is out of validity by the corrected clock too (%s)" % corrected
    run.fields.update(skewed_host="this proxy", offset_s=round(offset_ms / 1000.0, 1),
                      clock_effect="expired" if cause == "cert_expired" else "not yet valid")
    return "clock_skew", ("%s; by the NTP-corrected time %s (this clock is off by %.1f s) it is valid: the "
                          "clock is wrong, not the certificate" % (detail, corrected, offset_ms / 1000.0))


def _count_intermediates(chain):
    ordered = x509.order_chain(chain) if chain else []
    inner = [c for c in ordered[1:] if not c["self_issued"]]
    return len(inner)


def _finish(result: ProbeResult, run, cause, detail, raw=None) -> ProbeResult:
    result["cause"] = cause
    result["detail"] = detail
    if raw:
        result["raw_error"] = raw
        run.fields.setdefault("raw_error", raw)
    result["nginx_error"], result["fix"] = causes.render(cause, observed=run.observed, **run.fields)
    if cause == "ok":
        result["fix"] = []
    result["evidence"] = run.evidence
    result["handshakes"] = run.handshakes
    if run.trace is not None:
        result["trace"], result["trace_text"] = run.trace.result()
    return result


def probe_one(spec, shared=None) -> ProbeResult:
    """Probe one target (a dict from build_targets) and return its result dict.

    ``shared`` (a CallShared) is what the targets of one call share; a fresh one by default."""
    run = ProbeRun(spec, shared=shared)
    result = _base_result(spec)
    problem = resolve(run)
    if problem:
        return _finish(result, run, "dns_failure", problem, raw=problem)
    run.restart_clock()  # the deadline counts from here: name resolution had its own bound, the timeout
    out = run.handshake()
    result["timing"] = {"connect_ms": out.connect_ms, "handshake_ms": out.handshake_ms}
    if out.error_kind == "verify":
        return _after_verify_failure(result, run, out)
    if not out.handshake_ok:
        return _after_handshake_failure(result, run, out)
    refused = _wire_only_refusal(run)
    if refused is not None:
        run.observed = refused.error
        cause, detail = diagnose.after_failure(run, refused, causes.cause_for_reason(refused.error))
        return _finish(result, run, cause, detail, raw=refused.error)
    return _after_handshake(result, run, out)


def _after_verify_failure(result: ProbeResult, run, out) -> ProbeResult:
    """nginx completes the handshake and then logs the verify error: do the same
    handshake without verification for the details, then name the cause."""
    spec = run.spec
    result["verification"] = {"ok": False, "code": out.verify_code, "message": out.verify_message}
    try:
        details = run.handshake(verify=False)
    except DeadlineReached as exc:
        run.out_of_time(exc)
        details = hs.Outcome()
    leaf, chain = None, []
    if details.handshake_ok:
        result["handshake_ok"] = True
        leaf, chain = _fill_details(result, run, details)
        _set_certs(result, leaf, chain, spec)
        refused = _client_cert_refused(details)
        if refused:
            run.note("with verification off the upstream then refused: %s" % refused)
    cause, detail = _verification_cause(result, run, out, leaf, chain)
    if cause == "hostname_mismatch" or (cause == "cert_untrusted" and spec["diagnose"]):
        cause, detail = diagnose.sni_changes_things(run, out, cause, detail)
    return _finish(result, run, cause, detail, raw=out.error)


def _after_handshake_failure(result: ProbeResult, run, out) -> ProbeResult:
    spec = run.spec
    cause = _network_cause(out) or causes.cause_for_reason(out.error)
    if out.error_kind == "ssl":
        run.observed = out.error
    elif out.error_kind == "reset":
        run.fields["reset_errno"] = " (104: Connection reset by peer)"
    if out.error_kind in ("refused", "connect_timeout", "unreachable"):
        return _finish(result, run, cause, "%s:%d: %s" % (spec["host"], spec["port"], out.error), raw=out.error)
    detail = out.error
    if spec["diagnose"]:
        cause, detail = diagnose.after_failure(run, out, cause)
    return _finish(result, run, cause, detail, raw=out.error)


def _after_handshake(result: ProbeResult, run, out) -> ProbeResult:
    """The handshake worked: collect details, then apply nginx's post-handshake checks."""
    spec = run.spec
    result["handshake_ok"] = True
    leaf, chain = _fill_details(result, run, out, healthy=True)
    _set_certs(result, leaf, chain, spec)
    if spec["verify"]:
        result["verification"] = {"ok": True, "code": 0, "message": "ok"}
    refused = _client_cert_refused(out)
    if refused:
        return _finish(result, run, "client_cert_required",
                       "the handshake completed but the upstream then refused the connection: %s" % refused,
                       raw=refused)
    if spec["verify"]:
        depth = spec.get("verify_depth")
        intermediates = _count_intermediates(chain)
        if depth is not None and intermediates > depth:
            # what nginx 1.22 / OpenSSL 3.0 report when the depth cuts the chain short
            result["verification"] = {"ok": False, "code": 20, "message": "unable to get local issuer certificate"}
            run.fields.update(intermediates=intermediates, suggested_depth=intermediates)
            return _finish(result, run, "verify_depth_exceeded",
                           "the chain holds %d intermediate certificate(s) but verify_depth is %d (OpenSSL and nginx "
                           "count intermediates)" % (intermediates, depth),
                           raw="certificate verify failed (20:unable to get local issuer certificate)")
        if result["hostname_match"] is False:
            run.fields["sans"] = ", ".join((leaf or {}).get("san_dns") or []) or "none"
            cause, detail = diagnose.sni_changes_things(
                run, out, "hostname_mismatch",
                "the certificate (%s) does not cover %s" % (run.fields["sans"], _check_name(spec)))
            return _finish(result, run, cause, detail)
    result["ok"] = True
    if spec["enumerate"]:
        # opt-in and one ClientHello per accepted item: its own, documented budget
        run.restart_clock(ENUMERATE_FACTOR, "the capability scan's budget")
        result["capabilities"] = enumerate_.capabilities(run, spec["enumerate"])
    detail = "%s %s%s" % (out.version, out.cipher, (", ALPN " + out.alpn) if out.alpn else "")
    return _finish(result, run, "ok", detail)


def _needs_wire_check(spec):
    """Settings Python's ssl cannot put on the real handshake: check them with a raw ClientHello."""
    return bool(spec.get("sigalgs") or spec.get("ciphersuites") or len(spec.get("groups") or ()) > 1)


def _wire_only_refusal(run):
    """Offer exactly the target's settings in a raw ClientHello; an Outcome when the server refuses."""
    if not _needs_wire_check(run.spec):
        return None
    try:
        flight = run.hello(**diagnose.offer(run.spec))
    except DeadlineReached as exc:
        run.out_of_time(exc)
        return None
    if diagnose.accepted(flight):
        return None
    refused = hs.Outcome()
    number = getattr(flight, "alert_description", None)
    refused.error_kind = "ssl"
    refused.error = causes.alert_text(number) if number is not None else (flight.error or flight.kind)
    run.note("the settings ssl cannot express (groups/sigalgs/ciphersuites), offered in a raw ClientHello: %s"
             % refused.error)
    return refused


def _check_name(spec):
    return spec.get("server_name") or spec["host"]


def _set_certs(result: ProbeResult, leaf, chain, spec):
    if leaf:
        result["certificate"] = x509.public_view(leaf)
        result["hostname_match"] = x509.hostname_matches(leaf, _check_name(spec), allow_trailing_dot=False)
    result["chain"] = [x509.public_view(c) for c in chain]


def summarize(results: List[ProbeResult], processes=1) -> ProbeSummary:
    by_cause: Dict[str, int] = {}
    for r in results:
        by_cause[r["cause"]] = by_cause.get(r["cause"], 0) + 1
    ok = sum(1 for r in results if r["ok"])
    return {"total": len(results), "ok": ok, "failed": len(results) - ok, "by_cause": by_cause, "processes": processes}


def _safe_probe(spec, shared=None) -> ProbeResult:
    try:
        return probe_one(spec, shared)
    except Exception as exc:  # pylint: disable=broad-except
        # One odd target must never sink the other 499: report it as unknown.
        result = _base_result(spec)
        run = ProbeRun(spec)
        return _finish(result, run, "unknown", "internal probe error: %r" % exc, raw=repr(exc))


def probe_targets(targets, defaults=None, concurrency=DEFAULT_CONCURRENCY, warn=None,
                  max_connections_per_server=enumerate_.DEFAULT_CONNECTIONS_PER_SERVER,
                  workers=1) -> Tuple[List[ProbeResult], ProbeSummary]:
    """Probe every target; returns ``(results, summary)`` with results in input order.

    Raises ProbeConfigError for parameters that can never work, before any
    connection.  ``warn`` (the module's warn) is told when verification is off.
    ``max_connections_per_server`` bounds the connections one target's capability scan has open at once.
    ``workers`` > 1 lets a large call be probed by up to that many processes (see processes.py);
    ``concurrency`` bounds the connections of the whole call either way.
    """
    width = enumerate_.connections_per_server(max_connections_per_server)
    specs = build_targets(targets, defaults or {})
    for spec in specs:
        spec["max_connections_per_server"] = width
    unverified = [s["label"] for s in specs if not s["verify"]]
    if unverified and warn is not None:
        warn(VERIFY_OFF_WARNING % (len(unverified), len(specs), ", ".join(unverified[:10])
                                   + (", ..." if len(unverified) > 10 else "")))
    concurrency = max(1, min(int(concurrency or DEFAULT_CONCURRENCY), 256))
    count = processes.processes_for(len(specs), concurrency, workers)
    if count > 1:
        shared = CallShared()
        shared.load_trust_stores(specs)
        results = processes.probe_in_processes(specs, concurrency, count, functools.partial(_probe_all, shared=shared))
    else:
        results = _probe_all(specs, concurrency)
    return results, summarize(results, count)


def _probe_all(specs, concurrency, shared=None):
    """Every spec's result, in order, ``concurrency`` at a time; one CallShared for the whole call (process)."""
    shared = CallShared() if shared is None else shared
    workers = max(1, min(int(concurrency or DEFAULT_CONCURRENCY), len(specs), 256))
    if workers == 1:
        return [_safe_probe(spec, shared) for spec in specs]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(functools.partial(_safe_probe, shared=shared), specs))


VERIFY_OFF_WARNING = ("verify is false for %d of %d target(s) (%s): their certificates are not checked, so an "
                      "expired, self-signed, untrusted or wrong-name certificate is reported ok. nginx with "
                      "proxy_ssl_verify off accepts them the same way; verify: true shows what it hides.")
