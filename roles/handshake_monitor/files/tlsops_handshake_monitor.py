# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""tlsops.handshake.handshake_monitor's collector, run by tlsops-handshake-monitor.service.

    tlsops_handshake_monitor.py --config /etc/tlsops/handshake_monitor/config.json

One run: probe the upstreams, read the error logs' new lines and the clock, write the metrics file.
Python 3 standard library plus the collection's engines, which the role installs on the host
(roles/cert_renewal/tasks/engine.yml); ``engine_path`` in the configuration puts them on sys.path.
Exit status 1 when the run had errors (they are printed, and counted in tlsops_monitor_run_errors_total).
"""

from __future__ import annotations

import argparse
import json
import sys


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--config", required=True, help="the JSON configuration the role writes")
    args = parser.parse_args(argv)
    try:
        with open(args.config, encoding="utf-8") as handle:
            config = json.load(handle)
    except (OSError, ValueError) as exc:
        print("%s: cannot read the configuration (%s): run the tlsops.handshake.handshake_monitor role again"
              % (args.config, exc), file=sys.stderr)
        return 2
    engine = config.get("engine_path")
    if engine and engine not in sys.path:
        sys.path.insert(0, engine)
    from ansible_collections.tlsops.handshake.plugins.module_utils._monitor import collector  # pylint: disable=import-outside-toplevel

    errors = collector.run(config, log=lambda text: print(text, file=sys.stderr))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
