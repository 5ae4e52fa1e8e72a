# docqueue: `make run` starts the whole stack, `make test` runs the suite. Both install what they need.
SHELL := /bin/bash
.DEFAULT_GOAL := help

UV_VERSION := 0.13.9
# uv from PATH, else a private copy under .tools/ (installed with the machine's python3).
UV := $(or $(shell command -v uv 2>/dev/null),$(CURDIR)/.tools/bin/uv)
EXPORTER_VENV := .run/exporter-venv
EXPORTER_PYTHON := $(EXPORTER_VENV)/bin/python
PY_PACKAGES := packages/core/src packages/client/src packages/devstack/src services/api/src services/worker/src services/beat/src

.PHONY: help install run test test-fast lint format typecheck exporter clean

help:
	@echo "make run        the whole stack on this machine (api, worker, beat, Flower, celery-exporter, Redis)"
	@echo "make test       the whole test suite against real Redis and real worker processes"
	@echo "make lint       ruff check, ruff format --check, mypy --strict"
	@echo "make format     ruff format + autofix"

$(CURDIR)/.tools/bin/uv:
	python3 -m venv .tools
	.tools/bin/pip install --quiet uv==$(UV_VERSION)

.venv/.synced: pyproject.toml $(wildcard packages/*/pyproject.toml services/*/pyproject.toml) | $(UV)
	$(UV) sync --all-packages --quiet
	@touch $@

install: .venv/.synced

# prometheus-exporter-celery pins redis<6 and an older prometheus-client: its own environment.
$(EXPORTER_PYTHON): | $(UV)
	$(UV) venv --quiet --python 3.11 $(EXPORTER_VENV)
	$(UV) pip install --quiet --python $(EXPORTER_PYTHON) prometheus-exporter-celery==0.11.2 celery==5.5.3

exporter: $(EXPORTER_PYTHON)

run: install exporter
	$(UV) run --no-sync docqueue-devstack

test: install exporter
	$(UV) run --no-sync pytest

lint: install
	$(UV) run --no-sync ruff check .
	$(UV) run --no-sync ruff format --check .
	$(UV) run --no-sync mypy $(PY_PACKAGES) tests

format: install
	$(UV) run --no-sync ruff format .
	$(UV) run --no-sync ruff check --fix .

clean:
	rm -rf .run .venv .tools .pytest_cache .mypy_cache .ruff_cache

# Debian's Chromium for the browser test (tests/browser calls this when /usr/bin/chromium is
# missing). Playwright drives it; no browser is ever downloaded by Playwright itself.
.PHONY: chromium
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get update -qq && \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium; }
