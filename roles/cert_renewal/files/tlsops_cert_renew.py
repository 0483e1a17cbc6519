# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Renewal driver of the tlsops.handshake.cert_renewal role: decide what is due, run certbot, fall back.

Run by the systemd timer tlsops-cert-renewal.timer (through its service) and by the role.
Python 3 standard library plus the collection's X.509 reader (engine_path in the configuration).

For each managed certificate the plan is one of:
  issue     the ACME client has no certificate of that name yet, or its names or key type changed
  renew     forced, or what nginx is given (the deployed fullchain) is inside its renewal window:
            fewer days left than min(renew_before_days, lifetime x renew_before_fraction)
  redeploy  the ACME client holds a newer certificate than the deployed one (a deploy that failed
            and was undone): run the deploy hook again, without a new issuance
  none      nothing to do
``--plan`` prints the plan and changes nothing (the role's check mode). Otherwise issue/renew run
``certbot certonly`` against directory_url, and against fallback_directory_url when that fails;
certbot runs tlsops_cert_deploy.py as its deploy hook, whose state file says how the deploy went.

    python3 tlsops_cert_renew.py --config FILE [--plan] [--force NAME ...] [--force-all] [--json]
Exit status: 0 when every certificate is fine, 1 when one failed (the JSON and stderr say why).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import re
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import tlsops_cert_deploy as deploy_hook  # noqa: E402  pylint: disable=wrong-import-position

STATE_DIR = "/var/lib/tlsops-cert-renewal"
_KEY_TYPES = {"ecdsa-p256": ("EC", "secp256r1"), "ecdsa-p384": ("EC", "secp384r1"),
              "rsa-2048": ("RSA", 2048), "rsa-3072": ("RSA", 3072)}
_CURVE_NAMES = {"secp256r1": ("secp256r1", "prime256v1", "P-256"), "secp384r1": ("secp384r1", "P-384")}


def _parse_time(text):
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)


def read_leaf(path):
    """x509_lite's dict of the first certificate in ``path``, or None when there is none."""
    if not os.path.exists(path):
        return None
    try:
        return deploy_hook.leaf_of(deploy_hook.read_file(path, "read", "the certificate"), path)
    except deploy_hook.DeployError:
        return None


def renewal_window(leaf, config, now):
    """(due, seconds left, seconds before expiry at which renewal starts)."""
    not_before, not_after = _parse_time(leaf["not_before"]), _parse_time(leaf["not_after"])
    lifetime = (not_after - not_before).total_seconds()
    before = min(float(config.get("renew_before_days", 30)) * 86400,
                 lifetime * float(config.get("renew_before_fraction", 1.0 / 3)))
    left = (not_after - now).total_seconds()
    return left < before, left, before


def _key_matches(leaf, key_type):
    want_kind, want_detail = _KEY_TYPES[key_type]
    if (leaf.get("key_type") or "").upper() not in (want_kind, "ECDSA" if want_kind == "EC" else want_kind):
        return False
    if want_kind == "RSA":
        return leaf.get("key_bits") == want_detail
    return (leaf.get("curve") or "") in _CURVE_NAMES[want_detail]


def plan_one(entry, config, force, now):
    name = entry["name"]
    lineage = os.path.join(config.get("config_dir", "/etc/letsencrypt"), "live", name)
    deployed = read_leaf(entry["fullchain"])
    issued = read_leaf(os.path.join(lineage, "cert.pem"))
    item = {"name": name, "domains": entry["domains"], "action": "none", "reason": "",
            "deployed_serial": deployed and deploy_hook.normal_serial(deployed["serial"]),
            "deployed_not_after": deployed and deployed["not_after"], "lineage": lineage,
            "last_deploy": deploy_hook.read_state(config.get("state_dir", STATE_DIR), "deploy", name)}
    if issued is None:
        item.update(action="issue", reason="the ACME client has no certificate %s yet" % name)
    elif sorted(issued.get("san_dns") or []) != sorted(entry["domains"]):
        item.update(action="issue", reason="the names changed: %s -> %s" % (
            ", ".join(sorted(issued.get("san_dns") or [])), ", ".join(sorted(entry["domains"]))))
    elif not _key_matches(issued, entry.get("key_type", "ecdsa-p256")):
        item.update(action="issue", reason="the key type changed to %s" % entry.get("key_type"))
    elif force:
        item.update(action="renew", reason="renewal forced")
    else:
        due, left, before = renewal_window(issued, config, now)
        if due:
            item.update(action="renew", reason="%.1f days left, renewal starts %.1f days before expiry"
                        % (left / 86400, before / 86400))
        elif deployed is None:
            item.update(action="redeploy", reason="nothing is deployed at %s" % entry["fullchain"])
        elif deploy_hook.normal_serial(issued["serial"]) != item["deployed_serial"]:
            item.update(action="redeploy", reason="the deployed certificate (serial %s) is not the ACME client's "
                        "latest (%s): a deploy failed and was undone, or the files were replaced"
                        % (item["deployed_serial"], deploy_hook.normal_serial(issued["serial"])))
    return item


