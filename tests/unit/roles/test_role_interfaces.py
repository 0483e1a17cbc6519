# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every role's interface is its meta/argument_specs.yml: defaults, README and spec agree."""

from __future__ import annotations

import os

import pytest
import yaml

ROLES_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, os.pardir, os.pardir, "roles")
ROLES = sorted(r for r in os.listdir(ROLES_DIR) if os.path.isdir(os.path.join(ROLES_DIR, r)))


def _load(role, *parts):
    with open(os.path.join(ROLES_DIR, role, *parts)) as fh:
        return yaml.safe_load(fh) or {}


def _options(role):
    specs = _load(role, "meta", "argument_specs.yml")["argument_specs"]
    assert "main" in specs, "%s: no argument spec for the main entry point" % role
    return specs, {name for spec in specs.values() for name in (spec.get("options") or {})}


@pytest.mark.parametrize("role", ROLES)
def test_public_variables_are_prefixed_and_specified(role):
    specs, options = _options(role)
    defaults = _load(role, "defaults", "main.yml")
    for name in defaults:
        assert name.startswith(role + "_"), "%s: public default %s lacks the %s_ prefix" % (role, name, role)
        assert name in options, "%s: default %s is missing from meta/argument_specs.yml" % (role, name)
    for name in options:
        assert name.startswith(role + "_"), "%s: option %s lacks the %s_ prefix" % (role, name, role)
    for entry, spec in specs.items():
        assert spec.get("short_description"), "%s: entry point %s has no short_description" % (role, entry)
        for name, option in (spec.get("options") or {}).items():
            assert option.get("description"), "%s: %s has no description" % (role, name)
            assert option.get("type"), "%s: %s has no type" % (role, name)


@pytest.mark.parametrize("role", ROLES)
def test_readme_documents_every_option(role):
    _specs, options = _options(role)
    with open(os.path.join(ROLES_DIR, role, "README.md")) as fh:
        readme = fh.read()
    missing = sorted(name for name in options if name not in readme)
    assert not missing, "%s/README.md does not document %s" % (role, ", ".join(missing))
