# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lab: real TLS upstreams on 127.0.0.1 reproducing every handshake-failure cause.

    from tests.lab import Lab
    with Lab(tmpdir) as lab:               # or Lab(tmpdir, base_port=20000).start() ... .stop()
        s = lab.scenarios["expired"]       # host, port, server_name, expected_cause, probe, ...
        lab.info["ca_file"]                # the lab root: the probes' trust anchor

CLI: ``python -m tests.lab start|stop|status --dir D [--base-port N]`` (D/lab.json is the
same dict as Lab.info).  The scenario table is tests/lab/scenarios.py.
"""
from __future__ import annotations

from .lab import Lab, LabError, lab_processes, listening_ports  # noqa: F401
from .scenarios import PROBE_DEFAULTS, SCENARIO_NAMES  # noqa: F401

__all__ = ["Lab", "LabError", "PROBE_DEFAULTS", "SCENARIO_NAMES", "lab_processes", "listening_ports"]
