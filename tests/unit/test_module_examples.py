# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every EXAMPLES block of every module is a playbook that would run: its YAML parses, and each task's
arguments pass the called module's own argument spec (ansible's ArgumentSpecValidator, the check
AnsibleModule makes), with tls_probe's target dicts checked against its TARGET_KEYS.

The argument spec is the one main() hands to AnsibleModule: main() runs with AnsibleModule.__init__
replaced by a recorder that stops it there, so nothing else of the module runs.  A module that is an
action plugin's documentation only (diagnose_report) has its spec built from its DOCUMENTATION.
Values that are Jinja templates are known only at run time: the option name is still checked, and the
value stands in as a placeholder of the option's type.
"""

from __future__ import annotations

import importlib
import os

import pytest
import yaml
from ansible.module_utils import basic
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from tests.collection_path import REPO_ROOT

COLLECTION = "tlsops.handshake"
MODULES_DIR = os.path.join(REPO_ROOT, "plugins", "modules")
MODULES = sorted(f[:-3] for f in os.listdir(MODULES_DIR) if f.endswith(".py") and not f.startswith("_"))
_PLACEHOLDER = {"str": "placeholder", "path": "/placeholder", "raw": "placeholder", "list": [], "dict": {},
                "bool": True, "int": 1, "float": 1.0, "jsonarg": "{}", "json": "{}", "bytes": "1", "bits": "1"}
_SPEC_KEYS = ("mutually_exclusive", "required_together", "required_one_of", "required_if", "required_by")


def _import(name):
    return importlib.import_module("ansible_collections.%s.plugins.modules.%s" % (COLLECTION, name))


class _Recorded(Exception):
    def __init__(self, kwargs):
        super(_Recorded, self).__init__("AnsibleModule() called")
        self.kwargs = kwargs


def _spec_from_documentation(options):
    spec = {}
    for name, doc in (options or {}).items():
        entry = {k: doc[k] for k in ("type", "elements", "choices", "required", "default", "aliases") if k in doc}
        if doc.get("suboptions"):
            entry["options"] = _spec_from_documentation(doc["suboptions"])
        spec[name] = entry
    return spec


def module_spec(name, monkeypatch):
    """``{argument_spec, mutually_exclusive, ...}`` as module ``name`` gives them to AnsibleModule."""
    module = _import(name)
    if not hasattr(module, "main"):
        return {"argument_spec": _spec_from_documentation(yaml.safe_load(module.DOCUMENTATION).get("options"))}

    def record(self, *args, **kwargs):
        if args:
            kwargs["argument_spec"] = args[0]
        raise _Recorded(kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(basic.AnsibleModule, "__init__", record)
        with pytest.raises(_Recorded) as recorded:
            module.main()
    return recorded.value.kwargs


def _templated(value):
    return isinstance(value, str) and ("{{" in value or "{%" in value)


def _examples():
    """``[(owning module, task index, task)]`` of every EXAMPLES block."""
    out = []
    for name in MODULES:
        tasks = yaml.safe_load(_import(name).EXAMPLES)
        assert isinstance(tasks, list) and tasks, "%s: EXAMPLES is not a YAML list of tasks" % name
        out.extend((name, index, task) for index, task in enumerate(tasks))
    return out


EXAMPLES = _examples()


def _called(task):
    ours = [k for k in task if k.startswith(COLLECTION + ".")]
    return ours[0][len(COLLECTION) + 1:] if ours else None


def problems_of(task, spec):
    """The error messages ArgumentSpecValidator gives for ``task``'s arguments."""
    called = _called(task)
    args = task[COLLECTION + "." + called] or {}
    assert isinstance(args, dict), "free-form arguments (%r): write them as a YAML dict" % args
    argument_spec = spec["argument_spec"]
    known = set(argument_spec) | {a for o in argument_spec.values() for a in o.get("aliases", ())}
    params = {}
    messages = []
    for key, value in args.items():
        if _templated(value):
            if key not in known:
                messages.append("unsupported parameter %s (templated)" % key)
                continue
            value = _PLACEHOLDER.get(argument_spec[key].get("type", "str"), "placeholder")
        params[key] = value
    validator = ArgumentSpecValidator(argument_spec, **{k: spec[k] for k in _SPEC_KEYS if spec.get(k)})
    messages.extend(validator.validate(params).error_messages)
    if called == "tls_probe":
        messages.extend(_tls_probe_targets(params))
    return messages


