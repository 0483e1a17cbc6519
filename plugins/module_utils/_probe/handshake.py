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

import socket
import ssl
import time
from dataclasses import dataclass
from typing import List, Optional

from ansible_collections.tlsops.handshake.plugins.module_utils._tls.names import TLS_VERSIONS, group_code, local_groups

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
    post_error: Optional[str] = None       # alert or error read after the handshake
    http_status: Optional[int] = None
    http_line: Optional[str] = None
    http_body: bytes = b""
    deadline_note: Optional[str] = None    # what the deadline cut short, for the evidence

    @property
    def handshake_ok(self):
        return self.stage in (Stage.POST_HANDSHAKE, Stage.DONE)


def make_context(spec, verify=None, sni=None):
    """An SSLContext with nginx's defaults plus the target's settings."""
    verify = spec["verify"] if verify is None else verify
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False  # nginx checks the name itself, after the chain (see the probe)
    if verify:
        ctx.verify_mode = ssl.CERT_REQUIRED
        if spec.get("ca_data"):
            ctx.load_verify_locations(cadata=spec["ca_data"])  # read once, through _safe_files
        elif spec.get("ca_file"):
            ctx.load_verify_locations(cafile=spec["ca_file"])
        else:
            ctx.load_default_certs()
    else:
        ctx.verify_mode = ssl.CERT_NONE
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

    ctx.load_cert_chain(cert, key, password=password)


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
              observer=None):
    """Connect to ``address`` and complete one handshake before ``deadline``.

    ``deadline`` (a _deadline.Deadline) bounds connect and handshake.  What
    follows the handshake (the HTTP request and its answer, or the short
    post-handshake read) gets ``timeout`` again, within ``limit`` (the
    target's deadline; default ``deadline``).  The watchdog shuts the
    connection down at each, so neither a trickling peer nor a peer that
    keeps OpenSSL busy in C can hold the probe.

    ``sni`` True sends ``spec['server_name']`` (never for IP literals: ssl
    refuses them, as nginx does).  ``observer(context)`` may hook the
    SSLContext before the connection (tls_probe's trace).  Returns an
    Outcome; never raises for network or TLS failures.
    """
    out = Outcome()
    sni = spec["sni"] if sni is None else sni
    http_request = spec["http_request"] if http_request is None else http_request
    name = spec.get("server_name") if sni else None
    if name is not None:
        host_header(name)  # defence in depth: no control character goes out in the SNI either
    try:
        ctx = make_context(spec, verify=verify)
    except (ssl.SSLError, ValueError, OSError) as exc:
        out.stage, out.error_kind, out.error = Stage.HANDSHAKE, ErrorKind.SSL, openssl_style(exc)
        return out
    if observer is not None:
        observer(ctx)
    out.stage = Stage.CONNECT
    sock = _connect(address, deadline, out)
    if sock is None:
        return out
    out.stage = Stage.HANDSHAKE
    hs_started = time.monotonic()
    guard = deadline.guard(sock)
    _tls_exchange(ctx, sock, name, out, guard, (deadline, limit or deadline, hs_started),
                  (spec, http_request, post_read))
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
        sock = socket.create_connection(address[:2], timeout=max(deadline.remaining(), 0.01))
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


def _tls_exchange(ctx, sock, name, out, guard, clocks, request):
    """The handshake on ``sock`` and what follows it, into ``out``; closes the connection.

    ``clocks`` is ``(deadline, limit, handshake start)``, ``request`` ``(spec, http_request, post_read)``.
    """
    deadline, limit, hs_started = clocks
    spec, http_request, post_read = request
    ssock = None
    try:
        with guard:
            ssock = ctx.wrap_socket(sock, server_hostname=name, do_handshake_on_connect=False)
            deadline.arm(ssock)
            ssock.do_handshake()
            out.handshake_ms = round((time.monotonic() - hs_started) * 1000, 2)
            out.stage = Stage.POST_HANDSHAKE
            exchange = limit.sooner(spec["timeout"])
            guard.move(exchange.at)
            _negotiated(ssock, out)
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
        if len(data) < 4096 and b"\r\n\r\n" in data:
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
