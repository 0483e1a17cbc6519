# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Python's cycle collector kept out of work that builds and drops large acyclic data.

Decoding a 1000-upstream host's results makes millions of dicts, lists and strings; each allocation
counts towards the collector's next pass, and every pass walks all the containers alive, so decoding
six such hosts spent two thirds of its time (0.58 of 0.85 s) walking what it had just made, none of it
garbage: JSON has no cycles, and reference counting frees it all.  In an Ansible worker, a process
forked from the controller's, a full pass also writes into every inherited object and so copies its
memory page by page.  Standard library only.
"""

from __future__ import annotations

import contextlib
import gc


@contextlib.contextmanager
def cycle_collector_paused():
    """No cyclic garbage collection inside the block; as it was after it.

    For a block whose data dies with it (a function's locals, dropped before the block ends): what is
    still alive when the collector resumes is walked by its next pass.  A cycle made inside the block is
    collected after it, as usual.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
