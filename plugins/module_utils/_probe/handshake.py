# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One real TLS handshake through Python's ssl module, set up the way nginx's
proxy module sets up its upstream connection.

Python's ssl links the host's libssl, the same library nginx uses there, so a
handshake that fails here fails for nginx too.  What ssl cannot express (a list
of groups, TLS 1.3 suites, signature algorithms) is left to the wire codec.
"""

from __future__ import annotations

import re
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple

from ansible_collections.tlsops.handshake.plugins.module_utils._common import safe_files
from ansible_collections.tlsops.handshake.plugins.module_utils._tls.flight import FlightKind, parse_server_flight
from ansible_collections.tlsops.handshake.plugins.module_utils._tls.names import TLS_VERSIONS, group_code, local_groups
from ansible_collections.tlsops.handshake.plugins.module_utils._tls.records import CT_HANDSHAKE, HS_CERTIFICATE, Reader, build_records

_VERSIONS = {
    "TLSv1": ssl.TLSVersion.TLSv1,
    "TLSv1.1": ssl.TLSVersion.TLSv1_1,
    "TLSv1.2": ssl.TLSVersion.TLSv1_2,
    "TLSv1.3": ssl.TLSVersion.TLSv1_3,
}
_NO_FLAGS = {
    "TLSv1": "OP_NO_TLSv1",
    "TLSv1.1": "OP_NO_TLSv1_1",
    "TLSv1.2": "OP_NO_TLSv1_2",
    "TLSv1.3": "OP_NO_TLSv1_3",
}

# nginx's proxy_ssl_ciphers default.
NGINX_DEFAULT_CIPHERS = "DEFAULT"


class Stage:
    """How far one connection attempt got (``Outcome.stage``)."""

    RESOLVE = "resolve"
    CONNECT = "connect"
    HANDSHAKE = "handshake"
    POST_HANDSHAKE = "post_handshake"
    DONE = "done"
    ALL = (RESOLVE, CONNECT, HANDSHAKE, POST_HANDSHAKE, DONE)


class ErrorKind:
    """What ended a connection attempt (``Outcome.error_kind``); the probe maps each to a cause."""

    REFUSED = "refused"
    CONNECT_TIMEOUT = "connect_timeout"
    UNREACHABLE = "unreachable"
    TIMEOUT = "timeout"
    EOF = "eof"
    RESET = "reset"
    SSL = "ssl"
    VERIFY = "verify"
    OS = "os"
    ALL = (REFUSED, CONNECT_TIMEOUT, UNREACHABLE, TIMEOUT, EOF, RESET, SSL, VERIFY, OS)


@dataclass(eq=False)
class Outcome:
    """What one connection attempt got to, and what it saw."""

    stage: str = Stage.RESOLVE
    error: Optional[str] = None            # exception text, OpenSSL style where possible
    error_kind: Optional[str] = None       # one of ErrorKind.ALL
    verify_code: Optional[int] = None
    verify_message: Optional[str] = None
    connect_ms: Optional[float] = None
    handshake_ms: Optional[float] = None
    version: Optional[str] = None
    cipher: Optional[str] = None
    alpn: Optional[str] = None
    peer_der: Optional[bytes] = None
    chain_der: Optional[List[bytes]] = None   # served chain when this Python can read it (3.13+)
    group: Optional[str] = None            # the key exchange group (or DH-<bits>), when details_read
    details_read: bool = False             # group and chain read from this handshake's own messages
    post_error: Optional[str] = None       # alert or error read after the handshake
    http_status: Optional[int] = None
    http_line: Optional[str] = None
    http_body: bytes = b""
    deadline_note: Optional[str] = None    # what the deadline cut short, for the evidence

    @property
    def handshake_ok(self):
        return self.stage in (Stage.POST_HANDSHAKE, Stage.DONE)


def make_context(spec, verify=None, sni=None):
    """An SSLContext with nginx's defaults plus the target's settings, its trust store loaded."""
    verify = spec["verify"] if verify is None else verify
    ctx = _configured_context(spec, verify)
    _load_trust(ctx, spec, verify)
    return ctx


def _load_trust(ctx, spec, verify):
    """The trust store: the costly part of a context (the system store takes tens of ms to load)."""
    if not verify:
        return
    if spec.get("ca_data"):
        ctx.load_verify_locations(cadata=spec["ca_data"])  # read once, through _safe_files
    elif spec.get("ca_file"):
        ctx.load_verify_locations(cafile=spec["ca_file"])
    else:
        ctx.load_default_certs()


def _configured_context(spec, verify):
    """Everything of make_context but the trust store (CONTEXT_SETTINGS lists what it reads)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False  # nginx checks the name itself, after the chain (see the probe)
    ctx.verify_mode = ssl.CERT_REQUIRED if verify else ssl.CERT_NONE
    if MSG_CALLBACK:
        _install_message_callback(ctx)
    protocols = spec["protocols"]
    ctx.minimum_version = _VERSIONS[protocols[0]]
    ctx.maximum_version = _VERSIONS[protocols[-1]]
    for name in TLS_VERSIONS[TLS_VERSIONS.index(protocols[0]):TLS_VERSIONS.index(protocols[-1]) + 1]:
        if name not in protocols:
            ctx.options |= getattr(ssl, _NO_FLAGS[name])
    ctx.set_ciphers(spec.get("ciphers") or NGINX_DEFAULT_CIPHERS)
    set_bits, clear_bits = spec.get("ssl_options") or (0, 0)  # conf_commands Options, as SSL_OP_* bits
    if set_bits or clear_bits:
        ctx.options = (ctx.options | set_bits) & ~clear_bits
    groups = spec.get("groups") or []
    if len(groups) == 1:
        # OpenSSL 3 turns a single ECDH curve into the whole group list.
        try:
            ctx.set_ecdh_curve(_openssl_curve_name(groups[0]))
        except ssl.SSLError:
            # Debian 12's Python refuses X25519/X448 here (names.local_groups says why); OpenSSL's
            # default list then applies, which starts with X25519: the key share is the same.
            if group_code(groups[0]) not in local_groups():
                raise
    if spec.get("alpn"):
        ctx.set_alpn_protocols(spec["alpn"])
    if spec.get("client_cert"):
        load_client_pair(ctx, spec["client_cert"], spec["client_key"], spec.get("client_key_passphrase"))
    return ctx


