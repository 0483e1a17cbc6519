# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Offline stand-in for the get-pip script that ``ansible-test --requirements`` downloads.

ansible-test bootstraps pip into each virtual environment it creates by running
``~/.ansible/test/cache/get_pip_<version>.py`` (downloaded from a host that is not
reachable here).  ``make sanity`` copies this file to that path.  It does what
get-pip does, with the interpreter's own ``ensurepip`` and the configured index:

1. ``python -m ensurepip --upgrade`` in a child process: ``ensurepip.bootstrap()``
   sets ``PIP_CONFIG_FILE=/dev/null`` in its own environment, after which pip would
   ignore this machine's pip configuration (index, certificates, constraints);
2. ``python -m pip install ARGS``, with the arguments ansible-test passed except
   ``--no-setuptools`` and ``--no-wheel``, which modern pip rejects.
"""

from __future__ import annotations

import subprocess
import sys

DROPPED = frozenset(("--no-setuptools", "--no-wheel"))


def main(argv):
    """Bootstrap pip, then install what ansible-test asked for."""
    subprocess.run([sys.executable, "-m", "ensurepip", "--upgrade", "--default-pip"], check=True)
    args = [arg for arg in argv if arg not in DROPPED]
    return subprocess.run([sys.executable, "-m", "pip", "install"] + args, check=False).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