# What an EAB key id and a base64url HMAC key are made of: nothing that could end a line of certbot's
# configuration file and start another option there.
_EAB_VALUE = re.compile(r"[A-Za-z0-9_.:=+/-]+\Z")


class EabError(ValueError):
    """An external account binding that cannot be handed to certbot; the message names the field."""


@contextlib.contextmanager
def eab_config(eab, what="eab"):
    """A certbot configuration file (0600, removed afterwards) holding the EAB key id and HMAC key, or None.

    certbot reads every long option from the file given with --config; on its command line the HMAC key
    would be readable by every local user in /proc/PID/cmdline while certbot registers."""
    if not eab:
        yield None
        return
    for field in ("kid", "hmac_key"):
        value = eab.get(field)
        if not isinstance(value, str) or not _EAB_VALUE.match(value):
            raise EabError("%s.%s must be the CA's value, letters, digits and _ . : = + / - only (base64url for "
                           "hmac_key); run the role with a corrected cert_renewal_%s" % (what, field, what))
    path = None
    try:
        handle, path = tempfile.mkstemp(prefix="tlsops-certbot-eab-", suffix=".ini")
        with os.fdopen(handle, "w", encoding="ascii") as stream:
            stream.write("eab-kid = %s\neab-hmac-key = %s\n" % (eab["kid"], eab["hmac_key"]))
    except OSError as exc:
        if path:
            os.unlink(path)
        raise EabError("cannot write certbot's EAB file in %s (%s); free the directory or set TMPDIR"
                       % (tempfile.gettempdir(), exc.strerror or exc))
    try:
        yield path
    finally:
        os.unlink(path)


def certbot_argv(entry, config, server, eab_file, hook_argv, renew):
    """certbot's command line; ``eab_file`` is eab_config()'s file (no secret is ever on the command line)."""
    key_kind, key_detail = _KEY_TYPES[entry.get("key_type", "ecdsa-p256")]
    argv = [config.get("certbot", "certbot"), "certonly", "--non-interactive", "--agree-tos",
            "--config-dir", config.get("config_dir", "/etc/letsencrypt"),
            "--cert-name", entry["name"], "--server", server,
            "--deploy-hook", " ".join(_shell_quote(a) for a in hook_argv)]
    if key_kind == "RSA":
        argv += ["--key-type", "rsa", "--rsa-key-size", str(key_detail)]
    else:
        argv += ["--key-type", "ecdsa", "--elliptic-curve", key_detail]
    argv += ["--email", config["email"]] if config.get("email") else ["--register-unsafely-without-email"]
    if eab_file:
        argv += ["--config", eab_file]
    if config.get("preferred_chain"):
        argv += ["--preferred-chain", config["preferred_chain"]]
    if config.get("profile") and config.get("certbot_has_profiles"):
        argv += ["--preferred-profile", config["profile"]]
    if entry.get("challenge", "http-01") == "dns-01":
        argv += ["--manual", "--preferred-challenges", "dns", "--manual-auth-hook", entry["dns_hook"]]
        if entry.get("dns_cleanup_hook"):
            argv += ["--manual-cleanup-hook", entry["dns_cleanup_hook"]]
    else:
        argv += ["--webroot", "--webroot-path", config["webroot"], "--preferred-challenges", "http-01"]
    if renew:
        argv.append("--force-renewal")
    for domain in entry["domains"]:
        argv += ["-d", domain]
    return argv


def _shell_quote(word):
    safe = all(c.isalnum() or c in "/._-=:," for c in word)
    return word if safe and word else "'" + word.replace("'", "'\"'\"'") + "'"


def _secrets(config):
    path = config.get("secrets_file")
    if not path or not os.path.exists(path):
        return {}
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def attempt_servers(config):
    """``[(directory URL, its EAB or None, the EAB's name in the role)]``, the primary first."""
    secrets = _secrets(config)
    servers = [(config["directory_url"], secrets.get("eab"), "eab")]
    if config.get("fallback_directory_url"):
        servers.append((config["fallback_directory_url"], secrets.get("fallback_eab"), "fallback_eab"))
    return servers


def _env(config):
    env = dict(os.environ)
    if config.get("ca_bundle"):
        env["REQUESTS_CA_BUNDLE"] = config["ca_bundle"]
    return env


def hook_argv(config, config_path):
    return [config.get("python", sys.executable), os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                               "tlsops_cert_deploy.py"), "--config", config_path]


