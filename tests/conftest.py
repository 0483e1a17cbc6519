# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Make the collection importable for pytest without installing it.

* ``build/collections/ansible_collections/tlsops/handshake`` is a symlink to the
  repository root (``make collection`` makes it; this file makes it too when it is
  missing), and ``build/collections`` goes first on ``sys.path``, so
  ``ansible_collections.tlsops.handshake.plugins...`` imports the working tree.
* The repository root goes on ``sys.path`` too, so the lab imports as ``tests.lab``.
"""

from __future__ import annotations

import os
import sys

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COLLECTIONS_ROOT = os.path.join(REPO_ROOT, "build", "collections")
NAMESPACE_DIR = os.path.join(COLLECTIONS_ROOT, "ansible_collections", "tlsops")
COLLECTION_LINK = os.path.join(NAMESPACE_DIR, "handshake")


def _ensure_collection_link():
    if os.path.islink(COLLECTION_LINK) and os.path.realpath(COLLECTION_LINK) == os.path.realpath(REPO_ROOT):
        return
    os.makedirs(NAMESPACE_DIR, exist_ok=True)
    if os.path.islink(COLLECTION_LINK):
        os.unlink(COLLECTION_LINK)
    try:
        # relative, so the tree still points at itself after a copy or a move
        os.symlink(os.path.relpath(REPO_ROOT, NAMESPACE_DIR), COLLECTION_LINK)
    except FileExistsError:
        pass  # another process (pytest-xdist worker, a parallel make) made it first


def _prepend(path):
    while path in sys.path:
        sys.path.remove(path)
    sys.path.insert(0, path)


_ensure_collection_link()
_prepend(REPO_ROOT)
_prepend(COLLECTIONS_ROOT)  # first: ansible_collections.* must come from here
# child processes started by tests (ansible-playbook, python -m ...) see the same tree
os.environ["PYTHONPATH"] = os.pathsep.join(
    [COLLECTIONS_ROOT, REPO_ROOT] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
)
os.environ.setdefault("ANSIBLE_COLLECTIONS_PATH", COLLECTIONS_ROOT)
