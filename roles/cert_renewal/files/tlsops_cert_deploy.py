# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Deploy hook of the tlsops.handshake.cert_renewal role: put a new certificate in service, or undo it.

Run by certbot after every issuance or renewal (``--deploy-hook``; certbot sets RENEWED_LINEAGE
to /etc/letsencrypt/live/<name>), and by tlsops_cert_renew.py to deploy the ACME client's latest
certificate again. Python 3 standard library plus the collection's probe engine, installed on the
host by the role (tasks/engine.yml); ``engine_path`` in the configuration puts it on sys.path.

Steps, each named in the failure message and the state file:
  read        the new fullchain/key from the lineage, the new leaf's serial
  write       keep the current pair as <file>.previous, write the new pair atomically
              (temporary file in the same directory, fsync, rename; key 0600, owner root)
  nginx_test  the configuration test (``nginx -t``) with the new pair in place
  reload      the reload commands (``systemctl reload nginx``)
  probe       a handshake with the vhost (SNI = the certificate's first name) through the probe
              engine of tls_probe: ok, chain verified to the trust anchors (complete), and the
              SERVED serial is the new one (bounded retries: a reload is asynchronous)
On a failure after the write the previous pair is restored, the services reloaded again, the
state file <state_dir>/deploy/<name>.json records the step and the message (the role reports
it on its next run), and the hook exits 1 naming the step.

    python3 tlsops_cert_deploy.py --config /etc/tlsops-cert-renewal/config.json [--lineage DIR]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
import sys
import tempfile
import time

DEFAULT_CONFIG = "/etc/tlsops-cert-renewal/config.json"
STEPS = ("read", "write", "nginx_test", "reload", "probe")
_OUTPUT_LINES = 12


class DeployError(Exception):
    """A step failed; ``step`` is one of STEPS."""

    def __init__(self, step, message):
        super().__init__("%s: %s" % (step, message))
        self.step = step
        self.message = message


class ConfigError(Exception):
    """The configuration file is unusable; the message names it and the fix."""


# ---------------------------------------------------------------- configuration and engine


def load_config(path):
    try:
        with open(path, encoding="utf-8") as fh:
            config = json.load(fh)
    except OSError as exc:
        raise ConfigError("%s: cannot read the configuration (%s): run the tlsops.handshake.cert_renewal role"
                          % (path, exc.strerror))
    except ValueError as exc:
        raise ConfigError("%s: not JSON (%s): run the tlsops.handshake.cert_renewal role again" % (path, exc))
    if not isinstance(config, dict) or not isinstance(config.get("certificates"), list):
        raise ConfigError("%s: no 'certificates' list: run the tlsops.handshake.cert_renewal role again" % path)
    engine = config.get("engine_path")
    if engine and engine not in sys.path:
        sys.path.insert(0, engine)
    return config


def engine():
    """The probe engine and the X.509 reader (imported late: engine_path comes from the configuration)."""
    # pylint: disable=import-outside-toplevel
    from ansible_collections.tlsops.handshake.plugins.module_utils._probe import run as probe_run
    from ansible_collections.tlsops.handshake.plugins.module_utils._tls import x509_lite
    return probe_run, x509_lite


def certificate_entry(config, name):
    for entry in config["certificates"]:
        if entry.get("name") == name:
            return entry
    known = ", ".join(sorted(str(e.get("name")) for e in config["certificates"])) or "none"
    raise ConfigError("certificate %r is not managed by cert_renewal (managed: %s)" % (name, known))


def leaf_of(pem_bytes, where):
    """The parsed first certificate of a PEM chain (x509_lite's dict)."""
    _probe, x509 = engine()
    try:
        ders = x509.pem_to_der_list(pem_bytes.decode("ascii", "replace"))
        if not ders:
            raise ValueError("no CERTIFICATE block")
        return x509.parse_certificate(ders[0])
    except ValueError as exc:
        raise DeployError("read", "%s holds no readable certificate (%s)" % (where, exc))


def normal_serial(serial):
    return (serial or "").replace(":", "").lstrip("0").upper() or "0"


# ---------------------------------------------------------------- files


def now_iso():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def write_atomic(path, data, mode):
    """Write ``data`` to ``path`` so that a reader sees the old or the new content, never a mix.

    A temporary file in the same directory (same file system: the rename is atomic), mode set
    before any byte is written, owner root when running as root, fsync, rename, fsync the directory.
    """
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix="." + os.path.basename(path) + ".tlsops-")
    try:
        os.fchmod(fd, mode)
        if os.geteuid() == 0:
            os.fchown(fd, 0, 0)
        with os.fdopen(fd, "wb") as fh:
            fd = None
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        tmp = None
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    finally:
        if fd is not None:
            os.close(fd)
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)


