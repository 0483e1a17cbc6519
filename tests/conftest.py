# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Make the collection importable for pytest without installing it.

* ``build/collections/ansible_collections/tlsops/handshake`` is a symlink to the
  repository root (``make collection`` makes it; tests/collection_path.py makes it
  too when it is missing), and ``build/collections`` goes first on ``sys.path``, so
  ``ansible_collections.tlsops.handshake.plugins...`` imports the working tree.
* The repository root goes on ``sys.path`` too, so the lab imports as ``tests.lab``.
"""

from __future__ import annotations

import os

import pytest

from tests.collection_path import COLLECTIONS_ROOT, REPO_ROOT, ensure_importable

ensure_importable()
# child processes started by tests (ansible-playbook, python -m ...) see the same tree
os.environ["PYTHONPATH"] = os.pathsep.join(
    [COLLECTIONS_ROOT, REPO_ROOT] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
)
os.environ.setdefault("ANSIBLE_COLLECTIONS_PATH", COLLECTIONS_ROOT)


@pytest.fixture
def forked_pids(monkeypatch):
    """The pids of the children this process forks during the test (os.fork spied on, not replaced)."""
    pids = []
    real_fork = os.fork

    def fork():
        pid = real_fork()
        if pid:
            pids.append(pid)
        return pid
    monkeypatch.setattr(os, "fork", fork)
    return pids
