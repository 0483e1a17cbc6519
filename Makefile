# tlsops.handshake: build and test entry points.
#
#   make demo    everything needed, then the demo (tests/demo.sh)
#   make test    unit, molecule, integration, sanity, lint (ruff, mypy, ansible-lint), changelog-lint, rules-test (promtool)
#
# Works from a fresh clone as root on Debian/Ubuntu: `venv` installs the Python
# tools, `deps` installs nginx/openssl/faketime/prometheus from apt (promtool; faketime: the lab
# fleet's proxy whose clock is wrong, tests/lab/fleet.py). Everything generated goes to
# .venv/ and build/ (both git-ignored); `make clean` / `make distclean` remove it.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
.DELETE_ON_ERROR:

REPO := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
BUILD := $(REPO)/build
VENV := $(REPO)/.venv
VBIN := $(VENV)/bin
VENV_STAMP := $(VENV)/.installed-controller
REQUIREMENTS := $(REPO)/requirements/controller.txt

# The Python that makes the venv: the first python3 on PATH (pyenv's where it is
# installed), else Debian's.
ifeq ($(origin PYTHON),undefined)
PYTHON := $(or $(shell command -v python3 2>/dev/null),/usr/bin/python3)
endif
# Python version ansible-test runs the sanity tests with.
SANITY_PYTHON ?= 3.11

COLLECTIONS_ROOT := $(BUILD)/collections
COLLECTION_DIR := $(COLLECTIONS_ROOT)/ansible_collections/tlsops/handshake
# HOME for ansible-test / ansible-lint / molecule / pytest: never the real one
# (CI's HOME may be read-only or shared). ansible-test's caches (get-pip, its
# sanity venvs) live under it.
TOOL_HOME := $(BUILD)/home

PYTEST_TIMEOUT ?= 300
PYTEST := $(VBIN)/python -m pytest -p no:cacheprovider --timeout=$(PYTEST_TIMEOUT)

export PATH := $(VBIN):$(PATH)
export ANSIBLE_COLLECTIONS_PATH := $(COLLECTIONS_ROOT)
export ANSIBLE_LOCAL_TEMP := $(BUILD)/ansible-tmp
export PYTHONDONTWRITEBYTECODE := 1
ifneq ($(CI),)
export ANSIBLE_NOCOLOR := 1
export ANSIBLE_FORCE_COLOR := 0
export NO_COLOR := 1
export PY_COLORS := 0
endif

WITH_HOME := HOME=$(TOOL_HOME) XDG_CACHE_HOME=$(TOOL_HOME)/.cache XDG_CONFIG_HOME=$(TOOL_HOME)/.config
# hypothesis (tests/unit/fuzz) keeps its caches, and under `make fuzz` its example database, here
# instead of .hypothesis/ in the working tree.
export HYPOTHESIS_STORAGE_DIRECTORY := $(BUILD)/hypothesis
# `make fuzz`: per-test time limit (20 times the examples of `make unit`); FUZZ_ARGS for pytest,
# e.g. FUZZ_ARGS="--hypothesis-seed=123 -k x509" to repeat a run or pick a parser.
FUZZ_TIMEOUT ?= 3600

.PHONY: help venv deps chrony collection unit fuzz integration sanity lint changelog-lint rules-test molecule test demo bench clean distclean

help:
	@echo "make demo            install what is needed, then run the demo (tests/demo.sh)"
	@echo "make test            unit molecule integration sanity lint changelog-lint rules-test, in that order"
	@echo "make venv            .venv with requirements/controller.txt"
	@echo "make deps            nginx (+ stream module), openssl, ca-certificates, faketime, prometheus (promtool) from apt; chrony unpacked into build/"
	@echo "make chrony          Debian's chrony unpacked into build/chrony (never installed; make deps and make unit run it)"
	@echo "make collection      build/collections/ansible_collections/tlsops/handshake -> repo"
	@echo "make unit | integration | sanity | lint | changelog-lint | molecule"
	@echo "make lint            ruff and mypy (pyproject.toml), then ansible-lint"
	@echo "make fuzz            the property-based tests of the parsers (tests/unit/fuzz) with 20x the examples of make unit"
	@echo "make rules-test      promtool check rules / test rules on handshake_monitor's alert rules (promtool from make deps)"
	@echo "make bench           every benchmark of bench/ with its peers, ratios printed (not part of make test;"
	@echo "                     BENCH=\"diagnose_fleet\" BENCH_ARGS=\"--quick\" for some; docs/benchmarks.md)"
	@echo "make molecule        role scenarios in podman containers (tests/molecule/run.sh; ROLES=... for some)"
	@echo "make clean           remove build/ and test output (keeps .venv)"
	@echo "make distclean       clean, and remove .venv"