def read_file(path, step, what):
    try:
        with open(path, "rb") as fh:
            return fh.read(1024 * 1024)
    except OSError as exc:
        raise DeployError(step, "cannot read %s %s: %s" % (what, path, exc.strerror))


def write_state(state_dir, kind, name, state):
    directory = os.path.join(state_dir, kind)
    os.makedirs(directory, mode=0o755, exist_ok=True)
    write_atomic(os.path.join(directory, name + ".json"), (json.dumps(state, indent=1, sort_keys=True) + "\n").encode(),
                 0o644)


def read_state(state_dir, kind, name):
    try:
        with open(os.path.join(state_dir, kind, name + ".json"), encoding="utf-8") as fh:
            return json.load(fh)
    except (OSError, ValueError):
        return None


# ---------------------------------------------------------------- steps


def tail(text, lines=_OUTPUT_LINES):
    return " | ".join(line.strip() for line in (text or "").strip().splitlines()[-lines:] if line.strip())


def run_command(argv, step, timeout):
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False,
                              stdin=subprocess.DEVNULL)
    except OSError as exc:
        raise DeployError(step, "%s could not run: %s" % (" ".join(argv), exc.strerror))
    except subprocess.TimeoutExpired:
        raise DeployError(step, "%s did not finish within %d s" % (" ".join(argv), timeout))
    if proc.returncode != 0:
        raise DeployError(step, "%s exited %d: %s" % (" ".join(argv), proc.returncode,
                                                      tail(proc.stderr or proc.stdout) or "no output"))


def check_and_reload(entry, settings):
    timeout = int(settings.get("command_timeout", 60))
    if settings.get("nginx_test_command"):
        run_command(settings["nginx_test_command"], "nginx_test", timeout)
    for argv in entry.get("reload_commands") or []:
        run_command(argv, "reload", timeout)


def probe_served(entry, settings, serial):
    """Handshake with the vhost until it serves ``serial`` with a verified chain (bounded)."""
    probe_run, _x509 = engine()
    probe = dict(settings.get("probe") or {})
    probe.update(entry.get("probe") or {})
    target = {"host": probe.get("host", "127.0.0.1"), "port": int(probe.get("port", 443)),
              "server_name": entry["domains"][0]}
    options = {"ca_file": probe.get("ca_file"), "timeout": float(probe.get("timeout", 5)), "verify": True,
               "http_request": False}
    attempts = max(1, min(int(probe.get("attempts", 10)), 100))
    delay = max(0.0, min(float(probe.get("delay", 1)), 30.0))
    where = "%s:%d (SNI %s)" % (target["host"], target["port"], target["server_name"])
    problem = "no probe ran"
    for attempt in range(attempts):
        if attempt:
            time.sleep(delay)
        try:
            results, _summary = probe_run.probe_targets([target], options)
        except ValueError as exc:  # ProbeConfigError: names the setting
            raise DeployError("probe", "the probe settings can never work: %s" % exc)
        result = results[0]
        served = normal_serial((result.get("certificate") or {}).get("serial"))
        if not result["ok"]:
            problem = "%s: %s (%s)" % (where, result["cause"], result["detail"])
            if result["cause"] == "cert_chain_incomplete":
                problem += "; the served chain is incomplete: deploy fullchain.pem, not cert.pem"
        elif served != normal_serial(serial):
            problem = "%s serves serial %s, not the new %s" % (where, served, normal_serial(serial))
        else:
            return served
    raise DeployError("probe", "%s after %d attempt(s)" % (problem, attempts))


def served_serial(entry, settings):
    """The serial the vhost serves now (after a restore), or None; never raises."""
    try:
        probe_run, _x509 = engine()
        probe = dict(settings.get("probe") or {})
        probe.update(entry.get("probe") or {})
        results, _summary = probe_run.probe_targets(
            [{"host": probe.get("host", "127.0.0.1"), "port": int(probe.get("port", 443)),
              "server_name": entry["domains"][0]}],
            {"ca_file": probe.get("ca_file"), "timeout": float(probe.get("timeout", 5)), "verify": False,
             "diagnose": False, "http_request": False})
        return normal_serial((results[0].get("certificate") or {}).get("serial"))
    except Exception:  # pylint: disable=broad-except
        return None


# ---------------------------------------------------------------- the deploy


def _pair(entry, chain, key):
    return ((entry["fullchain"], chain, 0o644), (entry["key"], key, 0o600))