class KeyNeedsPassphrase(ValueError):
    """The private key is encrypted and no passphrase was given."""


def load_client_pair(ctx, cert, key, passphrase):
    """load_cert_chain that never lets OpenSSL prompt on a terminal.

    OpenSSL asks for the passphrase of an encrypted key on the controlling tty
    (a hang under Ansible) unless it gets one: it always gets a callable here,
    which raises KeyNeedsPassphrase when there is no passphrase to give.
    """
    def password():
        if passphrase is None:
            raise KeyNeedsPassphrase(key)
        return passphrase.encode("utf-8")

    # OpenSSL opens by name: pinned names the files checked here, even if a path is swapped for a FIFO meanwhile
    with safe_files.pinned(cert, "client_cert", "a PEM certificate") as cert_name, \
            safe_files.pinned(key, "client_key", "a PEM private key") as key_name:
        ctx.load_cert_chain(cert_name, key_name, password=password)


# What _configured_context and _load_trust read from a target's spec: a context built for one target
# serves every other target whose values here are equal (test_probe_contexts checks the list is whole).
CONTEXT_SETTINGS = ("protocols", "ciphers", "ssl_options", "groups", "alpn",
                    "client_cert", "client_key", "client_key_passphrase")
TRUST_SETTINGS = ("ca_data", "ca_file")


def _frozen(value):
    if isinstance(value, (list, tuple)):
        return tuple(_frozen(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, _frozen(v)) for k, v in value.items()))
    return value


def context_key(spec, verify=None):
    """Everything that makes one target's SSLContext differ from another's; the trust store only with verify."""
    verify = bool(spec["verify"] if verify is None else verify)
    trust = tuple(_frozen(spec.get(k)) for k in TRUST_SETTINGS) if verify else ()
    return (verify, trust) + tuple(_frozen(spec.get(k)) for k in CONTEXT_SETTINGS)


class _CachedContext(object):
    """One context of a ContextCache: its settings at once, its trust store with the first connection."""

    def __init__(self, ctx, spec, verify):
        self.ctx = ctx
        self._trust: Optional[Tuple[Any, bool]] = (spec, verify)  # None once loaded
        self._lock = threading.Lock()

    def ready(self):
        """The context with its trust store loaded (once, by whichever connection comes first)."""
        if self._trust is None:
            return self.ctx
        with self._lock:
            if self._trust is not None:
                _load_trust(self.ctx, *self._trust)
                self._trust = None
        return self.ctx