# ---------------------------------------------------------------- set-up

venv: $(VENV_STAMP)

$(VENV_STAMP): $(REQUIREMENTS)
	@if ! "$(VBIN)/python" -c 'import sys' >/dev/null 2>&1; then \
	  if ! "$(PYTHON)" -c 'import ensurepip, venv' >/dev/null 2>&1; then \
	    echo "== $(PYTHON) has no venv/ensurepip: installing Debian's python3-venv"; \
	    DEBIAN_FRONTEND=noninteractive apt-get update -q; \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-venv; \
	  fi; \
	  echo "== creating $(VENV) with $(PYTHON) ($$("$(PYTHON)" -V 2>&1))"; \
	  rm -rf "$(VENV)"; \
	  "$(PYTHON)" -m venv "$(VENV)"; \
	fi
	"$(VBIN)/python" -m pip install --disable-pip-version-check -q -r "$(REQUIREMENTS)"
	@touch "$@"

deps:
	@missing=""; \
	{ command -v nginx || test -x /usr/sbin/nginx; } >/dev/null 2>&1 || missing="$$missing nginx"; \
	command -v openssl >/dev/null 2>&1 || missing="$$missing openssl"; \
	dpkg -s ca-certificates >/dev/null 2>&1 || missing="$$missing ca-certificates"; \
	test -e /usr/lib/nginx/modules/ngx_stream_module.so || missing="$$missing libnginx-mod-stream"; \
	command -v faketime >/dev/null 2>&1 || missing="$$missing faketime"; \
	command -v promtool >/dev/null 2>&1 || missing="$$missing prometheus"; \
	if [ -z "$$missing" ]; then echo "== deps: nginx, stream module, openssl, ca-certificates, faketime, promtool already installed"; exit 0; fi; \
	if [ "$$(id -u)" != 0 ]; then echo "== deps: need root to apt-get install$$missing" >&2; exit 1; fi; \
	echo "== deps: installing$$missing"; \
	export DEBIAN_FRONTEND=noninteractive; \
	apt-get update -q; \
	apt-get install -y -q --no-install-recommends $$missing; \
	case " $$missing " in *" nginx "*|*" libnginx-mod-stream "*) \
	  echo "== deps: stopping the nginx service the package started (tests run their own on loopback)"; \
	  service nginx stop >/dev/null 2>&1 || true; \
	  if [ -s /run/nginx.pid ]; then /usr/sbin/nginx -s quit >/dev/null 2>&1 || true; fi; \
	  ;; esac; \
	case " $$missing " in *" prometheus "*) \
	  echo "== deps: prometheus is installed for promtool (make rules-test); stopping the service it may have started"; \
	  service prometheus stop >/dev/null 2>&1 || true; \
	  ;; esac
	@$(MAKE) --no-print-directory chrony

# chrony for the time_sync tests (tests/integration/test_time_sync_info.py, and chronyd -p on the role's
# rendered config in tests/unit/roles): unpacked into build/chrony, never installed
chrony:
	@bash hacking/unpack_chrony.sh "$(BUILD)"

collection:
	@mkdir -p "$(dir $(COLLECTION_DIR))"
	@if [ "$$(readlink "$(COLLECTION_DIR)" 2>/dev/null)" != "../../../.." ]; then \
	  rm -f "$(COLLECTION_DIR)"; ln -s ../../../.. "$(COLLECTION_DIR)"; fi
	@mkdir -p "$(TOOL_HOME)" "$(ANSIBLE_LOCAL_TEMP)"

# ---------------------------------------------------------------- tests

# $(call run-pytest,DIR): pytest on DIR, its tmp_path dirs (lab run dirs too) under
# build/pytest/<suite>/. pytest exits 5 when it collects nothing: that passes only
# while DIR holds no test file at all.
define run-pytest
@if [ -z "$$(find $(1) \( -name 'test_*.py' -o -name '*_test.py' \) -print -quit 2>/dev/null)" ]; then \
  echo "== $(1): no tests yet"; exit 0; fi; \
mkdir -p $(BUILD)/pytest; \
$(WITH_HOME) $(PYTEST) --basetemp=$(BUILD)/pytest/$(notdir $(1)) $(1)
endef

unit: venv chrony collection
	$(call run-pytest,tests/unit)

# The same property-based tests `make unit` runs (derandomized, a few minutes), with 20 times the
# examples, random seeds and a database of failing examples in build/hypothesis/examples (replayed
# first next time). Not part of `make test`.
fuzz: venv collection
	@mkdir -p $(BUILD)/pytest
	$(WITH_HOME) FUZZ_PROFILE=fuzz $(VBIN)/python -m pytest -p no:cacheprovider --timeout=$(FUZZ_TIMEOUT) \
	  --basetemp=$(BUILD)/pytest/fuzz --hypothesis-show-statistics $(FUZZ_ARGS) tests/unit/fuzz