def keep_previous(entry):
    """Copy the deployed pair to <file>.previous; returns {path: bytes or None} for a restore."""
    previous = {}
    for path, mode in ((entry["fullchain"], 0o644), (entry["key"], 0o600)):
        if os.path.exists(path):
            data = read_file(path, "write", "the deployed file")
            write_atomic(path + ".previous", data, mode)
            previous[path] = (data, mode)
        else:
            previous[path] = None
    return previous


def restore(previous):
    for path, saved in previous.items():
        if saved is None:
            if os.path.exists(path):
                os.unlink(path)
        else:
            write_atomic(path, saved[0], saved[1])


def deploy(config, name, lineage):
    """Deploy the lineage's pair for certificate ``name``; returns the state dict (``ok`` says how it went)."""
    entry = certificate_entry(config, name)
    state = {"name": name, "lineage": lineage, "time": now_iso(), "ok": False, "step": "read", "message": "",
             "serial": None, "served_serial": None, "restored": False}
    previous = None
    try:
        chain = read_file(os.path.join(lineage, "fullchain.pem"), "read", "the new chain")
        key = read_file(os.path.join(lineage, "privkey.pem"), "read", "the new key")
        state["serial"] = normal_serial(leaf_of(chain, os.path.join(lineage, "fullchain.pem"))["serial"])
        state["step"] = "write"
        previous = keep_previous(entry)
        for path, data, mode in _pair(entry, chain, key):
            try:
                write_atomic(path, data, mode)
            except OSError as exc:
                raise DeployError("write", "cannot write %s: %s" % (path, exc.strerror))
        state["step"] = "nginx_test"
        check_and_reload(entry, config)
        state["step"] = "probe"
        state["served_serial"] = probe_served(entry, config, state["serial"])
        state.update(ok=True, step="done", message="serving serial %s" % state["serial"])
    except DeployError as failure:
        state["step"] = failure.step
        state["message"] = failure.message
        if previous is not None:
            _undo(entry, config, previous, state)
    return state


def _undo(entry, config, previous, state):
    try:
        restore(previous)
        state["restored"] = True
        for argv in entry.get("reload_commands") or []:
            run_command(argv, "reload", int(config.get("command_timeout", 60)))
        state["message"] += "; the previous pair was restored and reloaded"
    except (DeployError, OSError) as exc:
        state["message"] += "; RESTORING THE PREVIOUS PAIR FAILED TOO: %s" % exc
    # The reload is asynchronous: wait (bounded) until the restored certificate is the one served.
    saved = previous.get(entry["fullchain"])
    expected = None
    if saved is not None:
        try:
            expected = normal_serial(leaf_of(saved[0], entry["fullchain"])["serial"])
        except DeployError:
            expected = None
    probe = dict(config.get("probe") or {}, **(entry.get("probe") or {}))
    for attempt in range(max(1, min(int(probe.get("attempts", 10)), 100))):
        if attempt:
            time.sleep(max(0.0, min(float(probe.get("delay", 1)), 30.0)))
        state["served_serial"] = served_serial(entry, config)
        if expected is None or state["served_serial"] == expected:
            break


def main(argv=None):
    parser = argparse.ArgumentParser(description="Deploy a new certificate for nginx, or restore the previous one.")
    parser.add_argument("--config", default=os.environ.get("TLSOPS_CERT_RENEWAL_CONFIG", DEFAULT_CONFIG))
    parser.add_argument("--lineage", default=os.environ.get("RENEWED_LINEAGE"),
                        help="the ACME client's directory of the certificate (default: $RENEWED_LINEAGE)")
    args = parser.parse_args(argv)
    if not args.lineage:
        sys.stderr.write("tlsops-cert-deploy: no lineage: give --lineage or run as certbot's deploy hook "
                         "(RENEWED_LINEAGE)\n")
        return 2
    name = os.path.basename(os.path.normpath(args.lineage))
    try:
        config = load_config(args.config)
        state = deploy(config, name, args.lineage)
    except ConfigError as exc:
        sys.stderr.write("tlsops-cert-deploy %s: %s\n" % (name, exc))
        return 2
    write_state(config.get("state_dir", "/var/lib/tlsops-cert-renewal"), "deploy", name, state)
    if state["ok"]:
        sys.stdout.write("tlsops-cert-deploy %s: %s\n" % (name, state["message"]))
        return 0
    sys.stderr.write("tlsops-cert-deploy %s: failed at step %s: %s\n" % (name, state["step"], state["message"]))
    return 1


if __name__ == "__main__":
    sys.exit(main())