class ContextCache(object):
    """The SSLContexts of one tls_probe call, one per distinct context_key.

    Building a context costs little; loading a trust store costs much (the system store: ~40 ms,
    once per target before this cache).  A context is shared only by targets whose every setting
    that shapes it is equal, and it loads its trust store when a connection first needs it: a call
    of 2000 closed ports never loads it (a call dealt out to several processes loads it once, before
    forking: run.CallShared.load_trust_stores).  Thread-safe.
    """

    def __init__(self):
        self._entries: Dict[Any, _CachedContext] = {}
        self._lock = threading.Lock()
        self.built = 0

    def entry(self, spec, verify=None):
        verify = spec["verify"] if verify is None else verify
        key = context_key(spec, verify)
        found = self._entries.get(key)
        if found is None:
            with self._lock:
                found = self._entries.get(key)
                if found is None:
                    found = _CachedContext(_configured_context(spec, verify), spec, verify)
                    self._entries[key] = found
                    self.built += 1
        return found

    def __len__(self):
        return len(self._entries)


# --------------------------------------------------------------------- the handshake's own messages

MSG_CALLBACK = hasattr(ssl.SSLContext, "_msg_callback")   # CPython 3.8+: OpenSSL's message callback
_RECORDER_ATTRIBUTE = "_tlsops_messages"
_SERVER_MESSAGE_TYPES = frozenset((2, HS_CERTIFICATE, 12))   # ServerHello, Certificate, ServerKeyExchange
_MAX_RECORDED = 1024 * 1024


class ServerMessages(object):
    """The server's handshake messages of one connection, as OpenSSL's message callback hands them over
    (after decryption: TLS 1.3's Certificate too).  ``listener`` (tls_probe's trace) sees every message."""

    def __init__(self, listener=None):
        self.listener = listener
        self.messages: List[bytes] = []
        self.size = 0

    def keep(self, data):
        """Record one of the server's _SERVER_MESSAGE_TYPES, within _MAX_RECORDED bytes in all."""
        if self.size + len(data) <= _MAX_RECORDED:
            self.messages.append(bytes(data))
            self.size += len(data)

    def details(self, out):
        """Set ``out.group``, ``out.chain_der`` (unless ssl gave it) and ``out.details_read``."""
        hellos = [m for m in self.messages if m[:1] == b"\x02"]
        certificates = [m for m in self.messages if m[:1] == bytes([HS_CERTIFICATE])]
        if not hellos or not certificates:
            return
        tls13 = out.version == "TLSv1.3"
        first = [hellos[-1]] if tls13 else [hellos[-1]] + [m for m in self.messages if m[:1] != b"\x02"]
        flight = parse_server_flight(build_records(CT_HANDSHAKE, b"".join(first)))
        if flight.kind != FlightKind.SERVER_HELLO:
            return
        chain = out.chain_der or _certificate_list(certificates[-1], tls13)
        if tls13 or flight.group_name:
            out.group = flight.group_name
        else:
            out.group = "DH-%d" % flight.dh_bits if flight.dh_bits else None   # None: RSA key exchange
        out.chain_der, out.details_read = chain, True


def _certificate_list(message, tls13):
    reader = Reader(message[4:])
    if tls13:
        reader.vec8()  # certificate_request_context
    entries = Reader(reader.vec24())
    ders = []
    while entries.remaining():
        ders.append(entries.vec24())
        if tls13:
            entries.vec16()  # per-certificate extensions
    return ders


def _install_message_callback(ctx):
    """Point ``ctx``'s message callback at _on_message, without ssl's wrapper where it can be skipped.

    SSLContext._msg_callback's setter wraps the callback in a function that turns every number into an
    enum member: about 0.3 ms of CPU a handshake, a third of what OpenSSL spends on it (profiled with
    bench/fleet_call.py).  The C type's own descriptor takes the callback as it is (plain ints).
    """
    descriptor = getattr(getattr(getattr(ssl, "_ssl", None), "_SSLContext", None), "_msg_callback", None)
    if descriptor is not None and hasattr(descriptor, "__set__"):
        descriptor.__set__(ctx, _on_message)
    else:
        ctx._msg_callback = _on_message  # pylint: disable=protected-access


