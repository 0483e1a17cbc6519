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

and the controller (plugins/plugin_utils/_nginx/) parses and judges it.

Every file is read through _common/safe_files.py (regular files only, at most MAX_FILE_BYTES,
errors naming the option or the file:line that named the path).  The files are read
before ``nginx -T`` runs: a FIFO or a device where nginx opens a file would block
nginx or feed it forever, so then nginx is not run and the reason is reported.
Inline private keys are redacted (secrets.py) before anything leaves the host.

The host-side reader (_nginx/tokens, _nginx/includes, _nginx/output) only finds
``include`` patterns, certificate paths and nginx's own messages; the real parse is
crossplane's, on the controller.
"""

from __future__ import annotations

import os
import re
import shutil
import ssl
import stat
import subprocess
from typing import Any, Dict

from ansible_collections.tlsops.handshake.plugins.module_utils._common import safe_files as safe
from ansible_collections.tlsops.handshake.plugins.module_utils._nginx import includes
from ansible_collections.tlsops.handshake.plugins.module_utils._nginx.output import nginx_messages, parse_version_output  # noqa: F401 (re-exported)
from ansible_collections.tlsops.handshake.plugins.module_utils._nginx.secrets import redact
from ansible_collections.tlsops.handshake.plugins.module_utils._nginx.tokens import located_statements
from ansible_collections.tlsops.handshake.plugins.module_utils._tls import x509_lite as x509

NGINX_CANDIDATES = ("/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/local/nginx/sbin/nginx",
                    "/usr/bin/nginx", "/opt/nginx/sbin/nginx")
DEFAULT_CONFIG = "/etc/nginx/nginx.conf"
SOURCES = ("auto", "nginx", "files")
MAX_FILE_BYTES = 8 * 1024 * 1024
MAX_FILES = 5000
# All files together: what is read stays in memory and goes to the controller, and `nginx -T`
# prints the same files again, so it is not run on a tree larger than this.
MAX_TREE_BYTES = 64 * 1024 * 1024

# Directives whose first argument names a PEM file of certificates (never keys).
CERTIFICATE_DIRECTIVES = ("ssl_certificate", "proxy_ssl_certificate", "grpc_ssl_certificate",
                          "uwsgi_ssl_certificate")
CA_DIRECTIVES = ("ssl_trusted_certificate", "ssl_client_certificate", "proxy_ssl_trusted_certificate",
                 "grpc_ssl_trusted_certificate", "uwsgi_ssl_trusted_certificate")
# Directives whose first argument names a file nginx opens and reads while it tests the configuration.
_READ_FILES = ("ssl_dhparam", "ssl_session_ticket_key", "ssl_stapling_file", "load_module")
_READ_FILE_SUFFIXES = ("certificate_key", "crl", "password_file")
READ_BY_NGINX = frozenset(CERTIFICATE_DIRECTIVES + CA_DIRECTIVES + _READ_FILES) | frozenset(
    "%s%s" % (prefix, suffix) for prefix in ("ssl_", "proxy_ssl_", "grpc_ssl_", "uwsgi_ssl_") for suffix in _READ_FILE_SUFFIXES)
# ... and opens for writing, relative to the prefix (-p): a FIFO without a reader blocks it.
WRITTEN_BY_NGINX = ("error_log", "access_log")
_NOT_LOG_FILES = ("off", "stderr")

HEADER_RE = re.compile(r"^# configuration file (.+):$")


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


# --------------------------------------------------------------------------- nginx -T text

def split_dump(text):
    """Split ``nginx -T`` output into ``[{path, content}]`` on its ``# configuration file PATH:`` headers.

    nginx writes every file once, each followed by one extra newline, which is removed again so
    that line numbers and content are the file's own.
    """
    files = []
    current: Any = None
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


def _problem(exc):
    """What is wrong with a file, as the end of "PATH could not be read: ..."."""
    if isinstance(exc, safe.FileRefused):
        return "it is %s" % exc.problem
    return str(exc)


def _where(origin, directive):
    """``/etc/nginx/nginx.conf:12 include``: where a path came from, for messages."""
    return "%s:%s %s" % (origin[0], origin[1], directive)


def read_tree(main, conf_prefix, where="config"):
    """Read ``main`` and every file its ``include`` directives name (_nginx/includes: as nginx does).

    Returns ``(files, errors)``: ``[{path, content}]`` in reading order, each file once, and
    ``[{path, error, file, line, message}]`` (``file``/``line`` of the include that named the
    path, None for ``main``; ``message`` a whole sentence naming ``where`` or that file:line).
    """
    files, errors = [], []
    budget = {"left": MAX_TREE_BYTES}

    def read(path, origin):
        content = safe.read_text(path, min(MAX_FILE_BYTES, budget["left"]),
                                 where=_where(origin, "include") if origin else where,
                                 what="an nginx configuration file")
        budget["left"] -= len(content.encode("utf-8", "replace"))
        files.append({"path": path, "content": content})
        return content

    def refused(path, origin, exc):
        tree_full = budget["left"] < MAX_FILE_BYTES and getattr(exc, "problem", "").startswith("larger than")
        if tree_full:
            exc = safe.FileRefused(path, "past the %s the whole configuration may hold"
                                   % safe.human_size(MAX_TREE_BYTES), exc.where,
                                   "a configuration tree under that size in all")
        error = {"path": path, "error": _problem(exc), "message": str(exc),
                 "file": origin[0] if origin else None, "line": origin[1] if origin else None}
        if tree_full:
            error["tree_full"] = True
        if not os.path.lexists(path):
            error["missing"] = True     # nginx refuses a configuration whose include names no file
        errors.append(error)

    for dummy_statement in includes.walk(main, conf_prefix, read, on_error=refused, once=True, max_files=MAX_FILES):
        pass
    return files, errors


def _blocking_kind(path, for_writing):
    """What makes ``path`` hang or flood nginx (a FIFO, a device), or None."""
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError):
        return None
    if stat.S_ISFIFO(mode):
        return safe.kind_of(mode)
    if for_writing or stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return None       # nginx writes to /dev/null or /dev/stderr without trouble
    return safe.kind_of(mode)


def statements_once():
    """``located_statements`` that tokenizes each distinct file content once (the files are read through
    several times: blocking_files, certificate_paths; nginx -T's dump repeats what was read before)."""
    seen = {}

    def statements(content):
        found = seen.get(content)
        if found is None:
            found = seen[content] = list(located_statements(content))
        return found
    return statements


def blocking_files(files, conf_prefix, prefix, statements=located_statements):
    """Why ``nginx -T`` must not run on this configuration: ``["FILE:LINE DIRECTIVE: PATH is a FIFO ..."]``.

    nginx opens the includes and the certificate, key, CRL, password and log files while it
    tests a configuration; a FIFO there blocks it until a writer (or reader) appears, a
    device feeds it forever.  Only stat() is used here: nothing is opened.
    """
    reasons = []
    for entry in files:
        for name, args, line, dummy_spans in statements(entry["content"]):
            if not args or "$" in args[0] or args[0].startswith("data:"):
                continue
            for_writing = name in WRITTEN_BY_NGINX
            if name == "include":
                paths = includes.expand(args[0], conf_prefix)
            elif name in READ_BY_NGINX:
                paths = [_full_path(args[0], conf_prefix)]
            elif for_writing and args[0] not in _NOT_LOG_FILES and not args[0].startswith(("syslog:", "memory:")):
                paths = [_full_path(args[0], prefix)]
            else:
                continue
            for path in paths:
                kind = _blocking_kind(path, for_writing)
                if kind:
                    reasons.append("%s: %s is %s" % (_where((entry["path"], line), name), path, kind))
    return reasons


# --------------------------------------------------------------------------- certificates

def _summary(cert):
    keys = ("subject", "issuer", "self_issued", "is_ca", "not_after", "subject_key_id", "authority_key_id",
            "sha256")
    return {k: cert.get(k) for k in keys}


def _load_pem_file(path, where):
    """Parsed certificates of a PEM file (raises OSError / ValueError)."""
    text = safe.read_text(path, MAX_FILE_BYTES, where=where, what="a PEM file of certificates")
    return [x509.parse_certificate(der) for der in x509.pem_to_der_list(text)]


def system_bundle():
    """The system CA bundle (the file OpenSSL uses by default), or None."""
    paths = ssl.get_default_verify_paths()
    for candidate in (paths.cafile, paths.openssl_cafile, "/etc/ssl/certs/ca-certificates.crt",
                      "/etc/pki/tls/certs/ca-bundle.crt"):
        if candidate and os.path.isfile(candidate):
            return candidate
    return None


def certificate_paths(files, conf_prefix, statements=located_statements):
    """``{path: {kind, directive, file, line}}`` of every certificate file path the configuration names.

    ``kind`` is ``certificate`` or ``ca`` (a path named both ways is a CA file); ``directive``,
    ``file`` and ``line`` say where it is named first (as that kind).
    """
    paths = {}
    for entry in files:
        for name, args, line, dummy_spans in statements(entry["content"]):
            if not args or "$" in args[0] or args[0].startswith("data:"):
                continue
            if name in CERTIFICATE_DIRECTIVES:
                kind = "certificate"
            elif name in CA_DIRECTIVES:
                kind = "ca"
            else:
                continue
            path = _full_path(args[0], conf_prefix)
            if path not in paths or (kind == "ca" and paths[path]["kind"] != "ca"):
                paths[path] = {"kind": kind, "directive": name, "file": entry["path"], "line": line}
    return paths


def read_certificates(paths, bundle=None):
    """Summaries of the certificate files in ``paths`` (as certificate_paths() gives them).

    For each file whose last certificate is not self-issued, ``issuer_found_in`` lists the CA files
    of the configuration and the system ``bundle`` holding a certificate that issued it (with
    whether that issuer is a root), so the controller can tell "leaf issued by a root" from
    "intermediate missing".  Returns ``(summaries, bundle_error)``.
    """
    parsed, result, bundle_error = {}, {}, None
    for path, named in sorted(paths.items()):
        entry = dict(named, path=path, error=None, certificates=[])
        try:
            parsed[path] = _load_pem_file(path, _where((named["file"], named["line"]), named["directive"]))
            entry["certificates"] = [_summary(c) for c in parsed[path]]
            if not parsed[path]:
                entry["error"] = "no PEM CERTIFICATE block in the file"
        except (OSError, ValueError) as exc:
            entry["error"] = _problem(exc)
            entry["missing"] = not os.path.lexists(path)
        result[path] = entry
    anchors = [(p, c) for p, named in paths.items() if named["kind"] == "ca" for c in parsed.get(p, ())]
    needs_anchor = [p for p, named in paths.items()
                    if named["kind"] == "certificate" and parsed.get(p) and not parsed[p][-1]["self_issued"]]
    if needs_anchor and bundle:
        try:
            anchors += [(bundle, c) for c in _load_pem_file(bundle, "the system CA bundle")]
        except (OSError, ValueError) as exc:
            bundle_error = str(exc) if isinstance(exc, safe.FileRefused) else "%s: %s" % (bundle, exc)
    for path in needs_anchor:
        last = parsed[path][-1]
        result[path]["issuer_found_in"] = [
            {"file": anchor_path, "subject": cert["subject"], "self_issued": cert["self_issued"]}
            for anchor_path, cert in anchors if x509.issued_by(last, cert)]
    return result, bundle_error


# --------------------------------------------------------------------------- everything

def _check_config(config):
    """``config`` must name an existing regular file (nginx would block on a FIFO, read a device forever)."""
    try:
        mode = os.stat(config).st_mode
    except OSError:
        raise CollectError("config: %s does not exist or cannot be looked at; give the main nginx configuration "
                           "file (an absolute path)" % config)
    kind = safe.kind_of(mode)
    if kind:
        raise CollectError("config: %s is %s; give the path of the main nginx configuration file (a regular file)"
                           % (config, kind))


def _skipped_test(argv, blockers, too_big=()):
    reasons = []
    if blockers:
        reasons.append("%s (nginx would wait on it or read it forever); give a regular file there"
                       % "; ".join(blockers))
    for error in too_big:
        reasons.append("%s %s (its dump would be as large); the files read up to there are reported"
                       % (error["path"], error["error"]))
    text = "nginx -T was not run: %s" % "; ".join(reasons)
    return {"command": argv, "rc": None, "ok": False, "stderr": text, "messages": [], "skipped": True}


def _redact_collection(raw):
    """Nothing that leaves the host carries a private key (see _nginx_secrets)."""
    for entry in raw["files"]:
        entry["content"] = redact(entry["content"])
    test = raw["config_test"]
    if test:
        test["stderr"] = redact(test["stderr"])
        test["messages"] = [redact(m) for m in test["messages"]]
    raw["nginx"]["version_output"] = redact(raw["nginx"]["version_output"])


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
    if config:
        _check_config(config)

    raw: Dict[str, Any] = {"nginx": {"path": binary, "version_output": None}, "source": None, "config_file": None,
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

    # Read first, with the safe reader: what nginx -T would open tells whether it may run.
    tree, tree_errors = read_tree(main, os.path.dirname(main))
    statements = statements_once()
    main_error = [e for e in tree_errors if e["file"] is None]
    if main_error and (config or not binary):
        if config:
            raise CollectError(main_error[0]["message"])
        raise CollectError("config: %s cannot be read (%s) and no nginx binary was found to ask; give config (the "
                           "main nginx.conf) or nginx_path" % (main, main_error[0]["error"]))

    if binary and source != "files":
        argv = [binary, "-T"] + (["-p", prefix] if prefix else []) + (["-c", config] if config else [])
        log_prefix = prefix or compiled.get("prefix") or os.path.dirname(main)
        blockers = blocking_files(tree, os.path.dirname(main), log_prefix, statements)
        too_big = [e for e in tree_errors if e.get("tree_full")]
        if blockers or too_big:
            raw["config_test"] = _skipped_test(argv, blockers, too_big[:1])
            if source == "nginx":
                raise CollectError("source: %s; or use source=files" % raw["config_test"]["stderr"])
        else:
            rc, out, err = run(argv, timeout)
            raw["config_test"] = {"command": argv, "rc": rc, "ok": rc == 0, "stderr": err,
                                  "messages": nginx_messages(err)}
            if rc == 0:
                raw["files"] = split_dump(out)
                raw["source"] = "nginx -T"
                if raw["files"]:
                    raw["config_file"] = raw["files"][0]["path"]
            elif source == "nginx" and rc is None:
                raise CollectError("source: %s" % redact(err))

    if not raw["files"]:
        raw["files"], raw["read_errors"] = tree, tree_errors
        raw["source"] = "files"

    raw["conf_prefix"] = os.path.dirname(raw["config_file"])
    paths = certificate_paths(raw["files"], raw["conf_prefix"], statements)
    bundle = system_bundle()
    raw["certificates"], raw["system_bundle_error"] = read_certificates(paths, bundle)
    raw["system_bundle"] = bundle
    _redact_collection(raw)
    return raw
