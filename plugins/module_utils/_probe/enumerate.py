# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Capability scan of one server by elimination.

Offer many, remove what the server picks, repeat until it refuses: a scan
costs (accepted items + 1) ClientHellos per list instead of one per
candidate.  Groups are scanned with an empty key_share so a TLS 1.3 server
names its choice in a HelloRetryRequest without any key exchange.

Each answer costs a round trip, so the independent parts run at once: the
version probes, each version's suites, the groups.  A list whose server
accepts something is split into disjoint partitions (interleaved, so the
likely suites spread over them) that are eliminated concurrently: a list
starts as one partition and, once the server accepted two of its items, a
partition splits in two after each item the server accepts from it, so a list
costs at most max(1, min(width, accepted)) refusals.
Each version's probe is the first round of its cipher list.  At most
``width`` connections to the server are open at any time (a semaphore around
every connection); width 1 is the sequential scan.

Results do not depend on the width: every list is reported in the order the
probe offers its candidates (wire's lists), which is also the order a server
that follows the client's preference (nginx's default) picks them in.
"""

from __future__ import annotations

import functools
import threading
from typing import Any, Callable, Dict, List, Tuple

from ansible_collections.tlsops.handshake.plugins.module_utils._common.deadline import DeadlineReached
from ansible_collections.tlsops.handshake.plugins.module_utils._probe.diagnose import accepted
from ansible_collections.tlsops.handshake.plugins.module_utils._probe.targets import ProbeConfigError
from ansible_collections.tlsops.handshake.plugins.module_utils._tls import wire, x509_lite as x509
from ansible_collections.tlsops.handshake.plugins.module_utils._tls.names import TLS_VERSIONS

# A bound on elimination rounds per partition, so a server that keeps accepting
# garbage cannot keep the probe busy.
_MAX_ROUNDS = 200

DEFAULT_CONNECTIONS_PER_SERVER = 8
MAX_CONNECTIONS_PER_SERVER = 64
# a list is split into partitions only once the server accepted this many of its items
SPLIT_AFTER = 2


def connections_per_server(value, where="max_connections_per_server"):
    """``value`` as an int in 1..MAX_CONNECTIONS_PER_SERVER, or ProbeConfigError naming ``where``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ProbeConfigError("%s: expected a whole number, got %r" % (where, value))
    if not 1 <= value <= MAX_CONNECTIONS_PER_SERVER:
        raise ProbeConfigError("%s: %d is out of range; use 1 (one connection at a time) to %d"
                               % (where, value, MAX_CONNECTIONS_PER_SERVER))
    return value


class _Scan(object):
    """One target's scan: the connection bound shared by all its lists."""

    def __init__(self, run, width, with_ciphers=True):
        self.run = run
        self.width = width
        self.with_ciphers = with_ciphers
        self._slots = threading.BoundedSemaphore(width)

    def hello(self, **kwargs):
        with self._slot():
            return self.run.hello(**kwargs)

    def handshake(self, **kwargs):
        with self._slot():
            return self.run.handshake(**kwargs)

    def _slot(self):
        # waiting for a slot never outlasts the scan's budget
        if not self._slots.acquire(timeout=max(0.0, self.run.deadline.remaining())):
            raise DeadlineReached("%s was reached while waiting for a connection slot" % self.run.deadline.what)
        return _Release(self._slots)

    def tasks(self):
        return _Tasks(self.width == 1)

    def run_all(self, functions):
        """Call each of ``functions`` at once and wait; {name: result}, DeadlineReached kept as its value."""
        results = {}

        def one(name, function):
            try:
                results[name] = function()
            except DeadlineReached as exc:
                results[name] = exc

        tasks = self.tasks()
        for name, function in functions:
            tasks.spawn(one, name, function)
        tasks.wait()
        return results


class _Tasks(object):
    """Functions running at once, each in a thread (inline when ``inline``); ``wait`` joins them all."""

    def __init__(self, inline):
        self.inline = inline
        self._lock = threading.Lock()
        self._threads = []
        self._errors = []

    def spawn(self, function, *args):
        if self.inline:
            function(*args)
            return
        thread = threading.Thread(target=self._guarded, args=(function, args), name="tlsops-enumerate", daemon=True)
        with self._lock:
            self._threads.append(thread)
        thread.start()

    def _guarded(self, function, args):
        try:
            function(*args)
        except BaseException as exc:  # pylint: disable=broad-except
            with self._lock:
                self._errors.append(exc)

    def wait(self):
        """Join every thread spawned so far, and those they spawned; re-raise the first error."""
        while True:
            with self._lock:
                pending = [t for t in self._threads if t.is_alive()]
                if not pending:
                    errors, self._errors = self._errors, []
                    break
            for thread in pending:
                thread.join()
        if errors:
            real = [e for e in errors if not isinstance(e, DeadlineReached)]
            raise (real or errors)[0]


