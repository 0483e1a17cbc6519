# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the fuzz tests share: the profile in use, example counts scaled by it, a stopwatch."""

from __future__ import annotations

import gc
import os
import time

from hypothesis import settings

FUZZ_PROFILE = os.environ.get("FUZZ_PROFILE", "unit")
if FUZZ_PROFILE not in ("unit", "fuzz"):
    raise ValueError("FUZZ_PROFILE must be unit or fuzz, not %r" % FUZZ_PROFILE)
# `make fuzz` tries this many times the examples of `make unit`.
FUZZ_SCALE = 20 if FUZZ_PROFILE == "fuzz" else 1


def examples(count, **kwargs):
    """@settings for a property tried ``count`` times in `make unit` (FUZZ_SCALE times that in `make fuzz`)."""
    return settings(max_examples=count * FUZZ_SCALE, **kwargs)


def timed(func, *args, **kwargs):
    """``(seconds, result)`` of one call: the CPU seconds of this thread, so a busy machine (CI,
    other test runs) does not count against the code.  These bounds catch super-linear work (a
    quadratic regex scan cost 0.4 s CPU for one 64 kB line), which no amount of load excuses.  The
    garbage collector is off meanwhile: a full collection of the heap the whole test run built (0.1 to
    0.2 s, seen under `make unit` on a loaded machine) is not the code's cost."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        start = time.thread_time()
        result = func(*args, **kwargs)
        return time.thread_time() - start, result
    finally:
        if enabled:
            gc.enable()