integration: venv deps collection
	$(call run-pytest,tests/integration)

# ansible-test must run from inside ansible_collections/tlsops/handshake. Through
# the symlink the kernel's cwd is the repo itself, so ANSIBLE_TEST_CONTENT_ROOT
# names the collection path. --requirements makes a venv per sanity test; pip is
# bootstrapped into each by a get-pip script normally downloaded from a host that
# is not reachable here: tests/sanity/get_pip_standin.py replaces it, under the
# file name this ansible-test looks for. That name carries the pip version ansible-test pins, which
# it offers through no public option, environment variable or command (ansible-test 2.19: the version
# is a literal in ansible_test._internal.python_requirements.get_venv_packages, the download URL one in
# _util/target/setup/requirements.py), so the one internal import stays, for reading that version.
sanity: venv collection
	@pip_version=$$("$(VBIN)/python" -c 'import types; from ansible_test._internal.python_requirements import get_venv_packages as g; print(g(types.SimpleNamespace(version="$(SANITY_PYTHON)"))["pip"])'); \
	cache="$(TOOL_HOME)/.ansible/test/cache"; mkdir -p "$$cache"; \
	install -m 0644 tests/sanity/get_pip_standin.py "$$cache/get_pip_$${pip_version//./_}.py"; \
	cd "$(COLLECTION_DIR)" && $(WITH_HOME) ANSIBLE_TEST_CONTENT_ROOT="$(COLLECTION_DIR)" \
	  "$(VBIN)/ansible-test" sanity --requirements --python $(SANITY_PYTHON) --color $(if $(CI),no,auto) $(SANITY_ARGS)

# ruff (pycodestyle at 160 columns, pyflakes, import order) on all Python; mypy on plugins/, imported
# as ansible_collections.tlsops.handshake.plugins through build/collections; then ansible-lint.
# Configuration of the first two: pyproject.toml.
lint: venv collection
	"$(VBIN)/ruff" check --no-fix $(RUFF_ARGS) .
	"$(VBIN)/mypy" $(MYPY_ARGS) -p ansible_collections.tlsops.handshake.plugins
	$(WITH_HOME) "$(VBIN)/ansible-lint" --offline $(LINT_ARGS)

changelog-lint: venv
	"$(VBIN)/antsibull-changelog" lint

# handshake_monitor's alert rules through `promtool check rules` and `promtool test rules` (one unit test per
# alert); the same tests skip in `make unit` when promtool is missing, here they fail.
rules-test: venv deps collection
	@mkdir -p $(BUILD)/pytest
	$(WITH_HOME) TLSOPS_REQUIRE_PROMTOOL=1 $(PYTEST) --basetemp=$(BUILD)/pytest/rules tests/unit/roles/test_handshake_monitor_rules.py

# Scenarios live in roles/<role>/molecule/<scenario>/ and run in real podman containers
# with systemd. tests/molecule/run.sh installs podman & co. from apt when missing, builds
# the local image once per machine, extracts containers.podman from the `ansible` wheel,
# and removes this run's containers and networks by name, also after a failure.
# ROLES="tls_policy" limits the run to some roles.
molecule: venv collection
	@$(WITH_HOME) VBIN="$(VBIN)" bash tests/molecule/run.sh $(ROLES)

# molecule before integration: it installs podman and builds the systemd image, which
# tests/integration/test_log_formats_live.py needs for its real Docker/journald captures (on a
# fresh machine they were skipped when integration came first).
test:
	$(MAKE) --no-print-directory unit
	$(MAKE) --no-print-directory molecule
	$(MAKE) --no-print-directory integration
	$(MAKE) --no-print-directory sanity
	$(MAKE) --no-print-directory lint
	$(MAKE) --no-print-directory changelog-lint
	$(MAKE) --no-print-directory rules-test

demo: venv deps collection
	bash tests/demo.sh

# ---------------------------------------------------------------- benchmarks

# Every benchmark with its peers in the same run (bench/run.sh: peers in build/bench-venv, each
# benchmark under a hard time bound); never part of `make test`: wall time is no test.
# BENCH="diagnose_fleet enumerate_scan" runs some, BENCH_ARGS="--runs 1" passes options to each.
BENCH ?= all
BENCH_ARGS ?=
bench: venv deps collection
	bash bench/run.sh $(BENCH) -- $(BENCH_ARGS)

# ---------------------------------------------------------------- clean

clean:
	rm -rf "$(BUILD)" tests/output .pytest_cache
	find . -path ./.venv -prune -o -path ./.git -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +

distclean: clean
	rm -rf "$(VENV)"
