# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Hypothesis profiles for the property-based tests of the parsers that read hostile input.

* ``unit`` (the default; ``make unit``): derandomized, so every run of CI tries the same examples
  and a failure reproduces anywhere; no example database.  A few minutes for the whole folder.
* ``fuzz`` (``make fuzz``, or ``FUZZ_PROFILE=fuzz``): FUZZ_SCALE (20) times the examples, random
  seeds, and a database of failing examples under build/hypothesis/ so a failure replays first on
  the next run.  ``pytest --hypothesis-seed=N`` repeats one run.

Hypothesis keeps caches (its character tables, the constants it mines from the code under test)
in a storage directory: that is build/hypothesis/ too, never ``.hypothesis/`` in the working tree.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, configuration, settings
from hypothesis.database import DirectoryBasedExampleDatabase

from tests.collection_path import REPO_ROOT
from tests.unit.fuzz.fuzzing import FUZZ_PROFILE

STORAGE = os.environ.get("HYPOTHESIS_STORAGE_DIRECTORY") or os.path.join(REPO_ROOT, "build", "hypothesis")
configuration.set_hypothesis_home_dir(STORAGE)

# Generated inputs are large on purpose (whole TLS flights, certificates, 64 kB log lines), and the
# timing properties measure time themselves with a bound that means something: no per-example deadline.
_COMMON = dict(deadline=None, print_blob=True, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

settings.register_profile("unit", derandomize=True, database=None, **_COMMON)
settings.register_profile("fuzz", database=DirectoryBasedExampleDatabase(os.path.join(STORAGE, "examples")), **_COMMON)
settings.load_profile(FUZZ_PROFILE)