def apply_one(item, entry, config, config_path):
    """Run certbot (primary, then fallback) or the hook for one planned item; fills ok/message/server."""
    state_dir = config.get("state_dir", STATE_DIR)
    before = deploy_hook.read_state(state_dir, "deploy", item["name"])
    if item["action"] == "redeploy":
        proc = subprocess.run(hook_argv(config, config_path) + ["--lineage", item["lineage"]], capture_output=True,
                              text=True, timeout=int(config.get("command_timeout", 60)) * 4, check=False)
        return _from_deploy_state(item, state_dir, before, proc.stderr or proc.stdout)
    failures = []
    timeout = int(config.get("certbot_timeout", 600))
    for server, eab, what in attempt_servers(config):
        try:
            with eab_config(eab, what) as eab_file:
                argv = certbot_argv(entry, config, server, eab_file, hook_argv(config, config_path),
                                    renew=item["action"] == "renew" or os.path.isdir(item["lineage"]))
                proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=_env(config),
                                      check=False, stdin=subprocess.DEVNULL)
            rc, output = proc.returncode, proc.stderr + proc.stdout
        except EabError as exc:
            rc, output = None, str(exc)
        except subprocess.TimeoutExpired:
            rc, output = None, "certbot did not finish within %d s" % timeout
        except OSError as exc:
            rc, output = None, "%s could not run: %s" % (config.get("certbot", "certbot"), exc.strerror)
        if rc == 0:
            item["server"] = server
            return _from_deploy_state(item, state_dir, before, output)
        failures.append("%s: %s" % (server, _certbot_reason(output, rc)))
    item.update(ok=False, step="acme", server=None, message="no ACME server issued %s, the deployed certificate "
                "stays in place: %s" % (item["name"], "; ".join(failures)))
    return item


def _certbot_reason(output, rc):
    lines = [line.strip() for line in (output or "").splitlines() if line.strip()]
    useful = [line for line in lines if not line.startswith(("Saving debug log", "Ask for help", "Requesting a",
                                                             "Account registered", "See the logfile"))]
    return "certbot exited %s: %s" % (rc, " | ".join(useful[-6:]) or "no output")


def _from_deploy_state(item, state_dir, before, output):
    after = deploy_hook.read_state(state_dir, "deploy", item["name"])
    if not after or after == before:
        item.update(ok=False, step="deploy", message="the deploy hook left no state (it did not run): %s"
                    % deploy_hook.tail(output, 6))
        return item
    item.update(ok=bool(after.get("ok")), step=after.get("step"), serial=after.get("serial"),
                served_serial=after.get("served_serial"), restored=after.get("restored"),
                message=after.get("message") if after.get("ok") else "issued, but the deploy failed at step %s: %s"
                % (after.get("step"), after.get("message")))
    return item


def run(config_path, plan_only=False, force=(), force_all=False):
    config = deploy_hook.load_config(config_path)
    now = datetime.datetime.now(datetime.timezone.utc)
    results = []
    for entry in config["certificates"]:
        item = plan_one(entry, config, force_all or entry["name"] in force, now)
        if plan_only or item["action"] == "none":
            item["ok"] = True
        else:
            apply_one(item, entry, config, config_path)
            item["time"] = deploy_hook.now_iso()
            deploy_hook.write_state(config.get("state_dir", STATE_DIR), "renew", item["name"],
                                    item)
        results.append(item)
    notes = []
    if config.get("profile") and not config.get("certbot_has_profiles"):
        notes.append("profile %s not requested: this certbot has no --preferred-profile (certbot 4.0+)"
                     % config["profile"])
    return {"plan_only": plan_only, "certificates": results, "notes": notes,
            "failed": [r["name"] for r in results if not r.get("ok")]}


def main(argv=None):
    parser = argparse.ArgumentParser(description="Issue or renew the certificates of cert_renewal when due.")
    parser.add_argument("--config", default=os.environ.get("TLSOPS_CERT_RENEWAL_CONFIG", deploy_hook.DEFAULT_CONFIG))
    parser.add_argument("--plan", action="store_true", help="print what is due and change nothing")
    parser.add_argument("--force", action="append", default=[], metavar="NAME", help="renew NAME now")
    parser.add_argument("--force-all", action="store_true", help="renew every certificate now")
    parser.add_argument("--json", action="store_true", help="print the result as one JSON document")
    args = parser.parse_args(argv)
    started = time.monotonic()
    try:
        result = run(args.config, args.plan, args.force, args.force_all)
    except deploy_hook.ConfigError as exc:
        sys.stderr.write("tlsops-cert-renew: %s\n" % exc)
        return 2
    result["seconds"] = round(time.monotonic() - started, 1)
    if args.json:
        sys.stdout.write(json.dumps(result, sort_keys=True) + "\n")
    for item in result["certificates"]:
        line = "%s: %s%s" % (item["name"], item["action"], (" (%s)" % item["reason"]) if item["reason"] else "")
        if item.get("message"):
            line += ": " + item["message"]
        if not item.get("ok"):
            sys.stderr.write(line + "\n")  # the systemd journal gets the reason of every failure
        elif not args.json:
            sys.stdout.write(line + "\n")
    return 1 if result["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