def _tls_probe_targets(params):
    from ansible_collections.tlsops.handshake.plugins.module_utils._probe.targets import SUPPORTED_CONF_COMMANDS, TARGET_KEYS

    messages = []
    commands = [("conf_commands", params.get("conf_commands"))]
    for index, target in enumerate(params.get("targets") or []):
        if isinstance(target, dict):
            unknown = sorted(set(target) - set(TARGET_KEYS))
            if unknown:
                messages.append("targets[%d]: keys %s are not target keys %s" % (index, unknown, TARGET_KEYS))
            commands.append(("targets[%d].conf_commands" % index, target.get("conf_commands")))
    for where, given in commands:
        for name in given or {}:
            if name.lower() not in SUPPORTED_CONF_COMMANDS:
                messages.append("%s: %s is not one of %s" % (where, name, SUPPORTED_CONF_COMMANDS))
    return messages


def test_every_module_has_examples_that_call_the_collection():
    called = {_called(task) for _owner, _index, task in EXAMPLES}
    assert set(MODULES) <= called, "modules no EXAMPLES block calls: %s" % sorted(set(MODULES) - called)


@pytest.mark.parametrize("owner, index, task", [e for e in EXAMPLES if _called(e[2])],
                         ids=["%s-%d" % (o, i) for o, i, t in EXAMPLES if _called(t)])
def test_example_task_passes_the_argument_spec(owner, index, task, monkeypatch):
    called = _called(task)
    assert called in MODULES, "%s EXAMPLES task %d calls %s.%s, which does not exist" % (owner, index, COLLECTION, called)
    messages = problems_of(task, module_spec(called, monkeypatch))
    assert not messages, "%s EXAMPLES task %d (%s) -> %s: %s" % (owner, index, task.get("name"), called, messages)


def test_the_check_catches_what_the_module_rejects(monkeypatch):
    """The check is the module's own: an option the module does not have, a wrong type, a bad target key
    and an unsupported conf command are each reported."""
    spec = module_spec("tls_probe", monkeypatch)
    assert "targets" in spec["argument_spec"] and ["targets", "packed_targets"] in map(list, spec["required_one_of"])
    base = {"name": "x", COLLECTION + ".tls_probe": {"targets": ["a.example:443"]}}
    assert problems_of(base, spec) == []
    assert "one of the following is required: targets, packed_targets" in " ".join(
        problems_of({"name": "x", COLLECTION + ".tls_probe": {"timeout": 2}}, spec))

    def bad(**args):
        task = dict(base)
        task[COLLECTION + ".tls_probe"] = dict(base[COLLECTION + ".tls_probe"], **args)
        return " ".join(problems_of(task, spec))

    assert "no_such_option" in bad(no_such_option=1)
    assert "timeout" in bad(timeout="soon")
    assert "placeholder" not in bad(timeout="{{ t }}") and "nosuch" in bad(nosuch="{{ t }}")
    assert "targets[0]" in bad(targets=[{"host": "a", "hostname": "b"}])
    assert "targets[0].conf_commands" in bad(targets=[{"host": "a", "conf_commands": {"NumTickets": "0"}}])
    assert "conf_commands: Protocol" in bad(conf_commands={"Protocol": "-TLSv1"})
    doc_only = module_spec("diagnose_report", monkeypatch)
    assert "hosts" in doc_only["argument_spec"]