class _Release(object):
    def __init__(self, semaphore):
        self._semaphore = semaphore

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._semaphore.release()
        return False


class _Elimination(object):
    """One list eliminated over partitions; the found items in the order of ``candidates``.

    Once the server accepted SPLIT_AFTER items of the list, a partition splits in two (interleaved) after
    each item the server accepts from it, while the list has fewer than ``width`` partitions: each
    partition ends with at most one refusal, so a list costs its accepted items + at most
    min(width, accepted) refusals (1 when it accepted at most one).  (Measured at +20 ms RTT: splitting wider, or again
    once partitions ended, saved no time worth its extra refusals.)
    """

    def __init__(self, scan, candidates, offer, chosen):
        self.scan = scan
        self.candidates = list(candidates)
        self.order = {c: i for i, c in enumerate(self.candidates)}
        self.offer = offer      # remaining candidates -> hello kwargs
        self.chosen = chosen    # flight -> the candidate the server picked (None when it refused)
        self.found = []
        self.partitions = 1
        self.stopped = False
        self._lock = threading.Lock()
        self._tasks = scan.tasks()

    def run(self, first=None):
        """Eliminate; ``first`` is the flight of an already sent first round (the full list offered)."""
        if self.candidates:
            self._tasks.spawn(self._eliminate, list(self.candidates), first)
            self._tasks.wait()
        return sorted(self.found, key=self.order.__getitem__)

    def _split(self, remaining):
        """Half of ``remaining`` for a new partition, when the list may have one more."""
        if len(remaining) < 2:
            return None
        with self._lock:
            # a list that showed one item only is not split: a server that accepts one group or one suite
            # costs what the sequential scan costs
            if self.partitions >= self.scan.width or len(self.found) < SPLIT_AFTER:
                return None
            self.partitions += 1
        other = remaining[1::2]
        del remaining[1::2]
        return other

    def _eliminate(self, remaining, flight=None):
        for _round in range(_MAX_ROUNDS):
            if not remaining or self.stopped:
                return
            if flight is None:
                flight = self.scan.hello(**self.offer(remaining))
            pick, flight = self.chosen(flight), None
            if pick is None:
                return
            if pick not in remaining:
                with self._lock:
                    if not self.stopped:
                        self.stopped = True
                        self.scan.run.note("the server picked %r, which was not offered: stopping the scan" % (pick,))
                return
            with self._lock:
                self.found.append(pick)
            remaining.remove(pick)
            other = self._split(remaining)
            if other:
                self._tasks.spawn(self._eliminate, other)


def _eliminate(scan, candidates, offer, chosen, first=None):
    """Offer ``candidates``; drop whatever the server picks until it refuses (per partition)."""
    return _Elimination(scan, candidates, offer, chosen).run(first)


class _Versions(object):
    """The version probes' answers, as they come (the groups scan waits for them)."""

    def __init__(self):
        self.supported = {}
        self._done = threading.Condition()

    def answer(self, version, flight):
        ok = accepted(flight) and (flight.version or version) == version
        with self._done:
            self.supported[version] = ok
            self._done.notify_all()
        return ok

    def give_up(self, version):
        with self._done:
            self.supported.setdefault(version, None)
            self._done.notify_all()

    def wait(self, deadline):
        """The supported versions once every probe answered; DeadlineReached when one could not."""
        with self._done:
            while len(self.supported) < len(TLS_VERSIONS) and deadline.remaining() > 0:
                self._done.wait(max(0.0, deadline.remaining()))
            if len(self.supported) < len(TLS_VERSIONS) or None in self.supported.values():
                raise DeadlineReached("%s was reached before every version probe answered" % deadline.what)
            return [v for v in TLS_VERSIONS if self.supported[v]]


def _version_probe(version):
    # every group, so a server with only uncommon curves still shows its versions; the same hello is the
    # first round of that version's cipher scan
    return {"versions": (version,), "ciphers": _ciphers_for(version), "groups": _all_groups(),
            "key_share_groups": [wire.group_code("x25519")] if version == "TLSv1.3" else None}


def _ciphers_for(version, tls12=None):
    suites13 = list(wire.tls13_cipher_suites())
    if version == "TLSv1.3":
        return suites13
    return list(tls12 if tls12 is not None else wire.tls12_cipher_suites())


def _all_groups():
    return wire.all_groups()


def _picked_cipher(flight):
    return flight.cipher if accepted(flight) else None


