# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The cert_renewal role's host scripts (roles/cert_renewal/files/), imported as the host runs them.

``deploy_hook`` and ``renew_driver`` are the modules tlsops_cert_deploy.py and tlsops_cert_renew.py;
``DEPLOY`` and ``RENEW`` their paths (run them with sys.executable, ``--config`` a file written by
``write_config``, whose engine_path is this working tree's build/collections).
"""

from __future__ import annotations

import importlib
import json
import os
import sys

from tests.collection_path import COLLECTIONS_ROOT, REPO_ROOT, ensure_link

FILES = os.path.join(REPO_ROOT, "roles", "cert_renewal", "files")
DEPLOY = os.path.join(FILES, "tlsops_cert_deploy.py")
RENEW = os.path.join(FILES, "tlsops_cert_renew.py")

ensure_link()
if FILES not in sys.path:
    sys.path.insert(0, FILES)
deploy_hook = importlib.import_module("tlsops_cert_deploy")
renew_driver = importlib.import_module("tlsops_cert_renew")


def write_config(directory, certificates, **settings):
    """config.json as the role writes it (templates/config.json.j2), for the scripts under test."""
    config = {"engine_path": COLLECTIONS_ROOT, "python": sys.executable, "certbot": "certbot",
              "config_dir": os.path.join(directory, "letsencrypt"), "state_dir": os.path.join(directory, "state"),
              "secrets_file": os.path.join(directory, "secrets.json"), "directory_url": "https://acme.test/dir",
              "fallback_directory_url": "", "ca_bundle": "", "email": "", "preferred_chain": "", "profile": "",
              "renew_before_days": 30, "renew_before_fraction": 0.33, "webroot": os.path.join(directory, "webroot"),
              "nginx_test_command": None, "probe": {"host": "127.0.0.1", "port": 443, "attempts": 3, "delay": 0.3},
              "certificates": certificates}
    config.update(settings)
    path = os.path.join(directory, "config.json")
    with open(path, "w") as fh:
        json.dump(config, fh)
    return path, config