def _on_message(conn, direction, version, content_type, msg_type, data):
    """The shared contexts' message callback: hands the message to its own connection's recorder.
    Never raises (an exception here would surface inside ssl)."""
    # One frame, not two: OpenSSL calls this about 35 times a handshake, each time taking the GIL back.
    # msg_type is the message's first byte (ssl reads it there).
    try:
        recorder = getattr(conn, _RECORDER_ATTRIBUTE, None)
        if recorder is None:
            return
        if recorder.listener is not None:
            recorder.listener(conn, direction, version, content_type, msg_type, data)
        if content_type == CT_HANDSHAKE and msg_type in _SERVER_MESSAGE_TYPES and direction == "read":
            recorder.keep(data)
    except Exception:  # pylint: disable=broad-except
        pass


def _openssl_curve_name(group):
    aliases = {"p-256": "prime256v1", "secp256r1": "prime256v1", "p-384": "secp384r1", "p-521": "secp521r1",
               "x25519": "X25519", "x448": "X448"}
    return aliases.get(group.lower(), group)


def openssl_style(exc):
    """Render an ssl exception roughly as nginx prints OpenSSL's error."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return "certificate verify failed (%s:%s)" % (exc.verify_code, exc.verify_message)
    if isinstance(exc, ssl.SSLError):
        text = str(exc.args[1] if len(exc.args) > 1 else exc)
        # "[SSL: WRONG_VERSION_NUMBER] wrong version number (_ssl.c:1006)" -> "wrong version number"
        if "]" in text:
            text = text.split("]", 1)[1]
        return text.split(" (_ssl.c")[0].strip()
    return str(exc) or exc.__class__.__name__


def handshake(spec, address, deadline, verify=None, sni=None, http_request=None, post_read=0.3, limit=None,
              listener=None, contexts=None):
    """Connect to ``address`` and complete one handshake before ``deadline``.

    ``deadline`` (a _deadline.Deadline) bounds connect and handshake.  What
    follows the handshake (the HTTP request and its answer, or the short
    post-handshake read) gets ``timeout`` again, within ``limit`` (the
    target's deadline; default ``deadline``).  The watchdog shuts the
    connection down at each, so neither a trickling peer nor a peer that
    keeps OpenSSL busy in C can hold the probe.

    ``sni`` True sends ``spec['server_name']`` (never for IP literals: ssl
    refuses them, as nginx does).  ``listener`` sees every message of
    OpenSSL's message callback on this connection (tls_probe's trace).
    ``contexts`` (a ContextCache, one per call) shares the SSLContext with
    every target of the same settings; the trust store is loaded only once a
    connection stands.  Returns an Outcome; never raises for network or TLS
    failures.
    """
    out = Outcome()
    sni = spec["sni"] if sni is None else sni
    http_request = spec["http_request"] if http_request is None else http_request
    name = spec.get("server_name") if sni else None
    if name is not None:
        host_header(name)  # defence in depth: no control character goes out in the SNI either
    try:
        cached = (contexts if contexts is not None else ContextCache()).entry(spec, verify)
    except (ssl.SSLError, ValueError, OSError) as exc:
        out.stage, out.error_kind, out.error = Stage.HANDSHAKE, ErrorKind.SSL, openssl_style(exc)
        return out
    out.stage = Stage.CONNECT
    sock = _connect(address, deadline, out)
    if sock is None:
        return out
    out.stage = Stage.HANDSHAKE
    try:
        ctx = cached.ready()
    except (ssl.SSLError, ValueError, OSError) as exc:
        _close(sock)
        out.error_kind, out.error = ErrorKind.SSL, openssl_style(exc)
        return out
    hs_started = time.monotonic()
    guard = deadline.guard(sock)
    recorder = ServerMessages(listener)
    _tls_exchange(ctx, sock, name, out, guard, (deadline, limit or deadline, hs_started),
                  (spec, http_request, post_read, recorder))
    if guard.fired and out.stage == Stage.HANDSHAKE:
        # the watchdog ended a handshake that never came back from OpenSSL: whatever error
        # the shut-down connection produced, the truth is that time ran out
        out.error_kind, out.error = ErrorKind.TIMEOUT, "timed out while SSL handshaking"
        out.deadline_note = ("the handshake was still running at its deadline (%.1f s): the upstream kept "
                             "OpenSSL busy without finishing it, and the connection was shut down" % deadline.seconds)
    if out.handshake_ms is None and out.stage == Stage.HANDSHAKE:
        out.handshake_ms = round((time.monotonic() - hs_started) * 1000, 2)
    return out


def _connect(address, deadline, out):
    """A connected socket, or None with ``out``'s error set."""
    started = time.monotonic()
    try:
        sock = _connected(address, max(deadline.remaining(), 0.01))
    except ConnectionRefusedError as exc:
        out.error_kind, out.error = ErrorKind.REFUSED, str(exc)
        return None
    except socket.timeout:
        out.error_kind, out.error = ErrorKind.CONNECT_TIMEOUT, "connect timed out"
        return None
    except OSError as exc:
        out.error_kind, out.error = ErrorKind.UNREACHABLE, str(exc)
        return None
    out.connect_ms = round((time.monotonic() - started) * 1000, 2)
    return sock


