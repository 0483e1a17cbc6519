# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the repository must never hold: private key material, even a fake or truncated key.

Keys are generated when a test runs (tests/hazards.py); a test that needs the marker in a string
spells it in parts ("-----BEGIN" " PRIVATE KEY-----").  Secret scanners and the project's
before-stop hook flag the marker wherever it stands, and a real key pasted next to a fake one
would not stand out.
"""

from __future__ import annotations

import re
import subprocess

import pytest

from tests.collection_path import REPO_ROOT

_KEY_MARKER = re.compile(r"-----BEGIN ([A-Z]+ )?PRIVATE KEY-----")


def _tracked_files():
    try:
        out = subprocess.run(["git", "ls-files", "-z"], cwd=REPO_ROOT, capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    return [name for name in out.decode("utf-8", "replace").split("\0") if name]


def test_no_tracked_file_holds_a_private_key_marker():
    holders = []
    for name in _tracked_files():
        try:
            with open("%s/%s" % (REPO_ROOT, name), "rb") as handle:
                text = handle.read().decode("utf-8", "replace")
        except OSError:
            continue
        if _KEY_MARKER.search(text):
            holders.append(name)
    assert holders == [], "private key markers in tracked files (generate keys at test time): %s" % holders
