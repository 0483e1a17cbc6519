# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Make ``ansible_collections.tlsops.handshake`` import this working tree, without installing it.

``build/collections/ansible_collections/tlsops/handshake`` is a symlink to the
repository root (``make collection`` makes it; ``ensure_link`` makes it too when
it is missing), and ``build/collections`` goes first on ``sys.path``.  Used by
tests/conftest.py and by the lab's fault process, which runs the collection's
TLS codec (``python -m tests.lab serve-faults``).
"""

from __future__ import annotations

import os
import sys

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COLLECTIONS_ROOT = os.path.join(REPO_ROOT, "build", "collections")
NAMESPACE_DIR = os.path.join(COLLECTIONS_ROOT, "ansible_collections", "tlsops")
COLLECTION_LINK = os.path.join(NAMESPACE_DIR, "handshake")


def ensure_link():
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


def ensure_importable():
    """The link, then ``sys.path``: the repository root (``tests.lab``), ``build/collections`` first."""
    ensure_link()
    _prepend(REPO_ROOT)
    _prepend(COLLECTIONS_ROOT)  # first: ansible_collections.* must come from here