def _connected(address, timeout):
    """A socket connected to ``address``, a resolved sockaddr (CallShared.address): create_connection would
    ask getaddrinfo again, and drop an IPv6 scope on the way."""
    ipv6 = len(address) == 4 or ":" in address[0]
    sock = socket.socket(socket.AF_INET6 if ipv6 else socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.settimeout(timeout)
        sock.connect(address)
    except BaseException:
        sock.close()
        raise
    return sock


def _tls_exchange(ctx, sock, name, out, guard, clocks, request):
    """The handshake on ``sock`` and what follows it, into ``out``; closes the connection.

    ``clocks`` is ``(deadline, limit, handshake start)``, ``request`` ``(spec, http_request, post_read, recorder)``.
    """
    deadline, limit, hs_started = clocks
    spec, http_request, post_read, recorder = request
    ssock = None
    try:
        with guard:
            ssock = ctx.wrap_socket(sock, server_hostname=name, do_handshake_on_connect=False)
            setattr(ssock, _RECORDER_ATTRIBUTE, recorder)
            deadline.arm(ssock)
            ssock.do_handshake()
            out.handshake_ms = round((time.monotonic() - hs_started) * 1000, 2)
            out.stage = Stage.POST_HANDSHAKE
            exchange = limit.sooner(spec["timeout"])
            guard.move(exchange.at)
            _negotiated(ssock, out)
            _read_details(recorder, out)
            _after_handshake(ssock, spec, name, out, exchange, http_request, post_read, guard)
            out.stage = Stage.DONE if out.post_error is None else Stage.POST_HANDSHAKE
    except ssl.SSLCertVerificationError as exc:
        out.error_kind, out.error = ErrorKind.VERIFY, openssl_style(exc)
        out.verify_code, out.verify_message = exc.verify_code, exc.verify_message
    except (ssl.SSLEOFError, ssl.SSLZeroReturnError) as exc:
        out.error_kind, out.error = ErrorKind.EOF, "peer closed connection in SSL handshake (%s)" % openssl_style(exc)
    except ssl.SSLError as exc:
        out.error_kind, out.error = ErrorKind.SSL, openssl_style(exc)
    except socket.timeout:
        out.error_kind, out.error = ErrorKind.TIMEOUT, "timed out while SSL handshaking"
    except ConnectionResetError as exc:
        out.error_kind, out.error = ErrorKind.RESET, "peer closed connection in SSL handshake (104: %s)" % exc.strerror
    except OSError as exc:
        out.error_kind, out.error = ErrorKind.OS, str(exc)
    finally:
        _close(ssock or sock)


def _negotiated(ssock, out):
    out.version = ssock.version()
    out.cipher = (ssock.cipher() or (None,))[0]
    out.alpn = ssock.selected_alpn_protocol()
    out.peer_der = ssock.getpeercert(binary_form=True)
    chain = getattr(ssock, "get_unverified_chain", None)
    if chain is not None:  # Python 3.13+
        der = ssl._ssl.ENCODING_DER  # type: ignore[attr-defined]  # ssl exports no public name for it
        out.chain_der = [c.public_bytes(der) if hasattr(c, "public_bytes") else c for c in (chain() or [])]


def _read_details(recorder, out):
    try:
        recorder.details(out)
    except (ValueError, IndexError):
        out.details_read = False  # a message that does not parse: the raw ClientHello follow-up reads them


def host_header(value):
    """The Host header value for ``value``; ValueError for control characters, whatever validated it before."""
    if any(ch in value for ch in "\r\n\0") or any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise ValueError("refusing to send a Host header with a control character: %r" % value)
    if ":" in value:
        return "[%s]" % value  # an IPv6 literal
    return value if value.isascii() else value.encode("idna").decode("ascii")


def _after_handshake(ssock, spec, name, out, exchange, http_request, post_read, guard):
    """Read after the handshake, as nginx's first read would, within ``exchange``.

    A TLS 1.3 server that wants a client certificate sends alert 116 only
    now; an nginx upstream with ssl_verify_client answers the request with 400.
    Every read gets only what is left of ``exchange``, so a peer that trickles
    its answer is cut off at the deadline (noted in ``out.deadline_note``).
    """
    if not (http_request and out.alpn not in ("h2", "h3")):  # an HTTP/1.1 request means nothing to h2
        try:
            exchange.arm(ssock, cap=post_read)
            ssock.recv(1)
        except socket.timeout:
            pass
        except Exception as exc:  # pylint: disable=broad-except
            _post_error(out, exc, guard)
        return
    request = ("GET / HTTP/1.1\r\nHost: %s\r\nUser-Agent: tlsops-handshake-probe\r\n"
               "Connection: close\r\n\r\n" % host_header(name or spec["host"])).encode("ascii")
    data = b""
    try:
        exchange.arm(ssock)
        try:
            ssock.sendall(request)
        except (ssl.SSLError, OSError):
            # A TLS 1.3 server that refuses a missing client certificate sends alert 116 and may reset at
            # once: the write then fails while the alert still waits in the receive buffer. Read it.
            pass
        while len(data) < 4096 and b"\r\n\r\n" not in data:
            exchange.arm(ssock)
            chunk = ssock.recv(4096 - len(data))
            if not chunk:
                break
            data += chunk
        if len(data) < 4096 and b"\r\n\r\n" in data and not _body_complete(data):
            # the body carries nginx's "No required SSL certificate was sent"
            try:
                exchange.arm(ssock, cap=0.2)
                data += ssock.recv(4096 - len(data))
            except (socket.timeout, ssl.SSLError, OSError):
                pass
    except socket.timeout:
        pass
    except Exception as exc:  # pylint: disable=broad-except
        _post_error(out, exc, guard)
    _read_http(out, data)
    if b"\r\n\r\n" not in data and (guard.fired or exchange.expired()):
        out.deadline_note = ("the HTTP answer was not complete at the deadline (%d bytes in %.1f s)"
                             % (len(data), exchange.seconds))


_CONTENT_LENGTH_RE = re.compile(b"\r\ncontent-length:[ \t]*([0-9]{1,9})[ \t]*\r\n", re.IGNORECASE)


def _body_complete(data):
    """Whether ``data`` holds a whole answer by its Content-Length (no read for the rest needed)."""
    head, _sep, body = data.partition(b"\r\n\r\n")
    found = _CONTENT_LENGTH_RE.search(head + b"\r\n")
    return found is not None and len(body) >= int(found.group(1))


def _post_error(out, exc, guard):
    if isinstance(exc, (ssl.SSLEOFError, ssl.SSLZeroReturnError)) or guard.fired:
        return  # the peer (or the watchdog) closed: no alert to report
    if isinstance(exc, ssl.SSLError):
        out.post_error = openssl_style(exc)
    elif isinstance(exc, OSError):
        out.post_error = str(exc)
    else:
        raise exc


def _read_http(out, data):
    line, sep, _rest = data.partition(b"\r\n")
    if sep and line.startswith(b"HTTP/"):
        out.http_line = line.decode("latin-1")[:200]
        parts = line.split()
        if len(parts) > 1 and parts[1].isdigit():
            out.http_status = int(parts[1])
        out.http_body = data[:4096]


def _close(sock):
    if sock is None:
        return
    try:
        sock.close()
    except OSError:
        pass


_on_message.user_function = _on_message  # type: ignore[attr-defined]  # what ssl's _msg_callback getter returns
