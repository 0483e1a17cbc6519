# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""cert_renewal's host scripts on real files: the atomic write, keeping and restoring the pair,
the renewal window (short-lived certificates), the plan, and certbot's command line.
(The real certbot against a real ACME server runs in roles/cert_renewal/molecule/default.)"""

from __future__ import annotations

import datetime
import json
import os
import re
import stat
import sys

import pytest

from tests.cert_renewal_scripts import deploy_hook, renew_driver, write_config
from tests.lab.pki import LabPKI

NOW = datetime.datetime.now(datetime.timezone.utc)


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return LabPKI(str(tmp_path_factory.mktemp("pki")))


def _lineage(base, name, pki, sans, days_valid=(-1, 89), key="ec"):
    cert, key_path = pki.leaf(name + "-" + str(len(os.listdir(pki.dir))), sans, key=key, days_valid=days_valid)
    lineage = os.path.join(base, "letsencrypt", "live", name)
    os.makedirs(lineage, exist_ok=True)
    with open(cert, "rb") as src:
        chain = src.read()
    for file_name, data in (("fullchain.pem", chain), ("cert.pem", chain.split(b"-----END CERTIFICATE-----")[0]
                                                       + b"-----END CERTIFICATE-----\n")):
        with open(os.path.join(lineage, file_name), "wb") as fh:
            fh.write(data)
    with open(key_path, "rb") as src, open(os.path.join(lineage, "privkey.pem"), "wb") as fh:
        fh.write(src.read())
    return lineage, deploy_hook.normal_serial(deploy_hook.leaf_of(chain, cert)["serial"])


def test_write_atomic_sets_the_mode_first_and_leaves_no_temporary_file(tmp_path):
    target = tmp_path / "site.key"
    target.write_bytes(b"old")
    os.chmod(target, 0o644)
    deploy_hook.write_atomic(str(target), b"new key", 0o600)
    assert target.read_bytes() == b"new key"
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600
    assert sorted(os.listdir(tmp_path)) == ["site.key"]


def test_write_atomic_keeps_the_old_file_when_the_write_fails(tmp_path):
    target = tmp_path / "site.pem"
    target.write_bytes(b"old")
    with pytest.raises(TypeError):
        deploy_hook.write_atomic(str(target), "not bytes", 0o644)
    assert target.read_bytes() == b"old"
    assert sorted(os.listdir(tmp_path)) == ["site.pem"]


def test_keep_previous_and_restore(tmp_path):
    entry = {"fullchain": str(tmp_path / "site.pem"), "key": str(tmp_path / "site.key")}
    (tmp_path / "site.pem").write_bytes(b"chain A")
    (tmp_path / "site.key").write_bytes(b"key A")
    previous = deploy_hook.keep_previous(entry)
    assert (tmp_path / "site.pem.previous").read_bytes() == b"chain A"
    assert stat.S_IMODE(os.stat(tmp_path / "site.key.previous").st_mode) == 0o600
    (tmp_path / "site.pem").write_bytes(b"chain B")
    (tmp_path / "site.key").write_bytes(b"key B")
    deploy_hook.restore(previous)
    assert (tmp_path / "site.pem").read_bytes() == b"chain A" and (tmp_path / "site.key").read_bytes() == b"key A"


def test_restore_removes_a_pair_that_did_not_exist_before(tmp_path):
    entry = {"fullchain": str(tmp_path / "site.pem"), "key": str(tmp_path / "site.key")}
    previous = deploy_hook.keep_previous(entry)
    (tmp_path / "site.pem").write_bytes(b"chain B")
    (tmp_path / "site.key").write_bytes(b"key B")
    deploy_hook.restore(previous)
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("days_valid, days_before, fraction, due", [
    ((-60, 30), 30, 0.33, False),      # 90 days, 30 left: the window is min(30, 29.7) days
    ((-61, 29), 30, 0.33, True),
    ((-5, 1), 30, 0.33, True),         # a 6-day certificate with 1 day left
    ((-2, 4), 30, 0.33, False),        # ... with 4 left: renew_before_days alone would renew it at every run
    ((-40, 7), 30, 0.33, True),        # 47 days (CA/B Forum 2029): 15.5-day window
    ((-30, 17), 30, 0.33, False),
    ((-30, 17), 20, 1.0, True),
])
def test_renewal_window(pki, days_valid, days_before, fraction, due):
    cert, _key = pki.leaf("window-%d-%d" % days_valid, ["w.lab.test"], key="ec", days_valid=days_valid)
    with open(cert, "rb") as fh:
        leaf = deploy_hook.leaf_of(fh.read(), cert)
    config = {"renew_before_days": days_before, "renew_before_fraction": fraction}
    assert renew_driver.renewal_window(leaf, config, NOW)[0] is due


def _entry(tmp_path, **extra):
    entry = {"name": "site", "domains": ["site.lab.test"], "key_type": "ecdsa-p256", "challenge": "http-01",
             "fullchain": str(tmp_path / "site.pem"), "key": str(tmp_path / "site.key"), "reload_commands": []}
    entry.update(extra)
    return entry


def _deploy_copy(lineage, entry):
    for src, dest in (("fullchain.pem", entry["fullchain"]), ("privkey.pem", entry["key"])):
        with open(os.path.join(lineage, src), "rb") as fh, open(dest, "wb") as out:
            out.write(fh.read())


def test_plan(tmp_path, pki):
    entry = _entry(tmp_path)
    _path, config = write_config(str(tmp_path), [entry])
    assert renew_driver.plan_one(entry, config, False, NOW)["action"] == "issue"
    lineage, serial = _lineage(str(tmp_path), "site", pki, ["site.lab.test"])
    plan = renew_driver.plan_one(entry, config, False, NOW)
    assert plan["action"] == "redeploy" and "nothing is deployed" in plan["reason"]
    _deploy_copy(lineage, entry)
    assert renew_driver.plan_one(entry, config, False, NOW)["action"] == "none"
    assert renew_driver.plan_one(entry, config, True, NOW)["action"] == "renew"
    assert renew_driver.plan_one(dict(entry, domains=["site.lab.test", "www.lab.test"]), config, False,
                                 NOW)["action"] == "issue"
    assert renew_driver.plan_one(dict(entry, key_type="rsa-2048"), config, False, NOW)["action"] == "issue"
    # certbot renewed, the deploy failed and was undone: deploy certbot's latest again, no new issuance
    _lineage(str(tmp_path), "site", pki, ["site.lab.test"])
    plan = renew_driver.plan_one(entry, config, False, NOW)
    assert plan["action"] == "redeploy" and serial in plan["reason"]
    # the newest is due itself: renew
    _lineage(str(tmp_path), "site", pki, ["site.lab.test"], days_valid=(-80, 9))
    assert renew_driver.plan_one(entry, config, False, NOW)["action"] == "renew"


@pytest.mark.parametrize("key_type, expected", [
    ("ecdsa-p256", ["--key-type", "ecdsa", "--elliptic-curve", "secp256r1"]),
    ("ecdsa-p384", ["--key-type", "ecdsa", "--elliptic-curve", "secp384r1"]),
    ("rsa-2048", ["--key-type", "rsa", "--rsa-key-size", "2048"]),
    ("rsa-3072", ["--key-type", "rsa", "--rsa-key-size", "3072"]),
])
def test_certbot_key_types(tmp_path, key_type, expected):
    _path, config = write_config(str(tmp_path), [])
    argv = renew_driver.certbot_argv(_entry(tmp_path, key_type=key_type), config, "https://a.test/dir", None,
                                     ["python3", "hook.py"], renew=False)
    joined = " ".join(argv)
    assert " ".join(expected) in joined
    assert "--force-renewal" not in argv and argv[-2:] == ["-d", "site.lab.test"]


def test_certbot_command_line(tmp_path):
    _path, config = write_config(str(tmp_path), [], email="ops@lab.test", preferred_chain="ISRG Root X1",
                                 profile="shortlived", certbot_has_profiles=False)
    argv = renew_driver.certbot_argv(_entry(tmp_path), config, "https://a.test/dir", "/tmp/eab.ini",
                                     ["/usr/bin/python3", "/x y/hook.py"], renew=True)
    assert argv[:2] == ["certbot", "certonly"] and "--non-interactive" in argv
    assert argv[argv.index("--server") + 1] == "https://a.test/dir"
    assert argv[argv.index("--config") + 1] == "/tmp/eab.ini"
    assert not [a for a in argv if a.startswith("--eab")]
    assert argv[argv.index("--email") + 1] == "ops@lab.test"
    assert argv[argv.index("--preferred-chain") + 1] == "ISRG Root X1"
    assert argv[argv.index("--webroot-path") + 1] == config["webroot"]
    assert argv[argv.index("--deploy-hook") + 1] == "/usr/bin/python3 '/x y/hook.py'"
    assert "--preferred-profile" not in argv and "--force-renewal" in argv
    config["certbot_has_profiles"] = True
    dns = renew_driver.certbot_argv(_entry(tmp_path, challenge="dns-01", dns_hook="/usr/local/bin/dns-add"), config,
                                    "https://a.test/dir", None, ["hook"], renew=False)
    assert dns[dns.index("--preferred-profile") + 1] == "shortlived"
    assert dns[dns.index("--manual-auth-hook") + 1] == "/usr/local/bin/dns-add" and "--webroot" not in dns
    assert "--register-unsafely-without-email" not in argv and "--register-unsafely-without-email" in \
        renew_driver.certbot_argv(_entry(tmp_path), dict(config, email=""), "u", None, ["h"], renew=False)


def test_fallback_comes_second_with_its_own_binding(tmp_path):
    path, config = write_config(str(tmp_path), [], fallback_directory_url="https://b.test/dir")
    with open(config["secrets_file"], "w") as fh:
        fh.write('{"eab": {"kid": "a", "hmac_key": "x"}, "fallback_eab": null}')
    assert renew_driver.attempt_servers(config) == [("https://acme.test/dir", {"kid": "a", "hmac_key": "x"}, "eab"),
                                                    ("https://b.test/dir", None, "fallback_eab")]
    assert path


SECRET_HMAC = "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG"


def test_eab_reaches_certbot_in_a_private_file_never_on_its_command_line(tmp_path, monkeypatch):
    """The HMAC key on certbot's command line is readable by every local user (/proc/PID/cmdline); in a 0600
    file given with --config it is not. The file exists while certbot runs and is gone afterwards."""
    monkeypatch.setattr(renew_driver.tempfile, "tempdir", str(tmp_path))
    with renew_driver.eab_config({"kid": "kid-1", "hmac_key": SECRET_HMAC}, "fallback_eab") as path:
        assert os.path.dirname(path) == str(tmp_path)
        assert os.stat(path).st_mode & 0o777 == 0o600
        with open(path) as fh:
            assert fh.read() == "eab-kid = kid-1\neab-hmac-key = %s\n" % SECRET_HMAC
    assert not os.path.exists(path) and os.listdir(str(tmp_path)) == []
    with renew_driver.eab_config(None) as nothing:
        assert nothing is None


@pytest.mark.parametrize("eab, field", [
    ({"kid": "kid-1\nmanual-auth-hook = /tmp/x", "hmac_key": SECRET_HMAC}, "fallback_eab.kid"),
    ({"kid": "kid-1", "hmac_key": SECRET_HMAC + "\npre-hook = touch /tmp/pwned"}, "fallback_eab.hmac_key"),
    ({"kid": "kid 1", "hmac_key": SECRET_HMAC}, "fallback_eab.kid"),
    ({"kid": "kid-1"}, "fallback_eab.hmac_key"),
    ({"kid": 7, "hmac_key": SECRET_HMAC}, "fallback_eab.kid"),
])
def test_an_eab_value_that_would_add_a_certbot_option_is_refused(tmp_path, monkeypatch, eab, field):
    monkeypatch.setattr(renew_driver.tempfile, "tempdir", str(tmp_path))
    with pytest.raises(renew_driver.EabError, match=re.escape(field) + " must be the CA's value"):
        with renew_driver.eab_config(eab, "fallback_eab"):
            pass
    assert os.listdir(str(tmp_path)) == []


def test_certbot_runs_with_the_eab_file_and_the_secret_stays_off_its_command_line(tmp_path, monkeypatch):
    """apply_one with a stand-in certbot that records its argv and the --config file it was given (a real
    certbot against a Pebble that requires EAB: molecule cert_renewal/default, step 4b)."""
    record = tmp_path / "certbot-argv.json"
    fake = tmp_path / "certbot"
    fake.write_text("#!%s\nimport json, sys\nargv = sys.argv[1:]\nconfig = open(argv[argv.index('--config') + 1]).read()\n"
                    "json.dump({'argv': argv, 'config': config}, open(%r, 'w'))\nsys.exit(1)\n"
                    % (sys.executable, str(record)))
    fake.chmod(0o755)
    path, config = write_config(str(tmp_path), [], certbot=str(fake))
    with open(config["secrets_file"], "w") as fh:
        json.dump({"eab": {"kid": "kid-1", "hmac_key": SECRET_HMAC}}, fh)
    item = {"name": "site", "action": "issue", "lineage": str(tmp_path / "live" / "site")}
    monkeypatch.setattr(renew_driver.tempfile, "tempdir", str(tmp_path / "tmp"))
    os.mkdir(str(tmp_path / "tmp"))
    result = renew_driver.apply_one(item, _entry(tmp_path), config, path)
    seen = json.loads(record.read_text())
    assert SECRET_HMAC not in " ".join(seen["argv"])
    assert seen["config"] == "eab-kid = kid-1\neab-hmac-key = %s\n" % SECRET_HMAC
    assert result["ok"] is False and SECRET_HMAC not in result["message"]
    assert os.listdir(str(tmp_path / "tmp")) == []


def test_bad_configuration_is_a_clear_error(tmp_path):
    bad = tmp_path / "config.json"
    bad.write_text("{not json")
    with pytest.raises(deploy_hook.ConfigError, match="not JSON.*run the tlsops.handshake.cert_renewal role"):
        deploy_hook.load_config(str(bad))
    with pytest.raises(deploy_hook.ConfigError, match="cannot read the configuration"):
        deploy_hook.load_config(str(tmp_path / "missing.json"))