def _cipher_scan(scan, known, version):
    """One version: its probe, then (with ``ciphers``) the elimination of its suites; None when unsupported."""
    try:
        flight = scan.hello(**_version_probe(version))
    except BaseException:
        known.give_up(version)   # the groups scan waits for this answer: it must not wait in vain
        raise
    if not known.answer(version, flight):
        return None
    if not scan.with_ciphers:
        return []
    names = wire.tls13_cipher_suites() if version == "TLSv1.3" else wire.tls12_cipher_suites()
    probe = _version_probe(version)
    found = _eliminate(scan, _ciphers_for(version), lambda rest: dict(probe, ciphers=rest), _picked_cipher,
                       first=flight)
    return [names.get(c, wire.cipher_name(c)) for c in found]


def _picked_group13(flight):
    return flight.group if accepted(flight) else None


def _picked_group12(flight):
    ske = getattr(flight, "server_key_exchange", None) or {}
    return ske.get("group") if accepted(flight) else None


def _groups(scan, known):
    """Every group the server accepts: the TLS 1.3 scan (HelloRetryRequests), then a TLS 1.2 scan of what
    is left (ECDHE suites, the curve read from the ServerKeyExchange), so curves OpenSSL allows only
    in TLS 1.2 (brainpool*r1, the binary curves) count too.  Each scan costs one refusal per partition."""
    versions = known.wait(scan.run.deadline)
    found = []
    if "TLSv1.3" in versions:
        found = _eliminate(scan, _all_groups(), lambda rest: {
            "groups": rest, "versions": ("TLSv1.3",), "ciphers": _ciphers_for("TLSv1.3"),
            "key_share_groups": []}, _picked_group13)
    legacy = [v for v in ("TLSv1.2", "TLSv1.1", "TLSv1") if v in versions]
    if legacy:
        # the groups a TLS 1.2 ECDHE key exchange can use (OpenSSL does not negotiate FFDHE there)
        remaining = [g for g in wire.all_groups(legacy[0]) if g not in found]
        ecdhe = [c for c, n in wire.tls12_cipher_suites().items() if n.startswith("ECDHE-")]
        found = found + _eliminate(scan, remaining, lambda rest: {
            "versions": (legacy[0],), "ciphers": ecdhe, "groups": rest}, _picked_group12)
    return [wire.group_name(g) for g in found]


def _sni(scan):
    spec = scan.run.spec
    with_sni = scan.handshake(sni=True, verify=False, http_request=False)
    without = scan.handshake(sni=False, verify=False, http_request=False)
    changes = None
    if with_sni.handshake_ok and without.handshake_ok:
        changes = x509.parse_certificate(with_sni.peer_der)["sha256"] != x509.parse_certificate(without.peer_der)["sha256"]
    return {
        "requires_sni": bool(spec.get("server_name")) and with_sni.handshake_ok and not without.handshake_ok,
        "sni_changes_certificate": changes,
    }


def _width(run):
    # a transcript is read in order: with trace on, one connection at a time
    if run.trace is not None:
        return 1
    return int(run.spec.get("max_connections_per_server") or DEFAULT_CONNECTIONS_PER_SERVER)


def capabilities(run, items):
    """The scan of ``items``; what the budget did not cover is left out and noted in the evidence.

    At most ``max_connections_per_server`` connections to the server are open at once.  Each version's
    probe is also the first round of its cipher scan; the versions and the groups scan start at once.
    """
    scan = _Scan(run, _width(run), with_ciphers="ciphers" in items)
    known = _Versions()
    parts: List[Tuple[str, Callable[[], Any]]] = []
    if "protocols" in items or "ciphers" in items or "groups" in items:
        parts += [(version, functools.partial(_cipher_scan, scan, known, version)) for version in TLS_VERSIONS]
    if "groups" in items:
        parts.append(("groups", functools.partial(_groups, scan, known)))
    if "sni" in items:
        parts.append(("sni", functools.partial(_sni, scan)))
    answers = scan.run_all(parts)
    missed = [a for a in answers.values() if isinstance(a, DeadlineReached)]
    per_version = [answers.get(v) for v in TLS_VERSIONS]
    caps: Dict[str, Any] = {}
    if not any(isinstance(a, DeadlineReached) for a in per_version):
        if "protocols" in items:
            caps["protocols"] = [v for v, a in zip(TLS_VERSIONS, per_version) if a is not None]
        if "ciphers" in items:
            caps["ciphers"] = {v: a for v, a in zip(TLS_VERSIONS, per_version) if a is not None}
    for key in ("groups", "sni"):
        if key in answers and not isinstance(answers[key], DeadlineReached):
            if key == "sni":
                caps.update(answers[key])
            else:
                caps[key] = answers[key]
    if missed:
        run.note("capability scan incomplete (%s): reported only %s" % (missed[0], ", ".join(sorted(caps)) or "nothing"))
    return caps
