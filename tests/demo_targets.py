# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Write the playbook variables that point tlsops.handshake.probe at a running lab.

    python -m tests.demo_targets LAB_DIR > vars.json
"""

from __future__ import annotations

import json
import sys

from tests.integration.helpers import probe_args, scenarios
from tests.lab import Lab


def main(argv):
    lab = Lab.load(argv[1])
    # dns_failure is left out: resolving its name would send a DNS query off this machine.
    json.dump({"probe_targets": [probe_args(lab, name) for name, _scenario in scenarios(lab)],
               "probe_settings": {"timeout": 3}}, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main(sys.argv)
