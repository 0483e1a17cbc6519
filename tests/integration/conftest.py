# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import os
import shutil

import pytest

from tests.integration.helpers import REPO_ROOT


@pytest.fixture(scope="session")
def lab():
    """The whole lab of broken upstreams, once per test session; always stopped."""
    from tests.lab import Lab

    workdir = os.path.join(REPO_ROOT, "build", "lab-pytest-%d" % os.getpid())
    shutil.rmtree(workdir, ignore_errors=True)
    the_lab = Lab(workdir)
    the_lab.start()
    try:
        yield the_lab
    finally:
        the_lab.stop()
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="session")
def hostile(tmp_path_factory):
    """Every hostile peer of tests/lab/hostile.py, served by one process for the whole session."""
    from tests.lab.hostile import HostilePeers

    with HostilePeers(str(tmp_path_factory.mktemp("hostile")), hold=120) as peers:
        yield peers
