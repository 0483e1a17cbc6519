# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Collect, on the managed host, the raw text of nginx's configuration.

This is the host half of nginx_tls_info (standard library only).  It does not
interpret the configuration: it gathers

* ``nginx -V`` (version, TLS library, compiled-in paths),
* ``nginx -T`` (the text nginx itself reads, every include expanded; its rc and
  stderr, which hold nginx's own ``[emerg]`` line for a rejected configuration),
* when nginx is absent or rejects the configuration, the files of ``config`` and
  of its includes, read as text,
* a summary of the certificate files the configuration names (``ssl_certificate``,
  ``proxy_ssl_trusted_certificate``, ...), never private keys,

and the controller (plugins/plugin_utils/_nginx_*.py) parses and judges it.

The tokenizer below only finds ``include`` patterns and certificate paths; the
real parse is crossplane's, on the controller.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import ssl
import subprocess

from ansible_collections.tlsops.handshake.plugins.module_utils import _x509_lite as x509
from ansible_collections.tlsops.handshake.plugins.module_utils._nginx_tokens import statements

NGINX_CANDIDATES = ("/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/local/nginx/sbin/nginx",
                    "/usr/bin/nginx", "/opt/nginx/sbin/nginx")
DEFAULT_CONFIG = "/etc/nginx/nginx.conf"
SOURCES = ("auto", "nginx", "files")
MAX_FILE_BYTES = 8 * 1024 * 1024
MAX_FILES = 5000

# Directives whose first argument names a PEM file of certificates (never keys).
CERTIFICATE_DIRECTIVES = ("ssl_certificate", "proxy_ssl_certificate", "grpc_ssl_certificate",
                          "uwsgi_ssl_certificate")
CA_DIRECTIVES = ("ssl_trusted_certificate", "ssl_client_certificate", "proxy_ssl_trusted_certificate",
                 "grpc_ssl_trusted_certificate", "uwsgi_ssl_trusted_certificate")

HEADER_RE = re.compile(r"^# configuration file (.+):$")
_LOG_RE = re.compile(r"\[(emerg|alert|crit|error|warn|notice)\] \d+#\d+: (.*)$")


class CollectError(ValueError):
    """A parameter can never work; the message names it and the fix."""


# --------------------------------------------------------------------------- nginx itself

def find_nginx(nginx_path=None):
    """Path of the nginx binary: ``nginx_path`` (must be executable), else PATH, else the usual places."""
    if nginx_path:
        if not (os.path.isfile(nginx_path) and os.access(nginx_path, os.X_OK)):
            raise CollectError("nginx_path: %s is not an executable file; give the path of the nginx binary "
                               "or leave nginx_path unset to search PATH and %s"
                               % (nginx_path, ", ".join(NGINX_CANDIDATES)))
        return nginx_path
    found = shutil.which("nginx")
    if found:
        return found
    for candidate in NGINX_CANDIDATES:
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


def run(argv, timeout):
    """``(rc, stdout, stderr)``; rc is None when the command could not run or timed out."""
    try:
        proc = subprocess.run(argv, capture_output=True, check=False, timeout=timeout,
                              stdin=subprocess.DEVNULL, env=dict(os.environ, LC_ALL="C"))
    except subprocess.TimeoutExpired:
        return None, "", "%s did not finish within %s s" % (" ".join(argv), timeout)
    except OSError as exc:
        return None, "", "cannot run %s: %s" % (argv[0], exc)
    return (proc.returncode, proc.stdout.decode("utf-8", "replace"), proc.stderr.decode("utf-8", "replace"))


def parse_version_output(text):
    """What ``nginx -V`` says: product, version, TLS library built with / running with, paths."""
    info = {"product": None, "version": None, "openssl_built": None, "openssl_running": None,
            "configure_arguments": None, "conf_path": None, "prefix": None}
    for line in (text or "").splitlines():
        line = line.strip()
        match = re.match(r"nginx version: ([^/\s]+)/(\S+)", line)
        if match:
            info["product"], info["version"] = match.group(1), match.group(2)
            continue
        match = re.match(r"built with (.+?)(?: \(running with (.+)\))?$", line)
        if match and not line.startswith("built by"):
            info["openssl_built"] = " ".join(match.group(1).split())
            running = match.group(2)
            info["openssl_running"] = " ".join(running.split()) if running else info["openssl_built"]
            continue
        if line.startswith("configure arguments:"):
            args = line[len("configure arguments:"):].strip()
            info["configure_arguments"] = args
            for key, field in (("--conf-path=", "conf_path"), ("--prefix=", "prefix")):
                match = re.search(r"(?:^|\s)%s(\S+)" % re.escape(key), args)
                if match:
                    info[field] = match.group(1).strip("'\"")
    return info


def nginx_messages(stderr):
    """nginx's own log lines in ``stderr`` as ``[level] text`` (the ``[emerg]`` of a rejected config)."""
    messages = []
    for line in (stderr or "").splitlines():
        match = _LOG_RE.search(line)
        if match:
            messages.append("[%s] %s" % (match.group(1), match.group(2).strip()))
    return messages


# --------------------------------------------------------------------------- nginx -T text

def split_dump(text):
    """Split ``nginx -T`` output into ``[{path, content}]`` on its ``# configuration file PATH:`` headers.

    nginx writes every file once, each followed by one extra newline, which is removed again so
    that line numbers and content are the file's own.
    """
    files = []
    current = None
    for line in (text or "").splitlines(True):
        match = HEADER_RE.match(line.rstrip("\r\n"))
        if match and os.path.isabs(match.group(1)):
            if current is not None:
                files.append(current)
            current = {"path": match.group(1), "content": []}
            continue
        if current is not None:
            current["content"].append(line)
    if current is not None:
        files.append(current)
    for entry in files:
        content = "".join(entry["content"])
        entry["content"] = content[:-1] if content.endswith("\n") else content
    return files


def _full_path(path, conf_prefix):
    return path if os.path.isabs(path) else os.path.normpath(os.path.join(conf_prefix, path))


def _read_text(path):
    size = os.path.getsize(path)
    if size > MAX_FILE_BYTES:
        raise OSError("file is larger than %d bytes" % MAX_FILE_BYTES)
    with open(path, "rb") as handle:
        return handle.read().decode("utf-8", "replace")


def read_tree(main, conf_prefix):
    """Read ``main`` and every file its ``include`` directives name (globs as nginx expands them).

    Returns ``(files, errors)``: ``[{path, content}]`` in reading order and ``[{path, error}]``.
    """
    files, errors, seen = [], [], set()
    pending = [main]
    while pending and len(files) < MAX_FILES:
        path = pending.pop(0)
        if path in seen:
            continue
        seen.add(path)
        try:
            content = _read_text(path)
        except (OSError, UnicodeError) as exc:
            errors.append({"path": path, "error": str(exc)})
            continue
        files.append({"path": path, "content": content})
        found = []
        for name, args in statements(content):
            if name != "include" or not args:
                continue
            pattern = _full_path(args[0], conf_prefix)
            if glob.has_magic(pattern):
                found.extend(sorted(glob.glob(pattern)))
            else:
                found.append(pattern)
        pending = found + pending
    return files, errors


# --------------------------------------------------------------------------- certificates

def _summary(cert):
    keys = ("subject", "issuer", "self_issued", "is_ca", "not_after", "subject_key_id", "authority_key_id",
            "sha256")
    return {k: cert.get(k) for k in keys}


def _load_pem_file(path):
    """Parsed certificates of a PEM file (raises OSError / ValueError)."""
    return [x509.parse_certificate(der) for der in x509.pem_to_der_list(_read_text(path))]


def system_bundle():
    """The system CA bundle (the file OpenSSL uses by default), or None."""
    paths = ssl.get_default_verify_paths()
    for candidate in (paths.cafile, paths.openssl_cafile, "/etc/ssl/certs/ca-certificates.crt",
                      "/etc/pki/tls/certs/ca-bundle.crt"):
        if candidate and os.path.isfile(candidate):
            return candidate
    return None


def certificate_paths(files, conf_prefix):
    """``{path: kind}`` (kind ``certificate`` or ``ca``) of every file path the configuration names."""
    paths = {}
    for entry in files:
        for name, args in statements(entry["content"]):
            if not args or "$" in args[0] or args[0].startswith("data:"):
                continue
            if name in CERTIFICATE_DIRECTIVES:
                paths.setdefault(_full_path(args[0], conf_prefix), "certificate")
            elif name in CA_DIRECTIVES:
                paths[_full_path(args[0], conf_prefix)] = "ca"
    return paths


def read_certificates(paths, bundle=None):
    """Summaries of the certificate files in ``paths`` ({path: kind}).

    For each file whose last certificate is not self-issued, ``issuer_found_in`` lists the CA files
    of the configuration and the system ``bundle`` holding a certificate that issued it (with
    whether that issuer is a root), so the controller can tell "leaf issued by a root" from
    "intermediate missing".  Returns ``(summaries, bundle_error)``.
    """
    parsed, result, bundle_error = {}, {}, None
    for path, kind in sorted(paths.items()):
        entry = {"path": path, "kind": kind, "error": None, "certificates": []}
        try:
            parsed[path] = _load_pem_file(path)
            entry["certificates"] = [_summary(c) for c in parsed[path]]
            if not parsed[path]:
                entry["error"] = "no PEM CERTIFICATE block in the file"
        except (OSError, ValueError) as exc:
            entry["error"] = str(exc)
        result[path] = entry
    anchors = [(p, c) for p, kind in paths.items() if kind == "ca" for c in parsed.get(p, ())]
    needs_anchor = [p for p, kind in paths.items()
                    if kind == "certificate" and parsed.get(p) and not parsed[p][-1]["self_issued"]]
    if needs_anchor and bundle:
        try:
            anchors += [(bundle, c) for c in _load_pem_file(bundle)]
        except (OSError, ValueError) as exc:
            bundle_error = "%s: %s" % (bundle, exc)
    for path in needs_anchor:
        last = parsed[path][-1]
        result[path]["issuer_found_in"] = [
            {"file": anchor_path, "subject": cert["subject"], "self_issued": cert["self_issued"]}
            for anchor_path, cert in anchors if x509.issued_by(last, cert)]
    return result, bundle_error


# --------------------------------------------------------------------------- everything

def collect(nginx_path=None, config=None, prefix=None, source="auto", timeout=30.0):
    """Gather the raw material for the controller; see the module docs for the keys."""
    if source not in SOURCES:
        raise CollectError("source: %r is not one of %s" % (source, ", ".join(SOURCES)))
    for name, value in (("config", config), ("prefix", prefix)):
        if value and not os.path.isabs(value):
            raise CollectError("%s: %s is relative; give an absolute path" % (name, value))
    if prefix and not os.path.isdir(prefix):
        raise CollectError("prefix: %s is not a directory" % prefix)
    binary = find_nginx(nginx_path)
    if source == "nginx" and not binary:
        raise CollectError("source: nginx was requested but no nginx binary was found on PATH or in %s; "
                           "set nginx_path, or use source=files" % ", ".join(NGINX_CANDIDATES))
    if config and not os.path.isfile(config):
        raise CollectError("config: %s does not exist or is not a file" % config)

    raw = {"nginx": {"path": binary, "version_output": None}, "source": None, "config_file": None,
           "conf_prefix": None, "config_test": None, "files": [], "read_errors": [], "certificates": {}}
    compiled = {}
    if binary:
        rc, out, err = run([binary, "-V"], timeout)
        raw["nginx"]["version_output"] = (err or "") + (out or "")
        raw["nginx"]["version_rc"] = rc
        compiled = parse_version_output(raw["nginx"]["version_output"])

    main = config
    if not main:
        main = compiled.get("conf_path") or DEFAULT_CONFIG
        if not os.path.isabs(main):
            main = os.path.join(prefix or compiled.get("prefix") or "/", main)
    raw["config_file"] = main

    if binary and source != "files":
        argv = [binary, "-T"] + (["-p", prefix] if prefix else []) + (["-c", config] if config else [])
        rc, out, err = run(argv, timeout)
        raw["config_test"] = {"command": argv, "rc": rc, "ok": rc == 0, "stderr": err,
                              "messages": nginx_messages(err)}
        if rc == 0:
            raw["files"] = split_dump(out)
            raw["source"] = "nginx -T"
            if raw["files"]:
                raw["config_file"] = raw["files"][0]["path"]
        elif source == "nginx" and rc is None:
            raise CollectError("source: %s" % err)

    if not raw["files"]:
        if not os.path.isfile(main) and raw["config_test"] is None:
            raise CollectError("config: %s does not exist and no nginx binary was found to ask; give config "
                               "(the main nginx.conf) or nginx_path" % main)
        raw["files"], raw["read_errors"] = read_tree(main, os.path.dirname(main))
        raw["source"] = "files"

    raw["conf_prefix"] = os.path.dirname(raw["config_file"])
    paths = certificate_paths(raw["files"], raw["conf_prefix"])
    bundle = system_bundle()
    raw["certificates"], raw["system_bundle_error"] = read_certificates(paths, bundle)
    raw["system_bundle"] = bundle
    return raw
