# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Make a real nginx 1.22 (OpenSSL 3.0) log the reasons of the vocabulary: clients that fail nginx's
handshake in each way OpenSSL names, and upstream connects the kernel refuses.

Run it inside an empty network namespace, where only loopback exists and nothing can leave the
machine::

    unshare -n python tests/integration/nginx_reasons.py DIR

It brings lo up, adds routes that make 127.77.0.1 "No route to host", 127.77.0.2 "Permission
denied" and 127.77.0.3 "Network is unreachable", writes a self-signed certificate and an expired
one (``openssl``), starts nginx in DIR, runs every client in CLIENTS from its own source address
(127.0.0.N: the log line's ``client:`` says which case it is), GETs each upstream path, stops nginx
and leaves DIR/error.log.  The fixture tests/unit/plugins/module_utils/fixtures/logs/
reasons-nginx-1.22-openssl-3.0.log was made this way.
"""

from __future__ import annotations

import os
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request

NGINX = os.environ.get("LAB_NGINX", "/usr/sbin/nginx")
ROUTES = (
    "ip link set lo up",
    "ip route add unreachable 127.77.0.1/32 table local",
    "ip route add prohibit 127.77.0.2/32 table local",
    "ip route add throw 127.77.0.3/32 table local",      # on to the main table, which has no route
)
# upstream path -> (proxied address, cause the log line must name)
UPSTREAMS = {
    "no_route": ("127.77.0.1:443", "network_unreachable"),
    "forbidden": ("127.77.0.2:443", "connect_forbidden"),
    "net_unreachable": ("127.77.0.3:443", "network_unreachable"),
}
PORT, EXPIRED_PORT, H2_PORT, PROXY_PORT = 18443, 18444, 18445, 18080

_CONF = """\
worker_processes 1;
daemon on;
pid {dir}/nginx.pid;
error_log {dir}/error.log info;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {dir}/tmp; proxy_temp_path {dir}/tmp; fastcgi_temp_path {dir}/tmp;
    uwsgi_temp_path {dir}/tmp; scgi_temp_path {dir}/tmp;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_ciphers ECDHE-RSA-AES128-GCM-SHA256;
    ssl_ecdh_curve X25519;
    server {{
        listen 127.0.0.1:{port} ssl;
        server_name reasons.test;
        ssl_certificate {dir}/cert.pem; ssl_certificate_key {dir}/key.pem;
        location / {{ return 200 "ok\\n"; }}
    }}
    server {{
        listen 127.0.0.1:{expired_port} ssl;
        server_name expired.test;
        ssl_certificate {dir}/expired.pem; ssl_certificate_key {dir}/key.pem;
        location / {{ return 200 "ok\\n"; }}
    }}
    server {{
        listen 127.0.0.1:{h2_port} ssl http2;
        server_name h2.test;
        ssl_certificate {dir}/cert.pem; ssl_certificate_key {dir}/key.pem;
        location / {{ return 200 "ok\\n"; }}
    }}
    server {{
        listen 127.0.0.1:{proxy_port};
        proxy_connect_timeout 5s;
{locations}
    }}
}}
"""


def _run(*cmd):
    subprocess.run(cmd, check=True, capture_output=True, timeout=60)


def _make_certs(directory):
    key, cert, expired = (os.path.join(directory, n) for n in ("key.pem", "cert.pem", "expired.pem"))
    _run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "30",
         "-subj", "/CN=reasons.test", "-addext", "subjectAltName=DNS:reasons.test")
    # an expired certificate for the same key: openssl 3.0's req/x509 cannot date one in the past
    # (-not_after is 3.4+), so the cryptography package the controller has signs one that ended yesterday
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    with open(key, "rb") as fh:
        private = serialization.load_pem_private_key(fh.read(), None)
    name = x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, u"expired.test")])
    now = datetime.datetime.now(datetime.timezone.utc)
    built = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(private.public_key())
             .serial_number(7).not_valid_before(now - datetime.timedelta(days=30))
             .not_valid_after(now - datetime.timedelta(days=1))
             .add_extension(x509.SubjectAlternativeName([x509.DNSName(u"expired.test")]), critical=False)
             .sign(private, hashes.SHA256()))
    with open(expired, "wb") as fh:
        fh.write(built.public_bytes(serialization.Encoding.PEM))
    return cert, expired


def _tls_client(source, port, context, server_name="reasons.test", payload=None):
    with socket.create_connection(("127.0.0.1", port), timeout=5, source_address=(source, 0)) as sock:
        try:
            with context.wrap_socket(sock, server_hostname=server_name) as tls:
                if payload:
                    tls.sendall(payload)
                    tls.recv(100)
        except (ssl.SSLError, OSError):
            pass


def _raw_client(source, port, data):
    with socket.create_connection(("127.0.0.1", port), timeout=5, source_address=(source, 0)) as sock:
        sock.sendall(data)
        try:
            sock.recv(4096)
        except OSError:
            pass


def _s_client(source, port, *args):
    subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % port, "-bind", "%s:0" % source,
                    "-servername", "reasons.test"] + list(args), input=b"", capture_output=True, timeout=20,
                   check=False)


def _context(maximum=None, ciphers=None, verify=False, cafile=None, alpn=None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = verify
    ctx.verify_mode = ssl.CERT_REQUIRED if verify else ssl.CERT_NONE
    if cafile:
        ctx.load_verify_locations(cafile)
    if maximum:
        ctx.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
        ctx.maximum_version = maximum
    if ciphers:
        ctx.set_ciphers(ciphers)
    if alpn:
        ctx.set_alpn_protocols(alpn)
    return ctx


# client address -> (what the client does, cause the log line must name on the client side)
def clients(cert, expired):
    return {
        "127.0.0.2": (lambda s: _tls_client(s, PORT, _context(maximum=ssl.TLSVersion.TLSv1_2, ciphers="AES256-SHA")),
                      "cipher_mismatch"),
        "127.0.0.3": (lambda s: _tls_client(s, PORT, _context(maximum=ssl.TLSVersion.TLSv1_1, ciphers="DEFAULT:@SECLEVEL=0")),
                      "protocol_mismatch"),
        "127.0.0.4": (lambda s: _s_client(s, PORT, "-tls1_3", "-groups", "P-384"), "group_mismatch"),
        "127.0.0.5": (lambda s: _s_client(s, PORT, "-tls1_3", "-sigalgs", "ECDSA+SHA256"),
                      "signature_algorithm_mismatch"),
        "127.0.0.6": (lambda s: _raw_client(s, PORT, b"GET / HTTP/1.0\r\n\r\n"), "not_tls"),
        "127.0.0.7": (lambda s: _raw_client(s, PORT, b"\x16\x03\x01\x00\x05hello"), "protocol_violation"),
        "127.0.0.8": (lambda s: _tls_client(s, PORT, _context(verify=True)), "cert_untrusted"),
        "127.0.0.9": (lambda s: _tls_client(s, PORT, _context(verify=True, cafile=cert), server_name="other.test"),
                      "hostname_mismatch"),
        "127.0.0.10": (lambda s: _tls_client(s, EXPIRED_PORT, _context(verify=True, cafile=expired),
                                             server_name="expired.test"), "cert_expired"),
        "127.0.0.11": (lambda s: _s_client(s, PORT, "-tls1_2", "-fallback_scsv"), "protocol_mismatch"),
        "127.0.0.12": (lambda s: _tls_client(s, H2_PORT, _context(alpn=["foo/1"]), server_name="h2.test"),
                       "alpn_mismatch"),
        "127.0.0.13": (lambda s: _raw_client(s, PORT, b"\x16\x03\x01\x00\x08\x01\xff\xff\xff" + b"\x00" * 4),
                       "protocol_violation"),
    }


def main(directory):
    directory = os.path.abspath(directory)
    os.makedirs(os.path.join(directory, "tmp"), exist_ok=True)
    for command in ROUTES:
        _run(*command.split())
    cert, expired = _make_certs(directory)
    locations = "\n".join("        location /%s { proxy_pass https://%s; }" % (path, address)
                          for path, (address, _cause) in UPSTREAMS.items())
    with open(os.path.join(directory, "nginx.conf"), "w") as fh:
        fh.write(_CONF.format(dir=directory, port=PORT, expired_port=EXPIRED_PORT, h2_port=H2_PORT,
                              proxy_port=PROXY_PORT, locations=locations))
    _run(NGINX, "-p", directory, "-c", os.path.join(directory, "nginx.conf"))
    try:
        for source, (client, _cause) in clients(cert, expired).items():
            client(source)
        for path in UPSTREAMS:
            try:
                urllib.request.urlopen("http://127.0.0.1:%d/%s" % (PROXY_PORT, path), timeout=10).close()
            except (urllib.error.URLError, OSError):
                pass
        time.sleep(0.5)                   # nginx logs the last handshake after the client has gone
    finally:
        with open(os.path.join(directory, "nginx.pid")) as fh:
            os.kill(int(fh.read().strip()), signal.SIGQUIT)
        for _attempt in range(50):
            if not os.path.exists(os.path.join(directory, "nginx.pid")):
                break
            time.sleep(0.1)


if __name__ == "__main__":
    main(sys.argv[1])
