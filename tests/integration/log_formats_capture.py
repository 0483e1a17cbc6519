# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Capture real nginx error output as it arrives through journald, syslog and podman's CRI log files.

    python -m tests.integration.log_formats_capture OUTDIR      (as root, with podman)

Two podman containers of the molecule image (tests/molecule/build-image.sh), named with a run id
and removed by name whatever happens:

* ``tlsops-logcap-sd-RUNID`` boots systemd, installs nginx and rsyslog, and runs nginx as the
  nginx.service with four error logs at once: ``stderr`` (the unit's stream into the journal),
  ``syslog:server=unix:/dev/log`` (journald's syslog socket, read by rsyslog),
  ``syslog:server=unix:/run/logcap.sock`` (a Python receiver keeping nginx's raw datagrams) and the
  usual file.  Failed handshakes are then made inside with openssl, curl and python3, and
  ``journalctl -u nginx.service`` is kept in ``-o json``, short, short-iso, short-precise and
  short-iso-precise, next to rsyslog's /var/log/syslog (Debian's RFC 3339 template) and a file
  written with rsyslog's RSYSLOG_TraditionalFileFormat (``Dec  6 20:33:00 host nginx: ...``).
* ``tlsops-logcap-cri-RUNID`` runs ``nginx -g 'daemon off;'`` with ``error_log stderr`` as the
  container's command under podman's ``k8s-file`` log driver (the CRI format of
  /var/log/containers/*.log; podman's ``json-file`` is another name for it).  Before nginx starts,
  the command writes one 20000-byte line so that conmon splits it into ``P`` parts.

Every loop and command is bounded in time; the containers talk only to their own loopback (apt
goes through podman's NAT to the host's Debian mirror).  Keys are made inside the containers and
never leave them.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import uuid

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
IMAGE = os.environ.get("MOLECULE_IMAGE", "localhost/tlsops-molecule-debian:bookworm-1")
CONTAINERS_CONF = os.path.join(REPO_ROOT, "tests", "molecule", "containers.conf")
PREFIX = "tlsops-logcap-"

NGINX_SERVERS = r"""
    access_log off;
    # a TLS listener (the client side) and one that speaks only TLS 1.3
    server { listen 127.0.0.1:8443 ssl; ssl_certificate /etc/nginx/logcap.crt;
             ssl_certificate_key /etc/nginx/logcap.key; ssl_protocols TLSv1.2 TLSv1.3; return 200 "ok\n"; }
    server { listen 127.0.0.1:8444 ssl; ssl_certificate /etc/nginx/logcap.crt;
             ssl_certificate_key /etc/nginx/logcap.key; ssl_protocols TLSv1.3; return 200 "ok\n"; }
    server { listen 127.0.0.1:8081; return 200 "plain\n"; }
    # the proxy (the upstream side)
    server {
        listen 127.0.0.1:8080;
        location /plain { proxy_pass https://127.0.0.1:8081; }
        location /verify { proxy_pass https://127.0.0.1:8443; proxy_ssl_verify on; proxy_ssl_name logcap.test;
                           proxy_ssl_trusted_certificate /etc/ssl/certs/ca-certificates.crt; }
        location /protocol { proxy_pass https://127.0.0.1:8444; proxy_ssl_protocols TLSv1.2; }
    }
"""

SD_NGINX_CONF = r"""
user www-data;
worker_processes 1;
pid /run/nginx.pid;
error_log stderr info;
error_log syslog:server=unix:/dev/log info;
error_log syslog:server=unix:/run/logcap.sock info;
error_log syslog:server=127.0.0.1:514 info;
error_log /var/log/nginx/error.log info;
events { worker_connections 64; }
http {
%s
}
""" % NGINX_SERVERS

CRI_NGINX_CONF = r"""
worker_processes 1;
pid /run/nginx-logcap.pid;
error_log stderr info;
events { worker_connections 64; }
http {
%s
}
""" % NGINX_SERVERS

RECEIVER = r"""
import os, socket
path = "/run/logcap.sock"
if os.path.exists(path):
    os.unlink(path)
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
sock.bind(path)
os.chmod(path, 0o666)
with open("/run/logcap-syslog.raw", "ab", buffering=0) as out:
    for _ in range(10000):
        out.write(sock.recv(65536) + b"\n")
"""

RSYSLOG_TRADITIONAL = """
module(load="imudp")
input(type="imudp" address="127.0.0.1" port="514")
if $programname == 'nginx' then action(type="omfile" file="/var/log/nginx-traditional.log" template="RSYSLOG_TraditionalFileFormat")
"""

NGINX_DROP_IN = """[Service]
ExecStartPre=
ExecStartPre=/usr/sbin/nginx -t -q -e /var/log/nginx/error.log -g 'daemon on; master_process on;'
ExecStart=
ExecStart=/usr/sbin/nginx -e /var/log/nginx/error.log -g 'daemon on; master_process on;'
"""

MAKE_KEY = ("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=logcap.test "
            "-keyout /etc/nginx/logcap.key -out /etc/nginx/logcap.crt 2>/dev/null")

# Failed handshakes, on both sides, made inside the container.
FAILURES = r"""
set +e
curl -s -m 5 -o /dev/null http://127.0.0.1:8080/plain
curl -s -m 5 -o /dev/null http://127.0.0.1:8080/verify
curl -s -m 5 -o /dev/null http://127.0.0.1:8080/protocol
echo | timeout 5 openssl s_client -connect 127.0.0.1:8443 -tls1_1 -cipher DEFAULT@SECLEVEL=0 >/dev/null 2>&1
curl -s -m 5 -o /dev/null http://127.0.0.1:8443/
timeout 5 python3 -c '
import socket
s = socket.create_connection(("127.0.0.1", 8443), timeout=3)
s.sendall(b"\x16\x03\x01\x00\x05hello")
s.settimeout(3)
try:
    s.recv(100)
except OSError:
    pass
'
sleep 1
"""


def podman(*args, **kwargs):
    env = dict(os.environ, CONTAINERS_CONF=CONTAINERS_CONF)
    kwargs.setdefault("timeout", 300)
    return subprocess.run(["podman"] + list(args), env=env, capture_output=True, check=False,
                          stdin=subprocess.DEVNULL, **kwargs)


def checked(proc, what):
    if proc.returncode != 0:
        stderr = (proc.stderr or b"")[-2000:].decode("utf-8", "replace")
        raise RuntimeError("%s failed (rc=%s): %s" % (what, proc.returncode, stderr))
    return proc.stdout


def sh(name, script, what, timeout=300):
    return checked(podman("exec", name, "/bin/sh", "-c", script, timeout=timeout), what)


def unavailable():
    """Why this capture cannot run here, or None."""
    if shutil.which("podman") is None:
        return "podman is not installed"
    if os.geteuid() != 0:
        return "podman containers with systemd need root here"
    if podman("image", "exists", IMAGE, timeout=60).returncode != 0:
        return "the image %s is missing (build it with bash tests/molecule/build-image.sh)" % IMAGE
    return None


def remove(names):
    for name in names:
        podman("rm", "-f", "-t", "0", name, timeout=120)


def _wait(predicate, seconds, what):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(1)
    raise RuntimeError("timed out after %d s waiting for %s" % (seconds, what))


def _install(name, packages):
    sh(name, "export DEBIAN_FRONTEND=noninteractive; apt-get -qq update >/dev/null && "
             "apt-get -qq install -y --no-install-recommends %s >/dev/null" % packages,
       "apt-get install %s" % packages, timeout=400)


ENGINE_CALL = r"""
import json, sys
sys.path.insert(0, "/run/tlsops")
from ansible_collections.tlsops.handshake.plugins.module_utils._logs.read import read_logs
json.dump(read_logs(journal_units=["nginx.service"], samples=1), sys.stdout)
"""


def _run_engine(name, outdir):
    """The log engine itself inside the container (its Python 3.11), on the real journal: journal_units."""
    base = "/run/tlsops/ansible_collections/tlsops/handshake/plugins"
    sh(name, "mkdir -p %s && touch /run/tlsops/ansible_collections/__init__.py "
             "/run/tlsops/ansible_collections/tlsops/__init__.py /run/tlsops/ansible_collections/tlsops/handshake/__init__.py "
             "%s/__init__.py" % (base, base), "making the collection's folders")
    checked(podman("cp", os.path.join(REPO_ROOT, "plugins", "module_utils"), "%s:%s/module_utils" % (name, base)),
            "podman cp module_utils")
    with open(os.path.join(outdir, "journal-units-result.json"), "wb") as fh:
        fh.write(sh(name, "python3 - <<'EOF'\n%s\nEOF\n" % ENGINE_CALL, "read_logs(journal_units=...) in %s" % name))


def capture_journal(outdir, run_id, engine=False):
    """The systemd container: journal (json and short forms), rsyslog files and raw syslog datagrams;
    with ``engine``, also the result of read_logs(journal_units=["nginx.service"]) run inside it."""
    name = PREFIX + "sd-" + run_id
    try:
        checked(podman("run", "-d", "--name", name, "--systemd=always", "--hostname", "logcap", IMAGE, "/sbin/init"),
                "podman run %s" % name)
        _wait(lambda: podman("exec", name, "systemctl", "is-system-running", timeout=30).stdout.strip()
              in (b"running", b"degraded"), 120, "systemd in %s" % name)
        _install(name, "nginx rsyslog")
        sh(name, MAKE_KEY, "making a throw-away key")
        sh(name, "cat > /etc/nginx/nginx.conf <<'EOF'\n%s\nEOF\n"
                 "cat > /run/logcap-receiver.py <<'EOF'\n%s\nEOF\n"
                 "cat > /etc/rsyslog.d/50-logcap.conf <<'EOF'\n%s\nEOF\n"
                 "systemctl restart rsyslog && "
                 "systemd-run --unit logcap-receiver python3 /run/logcap-receiver.py && sleep 1 && "
                 "systemctl restart nginx" % (SD_NGINX_CONF, RECEIVER, RSYSLOG_TRADITIONAL), "configuring nginx")
        sh(name, FAILURES, "making failed handshakes")
        # a start that fails: nginx's console form (``nginx: [emerg] ...``, no date) on the unit's stderr
        # (written when nginx's compiled-in error log is a file, as in nginx.org's and most distributions'
        # packages; Debian's is stderr, so the unit gets -e as they would have it)
        sh(name, "mkdir -p /etc/systemd/system/nginx.service.d && "
                 "cat > /etc/systemd/system/nginx.service.d/logcap.conf <<'EOF'\n%s\nEOF\n"
                 "systemctl daemon-reload" % NGINX_DROP_IN,
           "a drop-in for nginx.service")
        sh(name, "cp /etc/nginx/nginx.conf /run/nginx.conf.good; "
                 "sed -i -e 's#/etc/nginx/logcap.crt;#/etc/nginx/missing.crt;#' -e 's#^error_log stderr#\\#&#' "
                 "/etc/nginx/nginx.conf; systemctl restart nginx; cp /run/nginx.conf.good /etc/nginx/nginx.conf; "
                 "systemctl restart nginx", "a failed start of nginx")
        sh(name, "journalctl --sync; sleep 2", "journalctl --sync")
        outputs = {
            "journal-json.log": "journalctl -o json -u nginx.service --no-pager",
            "journal-short.log": "journalctl -o short -u nginx.service --no-pager",
            "journal-short-iso.log": "journalctl -o short-iso -u nginx.service --no-pager",
            "journal-short-precise.log": "journalctl -o short-precise -u nginx.service --no-pager",
            "journal-short-iso-precise.log": "journalctl -o short-iso-precise -u nginx.service --no-pager",
            "rsyslog-rfc3339.log": "grep ' nginx' /var/log/syslog",
            "rsyslog-traditional.log": "cat /var/log/nginx-traditional.log",
            "nginx-syslog-datagrams.log": "cat /run/logcap-syslog.raw",
            "nginx-file.log": "cat /var/log/nginx/error.log",
            "versions.txt": "nginx -v 2>&1; openssl version; journalctl --version | head -1; "
                            "dpkg-query -W -f='rsyslog ${Version}\\n' rsyslog",
        }
        for filename, command in outputs.items():
            with open(os.path.join(outdir, filename), "wb") as fh:
                fh.write(sh(name, command, command))
        if engine:
            _run_engine(name, outdir)
    finally:
        remove([name])


def capture_cri(outdir, run_id):
    """The k8s-file container: nginx's stderr in the CRI format, with one long line split into P parts."""
    name = PREFIX + "cri-" + run_id
    logdir = os.path.join(outdir, "cri-raw")
    os.makedirs(logdir, exist_ok=True)
    path = os.path.join(logdir, "container.log")
    start = ("export DEBIAN_FRONTEND=noninteractive; apt-get -qq update >/dev/null 2>&1 && "
             "apt-get -qq install -y --no-install-recommends nginx >/dev/null 2>&1 || exit 1; "
             "%s; cat > /etc/nginx/logcap.conf <<'EOF'\n%s\nEOF\n"
             # one line longer than conmon's buffer, in nginx's words, so that it arrives as P parts
             "python3 -c 'import sys; sys.stderr.write(\"2024/01/01 00:00:00 [error] 7#7: *1 SSL_do_handshake() "
             "failed (SSL: error:0A00010B:SSL routines::wrong version number) while SSL handshaking to upstream, "
             "client: 127.0.0.1, server: , request: \\\"GET /\" + \"a\" * 20000 + \" HTTP/1.1\\\", upstream: "
             "\\\"https://127.0.0.1:8081/\\\", host: \\\"127.0.0.1:8080\\\"\\n\")'; "
             "exec nginx -c /etc/nginx/logcap.conf -g 'daemon off;'" % (MAKE_KEY, CRI_NGINX_CONF))
    try:
        checked(podman("run", "-d", "--name", name, "--log-driver", "k8s-file", "--log-opt", "path=" + path,
                       IMAGE, "/bin/sh", "-c", start), "podman run %s" % name)
        _wait(lambda: podman("exec", name, "test", "-s", "/run/nginx-logcap.pid", timeout=30).returncode == 0,
              400, "nginx in %s" % name)
        sh(name, FAILURES, "making failed handshakes")
        checked(podman("stop", "-t", "5", name), "podman stop %s" % name)
        shutil.copyfile(path, os.path.join(outdir, "cri-k8s-file.log"))
    finally:
        remove([name])
        shutil.rmtree(logdir, ignore_errors=True)


# ------------------------------------------------------------------------------ documented formats
# No Docker engine, docker compose or Kubernetes runs here: these files wrap the real lines of
# nginx-file.log (the same capture) in the formats as the tools document them.  Named *.doc.log.
POD = "[pod/proxy-7c5ddbdf54-x2kq9/nginx] "


def _nanos(nginx_line, index):
    """An RFC 3339 UTC time with nanoseconds from nginx's ``2026/12/07 00:59:10`` (the container's UTC)."""
    return "%sT%s.%09dZ" % (nginx_line[:10].replace("/", "-"), nginx_line[11:19], 123456789 + index * 1000)


def write_documented(outdir):
    """docker-json-file.doc.log, docker-compose.doc.log, kubectl.doc.log and cut-headers.doc.log."""
    with open(os.path.join(outdir, "nginx-file.log"), encoding="utf-8", errors="replace") as fh:
        real = [line.rstrip("\n") for line in fh if line[:4].isdigit() and ("SSL" in line or "HTTPS" in line)]
    docker, compose, kube, cut = [], [], [], []
    for index, line in enumerate(real):
        when = _nanos(line, index)
        # https://docs.docker.com/engine/logging/drivers/json-file/: {"log":"...\n","stream":"stderr","time":"...Z"}
        docker.append(json.dumps({"log": line + "\n", "stream": "stderr", "time": when}, separators=(",", ":")))
        # docker compose logs: the service's container name padded, " | ", the line; --timestamps adds the time;
        # on a terminal the prefix is coloured
        compose.append(["nginx-1  | %s", "nginx-1  | %s %%s" % when, "\x1b[36mnginx-1  | \x1b[0m%s"][index % 3] % line)
        # kubectl logs --prefix [--timestamps]: "[pod/NAME/CONTAINER] " then RFC 3339 nanoseconds
        kube.append((POD + when + " " + line) if index % 2 else (POD + line if index % 4 else when + " " + line))
        # what tools keep of a line: no date; no date and pid; no header at all
        head, _sep, rest = line.partition("] ")
        cut.append([line[20:], rest.partition(": ")[2], rest.partition(": ")[2].partition(" ")[2]][index % 3])
    # Docker splits a line longer than 16 KiB into entries whose "log" does not end in a newline
    long_line = real[0].replace('request: "GET /', 'request: "GET /' + "a" * 20000, 1)
    docker += [json.dumps({"log": part, "stream": "stderr", "time": _nanos(real[0], 99)}, separators=(",", ":"))
               for part in (long_line[:16384], long_line[16384:] + "\n")]
    for name, rows in (("docker-json-file.doc.log", docker), ("docker-compose.doc.log", compose),
                       ("kubectl.doc.log", kube), ("cut-headers.doc.log", cut)):
        with open(os.path.join(outdir, name), "w", encoding="utf-8") as fh:
            fh.write("\n".join(rows) + "\n")


def capture(outdir, run_id=None, engine=False):
    run_id = run_id or uuid.uuid4().hex[:8]
    os.makedirs(outdir, exist_ok=True)
    capture_journal(outdir, run_id, engine=engine)
    capture_cri(outdir, run_id)
    return sorted(os.listdir(outdir))


if __name__ == "__main__":
    if sys.argv[1:2] == ["--documented"]:
        write_documented(sys.argv[2])
        sys.exit(0)
    reason = unavailable()
    if reason:
        sys.exit("log_formats_capture: %s" % reason)
    print(json.dumps(capture(sys.argv[1])))
